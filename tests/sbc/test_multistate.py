"""SBC of the competing-risks and illness–death models: simulators, fixed-scale priors in the
library functions, the smoke SBC (exact path, 200 simulations per model), a few NUTS ones and
negative controls.

The release run (1000 simulations per model and scenario, 100 NUTS ones) is in
``tests/sbc/test_release.py``; its report is ``docs/validation.md``.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy.stats import gamma, kstest

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.competing import exact_competing_risks
from bridgebayes.models.families import WeibullPH
from bridgebayes.models.illness_death import (
    IllnessDeathModel,
    exact_illness_death,
    illness_death_from_times,
    transition_data,
)
from bridgebayes.sbc.loop import run_sbc
from bridgebayes.sbc.models import Scenario, get_model, get_scenario

SEED = 20261124
UNCENSORED = Scenario("none", 3000, accrual=0.0, analysis=1e300, cuts=(6.0, 12.0))


# --- simulators ------------------------------------------------------------------------------

def test_competing_simulator_follows_the_cause_specific_hazards():
    model = get_model("competing")
    truth = {"relapse": {"log_hr": np.array([-0.7]), "lambda": np.array([[0.06, 0.03, 0.01]])},
             "nrm": {"log_hr": np.array([0.4]), "lambda": np.array([[0.01, 0.02, 0.02]])}}
    data = model.simulate(truth, UNCENSORED, np.random.default_rng(SEED))
    assert set(np.unique(data.event)) == {1, 2}
    for arm in (0, 1):
        rates = np.array([truth[c]["lambda"][0] * np.exp(truth[c]["log_hr"][0] * arm)
                          for c in ("relapse", "nrm")])
        total = rates.sum(axis=0)

        def cdf(t, total=total):  # first event of either cause: piecewise exponential
            edges = np.array([0.0, 6.0, 12.0, np.inf])
            cum = np.sum(total[None, :] * np.clip(np.asarray(t)[:, None] - edges[:-1], 0,
                                                  np.diff(edges)), axis=1)
            return 1 - np.exp(-cum)

        t = data.time[data.arm == arm]
        assert kstest(t, lambda x, f=cdf: f(np.atleast_1d(x))).pvalue > 0.01
        # first interval: the cause of an event is relapse with probability h1 / (h1 + h2)
        early = (data.arm == arm) & (data.time < 6.0)
        share = np.mean(data.event[early] == 1)
        expected = rates[0, 0] / total[0]
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / early.sum())


def test_illness_death_simulator_follows_the_transitions():
    model = get_model("illness_death")
    k, lam, log_hr = np.array([1.3, 0.8, 1.1]), np.array([0.01, 0.005, 0.1]), np.array([-0.5,
                                                                                    0.3, 0.2])
    truth = {"log_hr": log_hr[None], "k": k[None], "log_lam": np.log(lam)[None]}
    data = model.simulate(truth, UNCENSORED, np.random.default_rng(SEED))
    assert set(np.unique(data.first_event)) == {1, 2}
    r = data.relapsed
    assert data.death_after_relapse[r].all() and not data.death_after_relapse[~r].any()
    for arm in (0, 1):
        rate = lam * np.exp(log_hr * arm)
        first = data.time[data.arm == arm]
        assert kstest(first, lambda t, a=rate: 1 - np.exp(-a[0] * t ** k[0] - a[1] * t ** k[1])
                      ).pvalue > 0.01
        sojourn = data.sojourn[r & (data.arm == arm)]  # clock reset: Weibull from relapse
        assert kstest(sojourn, lambda s, a=rate: 1 - np.exp(-a[2] * s ** k[2])).pvalue > 0.01


def test_illness_death_simulator_censors_the_sojourn_at_the_analysis():
    model = get_model("illness_death")
    fixed = Scenario("fixed", 2000, accrual=0.0, analysis=12.0, cuts=(6.0,))  # censor = 12
    truth = {"log_hr": np.zeros((1, 3)), "k": np.ones((1, 3)),
             "log_lam": np.log([[0.05, 0.02, 0.1]])}
    data = model.simulate(truth, fixed, np.random.default_rng(SEED))
    r = data.relapsed
    end = data.time[r] + data.sojourn[r]  # calendar time of death or censoring after relapse
    assert np.all(end <= 12.0 * (1 + 1e-12))
    alive = r & (data.death_after_relapse == 0)
    np.testing.assert_allclose(data.time[alive] + data.sojourn[alive], 12.0)
    assert np.all(data.time[data.first_event == 0] == 12.0)
    assert alive.any() and (r & (data.death_after_relapse == 1)).any()


def test_sbc_models_check_their_settings():
    from bridgebayes.sbc.multistate import CompetingSBCModel, IllnessDeathSBCModel

    with pytest.raises(BridgeBayesError, match="scales"):
        CompetingSBCModel(scales=(0.1,))
    with pytest.raises(BridgeBayesError, match="a0"):
        CompetingSBCModel(a0=0.0)
    with pytest.raises(BridgeBayesError, match="mean_time"):
        IllnessDeathSBCModel(scales=(1.0, 2.0, -3.0))


def test_prior_draws_of_the_multistate_models_follow_their_priors():
    rng, scenario = np.random.default_rng(3), get_scenario("small")
    model = get_model("illness_death")
    draws = [model.draw_prior(scenario, rng) for _ in range(1500)]
    for j, m in enumerate(model.scales):
        k = np.array([d["k"][0, j] for d in draws])
        cum = np.array([np.exp(d["log_lam"][0, j]) * m ** d["k"][0, j] for d in draws])
        assert kstest(np.log(k), "norm").pvalue > 0.01
        assert kstest(cum, gamma(1.0).cdf).pvalue > 0.01
    competing = get_model("competing")
    lam = np.array([competing.draw_prior(scenario, rng)["nrm"]["lambda"][0]
                    for _ in range(1000)])
    assert kstest(lam.ravel(), gamma(1.0, scale=1 / 48).cdf).pvalue > 0.01


# --- fixed prior scales in the library functions ---------------------------------------------

@pytest.fixture(scope="module")
def histories():
    rng = np.random.default_rng(11)
    truth = get_model("illness_death").draw_prior(get_scenario("large"), rng)
    truth = truth | {"k": np.array([[1.2, 0.9, 1.0]]),
                     "log_lam": np.log([[0.02, 0.01, 0.1]])}
    return get_model("illness_death").simulate(truth, get_scenario("large"), rng)


def test_fixed_scales_at_the_data_means_equal_the_default_oracle(histories):
    parts = transition_data(histories)
    means = tuple(float(parts[t].time.mean()) for t in parts)
    fixed = exact_illness_death(histories, IllnessDeathModel(mean_time=means), n_draws=300,
                                rng=5)
    default = exact_illness_death(histories, IllnessDeathModel(), n_draws=300, rng=5)
    for name in ("log_hr", "k", "lam"):
        np.testing.assert_allclose(fixed.draws[name], default.draws[name], rtol=1e-9)


def test_fixed_scales_change_the_exact_and_pymc_posteriors(histories):
    model = IllnessDeathModel(mean_time=(24.0, 48.0, 6.0))
    post = exact_illness_death(histories, model, n_draws=300, rng=5)
    default = exact_illness_death(histories, IllnessDeathModel(), n_draws=300, rng=5)
    assert not np.allclose(post.draws["lam"], default.draws["lam"])
    pm_model = model.build_model(histories)
    np.testing.assert_allclose(pm_model["mean_time"].get_value(), [24.0, 48.0, 6.0])


def test_pymc_logp_without_relapse_equals_prior_plus_state0_likelihood():
    data = illness_death_from_times(arm=[0, 1, 1], relapse=[np.nan] * 3,
                                    death=[4.0, np.nan, 2.0], followup=[4.0, 9.0, 2.0])
    model = IllnessDeathModel(mean_time=(12.0, 24.0, 6.0), a0=1.0)
    with pytest.raises(BridgeBayesError, match="no relapse"):
        IllnessDeathModel().build_model(data)
    pm_model = model.build_model(data)
    point = {"log_k": np.array([0.1, -0.2, 0.3]),
             "cumhaz_mean_time_log__": np.log([0.8, 1.5, 0.5]),
             "log_hr": np.array([-0.3, 0.2, 0.1])}
    got = pm_model.compile_logp(sum=True)(point)
    k, cum, b = np.exp(point["log_k"]), np.array([0.8, 1.5, 0.5]), point["log_hr"]
    log_lam = np.log(cum) - k * np.log([12.0, 24.0, 6.0])
    parts = transition_data(data)
    like = sum(WeibullPH().log_likelihood({"log_hr": b[[j]], "k": k[[j]],
                                           "log_lam": log_lam[[j]],
                                           "lam": np.exp(log_lam[[j]])}, parts[t]).sum()
               for j, t in enumerate(("relapse", "nrm")))
    from scipy.stats import norm

    prior = (norm.logpdf(point["log_k"]).sum() + norm.logpdf(b).sum()
             + np.sum(gamma(1.0).logpdf(cum) + np.log(cum)))  # Jacobian of the log transform
    assert got == pytest.approx(like + prior, rel=1e-9)


def test_exact_without_relapse_draws_the_prior_for_death_after_relapse():
    data = illness_death_from_times(arm=[0, 1] * 10, relapse=[np.nan] * 20,
                                    death=[5.0, np.nan] * 10, followup=[5.0, 12.0] * 10)
    model = IllnessDeathModel(mean_time=(12.0, 24.0, 6.0), a0=1.0)
    post = exact_illness_death(data, model, n_draws=4000, rng=2)
    k = post.draws["k"][:, 2]
    assert kstest(np.log(k), "norm").pvalue > 0.001
    assert kstest(post.draws["log_hr"][:, 2], "norm").pvalue > 0.001
    assert kstest(post.draws["lam"][:, 2] * 6.0 ** k, gamma(1.0).cdf).pvalue > 0.001


def test_illness_death_model_checks_its_scales():
    with pytest.raises(BridgeBayesError, match="mean_time"):
        IllnessDeathModel(mean_time=(1.0, 2.0))
    with pytest.raises(BridgeBayesError, match="post_relapse_death"):
        IllnessDeathModel(mean_time=(1.0, 2.0, -1.0))
    with pytest.raises(BridgeBayesError, match="fixed prior scales"):
        IllnessDeathModel().prior_draws("nrm", 3, np.random.default_rng(0))


def test_exact_competing_risks_with_fixed_scales(histories):
    data = get_model("competing").simulate(
        get_model("competing").draw_prior(get_scenario("large"), np.random.default_rng(4)),
        get_scenario("large"), np.random.default_rng(5))
    from bridgebayes.models.competing import cause_specific_data

    rates = {c: cause_specific_data(data, i).event.sum() / data.time.sum()
             for i, c in enumerate(data.causes, start=1)}
    cuts = dict.fromkeys(data.causes, (6.0, 12.0))
    a = exact_competing_risks(data, cuts=cuts, crude_rate=rates, a0=0.1, rng=1, n_draws=200)
    b = exact_competing_risks(data, cuts=cuts, rng=1, n_draws=200)
    for ma, mb in zip(a.models, b.models, strict=True):
        np.testing.assert_allclose(ma.draws["lambda"], mb.draws["lambda"], rtol=1e-9)
    c = exact_competing_risks(data, cuts=cuts, crude_rate={"relapse": 1.0}, a0=1.0, rng=1,
                              n_draws=200)
    assert not np.allclose(c.models[0].draws["lambda"], b.models[0].draws["lambda"])
    with pytest.raises(BridgeBayesError, match="crude_rate: unknown cause"):
        exact_competing_risks(data, crude_rate={"gvhd": 1.0}, rng=1)
    with pytest.raises(BridgeBayesError, match="mean_time: not a prior scale of family 'pem'"):
        exact_competing_risks(data, mean_time={"relapse": 24.0}, rng=1)
    weibull = exact_competing_risks(data, family="weibull", mean_time={"nrm": 48.0}, a0=1.0,
                                    rng=1, n_draws=200)
    default = exact_competing_risks(data, family="weibull", a0=1.0, rng=1, n_draws=200)
    np.testing.assert_allclose(weibull.models[0].draws["k"], default.models[0].draws["k"])
    assert not np.allclose(weibull.models[1].draws["k"], default.models[1].draws["k"])


# --- smoke SBC -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smoke():
    return {name: run_sbc(name, "small", n_sims=200, seed=SEED)
            for name in ("competing", "illness_death")}


@pytest.mark.parametrize("name", ["competing", "illness_death"])
def test_smoke_sbc_of_the_multistate_models_is_calibrated(smoke, name):
    result = smoke[name]
    summary = result.summary()
    assert list(summary["quantity"]) == list(get_model(name).quantities(get_scenario("small")))
    assert (summary["p_value"] > 0.005).all(), summary
    assert result.prob_check()["p_value"] > 0.005
    assert summary["coverage95"].between(0.88, 1.0).all(), summary
    events = result.sims["events_reference"] + result.sims["events_treatment"]
    assert events.median() >= 5  # a0 = 1: mostly informative trials


def _narrow_competing(draws, rng):
    out = {}
    for cause, d in draws.items():
        beta = d["log_hr"]
        out[cause] = d | {"log_hr": beta.mean() + 0.4 * (beta - beta.mean())}
    return out


def _shift_k(draws, rng):
    return draws | {"k": draws["k"] * np.exp(0.3)}


@pytest.mark.parametrize(("name", "wrong", "quantity"), [
    ("competing", _narrow_competing, "log_hr[relapse]"),
    ("illness_death", _shift_k, "log_k[post_relapse_death]")])
def test_negative_controls_of_the_multistate_models(name, wrong, quantity):
    result = run_sbc(name, "small", n_sims=200, seed=SEED, transform_draws=wrong)
    summary = result.summary().set_index("quantity")
    assert summary.loc[quantity, "p_value"] < 0.005
    assert not result.passed()


@pytest.mark.parametrize("name", ["competing", "illness_death"])
def test_nuts_path_of_the_multistate_models(smoke, name):
    from bridgebayes.inference.fit import SamplerSettings

    nuts = SamplerSettings(chains=2, draws=500, tune=500)
    result = run_sbc(name, "small", n_sims=2, seed=SEED, method="nuts", nuts=nuts)
    exact = smoke[name]
    assert result.ranks["rank"].between(0, 99).all()
    assert list(result.ranks.query("sim == 0")["quantity"]) == list(
        exact.ranks.query("sim == 0")["quantity"])
    for col in ("events_reference", "events_treatment"):
        assert result.sims[col].tolist() == exact.sims[col].iloc[:2].tolist()
    assert (result.sims["ess_bulk_min"] > 50).all()
    diff = (result.sims["prob_hr_below_1"] - exact.sims["prob_hr_below_1"].iloc[:2]).abs()
    assert (diff < 0.12).all()


def test_pymc_model_builds_with_fixed_scales():
    d = illness_death_from_times(arm=[0, 1], relapse=[3.0, np.nan], death=[7.0, np.nan],
                                 followup=[7.0, 12.0])
    model = IllnessDeathModel(mean_time=(12.0, 24.0, 6.0)).build_model(d)
    assert isinstance(model, pm.Model)
    assert model["relapsed_index"].get_value().tolist() == [0]
