"""SBC of the competing-risks and illness–death models: simulators, fixed-scale priors in the
library functions, the smoke SBC (exact path, 200 simulations per model: competing risks,
Weibull and piecewise-exponential illness–death), a few NUTS ones and negative controls.

The release run (1000 simulations per model and scenario, 100 NUTS ones) is in
``tests/sbc/test_release.py``; its report is ``docs/sbc.md``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import gamma, kstest, norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.competing import cause_specific_data, exact_competing_risks
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.illness_death import (
    TRANSITIONS,
    IllnessDeathModel,
    exact_illness_death,
    illness_death_from_times,
    transition_data,
)
from bridgebayes.sbc.loop import run_sbc
from bridgebayes.sbc.models import Scenario
from bridgebayes.sbc.multistate import IllnessDeathCalibration
from bridgebayes.sbc.registry import get_model, get_scenario

SEED = 20261124
UNCENSORED = Scenario("none", 3000, accrual=0.0, analysis=1e300, cuts=(6.0, 12.0))
MULTISTATE = ("competing_risks", "illness_death", "illness_death_pem")


def _pem_cdf(rates: np.ndarray, cuts: tuple[float, ...]):
    """CDF of a piecewise-exponential time with hazards ``rates`` on ``cuts`` (by hand)."""
    edges = np.array([0.0, *cuts, np.inf])

    def cdf(t):
        t = np.atleast_1d(np.asarray(t, float))
        cum = np.sum(rates[None, :] * np.clip(t[:, None] - edges[:-1], 0, np.diff(edges)),
                     axis=1)
        return 1 - np.exp(-cum)
    return cdf


def _weibull(log_hr, k, lam) -> dict[str, dict[str, np.ndarray]]:
    """One Weibull draw per transition."""
    return {name: {"log_hr": np.array([log_hr[j]]), "k": np.array([k[j]]),
                   "lam": np.array([lam[j]]), "log_lam": np.log([lam[j]])}
            for j, name in enumerate(TRANSITIONS)}


# --- simulators ------------------------------------------------------------------------------

def test_competing_simulator_follows_the_cause_specific_hazards():
    model = get_model("competing_risks")
    truth = {"relapse": {"log_hr": np.array([-0.7]), "lambda": np.array([[0.06, 0.03, 0.01]])},
             "nrm": {"log_hr": np.array([0.4]), "lambda": np.array([[0.01, 0.02, 0.02]])}}
    data = model.simulate(truth, UNCENSORED, np.random.default_rng(SEED))
    assert set(np.unique(data.event)) == {1, 2} and data.causes == ("relapse", "nrm")
    for arm in (0, 1):
        rates = np.array([truth[c]["lambda"][0] * np.exp(truth[c]["log_hr"][0] * arm)
                          for c in ("relapse", "nrm")])
        total = rates.sum(axis=0)
        t = data.time[data.arm == arm]  # first event of either cause: piecewise exponential
        assert kstest(t, _pem_cdf(total, (6.0, 12.0))).pvalue > 0.01
        # first interval: the cause of an event is relapse with probability h1 / (h1 + h2)
        early = (data.arm == arm) & (data.time < 6.0)
        share = np.mean(data.event[early] == 1)
        expected = rates[0, 0] / total[0]
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / early.sum())


def test_illness_death_simulator_follows_the_transitions():
    model = get_model("illness_death")
    k, lam, log_hr = np.array([1.3, 0.8, 1.1]), np.array([0.01, 0.005, 0.1]), np.array([-0.5,
                                                                                    0.3, 0.2])
    data = model.simulate(_weibull(log_hr, k, lam), UNCENSORED, np.random.default_rng(SEED))
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


def test_pem_illness_death_simulator_follows_each_transitions_cut_points():
    model = get_model("illness_death_pem")
    families = model.families(UNCENSORED)
    assert families["relapse"].cuts == (6.0, 12.0) and families["post_relapse_death"].cuts == (
        3.0,)
    truth = {"relapse": {"log_hr": np.array([-0.6]), "lambda": np.array([[0.04, 0.02, 0.01]])},
             "nrm": {"log_hr": np.array([0.3]), "lambda": np.array([[0.01, 0.03, 0.02]])},
             "post_relapse_death": {"log_hr": np.array([0.5]), "lambda": np.array([[0.3, 0.05]])}}
    data = model.simulate(truth, UNCENSORED, np.random.default_rng(SEED))
    r = data.relapsed
    assert r.any() and (data.first_event == 2).any() and data.death_after_relapse[r].all()
    for arm in (0, 1):
        rate = {c: truth[c]["lambda"][0] * np.exp(truth[c]["log_hr"][0] * arm) for c in truth}
        first = data.time[data.arm == arm]
        assert kstest(first, _pem_cdf(rate["relapse"] + rate["nrm"], (6.0, 12.0))).pvalue > 0.01
        sojourn = data.sojourn[r & (data.arm == arm)]  # on its own cut point, from relapse
        assert kstest(sojourn, _pem_cdf(rate["post_relapse_death"], (3.0,))).pvalue > 0.01


def test_illness_death_simulator_censors_the_sojourn_at_the_analysis():
    model = get_model("illness_death")
    fixed = Scenario("fixed", 2000, accrual=0.0, analysis=12.0, cuts=(6.0,))  # censor = 12
    truth = _weibull(np.zeros(3), np.ones(3), np.array([0.05, 0.02, 0.1]))
    data = model.simulate(truth, fixed, np.random.default_rng(SEED))
    r = data.relapsed
    end = data.time[r] + data.sojourn[r]  # calendar time of death or censoring after relapse
    assert np.all(end <= 12.0 * (1 + 1e-12))
    alive = r & (data.death_after_relapse == 0)
    np.testing.assert_allclose(data.time[alive] + data.sojourn[alive], 12.0)
    assert np.all(data.time[data.first_event == 0] == 12.0)
    assert alive.any() and (r & (data.death_after_relapse == 1)).any()


def test_sbc_models_check_their_families():
    weibull = WeibullPH(mean_time=24.0, a0=1.0)
    two = IllnessDeathCalibration("two", lambda s: {"relapse": weibull, "nrm": weibull})
    scenario = get_scenario("small")
    data = get_model("illness_death").simulate(
        get_model("illness_death").draw_prior(scenario, np.random.default_rng(1)), scenario,
        np.random.default_rng(2))
    with pytest.raises(BridgeBayesError, match="expected the transitions"):
        two.exact_draws(data, scenario, 19, np.random.default_rng(0))
    with pytest.raises(BridgeBayesError, match="does not depend on the data"):
        IllnessDeathCalibration("data-scaled", lambda s: dict.fromkeys(
            TRANSITIONS, WeibullPH())).draw_prior(scenario, np.random.default_rng(0))
    settings = get_model("illness_death_pem").settings()
    assert settings["name"] == "illness_death_pem" and settings["landmark"] == 24.0
    assert {c: o["family"] for c, o in settings["families"].items()} == dict.fromkeys(
        TRANSITIONS, "piecewise_exponential")
    assert settings["families"]["post_relapse_death"]["cuts"] == [3.0]
    assert settings["families"]["nrm"]["crude_rate"] == pytest.approx(1 / 48)
    competing = get_model("competing_risks").settings()["families"]
    assert set(competing) == {"relapse", "nrm"} and competing["relapse"]["a0"] == 1.0


def test_quantities_and_values_of_the_multistate_models():
    scenario = get_scenario("small")
    expected = {
        "competing_risks": [q for c in ("relapse", "nrm")
                            for q in (f"log_hr[{c}]", *[f"log_lambda[{c}][{j}]"
                                                        for j in range(3)])]
        + ["cif24[relapse, treatment]", "loglik"],
        "illness_death": [f"{p}[{c}]" for c in TRANSITIONS for p in ("log_hr", "log_k",
                                                                    "log_lam")]
        + ["os24[treatment]", "loglik"],
        "illness_death_pem": [f"log_hr[{c}]" if p is None else f"log_lambda[{c}][{p}]"
                              for c, n in zip(TRANSITIONS, (3, 3, 2), strict=True)
                              for p in (None, *range(n))] + ["os24[treatment]", "loglik"]}
    for name, names in expected.items():
        model = get_model(name)
        assert list(model.quantities(scenario)) == names, name
        truth = model.draw_prior(scenario, np.random.default_rng(6))
        data = model.simulate(truth, scenario, np.random.default_rng(7))
        values = model.values(truth, data, scenario)
        assert list(values) == names and all(v.shape == (1,) for v in values.values())
        first = next(iter(truth))
        assert values[f"log_hr[{first}]"][0] == truth[first]["log_hr"][0]
        families = model.families(scenario)
        if name == "competing_risks":
            loglik = sum(f.log_likelihood(truth[c], cause_specific_data(data, code)).sum()
                         for code, (c, f) in enumerate(families.items(), start=1))
        else:
            loglik = sum(families[c].log_likelihood(truth[c], one).sum()
                         for c, one in transition_data(data).items() if one.time.size)
        assert values["loglik"][0] == pytest.approx(loglik, rel=1e-12)


def test_prior_draws_of_the_multistate_models_follow_their_priors():
    rng, scenario = np.random.default_rng(3), get_scenario("small")
    model = get_model("illness_death")
    draws = [model.draw_prior(scenario, rng) for _ in range(1500)]
    for name, m in zip(TRANSITIONS, (24.0, 48.0, 6.0), strict=True):
        k = np.array([d[name]["k"][0] for d in draws])
        cum = np.array([np.exp(d[name]["log_lam"][0]) * m ** d[name]["k"][0] for d in draws])
        assert kstest(np.log(k), "norm").pvalue > 0.01
        assert kstest(cum, gamma(1.0).cdf).pvalue > 0.01
        assert kstest([d[name]["log_hr"][0] for d in draws], "norm").pvalue > 0.01
    competing = get_model("competing_risks")
    lam = np.array([competing.draw_prior(scenario, rng)["nrm"]["lambda"][0]
                    for _ in range(1000)])
    assert lam.shape == (1000, 3)
    assert kstest(lam.ravel(), gamma(1.0, scale=1 / 48).cdf).pvalue > 0.01
    pem = get_model("illness_death_pem")
    after = np.array([pem.draw_prior(scenario, rng)["post_relapse_death"]["lambda"][0]
                      for _ in range(1000)])
    assert after.shape == (1000, 2)  # its own cut point at 3 months
    assert kstest(after.ravel(), gamma(1.0, scale=1 / 6).cdf).pvalue > 0.01


# --- fixed prior scales in the library functions ---------------------------------------------

@pytest.fixture(scope="module")
def histories():
    rng = np.random.default_rng(11)
    model = get_model("illness_death")
    truth = _weibull(np.array([-0.3, 0.2, 0.1]), np.array([1.2, 0.9, 1.0]),
                     np.array([0.02, 0.01, 0.1]))
    return model.simulate(truth, get_scenario("large"), rng)


def _weibull_model(scales, **options) -> IllnessDeathModel:
    return IllnessDeathModel(**{name: WeibullPH(mean_time=m, **options)
                                for name, m in zip(TRANSITIONS, scales, strict=True)})


def test_fixed_scales_at_the_data_means_equal_the_default_oracle(histories):
    parts = transition_data(histories)
    means = [float(parts[t].time.mean()) for t in TRANSITIONS]
    fixed = exact_illness_death(histories, _weibull_model(means), n_draws=300, rng=5)
    default = exact_illness_death(histories, IllnessDeathModel(), n_draws=300, rng=5)
    for transition in TRANSITIONS:
        for name in ("log_hr", "k", "lam"):
            np.testing.assert_allclose(fixed.draws[transition][name],
                                       default.draws[transition][name], rtol=1e-9)


def test_fixed_scales_change_the_exact_and_pymc_posteriors(histories):
    model = _weibull_model((24.0, 48.0, 6.0))
    post = exact_illness_death(histories, model, n_draws=300, rng=5)
    default = exact_illness_death(histories, IllnessDeathModel(), n_draws=300, rng=5)
    for name in TRANSITIONS:
        assert not np.allclose(post.draws[name]["lam"], default.draws[name]["lam"])
    parts = transition_data(histories)
    for name, m in zip(TRANSITIONS, (24.0, 48.0, 6.0), strict=True):
        pm_model = getattr(model, name).build_model(parts[name])
        assert float(pm_model["mean_time"].get_value()) == m
        assert pm_model["event"].get_value().sum() == parts[name].event.sum()


def test_pymc_logp_without_relapse_equals_prior_plus_state0_likelihood():
    """Each transition's PyMC model is its family's prior + that transition's likelihood; without
    relapse only relapse and NRM have data, and their sum is the state-0 likelihood + prior."""
    data = illness_death_from_times(arm=[0, 1, 1], relapse=[np.nan] * 3,
                                    death=[4.0, np.nan, 2.0], followup=[4.0, 9.0, 2.0])
    model = _weibull_model((12.0, 24.0, 6.0), a0=1.0)
    parts = transition_data(data)
    assert parts["post_relapse_death"].time.size == 0
    with pytest.raises(BridgeBayesError, match="no relapse"):
        exact_illness_death(data, IllnessDeathModel(), rng=1)
    log_k, cum, b = np.array([0.1, -0.2]), np.array([0.8, 1.5]), np.array([-0.3, 0.2])
    got = 0.0
    for j, name in enumerate(("relapse", "nrm")):
        pm_model = getattr(model, name).build_model(parts[name])
        got += pm_model.compile_logp(sum=True)({"log_k": log_k[j], "log_hr": b[j],
                                                "cumhaz_mean_time_log__": np.log(cum[j])})
    k = np.exp(log_k)
    log_lam = np.log(cum) - k * np.log([12.0, 24.0])
    t, x = np.array([4.0, 9.0, 2.0]), np.array([0, 1, 1])
    nrm = np.array([1, 0, 1])
    like = 0.0
    for j, event in enumerate((np.zeros(3), nrm)):  # relapse: no events; NRM: two deaths
        log_h = log_lam[j] + np.log(k[j]) + (k[j] - 1) * np.log(t) + b[j] * x
        like += np.sum(event * log_h - np.exp(log_lam[j] + k[j] * np.log(t) + b[j] * x))
    prior = (norm.logpdf(log_k).sum() + norm.logpdf(b).sum()
             + np.sum(gamma(1.0).logpdf(cum) + np.log(cum)))  # Jacobian of the log transform
    assert got == pytest.approx(like + prior, rel=1e-9)


def test_nuts_path_without_relapse_fits_state_0_and_draws_the_prior_after_relapse(monkeypatch):
    """fit_illness_death: one fit per transition with data (seed + j), the prior (fixed scale,
    chains x draws) for death after relapse; no fit of an empty transition."""
    from bridgebayes.inference import multistate
    from bridgebayes.inference.driver import SamplerSettings

    data = illness_death_from_times(arm=[0, 1] * 10, relapse=[np.nan] * 20,
                                    death=[5.0, np.nan] * 10, followup=[5.0, 12.0] * 10)
    model = _weibull_model((12.0, 24.0, 6.0), a0=1.0)
    calls = []

    class FakeFit:
        def __init__(self, family, one, seed):
            self.family, self.data, self.seed = family, one, seed
            post = family.exact_posterior(one)
            self._draws = post.draws(200, rng=seed)
            self.gate = type("Gate", (), {"passed": True})()

        def draws(self):
            return self._draws

    def fake_fit(one, family, *, seed, sampler):
        calls.append((one.name, family, seed, sampler))
        return FakeFit(family, one, seed)

    monkeypatch.setattr(multistate, "quiet_fit", fake_fit)
    sampler = SamplerSettings(chains=2, draws=100)
    post = multistate.fit_illness_death(data, model, seed=40, sampler=sampler)
    assert [(c[0], c[1], c[2]) for c in calls] == [("relapse", model.relapse, 40),
                                                  ("nrm", model.nrm, 41)]
    assert all(c[3] is sampler for c in calls)
    assert set(post.fits) == {"relapse", "nrm"} and post.gate_passed and post.chains == 2
    after = post.draws["post_relapse_death"]
    expected = WeibullPH(mean_time=6.0, a0=1.0).prior_draws(200, np.random.default_rng(40))
    for name in ("log_hr", "k", "lam"):
        np.testing.assert_array_equal(after[name], expected[name])
    with pytest.raises(BridgeBayesError, match="no relapse"):
        multistate.fit_illness_death(data, IllnessDeathModel(), seed=1, sampler=sampler)


@pytest.mark.parametrize("after", [WeibullPH(mean_time=6.0, a0=1.0),
                                   PiecewiseExponentialPH(cuts=(3.0,), crude_rate=1 / 6, a0=1.0)],
                         ids=["weibull", "pem"])
def test_exact_without_relapse_draws_the_prior_for_death_after_relapse(after):
    data = illness_death_from_times(arm=[0, 1] * 10, relapse=[np.nan] * 20,
                                    death=[5.0, np.nan] * 10, followup=[5.0, 12.0] * 10)
    model = IllnessDeathModel(relapse=WeibullPH(mean_time=12.0, a0=1.0),
                              nrm=WeibullPH(mean_time=24.0, a0=1.0), post_relapse_death=after)
    post = exact_illness_death(data, model, n_draws=4000, rng=2)
    draws = post.draws["post_relapse_death"]
    assert kstest(draws["log_hr"], "norm").pvalue > 0.001
    if isinstance(after, WeibullPH):
        k = draws["k"]
        assert kstest(np.log(k), "norm").pvalue > 0.001
        assert kstest(draws["lam"] * 6.0 ** k, gamma(1.0).cdf).pvalue > 0.001
    else:
        assert draws["lambda"].shape == (4000, 2)
        assert kstest(draws["lambda"].ravel(), gamma(1.0, scale=1 / 6).cdf).pvalue > 0.001
    p = post.state_probabilities([12.0], 1)  # the prior's death after relapse enters OS
    assert np.all(p["os"] >= p["pfs"]) and np.all(p["relapsed_alive"] > 0)


def test_illness_death_model_checks_its_families():
    with pytest.raises(BridgeBayesError, match="nrm: expected a survival family"):
        IllnessDeathModel(nrm="weibull")
    with pytest.raises(BridgeBayesError, match="fixed baseline scale"):
        from bridgebayes.models.illness_death.posterior import prior_for_empty

        prior_for_empty(WeibullPH(), "post_relapse_death", 3, np.random.default_rng(0))
    model = IllnessDeathModel.with_family(WeibullPH(log_hr_sigma=0.42))
    assert all(f == WeibullPH(log_hr_sigma=0.42) for f in model.families().values())
    assert list(model.families()) == list(TRANSITIONS)


def test_exact_competing_risks_with_fixed_scales():
    model = get_model("competing_risks")
    data = model.simulate(model.draw_prior(get_scenario("large"), np.random.default_rng(4)),
                          get_scenario("large"), np.random.default_rng(5))
    rates = {c: cause_specific_data(data, i).event.sum() / data.time.sum()
             for i, c in enumerate(data.causes, start=1)}
    cuts = (6.0, 12.0)
    a = exact_competing_risks(data, {c: PiecewiseExponentialPH(cuts=cuts, crude_rate=r, a0=0.1)
                                     for c, r in rates.items()}, rng=1, n_draws=200)
    b = exact_competing_risks(data, PiecewiseExponentialPH(cuts=cuts), rng=1, n_draws=200)
    for ma, mb in zip(a.models, b.models, strict=True):
        np.testing.assert_allclose(ma.draws["lambda"], mb.draws["lambda"], rtol=1e-9)
    c = exact_competing_risks(data, {"relapse": PiecewiseExponentialPH(cuts=cuts, crude_rate=1.0,
                                                                       a0=1.0),
                                     "nrm": PiecewiseExponentialPH(cuts=cuts)},
                              rng=1, n_draws=200)
    assert not np.allclose(c.models[0].draws["lambda"], b.models[0].draws["lambda"])
    with pytest.raises(BridgeBayesError, match=r"unknown \['gvhd'\]"):
        exact_competing_risks(data, {"relapse": WeibullPH(), "nrm": WeibullPH(),
                                     "gvhd": WeibullPH()}, rng=1)
    weibull = exact_competing_risks(data, {"relapse": WeibullPH(a0=1.0),
                                           "nrm": WeibullPH(mean_time=48.0, a0=1.0)},
                                    rng=1, n_draws=200)
    default = exact_competing_risks(data, WeibullPH(a0=1.0), rng=1, n_draws=200)
    np.testing.assert_allclose(weibull.models[0].draws["k"], default.models[0].draws["k"])
    assert not np.allclose(weibull.models[1].draws["k"], default.models[1].draws["k"])


# --- smoke SBC -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smoke():
    return {name: run_sbc(name, "small", n_sims=200, seed=SEED) for name in MULTISTATE}


@pytest.mark.parametrize("name", MULTISTATE)
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
    after = draws["post_relapse_death"]
    return draws | {"post_relapse_death": after | {"k": after["k"] * np.exp(0.3)}}


def _shift_nrm_hazards(draws, rng):
    nrm = draws["nrm"]
    return draws | {"nrm": nrm | {"lambda": nrm["lambda"] * np.exp(0.5)}}


@pytest.mark.parametrize(("name", "wrong", "quantity"), [
    ("competing_risks", _narrow_competing, "log_hr[relapse]"),
    ("illness_death", _shift_k, "log_k[post_relapse_death]"),
    ("illness_death_pem", _shift_nrm_hazards, "log_lambda[nrm][0]")])
def test_negative_controls_of_the_multistate_models(name, wrong, quantity):
    result = run_sbc(name, "small", n_sims=200, seed=SEED, transform_draws=wrong)
    summary = result.summary().set_index("quantity")
    assert summary.loc[quantity, "p_value"] < 0.005
    assert not result.passed()


@pytest.mark.parametrize("name", MULTISTATE)
def test_nuts_path_of_the_multistate_models(smoke, name):
    from bridgebayes.inference.driver import SamplerSettings

    nuts = SamplerSettings(chains=2, draws=500, tune=500)
    result = run_sbc(name, "small", n_sims=2, seed=SEED, method="nuts", nuts=nuts)
    exact = smoke[name]
    assert result.n_draws == 99 and result.ranks["rank"].between(0, 99).all()
    assert list(result.ranks.query("sim == 0")["quantity"]) == list(
        exact.ranks.query("sim == 0")["quantity"])
    for col in ("events_reference", "events_treatment"):
        assert result.sims[col].tolist() == exact.sims[col].iloc[:2].tolist()
    assert (result.sims["ess_bulk_min"] > 50).all()
    assert result.sims["gate_passed"].isin([0.0, 1.0]).all()
    diff = (result.sims["prob_hr_below_1"] - exact.sims["prob_hr_below_1"].iloc[:2]).abs()
    assert (diff < 0.12).all()
