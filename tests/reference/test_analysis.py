"""Tests for :mod:`bridgebayes.reference.analysis` (the frequentist reference analyses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter
from scipy.stats import chi2

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import load_cohort
from bridgebayes.reference.analysis import (
    ReferenceAnalysis,
    check_landmarks,
    cif_at,
    km_at,
    logrank_p,
    reference_analysis,
    reverse_km_median,
)
from bridgebayes.reference.gray import gray_test

ARMS = ("blina", "cart")


# --- Aalen-Johansen cumulative incidence ----------------------------------------------------


def lifelines_cif(time: np.ndarray, cause: np.ndarray, at: float, k: int) -> float:
    """Cumulative incidence from lifelines' AalenJohansenFitter (a right-continuous step)."""
    fitter = AalenJohansenFitter(calculate_variance=False).fit(time, cause, event_of_interest=k)
    curve = fitter.cumulative_density_.iloc[:, 0]
    return float(curve[curve.index <= at].iloc[-1])


@pytest.mark.parametrize("seed", range(8))
def test_cif_at_equals_lifelines_aalen_johansen_on_untied_data(seed):
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(8, 50))
    time = rng.exponential(10.0, n)  # continuous: lifelines would jitter ties
    assert np.unique(time).size == n
    cause = rng.integers(0, 3, n)
    cause[:2] = (1, 2)
    times = (0.5 * time.min(), *np.quantile(time, (0.25, 0.5, 0.9)), float(time.max()), 1e3)
    times = (*times, float(np.sort(time)[n // 2]))  # exactly on an observed time
    for k in (1, 2):
        for at in times:
            assert cif_at(time, cause, at, cause_of_interest=k) == pytest.approx(
                lifelines_cif(time, cause, at, k), rel=1e-12, abs=1e-15)


TIED_TIME = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0])
TIED_CAUSE = np.array([1, 2, 1, 0, 2, 1, 0])


@pytest.mark.parametrize(("at", "k", "expected"), [
    (0.5, 1, 0.0),
    (1.0, 1, 1 / 7),                    # t=1: 7 at risk, one of each cause
    (1.0, 2, 1 / 7),
    (2.0, 1, 1 / 7 + (5 / 7) / 5),      # t=2: 5 at risk, S(2-)=5/7, censoring tied
    (2.5, 2, 2 / 7),
    (3.0, 1, 2 / 7 + (3 / 7) / 2),      # t=3: 2 at risk, S(3-)=5/7*3/5=3/7
    (3.0, 2, 2 / 7),
    (10.0, 1, 1 / 2),
])
def test_cif_at_is_exact_on_a_hand_computed_tied_example(at, k, expected):
    assert cif_at(TIED_TIME, TIED_CAUSE, at, cause_of_interest=k) == pytest.approx(
        expected, rel=1e-12, abs=1e-15)


def test_tied_hand_example_incidences_and_survival_sum_to_one():
    event = (TIED_CAUSE > 0).astype(int)
    for at in (1.0, 2.0, 3.0, 4.0):
        total = (cif_at(TIED_TIME, TIED_CAUSE, at, cause_of_interest=1)
                 + cif_at(TIED_TIME, TIED_CAUSE, at, cause_of_interest=2)
                 + km_at(TIED_TIME, event, at))
        assert total == pytest.approx(1.0, abs=1e-12)
    assert km_at(TIED_TIME, event, 3.0) == pytest.approx(3 / 14, rel=1e-12)


def test_cif_at_counts_an_event_at_time_zero():
    time, cause = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1, 2, 0, 1])
    assert km_at(time, (cause > 0).astype(int), 2.5) == pytest.approx(0.5)
    assert cif_at(time, cause, 2.5, cause_of_interest=1) == pytest.approx(0.25)


# --- Kaplan-Meier, reverse KM -----------------------------------------------------------------


@pytest.mark.parametrize(("at", "expected"), [
    (0.5, 1.0),
    (1.0, 5 / 6),           # 6 at risk, 1 death
    (2.0, 5 / 6 * 4 / 5),   # 5 at risk; the censoring tied at 2 is still at risk
    (2.9, 2 / 3),
    (3.0, 2 / 3 * 2 / 3),   # 3 at risk
    (4.5, 4 / 9),
    (5.0, 0.0),             # last patient dies
])
def test_km_at_on_a_hand_computed_example(at, expected):
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([1, 1, 0, 1, 0, 1])
    assert km_at(time, event, at) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_reverse_km_median_on_a_hand_example():
    # deaths censor the reverse curve: t2: 4/5, t4: 4/5*2/3 = 8/15, t5: 8/15*1/2 = 4/15
    time = np.arange(1.0, 7.0)
    died = np.array([1, 0, 1, 0, 0, 0])
    assert reverse_km_median(time, died) == 5.0
    # nobody dies among five: 4/5, 3/5, 2/5 -> first at or below 1/2 at t=3
    assert reverse_km_median(time[:5], np.zeros(5, int)) == 3.0
    assert reverse_km_median(time, np.ones(6, int)) == np.inf  # nobody censored


def test_reverse_km_median_when_the_curve_is_exactly_one_half():
    # death at 1 censors the reverse curve; then 5/6, 4/6, 3/6 = 1/2 exactly at t=4
    time, died = np.arange(1.0, 8.0), np.array([1, 0, 0, 0, 0, 1, 0])
    assert reverse_km_median(time, died) == 4.0


def test_logrank_p_on_a_textbook_example():
    # one death in each arm with one patient at risk in arm 0 and two in total:
    # O1 - E1 = 0 - 1/2 at t=1 and 1 - 1 at t=2 -> chi2 = 0.25 / 0.25 = 1
    p = logrank_p(np.array([1.0, 2.0]), np.array([1, 1]), np.array([0, 1]))
    assert p == pytest.approx(0.31731050786291404, rel=1e-12)


# --- reference_analysis on a small cohort -------------------------------------------------------


def small_cohort():
    """Eight patients per arm with ties, relapse and non-relapse deaths in both arms."""
    nan = np.nan
    rows = [
        # id, arm, followup, death, relapse, agvhd34, cgvhd_sys
        ("B1", "blina", 30.0, nan, nan, nan, nan),
        ("B2", "blina", 12.0, 12.0, 6.0, nan, nan),
        ("B3", "blina", 8.0, 8.0, nan, 2.0, nan),
        ("B4", "blina", 24.0, nan, 12.0, nan, nan),
        ("B5", "blina", 40.0, nan, nan, nan, 14.0),
        ("B6", "blina", 6.0, 6.0, nan, nan, nan),
        ("B7", "blina", 18.0, nan, nan, nan, nan),
        ("B8", "blina", 26.0, 26.0, 20.0, nan, nan),
        ("C1", "cart", 40.0, nan, 10.0, nan, 15.0),
        ("C2", "cart", 6.0, 6.0, 6.0, nan, nan),     # relapse at death counts as relapse
        ("C3", "cart", 22.0, nan, nan, 1.5, nan),
        ("C4", "cart", 12.0, 12.0, nan, nan, nan),
        ("C5", "cart", 33.0, nan, nan, nan, nan),
        ("C6", "cart", 24.0, 24.0, nan, nan, 9.0),
        ("C7", "cart", 50.0, nan, 24.0, nan, nan),
        ("C8", "cart", 16.0, nan, nan, nan, nan),
    ]
    frame = pd.DataFrame(rows, columns=["id", "arm", "followup", "death", "relapse",
                                        "agvhd34", "cgvhd_sys"])
    return load_cohort(frame, arms=ARMS)


@pytest.fixture(scope="module")
def analysis() -> tuple:
    cohort = small_cohort()
    return cohort, reference_analysis(cohort, landmarks=(12.0, 24.0))


def test_reference_analysis_table_shape_and_groups(analysis):
    _, result = analysis
    assert isinstance(result, ReferenceAnalysis)
    lm = result.landmarks
    assert list(lm.columns) == ["endpoint", "measure", "group", "landmark", "estimate", "n",
                                "events", "note"]
    # 3 survival endpoints + 2 causes, 3 groups, 2 landmarks
    assert lm.shape == (5 * 3 * 2, 8)
    assert (lm["note"] == "").all()  # every landmark within every group's follow-up
    assert set(lm["group"]) == {"blina", "cart", "pooled"}
    assert set(lm["landmark"]) == {12.0, 24.0}
    survival = lm[lm["measure"] == "survival"]
    incidence = lm[lm["measure"] == "cumulative_incidence"]
    assert set(survival["endpoint"]) == {"os", "pfs", "grfs"}
    assert set(incidence["endpoint"]) == {"relapse", "nrm"}
    assert not lm.duplicated(["endpoint", "group", "landmark"]).any()
    assert lm["estimate"].between(0.0, 1.0).all()
    assert dict(zip(lm["group"], lm["n"], strict=True)) == {"blina": 8, "cart": 8, "pooled": 16}
    assert list(result.tests.columns) == ["endpoint", "test", "statistic", "p_value"]
    assert list(zip(result.tests["endpoint"], result.tests["test"], strict=True)) == [
        ("os", "log-rank"), ("pfs", "log-rank"), ("grfs", "log-rank"),
        ("relapse", "gray"), ("nrm", "gray")]
    assert result.tests["p_value"].between(0.0, 1.0).all()
    assert set(result.followup) == {"endpoint", "median_reverse_km", "min", "max"}


def estimate(result, endpoint, group, landmark) -> pd.Series:
    lm = result.landmarks
    row = lm[(lm["endpoint"] == endpoint) & (lm["group"] == group) & (lm["landmark"] == landmark)]
    assert len(row) == 1
    return row.iloc[0]


def test_reference_analysis_agrees_with_direct_calls(analysis):
    cohort, result = analysis
    groups = {"blina": lambda d: d.arm == 0, "cart": lambda d: d.arm == 1,
              "pooled": lambda d: np.ones(d.arm.size, bool)}
    for name in ("os", "pfs", "grfs"):
        data = cohort.endpoint(name)
        for group, select in groups.items():
            m = select(data)
            for landmark in (12.0, 24.0):
                row = estimate(result, name, group, landmark)
                assert row["estimate"] == km_at(data.time[m], data.event[m], landmark)
                assert (row["n"], row["events"]) == (m.sum(), data.event[m].sum())
        row = result.tests.loc[result.tests["endpoint"] == name].iloc[0]
        assert row["p_value"] == logrank_p(data.time, data.event, data.arm)
        # chi-square with 1 df: the statistic and the p-value agree (scipy)
        assert row["p_value"] == pytest.approx(chi2.sf(row["statistic"], 1), rel=1e-10)
    cr = cohort.endpoint("relapse_nrm")
    for k, cause in enumerate(("relapse", "nrm"), start=1):
        for group, select in groups.items():
            m = select(cr)
            for landmark in (12.0, 24.0):
                row = estimate(result, cause, group, landmark)
                assert row["estimate"] == cif_at(cr.time[m], cr.event[m], landmark,
                                                 cause_of_interest=k)
                assert row["events"] == (cr.event[m] == k).sum()
        test = result.tests[result.tests["endpoint"] == cause].iloc[0]
        gray = gray_test(cr.time, cr.event, cr.arm, cause_of_interest=k)
        assert (test["statistic"], test["p_value"]) == (gray.statistic, gray.p_value)
    os_ = cohort.endpoint("os")
    assert result.followup == {"endpoint": "os",
                               "median_reverse_km": reverse_km_median(os_.time, os_.event),
                               "min": 6.0, "max": 50.0}


def test_hand_values_of_the_small_cohort(analysis):
    _, result = analysis
    # blina OS: deaths at 6, 8, 12 with 8, 7, 6 at risk
    assert estimate(result, "os", "blina", 12.0)["estimate"] == pytest.approx(
        7 / 8 * 6 / 7 * 5 / 6, rel=1e-12)
    # cart NRM at 12: C2's relapse at death (6) is a relapse, C1 relapses at 10, C4 dies
    # without relapse at 12 with C3-C8 at risk (6); S(12-) = 7/8 * 6/7 = 6/8
    assert estimate(result, "nrm", "cart", 12.0)["estimate"] == pytest.approx(
        (6 / 8) / 6, rel=1e-12)


def test_relapse_nrm_and_pfs_sum_to_one_for_every_group(analysis):
    _, result = analysis
    for group in ("blina", "cart", "pooled"):
        for landmark in (12.0, 24.0):
            total = sum(estimate(result, e, group, landmark)["estimate"]
                        for e in ("relapse", "nrm", "pfs"))
            assert total == pytest.approx(1.0, abs=1e-12), (group, landmark)


# --- landmarks beyond the data and impossible landmarks -------------------------------------


def test_beyond_the_last_follow_up_of_a_group_is_not_estimable_instead_of_a_number():
    # blina: last follow-up 40 months (OS), last GRFS time 30; cart: 50 months
    result = reference_analysis(small_cohort(), landmarks=(35.0, 40.0, 45.0, 500.0))
    lm = result.landmarks.set_index(["endpoint", "group", "landmark"])
    assert lm.loc[("os", "blina", 40.0), "note"] == ""  # at the last follow-up: estimable
    assert np.isfinite(lm.loc[("os", "blina", 40.0), "estimate"])
    assert np.isnan(lm.loc[("os", "blina", 45.0), "estimate"])
    assert lm.loc[("os", "blina", 45.0), "note"] == \
        "not estimable beyond the last follow-up (40 months)"
    assert np.isfinite(lm.loc[("os", "cart", 45.0), "estimate"])
    assert np.isfinite(lm.loc[("os", "pooled", 45.0), "estimate"])
    assert lm.loc[("grfs", "blina", 35.0), "note"] == \
        "not estimable beyond the last follow-up (30 months)"  # per endpoint
    beyond = result.landmarks[result.landmarks["landmark"] == 500.0]
    assert beyond["estimate"].isna().all() and beyond["note"].str.startswith(
        "not estimable beyond the last follow-up").all()
    assert not (result.landmarks["estimate"] == 0.0).any()  # no 0.0 that was not computed


@pytest.mark.parametrize(("landmarks", "pattern"), [
    ((-12.0,), r"landmark times must be finite numbers > 0 .* got \[-12.0\]"),
    ((0.0, 12.0), r"got \[0.0\]"),
    ((float("inf"),), r"got \[inf\]"),
    ((float("nan"),), r"got \[nan\]"),
    ((True,), r"got \[True\]"),
    (("12",), r"got \['12'\]"),
    ((), r"expected a non-empty list"),
    ((12.0, 24.0, 12.0), r"duplicate landmark time\(s\) \[12.0\]"),
])
def test_impossible_landmarks_are_rejected(landmarks, pattern):
    with pytest.raises(BridgeBayesError, match=r"^landmarks: .*" + pattern):
        reference_analysis(small_cohort(), landmarks=landmarks)
    with pytest.raises(BridgeBayesError, match=r"^--landmarks: "):
        check_landmarks(landmarks, where="--landmarks")
