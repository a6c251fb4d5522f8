"""The one-endpoint table (lifelines style): duration, event, arm, declared covariates."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError
from bridgebayes.core.units import check_unit
from bridgebayes.data import columns as v
from bridgebayes.data.cohort import Cohort, warn_weak_arms
from bridgebayes.data.covariates import Covariate, covariates_from, design
from bridgebayes.data.endpoints import EndpointData, EndpointDefinition

__all__ = ["SURVIVAL_TABLE_FORMAT", "load_survival_cohort", "load_survival_table"]

#: What the one-endpoint table looks like, for messages.
SURVIVAL_TABLE_FORMAT = ("the one-endpoint format needs columns duration, event (0/1) and arm "
                         "(names configurable), optionally id and declared covariates")


def load_survival_cohort(source: str | os.PathLike[str] | pd.DataFrame, *,
                         arms: tuple[str, str], endpoint: str = "endpoint",
                         label: str | None = None, duration_col: str = "duration",
                         event_col: str = "event", arm_col: str = "arm",
                         id_col: str | None = None, time_unit: str = "months",
                         time_zero: str = "start of follow-up",
                         covariates: Mapping[str, str | Covariate] | None = None) -> Cohort:
    """Load a one-endpoint table as a :class:`~bridgebayes.data.cohort.Cohort`.

    Parameters
    ----------
    source
        CSV path or DataFrame.
    arms
        ``(reference, treatment)`` arm labels.
    endpoint, label
        Name of the endpoint in results, and its reader-facing label.
    duration_col, event_col, arm_col
        Column names of time to event/censoring, event indicator (0/1/true/false) and arm.
    id_col
        Optional patient-id column; rows are numbered from 1 when absent.
    time_unit, time_zero
        Unit of the durations (kept: every output is in it) and what time 0 is.
    covariates
        Extra columns to keep: name -> ``"numeric"``, ``"categorical"`` or a
        :class:`~bridgebayes.data.covariates.Covariate`.

    Returns
    -------
    Cohort
        ``format = "survival_table"``, one endpoint (direct kind); the table has ``id, arm``,
        the duration and event columns and the covariates.

    Examples
    --------
    >>> frame = pd.DataFrame({"duration": [6, 7, 10], "event": [1, 0, 1],
    ...                       "arm": ["a", "b", "b"]})
    >>> cohort = load_survival_cohort(frame, arms=("a", "b"), time_unit="weeks")
    >>> cohort.endpoint("endpoint").time_unit
    'weeks'
    """
    unit = check_unit(time_unit)
    if not isinstance(endpoint, str) or not endpoint:
        raise CohortError(f"endpoint: expected a non-empty name, got {endpoint!r}")
    covs = covariates_from(covariates)
    raw = v.read_table(source, what="one-endpoint CSV")
    frame = raw.frame
    required = tuple(c for c in (id_col, duration_col, event_col, arm_col) if c)
    v.check_columns(raw, required, set(covs), expected=SURVIVAL_TABLE_FORMAT)
    if id_col:
        ids = v.check_ids(raw, id_col)
    else:
        ids = np.array([f"row{i}" for i in range(1, len(frame) + 1)], dtype=object)
    rows = raw.rows(ids)
    table = pd.DataFrame({"id": ids, "arm": v.check_arms(frame[arm_col], rows, tuple(arms),
                                                         column=arm_col)})
    table[duration_col] = v.parse_time(frame[duration_col], column=duration_col, rows=rows,
                                       required=True, unit=unit)
    table[event_col] = v.parse_flag(frame[event_col], column=event_col, rows=rows)
    parsed = v.parse_covariates(frame, {n: c.kind for n, c in covs.items()}, rows)
    design(parsed, covs, ids=rows.ids, source=rows.source)
    for name, values in parsed.items():
        table[name] = values
    definition = EndpointDefinition(endpoint, label or endpoint, duration=duration_col,
                                    event=event_col)
    cohort = Cohort(table=table, arms=(arms[0], arms[1]), covariates=covs,
                    endpoints={endpoint: definition}, time_unit=unit, time_zero=time_zero,
                    followup=duration_col, format="survival_table")
    warn_weak_arms(cohort)
    return cohort


def load_survival_table(source: str | os.PathLike[str] | pd.DataFrame, *, arms: tuple[str, str],
                        endpoint: str = "endpoint", duration_col: str = "duration",
                        event_col: str = "event", arm_col: str = "arm", id_col: str | None = None,
                        time_unit: str = "months",
                        covariates: Mapping[str, str | Covariate] | None = None) -> EndpointData:
    """The endpoint data of a one-endpoint table (:func:`load_survival_cohort`).

    Examples
    --------
    >>> frame = pd.DataFrame({"duration": [6, 7, 10], "event": [1, 0, 1], "arm": ["a", "b", "b"]})
    >>> data = load_survival_table(frame, arms=("a", "b"), time_unit="weeks")
    >>> data.arm
    array([0, 1, 1])
    """
    cohort = load_survival_cohort(source, arms=arms, endpoint=endpoint,
                                  duration_col=duration_col, event_col=event_col,
                                  arm_col=arm_col, id_col=id_col, time_unit=time_unit,
                                  covariates=covariates)
    return cohort.endpoint(endpoint)
