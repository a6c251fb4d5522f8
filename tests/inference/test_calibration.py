"""The calibration of a decision rule at a study's design (bridgebayes.inference.calibration)
against independent references: the reverse Kaplan–Meier censoring distribution it samples,
the large-sample frequentist rate under no effect (a vague prior's P(HR < 1) is a one-sided
p-value, so it exceeds gamma with probability 1 - gamma), and the exact posterior of the
observed data."""

from __future__ import annotations

import numpy as np
import pytest

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.calibration import censoring_times, design_calibration
from bridgebayes.models.exact import pem_posterior
from bridgebayes.models.priors import LogHrPrior


def _study(n: tuple[int, int], hr: float, seed: int) -> EndpointData:
    rng = np.random.default_rng(seed)
    arm = np.r_[np.zeros(n[0], int), np.ones(n[1], int)]
    t_event = rng.exponential(1 / (0.05 * np.where(arm == 1, hr, 1.0)))
    t_cens = rng.uniform(6.0, 36.0, arm.size)
    return EndpointData("os", np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int),
                        arm, ("ref", "trt"), np.arange(arm.size))


def test_censoring_times_follow_each_arms_reverse_kaplan_meier():
    """Without events the reverse KM is the empirical distribution of the times: every draw
    is one of the arm's own times, each about equally often; with events, draws never fall
    below the first censoring and the mass the estimate keeps lands on the arm's last time."""
    times = np.array([2.0, 4.0, 6.0, 8.0, 1.0, 3.0, 5.0])
    arm = np.array([0, 0, 0, 0, 1, 1, 1])
    none = EndpointData("os", times, np.zeros(7, int), arm, ("a", "b"), np.arange(7))
    draws = censoring_times(none, 40000, np.random.default_rng(3))
    for a, own in ((0, [2.0, 4.0, 6.0, 8.0]), (1, [1.0, 3.0, 5.0])):
        values = draws[:, arm == a].ravel()
        assert set(np.unique(values)) == set(own)
        share = np.array([np.mean(values == v) for v in own])
        assert share == pytest.approx(np.full(len(own), 1 / len(own)), abs=0.01)
    # arm 0: events at 2 and 8 (not censorings), censorings at 4 and 6
    mixed = EndpointData("os", times, np.array([1, 0, 0, 1, 0, 0, 0]), arm, ("a", "b"),
                         np.arange(7))
    values = censoring_times(mixed, 40000, np.random.default_rng(4))[:, arm == 0].ravel()
    # reverse KM of arm 0: G(4) = 2/3 (3 at risk), G(6) = 1/3; 1/3 mass beyond 6 -> 8
    assert set(np.unique(values)) == {4.0, 6.0, 8.0}
    assert [np.mean(values == v) for v in (4.0, 6.0, 8.0)] == pytest.approx([1 / 3] * 3,
                                                                              abs=0.01)


def test_under_no_effect_a_vague_prior_crosses_gamma_at_rate_one_minus_gamma():
    data = _study((300, 300), 1.0, 11)
    thresholds = (0.8, 0.9, 0.975)
    rows = design_calibration(data, cuts=[6.0, 12.0, 24.0], prior=LogHrPrior(0.0, 10.0),
                              thresholds=thresholds, n_sim=4000, rng=5)
    null = {r["threshold"]: r for r in rows if r["scenario"] == "HR = 1"}
    for gamma in thresholds:
        row = null[gamma]
        assert row["rate"] == pytest.approx(1 - gamma, abs=4 * row["mcse"] + 0.01), gamma
    # the repeats have about the study's number of events (same design, same hazards)
    assert null[0.9]["mean_events"] == pytest.approx(data.event.sum(), rel=0.1)


def test_the_seed_sized_study_reports_its_own_probability_and_the_posterior_scenario():
    """9 vs 27 with a sceptical prior: the observed probability is the exact posterior's;
    under the posterior scenario the threshold is crossed more often than under no effect
    when the data favour the treatment; rates fall as the threshold rises."""
    data = _study((9, 27), 0.4, 2)
    prior = LogHrPrior(0.0, 0.42)
    rows = design_calibration(data, cuts=[6.0, 12.0], prior=prior, thresholds=(0.8, 0.9),
                              n_sim=3000, rng=1)
    exact = pem_posterior(data, cuts=[6.0, 12.0], log_hr_mu=0.0, log_hr_sigma=0.42)
    assert {r["observed_probability"] for r in rows} == {exact.prob_hr_below(1.0)}
    rate = {(r["scenario"], r["threshold"]): r["rate"] for r in rows}
    assert rate["HR = 1", 0.9] <= rate["HR = 1", 0.8]
    assert exact.prob_hr_below(1.0) > 0.8              # these data favour the treatment
    assert rate["posterior", 0.8] > rate["HR = 1", 0.8]
    same = design_calibration(data, cuts=[6.0, 12.0], prior=prior, thresholds=(0.8, 0.9),
                              n_sim=3000, rng=1)
    assert same == rows                                  # a seed in, identical numbers out
