"""Decision quantities against closed forms (exponential survival)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bridgebayes.decide import decide

RNG = np.random.default_rng(20250401)
N = 20_000
LOG_HR = RNG.normal(-0.3, 0.25, N)
RATE = RNG.gamma(50.0, 1 / (50.0 / 0.03), N)  # reference hazard per month, mean 0.03


def survival(t: np.ndarray, arm: int) -> np.ndarray:
    return np.exp(-RATE[:, None] * np.exp(LOG_HR[:, None] * arm) * np.asarray(t)[None, :])


@pytest.fixture(scope="module")
def decision():
    return decide(LOG_HR, survival=survival, arms=("blina", "CAR-T"), endpoint="OS",
                  prior="neutral", landmarks=(12.0, 24.0), deltas=(0.0, 0.1), rmst_tau=24.0)


def value(decision, quantity, column, **match):
    table = decision.table[decision.table["quantity"] == quantity]
    for key, want in match.items():
        table = table[table[key] == want]
    assert len(table) == 1, (quantity, match)
    return float(table[column].iloc[0])


def test_hr_probabilities_match_the_draws_and_the_normal_closed_form(decision):
    p1 = value(decision, "P(HR < c)", "probability", threshold=1.0)
    assert p1 == np.mean(LOG_HR < 0)
    mcse = np.sqrt(p1 * (1 - p1) / N)
    assert abs(p1 - stats.norm.cdf(0.3 / 0.25)) < 4 * mcse
    p08 = value(decision, "P(HR < c)", "probability", threshold=0.8)
    assert p08 == np.mean(np.exp(LOG_HR) < 0.8)


def test_hr_median_interval_and_hdi(decision):
    assert value(decision, "HR", "estimate") == pytest.approx(np.median(np.exp(LOG_HR)))
    lo, hi = value(decision, "HR", "lower"), value(decision, "HR", "upper")
    assert (lo, hi) == pytest.approx(tuple(np.quantile(np.exp(LOG_HR), [0.025, 0.975])))
    hdi_lo, hdi_hi = value(decision, "HR (HDI)", "lower"), value(decision, "HR (HDI)", "upper")
    assert hdi_hi - hdi_lo <= hi - lo  # the HDI is the shortest 95% interval
    assert np.mean((np.exp(LOG_HR) >= hdi_lo) & (np.exp(LOG_HR) <= hdi_hi)) == \
        pytest.approx(0.95, abs=1e-3)


def test_landmark_survival_and_difference_probabilities(decision):
    s_ref = np.exp(-RATE * 24)
    s_trt = np.exp(-RATE * np.exp(LOG_HR) * 24)
    assert value(decision, "S(24)", "estimate", arm="blina") == pytest.approx(np.median(s_ref))
    assert value(decision, "S(24)", "estimate", arm="CAR-T") == pytest.approx(np.median(s_trt))
    p = value(decision, "P(S(24) difference > delta)", "probability", threshold=0.1)
    assert p == np.mean(s_trt - s_ref > 0.1)


def test_rmst_matches_the_closed_form(decision):
    tau = 24.0
    exact_ref = (1 - np.exp(-RATE * tau)) / RATE
    rate_trt = RATE * np.exp(LOG_HR)
    exact_trt = (1 - np.exp(-rate_trt * tau)) / rate_trt
    assert value(decision, "RMST(24)", "estimate", arm="blina") == \
        pytest.approx(np.median(exact_ref), rel=1e-6)
    assert value(decision, "RMST(24) difference", "estimate") == \
        pytest.approx(np.median(exact_trt - exact_ref), rel=1e-5)


def test_median_survival_beyond_the_grid_is_infinite_and_inside_is_exact():
    rate = np.array([np.log(2) / 10.0, 1e-6])  # median 10 months; essentially never
    d = decide(np.zeros(2), survival=lambda t, arm: np.exp(-rate[:, None] * t[None, :]),
               landmarks=(12.0,), rmst_tau=None, horizon=36.0)
    medians = d.table[d.table["quantity"] == "median survival"]
    assert len(medians) == 2
    # median of the two draws: one at 10 months, one infinite -> the quantile is infinite
    assert np.isinf(medians["upper"]).all()
    d1 = decide(np.zeros(1), survival=lambda t, arm: np.exp(-rate[:1, None] * t[None, :]),
                landmarks=(12.0,), rmst_tau=None, horizon=36.0)
    est = d1.table[d1.table["quantity"] == "median survival"]["estimate"].iloc[0]
    assert est == pytest.approx(10.0, abs=1e-3)


def test_curves_are_survival_functions(decision):
    for _, curve in decision.curves.groupby("arm"):
        assert curve["median"].between(0, 1).all()
        assert (np.diff(curve["median"].to_numpy()) <= 1e-12).all()
        assert (curve["lower"] <= curve["upper"]).all()


def test_sentences_name_arms_prior_and_direction(decision):
    text = decision.summary()
    assert "Under the neutral prior, the probability that CAR-T lowers the OS hazard" in text
    assert "At 24 months, OS is" in text


def test_hr_only_without_survival():
    d = decide(np.array([-0.1, 0.2, 0.0, -0.5]))
    assert d.curves.empty
    assert set(d.table["quantity"]) == {"HR", "HR (HDI)", "P(HR < c)", "P(0.9 <= HR <= 1.11)"}


def test_extra_quantities_are_summarised():
    aft = np.exp(-LOG_HR / 1.3)
    d = decide(LOG_HR, extra={"AFT factor (ratio of medians)": aft})
    row = d.table[d.table["quantity"] == "AFT factor (ratio of medians)"].iloc[0]
    assert row["estimate"] == pytest.approx(np.median(aft))
