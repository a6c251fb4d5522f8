"""Propensity model, weights and overlap diagnostics against statsmodels, lifelines and hand
computation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.reference import propensity as ps

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gbsg2():
    d = pd.read_csv(ROOT / "data" / "public" / "gbsg2.csv")
    design = pd.DataFrame({"age": d["age"], "menostat=Post": (d["menostat"] == "Post") * 1.0,
                           "tsize": d["tsize"], "pnodes": d["pnodes"],
                           "tgrade=II": (d["tgrade"] == "II") * 1.0,
                           "tgrade=III": (d["tgrade"] == "III") * 1.0,
                           "progrec": d["progrec"], "estrec": d["estrec"]})
    return d, design.astype(float), (d["arm"] == "hormone therapy").to_numpy(int)


def test_logistic_model_matches_statsmodels(gbsg2):
    import statsmodels.api as sm

    _, design, arm = gbsg2
    ours = ps.propensity_model(design, arm)
    ref = sm.Logit(arm, sm.add_constant(design)).fit(disp=0, tol=1e-12)
    assert np.allclose(ours.coefficients, ref.params.to_numpy(), rtol=1e-6, atol=1e-9)
    assert np.allclose(ours.scores, ref.predict(), rtol=1e-8)


def test_perfect_separation_and_constant_covariates_are_named():
    arm = np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(BridgeBayesError, match="'dose' separates the arms perfectly"):
        ps.propensity_model(pd.DataFrame({"dose": [1.0, 2, 3, 4, 5, 6]}), arm)
    with pytest.raises(BridgeBayesError, match="'site' is constant"):
        ps.propensity_model(pd.DataFrame({"site": [1.0] * 6}), arm)


def test_weights_by_hand():
    e, a = np.array([0.2, 0.5, 0.8]), np.array([1, 0, 1])
    assert ps.propensity_weights(e, a).tolist() == pytest.approx([5.0, 2.0, 1.25])
    assert ps.propensity_weights(e, a, estimand="att").tolist() == pytest.approx([1, 1, 1])
    assert ps.propensity_weights(e, a, weighting="overlap").tolist() == pytest.approx(
        [0.8, 0.5, 0.2])
    assert ps.propensity_weights(e, a, trim=0.25).tolist() == pytest.approx([0, 2.0, 0])


def test_ess_and_smd_by_hand():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    assert ps.effective_sample_size(w) == pytest.approx(100 / 30)
    x = np.array([1.0, 2.0, 3.0, 5.0, 4.0, 8.0])
    arm = np.array([0, 0, 0, 1, 1, 1])
    wts = np.array([1.0, 1.0, 2.0, 1.0, 3.0, 1.0])
    t = ps.balance_table(pd.DataFrame({"x": x}), arm, wts).iloc[0]
    sd = np.sqrt((np.var([5, 4, 8], ddof=1) + np.var([1, 2, 3], ddof=1)) / 2)  # (13/3+1)/2
    assert t["smd_unweighted"] == pytest.approx((17 / 3 - 2) / sd, rel=1e-12)
    assert t["smd_weighted"] == pytest.approx(((5 + 12 + 8) / 5 - (1 + 2 + 6) / 4) / sd,
                                              rel=1e-12)


def test_weighting_balances_gbsg2(gbsg2):
    _, design, arm = gbsg2
    scores = ps.propensity_model(design, arm).scores
    table = ps.balance_table(design, arm, ps.propensity_weights(scores, arm))
    assert table["smd_unweighted"].abs().max() > 0.3  # menopausal status, age
    assert table["smd_weighted"].abs().max() < 0.05  # a logistic model's IPW balances means


def test_weighted_km_and_rmst_match_lifelines(gbsg2):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    d, _, _ = gbsg2
    w = np.random.default_rng(5).uniform(0.2, 3.0, len(d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns about non-integer weights
        km = KaplanMeierFitter().fit(d["days"], d["event"], weights=w)
    at = [365.0, 1000.0, 1800.0]
    ours = ps.weighted_survival_at(d["days"], d["event"], w, at)
    assert np.allclose(ours, km.survival_function_at_times(at).to_numpy(), rtol=1e-10)
    assert ps.weighted_rmst(d["days"], d["event"], w, 1500.0) == pytest.approx(
        restricted_mean_survival_time(km, t=1500.0), rel=1e-8)


def test_ipw_cox_with_integer_weights_is_cox_on_replicated_rows(gbsg2):
    from lifelines import CoxPHFitter

    d, _, arm = gbsg2
    w = np.random.default_rng(6).integers(1, 4, len(d)).astype(float)
    ours = ps.ipw_cox(d["days"], d["event"], arm, w)
    rep = pd.DataFrame({"T": np.repeat(d["days"], w.astype(int)),
                        "E": np.repeat(d["event"], w.astype(int)),
                        "arm": np.repeat(arm, w.astype(int))})
    ref = CoxPHFitter().fit(rep, "T", "E")
    # Efron's tie correction treats a patient's replicas as tied events and a weight as one
    # event: 2e-4 apart here; the weights move the HR by far more than that
    assert ours["hr"] == pytest.approx(float(np.exp(ref.params_["arm"])), rel=1e-3)
    plain = ps.ipw_cox(d["days"], d["event"], arm, np.ones(len(d)))["hr"]
    assert abs(plain - ours["hr"]) > 0.01
    assert ours["lower"] < ours["hr"] < ours["upper"] and ours["se_log_hr"] > 0
