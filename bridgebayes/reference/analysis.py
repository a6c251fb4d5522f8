"""Frequentist reference analyses — the methods a paper like the seed study uses.

Kaplan–Meier, the log-rank test and the reverse-KM median follow-up come from
lifelines.  The Aalen–Johansen cumulative incidence is computed from lifelines'
event table (``survival_table_from_events``) because lifelines'
``AalenJohansenFitter`` randomly jitters tied times; the two agree exactly on
untied data (tested).  Gray's test lives in :mod:`bridgebayes.reference.gray`, since no
maintained Python library provides it.

Beyond the last follow-up of a group (the largest time of the endpoint in that group) a
Kaplan–Meier or Aalen–Johansen estimate does not exist: :func:`reference_analysis` writes
no number there (NaN, with the note "not estimable beyond the last follow-up (X <unit>)"),
where lifelines would carry the last value forward.  Model-based quantities beyond the data
are labelled "extrapolated" elsewhere; reference analyses never are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import Cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.reference.gray import gray_test

if TYPE_CHECKING:  # lifelines is imported where it is used: a spec check needs none of it
    from lifelines import KaplanMeierFitter

__all__ = [
    "NOT_ESTIMABLE",
    "ReferenceAnalysis",
    "check_landmarks",
    "cif_at",
    "km_at",
    "logrank",
    "logrank_p",
    "reference_analysis",
    "reverse_km_median",
]


HALF_TOLERANCE = 1e-12
#: The note of a landmark estimate beyond the data (``{last}``: the group's last time).
NOT_ESTIMABLE = "not estimable beyond the last follow-up ({last:g} {unit})"


def check_landmarks(landmarks: Sequence[object], *, where: str = "landmarks"
                    ) -> tuple[float, ...]:
    """Landmark times: a non-empty list of distinct finite numbers > 0.

    Raises
    ------
    bridgebayes.core.errors.BridgeBayesError
        Naming ``where`` (the option or key) and the offending values.

    Examples
    --------
    >>> check_landmarks([12, 24.0])
    (12.0, 24.0)
    """
    if isinstance(landmarks, str | bytes) or not isinstance(landmarks, Sequence) \
            or not landmarks:
        raise BridgeBayesError(f"{where}: expected a non-empty list of times, got "
                               f"{landmarks!r}")
    bad = [x for x in landmarks if isinstance(x, bool) or not isinstance(x, int | float)
           or not math.isfinite(x) or x <= 0]
    if bad:
        raise BridgeBayesError(f"{where}: landmark times must be finite numbers > 0 (after "
                               f"time zero), got {bad}")
    values = tuple(float(x) for x in landmarks)
    dup = sorted({x for x in values if values.count(x) > 1})
    if dup:
        raise BridgeBayesError(f"{where}: duplicate landmark time(s) {dup}")
    return values


def _beyond_follow_up(time: np.ndarray, landmark: float, unit: str) -> str:
    """``""`` within the group's follow-up, else the :data:`NOT_ESTIMABLE` note."""
    last = float(np.max(time)) if np.size(time) else 0.0
    return NOT_ESTIMABLE.format(last=last, unit=unit) if landmark > last else ""


def _kmf(time: np.ndarray, event: np.ndarray) -> KaplanMeierFitter:
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, int))


def km_at(time: np.ndarray, event: np.ndarray, landmark: float) -> float:
    """Kaplan–Meier survival at ``landmark`` (lifelines).

    Examples
    --------
    >>> km_at([1.0, 2.0, 3.0], [1, 0, 1], 2.5)
    0.6666666666666667
    """
    return float(_kmf(time, event).survival_function_at_times(landmark).iloc[0])


def cif_at(time: np.ndarray, cause: np.ndarray, landmark: float, *,
           cause_of_interest: int) -> float:
    """Aalen–Johansen cumulative incidence of one cause at ``landmark``.

    ``CIF_k(t) = sum over event times s <= t of S(s-) d_k(s) / n(s)``, with ``S`` the
    all-cause Kaplan–Meier estimate; exact with tied times.

    Examples
    --------
    >>> cif_at([1.0, 2.0, 3.0, 4.0], [1, 2, 0, 1], 3.5, cause_of_interest=2)
    0.25
    """
    time = np.asarray(time, float)
    cause = np.asarray(cause, int)
    from lifelines.utils import survival_table_from_events

    table = survival_table_from_events(time, cause > 0)  # rows without events add nothing
    n = table["at_risk"].to_numpy(float)
    d_all = table["observed"].to_numpy(float)
    surv_before = np.concatenate([[1.0], np.cumprod(1.0 - d_all / n)[:-1]])
    d_k = pd.Series(time[cause == cause_of_interest]).value_counts()
    d_k = d_k.reindex(table.index, fill_value=0).to_numpy(float)
    keep = table.index.to_numpy() <= landmark
    return float(np.sum((surv_before * d_k / n)[keep]))


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, float]:
    """Two-sample log-rank chi-square statistic (1 df) and p-value (lifelines ``logrank_test``)."""
    group = np.asarray(group)
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    a, b = group == 0, group == 1
    from lifelines.statistics import logrank_test

    result = logrank_test(time[a], time[b], event[a], event[b])
    return float(result.test_statistic), float(result.p_value)


def logrank_p(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """Two-sample log-rank p-value (see :func:`logrank`)."""
    return logrank(time, event, group)[1]


def reverse_km_median(time: np.ndarray, died: np.ndarray) -> float:
    """Median follow-up by the reverse Kaplan–Meier method (Schemper & Smith 1996).

    Censoring is treated as the event and death as censoring; the median is the
    first time the reverse-KM curve is at or below 1/2.  lifelines' own
    ``median_survival_time_`` misses a curve that is exactly 1/2, because it
    computes the curve as exp(sum(log(1 - d/n))) and sees 0.5000000000000001;
    a tolerance of 1e-12 restores the definition.
    """
    curve = _kmf(time, 1 - np.asarray(died, int)).survival_function_.iloc[:, 0]
    reached = curve.index[curve.to_numpy() <= 0.5 + HALF_TOLERANCE]
    return float(reached[0]) if reached.size else float("inf")


#: "Round" landmark times per unit; defaults are the largest at or below the target.
LADDERS = {
    "days": (7, 14, 30, 60, 90, 180, 270, 365, 540, 730, 1095, 1461, 1826, 2557, 3652),
    "weeks": (1, 2, 4, 6, 8, 12, 16, 20, 26, 39, 52, 78, 104, 156, 208, 260, 520),
    "months": (1, 2, 3, 6, 9, 12, 18, 24, 36, 48, 60, 72, 96, 120, 180, 240),
    "years": (0.25, 0.5, 1, 2, 3, 4, 5, 7, 10, 15, 20, 30),
}


def followup_landmarks(data: EndpointData) -> tuple[float, ...]:
    """Two round landmarks (:data:`LADDERS`, in the data's unit) at or below half and all of
    the median follow-up by reverse Kaplan–Meier: chosen from the censoring distribution, not
    the outcomes, so they can be fixed before the analysis.

    Examples
    --------
    >>> followup_landmarks(cohort.endpoint("os"))  # doctest: +SKIP
    (12.0, 24.0)
    """
    median = reverse_km_median(data.time, data.event)
    if not np.isfinite(median):
        median = float(np.max(data.time))
    ladder = LADDERS[data.time_unit]
    picks = []
    for target in (median / 2, median):
        below = [x for x in ladder if x <= target]
        picks.append(float(below[-1] if below else ladder[0]))
    return tuple(sorted(set(picks)))


@dataclass(frozen=True)
class ReferenceAnalysis:
    """Frequentist reference analysis of a cohort.

    Attributes
    ----------
    landmarks
        Tidy table: endpoint, measure (``survival`` or ``cumulative_incidence``),
        group (arm label or ``pooled``), landmark, estimate, n, events (for a competing
        endpoint, ``endpoint`` is the cause label), note (``""``, or :data:`NOT_ESTIMABLE`
        with the estimate NaN).
    tests
        Tidy table: endpoint, test, statistic, p_value.
    followup
        The follow-up endpoint's name (``endpoint``), its median (reverse KM), minimum and
        maximum follow-up.
    time_unit
        Unit of the landmarks and the follow-up.
    """

    landmarks: pd.DataFrame
    tests: pd.DataFrame
    followup: dict[str, float | str]
    time_unit: str = "months"


def _groups(data: EndpointData) -> list[tuple[str, np.ndarray]]:
    return [(label, data.arm == code) for code, label in enumerate(data.arms)] + [
        ("pooled", np.ones(data.arm.shape, bool))]


def reference_analysis(cohort: Cohort, *, landmarks: tuple[float, ...] = (12.0, 24.0),
                       endpoints: tuple[str, ...] | None = None,
                       followup_endpoint: str | None = None) -> ReferenceAnalysis:
    """KM and cumulative incidence at landmarks, log-rank and Gray tests, follow-up.

    Parameters
    ----------
    cohort
        A validated cohort.
    landmarks
        Landmark times, in the cohort's time unit.
    endpoints
        Which of the cohort's endpoints (default: all); first-event and direct endpoints
        get Kaplan–Meier survival and the log-rank test, competing ones the Aalen–Johansen
        cumulative incidence of each cause and Gray's test.
    followup_endpoint
        The endpoint whose censoring defines follow-up (reverse Kaplan–Meier): default the
        first non-competing endpoint (overall survival in the transplant preset).

    Returns
    -------
    ReferenceAnalysis
    """
    landmarks = check_landmarks(landmarks)
    unit = cohort.time_unit
    names = tuple(cohort.endpoints) if endpoints is None else tuple(endpoints)
    rows, tests = [], []
    for name in names:
        data = cohort.endpoint(name)
        if not data.causes:
            for group, mask in _groups(data):
                for landmark in landmarks:
                    note = _beyond_follow_up(data.time[mask], landmark, unit)
                    value = math.nan if note else km_at(data.time[mask], data.event[mask],
                                                        landmark)
                    rows.append((name, "survival", group, landmark, value, int(mask.sum()),
                                 int(data.event[mask].sum()), note))
            tests.append((name, "log-rank", *logrank(data.time, data.event, data.arm)))
            continue
        for code, cause in enumerate(data.causes, start=1):
            for group, mask in _groups(data):
                for landmark in landmarks:
                    note = _beyond_follow_up(data.time[mask], landmark, unit)
                    value = math.nan if note else cif_at(data.time[mask], data.event[mask],
                                                         landmark, cause_of_interest=code)
                    rows.append((cause, "cumulative_incidence", group, landmark, value,
                                 int(mask.sum()), int((data.event[mask] == code).sum()),
                                 note))
            result = gray_test(data.time, data.event, data.arm, cause_of_interest=code)
            tests.append((cause, "gray", result.statistic, result.p_value))
    if followup_endpoint is None:
        followup_endpoint = next(n for n, d in cohort.endpoints.items() if d.kind != "competing")
    base = cohort.endpoint(followup_endpoint)
    followup = {
        "endpoint": followup_endpoint,
        "median_reverse_km": reverse_km_median(base.time, base.event),
        "min": float(np.min(base.time)),
        "max": float(np.max(base.time)),
    }
    return ReferenceAnalysis(
        landmarks=pd.DataFrame(rows, columns=["endpoint", "measure", "group", "landmark",
                                              "estimate", "n", "events", "note"]),
        tests=pd.DataFrame(tests, columns=["endpoint", "test", "statistic", "p_value"]),
        followup=followup, time_unit=cohort.time_unit,
    )
