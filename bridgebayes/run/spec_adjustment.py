"""The ``[adjustment]`` section: the target trial, confounding adjustment and bias analysis of a
non-randomised comparison (:mod:`bridgebayes.run.adjustment`; keys in ``docs/spec.md``).

The covariates are those of ``[bayes] covariates`` (declared in ``[covariates]``): every
family is fitted with them, and the g-computation standardises each fit.  Without covariates
(the seed study) no adjustment is possible and the section holds the bias analysis only.
"""

from __future__ import annotations

import math
from pathlib import Path

from bridgebayes.run.spec_model import (
    ESTIMANDS,
    AdjustmentSpec,
    BayesSpec,
    DataSpec,
    PrimarySpec,
    TargetTrial,
)
from bridgebayes.run.spec_values import key_error, names, numbers

__all__ = ["KEYS", "adjustment_section"]

WEIGHTINGS = ("ipw", "overlap")

KEYS: dict[str, type | tuple] = {
    "endpoint": str, "family": str, "prior": str, "estimands": list, "propensity": bool,
    "weighting": str, "trim": float, "bias_prior": dict, "tipping_thresholds": list,
    "max_bias": float, "draws": int, "common_outcome": bool, "target_trial": dict}
TARGET_TRIAL_KEYS = ("population", "time_zero", "strategies", "estimand", "selection")


def _is(value: object, want: type) -> bool:
    if want is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, want) and not (want is int and isinstance(value, bool))


def _choice(path: Path, key: str, value: object, allowed: tuple[str, ...] | list[str]) -> str:
    if value not in allowed:
        raise key_error(path, key, f"one of {list(allowed)}", value)
    return str(value)


def _target_trial(path: Path, table: dict, data: DataSpec) -> TargetTrial:
    if bad := sorted(set(table) - set(TARGET_TRIAL_KEYS)):
        raise key_error(path, "adjustment.target_trial", f"keys from {list(TARGET_TRIAL_KEYS)}",
                        bad)
    for key, value in table.items():
        if not (isinstance(value, str) and value.strip()):
            raise key_error(path, f"adjustment.target_trial.{key}", "a non-empty string", value)
    for key in ("population", "strategies", "estimand"):
        if key not in table:
            raise key_error(path, f"adjustment.target_trial.{key}", "a statement (the target "
                            "trial: population, strategies, estimand)")
    return TargetTrial(population=table["population"],
                       time_zero=table.get("time_zero", data.time_zero),
                       strategies=table["strategies"], estimand=table["estimand"],
                       selection=table.get("selection", ""))


def adjustment_section(path: Path, table: dict, bayes: BayesSpec | None,
                       primary: PrimarySpec | None, data: DataSpec) -> AdjustmentSpec:
    """``[adjustment]``: checked keys, defaults from ``[primary]`` (or the first endpoint,
    family and prior of ``[bayes]``)."""
    if bayes is None:
        raise key_error(path, "adjustment", "a [bayes] section (adjustment and bias analysis "
                        "work on its fits)", "no [bayes]")
    for key in sorted(set(table) - set(KEYS)):
        raise key_error(path, f"adjustment.{key}", f"a key from {sorted(KEYS)}", key)
    for key, value in table.items():
        if not _is(value, KEYS[key]):
            raise key_error(path, f"adjustment.{key}", f"a {KEYS[key].__name__}", value)
    if "target_trial" not in table:
        raise key_error(path, "adjustment.target_trial", "a table (population, time_zero, "
                        "strategies, estimand, selection)")
    endpoint = _choice(path, "adjustment.endpoint", table.get(
        "endpoint", primary.endpoint if primary else bayes.endpoints[0]), bayes.endpoints)
    family = _choice(path, "adjustment.family", table.get(
        "family", primary.family if primary else bayes.families[0]), bayes.families)
    prior = _choice(path, "adjustment.prior", table.get(
        "prior", primary.prior if primary and primary.endpoint == endpoint
        else bayes.priors[endpoint][0]), bayes.priors[endpoint])
    estimands = names(path, "adjustment.estimands", table.get("estimands", list(ESTIMANDS)),
                      list(ESTIMANDS), what="estimands")
    weighting = _choice(path, "adjustment.weighting", table.get("weighting", "ipw"), WEIGHTINGS)
    trim = float(table.get("trim", 0.0))
    if not 0 <= trim < 0.5:
        raise key_error(path, "adjustment.trim", "a propensity bound in [0, 0.5)", trim)
    bias = dict(table.get("bias_prior", {}))
    if bad := sorted(set(bias) - {"mu", "sigma"}):
        raise key_error(path, "adjustment.bias_prior", "keys mu, sigma (Normal on the log HR)",
                        bad)
    mu, sigma = bias.get("mu", 0.0), bias.get("sigma", 0.2)
    if not (_is(mu, float) and math.isfinite(mu)):
        raise key_error(path, "adjustment.bias_prior.mu", "a finite number", mu)
    if not (_is(sigma, float) and math.isfinite(sigma) and sigma > 0):
        raise key_error(path, "adjustment.bias_prior.sigma", "a finite number > 0", sigma)
    thresholds = numbers(path, "adjustment.tipping_thresholds",
                         table.get("tipping_thresholds", [0.8, 0.5]), positive=True)
    if any(c >= 1 for c in thresholds):
        raise key_error(path, "adjustment.tipping_thresholds", "probabilities in (0, 1)",
                        list(thresholds))
    max_bias = float(table.get("max_bias", 1.5))
    if not (math.isfinite(max_bias) and max_bias > 0):
        raise key_error(path, "adjustment.max_bias", "a bias on the log HR > 0", max_bias)
    draws = table.get("draws", 1000)
    if draws < 100:
        raise key_error(path, "adjustment.draws", "an integer >= 100", draws)
    return AdjustmentSpec(
        target_trial=_target_trial(path, table["target_trial"], data), endpoint=endpoint,
        family=family, prior=prior, estimands=estimands,
        propensity=table.get("propensity", True), weighting=weighting, trim=trim,
        bias_mu=float(mu), bias_sigma=float(sigma), tipping_thresholds=thresholds,
        max_bias=max_bias, draws=int(draws), common_outcome=table.get("common_outcome", True))
