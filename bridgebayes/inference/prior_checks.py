"""What the priors imply and how much they weigh: prior predictive summaries and
power-scaling sensitivity (re-exported by :mod:`bridgebayes.inference.checks`).

The prior's weight in events (Schoenfeld, ELIR) is :mod:`bridgebayes.inference.prior_weight`;
the prior-data conflict check and the calibration of a decision rule at the study's events
are :mod:`bridgebayes.inference.prior_conflict`."""

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
from bridgebayes.inference.driver import sample_prior
from bridgebayes.inference.fit import Fit
from bridgebayes.models.families import SurvivalFamily, posterior_draws
from bridgebayes.summaries.decide import decide
from bridgebayes.summaries.decision import table as decision_table

__all__ = ["SENSITIVITY_THRESHOLD", "PriorPredictive", "prior_predictive", "prior_sensitivity"]

#: Power-scaling sensitivity (CJS distance per unit log-scale) at or above which a component
#: counts as influential (the threshold of priorsense and ArviZ).
SENSITIVITY_THRESHOLD = 0.05


@dataclass(frozen=True)
class PriorPredictive:
    """What the priors alone imply.

    Attributes
    ----------
    table
        A decision table (:mod:`bridgebayes.summaries.decision`) computed from prior draws
        (HR median and 95% interval, P(HR < c), landmark S(t), RMST, median survival) plus
        ``prob_survival_between`` rows, P(0.01 < S(t) < 0.99) per arm and landmark (mass
        away from the extremes).
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

    Draws the model's priors (:func:`~bridgebayes.inference.driver.sample_prior`; the
    likelihood potential is ignored, as it should be) and summarises them with
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
    >>> pp.table.query("quantity == 'survival' and time == 12")  # doctest: +SKIP
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise BridgeBayesError(f"n: expected an integer >= 2, got {n!r}")
    model = family.build_model(data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        prior = sample_prior(model, draws=n, seed=rng)
    groups = {"posterior": prior.prior}
    if "constant_data" in prior.groups():
        groups["constant_data"] = prior.constant_data
    draws = posterior_draws(az.InferenceData(**groups))
    decision = decide(draws["log_hr"], survival=lambda t, arm: family.survival(draws, t, arm),
                      arms=data.arms, landmarks=landmarks, hr_thresholds=hr_thresholds,
                      rmst_tau=rmst_tau)
    at = np.asarray(landmarks, float)
    rows = [{"quantity": "prob_survival_between", "arm": data.arms[a], "time": t,
             "threshold": 0.01, "threshold_upper": 0.99,
             "probability": float(np.mean((s > 0.01) & (s < 0.99)))}
            for a in (0, 1) for t, s in zip(at, family.survival(draws, at, a).T, strict=True)]
    table = pd.concat([decision.table, decision_table(rows)], ignore_index=True)
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
        family's baseline parameters (one row per element, e.g. ``lambda[(0, 6]]``), its
        other effect parameters (``log_hr_interval`` of a time-varying PEM) and covariate
        effects; ``prior`` scales the joint prior, ``log_hr_prior_only`` (log_hr
        row) only the log-HR prior, which the log_hr diagnosis uses; ``diagnosis``:
        ``"prior and likelihood both influential"`` (both sensitive; Kallioinen et al.
        call it a potential prior-data conflict, but the run's one conflict flag is the prior
        predictive check of :mod:`bridgebayes.inference.prior_conflict`, which this
        diagnosis is read beside), ``"strong prior / weak likelihood"`` (only the prior),
        else ``"-"``.

    Examples
    --------
    >>> prior_sensitivity(result).query("parameter == 'log_hr'")  # doctest: +SKIP
    """
    fit.add_log_likelihood()
    idata = az.InferenceData(posterior=fit.idata.posterior,
                             log_likelihood=fit.idata.log_likelihood)
    pm.compute_log_prior(idata, model=fit.family.build_model(fit.data), progressbar=False)
    # every parameter the family's functions read: the baseline and effect parameters
    # (e.g. the interval log HRs of a time-varying PEM), not only the baseline
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
            diagnosis = ("prior and likelihood both influential" if judged >= threshold and
                         lk >= threshold else
                         "strong prior / weak likelihood" if judged >= threshold else "-")
            rows.append({"parameter": label, "prior": p, "log_hr_prior_only": p_own,
                         "likelihood": lk, "diagnosis": diagnosis})
    return pd.DataFrame(rows)
