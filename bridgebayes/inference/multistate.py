"""NUTS fits of models with several hazards: competing risks and the illness–death model.

Both likelihoods factorise (over causes; over transitions), and the priors are independent,
so each hazard is an ordinary two-arm fit (:func:`bridgebayes.inference.fit.fit`, the one NUTS
driver with its compile cache, gate and retry) and the joint posterior pairs their draws by
index.  Transitions or causes with the same family structure share one compiled model.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.fit import Fit, FitWarning, fit
from bridgebayes.models.competing import (
    CauseModel,
    CompetingRisksPosterior,
    cause_specific_data,
    families_per_cause,
)
from bridgebayes.models.families import SurvivalFamily
from bridgebayes.models.illness_death import (
    IllnessDeathData,
    IllnessDeathModel,
    IllnessDeathPosterior,
    transition_data,
)
from bridgebayes.models.illness_death.posterior import prior_for_empty

__all__ = ["fit_competing_risks", "fit_illness_death", "quiet_fit"]


def quiet_fit(data, family: SurvivalFamily, *, seed: int, sampler: SamplerSettings) -> Fit:
    """:func:`~bridgebayes.inference.fit.fit` with the small-sample warnings silenced."""
    with warnings.catch_warnings():  # guardrails are per hazard; the caller reports the gate
        warnings.simplefilter("ignore", FitWarning)
        return fit(data, family, seed=seed, sampler=sampler)


def fit_competing_risks(data, families: SurvivalFamily | Mapping[str, SurvivalFamily], *,
                        seed: int, sampler: SamplerSettings | None = None
                        ) -> CompetingRisksPosterior:
    """Fit each cause-specific hazard with NUTS, one fit per cause.

    Parameters
    ----------
    data
        Competing-risks data (``cohort.endpoint("relapse_nrm")``).
    families
        One family for every cause, or cause label -> family (e.g. PEM for relapse,
        Weibull for NRM).
    seed
        Seed of the first cause; cause ``k`` uses ``seed + k - 1``.
    sampler
        NUTS settings; every cause gets the same number of draws.

    Returns
    -------
    CompetingRisksPosterior
        With ``fits`` (cause -> ``Fit``) and each cause's gate in ``models[k].gate_passed``.

    Examples
    --------
    >>> cr = fit_competing_risks(cohort.endpoint("relapse_nrm"), WeibullPH(),
    ...                          seed=1)  # doctest: +SKIP
    """
    per_cause = families_per_cause(data, families)
    sampler = sampler or SamplerSettings()
    models, fits = [], {}
    for code, (cause, family) in enumerate(per_cause.items(), start=1):
        result = quiet_fit(cause_specific_data(data, code), family, seed=seed + code - 1,
                            sampler=sampler)
        fits[cause] = result
        models.append(CauseModel(cause, family, result.draws(), result.gate.passed))
    return CompetingRisksPosterior(tuple(models), data.arms, fits, chains=sampler.chains)


def fit_illness_death(data: IllnessDeathData, model: IllnessDeathModel | None = None, *,
                      seed: int, sampler: SamplerSettings | None = None
                      ) -> IllnessDeathPosterior:
    """Fit the illness–death model with NUTS: one fit per transition, gated and retried.

    Parameters
    ----------
    data
        Histories (:func:`~bridgebayes.models.illness_death.illness_death_data`).
    model
        One family per transition (default Weibull with the families' default priors).
    seed
        Seed of the first transition; transition ``j`` uses ``seed + j``.
    sampler
        NUTS settings (``retry=False`` for quick looks).

    Returns
    -------
    IllnessDeathPosterior
        ``fits`` by transition; ``gate_passed`` if every fit passed.  A transition without
        patients at risk (no relapse) has its prior as posterior (fixed baseline scale
        needed), drawn with ``seed``.

    Examples
    --------
    >>> post = fit_illness_death(illness_death_data(cohort), seed=1)  # doctest: +SKIP
    >>> post.decide(landmarks=(12.0, 24.0))  # doctest: +SKIP
    """
    model = model or IllnessDeathModel()
    sampler = sampler or SamplerSettings()
    transitions = transition_data(data)
    # transitions without data first: one that cannot be drawn fails before any fit is run
    draws = {name: prior_for_empty(getattr(model, name), name, sampler.chains * sampler.draws,
                                   np.random.default_rng(seed))
             for name, one in transitions.items() if one.time.size == 0}
    fits = {}
    for j, (name, one) in enumerate(transitions.items()):
        if name not in draws:
            fits[name] = quiet_fit(one, getattr(model, name), seed=seed + j, sampler=sampler)
    draws = {name: draws[name] if name in draws else fits[name].draws() for name in transitions}
    passed = all(f.gate.passed for f in fits.values())
    return IllnessDeathPosterior(model, draws, data.arms, chains=sampler.chains,
                                 gate_passed=passed, fits=fits)
