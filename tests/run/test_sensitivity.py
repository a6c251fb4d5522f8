"""Reconstruction sensitivity: decision quantities across ensemble members, by the exact oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.stats import gamma, norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import Cohort, load_cohort
from bridgebayes.models.exact import pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.piecewise import default_cuts, sufficient_stats
from bridgebayes.models.priors import log_hr_prior
from bridgebayes.run.bayes import family_for as spec_family
from bridgebayes.run.sensitivity import (
    SUMMARY_COLUMNS,
    cohort_quantities,
    ensemble_sensitivity,
    exact_posterior_of,
)
from bridgebayes.run.spec import load_spec
from bridgebayes.summaries.decide import decide

N_DRAWS = 2000
SEED = 5
ARMS = ("blina", "CAR-T")


def small_cohort(seed: int, n_per_arm: int = 10) -> Cohort:
    """Simulated histories (months) with deaths and relapses in both arms."""
    rng = np.random.default_rng(seed)
    rows = []
    for a, label in enumerate(ARMS):
        for i in range(n_per_arm):
            death = rng.exponential(30.0 if a else 20.0)
            relapse = rng.exponential(25.0)
            censor = rng.uniform(6.0, 40.0)
            follow = min(death, censor)
            rows.append({"id": f"{label}-{i}", "arm": label, "followup": round(follow, 3),
                         "death": round(death, 3) if death <= censor else "",
                         "relapse": round(relapse, 3) if relapse < follow else "",
                         "agvhd34": "", "cgvhd_sys": ""})
    frame = pd.DataFrame(rows).astype(str)
    cohort = load_cohort(frame, arms=ARMS)
    os_ = cohort.endpoint("os")
    assert all(os_.event[os_.arm == a].sum() >= 2 for a in (0, 1))  # the fixture is informative
    return cohort


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sens")
    main = small_cohort(100)
    main.to_csv(folder / "main.csv")
    (folder / "small.toml").write_text(f"""
[analysis]
id = "small"
[data]
cohort = "main.csv"
[arms]
reference = "{ARMS[0]}"
treatment = "{ARMS[1]}"
[bayes]
endpoints = ["os", "pfs"]
families = ["piecewise_exponential", "weibull"]
priors = ["neutral", "skeptical-strong"]
hr_thresholds = [1.0, 0.8]
rope = [0.9, 1.11]
landmarks = [6.0, 12.0]
deltas = [0.0, 0.1]
n_intervals = 3
seed = {SEED}
""")
    spec = load_spec(folder / "small.toml")
    members = [small_cohort(s) for s in (1, 2, 3)]
    table = ensemble_sensitivity(members, spec, n_draws=N_DRAWS)
    return spec, members, table


def test_table_shape_and_order_of_the_summaries(setup):
    _, _, table = setup
    assert tuple(table.columns) == SUMMARY_COLUMNS
    # per combination: HR median, 2 thresholds, ROPE, 2 landmarks x (median + 2 deltas)
    assert len(table) == 2 * 2 * 2 * 10
    assert not table[["main", "min", "median", "max"]].isna().any().any()
    assert (table["min"] <= table["median"]).all() and (table["median"] <= table["max"]).all()
    assert set(table["quantity"]) == {
        "HR (median)", "P(HR < 1)", "P(HR < 0.8)", "P(0.9 <= HR <= 1.11)",
        "S(6) difference (median)", "P(S(6) difference > 0)", "P(S(6) difference > 0.1)",
        "S(12) difference (median)", "P(S(12) difference > 0)", "P(S(12) difference > 0.1)"}


def test_spread_is_over_the_members_computed_one_by_one(setup):
    spec, members, table = setup
    each = pd.concat([cohort_quantities(m, spec, n_draws=N_DRAWS) for m in members])
    keys = ["endpoint", "family", "prior", "quantity"]
    stats = each.groupby(keys)["value"].agg(["min", "median", "max"])
    merged = table.set_index(keys)[["min", "median", "max"]].join(stats, rsuffix="_each")
    for col in ("min", "median", "max"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_each"], rtol=0, atol=0)
    # the members differ, so some quantity moves
    assert (table["max"] - table["min"]).max() > 0.01


def test_single_member_equal_to_main_has_no_spread(setup):
    spec, _, _ = setup
    main = load_cohort(spec.cohort, arms=spec.arms)
    table = ensemble_sensitivity([main], spec, n_draws=500)
    for col in ("min", "median", "max"):
        np.testing.assert_array_equal(table[col], table["main"])


def _direct(spec, endpoint: str, family_name: str, prior: str):
    """Exact posterior and a fresh family built from first principles (not via the spec)."""
    data = load_cohort(spec.cohort, arms=spec.arms).endpoint(endpoint)
    kind, _, strength = prior.partition("-")
    kwargs = log_hr_prior(kind, strength=strength or "moderate").prior.kwargs
    mu, sigma = kwargs["mu"], kwargs["sigma"]
    if family_name == "piecewise_exponential":
        cuts = default_cuts(data.time, data.event, n_intervals=spec.bayes.n_intervals)
        return data, pem_posterior(data, cuts=cuts, log_hr_mu=mu, log_hr_sigma=sigma), \
            PiecewiseExponentialPH()
    return data, weibull_posterior(data, log_hr_mu=mu, log_hr_sigma=sigma), WeibullPH()


def test_main_equals_an_independent_direct_exact_computation(setup):
    spec, _, table = setup
    bayes = spec.bayes
    for (endpoint, family_name, prior), rows in table.groupby(["endpoint", "family", "prior"]):
        data, post, family = _direct(spec, endpoint, family_name, prior)
        main = rows.set_index("quantity")["main"]
        # HR quantities: the quadrature values, no Monte Carlo error
        assert main["P(HR < 1)"] == pytest.approx(post.prob_hr_below(1.0), rel=1e-12)
        assert main["P(HR < 0.8)"] == pytest.approx(post.prob_hr_below(0.8), rel=1e-12)
        assert main["P(0.9 <= HR <= 1.11)"] == pytest.approx(
            post.prob_hr_below(1.11) - post.prob_hr_below(0.9), rel=1e-12)
        assert main["HR (median)"] == pytest.approx(np.exp(post.log_hr_quantile(0.5)), rel=1e-12)
        # everything, as decide() defines it, on the same exact draws
        draws = post.draws(N_DRAWS, rng=SEED)
        dec = decide(draws["log_hr"], survival=lambda t, a, d=draws, f=family: f.survival(d, t, a),
                     arms=data.arms, hr_thresholds=bayes.hr_thresholds, rope=bayes.rope,
                     landmarks=bayes.landmarks, deltas=bayes.deltas, rmst_tau=None).table
        for t in bayes.landmarks:
            diff = dec[(dec["quantity"] == f"S({t:g}) difference")]
            assert main[f"S({t:g}) difference (median)"] == pytest.approx(
                diff["estimate"].item(), rel=1e-12, abs=1e-15)
            probs = dec[dec["quantity"] == f"P(S({t:g}) difference > delta)"]
            for delta, p in zip(probs["threshold"], probs["probability"], strict=True):
                assert main[f"P(S({t:g}) difference > {delta:g})"] == pytest.approx(p, abs=1e-15)
        # decide's Monte Carlo HR quantities agree with the exact ones within 4 MC SE
        for c in bayes.hr_thresholds:
            p_exact = post.prob_hr_below(c)
            p_mc = dec.query("quantity == 'P(HR < c)' and threshold == @c")["probability"].item()
            assert abs(p_mc - p_exact) <= 4 * np.sqrt(p_exact * (1 - p_exact) / N_DRAWS) + 1e-3
        hr_mc = dec.query("quantity == 'HR'")["estimate"].item()
        assert abs(np.log(hr_mc) - np.log(main["HR (median)"])) <= \
            4 * 1.2533 * post.log_hr_sd() / np.sqrt(N_DRAWS)


def test_hand_check_of_pem_probability_by_one_dimensional_quadrature(setup):
    spec, _, table = setup
    data = load_cohort(spec.cohort, arms=spec.arms).endpoint("os")
    cuts = default_cuts(data.time, data.event, n_intervals=3)
    d, e = sufficient_stats(data.time, data.event, data.arm, cuts)
    a0, b = 0.1, 0.1 * e.sum() / d.sum()  # Gamma(a0, rate a0 / crude rate)

    def log_post(beta: float) -> float:  # docs/engine.md, baseline hazards integrated out
        return (norm.logpdf(beta, 0.0, 1.0) + beta * d[:, 1].sum()
                - np.sum((a0 + d.sum(axis=1)) * np.log(b + e[:, 0] + np.exp(beta) * e[:, 1])))

    top = max(log_post(x) for x in np.linspace(-5, 5, 1001))
    f = lambda x: np.exp(log_post(x) - top)  # noqa: E731
    below = quad(f, -12.0, 0.0, epsabs=0, epsrel=1e-11, limit=200)[0]
    total = below + quad(f, 0.0, 12.0, epsabs=0, epsrel=1e-11, limit=200)[0]
    row = table.query("endpoint == 'os' and family == 'piecewise_exponential' and "
                      "prior == 'neutral' and quantity == 'P(HR < 1)'")
    assert row["main"].item() == pytest.approx(below / total, abs=1e-6)
    post = pem_posterior(data, cuts=cuts, log_hr_mu=0.0, log_hr_sigma=1.0)
    assert row["main"].item() == pytest.approx(post.prob_hr_below(1), rel=1e-12)


def _logp(model, name: str, value: np.ndarray) -> float:
    """Log prior density of ``name`` at ``value`` (on its own scale, no Jacobian)."""
    rv = model[name]
    fn = model.compile_logp(vars=[rv], jacobian=False)
    point = model.initial_point()
    key = model.rvs_to_values[rv].name
    point[key] = np.log(value) if key.endswith("_log__") else value
    return float(fn(point))


@pytest.mark.parametrize("family_name", ["piecewise_exponential", "weibull"])
def test_exact_oracle_uses_the_priors_of_the_pymc_family(setup, family_name):
    spec, _, _ = setup
    data = load_cohort(spec.cohort, arms=spec.arms).endpoint("pfs")
    family = spec_family(spec, family_name, "skeptical-strong")
    post = exact_posterior_of(family, data)
    model = family.build_model(data)
    mu, sigma = post.settings["log_hr_prior"]
    assert (mu, sigma) == (0.0, pytest.approx(0.21))
    beta = np.array(0.3)
    assert _logp(model, "log_hr", beta) == pytest.approx(norm.logpdf(0.3, mu, sigma), rel=1e-9)
    a0 = post.settings["a0"]
    if family_name == "piecewise_exponential":
        np.testing.assert_array_equal(model["cuts"].get_value(), post.settings["cuts"])
        assert post.settings["cuts"].size == spec.bayes.n_intervals - 1
        lam = np.array([0.02, 0.05, 0.01])
        rate = a0 / post.settings["r"]  # data-scaled: a0 / crude rate
        assert _logp(model, "lambda", lam) == pytest.approx(
            gamma.logpdf(lam, a0, scale=1 / rate).sum(), rel=1e-9)
    else:
        assert float(model["mean_time"].get_value()) == pytest.approx(post.settings["m"],
                                                                      rel=1e-15)
        # lam = c m^-k with c ~ Gamma(a0, a0): lam | k ~ Gamma(a0, a0 m^k) as in the oracle
        c = np.array(0.7)
        assert _logp(model, "cumhaz_mean_time", c) == pytest.approx(
            gamma.logpdf(0.7, a0, scale=1 / a0), rel=1e-9)
        assert _logp(model, "log_k", np.array(0.2)) == pytest.approx(
            norm.logpdf(0.2, *post.settings["log_k_prior"]), rel=1e-9)


def test_deterministic(setup):
    spec, members, table = setup
    again = ensemble_sensitivity(members, spec, n_draws=N_DRAWS)
    pd.testing.assert_frame_equal(again, table, check_exact=True)


def test_bad_inputs_are_named(setup):
    spec, members, _ = setup
    with pytest.raises(BridgeBayesError, match="no ensemble members"):
        ensemble_sensitivity([], spec)
    with pytest.raises(BridgeBayesError, match="n_draws"):
        cohort_quantities(members[0], spec, n_draws=0)
    data = members[0].endpoint("os")
    with pytest.raises(BridgeBayesError, match="random_walk"):
        exact_posterior_of(PiecewiseExponentialPH(baseline="random_walk"), data)
    with pytest.raises(BridgeBayesError, match="time_varying=True"):
        exact_posterior_of(PiecewiseExponentialPH(time_varying=True), data)
