"""Tests for :mod:`bridgebayes.plan.interim` (predictive probability of success).

References: a trial already complete at the interim (PPoS = the success indicator of the
analysis of the data as they are); the residual-time construction ``H(T) − H(tau) = E``;
patients who had an event or dropped out keep their data.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.truths import Truths
from bridgebayes.plan.analyse import AnalysisPlan, analysis_prior
from bridgebayes.plan.interim import InterimData, complete_trials, predictive_probability
from bridgebayes.plan.logrank import logrank_z
from bridgebayes.plan.simulate import TrialDesign

PLAN = AnalysisPlan((6.0, 12.0), (("vague", analysis_prior("vague")),))


def _interim(seed: int, n: int, calendar: float, hr: float):
    rng = np.random.default_rng(seed)
    entry = np.sort(rng.random(n) * min(calendar, 12.0) * 0.9)
    arm = np.tile([0, 1], n // 2)
    t = rng.exponential(1 / (0.08 * np.where(arm == 1, hr, 1.0)))
    window = calendar - entry
    event = (t <= window).astype(int)
    return InterimData(calendar, entry, np.minimum(t, window), event, arm, event == 0)


def test_complete_trial_at_interim_gives_its_own_result():
    interim = _interim(1, 60, 30.0, 0.4)
    design = TrialDesign(n_total=60, accrual_duration=12.0, analysis_time=30.0)
    z = logrank_z(interim.time[None, :], interim.event[None, :], interim.arm)[0]
    ppos, mcse = predictive_probability(interim, design, PLAN, rule="logrank", n_draws=200,
                                        rng=1)
    assert ppos == float(z < -norm.ppf(0.975)) and mcse == 0.0


def test_completion_keeps_observed_data_and_conditions_on_survival():
    interim = _interim(2, 40, 10.0, 0.7)
    design = TrialDesign(n_total=50, accrual_duration=20.0, min_followup=6.0)
    truths = Truths(PiecewiseExponentialPH(cuts=(6.0, 12.0)), np.full((5, 1), -0.3), np.empty(0),
                    {"lambda": np.tile([0.05, 0.08, 0.02], (5, 1))})
    done = complete_trials(interim, design, truths, np.random.default_rng(3))
    n = len(interim.time)
    assert done.arm.tolist()[:n] == interim.arm.tolist() and done.arm.sum() == 25
    had = interim.event > 0
    np.testing.assert_array_equal(done.time[:, :n][:, had], np.tile(interim.time[had], (5, 1)))
    assert done.event[:, :n][:, had].all()
    on = interim.on_study
    assert np.all(done.time[:, :n][:, on] >= interim.time[on] - 1e-12)
    assert np.all(done.entry[:, n:] >= 10.0) and np.all(done.entry[:, n:] <= 20.0)


def test_residual_times_add_unit_exponential_cumulative_hazard():
    truths = Truths(WeibullPH(), np.full((20000, 1), -0.5), np.empty(0),
                    {"k": np.full(20000, 1.3), "lam": np.full(20000, 0.02)})
    tau = np.full((20000, 1), 5.0)
    rng = np.random.default_rng(4)
    arm = np.array([1])
    e = rng.standard_exponential((20000, 1))
    t = truths.inverse_cumhaz(truths.cumhaz(tau, arm) + e, arm)
    np.testing.assert_allclose(truths.cumhaz(t, arm) - truths.cumhaz(tau, arm), e, rtol=1e-9)


def test_ppos_moves_with_the_interim_evidence():
    design = TrialDesign(n_total=120, accrual_duration=12.0, min_followup=12.0)
    good = predictive_probability(_interim(5, 80, 9.0, 0.3), design, PLAN, rule="post_vague",
                                  n_draws=400, rng=1)
    bad = predictive_probability(_interim(5, 80, 9.0, 2.0), design, PLAN, rule="post_vague",
                                 n_draws=400, rng=1)
    assert good[0] - bad[0] > 4 * np.hypot(good[1], bad[1]) + 0.1


def test_bad_interim_data_are_refused():
    with pytest.raises(BridgeBayesError, match="after the interim"):
        InterimData(5.0, np.array([4.0]), np.array([2.0]), np.array([0]), np.array([0]),
                    np.array([True]))
    interim = _interim(6, 40, 10.0, 1.0)
    with pytest.raises(BridgeBayesError, match="more patients"):
        complete_trials(interim, TrialDesign(n_total=30, accrual_duration=12.0,
                                             min_followup=1.0),
                        Truths(PiecewiseExponentialPH(cuts=()), np.zeros((1, 1)), np.empty(0),
                               {"lambda": np.ones((1, 1))}), np.random.default_rng(1))
