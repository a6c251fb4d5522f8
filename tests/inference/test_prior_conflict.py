"""The prior-data conflict check against independent computations: the closed-form
normal-normal tail probability and quadrature of the prior predictive (the calibration at a
study's design: test_calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import binom, norm

from bridgebayes.inference.prior_conflict import (
    conflict_pvalue,
    log_hr_conflict,
    sum_pmf,
)


@pytest.mark.parametrize("observed", [-0.6, 0.9, 1.6, -2.4])
def test_the_tail_probability_is_the_normal_normal_closed_form(observed):
    """theta ~ N(0.2, 0.5^2), T | theta ~ N(theta, 0.6^2): T ~ N(0.2, 0.61) and the
    Evans–Moshonov tail probability is 2 (1 - Phi(|t - 0.2| / sqrt(0.61)))."""
    rng = np.random.default_rng(7)
    t = rng.normal(rng.normal(0.2, 0.5, 20000), 0.6)
    exact = 2 * norm.sf(abs(observed - 0.2) / np.sqrt(0.5 ** 2 + 0.6 ** 2))
    assert conflict_pvalue(t, observed) == pytest.approx(exact, abs=0.01)


def test_the_sum_of_binomials_is_their_convolution():
    totals, share = [3, 0, 5], np.array([[0.2, 0.5, 0.7], [0.9, 0.1, 0.4]])
    pmf = sum_pmf(totals, share)
    for row, s in zip(pmf, share, strict=True):
        expected = np.convolve(binom.pmf(np.arange(4), 3, s[0]), binom.pmf(np.arange(6), 5, s[2]))
        np.testing.assert_allclose(row, expected, atol=1e-14)


def _quadrature_pvalue(d: int, k_obs: int, exposure, mu: float, sigma: float) -> float:
    """m(k) = integral of Binomial(k; d, pi(theta)) N(theta; mu, sigma) by quad."""
    e0, e1 = exposure

    def m(k):
        return integrate.quad(lambda t: binom.pmf(k, d, 1 / (1 + e0 / (e1 * np.exp(t))))
                              * norm.pdf(t, mu, sigma), mu - 10 * sigma, mu + 10 * sigma,
                              epsabs=1e-12)[0]
    pred = np.array([m(k) for k in range(d + 1)])
    return float(pred[pred <= pred[k_obs] * (1 + 1e-9)].sum())


@pytest.mark.parametrize(("k_obs", "mu", "sigma"), [(8, 0.0, 1.0), (8, 0.0, 0.42),
                                                    (2, -0.67, 0.42), (11, 0.0, 0.42)])
def test_the_conflict_check_is_the_quadrature_of_its_prior_predictive(k_obs, mu, sigma):
    """Seed-like OS: 11 deaths, exposures 398 vs 926 patient-months, one interval."""
    events = np.array([[11 - k_obs, k_obs]])
    exposure = np.array([[398.0, 926.0]])
    draws = np.random.default_rng(3).normal(mu, sigma, 20000)
    check = log_hr_conflict(events, exposure, draws)
    assert check.p_value == pytest.approx(
        _quadrature_pvalue(11, k_obs, (398.0, 926.0), mu, sigma), abs=0.01)
    assert check.conflict == (check.p_value <= 0.05)
    assert check.prior_predictive.sum() == pytest.approx(1.0)


def test_with_many_events_the_check_approaches_the_normal_normal_case():
    """Equal exposures, 2000 events: log-HR MLE ~ N(theta, 4/2000), so the tail probability
    of the observed MLE is 2 (1 - Phi(|mle - mu| / sqrt(sigma^2 + 4/D)))."""
    d, k, mu, sigma = 2000, 1060, 0.0, 0.05
    mle = np.log(k / (d - k))
    exact = 2 * norm.sf(abs(mle - mu) / np.sqrt(sigma ** 2 + 4 / d))
    check = log_hr_conflict(np.array([[d - k, k]]), np.array([[100.0, 100.0]]),
                            np.random.default_rng(5).normal(mu, sigma, 4000))
    assert check.p_value == pytest.approx(exact, abs=0.01)


def test_a_confident_wrong_prior_conflicts_and_a_vague_one_does_not():
    events = np.array([[15, 5], [10, 3]])             # HR well below 1
    exposure = np.array([[100.0, 100.0], [80.0, 80.0]])
    rng = np.random.default_rng(1)
    wrong = log_hr_conflict(events, exposure, rng.normal(np.log(3.0), 0.1, 20000))
    vague = log_hr_conflict(events, exposure, rng.normal(0.0, 2.0, 20000))
    assert wrong.conflict and wrong.p_value < 0.001
    assert not vague.conflict and vague.p_value > 0.3


def test_the_detectable_discrepancy_has_the_stated_power():
    events, exposure = np.array([[3, 8]]), np.array([[398.0, 926.0]])
    check = log_hr_conflict(events, exposure, np.random.default_rng(2).normal(0, 0.42, 20000))
    pred = check.prior_predictive
    tail = np.array([pred[pred <= v * (1 + 1e-9)].sum() for v in pred])

    def power(hr):  # independent: simulated repeated studies at a true HR
        k = np.random.default_rng(4).binomial(11, 1 / (1 + 398 / (926 * hr)), 200000)
        return np.mean(tail[k] <= 0.05)
    below = check.detectable_below
    assert 0.0 < below < 1.0
    assert power(below) >= 0.8 - 0.005
    assert power(below * 1.05) < 0.8
    assert np.isnan(check.detectable_above)          # 3 reference deaths: harm undetectable
