"""Two-arm log-rank statistic vectorised over many trials (tested against lifelines).

``Z = (O_1 − E_1) / sqrt(V)`` with ``O_1`` the treatment-arm events, ``E_1`` their expected
number under equal hazards and ``V`` the hypergeometric variance (ties handled as lifelines'
``logrank_test`` does: at a tied time all tied patients are in the risk set).  ``Z < 0``
favours the treatment; ``Z² `` is lifelines' ``test_statistic``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logrank_z"]


def logrank_z(time: np.ndarray, event: np.ndarray, arm: np.ndarray,
              include: np.ndarray | None = None) -> np.ndarray:
    """Log-rank Z statistic per trial.

    Parameters
    ----------
    time, event : ``(S, N)``
        Follow-up and event 0/1.
    arm : ``(N,)`` or ``(S, N)``
        0 = reference, 1 = treatment.
    include : ``(S, N)`` bool, optional
        Patients in the analysis (default all).

    Returns
    -------
    numpy.ndarray
        ``(S,)``; ``nan`` where the variance is 0 (e.g. no events).

    Examples
    --------
    >>> logrank_z(np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[1, 1, 1, 0]]),
    ...           np.array([0, 0, 1, 1])).round(4).tolist()
    [-1.6977]
    """
    time = np.asarray(time, float)
    s, n = time.shape
    include = np.ones((s, n), bool) if include is None else np.asarray(include, bool)
    arm = np.broadcast_to(np.asarray(arm), (s, n))
    order = np.argsort(np.where(include, time, np.inf), axis=1, kind="stable")
    t = np.take_along_axis(np.where(include, time, np.inf), order, axis=1)
    inc = np.take_along_axis(include, order, axis=1)
    d = np.take_along_axis((np.asarray(event) > 0) & include, order, axis=1).astype(float)
    x = np.take_along_axis(arm, order, axis=1) * inc
    idx = np.broadcast_to(np.arange(n), (s, n))
    first = np.ones((s, n), bool)
    first[:, 1:] = t[:, 1:] != t[:, :-1]
    last = np.ones((s, n), bool)
    last[:, :-1] = first[:, 1:]
    start = np.maximum.accumulate(np.where(first, idx, 0), axis=1)          # group start
    at_risk = inc.sum(axis=1, keepdims=True) - start                         # n at the time
    trt_before = np.concatenate([np.zeros((s, 1)), np.cumsum(x, axis=1)[:, :-1]], axis=1)
    at_risk_1 = x.sum(axis=1, keepdims=True) - np.take_along_axis(trt_before, start, axis=1)
    cum_d, cum_d1 = np.cumsum(d, axis=1), np.cumsum(d * x, axis=1)
    before_d = np.take_along_axis(np.concatenate([np.zeros((s, 1)), cum_d[:, :-1]], 1), start, 1)
    before_d1 = np.take_along_axis(np.concatenate([np.zeros((s, 1)), cum_d1[:, :-1]], 1), start,
                                   1)
    d_g = np.where(last & inc, cum_d - before_d, 0.0)                        # events at time
    d1_g = np.where(last & inc, cum_d1 - before_d1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(at_risk > 0, at_risk_1 / np.maximum(at_risk, 1), 0.0)
        var = np.where(at_risk > 1, d_g * share * (1 - share) * (at_risk - d_g)
                       / np.maximum(at_risk - 1, 1), 0.0)
        o_minus_e = (d1_g - d_g * share).sum(axis=1)
        v = var.sum(axis=1)
        return np.where(v > 0, o_minus_e / np.sqrt(v), np.nan)
