"""Piecewise-constant hazards: cut points and sufficient statistics.

Shared by the piecewise-exponential family (PyMC) and the exact oracle, so both
see the same events and exposures (see ``docs/engine.md``).
"""

from __future__ import annotations

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["default_cuts", "sufficient_stats"]


def default_cuts(time: np.ndarray, event: np.ndarray, *, n_intervals: int = 4) -> np.ndarray:
    """Interior cut points at quantiles of the event times.

    Parameters
    ----------
    time, event
        Observed times and event indicators.
    n_intervals
        Number of intervals wanted (interior cuts = ``n_intervals - 1``); fewer are
        returned when event times tie.

    Returns
    -------
    numpy.ndarray
        Strictly increasing interior cut points (the first interval starts at 0, the
        last is open-ended).

    Examples
    --------
    >>> default_cuts(np.array([1., 2., 3., 4., 5.]), np.ones(5), n_intervals=2)
    array([3.])
    """
    if n_intervals < 1:
        raise BridgeBayesError(f"n_intervals: expected a positive integer, got {n_intervals}")
    events = np.sort(np.asarray(time, float)[np.asarray(event) > 0])
    if events.size == 0 or n_intervals == 1:
        return np.empty(0)
    cuts = np.unique(np.quantile(events, np.arange(1, n_intervals) / n_intervals))
    return cuts[(cuts > 0) & (cuts < events.max())]


def sufficient_stats(time: np.ndarray, event: np.ndarray, group: np.ndarray,
                     cuts: np.ndarray, *, n_groups: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Events and exposure per interval and group.

    Parameters
    ----------
    time, event
        Observed times (> 0) and event indicators (0/1).
    group
        Integer group code per patient (arm, or arm × covariate pattern), ``0 .. n_groups-1``.
    cuts
        Strictly increasing interior cut points.
    n_groups
        Number of groups.

    Returns
    -------
    events, exposure
        Arrays of shape ``(len(cuts) + 1, n_groups)``.  An event at exactly a cut point
        belongs to the interval that ends there (hazard intervals are ``(c_{j-1}, c_j]``).

    Examples
    --------
    >>> d, e = sufficient_stats(np.array([1., 3.]), np.array([1, 0]), np.array([0, 1]),
    ...                         np.array([2.]))
    >>> d.tolist(), e.tolist()
    ([[1.0, 0.0], [0.0, 0.0]], [[1.0, 2.0], [0.0, 1.0]])
    """
    time = np.asarray(time, float)
    event = np.asarray(event)
    group = np.asarray(group, int)
    cuts = np.asarray(cuts, float)
    if cuts.size and (np.any(np.diff(cuts) <= 0) or cuts[0] <= 0):
        raise BridgeBayesError(f"cuts: expected strictly increasing positive values, got {cuts}")
    lower = np.concatenate([[0.0], cuts])
    upper = np.concatenate([cuts, [np.inf]])
    exposure_each = np.clip(time[:, None], lower, upper) - lower          # (n, J)
    interval = np.searchsorted(cuts, time, side="left")                   # (c_{j-1}, c_j]
    events = np.zeros((lower.size, n_groups))
    exposure = np.zeros((lower.size, n_groups))
    np.add.at(events, (interval, group), (event > 0).astype(float))
    for g in range(n_groups):
        exposure[:, g] = exposure_each[group == g].sum(axis=0)
    return events, exposure
