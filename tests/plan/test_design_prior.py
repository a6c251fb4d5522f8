"""Tests for :mod:`bridgebayes.plan.design_prior`: reading a run's NetCDF, discounting,
explicit priors.  References: the draws written to the file; the variance algebra of the
power-prior stretch; the binomial fraction of the robust mixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from posterior_files import write_posterior as _netcdf

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.plan.design_prior import DesignPrior, explicit_prior, posterior_design_prior


@pytest.fixture
def pem_file(tmp_path):
    rng = np.random.default_rng(1)
    post = {"log_hr": rng.normal(-0.5, 0.3, (2, 500)),
            "lambda": rng.gamma(20.0, 0.002, (2, 500, 3))}
    return _netcdf(tmp_path / "pem.nc", {"name": "piecewise_exponential", "covariates": []},
                   post, {"cuts": np.array([6.0, 12.0])}), post


def test_pem_posterior_draws_are_read_jointly(pem_file):
    path, post = pem_file
    prior = posterior_design_prior(path)
    assert prior.family == PiecewiseExponentialPH(cuts=(6.0, 12.0))  # the file's cut points
    assert prior.hr_cuts.size == 0
    np.testing.assert_array_equal(prior.draws["log_hr"], post["log_hr"].reshape(-1))
    rng = np.random.default_rng(2)
    truths = prior.sample(50, rng)
    rows = np.random.default_rng(2).integers(0, 1000, 50)  # same stream: rows drawn first
    np.testing.assert_array_equal(truths.log_hr[:, 0], post["log_hr"].reshape(-1)[rows])
    np.testing.assert_array_equal(truths.baseline["lambda"], post["lambda"].reshape(-1, 3)[rows])
    assert truths.family.cuts == (6.0, 12.0)


def test_weibull_and_time_varying_posteriors(tmp_path):
    rng = np.random.default_rng(3)
    post = {"log_hr": rng.normal(size=(1, 10)), "k": rng.gamma(5, 0.2, (1, 10)),
            "lam": rng.gamma(5, 0.01, (1, 10))}
    w = _netcdf(tmp_path / "w.nc", {"name": "weibull", "covariates": [], "log_k_sigma": 0.5},
                post)
    prior = posterior_design_prior(w)
    assert prior.family == WeibullPH(log_k_sigma=0.5) and set(prior.draws) == {"log_hr", "k",
                                                                               "lam"}
    truths = prior.sample(3, np.random.default_rng(4))
    rows = np.random.default_rng(4).integers(0, 10, 3)
    assert truths.baseline["k"].shape == (3,)
    np.testing.assert_array_equal(truths.baseline["k"], post["k"].ravel()[rows])
    np.testing.assert_array_equal(truths.baseline["lam"], post["lam"].ravel()[rows])
    tv_post = {"log_hr": rng.normal(size=(1, 10)),
               "log_hr_interval": rng.normal(size=(1, 10, 2)),
               "lambda": rng.gamma(5, 0.01, (1, 10, 2))}
    tv = _netcdf(tmp_path / "tv.nc", {"name": "piecewise_exponential", "covariates": [],
                                      "time_varying": True}, tv_post, {"cuts": np.array([6.0])})
    tv_prior = posterior_design_prior(tv)
    assert "time-varying" in tv_prior.source
    truths = tv_prior.sample(4, np.random.default_rng(5))
    rows = np.random.default_rng(5).integers(0, 10, 4)
    assert truths.log_hr.shape == (4, 2) and truths.hr_cuts.tolist() == [6.0]
    np.testing.assert_allclose(truths.log_hr, tv_post["log_hr_interval"][0][rows], rtol=1e-12,
                               atol=1e-15)  # centre + (draw - centre): rounding only
    assert truths.family.cuts == (6.0,)


def test_power_prior_inflates_the_variance_by_one_over_a0(pem_file):
    path, _ = pem_file
    prior = posterior_design_prior(path)
    rows, plain = prior.log_hr_draws(20000, np.random.default_rng(4))
    rows2, half = prior.discounted(a0=0.25).log_hr_draws(20000, np.random.default_rng(4))
    np.testing.assert_array_equal(rows, rows2)
    centre = prior.draws["log_hr"].mean()
    np.testing.assert_allclose(half - centre, (plain - centre) * 2.0, rtol=1e-12)


def test_robust_mixture_replaces_the_expected_fraction(pem_file):
    path, _ = pem_file
    prior = posterior_design_prior(path).discounted(vague_weight=0.3, vague_mean=1.0,
                                                    vague_sd=1e-6)
    _, log_hr = prior.log_hr_draws(20000, np.random.default_rng(5))
    share = np.mean(np.abs(log_hr[:, 0] - 1.0) < 1e-4)
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20000)


def test_explicit_prior():
    prior = explicit_prior(log_hr_mu=-0.4, log_hr_sigma=0.2,
                           family=PiecewiseExponentialPH(cuts=(6.0,)),
                           baseline={"lambda": [0.05, 0.02]}, hr_cuts=(3.0,))
    truths = prior.sample(40000, np.random.default_rng(6))
    assert truths.log_hr.shape == (40000, 2)
    assert abs(truths.log_hr[:, 0].mean() + 0.4) < 4 * 0.2 / np.sqrt(40000)
    assert abs(truths.log_hr[:, 0].std() - 0.2) < 0.005
    np.testing.assert_array_equal(truths.log_hr[:, 0], truths.log_hr[:, 1])  # one log HR
    np.testing.assert_array_equal(truths.baseline["lambda"][0], [0.05, 0.02])
    # H0(10) = 0.05 * 6 + 0.02 * 4 on the family's cut point
    assert truths.take([0]).baseline_cumhaz(np.array([[10.0]]))[0, 0] == pytest.approx(0.38)
    w = explicit_prior(log_hr_mu=0.0, log_hr_sigma=0.1, family="weibull",
                       baseline={"k": 1.5, "lam": 0.01})
    assert isinstance(w.family, WeibullPH)
    wt = w.sample(2, np.random.default_rng(1))
    assert wt.baseline["k"].tolist() == [1.5, 1.5] and wt.baseline["lam"].tolist() == [0.01] * 2
    assert wt.baseline_cumhaz(np.array([[4.0], [4.0]]))[0, 0] == pytest.approx(0.01 * 4**1.5)
    # one interval: no interior cut points
    one = explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0,
                         family=PiecewiseExponentialPH(cuts=()), baseline={"lambda": [0.03]})
    assert one.sample(1, np.random.default_rng(0)).baseline_cumhaz(
        np.array([[10.0]]))[0, 0] == pytest.approx(0.3)
    # the family's name alone has no cut points (they are family options)
    with pytest.raises(BridgeBayesError, match=r"does not fit family.*no 'cuts'"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, baseline={"lambda": [0.03]})


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(BridgeBayesError, match=r"not found.*bridgebayes run"):
        posterior_design_prior(tmp_path / "missing.nc")
    cov = _netcdf(tmp_path / "cov.nc", {"name": "weibull", "covariates": ["age"]},
                  {"log_hr": np.zeros((1, 3))})
    with pytest.raises(BridgeBayesError, match="covariates"):
        posterior_design_prior(cov)
    cox = _netcdf(tmp_path / "cox.nc", {"name": "cox"}, {"log_hr": np.zeros((1, 3))})
    with pytest.raises(BridgeBayesError, match="not a bridgebayes posterior"):
        posterior_design_prior(cox)
    bad = _netcdf(tmp_path / "bad.nc", {"name": "weibull", "shape": 2.0},
                  {"log_hr": np.zeros((1, 3))})
    with pytest.raises(BridgeBayesError, match="unknown option"):
        posterior_design_prior(bad)
    two = PiecewiseExponentialPH(cuts=(6.0,))
    with pytest.raises(BridgeBayesError, match="does not fit family"):  # 2 hazards needed
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, family=two, baseline={"lambda": [0.1]})
    with pytest.raises(BridgeBayesError, match="does not fit family"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, family="weibull",
                       baseline={"lambda": [0.1]})
    with pytest.raises(BridgeBayesError, match="does not fit family"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, baseline={"lambda": [0.1, -0.1]},
                       family=two)
    with pytest.raises(BridgeBayesError, match=r"expected the parameters \['lambda'\]"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, baseline={"lambda": [0.1], "k": 1.0})
    with pytest.raises(BridgeBayesError, match="does not fit family"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, family="weibull",
                       baseline={"k": "one", "lam": 0.1})
    with pytest.raises(BridgeBayesError, match="family"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, family="pem",
                       baseline={"lambda": [0.1]})
    with pytest.raises(BridgeBayesError, match="log_hr_sigma"):
        explicit_prior(log_hr_mu=0.0, log_hr_sigma=0.0, baseline={"lambda": [0.1]})
    with pytest.raises(BridgeBayesError, match="a0"):
        DesignPrior(PiecewiseExponentialPH(), {"log_hr": np.zeros(1)}, a0=1.5)


def test_a_cure_posterior_becomes_piecewise_truths_with_its_survival_at_every_cut(tmp_path):
    """A mixture cure model has no single HR: its draws become PEM hazards per arm whose
    survival at each cut point is the closed form pi_a + (1 - pi_a) exp(-lam t^k HR^a)."""
    rng = np.random.default_rng(6)
    n = 40
    post = {"log_hr": rng.normal(-0.3, 0.2, (1, n)), "k": rng.gamma(20, 0.05, (1, n)),
            "lam": rng.gamma(20, 0.002, (1, n)), "cure_reference": rng.beta(8, 12, (1, n)),
            "cure_log_or": rng.normal(0.4, 0.2, (1, n))}
    path = _netcdf(tmp_path / "cure.nc", {"name": "mixture_cure", "covariates": [],
                                          "mean_time": 24.0}, post)
    prior = posterior_design_prior(path)
    assert prior.family.name == "piecewise_exponential" and "Mixture cure" in prior.source
    cuts = np.asarray(prior.family.cuts)
    assert prior.hr_cuts.tolist() == cuts.tolist() and cuts[-1] == 120.0  # months grid
    p = {k: v.ravel() for k, v in post.items()}
    pi0 = p["cure_reference"]
    pi1 = 1 / (1 + np.exp(-(np.log(pi0 / (1 - pi0)) + p["cure_log_or"])))
    widths = np.diff(np.concatenate([[0.0], cuts]))
    for arm, pi in ((0, pi0), (1, pi1)):
        latency = np.exp(-p["lam"][:, None] * cuts ** p["k"][:, None]
                         * np.exp(arm * p["log_hr"])[:, None])
        closed = pi[:, None] + (1 - pi[:, None]) * latency
        rate = prior.draws["lambda"] * (np.exp(prior.draws["log_hr"]) if arm else 1.0)
        piecewise = np.exp(-np.cumsum(rate[:, :-1] * widths, axis=1))
        np.testing.assert_allclose(piecewise, closed, rtol=1e-9)
    truths = prior.sample(5, np.random.default_rng(7))
    assert truths.log_hr.shape == (5, cuts.size + 1)


def test_a_bias_shifts_and_widens_the_design_log_hr_as_the_closed_form(pem_file):
    """log HR_true = log HR + delta, delta ~ Normal(mu_b, sigma_b) per trial and independent
    of the draw: mean m + mu_b, variance s^2 + sigma_b^2 (with a0: s^2 / a0 + sigma_b^2)."""
    path, post = pem_file
    plain = posterior_design_prior(path)
    m, s2 = post["log_hr"].mean(), post["log_hr"].var()
    n = 200_000
    for a0, mu_b, sigma_b in ((1.0, 0.15, 0.2), (0.5, -0.1, 0.4)):
        prior = plain.discounted(a0=a0, bias_mu=mu_b, bias_sigma=sigma_b)
        _, log_hr = prior.log_hr_draws(n, np.random.default_rng(8))
        var = s2 / a0 + sigma_b ** 2
        # MCSE of a mean sqrt(var / n); of a variance about var * sqrt(2 / n) (near normal)
        assert abs(log_hr[:, 0].mean() - (m + mu_b)) < 4 * np.sqrt(var / n)
        assert abs(log_hr[:, 0].var() - var) < 4 * var * np.sqrt(2 / n)
        summary = prior.bias_summary()
        assert summary["equivalent_a0"] == pytest.approx(s2 / (s2 + sigma_b ** 2), rel=1e-12)
        assert summary["equivalent_a0_total"] == pytest.approx(s2 / var, rel=1e-12)
    # the bias is per trial, not per posterior draw: the same row gets different biases
    rows, log_hr = plain.discounted(bias_sigma=0.3).log_hr_draws(5000, np.random.default_rng(9))
    again = log_hr[rows == rows[0], 0]
    assert again.size > 1 and np.ptp(again) > 0
    # without a bias the stream is unchanged (rows first, then the vague draws)
    np.testing.assert_array_equal(plain.discounted(vague_weight=0.2).log_hr_draws(
        100, np.random.default_rng(3))[1],
        plain.discounted(vague_weight=0.2, bias_sigma=0.0).log_hr_draws(
        100, np.random.default_rng(3))[1])
    assert plain.bias_summary() is None and plain.describe() == plain.source
    with pytest.raises(BridgeBayesError, match="bias_sigma"):
        plain.discounted(bias_sigma=-0.1)


def test_a_vague_component_is_neither_stretched_nor_biased(pem_file):
    path, _ = pem_file
    prior = posterior_design_prior(path).discounted(vague_weight=1.0, vague_mean=0.5,
                                                    vague_sd=1e-9, bias_mu=2.0, bias_sigma=1.0)
    _, log_hr = prior.log_hr_draws(1000, np.random.default_rng(1))
    np.testing.assert_allclose(log_hr, 0.5, atol=1e-6)


def test_equivalent_a0_is_the_variance_ratio():
    from bridgebayes.plan.design_prior import equivalent_a0

    assert equivalent_a0(0.09, 0.0) == 1.0
    assert equivalent_a0(0.09, 0.3) == pytest.approx(0.5, rel=1e-12)
    assert equivalent_a0(0.04, 0.4) == pytest.approx(0.04 / 0.2, rel=1e-12)
    assert equivalent_a0(0.04, 0.2, a0=0.5) == pytest.approx(0.04 / (0.08 + 0.04), rel=1e-12)
    # an explicit prior's variance is its sigma^2
    explicit = explicit_prior(log_hr_mu=-0.2, log_hr_sigma=0.3,
                              family=PiecewiseExponentialPH(cuts=()),
                              baseline={"lambda": [0.03]}).discounted(bias_sigma=0.3)
    assert explicit.bias_summary()["equivalent_a0"] == pytest.approx(0.5, rel=1e-12)
    assert "a0 = 0.5" in explicit.describe()
