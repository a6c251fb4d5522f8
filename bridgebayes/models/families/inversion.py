"""Numerical inversion of a cumulative hazard, for families without a closed form."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["invert_log_cumhaz"]

#: Search range of the bisection (log time): 1e-8 to 1e8 in the data's unit.
_LOG_T = (np.log(1e-8), np.log(1e8))
_STEPS = 80


def invert_log_cumhaz(log_cumhaz: Callable[[np.ndarray], np.ndarray],
                      target: np.ndarray) -> np.ndarray:
    """Times ``t`` with ``H(t) = target`` by bisection in ``log t``.

    Parameters
    ----------
    log_cumhaz
        ``log H`` at a 1-D array of times, shape ``(n_draws, n_times)``; non-decreasing in
        time.
    target
        Cumulative hazards to reach, shape ``(n_draws, n)``.

    Returns
    -------
    numpy.ndarray
        ``(n_draws, n)``; ``inf`` where ``H`` stays below the target up to 1e8 (e.g. a cured
        fraction), relative precision about 1e-12 elsewhere.

    Examples
    --------
    >>> f = lambda t: np.log(0.1 * np.atleast_1d(t))[None, :]   # H(t) = 0.1 t
    >>> invert_log_cumhaz(f, np.array([[0.5, 2.0]])).round(9).tolist()
    [[5.0, 20.0]]
    """
    target = np.asarray(target, float)
    log_target = np.log(target)
    lo = np.full(target.shape, _LOG_T[0])
    hi = np.full(target.shape, _LOG_T[1])
    # one column of times per element: evaluate draw by draw on its own times
    def value(log_t: np.ndarray) -> np.ndarray:
        out = np.empty(log_t.shape)
        for s in range(log_t.shape[0]):
            full = log_cumhaz(np.exp(log_t[s]))
            out[s] = full[s] if full.shape[0] > 1 else full[0]
        return out

    never = value(hi) < log_target
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        below = value(mid) < log_target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.where(never, np.inf, np.exp((lo + hi) / 2))
