"""Tests for :mod:`bridgebayes.models.truths` and :mod:`bridgebayes.plan.simulate`.

References: cumulative hazards by numerical integration of the hazard (``scipy.integrate``),
survival of simulated times against ``exp(−H)`` (Kolmogorov-Smirnov), design arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.truths import Truths
from bridgebayes.plan.simulate import TrialDesign, cut_at_analysis, simulate_trials

PEM_CUTS = (5.0, 12.0)
PEM = Truths(PiecewiseExponentialPH(cuts=PEM_CUTS), np.array([[-0.5, 0.3], [0.2, -0.1]]),
             np.array([8.0]), {"lambda": np.array([[0.05, 0.02, 0.08], [0.1, 0.04, 0.01]])})
WEIBULL = Truths(WeibullPH(), np.array([[-0.5, 0.3], [0.0, 0.0]]), np.array([8.0]),
                 {"k": np.array([1.4, 0.7]), "lam": np.array([0.02, 0.1])})


def _hazard(truths: Truths, row: int, t: float, arm: int) -> float:
    """The hazard written out by hand (not through the family's functions)."""
    if isinstance(truths.family, PiecewiseExponentialPH):
        j = np.searchsorted(PEM_CUTS, t, side="left")
        h0 = truths.baseline["lambda"][row, j]
    else:
        k, lam = truths.baseline["k"][row], truths.baseline["lam"][row]
        h0 = lam * k * t ** (k - 1)
    piece = np.searchsorted(truths.hr_cuts, t, side="left")
    return h0 * (np.exp(truths.log_hr[row, piece]) if arm else 1.0)


@pytest.mark.parametrize("truths", [PEM, WEIBULL], ids=["pem", "weibull"])
def test_cumhaz_matches_integrated_hazard(truths):
    times = np.array([0.5, 4.0, 5.0, 7.9, 8.0, 10.0, 30.0])
    for arm in (0, 1):
        got = truths.cumhaz(np.tile(times, (2, 1)), np.full(times.size, arm))
        for row in range(2):
            points = [*(PEM_CUTS if truths is PEM else ()), *truths.hr_cuts]
            want = [integrate.quad(lambda u, r=row, a=arm: _hazard(truths, r, u, a), 0, t,
                                   points=[p for p in points if p < t] or None, limit=200)[0]
                    for t in times]
            np.testing.assert_allclose(got[row], want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("truths", [PEM, WEIBULL], ids=["pem", "weibull"])
def test_inverse_cumhaz_round_trips(truths):
    y = np.tile(np.array([1e-4, 0.1, 0.5, 1.0, 3.0, 8.0]), (2, 1))
    for arm in (0, 1):
        arms = np.full(y.shape[1], arm)
        np.testing.assert_allclose(truths.cumhaz(truths.inverse_cumhaz(y, arms), arms), y,
                                   rtol=1e-10)


def test_simulated_times_follow_the_survival_function():
    truths = PEM.take(np.zeros(4000, int))
    design = TrialDesign(n_total=2, accrual_duration=1e-9, analysis_time=1e6)
    trials = simulate_trials(design, truths, np.random.default_rng(3))
    for arm in (0, 1):
        t = trials.time[:, arm]
        cdf = lambda x, a=arm: 1 - np.exp(-PEM.take([0]).cumhaz(  # noqa: E731
            np.atleast_2d(x), np.full(np.size(x), a))[0])
        assert stats.kstest(t, cdf).pvalue > 0.01
    assert trials.event.all()


def test_events_driven_analysis_has_exactly_the_target_events():
    rng = np.random.default_rng(1)
    design = TrialDesign(n_total=80, accrual_rate=5.0, analysis_events=30, dropout_hazard=0.02)
    trials = simulate_trials(design, PEM.take(np.zeros(50, int)), rng)
    assert np.all(trials.events == 30) and trials.reached.all()
    assert np.all(trials.entry[trials.enrolled] < np.repeat(trials.analysis_time, 80).reshape(
        50, 80)[trials.enrolled])
    end = trials.entry + trials.time
    assert np.all(end[trials.enrolled] <= np.repeat(trials.analysis_time, 80).reshape(
        50, 80)[trials.enrolled] + 1e-9)


def test_calendar_and_min_followup_analysis():
    rng = np.random.default_rng(2)
    d1 = TrialDesign(n_total=50, accrual_duration=10.0, min_followup=6.0)
    t1 = simulate_trials(d1, WEIBULL.take(np.zeros(20, int)), rng)
    np.testing.assert_array_equal(t1.analysis_time, 16.0)
    assert t1.enrolled.all() and np.all(t1.time <= 16.0 - t1.entry + 1e-12)
    d2 = TrialDesign(n_total=50, accrual_rate=5.0, analysis_time=4.0)
    t2 = simulate_trials(d2, WEIBULL.take(np.zeros(20, int)), rng)
    assert np.all(t2.enrolled == (t2.entry < 4.0)) and np.all(t2.time[~t2.enrolled] == 0)


def test_unreached_event_target_is_flagged():
    design = TrialDesign(n_total=2, accrual_duration=1.0, analysis_events=2)
    trials = cut_at_analysis(design, np.array([0, 1]), np.array([[0.0, 0.5]]),
                             np.array([[3.0, np.inf]]), np.array([[np.inf, 2.0]]))
    assert not trials.reached[0] and trials.events.tolist() == [1]
    assert trials.analysis_time.tolist() == [3.0]


def test_allocation_and_accrual():
    design = TrialDesign(n_total=90, allocation=2.0, accrual_rate=3.0, min_followup=0.0)
    assert design.arm_sizes == (30, 60) and design.accrual_period == 30.0
    assert design.arm.sum() == 60


@pytest.mark.parametrize("kwargs, match", [
    ({"n_total": 1, "accrual_duration": 1.0, "min_followup": 1.0}, "n_total"),
    ({"n_total": 10, "min_followup": 1.0}, "accrual"),
    ({"n_total": 10, "accrual_rate": 1.0, "accrual_duration": 1.0, "min_followup": 1.0},
     "accrual"),
    ({"n_total": 10, "accrual_rate": 1.0}, "analysis"),
    ({"n_total": 10, "accrual_rate": 1.0, "analysis_events": 11}, "analysis_events"),
    ({"n_total": 10, "accrual_rate": -1.0, "min_followup": 1.0}, "accrual_rate"),
    ({"n_total": 10, "accrual_rate": 1.0, "min_followup": 1.0, "dropout_hazard": -0.1},
     "dropout_hazard"),
    ({"n_total": 3, "allocation": 100.0, "accrual_rate": 1.0, "min_followup": 1.0},
     "allocation"),
])
def test_bad_designs_are_refused(kwargs, match):
    with pytest.raises(BridgeBayesError, match=match):
        TrialDesign(**kwargs)


def test_bad_truths_are_refused():
    pem = PiecewiseExponentialPH(cuts=())
    with pytest.raises(BridgeBayesError, match="hr_cuts"):
        Truths(pem, np.zeros((1, 2)), np.empty(0), {"lambda": np.ones((1, 1))})
    with pytest.raises(BridgeBayesError, match="lambda must be > 0"):
        Truths(pem, np.zeros((1, 1)), np.empty(0), {"lambda": np.zeros((1, 1))})
    with pytest.raises(BridgeBayesError, match="one row per trial"):
        Truths(pem, np.zeros((2, 1)), np.empty(0), {"lambda": np.ones((1, 1))})
    with pytest.raises(BridgeBayesError, match=r"baseline must hold \['k', 'lam'\]"):
        Truths(WeibullPH(), np.zeros((1, 1)), np.empty(0), {"lambda": np.ones((1, 1))})
    with pytest.raises(BridgeBayesError, match="survival family"):
        Truths("gompertz", np.zeros((1, 1)), np.empty(0), {"lam": np.ones(1)})


def test_take_and_with_log_hr_keep_family_and_baseline():
    sub = PEM.take(np.array([1, 1, 0]))
    assert sub.family is PEM.family and len(sub) == 3
    np.testing.assert_array_equal(sub.baseline["lambda"], PEM.baseline["lambda"][[1, 1, 0]])
    np.testing.assert_array_equal(sub.log_hr, PEM.log_hr[[1, 1, 0]])
    null = WEIBULL.with_log_hr(0.0)
    assert np.all(null.log_hr == 0.0) and null.hr_cuts.tolist() == [8.0]
    t = np.tile([1.0, 10.0], (2, 1))
    np.testing.assert_array_equal(null.cumhaz(t, np.array([1, 1])),
                                  WEIBULL.baseline_cumhaz(t))


def test_pem_cut_points_live_in_the_family_options():
    """The same hazards on other cut points give another (hand-computed) cumulative hazard."""
    other = Truths(PiecewiseExponentialPH(cuts=(2.0, 3.0)), PEM.log_hr, PEM.hr_cuts,
                   PEM.baseline)
    t = np.array([[4.0], [4.0]])
    np.testing.assert_allclose(PEM.baseline_cumhaz(t)[:, 0], [0.05 * 4.0, 0.1 * 4.0])
    np.testing.assert_allclose(other.baseline_cumhaz(t)[:, 0],
                               [0.05 * 2 + 0.02 + 0.08, 0.1 * 2 + 0.04 + 0.01])
