"""Model checks: KM on a grid vs lifelines, inverse-CDF sampling vs closed forms, censoring
draws vs the reverse KM, posterior predictive coverage (well vs mis-specified), prior
predictive vs the prior's closed form, power-scaling sensitivity (conflict vs vague).

Posteriors here are exact-oracle draws (i.i.d., milliseconds) wrapped in a ``Fit``; one small
NUTS fit checks the functions end to end on what ``fit`` returns.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from scipy import stats
from simulation import simulate_weibull_trial

from bridgebayes import load_cohort
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.checks import (
    censoring_times,
    kaplan_meier_on_grid,
    posterior_predictive_km,
    prior_predictive,
    prior_sensitivity,
    replicate_event_times,
    sample_event_times,
)
from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.fit import Fit, FitWarning, fit
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.summaries.decision import COLUMNS, Decision
from bridgebayes.summaries.decision import label as row_label


def exact_fit(data: EndpointData, family, *, n: int = 4000) -> Fit:
    """A ``Fit`` holding exact posterior draws (with the model's free variables and ``obs``)."""
    draws = family.exact_posterior(data).draws(n, rng=5)
    if isinstance(family, WeibullPH):
        post = {"log_hr": draws["log_hr"], "k": draws["k"], "lam": draws["lam"],
                "log_k": np.log(draws["k"]),
                "cumhaz_mean_time": draws["lam"] * np.mean(data.time) ** draws["k"]}
        const = {}
    else:
        post, const = {"log_hr": draws["log_hr"], "lambda": draws["lambda"]}, {
            "cuts": np.asarray(family.cuts)}
    loglik = family.log_likelihood(draws, data)
    idata = az.from_dict(posterior={k: v[None] for k, v in post.items()}, constant_data=const,
                         log_likelihood={"obs": loglik[None]}, dims={"lambda": ["interval"]})
    return Fit(idata=idata, family=family, data=data, gate=None, retried=False)


def jump_hazard_trial(seed: int, n_per_arm: int) -> EndpointData:
    """Hazard 0.005/month up to 12 months, then 0.4/month (treatment HR 0.6): not Weibull."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n_per_arm)
    e = rng.exponential(size=arm.size) / np.where(arm == 1, 0.6, 1.0)
    t = np.where(e < 0.06, e / 0.005, 12.0 + (e - 0.06) / 0.4)
    c = rng.uniform(10.0, 40.0, arm.size)
    return EndpointData("os", np.minimum(t, c), (t <= c).astype(int), arm, ("ref", "trt"),
                        np.arange(arm.size))


# --- building blocks ----------------------------------------------------------------------

def test_kaplan_meier_on_grid_matches_lifelines_with_ties():
    rng = np.random.default_rng(1)
    time = rng.integers(1, 8, (5, 30)).astype(float)  # many ties, events and censorings
    event = rng.random((5, 30)) < 0.6
    grid = np.linspace(0.0, 9.0, 37)
    ours = kaplan_meier_on_grid(time, event, grid)
    for r in range(5):
        km = KaplanMeierFitter().fit(time[r], event[r])
        want = km.survival_function_at_times(grid).to_numpy()
        np.testing.assert_allclose(ours[r], want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kaplan_meier_on_grid(time[0], event[0], grid), ours[0])


def test_sample_event_times_inverts_piecewise_hazards_exactly_and_weibull_closely():
    rng = np.random.default_rng(2)
    unit_exp = rng.exponential(size=(3, 500))
    # piecewise: rates 0.1 on (0, 5], 0.02 after; cuts on the grid -> exact
    grid = np.unique(np.r_[np.linspace(0.0, 60.0, 601), 5.0])
    cumhaz = np.where(grid < 5, 0.1 * grid, 0.5 + 0.02 * (grid - 5))
    times = sample_event_times(np.tile(cumhaz, (3, 1)), grid, unit_exp)
    want = np.where(unit_exp < 0.5, unit_exp / 0.1, 5 + (unit_exp - 0.5) / 0.02)
    want[want > 60] = np.inf
    np.testing.assert_allclose(times, want, rtol=1e-10)
    # Weibull H = lam t^k: T = (E / lam)^(1/k); a fine grid gives about 1e-3 relative accuracy
    lam, k = np.array([[0.05], [0.01], [0.2]]), np.array([[0.7], [1.5], [2.5]])
    grid = np.unique(np.r_[np.linspace(0.0, 60.0, 4001), np.geomspace(6e-7, 60.0, 801)])
    times = sample_event_times(lam * grid[None, :] ** k, grid, unit_exp)
    want = (unit_exp / lam) ** (1 / k)
    inside = want < 60
    np.testing.assert_allclose(times[inside], want[inside], rtol=2e-3)
    assert np.isinf(times[~inside]).all()


def test_censoring_times_follow_the_conditional_reverse_km():
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([1, 0, 1, 0, 1, 0])  # censored at 2, 4, 6; events at 1, 3, 5
    cens = censoring_times(time, event, 20_000, np.random.default_rng(3))
    np.testing.assert_array_equal(cens[:, event == 0], np.tile([2.0, 4.0, 6.0], (20_000, 1)))
    # reverse KM (censoring is the "event"): at risk 5 at t=2, 3 at t=4, 1 at t=6
    g = np.array([1.0, 4 / 5, 4 / 5 * 2 / 3, 0.0])  # G(0), G(2), G(4), G(6)
    mass = {2.0: g[0] - g[1], 4.0: g[1] - g[2], 6.0: g[2] - g[3]}
    for i, t in ((0, 1.0), (2, 3.0), (4, 5.0)):
        support = {c: m for c, m in mass.items() if c >= t}
        total = sum(support.values())
        for c, m in support.items():
            p_hat, p = np.mean(cens[:, i] == c), m / total
            assert abs(p_hat - p) < 4 * np.sqrt(p * (1 - p) / 20_000) + 1e-12
        assert np.isin(cens[:, i], list(support)).all()


def test_censoring_without_censored_patients_is_at_the_last_time():
    cens = censoring_times(np.array([1.0, 4.0, 2.5]), np.ones(3), 10, np.random.default_rng(0))
    assert (cens == 4.0).all()


def test_replicated_times_follow_the_model_per_arm_and_covariate():
    # one draw repeated: each patient's replicated times are i.i.d. from its own Weibull
    lam, k, log_hr, beta, center, scale = 0.01, 1.4, -0.5, 0.8, 50.0, 10.0
    age = np.array([40.0, 60.0, 40.0, 60.0])
    data = EndpointData("os", np.array([200.0, 3.0, 5.0, 8.0]), np.array([0, 1, 1, 1]),
                        np.array([0, 0, 1, 1]), ("ref", "trt"), np.arange(4),
                        covariates=pd.DataFrame({"age": age}))
    n = 4000
    draws = {"log_hr": np.full(n, log_hr), "k": np.full(n, k), "lam": np.full(n, lam),
             "beta": np.full((n, 1), beta), "covariate_center": np.array([center]),
             "covariate_scale": np.array([scale])}
    times = replicate_event_times(WeibullPH(covariates=("age",)), draws, data,
                                  np.random.default_rng(4))
    for i in range(4):
        rate = lam * np.exp(log_hr * data.arm[i] + beta * (age[i] - center) / scale)
        cdf = lambda t, rate=rate: 1 - np.exp(-rate * np.asarray(t) ** k)  # noqa: E731
        t = times[:, i]
        # censored at the last observed time (200): compare the observed part and its mass
        assert abs(np.mean(np.isinf(t)) - (1 - cdf(200.0))) < 4 * np.sqrt(0.25 / n) + 1e-3
        finite = np.sort(t[np.isfinite(t)])
        ks = stats.kstest(finite, lambda x, c=cdf: c(x) / c(200.0))
        assert ks.pvalue > 1e-3, (i, ks)


# --- posterior predictive KM ----------------------------------------------------------------

def test_ppc_covers_the_km_of_a_well_specified_weibull_fit():
    data = simulate_weibull_trial(0, 60, shape=1.3, hr=0.6, censored=0.3)
    check = posterior_predictive_km(exact_fit(data, WeibullPH()), rng=1)
    table = check.table
    assert list(table.columns) == ["time", "arm", "observed", "lower", "median", "upper",
                                   "inside"]
    assert (table["lower"] <= table["median"]).all() and (table["median"] <= table["upper"]).all()
    for code, label in enumerate(data.arms):
        part = table[table["arm"] == label]
        assert part["time"].max() <= data.time[data.arm == code].max()
        km = KaplanMeierFitter().fit(data.time[data.arm == code], data.event[data.arm == code])
        np.testing.assert_allclose(part["observed"],
                                   km.survival_function_at_times(part["time"]).to_numpy())
    coverage = check.coverage.set_index("arm")["coverage"]
    assert (coverage >= 0.9).all(), coverage
    assert "inside the posterior predictive band" in check.summary()


def test_ppc_detects_a_weibull_fitted_to_a_jump_in_the_hazard():
    data = jump_hazard_trial(0, 60)
    wrong = posterior_predictive_km(exact_fit(data, WeibullPH()), rng=1).coverage
    right = posterior_predictive_km(exact_fit(data, PiecewiseExponentialPH(cuts=(12.0,))),
                                    rng=1).coverage
    wrong, right = (c.set_index("arm")["coverage"]["both arms"] for c in (wrong, right))
    assert right >= 0.9
    assert wrong <= 0.85 and right - wrong >= 0.1, (wrong, right)


def test_ppc_rejects_bad_options():
    result = exact_fit(simulate_weibull_trial(0, 6, shape=1.0, hr=1.0, censored=0.2),
                       WeibullPH(), n=50)
    with pytest.raises(BridgeBayesError, match="n_rep: expected an integer >= 2"):
        posterior_predictive_km(result, n_rep=1, rng=0)
    with pytest.raises(BridgeBayesError, match=r"grid: expected finite times > 0"):
        posterior_predictive_km(result, grid=[0.0, 5.0], rng=0)


# --- prior predictive ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed_os(repo_root):
    return load_cohort(repo_root / "data" / "cao2025" / "cohort.csv",
                       arms=("blinatumomab", "CAR-T")).endpoint("os")


def test_prior_predictive_hr_matches_the_normal_prior(seed_os):
    mu, sigma, n = -0.2, 0.42, 4000
    pp = prior_predictive(WeibullPH(log_hr_mu=mu, log_hr_sigma=sigma), seed_os, n=n, rng=7)
    decision = Decision(pp.table)
    hr = decision.get("hr")
    z = stats.norm.ppf(0.975)
    for q, got, want in ((0.5, hr["estimate"], mu), (0.025, hr["lower"], mu - z * sigma),
                         (0.975, hr["upper"], mu + z * sigma)):
        # SD of a sample quantile: sqrt(q (1 - q) / n) / density at the quantile
        se = np.sqrt(q * (1 - q) / n) / stats.norm.pdf(stats.norm.ppf(q)) * sigma
        assert abs(np.log(got) - want) < 4 * se
    p1 = decision.get("prob_hr_below", threshold=1.0)["probability"]
    p = stats.norm.cdf(-mu / sigma)
    assert abs(p1 - p) < 4 * np.sqrt(p * (1 - p) / n)
    # the baseline prior too: log k ~ Normal(0, 1)
    assert stats.kstest(np.log(pp.draws["k"]), stats.norm(0, 1).cdf).pvalue > 1e-3


@pytest.mark.parametrize("family", [WeibullPH(log_hr_sigma=0.42),
                                    PiecewiseExponentialPH(log_hr_sigma=0.42)],
                         ids=["weibull", "pem"])
def test_default_priors_imply_non_degenerate_survival_on_the_seed_cohort(seed_os, family):
    pp = prior_predictive(family, seed_os, n=1000, rng=3)
    assert tuple(pp.table.columns) == COLUMNS
    middle = pp.table[pp.table["quantity"] == "prob_survival_between"]
    assert len(middle) == 4  # two landmarks x two arms
    assert sorted(zip(middle["arm"], middle["time"], strict=True)) == sorted(
        (a, t) for a in seed_os.arms for t in (12.0, 24.0))
    assert (middle["threshold"] == 0.01).all() and (middle["threshold_upper"] == 0.99).all()
    assert (middle["probability"] >= 0.2).all(), middle
    for _, row in middle.iterrows():  # P(0.01 < S(t) < 0.99) of the prior draws
        s = family.survival(pp.draws, [row["time"]], seed_os.arms.index(row["arm"]))[:, 0]
        assert row["probability"] == pytest.approx(np.mean((s > 0.01) & (s < 0.99)), abs=1e-12)
    assert row_label(middle.iloc[0]) == "P(0.01 < S(12 months) < 0.99)"
    s12 = pp.table.query("quantity == 'survival' and time == 12")
    assert len(s12) == 2
    assert (s12["upper"] - s12["lower"] > 0.5).all()  # a wide 95% prior interval
    assert set(pp.curves["arm"]) == set(seed_os.arms)


# --- power-scaling sensitivity ---------------------------------------------------------------

def test_a_strong_conflicting_prior_is_flagged_and_a_vague_one_is_not():
    data = simulate_weibull_trial(3, 60, shape=1.0, hr=0.4, censored=0.3)
    strong = prior_sensitivity(exact_fit(data, WeibullPH(log_hr_mu=np.log(2.5),
                                                         log_hr_sigma=0.1)))
    vague = prior_sensitivity(exact_fit(data, WeibullPH(log_hr_sigma=10.0)))
    assert list(strong["parameter"]) == ["log_hr", "k", "lam"]
    s, v = (t.set_index("parameter").loc["log_hr"] for t in (strong, vague))
    assert s["prior"] > 0.2 and s["likelihood"] >= 0.05
    assert s["log_hr_prior_only"] > 0.2
    assert s["diagnosis"] == "prior and likelihood both influential"
    assert v["prior"] < 0.05 and v["log_hr_prior_only"] < 0.05 and v["diagnosis"] == "-"
    assert strong.set_index("parameter")["log_hr_prior_only"].drop("log_hr").isna().all()


def test_prior_sensitivity_reports_each_pem_interval():
    data = simulate_weibull_trial(4, 40, shape=1.0, hr=0.7, censored=0.3)
    table = prior_sensitivity(exact_fit(data, PiecewiseExponentialPH(cuts=(10.0,))))
    assert list(table["parameter"]) == ["log_hr", "lambda[0]", "lambda[1]"]
    assert table[["prior", "likelihood"]].ge(0).all().all()


def test_prior_sensitivity_adds_a_missing_log_likelihood():
    result = exact_fit(simulate_weibull_trial(0, 6, shape=1.0, hr=1.0, censored=0.2),
                       WeibullPH(), n=50)
    bare = Fit(idata=az.InferenceData(posterior=result.idata.posterior), family=result.family,
               data=result.data, gate=None, retried=False)
    pd.testing.assert_frame_equal(prior_sensitivity(bare), prior_sensitivity(result))
    np.testing.assert_allclose(bare.idata.log_likelihood["obs"],
                               result.idata.log_likelihood["obs"])


# --- end to end on a NUTS fit ------------------------------------------------------------------

def test_checks_run_on_a_nuts_fit_of_a_time_varying_pem():
    data = simulate_weibull_trial(5, 25, shape=1.0, hr=0.6, censored=0.3)
    family = PiecewiseExponentialPH(cuts=(8.0,), time_varying=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = fit(data, family, seed=2, sampler=SamplerSettings(
            chains=2, draws=500, tune=500, retry_tune=500))
    check = posterior_predictive_km(result, n_rep=100, rng=0)
    assert check.coverage["coverage"].min() >= 0.8
    table = prior_sensitivity(result)
    assert list(table["parameter"]) == [
        "log_hr", "lambda[(0, 8]]", "lambda[(8, inf)]", "log_hr_interval[(0, 8]]",
        "log_hr_interval[(8, inf)]"]
    decision = result.decide()
    intervals = decision.table[decision.table["quantity"] == "interval_hr"]
    assert intervals["component"].tolist() == ["0–8", "≥8"]
    draws = result.draws()
    for j, row in enumerate(intervals.itertuples()):
        assert row.estimate == pytest.approx(np.median(np.exp(draws["log_hr_interval"][:, j])))
    assert (decision.table["quantity"] == "prob_interval_hr_below").sum() == 2
