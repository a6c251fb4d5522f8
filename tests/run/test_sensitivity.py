"""Reconstruction sensitivity: decision quantities across ensemble members, by the exact
posteriors of the spec's families (rows in the one decision schema)."""

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
from bridgebayes.run.fits import FitKey, family_for
from bridgebayes.run.sensitivity import (
    SUMMARY_COLUMNS,
    cohort_quantities,
    ensemble_sensitivity,
)
from bridgebayes.run.spec import load_spec
from bridgebayes.run.study import load_study
from bridgebayes.summaries.decide import decide
from bridgebayes.summaries.decision import COLUMNS

N_DRAWS = 2000
SEED = 5
ARMS = ("blina", "CAR-T")
KEYS = ["endpoint", "family", "prior", "quantity", "time", "threshold"]


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


SPEC = f"""
[analysis]
id = "small"
[data]
file = "main.csv"
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
seed = {SEED}
[bayes.family_options.piecewise_exponential]
n_intervals = 3
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sens")
    small_cohort(100).to_csv(folder / "main.csv")
    (folder / "small.toml").write_text(SPEC)
    spec = load_spec(folder / "small.toml")
    main = load_study(spec)
    members = [small_cohort(s) for s in (1, 2, 3)]
    rows, spread = ensemble_sensitivity(members, spec, main=main, n_draws=N_DRAWS)
    return spec, main, members, rows, spread


def _value(frame: pd.DataFrame) -> pd.Series:
    return frame["probability"].where(frame["probability"].notna(), frame["estimate"])


def test_spread_table_shape_and_quantities(setup):
    *_, spread = setup
    assert tuple(spread.columns) == SUMMARY_COLUMNS
    # per combination: HR median, 2 thresholds, ROPE, 2 landmarks x (difference + 2 deltas)
    assert len(spread) == 2 * 2 * 2 * 10
    assert not spread[["main", "min", "median", "max"]].isna().any().any()
    assert (spread["min"] <= spread["median"]).all() and (spread["median"] <= spread["max"]).all()
    one = spread[(spread["endpoint"] == "os") & (spread["family"] == "weibull")
                 & (spread["prior"] == "neutral")]
    got = sorted((q, "" if np.isnan(t) else t, "" if np.isnan(c) else c)
                 for q, t, c in zip(one["quantity"], one["time"], one["threshold"], strict=True))
    assert got == sorted([("hr", "", ""), ("prob_hr_below", "", 1.0), ("prob_hr_below", "", 0.8),
                          ("prob_rope", "", 0.9), *[(q, t, c) for t in (6.0, 12.0) for q, c in
                          (("survival_difference", ""),
                           ("prob_survival_difference_above", 0.0),
                           ("prob_survival_difference_above", 0.1))]])


def test_rows_follow_the_decision_schema(setup):
    *_, rows, _ = setup
    assert tuple(rows.columns) == COLUMNS
    assert set(rows["analysis"]) == {"ensemble"} and set(rows["role"]) == {"sensitivity"}
    assert list(dict.fromkeys(rows["member"])) == ["main", "member_01", "member_02", "member_03"]
    assert set(rows["time_unit"]) == {"months"} and rows["gate_passed"].all()
    assert len(rows) == 4 * 80
    rope = rows[rows["quantity"] == "prob_rope"]
    assert (rope["threshold"] == 0.9).all() and (rope["threshold_upper"] == 1.11).all()
    diff = rows[rows["quantity"] == "survival_difference"]
    assert set(diff["arm"]) == {"CAR-T - blina"} and (diff["level"] == 0.95).all()


def test_spread_is_over_the_members_computed_one_by_one(setup):
    spec, main, members, _, spread = setup
    each = pd.concat([cohort_quantities(m, spec, member=f"m{j}", n_draws=N_DRAWS)
                      for j, m in enumerate(members)], ignore_index=True)
    stats = (each.assign(value=_value(each)).groupby(KEYS, dropna=False)["value"]
             .agg(["min", "median", "max"]))
    merged = spread.set_index(KEYS)[["min", "median", "max"]].join(stats, rsuffix="_each")
    assert len(merged) == len(spread)
    for col in ("min", "median", "max"):
        np.testing.assert_array_equal(merged[col], merged[f"{col}_each"])
    here = cohort_quantities(main, spec, member="main", n_draws=N_DRAWS)
    mains = spread.set_index(KEYS)[["main"]].join(
        here.assign(value=_value(here)).set_index(KEYS)["value"])
    np.testing.assert_array_equal(mains["main"], mains["value"])
    # the members differ, so some quantity moves
    assert (spread["max"] - spread["min"]).max() > 0.01


def test_single_member_equal_to_main_has_no_spread(setup):
    spec, main, _, _, _ = setup
    _, spread = ensemble_sensitivity([main], spec, main=main, n_draws=500)
    for col in ("min", "median", "max"):
        np.testing.assert_array_equal(spread[col], spread["main"])


def _direct(main: Cohort, spec, endpoint: str, family_name: str, prior: str):
    """Exact posterior and a fresh family built from first principles (not via the spec)."""
    data = main.endpoint(endpoint)
    kind, _, strength = prior.partition("-")
    kwargs = log_hr_prior(kind, strength=strength or "moderate").prior.kwargs
    mu, sigma = kwargs["mu"], kwargs["sigma"]
    if family_name == "piecewise_exponential":
        cuts = default_cuts(data.time, data.event, n_intervals=3)
        return data, pem_posterior(data, cuts=cuts, log_hr_mu=mu, log_hr_sigma=sigma), \
            PiecewiseExponentialPH()
    return data, weibull_posterior(data, log_hr_mu=mu, log_hr_sigma=sigma), WeibullPH()


def test_main_equals_an_independent_direct_exact_computation(setup):
    spec, main_cohort, _, _, spread = setup
    bayes = spec.bayes
    for (endpoint, family_name, prior), rows in spread.groupby(["endpoint", "family", "prior"]):
        data, post, family = _direct(main_cohort, spec, endpoint, family_name, prior)

        def main(quantity, time=np.nan, threshold=np.nan, rows=rows):
            hit = rows[(rows["quantity"] == quantity)
                       & ((rows["time"] == time) | (np.isnan(time) & rows["time"].isna()))
                       & ((rows["threshold"] == threshold)
                          | (np.isnan(threshold) & rows["threshold"].isna()))]
            assert len(hit) == 1, (quantity, time, threshold)
            return float(hit["main"].iloc[0])

        # HR quantities: the quadrature values, no Monte Carlo error
        assert main("prob_hr_below", threshold=1.0) == pytest.approx(post.prob_hr_below(1.0),
                                                                     rel=1e-12)
        assert main("prob_hr_below", threshold=0.8) == pytest.approx(post.prob_hr_below(0.8),
                                                                     rel=1e-12)
        assert main("prob_rope", threshold=0.9) == pytest.approx(
            post.prob_hr_below(1.11) - post.prob_hr_below(0.9), rel=1e-12)
        assert main("hr") == pytest.approx(np.exp(post.log_hr_quantile(0.5)), rel=1e-12)
        # survival differences, as decide() defines them, on the same exact draws
        draws = post.draws(N_DRAWS, rng=SEED)  # the draws the sensitivity uses
        dec = decide(draws["log_hr"], survival=lambda t, a, d=draws, f=family: f.survival(d, t, a),
                     arms=data.arms, hr_thresholds=bayes.hr_thresholds, rope=bayes.rope,
                     landmarks=bayes.landmarks, deltas=bayes.deltas, rmst_tau=None).table
        for t in bayes.landmarks:
            diff = dec[(dec["quantity"] == "survival_difference") & (dec["time"] == t)]
            assert main("survival_difference", time=t) == pytest.approx(
                diff["estimate"].item(), rel=1e-12, abs=1e-15)
            probs = dec[(dec["quantity"] == "prob_survival_difference_above")
                        & (dec["time"] == t)]
            for delta, p in zip(probs["threshold"], probs["probability"], strict=True):
                assert main("prob_survival_difference_above", time=t, threshold=delta) == \
                    pytest.approx(p, abs=1e-15)
        # decide's Monte Carlo HR quantities agree with the exact ones within 4 MC SE
        for c in bayes.hr_thresholds:
            p_exact = post.prob_hr_below(c)
            p_mc = dec[(dec["quantity"] == "prob_hr_below")
                       & (dec["threshold"] == c)]["probability"].item()
            assert abs(p_mc - p_exact) <= 4 * np.sqrt(p_exact * (1 - p_exact) / N_DRAWS) + 1e-3
        hr_mc = dec[dec["quantity"] == "hr"]["estimate"].item()
        assert abs(np.log(hr_mc) - np.log(main("hr"))) <= \
            4 * 1.2533 * post.log_hr_sd() / np.sqrt(N_DRAWS)


def test_hand_check_of_pem_probability_by_one_dimensional_quadrature(setup):
    _, main_cohort, _, _, spread = setup
    data = main_cohort.endpoint("os")
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
    row = spread[(spread["endpoint"] == "os") & (spread["family"] == "piecewise_exponential")
                 & (spread["prior"] == "neutral") & (spread["quantity"] == "prob_hr_below")
                 & (spread["threshold"] == 1.0)]
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
def test_exact_posterior_uses_the_priors_of_the_pymc_family(setup, family_name):
    spec, main_cohort, _, _, _ = setup
    data = main_cohort.endpoint("pfs")
    family = family_for(spec, main_cohort, FitKey("pfs", family_name, "skeptical-strong"))
    post = family.exact_posterior(data)
    model = family.build_model(data)
    mu, sigma = post.settings["log_hr_prior"]
    assert (mu, sigma) == (0.0, pytest.approx(0.21))
    beta = np.array(0.3)
    assert _logp(model, "log_hr", beta) == pytest.approx(norm.logpdf(0.3, mu, sigma), rel=1e-9)
    a0 = post.settings["a0"]
    if family_name == "piecewise_exponential":
        np.testing.assert_array_equal(model["cuts"].get_value(), post.settings["cuts"])
        assert post.settings["cuts"].size == 3 - 1  # family_options: n_intervals = 3
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
    spec, main, members, rows, spread = setup
    again_rows, again = ensemble_sensitivity(members, spec, main=main, n_draws=N_DRAWS)
    pd.testing.assert_frame_equal(again, spread, check_exact=True)
    pd.testing.assert_frame_equal(again_rows, rows, check_exact=True)


def test_families_without_an_exact_posterior_are_left_out(setup, tmp_path):
    spec, main, members, _, _ = setup
    text = SPEC.replace("n_intervals = 3", 'n_intervals = 3\nbaseline = "random_walk"')
    (tmp_path / "main.csv").write_text((spec.data.file).read_text())
    (tmp_path / "small.toml").write_text(text)
    walk = load_spec(tmp_path / "small.toml")
    rows = cohort_quantities(main, walk, n_draws=200)
    assert set(rows["family"]) == {"weibull"}  # the random-walk PEM has none
    with pytest.raises(BridgeBayesError, match="no exact posterior"):
        family_for(walk, main, FitKey("os", "piecewise_exponential", "neutral")
                   ).exact_posterior(main.endpoint("os"))
    varying = PiecewiseExponentialPH(time_varying=True)
    assert not varying.has_exact_posterior()
    with pytest.raises(BridgeBayesError, match="no exact posterior"):
        varying.exact_posterior(main.endpoint("os"))
    # a spec where no family has one: empty tables, not an error
    (tmp_path / "small.toml").write_text(text.replace('"piecewise_exponential", "weibull"',
                                                      '"piecewise_exponential"'))
    none = load_spec(tmp_path / "small.toml")
    assert cohort_quantities(main, none, n_draws=200).empty
    rows, spread = ensemble_sensitivity(members, none, main=main, n_draws=200)
    assert rows.empty and spread.empty and tuple(spread.columns) == SUMMARY_COLUMNS


def test_bad_inputs_are_named(setup, tmp_path):
    spec, main, *_ = setup
    with pytest.raises(BridgeBayesError, match="no ensemble members"):
        ensemble_sensitivity([], spec, main=main)
    (tmp_path / "main.csv").write_text(spec.data.file.read_text())
    (tmp_path / "small.toml").write_text(SPEC[:SPEC.index("[bayes]")])
    with pytest.raises(BridgeBayesError, match=r"no \[bayes\] section to repeat"):
        cohort_quantities(main, load_spec(tmp_path / "small.toml"))
