"""Model checks of a fit: censoring-aware posterior predictive KM, prior predictive summaries,
and power-scaling prior sensitivity (``az.psens``).

* :func:`posterior_predictive_km` replicates the study under posterior draws — event times from
  each draw's ``S(t | arm)``, censored as the observed patients were — and compares the
  observed Kaplan–Meier curve per arm with the 95% band of the replicated ones.
* :func:`prior_predictive` summarises what the priors alone imply (HR, landmark survival,
  median survival, RMST), through the same :func:`bridgebayes.summaries.decide.decide` as a
  posterior.
* :func:`prior_sensitivity` reports how much the posterior of each parameter moves when the
  prior or the likelihood is power-scaled (Kallioinen et al., Stat Comput 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.fit import Fit
from bridgebayes.inference.prior_checks import (
    SENSITIVITY_THRESHOLD,
    PriorPredictive,
    prior_predictive,
    prior_sensitivity,
)
from bridgebayes.models.families import SurvivalFamily

__all__ = ["SENSITIVITY_THRESHOLD", "KMCheck", "PriorPredictive", "censoring_times",
           "kaplan_meier_on_grid", "posterior_predictive_km", "prior_predictive",
           "prior_sensitivity", "replicate_event_times", "sample_event_times"]



@dataclass(frozen=True)
class KMCheck:
    """Observed Kaplan–Meier curves against replicated ones.

    Attributes
    ----------
    table
        ``time, arm, observed, lower, median, upper, inside``: observed KM and the pointwise
        band of the replicated KMs at each grid time (only up to the arm's last observed time).
    coverage
        ``arm, n_times, coverage``: fraction of grid times with the observed KM inside the
        band, per arm and ``"both arms"``.
    n_rep
        Number of replicated data sets.
    """

    table: pd.DataFrame
    coverage: pd.DataFrame
    n_rep: int

    def summary(self) -> str:
        """One sentence per arm."""
        return "\n".join(
            f"{row.arm}: observed KM inside the posterior predictive band at "
            f"{100 * row.coverage:.0f}% of {row.n_times} times ({self.n_rep} replicates)."
            for row in self.coverage.itertuples())


def kaplan_meier_on_grid(time: np.ndarray, event: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Kaplan–Meier survival of many samples at once, evaluated on a time grid.

    Parameters
    ----------
    time, event
        Arrays ``(n_samples, n)`` (or 1-D for one sample): observed times and 0/1 events.
    grid
        Times at which to evaluate the (right-continuous) KM step function.

    Returns
    -------
    numpy.ndarray
        ``(n_samples, n_grid)`` (``(n_grid,)`` for 1-D input).

    Examples
    --------
    >>> kaplan_meier_on_grid(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]),
    ...                      np.array([0.5, 1.0, 2.5, 3.0])).tolist()
    [1.0, 0.6666666666666667, 0.6666666666666667, 0.0]
    """
    one = np.ndim(time) == 1
    time, event = np.atleast_2d(np.asarray(time, float)), np.atleast_2d(np.asarray(event) > 0)
    n = time.shape[1]
    # events before censorings at tied times; then one factor per patient in that order gives
    # the KM product (tied events: (1 - 1/n)(1 - 1/(n-1)) = 1 - 2/n)
    order = np.argsort(~event, axis=1, kind="stable")
    time, event = np.take_along_axis(time, order, 1), np.take_along_axis(event, order, 1)
    order = np.argsort(time, axis=1, kind="stable")
    time, event = np.take_along_axis(time, order, 1), np.take_along_axis(event, order, 1)
    at_risk = n - np.arange(n)
    surv = np.cumprod(np.where(event, 1.0 - 1.0 / at_risk, 1.0), axis=1)
    passed = (time[:, :, None] <= np.asarray(grid, float)[None, None, :]).sum(axis=1)
    out = np.where(passed > 0, np.take_along_axis(surv, np.maximum(passed - 1, 0), 1), 1.0)
    return out[0] if one else out


def censoring_times(time: np.ndarray, event: np.ndarray, n_rep: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Censoring times of one arm for replicated data, ``(n_rep, n)``.

    A censored patient keeps the observed censoring time.  For a patient with an event at
    ``t`` the censoring time is unknown but at least ``t``: it is drawn from the arm's
    reverse Kaplan–Meier censoring distribution conditional on ``C >= t``.  Mass the reverse
    KM leaves beyond its last censoring time goes to the arm's last observed time (follow-up
    is taken to end there: ``EndpointData`` carries no administrative censoring date).

    Examples
    --------
    >>> c = censoring_times(np.array([2.0, 5.0]), np.array([1, 0]), 3, np.random.default_rng(0))
    >>> c.tolist()
    [[5.0, 5.0], [5.0, 5.0], [5.0, 5.0]]
    """
    time, event = np.asarray(time, float), np.asarray(event) > 0
    out = np.tile(time, (n_rep, 1))
    support = np.unique(time[~event])
    reverse = kaplan_meier_on_grid(time, ~event, support)  # G(c_k)
    mass = -np.diff(np.r_[1.0, reverse])  # P(C = c_k)
    support, mass = np.r_[support, time.max()], np.r_[mass, reverse[-1] if support.size else 1.0]
    for i in np.flatnonzero(event):
        w = np.where(support >= time[i], mass, 0.0)
        out[:, i] = rng.choice(support, size=n_rep, p=w / w.sum())
    return out


def sample_event_times(cumhaz: np.ndarray, grid: np.ndarray, unit_exp: np.ndarray
                       ) -> np.ndarray:
    """Event times by inverting cumulative hazards tabulated on a fine grid.

    Parameters
    ----------
    cumhaz
        ``(n_rep, n_grid)`` cumulative hazard ``H(t)`` per draw at ``grid`` (non-decreasing;
        ``H(grid[0])`` should be ~0: start the grid at 0).
    grid
        Increasing times.
    unit_exp
        ``(n_rep, n)`` Exp(1) variates; ``T = H^{-1}(E)``.

    Returns
    -------
    numpy.ndarray
        ``(n_rep, n)`` times, linear in ``H`` between grid points (exact for piecewise-constant
        hazards whose cuts are grid points); ``inf`` where ``E > H(grid[-1])``.

    Examples
    --------
    >>> grid = np.linspace(0.0, 10.0, 11)
    >>> sample_event_times(0.5 * grid[None, :], grid, np.array([[1.0, 9.0]])).tolist()
    [[2.0, inf]]
    """
    out = np.empty(unit_exp.shape)
    for r in range(unit_exp.shape[0]):
        out[r] = np.interp(unit_exp[r], cumhaz[r], grid, right=np.inf)
    return out


def posterior_predictive_km(fit: Fit, *, n_rep: int = 200, grid: Sequence[float] | None = None,
                            rng: int | np.random.Generator, ci: float = 0.95) -> KMCheck:
    """Censoring-aware posterior predictive check of the survival curves against KM.

    For each of ``n_rep`` posterior draws, every patient gets an event time from that draw's
    ``S(t | arm, covariates)`` and a censoring time from :func:`censoring_times`; the
    replicated KM per arm is compared with the observed one.

    Parameters
    ----------
    fit
        A fitted model.
    n_rep
        Number of replicated data sets (posterior draws, chosen at random).
    grid
        Times (months, > 0) at which to compare; default 100 equally spaced times up to the
        last observed time.  Times past an arm's last observed time are dropped for that arm.
    rng
        Seed or generator.
    ci
        Mass of the pointwise band.

    Returns
    -------
    KMCheck

    Examples
    --------
    >>> check = posterior_predictive_km(result, rng=1)  # doctest: +SKIP
    >>> check.coverage  # doctest: +SKIP
    """
    rng = np.random.default_rng(rng)
    data = fit.data
    if isinstance(n_rep, bool) or not isinstance(n_rep, int | np.integer) or n_rep < 2:
        raise BridgeBayesError(f"n_rep: expected an integer >= 2, got {n_rep!r}")
    if not 0 < ci < 1:
        raise BridgeBayesError(f"ci: expected a probability in (0, 1), got {ci!r}")
    grid = _check_grid(grid, float(np.max(data.time)))
    draws = _subset_draws(fit, n_rep, rng)
    times = replicate_event_times(fit.family, draws, data, rng)
    rows = []
    for code, label in enumerate(data.arms):
        mine = np.asarray(data.arm) == code
        t_obs, e_obs = np.asarray(data.time, float)[mine], np.asarray(data.event)[mine] > 0
        at = grid[grid <= t_obs.max()]
        cens = censoring_times(t_obs, e_obs, n_rep, rng)
        rep_t = np.minimum(times[:, mine], cens)
        rep = kaplan_meier_on_grid(rep_t, times[:, mine] <= cens, at)
        lower, median, upper = np.quantile(rep, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
        observed = kaplan_meier_on_grid(t_obs, e_obs, at)
        rows.append(pd.DataFrame({
            "time": at, "arm": label, "observed": observed, "lower": lower, "median": median,
            "upper": upper,
            "inside": (observed >= lower - 1e-12) & (observed <= upper + 1e-12)}))
    table = pd.concat(rows, ignore_index=True)
    coverage = [(arm, len(part), float(part["inside"].mean()))
                for arm, part in table.groupby("arm", sort=False)]
    coverage.append(("both arms", len(table), float(table["inside"].mean())))
    return KMCheck(table=table, n_rep=n_rep,
                   coverage=pd.DataFrame(coverage, columns=["arm", "n_times", "coverage"]))


def _check_grid(grid: Sequence[float] | None, t_max: float) -> np.ndarray:
    if grid is None:
        return np.linspace(0.0, t_max, 101)[1:]
    out = np.atleast_1d(np.asarray(grid, float))
    if out.ndim != 1 or out.size == 0 or not np.all(np.isfinite(out) & (out > 0)):
        raise BridgeBayesError(f"grid: expected finite times > 0 in a 1-D array, got {grid}")
    return np.sort(out)


def _subset_draws(fit: Fit, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` random posterior draws (constants such as ``cuts`` kept as they are)."""
    draws = fit.draws()
    total = np.shape(draws["log_hr"])[0]
    pick = rng.choice(total, size=n, replace=n > total)
    per_draw = set(fit.idata.posterior.data_vars)
    return {k: (np.asarray(v)[pick] if k in per_draw else v) for k, v in draws.items()}


def replicate_event_times(family: SurvivalFamily, draws: dict[str, np.ndarray],
                          data: EndpointData, rng: np.random.Generator) -> np.ndarray:
    """Event times for every patient of ``data``, one replicate per draw.

    Parameters
    ----------
    family
        The fitted family (its numpy ``log_cumhaz``).
    draws
        Posterior draws (``n_rep`` of them) with constants, as ``posterior_draws`` gives.
    data
        The patients: arm and, for adjusted models, covariates.
    rng
        Generator.

    Returns
    -------
    numpy.ndarray
        ``(n_rep, n)`` times from ``S(t | arm, covariates)`` of each draw, by inversion of
        ``H`` on a fine grid up to the last observed time (:func:`sample_event_times`);
        ``inf`` beyond it (censored in any replicate).

    Examples
    --------
    >>> times = replicate_event_times(result.family, draws, result.data, rng)  # doctest: +SKIP
    """
    t_end = float(np.max(data.time))
    pieces = [np.linspace(0.0, t_end, 4001), np.geomspace(1e-8 * t_end, t_end, 801)]
    if "cuts" in draws:  # piecewise hazards: H is exactly linear between grid points
        pieces.append(np.asarray(draws["cuts"], float))
    grid = np.unique(np.concatenate(pieces))
    grid = grid[grid <= t_end]
    n_rep, arm = np.shape(draws["log_hr"])[0], np.asarray(data.arm, int)
    unit_exp = rng.exponential(size=(n_rep, arm.size))
    raw = (data.covariates[list(family.covariates)].to_numpy(float)
           if family.covariates else np.zeros((arm.size, 0)))
    patterns, which = np.unique(np.column_stack([arm, raw]), axis=0, return_inverse=True)
    out = np.empty((n_rep, arm.size))
    for p, pattern in enumerate(patterns):
        covariates = np.tile(pattern[1:], (grid.size, 1)) if family.covariates else None
        cumhaz = np.exp(family.log_cumhaz(draws, grid, pattern[0], covariates=covariates))
        members = np.flatnonzero(which.ravel() == p)
        out[:, members] = sample_event_times(cumhaz, grid, unit_exp[:, members])
    return out
