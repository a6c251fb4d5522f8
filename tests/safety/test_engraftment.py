"""Time to engraftment (bridgebayes/safety/time_to_engraftment.py): censoring rules,
Weibull and piecewise-exponential medians against closed forms, root finding and lifelines."""

from __future__ import annotations

import numpy as np
import pytest
from safety_cohorts import ARMS, engraftment_cohort, seed_rows
from scipy import optimize, stats

from bridgebayes.core.errors import BridgeBayesError, CohortError
from bridgebayes.core.units import DAYS_PER_MONTH
from bridgebayes.data.cohort import load_cohort
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.piecewise import default_cuts
from bridgebayes.safety import engraftment, engraftment_data, km_median
from bridgebayes.safety.time_to_engraftment import Engraftment


# ---------------------------------------------------------------- engraftment data
@pytest.mark.filterwarnings("ignore::bridgebayes.data.cohort.CohortWarning")
def test_engraftment_after_follow_up_is_rejected_at_loading_with_one_day_tolerance():
    # patient b: follow-up (death) 4 months = 121.75 days; one day of rounding is allowed
    with pytest.raises(CohortError, match=r"column 'anc_engraftment_day': engraftment after "
                                          r"last follow-up in 1 row, e.g. id=b "
                                          r"\(value \(122.8, 121.8\)\)"):
        load_cohort(seed_rows(anc_engraftment_day=[14, 122.8, 12, 15]), arms=ARMS)
    cohort = load_cohort(seed_rows(anc_engraftment_day=[14, 122.7, 12, 15]), arms=ARMS)
    data = engraftment_data(cohort, "anc_engraftment_day", horizon_days=200)
    assert (data.event[1], data.time[1]) == (1, 122.7)


@pytest.mark.filterwarnings("ignore::bridgebayes.data.cohort.CohortWarning")
def test_engraftment_data_bad_input():
    cohort = load_cohort(seed_rows(anc_engraftment_day=[14, 20, 12, 15]), arms=ARMS)
    with pytest.raises(CohortError, match=r"column 'plt_engraftment_day': not in the cohort"):
        engraftment_data(cohort, "plt_engraftment_day")
    with pytest.raises(CohortError, match=r"column: expected one of \['anc_engraftment_day'"):
        engraftment_data(cohort, "agvhd24")
    with pytest.raises(BridgeBayesError, match=r"horizon_days: expected a number > 0"):
        engraftment_data(cohort, "anc_engraftment_day", horizon_days=0)


def test_engraftment_data_censors_death_and_horizon():
    cohort = engraftment_cohort(3, 40, k=4.0, scale=(15.0, 15.0), cure=0.1)
    table = cohort.table
    data = engraftment_data(cohort, "anc_engraftment_day", horizon_days=60)
    day = table["anc_engraftment_day"].to_numpy()
    follow = table["followup"].to_numpy() * DAYS_PER_MONTH
    engrafted = ~np.isnan(day)
    assert np.array_equal(data.event, engrafted.astype(int))
    assert np.array_equal(data.time[engrafted], day[engrafted])
    assert np.allclose(data.time[~engrafted], np.minimum(follow[~engrafted], 60.0))
    assert (~engrafted & (follow < 60)).any()  # some die before engrafting: censored at death
    assert data.time_unit == "days"


def test_median_days_is_the_weibull_median():
    cohort = engraftment_cohort(5, 30, k=4.0, scale=(15.0, 12.0))
    result = engraftment(cohort, n_draws=50, seed=2)
    assert result.family == WeibullPH()  # default priors: log HR ~ Normal(0, 1)
    assert "Weibull PH (exact), log HR ~ Normal(0, 1)" in result.model
    d = result.draws
    for arm in (0, 1):
        scale = (d["lam"] * np.exp(d["log_hr"] * arm)) ** (-1 / d["k"])
        assert result.median_days(arm) == pytest.approx(
            stats.weibull_min(d["k"], scale=scale).median(), rel=1e-10)


def test_engraftment_recovers_truth_and_agrees_with_lifelines():
    from lifelines import WeibullFitter

    k, scale = 4.0, (16.0, 13.0)  # shared shape: PH, engraftment HR = (16 / 13)^4 = 2.3
    cohort = engraftment_cohort(11, 300, k=k, scale=scale)
    result = engraftment(cohort, n_draws=20000, seed=3)
    data = result.data
    table = result.summary().table.set_index(["quantity", "arm"])
    medians = [result.median_days(0), result.median_days(1)]
    lifelines_median = []
    for code, label in enumerate(ARMS):
        truth = scale[code] * np.log(2) ** (1 / k)
        row = table.loc[("median days to engraftment", label)]
        assert row["lower"] < truth < row["upper"]
        fitted = WeibullFitter().fit(data.time[data.arm == code], data.event[data.arm == code])
        lifelines_median.append(fitted.median_survival_time_)
        # per-arm ML fit vs shared-shape posterior: close in posterior SD units
        assert abs(row["estimate"] - fitted.median_survival_time_) < 1.5 * medians[code].std()
        assert row["note"] == ""
    diff = table.loc[("median difference (days)", "CAR-T - blinatumomab")]
    truth_diff = (scale[1] - scale[0]) * np.log(2) ** (1 / k)
    assert diff["lower"] < truth_diff < diff["upper"] < 0
    assert abs(diff["estimate"] - (lifelines_median[1] - lifelines_median[0])) < \
        1.5 * (medians[1] - medians[0]).std()
    p_faster = table.loc[("P(faster engraftment with treatment)", "CAR-T"), "probability"]
    assert p_faster == pytest.approx(1 - result.posterior.prob_hr_below(1.0), abs=1e-15)
    assert p_faster > 0.999


def test_prob_faster_is_the_share_of_draws_with_a_shorter_median():
    cohort = engraftment_cohort(8, 12, k=3.0, scale=(15.0, 14.0))
    result = engraftment(cohort, n_draws=20000, seed=4)
    share = np.mean(result.median_days(1) < result.median_days(0))
    p = result.prob_faster
    assert 0.05 < p < 0.95
    assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / 20000)


def test_graft_failure_is_flagged_as_weibull_misfit_and_pem_copes():
    cohort = engraftment_cohort(21, 40, k=5.0, scale=(15.0, 15.0), cure=0.25)
    summary = engraftment(cohort, horizon_days=365).summary()
    notes = summary.table["note"].tolist()
    assert any(note.startswith("model misfit: Kaplan–Meier median") for note in notes)
    assert "Caution: the Weibull model fits poorly" in summary.sentences[0]
    pem = engraftment(cohort, family="piecewise_exponential", horizon_days=365).summary()
    assert (pem.table["note"] == "").all()
    assert "Caution" not in pem.sentences[0]
    assert pem.table["model"].str.startswith("PEM PH (exact)").all()


def test_pem_cut_points_are_the_quartiles_of_the_engraftment_days():
    cohort = engraftment_cohort(9, 30, k=4.0, scale=(15.0, 12.0), cure=0.1)
    result = engraftment(cohort, family="piecewise_exponential", n_draws=40, seed=5)
    assert isinstance(result.family, PiecewiseExponentialPH) and result.family.cuts is None
    np.testing.assert_array_equal(result.draws["cuts"],
                                  default_cuts(result.data.time, result.data.event))
    assert result.draws["lambda"].shape == (40, result.draws["cuts"].size + 1)


def test_pem_median_is_the_root_of_the_family_survival():
    cohort = engraftment_cohort(9, 30, k=4.0, scale=(15.0, 12.0), cure=0.1)
    result = engraftment(cohort, family="piecewise_exponential", n_draws=40, seed=5)
    family = PiecewiseExponentialPH(cuts=tuple(result.draws["cuts"]))
    for arm in (0, 1):
        medians = result.median_days(arm)
        for i in range(0, 40, 7):
            draw = {"log_hr": result.draws["log_hr"][i:i + 1],
                    "lambda": result.draws["lambda"][i:i + 1]}
            root = optimize.brentq(
                lambda t, draw=draw, arm=arm: family.survival(draw, [t], arm)[0, 0] - 0.5,
                1e-6, 1e4, xtol=1e-12)
            assert medians[i] == pytest.approx(root, rel=1e-9)


def _engraftment(family, draws) -> Engraftment:
    return Engraftment(data=None, label="ANC", family=family, draws=draws, prob_faster=0.5,
                       model="")


def test_pem_median_closed_form():
    lam = np.array([[0.05, 0.1], [0.2, 0.1], [0.01, 0.0]])  # H(5) = 0.25, 1.0, 0.05
    pem = PiecewiseExponentialPH(cuts=(5.0,))
    got = _engraftment(pem, {"log_hr": np.zeros(3), "lambda": lam}).median_days(0)
    assert got[:2] == pytest.approx([5 + (np.log(2) - 0.25) / 0.1, np.log(2) / 0.2], rel=1e-14)
    assert np.isinf(got[2])  # the cumulative hazard never reaches log 2
    hr2 = _engraftment(pem, {"log_hr": np.log([2.0]), "lambda": lam[:1]}).median_days(1)
    assert hr2 == pytest.approx([5 + (np.log(2) - 0.5) / 0.2], rel=1e-14)  # doubled: 0.1, 0.2
    # the cut points of the draws (an exact or NUTS posterior) win over the family's
    other = _engraftment(PiecewiseExponentialPH(), {"log_hr": np.zeros(1), "lambda": lam[:1],
                                                    "cuts": np.array([5.0])}).median_days(0)
    assert other == pytest.approx(got[:1], rel=1e-14)


def test_weibull_median_closed_form_and_log_lam_beyond_float_range():
    draws = {"log_hr": np.array([0.0, np.log(3.0)]), "k": np.array([2.0, 0.5]),
             "lam": np.array([0.01, 0.2])}
    got = _engraftment(WeibullPH(), draws).median_days(1)
    want = (np.log(2) / (draws["lam"] * np.exp(draws["log_hr"]))) ** (1 / draws["k"])
    assert got == pytest.approx(want, rel=1e-13)
    huge = {"log_hr": np.zeros(1), "k": np.array([50.0]), "lam": np.array([0.0]),
            "log_lam": np.array([-2000.0])}  # lam underflows; the median is exp(40 + ...)
    assert _engraftment(WeibullPH(), huge).median_days(0) == pytest.approx(
        np.exp((np.log(np.log(2)) + 2000.0) / 50.0), rel=1e-12)


def test_a_family_object_brings_its_own_priors():
    cohort = engraftment_cohort(5, 30, k=4.0, scale=(15.0, 12.0))
    family = WeibullPH(log_hr_mu=0.2, log_hr_sigma=0.5)
    result = engraftment(cohort, family=family, n_draws=2000, seed=2, log_hr_sigma=9.0)
    assert result.family is family and "log HR ~ Normal(0.2, 0.5)" in result.model
    direct = family.exact_posterior(result.data)
    assert result.prob_faster == pytest.approx(1 - direct.prob_hr_below(1.0), abs=1e-15)
    by_name = engraftment(cohort, n_draws=2000, seed=2, log_hr_mu=0.2, log_hr_sigma=0.5)
    assert by_name.prob_faster == pytest.approx(result.prob_faster, abs=1e-15)
    np.testing.assert_array_equal(by_name.draws["log_hr"], result.draws["log_hr"])


def test_km_median_matches_lifelines_definition():
    assert km_median(np.array([3.0, 5.0, 7.0, 9.0]), np.array([1, 1, 1, 0])) == 5.0
    assert km_median(np.array([3.0, 5.0]), np.array([0, 0])) == np.inf


def test_bad_method_and_family():
    cohort = engraftment_cohort(5, 10, k=4.0, scale=(15.0, 12.0))
    with pytest.raises(BridgeBayesError, match=r"method: expected 'exact' or 'nuts', got "
                                               r"'mcmc'"):
        engraftment(cohort, method="mcmc")
    with pytest.raises(BridgeBayesError, match=r"unknown family 'gompertz'"):
        engraftment(cohort, family="gompertz")
    with pytest.raises(BridgeBayesError, match=r"unknown family 'pem'"):  # the old alias
        engraftment(cohort, family="pem")
    with pytest.raises(BridgeBayesError, match="no exact posterior"):
        engraftment(cohort, family=PiecewiseExponentialPH(time_varying=True))
