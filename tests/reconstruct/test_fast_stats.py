"""The search's fast statistics (:mod:`bridgebayes.reconstruct.fast_stats`) against the
lifelines-based reference (:mod:`bridgebayes.reference.analysis`).

Random data sets have integer times, so ties are frequent (events with events, events
with censorings, across arms), and landmarks fall before the first time, on a tied
observed time, between times and after the last time.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pytest

from bridgebayes.reconstruct import fast_stats as fs
from bridgebayes.reference import analysis as ref

RTOL = 1e-12
ATOL = 1e-14  # only matters where the exact value is 0
SEEDS = range(16)
CAUSES = (1, 2)


def close(fast: float, expected: float) -> None:
    np.testing.assert_allclose(fast, expected, rtol=RTOL, atol=ATOL)


@functools.cache
def tied_case(seed: int) -> dict:
    """A random two-arm data set with tied integer times, and its reference values."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(5, 61))
    time = np.ceil(rng.exponential(6.0, n))  # integers >= 1: many ties
    cause = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    arm = rng.permutation(np.r_[0, 1, rng.integers(0, 2, n - 2)])
    event = (cause > 0).astype(int)
    values, counts = np.unique(time[event > 0], return_counts=True)
    on_tie = float(values[np.argmax(counts)])  # the most tied event time
    landmarks = (0.5, on_tie, float(np.median(time)) + 0.5, float(time.max()))
    groups = {0: arm == 0, 1: arm == 1, "pooled": np.ones(n, bool)}
    km = {(g, lm): ref.km_at(time[m], event[m], lm) for g, m in groups.items() for lm in landmarks}
    cif = {(g, lm, k): ref.cif_at(time[m], cause[m], lm, cause_of_interest=k)
           for g, m in groups.items() for lm in landmarks for k in CAUSES}
    return {"time": time, "cause": cause, "event": event, "arm": arm, "landmarks": landmarks,
            "km": km, "cif": cif, "p": ref.logrank_p(time, event, arm)}


def test_random_data_really_have_ties():
    tied = [seed for seed in SEEDS if np.unique(tied_case(seed)["time"]).size
            < tied_case(seed)["time"].size]
    assert len(tied) == len(SEEDS)
    # the second landmark is an event time shared by several patients
    for seed in SEEDS:
        case = tied_case(seed)
        assert np.sum(case["time"][case["event"] > 0] == case["landmarks"][1]) >= 2


@pytest.mark.parametrize("seed", SEEDS)
def test_km_at_matches_lifelines_with_ties(seed):
    case = tied_case(seed)
    for lm in case["landmarks"]:
        close(fs.km_at(case["time"], case["event"], lm), case["km"]["pooled", lm])
        for g in (0, 1):
            m = case["arm"] == g
            close(fs.km_at(case["time"][m], case["event"][m], lm), case["km"][g, lm])


@pytest.mark.parametrize("seed", SEEDS)
def test_cif_at_matches_reference_for_both_causes_with_ties(seed):
    case = tied_case(seed)
    for lm in case["landmarks"]:
        for k in CAUSES:
            close(fs.cif_at(case["time"], case["cause"], lm, k), case["cif"]["pooled", lm, k])
            for g in (0, 1):
                m = case["arm"] == g
                close(fs.cif_at(case["time"][m], case["cause"][m], lm, k), case["cif"][g, lm, k])


@pytest.mark.parametrize("seed", SEEDS)
def test_logrank_p_matches_lifelines_with_ties(seed):
    case = tied_case(seed)
    close(fs.logrank_p(case["time"], case["event"], case["arm"]), case["p"])


@pytest.mark.parametrize("seed", SEEDS)
def test_two_arm_summary_matches_per_arm_km_and_logrank(seed):
    case = tied_case(seed)
    for lm in case["landmarks"]:
        km0, km1, kmp, p = fs.two_arm_summary(case["time"], case["event"], case["arm"], lm)
        close(km0, case["km"][0, lm])
        close(km1, case["km"][1, lm])
        close(kmp, case["km"]["pooled", lm])
        close(p, case["p"])


@pytest.mark.parametrize("seed", SEEDS)
def test_two_arm_cif_matches_per_arm_reference(seed):
    case = tied_case(seed)
    for lm in case["landmarks"]:
        for k in CAUSES:
            c0, c1, cp = fs.two_arm_cif(case["time"], case["cause"], case["arm"], lm, k)
            close(c0, case["cif"][0, lm, k])
            close(c1, case["cif"][1, lm, k])
            close(cp, case["cif"]["pooled", lm, k])


@pytest.mark.parametrize("seed", SEEDS)
def test_incidences_and_survival_sum_to_one(seed):
    """CIF_1 + CIF_2 + S = 1 (all-cause KM) for the fast statistics, with ties."""
    case = tied_case(seed)
    for lm in case["landmarks"]:
        total = (fs.cif_at(case["time"], case["cause"], lm, 1)
                 + fs.cif_at(case["time"], case["cause"], lm, 2)
                 + fs.km_at(case["time"], case["event"], lm))
        assert total == pytest.approx(1.0, abs=1e-12)


# --- reverse Kaplan-Meier median follow-up -------------------------------------------------


def exact_reverse_km_median(time: np.ndarray, died: np.ndarray) -> tuple[float, bool]:
    """First time the reverse KM reaches 1/2, in exact rational arithmetic (untied times);
    also whether it reaches exactly 1/2 there (a floating-point knife edge)."""
    n = time.size
    surv = Fraction(1)
    for k, i in enumerate(np.argsort(time)):
        if died[i] == 0:
            surv *= Fraction(n - k - 1, n - k)
            if surv <= Fraction(1, 2):
                return float(time[i]), surv == Fraction(1, 2)
    return math.inf, False


def continuous_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2000 + seed)
    n = int(rng.integers(5, 61))
    return rng.exponential(10.0, n), rng.integers(0, 2, n)


@pytest.mark.parametrize("seed", range(30))
def test_reverse_km_median_matches_reference_on_continuous_times(seed):
    time, died = continuous_case(seed)
    assert np.unique(time).size == time.size
    expected, knife_edge = exact_reverse_km_median(time, died)
    assert fs.reverse_km_median(time, died) == expected
    if not knife_edge:  # see test_reverse_km_median_exact_half_agrees_with_reference
        assert fs.reverse_km_median(time, died) == ref.reverse_km_median(time, died)


def test_reverse_km_median_exact_half_is_the_first_time_at_one_half():
    # reverse KM: death at 1 (censored), then 5/6, 4/6, 3/6 = 1/2 exactly at t = 4
    time, died = np.arange(1.0, 8.0), np.array([1, 0, 0, 0, 0, 1, 0])
    assert exact_reverse_km_median(time, died) == (4.0, True)
    assert fs.reverse_km_median(time, died) == 4.0


def test_reverse_km_median_exact_half_agrees_with_reference():
    time, died = np.arange(1.0, 8.0), np.array([1, 0, 0, 0, 0, 1, 0])
    assert ref.reverse_km_median(time, died) == fs.reverse_km_median(time, died)


def test_reverse_km_median_never_reached_is_infinite():
    time, died = np.array([1.0, 2.5, 4.0]), np.array([1, 1, 1])
    assert fs.reverse_km_median(time, died) == math.inf == ref.reverse_km_median(time, died)


# --- edge cases -------------------------------------------------------------------------------


def test_no_events_survival_one_incidence_zero_p_one():
    time = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    event = np.zeros(5, int)
    arm = np.array([0, 0, 1, 1, 1])
    assert fs.km_at(time, event, 4.0) == 1.0 == ref.km_at(time, event, 4.0)
    assert fs.logrank_p(time, event, arm) == 1.0 == ref.logrank_p(time, event, arm)
    assert fs.two_arm_summary(time, event, arm, 4.0) == (1.0, 1.0, 1.0, 1.0)
    assert fs.cif_at(time, event, 4.0, 1) == 0.0 == ref.cif_at(time, event, 4.0,
                                                               cause_of_interest=1)
    assert fs.two_arm_cif(time, event, arm, 4.0, 1) == (0.0, 0.0, 0.0)


def test_all_events():
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 6.0])
    event = np.ones(7, int)
    arm = np.array([0, 1, 0, 1, 1, 0, 1])
    assert fs.km_at(time, event, 6.0) == 0.0 == ref.km_at(time, event, 6.0)
    for lm in (1.0, 2.0, 3.5, 4.0, 6.0):
        close(fs.km_at(time, event, lm), ref.km_at(time, event, lm))
        km0, km1, kmp, p = fs.two_arm_summary(time, event, arm, lm)
        close(km0, ref.km_at(time[arm == 0], event[arm == 0], lm))
        close(km1, ref.km_at(time[arm == 1], event[arm == 1], lm))
        close(kmp, ref.km_at(time, event, lm))
        close(p, ref.logrank_p(time, event, arm))
    close(fs.km_at(time, event, 2.0), 4 / 7)  # 1 - 1/7, then 1 - 2/6
    close(fs.logrank_p(time, event, arm), ref.logrank_p(time, event, arm))
    cause = np.array([1, 2, 1, 1, 2, 2, 1])
    c0, c1, cp = fs.two_arm_cif(time, cause, arm, 6.0, 1)
    assert c0 + fs.two_arm_cif(time, cause, arm, 6.0, 2)[0] == pytest.approx(1.0, abs=1e-12)
    close(cp, ref.cif_at(time, cause, 6.0, cause_of_interest=1))
    close(c1, ref.cif_at(time[arm == 1], cause[arm == 1], 6.0, cause_of_interest=1))


@pytest.mark.parametrize(("time", "event"), [
    ([3.0, 5.0], [1, 1]),
    ([3.0, 3.0], [1, 1]),   # tied events in both arms
    ([3.0, 5.0], [1, 0]),
    ([5.0, 3.0], [0, 1]),
    ([3.0, 3.0], [1, 0]),   # event tied with a censoring
])
def test_single_patient_per_arm(time, event):
    time, event, arm = np.array(time), np.array(event), np.array([0, 1])
    for lm in (1.0, 3.0, 4.0, 5.0):
        km0, km1, kmp, p = fs.two_arm_summary(time, event, arm, lm)
        close(km0, ref.km_at(time[:1], event[:1], lm))
        close(km1, ref.km_at(time[1:], event[1:], lm))
        close(kmp, ref.km_at(time, event, lm))
        close(p, ref.logrank_p(time, event, arm))
        c0, c1, cp = fs.two_arm_cif(time, event, arm, lm, 1)
        close(c0, ref.cif_at(time[:1], event[:1], lm, cause_of_interest=1))
        close(c1, ref.cif_at(time[1:], event[1:], lm, cause_of_interest=1))
        close(cp, ref.cif_at(time, event, lm, cause_of_interest=1))
    close(fs.logrank_p(time, event, arm), ref.logrank_p(time, event, arm))


def test_landmark_before_first_time():
    time = np.array([2.0, 2.0, 3.0, 7.0, 8.0])
    cause = np.array([1, 2, 0, 1, 2])
    event = (cause > 0).astype(int)
    arm = np.array([0, 1, 0, 1, 0])
    assert fs.km_at(time, event, 1.5) == 1.0 == ref.km_at(time, event, 1.5)
    assert fs.two_arm_summary(time, event, arm, 1.5)[:3] == (1.0, 1.0, 1.0)
    for k in CAUSES:
        assert fs.cif_at(time, cause, 1.5, k) == 0.0 == ref.cif_at(time, cause, 1.5,
                                                                   cause_of_interest=k)
        assert fs.two_arm_cif(time, cause, arm, 1.5, k) == (0.0, 0.0, 0.0)
