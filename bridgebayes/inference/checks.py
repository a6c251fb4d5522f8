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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.fit import Fit
from bridgebayes.models.families import SurvivalFamily, posterior_draws
from bridgebayes.summaries.decide import decide

__all__ = ["SENSITIVITY_THRESHOLD", "KMCheck", "PriorPredictive", "censoring_times",
           "kaplan_meier_on_grid", "posterior_predictive_km", "prior_predictive",
           "prior_sensitivity", "replicate_event_times", "sample_event_times"]

#: Power-scaling sensitivity (CJS distance per unit log-scale) at or above which a component
#: counts as influential (the threshold of priorsense and ArviZ).
SENSITIVITY_THRESHOLD = 0.05


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


@dataclass(frozen=True)
class PriorPredictive:
    """What the priors alone imply.

    Attributes
    ----------
    table
        :class:`~bridgebayes.summaries.decide.Decision` table computed from prior draws (HR median
        and
        95% interval, P(HR < c), landmark S(t), RMST, median survival) plus rows
        ``"P(0.01 < S(t) < 0.99)"`` per arm and landmark (mass away from the extremes).
    curves
        Prior per-arm survival band: ``time, arm, median, lower, upper``.
    draws
        The prior draws (name -> array, draws first; constants such as ``cuts``).
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    draws: dict[str, np.ndarray]


def prior_predictive(family: SurvivalFamily, data: EndpointData, *, n: int = 1000,
                     rng: int | np.random.Generator,
                     landmarks: Sequence[float] = (12.0, 24.0),
                     hr_thresholds: Sequence[float] = (1.0, 0.8, 0.5),
                     rmst_tau: float | None = 24.0) -> PriorPredictive:
    """Prior predictive summary of a family on data (data-driven prior constants included).

    Draws the model's priors with ``pm.sample_prior_predictive`` (the likelihood potential
    is ignored, as it should be) and summarises them with
    :func:`~bridgebayes.summaries.decide.decide`.

    Parameters
    ----------
    family
        The family with its priors, e.g. ``WeibullPH(log_hr_sigma=0.42)``.
    data
        Endpoint data (the priors' scale depends on it: crude rate, mean time).
    n
        Number of prior draws.
    rng
        Seed or generator.
    landmarks, hr_thresholds, rmst_tau
        As in :func:`~bridgebayes.summaries.decide.decide`.

    Returns
    -------
    PriorPredictive

    Examples
    --------
    >>> pp = prior_predictive(WeibullPH(), cohort.endpoint("os"), rng=1)  # doctest: +SKIP
    >>> pp.table.query("quantity == 'S(12)'")  # doctest: +SKIP
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise BridgeBayesError(f"n: expected an integer >= 2, got {n!r}")
    model = family.build_model(data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        prior = pm.sample_prior_predictive(draws=n, model=model, random_seed=rng)
    groups = {"posterior": prior.prior}
    if "constant_data" in prior.groups():
        groups["constant_data"] = prior.constant_data
    draws = posterior_draws(az.InferenceData(**groups))
    decision = decide(draws["log_hr"], survival=lambda t, arm: family.survival(draws, t, arm),
                      arms=data.arms, landmarks=landmarks, hr_thresholds=hr_thresholds,
                      rmst_tau=rmst_tau)
    at = np.asarray(landmarks, float)
    rows = [{"quantity": f"P(0.01 < S({t:g}) < 0.99)", "arm": data.arms[a], "threshold": t,
             "probability": float(np.mean((s > 0.01) & (s < 0.99)))}
            for a in (0, 1) for t, s in zip(at, family.survival(draws, at, a).T, strict=True)]
    table = pd.concat([decision.table, pd.DataFrame(rows)], ignore_index=True)
    return PriorPredictive(table=table, curves=decision.curves, draws=draws)


def prior_sensitivity(fit: Fit, *, threshold: float = SENSITIVITY_THRESHOLD) -> pd.DataFrame:
    """Power-scaling sensitivity of each parameter to the prior and to the likelihood.

    ``log_prior`` is computed with ``pm.compute_log_prior`` on the family's model rebuilt
    for the fit's data; the likelihood is the per-patient ``obs`` group; ``az.psens`` gives
    the sensitivities (CJS distance per unit log power).

    Parameters
    ----------
    fit
        A fitted model (its per-patient ``log_likelihood`` group is added if absent).
    threshold
        Sensitivity at or above which a component counts as influential.

    Returns
    -------
    pandas.DataFrame
        ``parameter, prior, log_hr_prior_only, likelihood, diagnosis`` for ``log_hr``, the
        family's baseline parameters (one row per element, e.g. ``lambda[(0, 6]]``) and
        covariate effects; ``prior`` scales the joint prior, ``log_hr_prior_only`` (log_hr
        row) only the log-HR prior, which the log_hr diagnosis uses; ``diagnosis``:
        ``"potential prior-data conflict"`` (prior and likelihood sensitive), ``"strong
        prior / weak likelihood"`` (only the prior), else ``"-"``.

    Examples
    --------
    >>> prior_sensitivity(result).query("parameter == 'log_hr'")  # doctest: +SKIP
    """
    fit.add_log_likelihood()
    idata = az.InferenceData(posterior=fit.idata.posterior,
                             log_likelihood=fit.idata.log_likelihood)
    pm.compute_log_prior(idata, model=fit.family.build_model(fit.data), progressbar=False)
    names = [v for v in ("log_hr", *fit.family._draw_vars(), "beta")
             if v in idata.posterior.data_vars]
    sens = {c: az.psens(idata, component=c, var_names=names) for c in ("prior", "likelihood")}
    # the log-HR prior alone: the joint prior includes the weak, heavy-tailed baseline priors,
    # whose scaling moves log HR too; the analysis prior in question is the log-HR one
    own = az.psens(idata, component="prior", component_var_names=["log_hr"],
                   var_names=names)["log_hr"]
    rows = []
    for name in names:
        prior, like = sens["prior"][name], sens["likelihood"][name]
        for index in np.ndindex(prior.shape):
            label = name + "".join(f"[{prior[d].values[i]}]" for d, i in
                                   zip(prior.dims, index, strict=True))
            p, lk = float(prior.values[index]), float(like.values[index])
            p_own = float(own.values) if name == "log_hr" else np.nan
            judged = p_own if name == "log_hr" else p
            diagnosis = ("potential prior-data conflict" if judged >= threshold and
                         lk >= threshold else
                         "strong prior / weak likelihood" if judged >= threshold else "-")
            rows.append({"parameter": label, "prior": p, "log_hr_prior_only": p_own,
                         "likelihood": lk, "diagnosis": diagnosis})
    return pd.DataFrame(rows)
