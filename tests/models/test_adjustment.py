"""Bayesian g-computation (models/adjustment.py) against the synthetic cohort's quadrature
truth, its NUTS recovery, and an independent maximum-likelihood g-formula (lifelines)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simulation import confounded_generator

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.survival_table import load_survival_cohort
from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.fit import fit
from bridgebayes.models import adjustment
from bridgebayes.models.families import WeibullPH

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "examples"



GEN = confounded_generator()
TRUTH = json.loads((EXAMPLES / "confounded_truth.json").read_text())["truth"]


def _true_draws() -> dict[str, np.ndarray]:
    return {"log_hr": np.array([GEN.LOG_HR]), "k": np.array([GEN.SHAPE]),
            "lam": np.array([GEN._lam()]),
            "beta": np.array([[GEN.GAMMA["severity"], GEN.GAMMA["high_risk"]]]),
            "covariate_center": np.zeros(2), "covariate_scale": np.ones(2)}


@pytest.mark.parametrize("estimand", ["ate", "att"])
def test_standardisation_at_the_true_parameters_equals_quadrature(estimand):
    # the population as quadrature nodes (severity) x levels (high_risk), weighted by their
    # probability (ATT: times the propensity): the standardised curve is then the truth
    nodes, wts = np.polynomial.hermite_e.hermegauss(80)
    rows, weights = [], []
    for high, p in ((0, 1 - GEN.P_HIGH_RISK), (1, GEN.P_HIGH_RISK)):
        w = wts / wts.sum() * p
        if estimand == "att":
            w = w / (1 + np.exp(-(GEN.PS["intercept"] + GEN.PS["severity"] * nodes
                                  + GEN.PS["high_risk"] * high)))
        rows.append(np.column_stack([nodes, np.full(nodes.size, high)]))
        weights.append(w)
    design, w = np.vstack(rows), np.concatenate(weights)
    family = WeibullPH(covariates=("severity", "high_risk=yes"))
    s = adjustment.marginal_survival(family, _true_draws(), design, (w / w.sum())[None, :])
    for arm, name in ((0, "control"), (1, "treated")):
        got = s(np.array([12.0, 24.0]), arm)[0]
        want = [TRUTH[estimand][f"survival_{t}_{name}"] for t in (12, 24)]
        assert np.allclose(got, want, rtol=1e-10)


def test_bootstrap_weights_and_errors():
    rng = np.random.default_rng(0)
    arm = np.array([0, 1, 1, 0, 1])
    w = adjustment.bootstrap_weights(arm, 20_000, estimand="ate", rng=rng)
    assert np.allclose(w.sum(axis=1), 1) and np.allclose(w.mean(axis=0), 0.2, atol=0.003)
    att = adjustment.bootstrap_weights(arm, 10, estimand="att", rng=rng)
    assert np.all(att[:, arm == 0] == 0)
    with pytest.raises(BridgeBayesError, match="estimand"):
        adjustment.bootstrap_weights(arm, 1, estimand="atc", rng=rng)
    with pytest.raises(BridgeBayesError, match="needs a model fitted with covariates"):
        adjustment.marginal_survival(WeibullPH(), _true_draws(), np.zeros((1, 2)),
                                     np.ones((1, 1)))


def _rmst_difference(survival, tau: float, points: int = 481) -> np.ndarray:
    grid = np.linspace(0.0, tau, points)
    return np.trapezoid(survival(grid, 1) - survival(grid, 0), grid, axis=1)


def _confounded():
    return load_survival_cohort(
        EXAMPLES / "confounded_cohort.csv", arms=("control", "treated"), endpoint="os",
        duration_col="months", id_col="id",
        covariates={"severity": "numeric", "high_risk": "categorical"}).endpoint("os")


SMALL = SamplerSettings(chains=2, draws=500, tune=500)


@pytest.mark.parametrize("family", [
    "weibull", pytest.param("piecewise_exponential", marks=pytest.mark.slow)])  # pem: 40 s
def test_g_computation_recovers_the_marginal_truth_where_the_crude_comparison_fails(family):
    from bridgebayes.models.families import get_family

    data = _confounded()
    adjusted = fit(data, get_family(family)(covariates=("severity", "high_risk=yes")),
                   seed=11, sampler=SMALL)
    draws, n = adjustment.thin_draws(adjusted.draws(), list(adjusted.idata.posterior.data_vars),
                                     chains=2, at_most=500)
    design = data.covariates[["severity", "high_risk=yes"]].to_numpy(float)
    truth = TRUTH["ate"]["rmst_difference_24"]
    w = adjustment.bootstrap_weights(data.arm, n, estimand="ate",
                                     rng=np.random.default_rng(2))
    diff = _rmst_difference(adjustment.marginal_survival(adjusted.family, draws, design, w), 24)
    lo, hi = np.quantile(diff, [0.025, 0.975])
    assert lo < truth < hi
    crude = fit(data, get_family(family)(), seed=11, sampler=SMALL)
    d = crude.draws()
    crude_diff = _rmst_difference(lambda t, a: crude.family.survival(d, t, a), 24)
    assert np.quantile(crude_diff, 0.975) < truth  # visibly biased: the truth is outside
    assert np.median(crude_diff) < 0 < np.median(diff)  # the crude comparison flips the sign


def _ml_g_formula(frame: pd.DataFrame, columns: list[str], tau: float) -> float:
    """Weibull PH (= AFT) maximum likelihood (lifelines), each patient's survival under both
    arms averaged over the cohort, RMST difference by the trapezoid rule."""
    from lifelines import WeibullAFTFitter

    model = WeibullAFTFitter().fit(frame[["T", "E", "arm", *columns]], "T", "E")
    grid = np.linspace(0.0, tau, 481)
    s = {a: model.predict_survival_function(frame.assign(arm=a), times=grid).to_numpy()
         .mean(axis=1) for a in (0, 1)}
    return float(np.trapezoid(s[1] - s[0], grid))


def test_gbsg2_marginal_rmst_matches_the_maximum_likelihood_g_formula():
    kinds = {"age": "numeric", "menostat": "categorical", "tsize": "numeric",
             "tgrade": "categorical", "pnodes": "numeric", "progrec": "numeric",
             "estrec": "numeric"}
    cohort = load_survival_cohort(ROOT / "data" / "public" / "gbsg2.csv",
                                  arms=("no hormone therapy", "hormone therapy"),
                                  endpoint="rfs", duration_col="days", id_col="id",
                                  time_unit="days", covariates=kinds)
    data = cohort.endpoint("rfs")
    columns = list(cohort.design_columns(list(kinds)))
    family = WeibullPH(covariates=tuple(columns), beta_sigma=10.0, log_hr_sigma=10.0)
    posterior = fit(data, family, seed=5, sampler=SamplerSettings(chains=2, draws=1000,
                                                                  tune=1000))
    draws, n = adjustment.thin_draws(posterior.draws(),
                                     list(posterior.idata.posterior.data_vars), chains=2,
                                     at_most=1000)
    design = data.covariates[columns].to_numpy(float)
    tau = 3 * 365.25
    w = adjustment.bootstrap_weights(data.arm, n, estimand="ate", rng=np.random.default_rng(3))
    # 121 points: the trapezoid rule's error on this smooth difference is far below 0.01 SE,
    # and 686 patients x 1000 draws x 481 points would take half a minute
    bayes = float(np.mean(_rmst_difference(
        adjustment.marginal_survival(posterior.family, draws, design, w), tau, points=121)))
    frame = pd.DataFrame(design, columns=[c.replace("=", "_") for c in columns]).assign(
        T=np.asarray(data.time, float), E=np.asarray(data.event), arm=np.asarray(data.arm))
    names = [c.replace("=", "_") for c in columns]
    ml = _ml_g_formula(frame, names, tau)
    rng = np.random.default_rng(4)
    boot = [_ml_g_formula(frame.iloc[rng.integers(0, len(frame), len(frame))]
                          .reset_index(drop=True), names, tau) for _ in range(20)]
    se = float(np.std(boot, ddof=1))
    assert abs(bayes - ml) < 0.1 * se, (bayes, ml, se)
