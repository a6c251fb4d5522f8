"""Cumulative incidence from cause-specific cumulative hazards on an integration grid.

On a cell ``[a, b]`` the increment of cause ``k`` is ``ΔH_k / ΔH · (S(a) − S(b))``, the exact
integral when the hazards are proportional to each other within the cell (constant hazards,
Weibull hazards of equal shape, piecewise-constant hazards with the cuts on the grid) and
second-order accurate otherwise; it needs only cumulative hazards, so Weibull hazards with
shape < 1 (infinite at 0) need no special care.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["cumulative_incidence", "incidence_grid"]


def incidence_grid(horizon: float, *, include: Sequence[float] = (), n_linear: int = 200,
                   n_log: int = 60) -> np.ndarray:
    """Integration grid on ``[0, horizon]``: linear points, log-spaced points near 0, ``include``.

    Examples
    --------
    >>> g = incidence_grid(24.0, include=[12.0])
    >>> g[0], g[-1], 12.0 in g
    (np.float64(0.0), np.float64(24.0), True)
    """
    horizon = float(horizon)
    if not (np.isfinite(horizon) and horizon > 0):
        raise BridgeBayesError(f"horizon: expected a finite time > 0, got {horizon}")
    extra = np.asarray(include, float).ravel()
    extra = extra[(extra >= 0) & (extra <= horizon)]
    return np.unique(np.concatenate([np.linspace(0.0, horizon, n_linear + 1),
                                     np.geomspace(horizon * 1e-6, horizon, n_log), extra]))


def cumulative_incidence(cumhaz: np.ndarray) -> np.ndarray:
    """Cumulative incidence of each cause from the causes' cumulative hazards on a grid.

    Parameters
    ----------
    cumhaz
        ``H_k(t_g)``, shape ``(n_causes, n_draws, n_grid)``, on an increasing grid that
        starts at ``t = 0`` (so ``H_k = 0`` in the first column).

    Returns
    -------
    numpy.ndarray
        ``CIF_k(t_g)``, same shape: the increment on cell ``[a, b]`` is
        ``ΔH_k / ΔH · (S(a) − S(b))``, ``S = exp(−Σ_k H_k)`` (exact for hazards
        proportional to each other within the cell).  ``Σ_k CIF_k = 1 − S`` exactly.

    Examples
    --------
    >>> t = np.array([0.0, 1.0])
    >>> cif = cumulative_incidence(np.stack([0.1 * t, 0.3 * t])[:, None, :])
    >>> cif[:, 0, 1].round(6).tolist()  # h_k / (h_1 + h_2) · (1 − exp(−0.4))
    [0.08242, 0.24726]
    """
    cumhaz = np.asarray(cumhaz, float)
    if cumhaz.ndim != 3 or cumhaz.shape[-1] < 2:
        raise BridgeBayesError(f"cumhaz: expected shape (causes, draws, grid >= 2), got "
                               f"{cumhaz.shape}")
    d_cause = np.diff(cumhaz, axis=-1)
    if np.any(d_cause < -1e-12 * np.maximum(1.0, np.abs(cumhaz[..., 1:]))):
        raise BridgeBayesError("cumhaz: cumulative hazards must be non-decreasing on the grid")
    d_cause = np.maximum(d_cause, 0.0)
    total = cumhaz.sum(axis=0)
    d_total = d_cause.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # -expm1(-x) / x -> 1 as x -> 0
        share = np.where(d_total > 0, -np.expm1(-d_total) / d_total, 1.0)
    mass = d_cause * (np.exp(-total[:, :-1]) * share)[None]
    return np.concatenate([np.zeros((*cumhaz.shape[:-1], 1)), np.cumsum(mass, axis=-1)], axis=-1)
