"""Decision quantities against closed forms (exponential survival)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy import stats

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.fit import Fit
from bridgebayes.models.families import PiecewiseExponentialPH
from bridgebayes.summaries.decide import decide

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
    p1 = value(decision, "prob_hr_below", "probability", threshold=1.0)
    assert p1 == np.mean(LOG_HR < 0)
    mcse = np.sqrt(p1 * (1 - p1) / N)
    assert abs(p1 - stats.norm.cdf(0.3 / 0.25)) < 4 * mcse
    p08 = value(decision, "prob_hr_below", "probability", threshold=0.8)
    assert p08 == np.mean(np.exp(LOG_HR) < 0.8)


def test_hr_median_interval_and_hdi(decision):
    assert value(decision, "hr", "estimate") == pytest.approx(np.median(np.exp(LOG_HR)))
    lo, hi = value(decision, "hr", "lower"), value(decision, "hr", "upper")
    assert (lo, hi) == pytest.approx(tuple(np.quantile(np.exp(LOG_HR), [0.025, 0.975])))
    hdi_lo, hdi_hi = value(decision, "hr_hdi", "lower"), value(decision, "hr_hdi", "upper")
    assert hdi_hi - hdi_lo <= hi - lo  # the HDI is the shortest 95% interval
    assert np.mean((np.exp(LOG_HR) >= hdi_lo) & (np.exp(LOG_HR) <= hdi_hi)) == \
        pytest.approx(0.95, abs=1e-3)


def test_landmark_survival_and_difference_probabilities(decision):
    s_ref = np.exp(-RATE * 24)
    s_trt = np.exp(-RATE * np.exp(LOG_HR) * 24)
    assert value(decision, "survival", "estimate", arm="blina", time=24.0) == pytest.approx(
        np.median(s_ref))
    assert value(decision, "survival", "estimate", arm="CAR-T", time=24.0) == pytest.approx(
        np.median(s_trt))
    p = value(decision, "prob_survival_difference_above", "probability", threshold=0.1,
              time=24.0)
    assert p == np.mean(s_trt - s_ref > 0.1)


def test_rmst_matches_the_closed_form(decision):
    tau = 24.0
    exact_ref = (1 - np.exp(-RATE * tau)) / RATE
    rate_trt = RATE * np.exp(LOG_HR)
    exact_trt = (1 - np.exp(-rate_trt * tau)) / rate_trt
    assert value(decision, "rmst", "estimate", arm="blina") == \
        pytest.approx(np.median(exact_ref), rel=1e-6)
    assert value(decision, "rmst_difference", "estimate") == \
        pytest.approx(np.median(exact_trt - exact_ref), rel=1e-5)


def test_median_survival_beyond_the_grid_is_infinite_and_inside_is_exact():
    rate = np.array([np.log(2) / 10.0, 1e-6])  # median 10 months; essentially never
    d = decide(np.zeros(2), survival=lambda t, arm: np.exp(-rate[:, None] * t[None, :]),
               landmarks=(12.0,), rmst_tau=None, horizon=36.0)
    medians = d.table[d.table["quantity"] == "median_survival"]
    assert len(medians) == 2
    # median of the two draws: one at 10 months, one infinite -> the quantile is infinite
    assert np.isinf(medians["upper"]).all()
    assert (medians["time"] == 36.0).all()  # "not reached by 36 months"
    d1 = decide(np.zeros(1), survival=lambda t, arm: np.exp(-rate[:1, None] * t[None, :]),
                landmarks=(12.0,), rmst_tau=None, horizon=36.0)
    est = d1.table[d1.table["quantity"] == "median_survival"]["estimate"].iloc[0]
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
    assert set(d.table["quantity"]) == {"hr", "hr_hdi", "prob_hr_below", "prob_rope"}
    rope = d.get("prob_rope")
    assert (rope["threshold"], rope["threshold_upper"]) == (0.9, 1.11)


def test_extra_quantities_are_summarised():
    aft = np.exp(-LOG_HR / 1.3)
    d = decide(LOG_HR, extra={"AFT factor (ratio of medians)": aft})
    row = d.get("aft_factor")
    assert row["estimate"] == pytest.approx(np.median(aft))


# Per-interval HRs of a time-varying piecewise model: independent normal draws per interval
INTERVAL_MU = np.array([-0.6, -0.1, 0.4])
INTERVAL_SD = np.array([0.3, 0.25, 0.5])
INTERVAL_LOG_HR = RNG.normal(INTERVAL_MU, INTERVAL_SD, (N, 3))
INTERVAL_LABELS = ["0–6", "6–12", "≥12"]


@pytest.fixture(scope="module")
def interval_decision():
    return decide(LOG_HR, arms=("blina", "CAR-T"), interval_log_hr=INTERVAL_LOG_HR,
                  interval_cuts=(6.0, 12.0))


def test_interval_hrs_match_the_lognormal_closed_form(interval_decision):
    for j, label in enumerate(INTERVAL_LABELS):
        hr = np.exp(INTERVAL_LOG_HR[:, j])
        row = interval_decision.get("interval_hr", component=label)
        assert row["estimate"] == np.median(hr)
        assert (row["lower"], row["upper"]) == \
            pytest.approx(tuple(np.quantile(hr, [0.025, 0.975])), rel=1e-12)
        prob = interval_decision.get("prob_interval_hr_below", component=label)
        p = prob["probability"]
        assert p == np.mean(INTERVAL_LOG_HR[:, j] < 0)
        assert prob["threshold"] == 1.0
        # closed forms: log HR ~ Normal(mu, sd) -> median exp(mu), P(HR < 1) = Phi(-mu / sd)
        mu, sd = INTERVAL_MU[j], INTERVAL_SD[j]
        assert abs(p - stats.norm.cdf(-mu / sd)) < 4 * np.sqrt(p * (1 - p) / N)
        # MCSE of the probability (independent draws): the binomial standard error
        assert prob["mcse"] == pytest.approx(np.sqrt(p * (1 - p) / N), rel=0.1)
        q_sd = sd * np.sqrt(np.pi / 2 / N)  # asymptotic SD of the sample median of log HR
        assert abs(np.log(row["estimate"]) - mu) < 4 * q_sd
        assert row["upper"] == pytest.approx(np.exp(mu + stats.norm.ppf(0.975) * sd), rel=0.03)


def test_interval_sentence_lists_every_interval(interval_decision):
    sentence = interval_decision.sentences[-1]
    assert sentence.startswith("Time-varying hazard ratio of CAR-T vs blina by interval")
    for j, label in enumerate(INTERVAL_LABELS):
        hr = np.exp(INTERVAL_LOG_HR[:, j])
        assert f"{label} months {np.median(hr):.2f} (" in sentence
        assert f"P(HR < 1) {100 * np.mean(hr < 1):.0f}%" in sentence


def test_no_interval_rows_without_interval_draws(decision):
    assert not decision.table["quantity"].str.startswith("interval").any()


@pytest.mark.parametrize(("draws", "cuts", "match"), [
    (INTERVAL_LOG_HR[:, 0], (6.0, 12.0), "interval_log_hr: expected shape"),
    (INTERVAL_LOG_HR[:10], (6.0, 12.0), "interval_log_hr: expected shape"),
    (INTERVAL_LOG_HR, (6.0,), r"interval_cuts: expected 2 increasing"),
    (INTERVAL_LOG_HR, (12.0, 6.0), r"got \[12.0, 6.0\]"),
    (INTERVAL_LOG_HR, None, r"interval_cuts: expected 2 .* got \[\]"),
])
def test_bad_interval_inputs_are_named(draws, cuts, match):
    with pytest.raises(BridgeBayesError, match=match):
        decide(LOG_HR, interval_log_hr=draws, interval_cuts=cuts)


def _tv_fit(time_varying: bool) -> Fit:
    """A Fit built from given draws (no sampling) of a PEM with cuts (6, 12)."""
    n_chain, n_draw = 2, 500
    rng = np.random.default_rng(3)
    posterior = {"log_hr": LOG_HR[: n_chain * n_draw].reshape(n_chain, n_draw),
                 "lambda": rng.gamma(20.0, 0.03 / 20.0, (n_chain, n_draw, 3))}
    if time_varying:
        posterior["log_hr_interval"] = INTERVAL_LOG_HR[: n_chain * n_draw].reshape(
            n_chain, n_draw, 3)
    idata = az.from_dict(posterior=posterior, constant_data={"cuts": np.array([6.0, 12.0])},
                         dims={"lambda": ["interval"], "log_hr_interval": ["interval"]})
    data = EndpointData("os", np.array([3.0, 8.0, 14.0, 20.0]), np.array([1, 1, 0, 1]),
                        np.array([0, 1, 0, 1]), ("blina", "CAR-T"), np.arange(4))
    family = PiecewiseExponentialPH(cuts=(6.0, 12.0), time_varying=time_varying)
    return Fit(idata=idata, family=family, data=data, gate=None, retried=False)


def test_fit_decide_reports_interval_hrs_of_a_time_varying_pem():
    result = _tv_fit(time_varying=True)
    table = result.decide(prior="neutral").table
    rows = table[table["quantity"] == "interval_hr"]
    assert rows["component"].tolist() == INTERVAL_LABELS
    probs = table[table["quantity"] == "prob_interval_hr_below"]
    draws = INTERVAL_LOG_HR[:1000]
    np.testing.assert_allclose(rows["estimate"], np.median(np.exp(draws), axis=0), rtol=1e-12)
    np.testing.assert_allclose(probs["probability"], np.mean(draws < 0, axis=0), rtol=1e-12)
    assert not _tv_fit(time_varying=False).decide().table["quantity"].str.startswith(
        "interval").any()


def test_every_row_carries_its_level_unit_and_extrapolation_flag():
    d = decide(LOG_HR, survival=survival, landmarks=(12.0, 48.0), rmst_tau=24.0, ci=0.9,
               time_unit="weeks", followup=30.0)
    assert (d.table.query("quantity == 'hr'")["level"] == 0.9).all()
    assert set(d.table["time_unit"]) == {"weeks"}
    flagged = d.table[d.table["extrapolated"]]
    landmarks = flagged[flagged["quantity"] != "median_survival"]
    assert set(landmarks["time"].dropna()) == {48.0}
    medians = d.table[d.table["quantity"] == "median_survival"]
    assert (medians["extrapolated"] == (medians["estimate"] > 30.0)).all()
    assert "90% CrI" in d.sentences[1] and "At 48 weeks" in d.summary()


def test_sentences_never_round_to_certainty():
    d = decide(np.full(4000, -5.0) + np.random.default_rng(1).normal(0, 0.01, 4000))
    assert "is >99%." in d.sentences[0]


#: Families with fixed prior scales (as in SBC), so that their prior draws stand in for draws.
FIXED_SCALE = {"piecewise_exponential": {"cuts": (6.0, 12.0), "crude_rate": 1 / 24},
               "weibull": {"mean_time": 24.0}, "mixture_cure": {"mean_time": 24.0},
               "mspline": {"knots": (6.0, 12.0), "boundary": 36.0, "crude_rate": 1 / 24}}


@pytest.mark.parametrize("name", sorted(FIXED_SCALE))
def test_survival_is_evaluated_once_per_arm_and_each_value_as_alone(name):
    """decide() evaluates S(t) on one array of every time (curve grid, landmarks, RMST grid);
    the rows are bit for bit those of S evaluated at each landmark alone and of the RMST on
    its own grid (every family's S is elementwise in t)."""
    from bridgebayes.models.families import get_family

    family = get_family(name)(**FIXED_SCALE[name])
    draws = family.prior_draws(300, np.random.default_rng(11))
    calls = []

    def survival(t, arm):
        calls.append(np.size(t))
        return family.survival(draws, t, arm)

    d = decide(draws["log_hr"], survival=survival, landmarks=(6.0, 12.0), rmst_tau=24.0,
               arms=("ref", "trt"))
    assert len(calls) == 2  # one evaluation per arm
    for a, label in enumerate(("ref", "trt")):
        for t in (6.0, 12.0):
            alone = family.survival(draws, np.array([t]), a)[:, 0]
            assert d.get("survival", arm=label, time=t)["estimate"] == np.median(alone)
        grid = np.linspace(0.0, 24.0, 481)
        rmst = np.trapezoid(family.survival(draws, grid, a), grid, axis=1)
        assert d.get("rmst", arm=label)["estimate"] == np.median(rmst)
