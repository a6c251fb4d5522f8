"""Tests for the Guyot et al. (2012) reconstruction of pseudo IPD from a KM curve."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

import bridgebayes.reconstruct.guyot as guyot
from bridgebayes.core.errors import ReconstructionError
from bridgebayes.reconstruct.guyot import reconstruct_from_km

N_PER_ARM = 180
RISK_STEP = 6.0  # months between the columns of the numbers-at-risk table


# --------------------------------------------------------------------------- helpers


@cache
def _trial(seed: int) -> pd.DataFrame:
    """Two arms, exponential event times (control median 12 months, true HR 0.6),
    uniform administrative censoring on (24, 48) months plus light random drop-out."""
    rng = np.random.default_rng(seed)
    rate = np.log(2) / 12.0
    arms = []
    for arm, hr in ((0, 1.0), (1, 0.6)):
        event = rng.exponential(1.0 / (rate * hr), N_PER_ARM)
        censor = np.minimum(rng.uniform(24.0, 48.0, N_PER_ARM), rng.exponential(100.0, N_PER_ARM))
        arms.append(pd.DataFrame({"time": np.minimum(event, censor),
                                  "event": (event <= censor).astype(int), "arm": arm}))
    return pd.concat(arms, ignore_index=True)


def _km(data: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    fitter = KaplanMeierFitter().fit(data["time"], data["event"])
    return fitter.survival_function_at_times(grid).to_numpy()


def _log_hr(data: pd.DataFrame) -> float:
    fit = CoxPHFitter().fit(data[["time", "event", "arm"]], "time", "event")
    return float(fit.params_["arm"])


@cache
def _trial_log_hr(seed: int) -> float:
    return _log_hr(_trial(seed))


def _digitise(data: pd.DataFrame, how: str) -> tuple[np.ndarray, np.ndarray]:
    """The points a digitiser would return: every step of the KM curve plus its end, or
    the curve read off on a regular grid of 60 times."""
    end = data["time"].max()
    if how == "steps":
        times = np.r_[np.unique(data.loc[data["event"] == 1, "time"]), end]
    else:
        times = np.linspace(0.0, end, 60)
    return times, _km(data, times)


def _step_curve(times: np.ndarray, survival: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Right-continuous step function through the digitised points, S = 1 before them."""
    idx = np.searchsorted(times, grid, side="right") - 1
    return np.where(idx >= 0, survival[np.maximum(idx, 0)], 1.0)


def _risk_table(data: pd.DataFrame, end: float, *, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers at risk every RISK_STEP months.  As published, ``closed`` runs up to and
    including the first column at or past the end of the curve (0 at risk there unless
    the curve ends exactly on it); otherwise the table stops before the end."""
    if closed:
        risk_times = RISK_STEP * np.arange(np.ceil(end / RISK_STEP) + 1)
    else:
        risk_times = np.arange(0.0, end, RISK_STEP)
    return risk_times, np.array([(data["time"] >= r).sum() for r in risk_times])


def _round_trip(seed: int, how: str, *, with_total: bool = False,
                closed: bool = True) -> dict[str, object]:
    """Digitise both arms, reconstruct and compare.  ``sup`` is the KM sup-distance over
    the whole curve, ``sup_table`` over [0, last risk time on the curve], per arm."""
    trial = _trial(seed)
    rebuilt, sup, sup_table = [], [], []
    for arm, data in trial.groupby("arm"):
        times, survival = _digitise(data, how)
        risk_times, n_at_risk = _risk_table(data, times[-1], closed=closed)
        assert (risk_times[-1] >= times[-1]) == closed
        total = int(data["event"].sum()) if with_total else None
        ipd = reconstruct_from_km(times, survival, risk_times=risk_times, n_at_risk=n_at_risk,
                                  total_events=total, arm=arm)
        assert len(ipd) == n_at_risk[0]
        assert ipd["time"].max() <= times[-1]
        # Coarse digitisation can shift events across a risk time, leaving a gap the
        # censoring cannot close (the reconstructed count is then carried forward).
        rebuilt_at_risk = np.array([(ipd["time"] >= r).sum() for r in risk_times])
        assert np.abs(rebuilt_at_risk - n_at_risk).max() <= (0 if how == "steps" else 2)
        if with_total:
            assert ipd["event"].sum() == total
        for end, out in ((times[-1], sup), (risk_times[risk_times <= times[-1]][-1], sup_table)):
            grid = np.linspace(0.0, end, 2000)
            reference = _km(data, grid) if how == "steps" else _step_curve(times, survival, grid)
            out.append(float(np.max(np.abs(reference - _km(ipd, grid)))))
        rebuilt.append(ipd)
    diff = _log_hr(pd.concat(rebuilt, ignore_index=True)) - _trial_log_hr(seed)
    return {"sup": sup, "sup_table": sup_table, "log_hr_diff": diff}


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("how", ["steps", "grid"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_recovers_curves_and_hazard_ratio(seed: int, how: str) -> None:
    # Risk table as published, closing with 0 at risk at the first column past the end;
    # KM sup-distance over the whole curve.  "steps": compared with the original KM;
    # "grid": with the curve the digitiser saw, since between grid points the original's
    # drops are invisible to any method.
    result = _round_trip(seed, how)
    assert max(result["sup"]) <= 0.02, result
    assert abs(result["log_hr_diff"]) <= 0.05, result


@pytest.mark.parametrize("seed", [1, 2])
def test_round_trip_with_total_events(seed: int) -> None:
    result = _round_trip(seed, "steps", with_total=True)
    # total_events acts on the last interval only and, as in Guyot et al., that interval
    # gets no events when the earlier ones already hold the total.  Seed 1's control arm
    # has a catch-up event at 9.79 (2 events for a 1-patient drop: 94 at risk instead of
    # 91 let its KM drift), so its drop at 42.05 is left out (full-range sup 0.047).
    assert max(result["sup_table"]) <= 0.02, result
    assert abs(result["log_hr_diff"]) <= 0.05, result


def test_risk_table_stopping_early_leaves_the_tail_undetermined() -> None:
    # Without the closing column the censoring after 42 is guessed from the earlier rate
    # (6 patients) and the 3 others are censored at the end, where no drop can move them:
    # seed 1's treated arm has 4 at risk at 45.75 instead of 3, and is off by 0.023.
    early, closed = _round_trip(1, "steps", closed=False), _round_trip(1, "steps")
    assert max(early["sup_table"]) <= 0.02, early
    assert max(early["sup"]) > 0.02 >= max(closed["sup"]), (early, closed)
    assert abs(early["log_hr_diff"]) <= 0.05, early


# --------------------------------------------------------------------------- hand checks


def test_uncensored_curve_reproduces_event_times_exactly() -> None:
    # 10 patients, events at 1, 2, 2, 3, 5; the other 5 are followed to 6.
    ipd = reconstruct_from_km([1, 2, 3, 5, 6], [0.9, 0.7, 0.6, 0.5, 0.5],
                              risk_times=[0, 4], n_at_risk=[10, 6])
    assert ipd["time"].tolist() == [1, 2, 2, 3, 5, 6, 6, 6, 6, 6]
    assert ipd["event"].tolist() == [1] * 5 + [0] * 5
    assert ipd["time"].dtype == np.float64
    assert ipd["event"].dtype == np.int64
    assert list(ipd.columns) == ["time", "event"]


@pytest.fixture
def guyot_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain Guyot et al.: no drop is taken to resolve the number at risk."""
    monkeypatch.setattr(guyot, "DROP_RESOLUTION", np.inf)


def _times(ipd: pd.DataFrame, event: int) -> list[float]:
    return ipd.loc[ipd["event"] == event, "time"].tolist()


def test_censorings_are_spread_evenly_to_match_numbers_at_risk(guyot_only: None) -> None:
    # 10 at risk at 0, 6 at 2 and one drop (S 0.9) at 1: 1 event and 3 censorings on
    # (0, 2), at 0.5, 1 and 1.5.  After 2 the censoring rate of (0, 2) (1.5 per unit
    # time) gives round(1.5) = 2 censorings on (2, 3); 4 remain, censored at the end.
    ipd = reconstruct_from_km([0, 1, 3], [1.0, 0.9, 0.9], risk_times=[0, 2],
                              n_at_risk=[10, 6])
    assert _times(ipd, 1) == [1.0]
    np.testing.assert_allclose(_times(ipd, 0), [0.5, 1.0, 1.5, 7 / 3, 8 / 3, 3, 3, 3, 3])


def test_drop_resolving_the_number_at_risk_moves_censorings() -> None:
    # As above, but the drop 1.0 -> 0.9 says 10 were at risk at 1 (1 event among 9 would
    # give 0.889): the censoring spread to 0.5 moves after the event, the KM fits exactly.
    ipd = reconstruct_from_km([0, 1, 3], [1.0, 0.9, 0.9], risk_times=[0, 2],
                              n_at_risk=[10, 6])
    assert _times(ipd, 1) == [1.0]
    np.testing.assert_allclose(_times(ipd, 0), [1.0, 1.0, 1.5, 7 / 3, 8 / 3, 3, 3, 3, 3])
    np.testing.assert_allclose(_km(ipd, np.array([1.0, 3.0])), [0.9, 0.9])
    # Earlier: 4 patients, followed to 3; events at 2 (S 2/3) and 3 (S 1/3) need 3 at
    # risk at 2, so one is censored before 2.  Plain Guyot keeps 4 there (S 0.75, 0.25).
    times, survival, table = [0, 2, 3], [1.0, 2 / 3, 1 / 3], {"risk_times": [0, 4],
                                                            "n_at_risk": [4, 0]}
    ipd = reconstruct_from_km(times, survival, **table)
    assert (_times(ipd, 1), _times(ipd, 0)) == ([2.0, 3.0], [1.5, 3.0])
    np.testing.assert_allclose(_km(ipd, np.array([2.0, 3.0])), [2 / 3, 1 / 3])


def test_total_events_fixes_censoring_in_last_interval(guyot_only: None) -> None:
    kwargs = {"risk_times": [0, 2], "n_at_risk": [10, 6]}
    times, survival = [0, 1, 3, 4], [1.0, 0.9, 0.9, 0.6]
    assert reconstruct_from_km(times, survival, **kwargs)["event"].sum() == 2
    ipd = reconstruct_from_km(times, survival, total_events=3, **kwargs)
    assert _times(ipd, 1) == [1.0, 4.0, 4.0]
    assert _times(ipd, 0) == [0.5, 1.0, 1.5, 3.0, 4.0, 4.0, 4.0]


def test_total_events_with_drops_resolving_the_number_at_risk() -> None:
    # The drop 0.9 -> 0.6 at 4 (2 of 6) keeps the censoring spread to 3 until after it.
    ipd = reconstruct_from_km([0, 1, 3, 4], [1.0, 0.9, 0.9, 0.6], risk_times=[0, 2],
                              n_at_risk=[10, 6], total_events=3)
    assert _times(ipd, 1) == [1.0, 4.0, 4.0]
    assert _times(ipd, 0) == [1.0, 1.0, 1.5, 4.0, 4.0, 4.0, 4.0]
    np.testing.assert_allclose(_km(ipd, np.array([1.0, 4.0])), [0.9, 0.6])


def test_risk_table_closing_past_the_curve_with_zero_at_risk() -> None:
    # Curve ends at 3 and the table at "4: 0, 6: 0": the 9 at risk at 2 all leave by 3,
    # so after the event at 2 the other 8 are censored evenly over (2, 3], the last at 3.
    # Without the closing columns the earlier rate (none) leaves all 8 to the end.
    times, survival = [0, 1, 2, 3], [1.0, 0.9, 0.8, 0.8]
    ipd = reconstruct_from_km(times, survival, risk_times=[0, 2, 4, 6], n_at_risk=[10, 9, 0, 0])
    assert _times(ipd, 1) == [1.0, 2.0]
    np.testing.assert_allclose(_times(ipd, 0), 2 + np.arange(1, 9) / 8)
    ipd = reconstruct_from_km(times, survival, risk_times=[0, 2], n_at_risk=[10, 9])
    assert (_times(ipd, 1), _times(ipd, 0)) == ([1.0, 2.0], [3.0] * 8)


def test_origin_is_added_and_small_digitisation_noise_is_cleaned() -> None:
    kwargs = {"risk_times": [0, 2], "n_at_risk": [20, 14], "arm": "B"}
    clean = reconstruct_from_km([0, 1, 2, 3], [1.0, 0.9, 0.8, 0.7], **kwargs)
    no_origin = reconstruct_from_km([1, 2, 3], [0.9, 0.8, 0.7], **kwargs)
    # survival rises by 0.01 (running minimum), time steps back by 0.01 (running maximum)
    noisy = reconstruct_from_km([0, 1, 0.99, 2, 3], [0.995, 0.9, 0.91, 0.8, 0.7], **kwargs)
    pd.testing.assert_frame_equal(no_origin, clean)
    pd.testing.assert_frame_equal(noisy, clean)
    assert (clean["arm"] == "B").all()
    pd.testing.assert_frame_equal(
        reconstruct_from_km([0, 1, 2, 3], [1.0, 0.9, 0.8, 0.7], **kwargs), clean)


# --------------------------------------------------------------------------- validation

VALID = {"times": [0, 1, 2, 3], "survival": [1.0, 0.9, 0.8, 0.7],
         "risk_times": [0, 2], "n_at_risk": [10, 7]}
PAST_CURVE = r"^risk_times past the last digitised time 3 must have 0 at risk: "


@pytest.mark.parametrize(("changes", "message"), [
    ({"times": [], "survival": []}, r"^times must be a non-empty 1-D"),
    ({"risk_times": [], "n_at_risk": []}, r"^risk_times must be a non-empty 1-D"),
    ({"times": [[0, 1, 2, 3]]}, r"^times must be a non-empty 1-D .*shape \(1, 4\)"),
    ({"times": ["0", "a", "2", "3"]}, r"^times must be a sequence of numbers"),
    ({"survival": [1.0, 0.9, 0.8]}, r"^times and survival must have equal lengths, got 4 and 3"),
    ({"n_at_risk": [10]}, r"^risk_times and n_at_risk must have equal lengths, got 2 and 1"),
    ({"times": [0, 1, np.nan, 3]}, r"^times must be finite.*id=2 \(value nan\)"),
    ({"survival": [1.0, np.inf, 0.8, 0.7]}, r"^survival must be finite.*id=1 \(value inf\)"),
    ({"n_at_risk": [10, np.nan]}, r"^n_at_risk must be finite.*id=1"),
    ({"risk_times": [0, np.inf]}, r"^risk_times must be finite.*id=1"),
    ({"times": [-1, 1, 2, 3]}, r"^times must be non-negative.*id=0 \(value -1\.0\)"),
    ({"survival": [1.0, 1.2, 0.8, 0.7]}, r"^survival must lie in \[0, 1\].*id=1 \(value 1\.2\)"),
    ({"survival": [100, 90, 80, 70]}, r"^survival must lie in \[0, 1\].*4 rows"),
    ({"survival": [1.0, 0.8, 0.9, 0.7]}, r"^survival must be non-increasing.*id=2 \(value 0\.9\)"),
    ({"survival": [0.9, 0.9, 0.8, 0.7]}, r"^survival must be 1 at time 0.*value 0\.9"),
    ({"times": [0, 2, 1, 3]}, r"^times must be non-decreasing.*id=2 \(value 1\.0\)"),
    ({"n_at_risk": [7, 10]}, r"^n_at_risk must not increase over time.*id=1 \(value 10\.0\)"),
    ({"n_at_risk": [10, 6.5]}, r"^n_at_risk must be whole numbers.*value 6\.5"),
    ({"n_at_risk": [10, -1]}, r"^n_at_risk must be non-negative.*value -1\.0"),
    ({"n_at_risk": [0, 0]}, r"^n_at_risk\[0\] \(the number of patients\) must be positive"),
    ({"risk_times": [-1, 2]}, r"^risk_times must be non-negative.*value -1\.0"),
    ({"risk_times": [0, 5]}, PAST_CURVE + r"1 row, e\.g\. id=1 \(value 5\.0\)"),
    ({"risk_times": [0, 2, 4, 6], "n_at_risk": [10, 7, 0, 1]},
     PAST_CURVE + r"1 row, e\.g\. id=3 \(value 6\.0\)"),
    ({"risk_times": [0, 2, 4, 6], "n_at_risk": [10, 7, 1, 1]},
     PAST_CURVE + r"2 rows, e\.g\. id=2 \(value 4\.0\), id=3 \(value 6\.0\)"),
    ({"risk_times": [1, 2]}, r"^risk_times\[0\] must be 0 or the first digitised time 0, got 1"),
    ({"risk_times": [0, 2, 2], "n_at_risk": [10, 7, 7]},
     r"^risk_times must be strictly increasing.*id=2 \(value 2\.0\)"),
    ({"total_events": 11}, r"^total_events \(11\) exceeds the number of patients"),
    ({"total_events": -1}, r"^total_events must be a non-negative whole number, got -1"),
    ({"total_events": 2.5}, r"^total_events must be a non-negative whole number, got 2\.5"),
    ({"total_events": "many"}, r"^total_events must be a non-negative whole number"),
])
def test_invalid_input_raises_naming_the_argument(changes: dict, message: str) -> None:
    kwargs = {**VALID, **changes}
    times, survival = kwargs.pop("times"), kwargs.pop("survival")
    with pytest.raises(ReconstructionError, match=message):
        reconstruct_from_km(times, survival, **kwargs)


def test_reconstruction_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="total_events"):
        reconstruct_from_km(**{**VALID, "total_events": 11})
