"""Simulation-based calibration: fixed-scale priors, simulator, ranks, smoke SBC, negative controls.

The smoke SBC (100 simulations per model, small scenario, exact oracle; 12 short NUTS
simulations for the families without an oracle: mixture cure, M-spline) must pass the same
χ² test as the release run; the negative controls show that this test detects a posterior
that is shifted by one posterior SD or too narrow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gamma, kstest, norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.sbc.loop import rank_of, run_sbc
from bridgebayes.sbc.models import Scenario, TwoArmModel, fit_diagnostics, thin
from bridgebayes.sbc.registry import MODELS, get_model, get_scenario
from bridgebayes.sbc.report import rank_figure
from bridgebayes.sbc.uniformity import ecdf_band, ecdf_inside_band, ecdf_values, rank_counts

SEED = 20261124


@pytest.fixture(scope="module")
def data(simulate):
    return simulate(3, 20, shape=1.3, scale=15.0, time_ratio=1.5, censor=(5.0, 30.0))


def test_fixed_scale_oracles_equal_the_engine_oracles_at_the_data_scale(data):
    e, d = data.event.sum(), data.time.sum()
    prior = {"log_hr_mu": 0.1, "log_hr_sigma": 0.7}
    for ours, theirs in (
            (PiecewiseExponentialPH(cuts=(6.0, 12.0), crude_rate=e / d, **prior),
             PiecewiseExponentialPH(cuts=(6.0, 12.0), **prior)),
            (WeibullPH(mean_time=float(data.time.mean()), **prior), WeibullPH(**prior))):
        assert ours.has_exact_posterior() and theirs.has_exact_posterior()
        ours, theirs = ours.exact_posterior(data), theirs.exact_posterior(data)
        np.testing.assert_allclose(ours.log_hr, theirs.log_hr, rtol=1e-12)
        np.testing.assert_allclose(ours.density, theirs.density, rtol=1e-9, atol=1e-12)
        assert ours.log_evidence == pytest.approx(theirs.log_evidence, rel=1e-10)
        a, b = ours.draws(50, rng=1), theirs.draws(50, rng=1)
        for name in a:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-9)


def test_fixed_scale_changes_the_posterior(data):
    e, d = data.event.sum(), data.time.sum()
    a = PiecewiseExponentialPH(cuts=(6.0,), crude_rate=e / d).exact_posterior(data)
    b = PiecewiseExponentialPH(cuts=(6.0,), crude_rate=10 * e / d).exact_posterior(data)
    assert abs(a.log_evidence - b.log_evidence) > 1e-3
    w = WeibullPH(mean_time=float(data.time.mean())).exact_posterior(data)
    w10 = WeibullPH(mean_time=10 * float(data.time.mean())).exact_posterior(data)
    assert abs(w.log_evidence - w10.log_evidence) > 1e-3


def test_pymc_pem_uses_the_fixed_prior(data):
    family = PiecewiseExponentialPH(cuts=(6.0, 12.0), crude_rate=0.05, a0=0.1, log_hr_sigma=0.8)
    model = family.build_model(data)
    assert float(model["crude_rate"].get_value()) == 0.05
    point = {"log_hr": -0.3, "lambda_log__": np.log([0.02, 0.05, 0.1])}
    logp = model.compile_logp(jacobian=False)(point)
    lam = np.exp(point["lambda_log__"])
    events, exposure = (PiecewiseExponentialPH(cuts=(6.0, 12.0)).data_arrays(data)[k]
                        for k in ("events", "exposure"))
    eta = np.array([0.0, -0.3])
    loglik = np.sum(events * (np.log(lam)[:, None] + eta) - lam[:, None] * np.exp(eta) * exposure)
    expected = (norm.logpdf(-0.3, 0, 0.8) + gamma.logpdf(lam, 0.1, scale=0.05 / 0.1).sum()
                + loglik)
    assert logp == pytest.approx(expected, rel=1e-10)


def test_pymc_weibull_uses_the_fixed_prior(data):
    family = WeibullPH(mean_time=24.0, log_hr_sigma=0.8)
    model = family.build_model(data)
    assert float(model["mean_time"].get_value()) == 24.0
    log_k, cum, beta = 0.2, 0.7, -0.3
    point = {"log_hr": beta, "log_k": log_k, "cumhaz_mean_time_log__": np.log(cum)}
    logp = model.compile_logp(jacobian=False)(point)
    k = np.exp(log_k)
    draws = {"log_hr": np.array([beta]), "k": np.array([k]),
             "lam": np.array([cum * 24.0 ** -k])}
    loglik = WeibullPH().log_likelihood(draws, data).sum()
    # lam | k ~ Gamma(a0, a0 · 24^k), i.e. lam · 24^k ~ Gamma(a0, a0)
    expected = (norm.logpdf(beta, 0, 0.8) + norm.logpdf(log_k) + gamma.logpdf(cum, 0.1,
                                                                              scale=10.0)
                + loglik)
    assert logp == pytest.approx(expected, rel=1e-10)


def test_fixed_scale_pem_accepts_data_without_events(data):
    quiet = EndpointData("x", data.time, np.zeros_like(data.event), data.arm, data.arms,
                         data.ids)
    arrays = PiecewiseExponentialPH(cuts=(6.0,), crude_rate=0.1).data_arrays(quiet)
    assert arrays["events"].sum() == 0 and arrays["crude_rate"] == 0.1
    with pytest.raises(BridgeBayesError, match="no events"):
        PiecewiseExponentialPH(cuts=(6.0,)).data_arrays(quiet)


@pytest.mark.parametrize("family", [
    PiecewiseExponentialPH(cuts=(6.0,)),                      # data-scaled crude rate
    PiecewiseExponentialPH(crude_rate=0.1),                   # cut points from the data
    PiecewiseExponentialPH(cuts=(6.0,), crude_rate=0.1, baseline="random_walk"),
    WeibullPH()])                                             # data-scaled mean time
def test_prior_draws_need_a_prior_that_does_not_depend_on_the_data(family):
    with pytest.raises(BridgeBayesError, match="does not depend on the data"):
        family.prior_draws(1, np.random.default_rng(0))
    with pytest.raises(BridgeBayesError, match="does not depend on the data"):
        TwoArmModel("x", lambda s, f=family: f).draw_prior(get_scenario("small"),
                                                          np.random.default_rng(0))


@pytest.mark.parametrize("name", ["piecewise_exponential", "weibull"])
def test_simulated_event_times_follow_the_model(name):
    model = get_model(name)
    uncensored = Scenario("none", 2000, accrual=0.0, analysis=1e300, cuts=(6.0, 12.0))
    truth = ({"log_hr": np.array([-0.5]), "lambda": np.array([[0.05, 0.1, 0.02]]),
              "cuts": np.array([6.0, 12.0])} if name == "piecewise_exponential" else
             {"log_hr": np.array([-0.5]), "k": np.array([1.4]), "lam": np.array([0.01]),
              "log_lam": np.log([0.01])})
    sim = model.simulate(truth, uncensored, np.random.default_rng(SEED))
    assert sim.event.all()
    family = model.family(uncensored)
    for arm in (0, 1):
        t = sim.time[sim.arm == arm]
        cdf = lambda x, a=arm: 1 - family.survival(truth, np.atleast_1d(x), a)[0]  # noqa: E731
        assert kstest(t, cdf).pvalue > 0.01


def test_censoring_is_uniform_between_the_cuts():
    scenario = get_scenario("large")
    c = scenario.censoring(np.random.default_rng(SEED))
    assert c.size == 120 and c.min() >= 24.0 and c.max() <= 48.0


def test_prior_draws_follow_the_fixed_prior():
    model, scenario, rng = get_model("weibull"), get_scenario("small"), np.random.default_rng(1)
    draws = [model.draw_prior(scenario, rng) for _ in range(2000)]
    k = np.array([d["k"][0] for d in draws])
    cum = np.array([np.exp(d["log_lam"][0]) * 24.0 ** d["k"][0] for d in draws])
    log_hr = np.array([d["log_hr"][0] for d in draws])
    assert kstest(np.log(k), "norm").pvalue > 0.01
    assert kstest(cum, gamma(0.1, scale=10.0).cdf).pvalue > 0.01
    assert kstest(log_hr, "norm").pvalue > 0.01
    np.testing.assert_allclose([d["hr"][0] for d in draws], np.exp(log_hr), rtol=1e-15)
    np.testing.assert_allclose([d["lam"][0] for d in draws],
                               [np.exp(d["log_lam"][0]) for d in draws], rtol=1e-15)
    pem_model = get_model("piecewise_exponential")
    pem = [pem_model.draw_prior(scenario, rng) for _ in range(1000)]
    assert all(d["lambda"].shape == (1, 3) for d in pem)
    assert all(d["cuts"].tolist() == [6.0, 12.0] for d in pem)
    assert kstest(np.ravel([d["lambda"] for d in pem]),
                  gamma(0.1, scale=(1 / 24) / 0.1).cdf).pvalue > 0.01
    assert kstest([d["log_hr"][0] for d in pem], "norm").pvalue > 0.01


def test_prior_draws_keep_the_release_stream():
    """``prior_draws`` draws ``log_hr`` first, then the baseline, from the same generator as
    the SBC models before the registry (so the release ranks are unchanged)."""
    for name, scenario in (("piecewise_exponential", "small"), ("weibull", "large")):
        got = get_model(name).draw_prior(get_scenario(scenario), np.random.default_rng(9))
        rng = np.random.default_rng(9)
        log_hr = rng.normal(0.0, 1.0)
        assert got["log_hr"].tolist() == [log_hr]
        if name == "weibull":
            k = np.exp(rng.normal(0.0, 1.0))
            log_lam = np.log(rng.gamma(0.1, 1.0 / 0.1)) - k * np.log(24.0)
            assert got["k"].tolist() == [k] and got["log_lam"].tolist() == [log_lam]
        else:
            lam = rng.gamma(0.1, (1.0 / 24.0) / 0.1, 3)
            np.testing.assert_array_equal(got["lambda"], lam[None, :])


@pytest.mark.parametrize("name", ["piecewise_exponential", "weibull"])
def test_ranked_quantities_of_the_two_arm_models(name):
    model, scenario = get_model(name), get_scenario("large")
    truth = model.draw_prior(scenario, np.random.default_rng(2))
    data = model.simulate(truth, scenario, np.random.default_rng(3))
    values = model.values(truth, data, scenario)
    assert tuple(values) == model.quantities(scenario)
    assert values["log_hr"].tolist() == truth["log_hr"].tolist()
    if name == "weibull":
        assert model.quantities(scenario) == ("log_hr", "log_k", "log_lam", "loglik")
        assert values["log_k"][0] == pytest.approx(np.log(truth["k"][0]), rel=1e-15)
        family = WeibullPH(mean_time=24.0)
    else:
        assert model.quantities(scenario) == ("log_hr", *[f"log_lambda[{j}]" for j in range(4)],
                                              "loglik")
        np.testing.assert_allclose([values[f"log_lambda[{j}]"][0] for j in range(4)],
                                   np.log(truth["lambda"][0]), rtol=1e-15)
        family = PiecewiseExponentialPH(cuts=scenario.cuts, crude_rate=1 / 24)
    assert model.family(scenario) == family
    assert values["loglik"][0] == pytest.approx(family.log_likelihood(truth, data).sum())
    assert model.settings() == {"name": name, "family": model.family(
        get_scenario("small")).options()}


def test_thin_and_fit_diagnostics():
    draws = {"log_hr": np.arange(400.0), "lambda": np.arange(800.0).reshape(400, 2),
             "cuts": np.array([6.0, 12.0])}
    thinned = thin(draws, 99)
    assert thinned["log_hr"].tolist() == (np.arange(99) * 4.0).tolist()
    assert thinned["lambda"].shape == (99, 2) and thinned["cuts"].tolist() == [6.0, 12.0]
    with pytest.raises(BridgeBayesError, match="cannot be thinned"):
        thin(draws, 499)

    class Gate:
        def __init__(self, ess, passed):
            self.per_variable, self.passed = pd.DataFrame({"ess_bulk": ess}), passed

    class Result:
        def __init__(self, ess, passed, retried):
            self.gate, self.retried = Gate(ess, passed), retried

    diag = fit_diagnostics([Result([500.0, 420.0], True, False),
                            Result([800.0, 91.0, 300.0], False, True)])
    assert diag == {"ess_bulk_min": 91.0, "gate_passed": 0.0, "retried": 1.0}
    assert fit_diagnostics([Result([450.0], True, False)]) == {
        "ess_bulk_min": 450.0, "gate_passed": 1.0, "retried": 0.0}


def test_ranks_and_bins():
    rng = np.random.default_rng(0)
    assert rank_of(2.0, np.array([1.0, 3.0]), rng) == 1
    assert {rank_of(1.0, np.ones(3), rng) for _ in range(200)} == {0, 1, 2, 3}
    assert rank_counts(np.array([0, 9, 10, 199]), 199).tolist()[:2] == [2, 1]
    with pytest.raises(BridgeBayesError, match="n_draws"):
        rank_counts(np.array([0]), 100)
    with pytest.raises(BridgeBayesError, match="method"):
        run_sbc("piecewise_exponential", "small", n_sims=1, seed=1, method="vi")
    with pytest.raises(BridgeBayesError, match="scenario"):
        run_sbc("piecewise_exponential", "tiny", n_sims=1, seed=1)
    with pytest.raises(BridgeBayesError, match="model"):
        run_sbc("pem", "small", n_sims=1, seed=1)  # the old alias is gone


def test_ecdf_band_contains_uniform_and_excludes_degenerate_ranks():
    z, lower, upper = ecdf_band(100)
    assert np.all(lower <= z) and np.all(upper >= z)
    assert ecdf_inside_band(np.arange(100) * 2, 199)
    assert not ecdf_inside_band(np.zeros(100, int), 199)
    assert ecdf_values(np.arange(200), 199)[-1] == 1.0


@pytest.fixture(scope="module")
def smoke():
    return {name: run_sbc(name, "small", n_sims=100, seed=SEED)
            for name in ("piecewise_exponential", "weibull")}


@pytest.mark.parametrize("name", ["piecewise_exponential", "weibull"])
def test_smoke_sbc_exact_path_is_calibrated(smoke, name):
    result = smoke[name]
    summary = result.summary()
    assert result.n_sims == 100
    assert list(summary["quantity"]) == list(get_model(name).quantities(get_scenario("small")))
    assert (summary["p_value"] > 0.005).all(), summary
    assert result.prob_check()["p_value"] > 0.005
    assert result.passed()
    assert summary["coverage95"].between(0.85, 1.0).all()
    assert len(rank_figure(result).axes) == len(summary) + 1


#: Families without an exact posterior: their smoke SBC runs on NUTS (short chains), in the
#: slow suite (30-45 s each; the default suite's family contract recovers their simulated
#: parameters by NUTS, and the release SBC of docs/sbc.md runs 100 NUTS simulations each).
NUTS_ONLY = [name for name in MODELS if not MODELS[name].has_exact]


@pytest.mark.slow
@pytest.mark.parametrize("name", NUTS_ONLY)
def test_smoke_sbc_nuts_path_of_families_without_an_exact_posterior(name):
    from bridgebayes.inference.driver import SamplerSettings

    result = run_sbc(name, "small", n_sims=12, seed=SEED, method="nuts",
                     nuts=SamplerSettings(chains=2, draws=250, tune=250))
    summary = result.summary()
    assert list(summary["quantity"]) == list(get_model(name).quantities(get_scenario("small")))
    assert (summary["p_value"] > 0.005).all(), summary
    assert result.prob_check()["p_value"] > 0.005
    with pytest.raises(BridgeBayesError, match="no exact posterior"):
        run_sbc(name, "small", n_sims=1, seed=SEED)


def _shifted(draws, rng):
    return draws | {"log_hr": draws["log_hr"] + draws["log_hr"].std()}


def _narrow(draws, rng):
    beta = draws["log_hr"]
    return draws | {"log_hr": beta.mean() + 0.5 * (beta - beta.mean())}


@pytest.mark.parametrize("wrong", [_shifted, _narrow], ids=["shifted-1-sd", "half-width"])
def test_negative_control_wrong_posterior_is_detected(wrong):
    result = run_sbc("piecewise_exponential", "small", n_sims=100, seed=SEED,
                     transform_draws=wrong)
    summary = result.summary().set_index("quantity")
    assert summary.loc["log_hr", "p_value"] < 0.005
    assert not result.passed()


def test_chunks_are_resumable_and_settings_checked(tmp_path):
    first = run_sbc("weibull", "small", n_sims=60, seed=5, out=tmp_path)
    folder = tmp_path / "weibull-small-exact"
    chunks = sorted(folder.glob("sims-*.csv"))
    assert [c.name for c in chunks] == ["sims-000000-000050.csv", "sims-000050-000060.csv"]
    chunks[1].unlink()
    again = run_sbc("weibull", "small", n_sims=60, seed=5, out=tmp_path)
    pd.testing.assert_frame_equal(first.ranks, again.ranks)
    alone = run_sbc("weibull", "small", n_sims=60, seed=5)  # no chunk files: same numbers
    pd.testing.assert_frame_equal(first.ranks, alone.ranks)
    with pytest.raises(BridgeBayesError, match="other settings"):
        run_sbc("weibull", "small", n_sims=60, seed=6, out=tmp_path)


@pytest.mark.parametrize("damage", [
    lambda p: p.write_bytes(b""), lambda p: p.write_bytes(p.read_bytes()[:40]),
    lambda p: p.write_text("sim,x\n7,1\n"), lambda p: p.write_bytes(b"\xff\xfe\x00garbage")],
    ids=["empty", "truncated", "foreign", "binary"])
def test_a_damaged_chunk_is_discarded_with_a_warning_and_recomputed(tmp_path, damage):
    first = run_sbc("weibull", "small", n_sims=60, seed=5, out=tmp_path)
    chunk = tmp_path / "weibull-small-exact" / "sims-000050-000060.csv"
    good = chunk.read_bytes()
    damage(chunk)
    with pytest.warns(UserWarning, match="sims-000050-000060.csv: discarded and recomputed"):
        again = run_sbc("weibull", "small", n_sims=60, seed=5, out=tmp_path)
    pd.testing.assert_frame_equal(first.ranks, again.ranks)
    assert chunk.read_bytes() == good


def test_nuts_pipeline_ranks_the_same_simulated_trials(smoke):
    from bridgebayes.inference.driver import SamplerSettings

    nuts = SamplerSettings(chains=2, draws=500, tune=500)
    for name in ("piecewise_exponential", "weibull"):
        result = run_sbc(name, "small", n_sims=1, seed=SEED, method="nuts", nuts=nuts)
        exact = smoke[name]
        assert result.n_draws == 99
        assert result.ranks["rank"].between(0, 99).all()
        assert list(result.ranks["quantity"]) == list(exact.ranks.query("sim == 0")["quantity"])
        for col in ("events_reference", "events_treatment"):
            assert result.sims[col].iloc[0] == exact.sims[col].iloc[0]
        assert result.sims["ess_bulk_min"].iloc[0] > 50
        assert result.sims["gate_passed"].iloc[0] in (0.0, 1.0)
        # NUTS and exact P(HR < 1) of the same trial agree to Monte Carlo error
        assert abs(result.sims["prob_hr_below_1"].iloc[0]
                   - exact.sims["prob_hr_below_1"].iloc[0]) < 0.1


def test_sbc_command_writes_results_figures_and_report(tmp_path):
    from bridgebayes.sbc.command import sbc_command

    lines = []
    code = sbc_command(models=("piecewise_exponential",), scenarios=("small",), n_sims=20,
                       seed=SEED,
                       out=tmp_path / "sbc", report=tmp_path / "docs" / "validation.md",
                       echo=lines.append)
    assert code == 0 and "pass" in lines[0]
    report = (tmp_path / "docs" / "validation.md").read_text()
    figure = "sbc-piecewise_exponential-small-exact.png"
    assert f"![SBC ranks piecewise_exponential small exact](figures/{figure})" in report
    assert (tmp_path / "docs" / "figures" / figure).stat().st_size > 0
    # the model table states the fixed prior as run (registry options)
    assert "| `piecewise_exponential` |" in report and "crude_rate = 0.041666" in report
    results = pd.read_csv(tmp_path / "sbc" / "results.csv")
    assert set(results["quantity"]) >= {"log_hr", "loglik", "P(HR<1) data-averaged"}
    with pytest.raises(BridgeBayesError, match="model"):
        sbc_command(models=("cox",), out=tmp_path / "x")


def test_registry_has_the_canonical_names_and_the_cli_offers_them(capsys):
    from bridgebayes.cli.commands import build_parser, main
    from bridgebayes.sbc.command import ALL_MODELS

    assert ALL_MODELS == tuple(MODELS) == ("piecewise_exponential", "weibull", "mixture_cure",
                                           "mspline", "competing_risks", "illness_death",
                                           "illness_death_pem")
    assert [name for name in MODELS if not MODELS[name].has_exact] == ["mixture_cure",
                                                                      "mspline"]
    assert all(MODELS[name].name == name for name in MODELS)
    assert build_parser().parse_args(["sbc"]).models is None  # -> every registered model
    assert main(["sbc", "--models", "pem", "--n-sims", "1"]) == 2  # old alias: refused
    assert "'pem'" in capsys.readouterr().err
    with pytest.raises(BridgeBayesError, match="model"):
        get_model("competing")
