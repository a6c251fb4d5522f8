"""Small-sample statistics fast enough for the reconstruction search loop.

The search evaluates its objective hundreds of thousands of times on ~36
patients, where lifelines' per-call overhead (pandas) would dominate.  These
functions compute the same quantities on plain arrays; tests check them against
:mod:`bridgebayes.reference.analysis` (lifelines) to 1e-12 on random data with ties.
Reported results (fidelity tables) always come from :mod:`bridgebayes.reference.analysis`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cif_at", "km_at", "logrank_p", "reverse_km_median"]


def _ordered(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort by time, events before censorings at tied times; return time, event, at-risk."""
    order = np.lexsort((event == 0, time))
    n = time.size
    return time[order], event[order], n - np.arange(n)


def km_at(time: np.ndarray, event: np.ndarray, landmark: float) -> float:
    """Kaplan–Meier survival at ``landmark``.

    Processing tied events one at a time telescopes to the usual ``1 - d/n`` factor,
    so the per-item product is exact.
    """
    t, e, at_risk = _ordered(time, event)
    keep = (t <= landmark) & (e > 0)
    return float(np.prod(1.0 - 1.0 / at_risk[keep]))


def cif_at(time: np.ndarray, cause: np.ndarray, landmark: float, cause_of_interest: int) -> float:
    """Aalen–Johansen cumulative incidence of ``cause_of_interest`` at ``landmark``."""
    t, c, at_risk = _ordered(time, cause)
    factor = np.where(c > 0, 1.0 - 1.0 / at_risk, 1.0)
    surv_before = np.concatenate(([1.0], np.cumprod(factor)[:-1]))
    keep = (t <= landmark) & (c == cause_of_interest)
    return float(np.sum(surv_before[keep] / at_risk[keep]))


def _count_at(sorted_times: np.ndarray, points: np.ndarray) -> np.ndarray:
    """How many of ``sorted_times`` equal each of ``points``."""
    return (np.searchsorted(sorted_times, points, "right")
            - np.searchsorted(sorted_times, points, "left"))


def logrank_p(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """Two-sample log-rank p-value (chi-square, 1 df), exact handling of ties."""
    event_times = np.unique(time[event > 0])
    if event_times.size == 0:
        return 1.0
    sorted_all = np.sort(time)
    sorted_one = np.sort(time[group == 1])
    n = sorted_all.size - np.searchsorted(sorted_all, event_times, side="left")
    n1 = sorted_one.size - np.searchsorted(sorted_one, event_times, side="left")
    ev_all = np.sort(time[event > 0])
    ev_one = np.sort(time[(event > 0) & (group == 1)])
    d = _count_at(ev_all, event_times)
    d1 = _count_at(ev_one, event_times)
    expected = n1 * d / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, n1 * (n - n1) * d * (n - d) / (n * n * (n - 1.0)), 0.0)
    v = var.sum()
    if v <= 0:
        return 1.0
    chi2 = (d1.sum() - expected.sum()) ** 2 / v
    return math.erfc(math.sqrt(chi2 / 2.0))


def reverse_km_median(time: np.ndarray, died: np.ndarray) -> float:
    """Median follow-up by reverse Kaplan–Meier (first time the curve reaches 0.5)."""
    reverse = 1 - died
    t, e, at_risk = _ordered(time, reverse)
    surv = np.cumprod(np.where(e > 0, 1.0 - 1.0 / at_risk, 1.0))
    reached = np.flatnonzero((surv <= 0.5 + 1e-12) & (e > 0))
    return float(t[reached[0]]) if reached.size else math.inf


def two_arm_summary(time: np.ndarray, event: np.ndarray, arm: np.ndarray, landmark: float
                    ) -> tuple[float, float, float, float]:
    """Kaplan–Meier at ``landmark`` for arm 0, arm 1 and both, and the log-rank p-value,
    from one sort (the search's inner loop calls this for every survival endpoint).

    Returns
    -------
    km0, km1, km_pooled, p_value
    """
    order = np.lexsort((event == 0, time))
    t, e, a = time[order], event[order] > 0, arm[order]
    n = t.size
    in_one = np.cumsum(a[::-1])[::-1]           # arm-1 patients at or after each position
    in_zero = (n - np.arange(n)) - in_one
    early = e & (t <= landmark)
    km0 = np.prod(1.0 - 1.0 / in_zero[early & (a == 0)])
    km1 = np.prod(1.0 - 1.0 / in_one[early & (a == 1)])
    kmp = np.prod(1.0 - 1.0 / (n - np.arange(n))[early])
    if not e.any():
        return float(km0), float(km1), float(kmp), 1.0
    first = np.searchsorted(t, t, side="left")   # at risk = everyone from the first tie on
    n_at = (n - first)[e]
    n1_at = in_one[first][e]
    d = _count_at(t[e], t[e])
    expected = n1_at / n_at
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n_at > 1, n1_at * (n_at - n1_at) * (n_at - d)
                       / (n_at * n_at * (n_at - 1.0)), 0.0)
    v = var.sum()
    if v <= 0:
        return float(km0), float(km1), float(kmp), 1.0
    chi2 = (a[e].sum() - expected.sum()) ** 2 / v
    return float(km0), float(km1), float(kmp), math.erfc(math.sqrt(chi2 / 2.0))


def two_arm_cif(time: np.ndarray, cause: np.ndarray, arm: np.ndarray, landmark: float,
                cause_of_interest: int) -> tuple[float, float, float]:
    """Aalen–Johansen incidence at ``landmark`` for arm 0, arm 1 and both, from one sort."""
    order = np.lexsort((cause == 0, time))
    t, c, a = time[order], cause[order], arm[order]
    n = t.size
    in_one = np.cumsum(a[::-1])[::-1]
    out = []
    for at_risk, member in ((n - np.arange(n) - in_one, a == 0), (in_one, a == 1),
                            (n - np.arange(n), np.ones(n, bool))):
        with np.errstate(divide="ignore"):
            factor = np.where(member & (c > 0), 1.0 - 1.0 / at_risk, 1.0)
        before = np.concatenate(([1.0], np.cumprod(factor)[:-1]))
        keep = member & (t <= landmark) & (c == cause_of_interest)
        out.append(float(np.sum(before[keep] / at_risk[keep])))
    return out[0], out[1], out[2]
