"""Nonparametric curves as tidy tables, for figures and results: Kaplan–Meier steps,
censoring marks, numbers at risk, Aalen–Johansen steps.  Computed once by the run and saved;
figures draw them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.reference.analysis import cif_at

__all__ = ["aalen_johansen_curves", "at_risk_table", "at_risk_times", "km_curves",
           "number_at_risk"]

#: Steps of the number-at-risk ticks per unit (the smallest giving at most 8 ticks).
_STEPS = {"days": (7, 14, 30, 60, 90, 180, 365, 730), "weeks": (1, 2, 4, 8, 13, 26, 52, 104),
          "months": (1, 3, 6, 12, 24, 36, 60), "years": (0.25, 0.5, 1, 2, 5, 10)}


def number_at_risk(time: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Patients still at risk just after each of ``times`` (lifelines' and R's convention).

    ``n(t) = #{T_i > t}`` for ``t > 0`` and all patients at ``t = 0``.

    Examples
    --------
    >>> number_at_risk(np.array([1.0, 2.0, 2.0, 5.0]), [0, 2, 4, 6]).tolist()
    [4, 1, 1, 0]
    """
    time = np.asarray(time, float)
    at = np.asarray(times, float)
    counts = (time[None, :] > at[:, None]).sum(axis=1)
    return np.where(at <= 0, time.size, counts)


def at_risk_times(horizon: float, unit: str = "months") -> np.ndarray:
    """Tick times 0 .. ``horizon`` for the number-at-risk table, at most 8 ticks.

    Examples
    --------
    >>> at_risk_times(36.0).tolist()
    [0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0]
    """
    steps = _STEPS.get(unit, _STEPS["months"])
    step = next((s for s in steps if horizon / s <= 7), steps[-1])
    return np.arange(0.0, horizon + 1e-9, step)


def km_curves(data: EndpointData) -> pd.DataFrame:
    """Kaplan–Meier step curve per arm, with censoring marks.

    Returns
    -------
    pandas.DataFrame
        ``arm, time, survival, censored``: one row per step (from time 0) with
        ``censored = False``, and one row per censored patient time (the curve's value
        there) with ``censored = True``.

    Examples
    --------
    >>> d = EndpointData("os", np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]),
    ...                  np.array([0, 0, 0]), ("a", "b"), np.arange(3))
    >>> km_curves(d)["survival"].round(3).tolist()
    [1.0, 0.667, 0.667, 0.0, 0.667]
    """
    rows = []
    for code, arm in enumerate(data.arms):
        mask = np.asarray(data.arm) == code
        if not mask.any():
            continue
        time, event = np.asarray(data.time)[mask], np.asarray(data.event)[mask]
        kmf = KaplanMeierFitter().fit(time, event)
        sf = kmf.survival_function_.iloc[:, 0]
        rows += [(arm, float(t), float(s), False) for t, s in sf.items()]
        censored = np.sort(time[event == 0])
        values = kmf.survival_function_at_times(censored).to_numpy()
        rows += [(arm, float(t), float(s), True) for t, s in zip(censored, values, strict=True)]
    return pd.DataFrame(rows, columns=["arm", "time", "survival", "censored"])


def at_risk_table(data: EndpointData, horizon: float) -> pd.DataFrame:
    """Numbers at risk per arm at the ticks of :func:`at_risk_times`: ``arm, time, n``."""
    ticks = at_risk_times(horizon, data.time_unit)
    rows = []
    for code, arm in enumerate(data.arms):
        counts = number_at_risk(np.asarray(data.time)[np.asarray(data.arm) == code], ticks)
        rows += [(arm, float(t), int(n)) for t, n in zip(ticks, counts, strict=True)]
    return pd.DataFrame(rows, columns=["arm", "time", "n"])


def aalen_johansen_curves(data: EndpointData) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence per arm and cause, as steps at every event time.

    Uses :func:`bridgebayes.reference.analysis.cif_at` (exact with tied times).

    Returns
    -------
    pandas.DataFrame
        ``time, arm, component, estimate`` (component = cause), from time 0 with incidence 0.

    Examples
    --------
    >>> d = EndpointData("cr", np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 2, 0, 1]),
    ...                  np.array([0, 0, 1, 1]), ("a", "b"), np.arange(4), ("x", "y"))
    >>> aalen_johansen_curves(d).query("arm == 'a' and component == 'y'")["estimate"].tolist()
    [0.0, 0.0, 0.5]
    """
    if not data.causes:
        raise BridgeBayesError(f"aalen_johansen_curves: endpoint {data.name!r} is not a "
                               "competing-risks endpoint (no causes)")
    rows = []
    for code, arm in enumerate(data.arms):
        mask = data.arm == code
        time, event = data.time[mask], data.event[mask]
        steps = np.concatenate([[0.0], np.unique(time[event > 0])])
        for k, cause in enumerate(data.causes, start=1):
            for t in steps:
                rows.append((float(t), arm, cause,
                             cif_at(time, event, t, cause_of_interest=k) if time.size else 0.0))
    return pd.DataFrame(rows, columns=["time", "arm", "component", "estimate"])
