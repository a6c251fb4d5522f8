"""Patient-level cohorts: loading, validation and derived endpoints.

A cohort table has one row per patient, time zero = transplant, and columns

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

(*) the column must be present; its cells may be blank.  Times are in
``time_unit`` (months by default) and are converted to months.  Optional safety
columns: ``anc_engraftment_day`` and ``plt_engraftment_day`` (days from transplant,
blank = not engrafted; not after last follow-up, with one day of tolerance for the
rounding of follow-up), and 0/1 flags ``agvhd24`` (grade II-IV acute GVHD),
``cgvhd`` (any chronic GVHD) and ``infection_<type>``.  Any other column must be
declared as a covariate.  Endpoint definitions are in :mod:`bridgebayes.data.endpoints`.

A CSV is UTF-8 (with or without a byte-order mark), comma-separated, every row as long
as the header; times are plain numbers (no units, ``_`` separators, ``inf`` or ``nan``),
at most 100 years after conversion.  Every message names the file, the column, the
patients with their lines and the values (:mod:`bridgebayes.data.columns`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError
from bridgebayes.core.io import atomic_write_text
from bridgebayes.core.units import DAYS_PER_MONTH, to_months
from bridgebayes.data import columns as v
from bridgebayes.data.endpoints import ENDPOINTS, EVENT_COLUMNS, EndpointData, derive

__all__ = [
    "REQUIRED_COLUMNS",
    "SAFETY_DAY_COLUMNS",
    "SAFETY_FLAG_COLUMNS",
    "Cohort",
    "CohortWarning",
    "load_cohort",
]

REQUIRED_COLUMNS = ("id", "arm", "followup", *EVENT_COLUMNS)
SAFETY_DAY_COLUMNS = ("anc_engraftment_day", "plt_engraftment_day")
SAFETY_FLAG_COLUMNS = ("agvhd24", "cgvhd")
INFECTION_PREFIX = "infection_"
#: An engraftment day may exceed last follow-up (converted to days) by this much: rounding.
ENGRAFTMENT_TOLERANCE_DAYS = 1.0
#: What a table missing a required column was expected to look like.
FORMAT = ("the transplant-cohort format needs id, arm, followup, death, relapse, agvhd34, "
          "cgvhd_sys (times; blank = did not happen); for one endpoint use duration, event, "
          "arm (load_survival_table)")


class CohortWarning(UserWarning):
    """A cohort is valid but weak for analysis (e.g. an arm with no events)."""


@dataclass(frozen=True)
class Cohort:
    """A validated two-arm patient-level cohort (times in months).

    Attributes
    ----------
    table
        The validated table; times in months, blanks as NaN, flags as 0/1 integers.
    arms
        ``(reference, treatment)`` labels.
    covariates
        Declared covariates: name -> ``"numeric"`` or ``"categorical"``.
    """

    table: pd.DataFrame
    arms: tuple[str, str]
    covariates: Mapping[str, str] = field(default_factory=dict)

    def endpoint(self, name: str) -> EndpointData:
        """Derive ``(time, event)`` data for an endpoint (``"os"``, ``"pfs"``, ``"grfs"``,
        ``"relapse_nrm"``); see :mod:`bridgebayes.data.endpoints` for the definitions."""
        return derive(self.table, name, arms=self.arms, covariates=tuple(self.covariates))

    @property
    def n_per_arm(self) -> dict[str, int]:
        """Number of patients per arm label."""
        counts = self.table["arm"].value_counts()
        return {arm: int(counts.get(arm, 0)) for arm in self.arms}

    def to_csv(self, path: str | os.PathLike[str], *, float_format: str = "%.6f") -> Path:
        """Write the table (months) atomically; blanks stay blank."""
        text = self.table.to_csv(index=False, float_format=float_format, lineterminator="\n")
        return atomic_write_text(path, text)


def _check_histories(table: pd.DataFrame, ids: v.Rows) -> None:
    follow = table["followup"].to_numpy()
    death = table["death"].to_numpy()
    died = ~np.isnan(death)
    v.raise_if_any(died & (np.abs(death - follow) > 1e-9 * np.maximum(1.0, follow)),
                   column="followup", problem="differs from the death time for patients who died",
                   rows=ids, values=list(zip(follow, death, strict=True)),
                   hint="For a patient who died, last follow-up is the death time")
    for column in EVENT_COLUMNS[1:]:
        times = table[column].to_numpy()
        v.raise_if_any(times > death, column=column, problem="event after death", rows=ids,
                       values=list(zip(times, death, strict=True)))
        v.raise_if_any(times > follow, column=column,
                       problem="event after last follow-up (follow-up shorter than the event time)",
                       rows=ids, values=list(zip(times, follow, strict=True)))


def _check_engraftment(table: pd.DataFrame, ids: v.Rows) -> None:
    follow = table["followup"].to_numpy(dtype=float) * DAYS_PER_MONTH
    for column in SAFETY_DAY_COLUMNS:
        if column not in table.columns:
            continue
        day = table[column].to_numpy(dtype=float)  # NaN (not engrafted) compares False
        v.raise_if_any(day > follow + ENGRAFTMENT_TOLERANCE_DAYS, column=column,
                       problem="engraftment after last follow-up", rows=ids,
                       values=[(float(d), round(float(f), 1))
                               for d, f in zip(day, follow, strict=True)],
                       hint="Values are (engraftment day, follow-up in days)")


def _warn_weak_arms(cohort: Cohort) -> None:
    notes = []
    for name, definition in ENDPOINTS.items():
        data = cohort.endpoint(name)
        for code, label in enumerate(cohort.arms):
            in_arm = data.arm == code
            if data.event[in_arm].sum() == 0:
                notes.append(f"arm {label!r} has no {definition.label} events "
                             f"(all {int(in_arm.sum())} censored)")
    if notes:
        warnings.warn("; ".join(notes) + ". Estimates for these arms rest on the prior.",
                      CohortWarning, stacklevel=3)


def load_cohort(source: str | os.PathLike[str] | pd.DataFrame, *, arms: tuple[str, str],
                time_unit: str = "months", covariates: Mapping[str, str] | None = None) -> Cohort:
    """Load and validate a patient-level cohort.

    Parameters
    ----------
    source
        CSV path or DataFrame with the columns described in :mod:`bridgebayes.data.cohort`.
    arms
        ``(reference, treatment)`` arm labels; every row must carry one of them and
        both must have patients.
    time_unit
        Unit of the time columns: ``"days"``, ``"weeks"``, ``"months"`` or ``"years"``.
    covariates
        Extra columns to keep: name -> ``"numeric"`` or ``"categorical"``.

    Returns
    -------
    Cohort

    Raises
    ------
    bridgebayes.core.errors.CohortError
        With the column, the offending ids and values (first few) and their count.

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
    factor = to_months(time_unit)
    covariates = dict(covariates or {})
    raw = v.read_table(source, what="cohort CSV")
    frame = raw.frame
    flags = set(SAFETY_FLAG_COLUMNS)
    v.check_columns(raw, REQUIRED_COLUMNS, set(SAFETY_DAY_COLUMNS) | flags | set(covariates),
                    optional_prefix=INFECTION_PREFIX, expected=FORMAT)
    missing_cov = [c for c in covariates if c not in frame.columns]
    if missing_cov:
        raise CohortError(f"{raw.prefix()}covariates: declared column(s) {missing_cov} are not "
                          "in the table")
    ids = v.check_ids(raw)
    rows = raw.rows(ids)
    table = pd.DataFrame({"id": ids, "arm": v.check_arms(frame["arm"], rows, tuple(arms))})
    for column in ("followup", *EVENT_COLUMNS):
        table[column] = v.parse_time(frame[column], column=column, rows=rows,
                                     required=column == "followup", factor=factor,
                                     unit=time_unit)
    _check_histories(table, rows)
    for column in frame.columns:
        if column in SAFETY_DAY_COLUMNS:
            table[column] = v.parse_time(frame[column], column=column, rows=rows,
                                         required=False, unit="days", days=True)
        elif column in flags or column.startswith(INFECTION_PREFIX):
            table[column] = v.parse_flag(frame[column], column=column, rows=rows)
    _check_engraftment(table, rows)
    for name, values in v.parse_covariates(frame, covariates, rows).items():
        table[name] = values
    cohort = Cohort(table=table, arms=(arms[0], arms[1]), covariates=covariates)
    _warn_weak_arms(cohort)
    return cohort
