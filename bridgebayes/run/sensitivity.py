"""Reconstruction sensitivity: the ``[bayes]`` decisions across plausible pseudo-cohorts.

A reconstructed cohort is one of many that reproduce the published figures
(``bridgebayes reconstruct --ensemble``).  :func:`ensemble_sensitivity` repeats every
endpoint × family × prior of a spec's ``[bayes]`` section on each ensemble member and
reports how far each decision quantity moves.

Each posterior is the exact quadrature oracle (:mod:`bridgebayes.models.exact`) of the very
family object that :func:`bridgebayes.run.bayes.run_bayes` fits with NUTS: same log-HR
prior, same Gamma baseline shape ``a0`` and data-scaled rate, same PEM cut-point rule
(:func:`bridgebayes.models.piecewise.default_cuts` with ``bayes.n_intervals``), same Weibull
``log k`` prior; a member costs well under a second, where NUTS would take minutes.
Quantities carry the names and definitions of :func:`bridgebayes.summaries.decide.decide` (tested
against it on the same draws): the HR quantities come straight from the quadrature (no
Monte Carlo error); landmark differences from exact joint draws through the family's
numpy survival, evaluated at the landmarks only (``decide`` also builds 601-point
curves and RMST grids, which would make a 20-member ensemble cost minutes).  All draws
use one seed (``bayes.seed``): every member's posterior transforms the same uniforms
(common random numbers), so differences between members are not Monte Carlo noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import Cohort, load_cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import ExactPosterior, pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.families.base import SurvivalFamily
from bridgebayes.run.bayes import family_for as spec_family
from bridgebayes.run.spec import BayesSpec, Spec

__all__ = ["SUMMARY_COLUMNS", "cohort_quantities", "ensemble_sensitivity", "exact_posterior_of",
           "load_members", "posterior_quantities"]

#: Columns of the table returned by :func:`ensemble_sensitivity`.
SUMMARY_COLUMNS = ("endpoint", "family", "prior", "quantity", "main", "min", "median", "max")
_KEYS = ["endpoint", "family", "prior", "quantity"]


def exact_posterior_of(family: SurvivalFamily, data: EndpointData) -> ExactPosterior:
    """The exact posterior of ``family``'s model of ``data``, with the family's own priors.

    Parameters
    ----------
    family
        A :class:`~bridgebayes.models.families.PiecewiseExponentialPH` with the Gamma baseline and
        proportional hazards, or a :class:`~bridgebayes.models.families.WeibullPH`; no covariates.
    data
        Endpoint data.

    Returns
    -------
    ExactPosterior
        PEM: cut points from ``family.data_arrays(data)`` (the cuts the PyMC model uses).

    Raises
    ------
    bridgebayes.core.errors.BridgeBayesError
        For a family or option the oracle does not cover.

    Examples
    --------
    >>> post = exact_posterior_of(WeibullPH(log_hr_sigma=0.42), data)  # doctest: +SKIP
    >>> post.prob_hr_below(1.0)  # doctest: +SKIP
    """
    if family.covariates:
        raise BridgeBayesError(f"family: the exact oracle has no covariates, got "
                               f"{list(family.covariates)}")
    prior = {"log_hr_mu": family.log_hr_mu, "log_hr_sigma": family.log_hr_sigma,
             "a0": family.a0}
    if isinstance(family, PiecewiseExponentialPH):
        if family.baseline != "gamma" or family.time_varying:
            raise BridgeBayesError(
                f"family: the exact oracle covers the Gamma baseline with proportional hazards, "
                f"got baseline={family.baseline!r}, time_varying={family.time_varying}")
        return pem_posterior(data, cuts=family.data_arrays(data)["cuts"], **prior)
    if isinstance(family, WeibullPH):
        return weibull_posterior(data, log_k_mu=family.log_k_mu,
                                 log_k_sigma=family.log_k_sigma, **prior)
    raise BridgeBayesError(f"family: no exact oracle for {type(family).__name__}")


def load_members(spec: Spec) -> list[Cohort]:
    """The cohorts of the spec's ``[data] ensemble``, with the spec's arms and time unit.

    Returns an empty list when the spec has no ensemble.

    Examples
    --------
    >>> members = load_members(load_spec("models/cao2025.toml"))  # doctest: +SKIP
    """
    return [load_cohort(path, arms=spec.arms, time_unit=spec.time_unit)
            for path in spec.ensemble]


def posterior_quantities(post: ExactPosterior, family: SurvivalFamily, bayes: BayesSpec, *,
                         n_draws: int = 4000, seed: int = 1) -> dict[str, float]:
    """Decision quantities of one exact posterior, named and defined as in ``decide``.

    HR quantities are exact (quadrature: no Monte Carlo error); landmark quantities use
    ``n_draws`` exact joint draws and the family's numpy survival at the landmarks.

    Parameters
    ----------
    post
        Exact posterior (:func:`exact_posterior_of`).
    family
        The family it belongs to (its ``survival`` evaluates the draws).
    bayes
        Thresholds, ROPE, landmarks and deltas.
    n_draws, seed
        Draws for the landmark quantities and their seed.

    Returns
    -------
    dict
        ``"HR (median)"``, ``"P(HR < c)"`` per threshold, ``"P(lo <= HR <= hi)"``, and per
        landmark ``t``: ``"S(t) difference (median)"`` (treatment − reference) and
        ``"P(S(t) difference > delta)"`` per delta.

    Examples
    --------
    >>> posterior_quantities(post, family, spec.bayes)["P(HR < 1)"]  # doctest: +SKIP
    """
    lo, hi = bayes.rope
    out = {"HR (median)": float(np.exp(post.log_hr_quantile(0.5)))}
    out |= {f"P(HR < {c:g})": post.prob_hr_below(c) for c in bayes.hr_thresholds}
    out[f"P({lo} <= HR <= {hi})"] = post.prob_hr_below(hi) - post.prob_hr_below(lo)
    draws = post.draws(n_draws, rng=seed)
    at = np.asarray(bayes.landmarks, float)
    diff = family.survival(draws, at, 1) - family.survival(draws, at, 0)
    for j, t in enumerate(at):
        out[f"S({t:g}) difference (median)"] = float(np.median(diff[:, j]))
        out |= {f"P(S({t:g}) difference > {delta:g})": float(np.mean(diff[:, j] > delta))
                for delta in bayes.deltas}
    return out


def cohort_quantities(cohort: Cohort, spec: Spec, *, n_draws: int = 4000,
                      seed: int | None = None) -> pd.DataFrame:
    """Decision quantities of every endpoint × family × prior of ``spec.bayes`` on one cohort.

    Parameters
    ----------
    cohort
        A cohort with the spec's arms.
    spec
        A validated spec with a ``[bayes]`` section.
    n_draws, seed
        Exact draws per combination for the landmark quantities, and their seed (default
        ``spec.bayes.seed``; the same for every combination and cohort).

    Returns
    -------
    pandas.DataFrame
        ``endpoint, family, prior, quantity, value`` (see :func:`posterior_quantities`).

    Examples
    --------
    >>> cohort_quantities(cohort, load_spec("models/cao2025.toml"))  # doctest: +SKIP
    """
    bayes = spec.bayes
    if bayes is None:
        raise BridgeBayesError(f"{spec.path}: no [bayes] section to repeat across the ensemble")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise BridgeBayesError(f"n_draws: expected a positive integer, got {n_draws!r}")
    seed = bayes.seed if seed is None else seed
    rows = []
    for endpoint in bayes.endpoints:
        data = cohort.endpoint(endpoint)
        for family_name in bayes.families:
            for prior in bayes.priors:
                family = spec_family(spec, family_name, prior)
                values = posterior_quantities(exact_posterior_of(family, data), family, bayes,
                                              n_draws=n_draws, seed=seed)
                rows += [{"endpoint": endpoint, "family": family_name, "prior": prior,
                          "quantity": name, "value": value} for name, value in values.items()]
    return pd.DataFrame(rows, columns=[*_KEYS, "value"])


def ensemble_sensitivity(members: Sequence[Cohort], spec: Spec, *, main: Cohort | None = None,
                         n_draws: int = 4000, seed: int | None = None) -> pd.DataFrame:
    """How much each decision quantity moves across plausible reconstructed cohorts.

    Parameters
    ----------
    members
        Ensemble cohorts (:func:`load_members`), at least one.
    spec
        A validated spec with a ``[bayes]`` section.
    main
        The shipped cohort (default: loaded from ``spec.cohort``).
    n_draws, seed
        See :func:`cohort_quantities`.

    Returns
    -------
    pandas.DataFrame
        ``endpoint, family, prior, quantity, main, min, median, max``: ``main`` on the main
        cohort, ``min``/``median``/``max`` over the members, all from exact posteriors.

    Examples
    --------
    >>> spec = load_spec("models/cao2025.toml")
    >>> table = ensemble_sensitivity(load_members(spec), spec)  # doctest: +SKIP
    >>> table.query("quantity == 'P(HR < 1)'")  # doctest: +SKIP
    """
    if not members:
        raise BridgeBayesError(f"{spec.path}: no ensemble members to compare (data.ensemble)")
    if main is None:
        main = load_cohort(spec.cohort, arms=spec.arms, time_unit=spec.time_unit)
    reference = cohort_quantities(main, spec, n_draws=n_draws, seed=seed)
    values = pd.concat([cohort_quantities(m, spec, n_draws=n_draws, seed=seed).assign(member=j)
                        for j, m in enumerate(members)], ignore_index=True)
    spread = (values.groupby(_KEYS, sort=False)["value"].agg(["min", "median", "max"])
              .reset_index())
    table = reference.rename(columns={"value": "main"}).merge(spread, on=_KEYS, how="left",
                                                              validate="one_to_one")
    return table[list(SUMMARY_COLUMNS)]

