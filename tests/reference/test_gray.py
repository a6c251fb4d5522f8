"""Tests for :mod:`bridgebayes.reference.gray` (Gray's K-sample test for cumulative incidence).

Provenance of the reference numbers is in ``data/reference/README.md``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.reference.gray import GrayTestResult, _scores_and_variance, _validate, gray_test

BMTCRR_SHA256 = "cc8775a071d50ce0b86f15dee40b16fd2062a38f4220a81211201af832a812eb"
KM_SHA256 = "f4502ef4eb82ba12dd71793c9b8e3ef44c65615a81e9791579311b770dbd4118"


def _load(root: Path, name: str, sha256: str) -> pd.DataFrame:
    path = root / "data" / "reference" / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, f"{name} changed"
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def bmtcrr() -> pd.DataFrame:
    return _load(Path(__file__).resolve().parents[2], "bmtcrr.csv", BMTCRR_SHA256)


@pytest.fixture(scope="module")
def bmt_km() -> pd.DataFrame:
    return _load(Path(__file__).resolve().parents[2], "bmt_klein_moeschberger.csv", KM_SHA256)


def _assert_printed(value: float, printed: str) -> None:
    """``value`` rounds to the number R printed, to the digits R printed."""
    decimals = len(printed.split(".")[1])
    assert abs(value - float(printed)) <= 0.5 * 10.0**-decimals + 1e-13, (value, printed)


def _same(a: GrayTestResult, b: GrayTestResult, *, same_cause: bool = True) -> None:
    assert a.df == b.df and (a.cause == b.cause or not same_cause)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-10)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9)


# --- published outputs of R cmprsk::cuminc -----------------------------------------------


@pytest.mark.parametrize(("cause", "stat", "pv"), [(1, "2.8623325", "0.09067592"),
                                                   (2, "0.4481279", "0.50322531")])
def test_bmtcrr_by_disease_reproduces_cuminc(bmtcrr, cause, stat, pv):
    """Scrucca et al. (2010) bmtcrr, cuminc(ftime, Status, D): ALL vs AML."""
    res = gray_test(bmtcrr["ftime"], bmtcrr["Status"], bmtcrr["D"], cause_of_interest=cause)
    assert (res.df, res.cause) == (1, cause)
    _assert_printed(res.statistic, stat)
    _assert_printed(res.p_value, pv)


@pytest.mark.parametrize(("cause", "stat", "pv"), [(1, "11.9228820", "0.0025762"),
                                                   (2, "0.1374108", "0.9336017")])
def test_klein_moeschberger_bmt_reproduces_cuminc(bmt_km, cause, stat, pv):
    """Klein & Moeschberger BMT data, 3 disease groups, time in years (CAMIS output)."""
    res = gray_test(bmt_km["T"] / 365.25, bmt_km["Status"], bmt_km["Group"],
                    cause_of_interest=cause)
    assert (res.df, res.cause) == (2, cause)
    _assert_printed(res.statistic, stat)
    _assert_printed(res.p_value, pv)


@pytest.mark.parametrize(("column", "cause", "rho", "stat"), [
    ("Phase", 1, 0.0, 14.358549713929406),
    ("Phase", 2, 0.0, 0.5894389259814062),
    ("Phase", 1, 1.0, 15.785859103786029),
    ("Phase", 2, -0.5, 0.47636415046066233),
    ("Source", 2, 1.0, 5.110846125429173),
])
def test_regression_pins_other_groupings_and_rho(bmtcrr, column, cause, rho, stat):
    """No published output: values from a line-by-line transliteration of crstm.f
    (development cross-check, not shipped) for K = 4 and rho != 0."""
    res = gray_test(bmtcrr["ftime"], bmtcrr["Status"], bmtcrr[column],
                    cause_of_interest=cause, rho=rho)
    assert res.statistic == pytest.approx(stat, rel=1e-9)
    assert res.df == bmtcrr[column].nunique() - 1


# --- relation to the log-rank test --------------------------------------------------------


def _null_sample(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    event, censor = rng.exponential(1.0, n), rng.exponential(2.0, n)
    return np.minimum(event, censor), (event <= censor).astype(int), np.arange(n) % k


@pytest.mark.parametrize("decimals", [None, 1])
def test_score_equals_logrank_observed_minus_expected_without_competing_events(decimals):
    """With only cause 1 and censoring, h_k (1 - F1_k(t-)) = Y_k(t), so Gray's
    rho = 0 score is exactly the log-rank O - E (ties included)."""
    time, cause, group = _null_sample(3, 80, 2)
    if decimals is not None:
        time = np.round(time, decimals)
    score, _ = _scores_and_variance(*_validate(time, cause, group, 1, 0.0), 0.0)
    o_minus_e = 0.0
    for u in np.unique(time[cause == 1]):
        at_risk, dead = time >= u, (time == u) & (cause == 1)
        o_minus_e += dead[group == 0].sum() - dead.sum() * at_risk[group == 0].sum() / at_risk.sum()
    assert score[0] == pytest.approx(o_minus_e, rel=1e-12, abs=1e-12)
    assert score.sum() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize(("k", "rel_tol", "p_tol"), [(2, 0.05, 0.01), (3, 0.15, 0.05)])
@pytest.mark.parametrize("seed", range(6))
def test_close_to_logrank_without_competing_events_under_null(seed, k, rel_tol, p_tol):
    """Same score, different (not hypergeometric) variance estimator: asymptotically
    equivalent under H0, so close but not identical.  Tolerances are empirical:
    over seeds 0-9 the largest differences were 2% / 0.003 (K=2), 10% / 0.033 (K=3)."""
    time, cause, group = _null_sample(seed, 200, k)
    res = gray_test(time, cause, group)
    lr = multivariate_logrank_test(time, group, cause)
    assert res.df == lr.degrees_of_freedom == k - 1
    assert res.statistic == pytest.approx(lr.test_statistic, rel=rel_tol, abs=0.02)
    assert abs(res.p_value - lr.p_value) <= p_tol


# --- invariances ---------------------------------------------------------------------------


def test_invariant_to_group_labels_and_which_group_is_dropped(bmt_km):
    ref = gray_test(bmt_km["T"], bmt_km["Status"], bmt_km["Group"])
    for mapping in ({1: 3, 2: 1, 3: 2}, {1: 2, 2: 3, 3: 1}, {1: "z", 2: "a", 3: "m"}):
        _same(gray_test(bmt_km["T"], bmt_km["Status"], bmt_km["Group"].map(mapping)), ref)


def test_invariant_to_time_scale_and_monotone_transforms(bmt_km):
    ref = gray_test(bmt_km["T"], bmt_km["Status"], bmt_km["Group"], cause_of_interest=2)
    for time in (bmt_km["T"] / 365.25, bmt_km["T"] * 24.0, np.sqrt(bmt_km["T"]),
                 np.log1p(bmt_km["T"])):
        _same(gray_test(time, bmt_km["Status"], bmt_km["Group"], cause_of_interest=2), ref)


def test_invariant_to_row_order_and_input_container(bmtcrr):
    ref = gray_test(bmtcrr["ftime"], bmtcrr["Status"], bmtcrr["D"])
    perm = np.random.default_rng(11).permutation(len(bmtcrr))
    shuffled = bmtcrr.iloc[perm]
    _same(gray_test(shuffled["ftime"].to_numpy(), shuffled["Status"].to_numpy(),
                    shuffled["D"].to_numpy()), ref)
    _same(gray_test(bmtcrr["ftime"].tolist(), bmtcrr["Status"].astype(float).tolist(),
                    bmtcrr["D"].astype("category")), ref)


def test_only_cause_of_interest_versus_other_matters(bmtcrr):
    ref1 = gray_test(bmtcrr["ftime"], bmtcrr["Status"], bmtcrr["D"], cause_of_interest=1)
    ref2 = gray_test(bmtcrr["ftime"], bmtcrr["Status"], bmtcrr["D"], cause_of_interest=2)
    recoded = bmtcrr["Status"].map({0: 0, 1: 7, 2: 3})        # other causes renumbered
    split = np.where((bmtcrr["Status"] == 2) & (np.arange(len(bmtcrr)) % 2 == 0), 5,
                     bmtcrr["Status"])                          # competing cause split in two
    _same(gray_test(bmtcrr["ftime"], recoded, bmtcrr["D"], cause_of_interest=7), ref1,
          same_cause=False)
    _same(gray_test(bmtcrr["ftime"], recoded, bmtcrr["D"], cause_of_interest=3), ref2,
          same_cause=False)
    _same(gray_test(bmtcrr["ftime"], split, bmtcrr["D"], cause_of_interest=1), ref1)


def test_small_example_and_result_type():
    res = gray_test([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 1, 0, 1, 1, 2, 0], list("aaaabbbb"))
    assert isinstance(res, GrayTestResult)
    assert (res.df, res.cause) == (1, 1)
    assert res.statistic == pytest.approx(2.2323081825463125, rel=1e-12)
    assert 0.0 < res.p_value < 1.0


def test_heavy_ties_and_time_zero_are_handled():
    time = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3], dtype=float)
    cause = np.array([1, 2, 1, 1, 2, 0, 1, 2, 0, 1, 1, 0])
    group = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    res = gray_test(time, cause, group)
    assert np.isfinite(res.statistic) and res.statistic >= 0.0
    _same(gray_test(time, cause, 1 - group), res)


def test_singular_variance_gives_nan():
    """Group b is censored before any failure: nothing to compare (cmprsk prints -1)."""
    res = gray_test([0.5, 0.5, 1, 2, 3], [0, 0, 1, 1, 2], ["b", "b", "a", "a", "a"])
    assert np.isnan(res.statistic) and np.isnan(res.p_value) and res.df == 1


# --- input validation ---------------------------------------------------------------------

_T, _C, _G = [1.0, 2.0, 3.0, 4.0], [1, 0, 2, 1], ["a", "a", "b", "b"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"time": [1.0, 2.0, 3.0]}, r"same length.*len\(time\)=3, len\(cause\)=4"),
    ({"group": ["a", "b"]}, r"len\(group\)=2"),
    ({"time": [1.0, np.nan, 3.0, 4.0]}, r"time must be finite.*id=1 \(value nan\)"),
    ({"time": [1.0, 2.0, np.inf, 4.0]}, r"time must be finite.*id=2 \(value inf\)"),
    ({"time": [1.0, -2.0, 3.0, 4.0]}, r"time must be non-negative.*id=1 \(value -2.0\)"),
    ({"time": ["1", "2", "3", "4"]}, r"time must be numeric"),
    ({"time": [[1.0, 2.0], [3.0, 4.0]]}, r"time must be one-dimensional"),
    ({"cause": [1, -1, 2, 1]}, r"cause must be non-negative integers.*id=1 \(value -1\)"),
    ({"cause": [1, 0.5, 2, 1]}, r"cause must be non-negative integers.*id=1 \(value 0.5\)"),
    ({"cause": [1, np.nan, 2, 1]}, r"cause must be non-negative integers.*id=1 \(value nan\)"),
    ({"cause": [1, 0, np.inf, 1]}, r"cause must be non-negative integers.*id=2 \(value inf\)"),
    ({"cause": ["x", "0", "2", "1"]}, r"cause must be numeric"),
    ({"group": ["a", None, "b", "b"]}, r"group must not contain missing.*id=1 \(value None\)"),
    ({"group": [0.0, np.nan, 1.0, 1.0]}, r"group must not contain missing.*id=1 \(value nan\)"),
    ({"group": pd.Series(["a", "a", pd.NA, "b"], dtype="string")},
     r"group must not contain missing.*id=2 \(value <NA>\)"),
    ({"group": ["a", "a", "a", "a"]}, r"group must have at least 2 distinct values, got 1"),
    ({"group": np.array(["a", 1, "b", 2], dtype=object)},
     r"group labels must be mutually comparable"),
    ({"cause": [2, 0, 2, 0]}, r"no event of cause_of_interest=1.*present: \[2\]"),
    ({"time": [], "cause": [], "group": []}, r"at least 2 distinct values, got 0"),
    ({"cause_of_interest": 0}, r"cause_of_interest must be an integer >= 1"),
    ({"cause_of_interest": 1.0}, r"cause_of_interest must be an integer >= 1"),
    ({"cause_of_interest": True}, r"cause_of_interest must be an integer >= 1"),
    ({"rho": np.nan}, r"rho must be a finite real number, got nan"),
    ({"rho": "1"}, r"rho must be a finite real number"),
])
def test_invalid_input_raises(kwargs, match):
    args = {"time": _T, "cause": _C, "group": _G} | kwargs
    with pytest.raises(BridgeBayesError, match=match) as info:
        gray_test(args.pop("time"), args.pop("cause"), args.pop("group"), **args)
    assert isinstance(info.value, ValueError)
