"""Pseudo individual patient data from a digitised Kaplan–Meier curve.

Implements the iterative algorithm of Guyot P, Ades AE, Ouwens MJ, Welton NJ,
"Enhanced secondary analysis of survival data: reconstructing the data from
published Kaplan-Meier survival curves", BMC Med Res Methodol 2012;12:9.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from bridgebayes.core.errors import ReconstructionError, describe_offenders

__all__ = ["reconstruct_from_km"]

#: Largest rise of digitised survival over an earlier point that is treated as noise.
SURVIVAL_TOLERANCE = 0.02
#: Largest step back in digitised time treated as noise, as a fraction of the last time.
TIME_TOLERANCE = 0.01
#: Change of a drop in survival by one patient more or fewer at risk that digitisation resolves.
DROP_RESOLUTION = 0.008


def reconstruct_from_km(times: ArrayLike, survival: ArrayLike, *, risk_times: ArrayLike,
                        n_at_risk: ArrayLike, total_events: int | None = None,
                        arm: object | None = None) -> pd.DataFrame:
    """Reconstruct pseudo patients from a digitised Kaplan–Meier curve (Guyot et al. 2012).

    Parameters
    ----------
    times, survival
        Digitised curve points, time ascending and survival as proportions in [0, 1].
        The point (0, 1) is added when the curve does not start at time 0.  Digitisation
        noise is cleaned: times become their running maximum (steps back of at most
        ``TIME_TOLERANCE`` times the last time) and survival its running minimum (rises
        of at most ``SURVIVAL_TOLERANCE``; survival at time 0 is set to 1).  Larger
        violations raise.
    risk_times, n_at_risk
        The numbers-at-risk table printed under the figure.  ``risk_times`` is strictly
        increasing from 0 (or the first digitised time); times past the curve's end need 0
        at risk (as "48: 0" under a curve ending at 47.8).  ``n_at_risk`` holds
        non-increasing whole numbers, the first being the number of patients.
    total_events
        Total number of events, if reported; fixes the censoring in the last interval.
    arm
        If given, stored in an ``arm`` column.

    Returns
    -------
    pandas.DataFrame
        One row per patient (``n_at_risk[0]`` rows) sorted by time, with columns
        ``time`` (float), ``event`` (int, 1 = event, 0 = censored) and optionally ``arm``.

    Raises
    ------
    ReconstructionError
        If an input is empty, non-finite, of mismatched length or out of range.

    Notes
    -----
    Within each risk-table interval, ``c`` censorings are spread evenly and the events
    at each digitised point follow from inverting the KM estimate,
    ``d_k = round(n_k * (1 - S(t_k) / S_hat(t_last)))``; ``c`` is updated by the gap
    between the reconstructed and the published number at risk at the next risk time
    until they agree (or the gap cannot be closed; then the reconstructed count is
    carried forward).  The last interval is iterated until the events total
    ``total_events``, else (table closing with 0 at risk) until no one is left, its
    censorings spread evenly up to and including the last time, else keeps the earlier
    rate; anyone left is censored at the last time.  Intervals start at the risk times,
    where a point carrying S forward is inserted if needed.  Deterministic.

    Beyond Guyot et al.: a drop ``q = 1 - S(t_k) / S(t_{k-1})`` implies ``n_k = d_k / q``.
    Where one patient more or fewer changes it by over ``DROP_RESOLUTION`` (by
    ``S(t_{k-1}) q^2 / d_k``; ``S(t_{k-1}) q`` if ``d_k`` rounds to 0, then set to 1), the
    interval's censorings move across ``t_k`` to match, not across an earlier such point:
    even spacing misses ``n_k`` by a patient or two, which moves the tail by percents.

    Examples
    --------
    >>> reconstruct_from_km([0, 1, 2], [1.0, 0.75, 0.5], risk_times=[0], n_at_risk=[4])
       time  event
    0   1.0      1
    1   2.0      1
    2   2.0      0
    3   2.0      0
    """
    t, s = _clean_curve(_vector(times, "times"), _vector(survival, "survival"))
    rt, nr = _risk_table(_vector(risk_times, "risk_times"), _vector(n_at_risk, "n_at_risk"), t)
    closed, rt, nr = bool((rt > t[-1]).any()), rt[rt <= t[-1]], nr[rt <= t[-1]]
    total = _total_events(total_events, int(nr[0]))
    t, s = (np.r_[0.0, t], np.r_[1.0, s]) if t[0] > 0 else (t, s)
    rt[0] = 0.0
    missing = rt[~np.isin(rt, t)]  # add a point at each risk time, carrying S forward
    pos = np.searchsorted(t, missing)
    t, s = np.insert(t, pos, missing), np.insert(s, pos, s[pos - 1])
    starts = np.searchsorted(t, rt)  # first point of each risk-table interval
    last = len(t) - 1
    events = np.zeros(len(t), dtype=np.int64)
    censored: list[np.ndarray] = []
    n, km = int(nr[0]), 1.0
    for i in range(len(rt) - 1):
        lo, nxt = starts[i], starts[i + 1]
        guess = round(n * s[nxt] / s[lo] - nr[i + 1]) if s[lo] > 0 else 0
        res = _fit(t, s, lo, nxt - 1, t[nxt], n, km, guess, target=int(nr[i + 1]))
        events[lo:nxt], n, km = res.events, res.n_end, res.km
        censored.append(res.censored)

    lo, prior = starts[-1], int(events.sum())
    guess = min(round(sum(map(len, censored)) * (t[last] - t[lo]) / t[lo]), n) if lo > 0 else 0
    if total is None and closed:  # censor all survivors of the interval
        guess = round(n * s[last] / s[lo]) if s[lo] > 0 else 0
        res = _fit(t, s, lo, last, t[last], n, km, guess, target=0, closed=True)
    elif total is None:
        res = _run(t, s, lo, last, n, km, t[last], guess)
    elif prior >= total:  # as Guyot: no further events or censoring
        res = _Pass(np.zeros(last - lo + 1, dtype=np.int64), np.empty(0), n, km)
    else:
        res = _fit(t, s, lo, last, t[last], n, km, guess, target=total, prior=prior, closed=closed)
    events[lo:] = res.events
    censored.append(res.censored)

    cens = np.concatenate(censored)
    ipd = pd.DataFrame({
        "time": np.concatenate([np.repeat(t, events), cens, np.full(res.n_end, t[last])]),
        "event": np.repeat(np.array([1, 0], dtype=np.int64), [events.sum(), cens.size + res.n_end]),
    })
    ipd = ipd.sort_values(["time", "event"], ascending=[True, False]).reset_index(drop=True)
    return ipd if arm is None else ipd.assign(arm=arm)


class _Pass(NamedTuple):
    events: np.ndarray  # events at each point of the interval
    censored: np.ndarray  # censoring times kept
    n_end: int  # number at risk after the interval
    km: float  # reconstructed KM estimate after the interval


def _run(t: np.ndarray, s: np.ndarray, lo: int, hi: int, n: int, km: float, stop: float,
         n_cens: int, closed: bool = False) -> _Pass:
    """KM inversion over points ``lo..hi`` with ``n_cens`` censorings evenly in (t[lo], stop)
    (the last at ``stop`` if ``closed``), moved where drops resolve the number at risk."""
    cens = t[lo] + (stop - t[lo]) * np.arange(1, n_cens + 1) / (n_cens + (not closed))
    keep, d = np.ones(n_cens, dtype=bool), np.zeros(hi - lo + 1, dtype=np.int64)
    done = fixed = 0  # censorings processed; those before ``fixed`` stay before
    for j in range(lo, hi + 1):
        if km > 0:
            drop, q = 1.0 - s[j] / km, 1.0 - s[j] / s[j - 1] if j > lo and s[j - 1] > 0 else 0.0
            dj = min(max(round(n * drop), 0), n)
            if q > 0 and s[j - 1] * q * (q / dj if dj else 1.0) > DROP_RESOLUTION:
                want = min(max(done + n - round(max(dj, 1) / q), fixed), n_cens)
                # one slice is empty: move censorings before t[j] or after its events
                cens[done:want], cens[want:done] = (t[j - 1] + t[j]) / 2, t[j]
                n, done, fixed = n - want + done, want, want
                dj = min(max(round(n * drop), 1), n)
            d[j - lo] = dj
            km *= 1.0 - dj / n if n > 0 else 1.0
        k = n_cens if j == hi else done + int(np.searchsorted(cens[done:], t[j + 1]))
        c = min(k - done, n - int(d[j - lo]))  # the number at risk cannot go negative
        keep[done + c:k] = False
        n -= int(d[j - lo]) + c
        done, fixed = k, k if c < k - done else fixed
    return _Pass(d, cens[keep], n, km)


def _fit(t: np.ndarray, s: np.ndarray, lo: int, hi: int, stop: float, n: int, km: float,
         guess: int, *, target: int, prior: int | None = None, closed: bool = False) -> _Pass:
    """Guyot's iteration: add to the number censored its gap to ``target`` until it closes.

    The gap is the number at risk after the interval, less censorings that found no one
    left (or ``prior`` plus its events), minus ``target``.  Stops when it is 0, cannot
    shrink or cycles; returns the smallest-gap pass.
    """
    best, best_gap, seen, c = None, 0, set(), guess
    while True:
        c = min(max(int(c), 0), n)
        if c in seen:
            return best
        seen.add(c)
        res = _run(t, s, lo, hi, n, km, stop, c, closed)
        left = res.n_end - c + len(res.censored)
        gap = (left if prior is None else prior + int(res.events.sum())) - target
        if best is None or abs(gap) < abs(best_gap):
            best, best_gap = res, gap
        if gap == 0 or (gap < 0 and c == 0) or (gap > 0 and c == n):
            return best
        c += gap


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ReconstructionError(f"{name} must be a sequence of numbers: {exc}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ReconstructionError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    _check(~np.isfinite(arr), name, "must be finite (no NaN or inf)", arr)
    return arr


def _check(bad: np.ndarray, name: str, problem: str, values: np.ndarray) -> None:
    idx = np.flatnonzero(bad)
    if idx.size:
        offenders = describe_offenders(idx.tolist(), values[idx].tolist())
        raise ReconstructionError(f"{name} {problem}: {offenders} (ids are 0-based positions)")


def _clean_curve(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(t) != len(s):
        raise ReconstructionError(
            f"times and survival must have equal lengths, got {len(t)} and {len(s)}")
    _check(t < 0, "times", "must be non-negative", t)
    _check((s < 0) | (s > 1), "survival", "must lie in [0, 1] (proportions, not %)", s)
    t_clean = np.maximum.accumulate(t)
    tol = TIME_TOLERANCE * t_clean[-1]
    _check(np.r_[False, t_clean[:-1] - t[1:] > tol], "times",
           f"must be non-decreasing (steps back up to {tol:g} are tolerated)", t)
    _check(np.r_[False, s[1:] - np.minimum.accumulate(s)[:-1] > SURVIVAL_TOLERANCE], "survival",
           f"must be non-increasing (rises up to {SURVIVAL_TOLERANCE} are tolerated)", s)
    _check(np.r_[t[0] == 0 and s[0] < 1 - SURVIVAL_TOLERANCE], "survival", "must be 1 at time 0", s)
    return t_clean, np.minimum.accumulate(np.r_[1.0 if t[0] == 0 else s[0], s[1:]])


def _risk_table(rt: np.ndarray, nr: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(rt) != len(nr):
        raise ReconstructionError(
            f"risk_times and n_at_risk must have equal lengths, got {len(rt)} and {len(nr)}")
    _check(rt < 0, "risk_times", "must be non-negative", rt)
    _check(np.r_[False, np.diff(rt) <= 0], "risk_times", "must be strictly increasing", rt)
    if rt[0] not in (0.0, t[0]):
        raise ReconstructionError(
            f"risk_times[0] must be 0 or the first digitised time {t[0]:g}, got {rt[0]:g}")
    _check((rt > t[-1]) & (nr != 0), "risk_times",
           f"past the last digitised time {t[-1]:g} must have 0 at risk", rt)
    _check(nr != np.round(nr), "n_at_risk", "must be whole numbers", nr)
    _check(nr < 0, "n_at_risk", "must be non-negative", nr)
    _check(np.r_[False, np.diff(nr) > 0], "n_at_risk", "must not increase over time", nr)
    if nr[0] == 0:
        raise ReconstructionError("n_at_risk[0] (the number of patients) must be positive")
    return rt.copy(), nr.astype(np.int64)


def _total_events(total: object, n: int) -> int | None:
    if total is None:
        return None
    try:
        value = float(total)
    except (TypeError, ValueError):
        value = np.nan
    if not (np.isfinite(value) and value >= 0 and value == round(value)):
        raise ReconstructionError(
            f"total_events must be a non-negative whole number, got {total!r}")
    if value > n:
        raise ReconstructionError(
            f"total_events ({int(value)}) exceeds the number of patients n_at_risk[0] ({n})")
    return int(value)
