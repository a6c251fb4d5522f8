"""Bias analysis for unmeasured confounding against closed forms and published examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from bridgebayes.summaries import bias


def test_e_value_reproduces_vanderweele_and_ding_2017():
    # Ann Intern Med 2017;167:268, worked example: RR 3.9 (95% CI 1.8 to 8.7) -> E-values
    # 7.26 and 3.00 (rare outcome: the ratio is used as it is)
    out = bias.hr_e_values(3.9, 1.8, 8.7, common=False)
    assert out["e_value"] == pytest.approx(7.26, abs=0.005)
    assert out["e_value_limit"] == pytest.approx(3.00, abs=0.005)


def test_e_value_closed_form_and_protective_inversion():
    for rr in (1.0, 1.3, 2.0, 5.0):
        assert bias.e_value(rr) == pytest.approx(rr + math.sqrt(rr * (rr - 1)), rel=1e-12)
        assert bias.e_value(1 / rr) == pytest.approx(bias.e_value(rr), rel=1e-12)
    assert math.isnan(bias.e_value(0.0))


def test_common_outcome_conversion_by_hand():
    # VanderWeele 2020: RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)); HR 0.56 by hand:
    # 0.5^0.748331 = 0.595292, 0.5^1.336306 = 0.396033 -> RR = 0.404708 / 0.603967
    assert bias.hr_to_rr(0.56) == pytest.approx(0.404708 / 0.603967, rel=1e-5)
    out = bias.hr_e_values(0.56, 0.46, 0.69)
    rr = 0.404708 / 0.603967
    assert out["e_value"] == pytest.approx(1 / rr + math.sqrt(1 / rr * (1 / rr - 1)), rel=1e-5)
    assert out["rr_limit"] == pytest.approx(bias.hr_to_rr(0.69), rel=1e-12)
    assert bias.hr_to_rr(1.0) == pytest.approx(1.0)
    # an interval that includes 1: E-value of the limit is 1
    assert bias.hr_e_values(0.8, 0.5, 1.2)["e_value_limit"] == 1.0


def test_confounder_strength_is_the_e_value_of_the_bias_factor():
    for b in (0.1, 0.5, 1.0):
        assert bias.confounder_strength(b) == pytest.approx(bias.e_value(math.exp(b)))
    assert bias.confounder_strength(0.0) == pytest.approx(1.0)


def test_tipping_points_match_the_normal_closed_form():
    # log HR ~ Normal(m, s) as exact quantiles: P(log HR + d < 0) = Phi(-(m + d) / s), so the
    # probability crosses c at d* = -m - s Phi^-1(c)
    m, s = -0.6, 0.3
    log_hr = m + s * norm.ppf((np.arange(200_000) + 0.5) / 200_000)
    grid, points = bias.tipping_points(log_hr, biases=np.linspace(0, 1.5, 1501),
                                       thresholds=(0.8, 0.5))
    expected = np.array([-m - s * norm.ppf(c) for c in (0.8, 0.5)])
    assert np.allclose(points["bias"], expected, atol=2e-4)
    assert np.allclose(grid["prob_hr_below_1"], norm.cdf(-(m + grid["bias"]) / s), atol=1e-4)
    assert np.allclose(points["bias_factor"], np.exp(points["bias"]))


def test_tipping_points_already_below_and_never_reached():
    _, points = bias.tipping_points(np.full(10, 0.5), biases=[0.0, 0.5], thresholds=(0.8,))
    assert points["bias"].iloc[0] == 0.0
    _, points = bias.tipping_points(np.full(10, -5.0), biases=[0.0, 0.5], thresholds=(0.8,))
    assert math.isnan(points["bias"].iloc[0])


def test_bias_prior_shifts_and_widens_the_log_hr():
    rng = np.random.default_rng(3)
    base = rng.normal(-0.4, 0.2, 200_000)
    out = bias.bias_adjusted_log_hr(base, mu=0.1, sd=0.15, rng=np.random.default_rng(4))
    assert out.mean() == pytest.approx(-0.3, abs=0.003)
    assert out.std() == pytest.approx(math.hypot(0.2, 0.15), abs=0.003)
