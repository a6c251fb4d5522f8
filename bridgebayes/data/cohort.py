"""Patient-level cohorts: loading, validation and declared endpoints.

A patient table has one row per patient: ``id``, ``arm``, a last-follow-up column and event-time
columns (blank = did not happen), in the study's own time unit from its own time zero; its
endpoints are declared (:class:`~bridgebayes.data.endpoints.EndpointDefinition`).  Any other
column must be declared as a covariate.  Checks: every event time is in ``(0, follow-up]``;
a *terminal* event (e.g. death) ends follow-up (its time equals last follow-up) and nothing
happens after it.

The transplant table is one preset (:func:`load_cohort`): time zero = transplant, columns

============== ======== =============================================================
column         required meaning
============== ======== =============================================================
id             yes      unique patient id
arm            yes      arm label: one of the two declared ``arms``
followup       yes      time to last follow-up, or to death for patients who died
death          no*      time to death; blank if alive at last follow-up
relapse        no*      time to relapse/progression; blank if none
agvhd34        no*      time to grade III-IV acute GVHD; blank if none
cgvhd_sys      no*      time to chronic GVHD needing systemic therapy; blank if none
============== ======== =============================================================

(*) the column must be present; its cells may be blank.  Optional safety columns:
``anc_engraftment_day`` and ``plt_engraftment_day`` (days from transplant, blank = not
engrafted; not after last follow-up, with one day of tolerance for the rounding of
follow-up), and 0/1 flags ``agvhd24`` (grade II-IV acute GVHD), ``cgvhd`` (any chronic
GVHD) and ``infection_<type>``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError
from bridgebayes.core.io import atomic_write_text
from bridgebayes.core.units import DAYS_PER, check_unit
from bridgebayes.data import columns as v
from bridgebayes.data.covariates import Covariate, covariates_from, design
from bridgebayes.data.endpoints import (
    HSCT_ENDPOINTS,
    HSCT_EVENT_COLUMNS,
    EndpointData,
    EndpointDefinition,
    derive,
)

__all__ = [
    "INFECTION_PREFIX",
    "REQUIRED_COLUMNS",
    "SAFETY_DAY_COLUMNS",
    "SAFETY_FLAG_COLUMNS",
    "Cohort",
    "CohortWarning",
    "load_cohort",
    "load_patient_table",
]

REQUIRED_COLUMNS = ("id", "arm", "followup", *HSCT_EVENT_COLUMNS)
SAFETY_DAY_COLUMNS = ("anc_engraftment_day", "plt_engraftment_day")
SAFETY_FLAG_COLUMNS = ("agvhd24", "cgvhd")
INFECTION_PREFIX = "infection_"
#: An engraftment day may exceed last follow-up (converted to days) by this much: rounding.
ENGRAFTMENT_TOLERANCE_DAYS = 1.0
#: What the transplant table looks like, for messages.
HSCT_FORMAT = ("the transplant-cohort format (data.format = 'hsct') needs columns id, arm, "
               "followup, death, relapse, agvhd34, cgvhd_sys (times, blank = no event); for "
               "one endpoint use data.format = 'survival_table' (duration, event, arm)")
PATIENT_TABLE_FORMAT = ("a patient table needs id, arm, the follow-up column and the event-time "
                        "columns of its declared endpoints (blank = no event)")


class CohortWarning(UserWarning):
    """A cohort is valid but weak for analysis (e.g. an arm with no events)."""


@dataclass(frozen=True)
class Cohort:
    """A validated two-arm patient-level cohort with declared endpoints.

    Attributes
    ----------
    table
        The validated table (times in ``time_unit``, blanks as NaN, flags as 0/1 integers,
        covariates parsed).
    arms
        ``(reference, treatment)`` labels.
    covariates
        Declared covariates by name.
    endpoints
        Declared endpoints by name.
    time_unit
        Unit of every time column.
    time_zero
        What time 0 is (``"transplant"``, ``"randomisation"``, ...), for labels.
    followup
        The last-follow-up column (the one-endpoint table: its duration column).
    format
        ``"hsct"``, ``"patient_table"`` or ``"survival_table"``.
    """

    table: pd.DataFrame
    arms: tuple[str, str]
    covariates: Mapping[str, Covariate] = field(default_factory=dict)
    endpoints: Mapping[str, EndpointDefinition] = field(default_factory=lambda: HSCT_ENDPOINTS)
    time_unit: str = "months"
    time_zero: str = "transplant"
    followup: str = "followup"
    format: str = "hsct"

    def endpoint(self, name: str) -> EndpointData:
        """Derive ``(time, event)`` data for a declared endpoint; covariates as their numeric
        design (:mod:`bridgebayes.data.covariates`)."""
        if name not in self.endpoints:
            raise CohortError(f"endpoint: unknown endpoint {name!r}; this study declares "
                              f"{sorted(self.endpoints)}")
        return derive(self.table, self.endpoints[name], arms=self.arms, followup=self.followup,
                      covariates=self.design(), time_unit=self.time_unit)

    def design(self) -> pd.DataFrame:
        """The numeric covariate design (categorical covariates as indicator columns)."""
        frame, _ = design({n: self.table[n].to_numpy() for n in self.covariates},
                          self.covariates, ids=list(self.table["id"]))
        return frame

    def design_columns(self, names: Sequence[str]) -> tuple[str, ...]:
        """Design column names of the covariates ``names``."""
        unknown = [n for n in names if n not in self.covariates]
        if unknown:
            raise CohortError(f"covariates: {unknown} are not declared; declared: "
                              f"{sorted(self.covariates)}")
        return tuple(c for n in names for c in self.covariates[n].columns())

    @property
    def n_per_arm(self) -> dict[str, int]:
        """Number of patients per arm label."""
        counts = self.table["arm"].value_counts()
        return {arm: int(counts.get(arm, 0)) for arm in self.arms}

    def to_csv(self, path: str | os.PathLike[str], *, float_format: str = "%.6f") -> Path:
        """Write the table atomically; blanks stay blank."""
        text = self.table.to_csv(index=False, float_format=float_format, lineterminator="\n")
        return atomic_write_text(path, text)


def _check_histories(table: pd.DataFrame, ids: v.Rows, *, followup: str,
                     events: Sequence[str], terminal: Sequence[str]) -> None:
    follow = table[followup].to_numpy()
    for column in terminal:
        times = table[column].to_numpy()
        happened = ~np.isnan(times)
        v.raise_if_any(happened & (np.abs(times - follow) > 1e-9 * np.maximum(1.0, follow)),
                       column=followup, problem=f"differs from the {column} time for patients "
                       f"with a {column}", rows=ids, values=list(zip(follow, times, strict=True)),
                       hint=f"For a patient with a {column}, last follow-up is the {column} "
                            "time")
    for column in events:
        times = table[column].to_numpy()
        for end in terminal:
            if end != column:
                v.raise_if_any(times > table[end].to_numpy(), column=column,
                               problem=f"event after {end}", rows=ids,
                               values=list(zip(times, table[end].to_numpy(), strict=True)))
        v.raise_if_any(times > follow, column=column,
                       problem="event after last follow-up (follow-up shorter than the event time)",
                       rows=ids, values=list(zip(times, follow, strict=True)))


def _check_engraftment(table: pd.DataFrame, ids: v.Rows, unit: str) -> None:
    follow = table["followup"].to_numpy(dtype=float) * DAYS_PER[unit]
    for column in SAFETY_DAY_COLUMNS:
        if column not in table.columns:
            continue
        day = table[column].to_numpy(dtype=float)  # NaN (not engrafted) compares False
        v.raise_if_any(day > follow + ENGRAFTMENT_TOLERANCE_DAYS, column=column,
                       problem="engraftment after last follow-up", rows=ids,
                       values=[(float(d), round(float(f), 1))
                               for d, f in zip(day, follow, strict=True)],
                       hint="Values are (engraftment day, follow-up in days)")


def warn_weak_arms(cohort: Cohort) -> None:
    """A :class:`CohortWarning` for every endpoint with an arm without events."""
    notes = []
    for name, definition in cohort.endpoints.items():
        data = cohort.endpoint(name)
        for code, label in enumerate(cohort.arms):
            in_arm = data.arm == code
            if data.event[in_arm].sum() == 0:
                notes.append(f"arm {label!r} has no {definition.label} events "
                             f"(all {int(in_arm.sum())} censored)")
    if notes:
        warnings.warn("; ".join(notes) + ". Estimates for these arms rest on the prior.",
                      CohortWarning, stacklevel=3)


def _covariate_columns(frame: pd.DataFrame, covariates: Mapping[str, Covariate],
                       rows: v.Rows) -> dict[str, np.ndarray | list]:
    kinds = {name: c.kind for name, c in covariates.items()}
    parsed = v.parse_covariates(frame, kinds, rows)
    design(parsed, covariates, ids=rows.ids, source=rows.source)  # declared levels checked
    return parsed


def load_patient_table(source: str | os.PathLike[str] | pd.DataFrame, *, arms: tuple[str, str],
                       endpoints: Mapping[str, EndpointDefinition], followup: str = "followup",
                       terminal: Sequence[str] = (), time_unit: str = "months",
                       time_zero: str = "start of follow-up",
                       covariates: Mapping[str, str | Covariate] | None = None) -> Cohort:
    """Load and validate a patient table whose endpoints are declared.

    Parameters
    ----------
    source
        CSV path or DataFrame.
    arms
        ``(reference, treatment)`` labels; every row must carry one and both need patients.
    endpoints
        The declared endpoints (first-event or competing kinds); their event columns must be
        present (cells may be blank).
    followup
        The last-follow-up column.
    terminal
        Event columns that end follow-up (e.g. ``("death",)``).
    time_unit, time_zero
        The unit of every time column (nothing is converted) and what time 0 is.
    covariates
        Extra columns to keep: name -> ``"numeric"``, ``"categorical"`` or a
        :class:`~bridgebayes.data.covariates.Covariate` (declared levels).
    Returns
    -------
    Cohort

    Raises
    ------
    bridgebayes.core.errors.CohortError
        With the column, the offending ids and values (first few) and their count.
    """
    try:
        cohort, _ = _load(source, arms=arms, endpoints=endpoints, followup=followup,
                          terminal=terminal, time_unit=time_unit, time_zero=time_zero,
                          covariates=covariates)
    except CohortError as exc:
        if "missing required column" in str(exc):
            events = list(dict.fromkeys(c for d in endpoints.values() for c in d.columns))
            raise CohortError(f"{exc}; the patient-table format needs columns id, arm, the "
                              f"follow-up column {followup!r} and the event-time columns of "
                              f"the declared endpoints {events} (blank = no event)") from None
        raise
    warn_weak_arms(cohort)
    return cohort


def _load(source: str | os.PathLike[str] | pd.DataFrame, *, arms: tuple[str, str],
          endpoints: Mapping[str, EndpointDefinition], followup: str, terminal: Sequence[str],
          time_unit: str, time_zero: str, covariates: Mapping[str, str | Covariate] | None,
          optional: Sequence[str] = (), optional_prefix: str | None = None,
          format: str = "patient_table", expected: str = "") -> tuple[Cohort, v.Table]:
    unit = check_unit(time_unit)
    covs = covariates_from(covariates)
    raw = v.read_table(source, what="cohort CSV")
    frame = raw.frame
    event_columns = tuple(dict.fromkeys(c for d in endpoints.values() for c in d.columns))
    required = ("id", "arm", followup, *event_columns)
    v.check_columns(raw, required, set(optional) | set(covs), optional_prefix=optional_prefix,
                    expected=expected)
    ids = v.check_ids(raw)
    rows = raw.rows(ids)
    table = pd.DataFrame({"id": ids, "arm": v.check_arms(frame["arm"], rows, tuple(arms))})
    for column in (followup, *event_columns):
        table[column] = v.parse_time(frame[column], column=column, rows=rows,
                                     required=column == followup, unit=unit)
    _check_histories(table, rows, followup=followup, events=event_columns, terminal=terminal)
    for column, values in _covariate_columns(frame, covs, rows).items():
        table[column] = values
    cohort = Cohort(table=table, arms=(arms[0], arms[1]), covariates=covs,
                    endpoints=dict(endpoints), time_unit=unit, time_zero=time_zero,
                    followup=followup, format=format)
    return cohort, raw


def load_cohort(source: str | os.PathLike[str] | pd.DataFrame, *, arms: tuple[str, str],
                time_unit: str = "months",
                covariates: Mapping[str, str | Covariate] | None = None) -> Cohort:
    """Load and validate a transplant (HSCT) cohort: the preset of :func:`load_patient_table`.

    Parameters
    ----------
    source
        CSV path or DataFrame with the columns described in :mod:`bridgebayes.data.cohort`.
    arms
        ``(reference, treatment)`` arm labels; every row must carry one of them and
        both must have patients.
    time_unit
        Unit of the time columns: ``"days"``, ``"weeks"``, ``"months"`` or ``"years"``
        (kept: every output is in this unit).
    covariates
        Extra columns to keep: name -> ``"numeric"``, ``"categorical"`` or a
        :class:`~bridgebayes.data.covariates.Covariate`.

    Returns
    -------
    Cohort

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"id": ["a", "b"], "arm": ["X", "Y"], "followup": [10.0, 4.0],
    ...                       "death": [10.0, 4.0], "relapse": [3.0, None],
    ...                       "agvhd34": [None, None], "cgvhd_sys": [None, None]})
    >>> cohort = load_cohort(frame, arms=("X", "Y"))
    >>> cohort.endpoint("pfs").time
    array([3., 4.])
    >>> cohort.endpoint("relapse_nrm").event  # 1 = relapse, 2 = non-relapse death
    array([1, 2])
    """
    flags = set(SAFETY_FLAG_COLUMNS)
    cohort, raw = _load(
        source, arms=arms, followup="followup", endpoints=HSCT_ENDPOINTS, terminal=("death",),
        time_unit=time_unit, time_zero="transplant", covariates=covariates,
        optional=(*SAFETY_DAY_COLUMNS, *SAFETY_FLAG_COLUMNS),
        optional_prefix=INFECTION_PREFIX, format="hsct", expected=HSCT_FORMAT)
    table, frame = cohort.table, raw.frame
    ids = raw.rows(list(table["id"]))
    for column in frame.columns:
        if column in SAFETY_DAY_COLUMNS:
            table[column] = v.parse_time(frame[column], column=column, rows=ids,
                                         required=False, unit="days")
        elif column in flags or column.startswith(INFECTION_PREFIX):
            table[column] = v.parse_flag(frame[column], column=column, rows=ids)
    _check_engraftment(table, ids, cohort.time_unit)
    warn_weak_arms(cohort)
    return cohort
