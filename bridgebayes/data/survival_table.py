"""The simple one-endpoint table (lifelines style): duration, event, arm.

Read and checked like a cohort (:mod:`bridgebayes.data.columns`): UTF-8 CSV, rows as long
as the header, plain-number durations; messages name the file, line, column and value.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError
from bridgebayes.core.units import to_months
from bridgebayes.data import columns as v
from bridgebayes.data.cohort import CohortWarning
from bridgebayes.data.endpoints import EndpointData

__all__ = ["load_survival_table"]

#: What a table missing a required column was expected to look like.
FORMAT = ("the one-endpoint format needs duration, event, arm (or the names given as "
          "duration_col, event_col, arm_col); for a transplant cohort use id, arm, followup, "
          "death, relapse, agvhd34, cgvhd_sys (load_cohort)")


def load_survival_table(source: str | os.PathLike[str] | pd.DataFrame, *, arms: tuple[str, str],
                        endpoint: str = "endpoint", duration_col: str = "duration",
                        event_col: str = "event", arm_col: str = "arm", id_col: str | None = None,
                        time_unit: str = "months",
                        covariates: Mapping[str, str] | None = None) -> EndpointData:
    """Load a one-endpoint table with duration, event and arm columns.

    Parameters
    ----------
    source
        CSV path or DataFrame.
    arms
        ``(reference, treatment)`` arm labels.
    endpoint
        Name given to the endpoint in results.
    duration_col, event_col, arm_col
        Column names of time to event/censoring, event indicator (0/1/true/false) and arm.
    id_col
        Optional patient-id column; rows are numbered from 1 when absent.
    time_unit
        ``"days"``, ``"weeks"``, ``"months"`` or ``"years"``; converted to months.
    covariates
        Extra columns to keep: name -> ``"numeric"`` or ``"categorical"``.

    Returns
    -------
    EndpointData

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"duration": [6, 7, 10], "event": [1, 0, 1], "arm": ["a", "b", "b"]})
    >>> data = load_survival_table(frame, arms=("a", "b"), time_unit="weeks")
    >>> data.arm
    array([0, 1, 1])
    """
    factor = to_months(time_unit)
    covariates = dict(covariates or {})
    raw = v.read_table(source, what="survival table CSV")
    frame = raw.frame
    required = tuple(c for c in (id_col, duration_col, event_col, arm_col) if c)
    v.check_columns(raw, required, set(covariates), expected=FORMAT)
    if id_col:
        ids = v.check_ids(raw, id_col)
    else:
        ids = np.array([f"row{i}" for i in range(1, len(frame) + 1)], dtype=object)
    rows = raw.rows(ids)
    labels = v.check_arms(frame[arm_col], rows, tuple(arms), column=arm_col)
    time = v.parse_time(frame[duration_col], column=duration_col, rows=rows, required=True,
                        factor=factor, unit=time_unit)
    event = v.parse_flag(frame[event_col], column=event_col, rows=rows)
    parsed = v.parse_covariates(frame, covariates, rows)
    arm = (labels == arms[1]).astype(int)
    for code, label in enumerate(arms):
        if event[arm == code].sum() == 0:
            warnings.warn(f"arm {label!r} has no {endpoint} events (all censored)",
                          CohortWarning, stacklevel=2)
    if not isinstance(endpoint, str) or not endpoint:
        raise CohortError(f"endpoint: expected a non-empty name, got {endpoint!r}")
    return EndpointData(name=endpoint, time=time, event=event, arm=arm,
                        arms=(arms[0], arms[1]), ids=ids,
                        covariates=pd.DataFrame(parsed))
