"""The nonparametric curve tables the run saves and the figures draw (hand-checked)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.reference.analysis import cif_at
from bridgebayes.reference.curves import (
    aalen_johansen_curves,
    at_risk_table,
    at_risk_times,
    km_curves,
    number_at_risk,
)

ARMS = ("ref", "trt")


def endpoint(time, event, arm, causes=(), unit="months") -> EndpointData:
    time = np.asarray(time, float)
    return EndpointData("e", time, np.asarray(event, int), np.asarray(arm, int), ARMS,
                        np.arange(time.size), tuple(causes), time_unit=unit)


# reference: deaths at 1, 3 (ties with a censoring at 3), censored 2, 5; treatment: 2, 4 dead
DATA = endpoint([1, 2, 3, 3, 5, 2, 4, 6], [1, 0, 1, 0, 0, 1, 1, 0], [0, 0, 0, 0, 0, 1, 1, 1])


def test_km_curve_steps_and_censoring_marks_by_hand():
    table = km_curves(DATA)
    assert list(table.columns) == ["arm", "time", "survival", "censored"]
    ref = table[(table["arm"] == "ref") & ~table["censored"]]
    # n = 5: death at 1 -> 4/5; censored at 2; at 3 two at risk-set 3 with one death -> 4/5 * 2/3
    np.testing.assert_allclose(ref["time"], [0, 1, 2, 3, 5])
    np.testing.assert_allclose(ref["survival"], [1, 4 / 5, 4 / 5, 4 / 5 * 2 / 3,
                                                 4 / 5 * 2 / 3], rtol=1e-12)
    marks = table[(table["arm"] == "ref") & table["censored"]]
    np.testing.assert_allclose(marks["time"], [2, 3, 5])
    np.testing.assert_allclose(marks["survival"], [4 / 5, 8 / 15, 8 / 15], rtol=1e-12)
    trt = table[(table["arm"] == "trt") & ~table["censored"]]
    np.testing.assert_allclose(trt["survival"], [1, 2 / 3, 1 / 3, 1 / 3], rtol=1e-12)


def test_km_curve_equals_lifelines_on_random_data():
    rng = np.random.default_rng(11)
    time = np.round(rng.exponential(10, 60), 1)  # rounded: ties
    event = rng.integers(0, 2, 60)
    arm = np.repeat([0, 1], 30)
    table = km_curves(endpoint(time, event, arm))
    for code, label in enumerate(ARMS):
        steps = table[(table["arm"] == label) & ~table["censored"]]
        kmf = KaplanMeierFitter().fit(time[arm == code], event[arm == code])
        np.testing.assert_allclose(steps["survival"], kmf.survival_function_.iloc[:, 0],
                                   rtol=1e-12)
        assert (np.diff(steps["survival"]) <= 0).all()


def test_an_arm_without_patients_has_no_rows():
    table = km_curves(endpoint([1, 2], [1, 0], [0, 0]))
    assert set(table["arm"]) == {"ref"}


def test_number_at_risk_follows_the_lifelines_convention():
    assert number_at_risk(np.array([1.0, 2.0, 2.0, 5.0]), [0, 1, 2, 4.9, 5, 6]).tolist() == \
        [4, 3, 1, 1, 0, 0]


@pytest.mark.parametrize(("horizon", "unit", "expected"), [
    (36.0, "months", [0, 6, 12, 18, 24, 30, 36]),
    (5.0, "months", [0, 1, 2, 3, 4, 5]),
    (100.0, "weeks", [0, 26, 52, 78]),
    (730.0, "days", [0, 180, 360, 540, 720]),
    (3.0, "years", [0, 0.5, 1, 1.5, 2, 2.5, 3]),
])
def test_at_risk_ticks_are_round_in_the_data_unit(horizon, unit, expected):
    ticks = at_risk_times(horizon, unit)
    np.testing.assert_allclose(ticks, expected)
    assert len(ticks) <= 8


def test_at_risk_table_uses_the_endpoint_unit():
    weeks = endpoint(DATA.time * 10, DATA.event, DATA.arm, unit="weeks")
    table = at_risk_table(weeks, 60.0)
    assert list(table.columns) == ["arm", "time", "n"]
    ref = table[table["arm"] == "ref"]
    np.testing.assert_allclose(ref["time"], at_risk_times(60.0, "weeks"))
    np.testing.assert_allclose(ref["time"], [0, 13, 26, 39, 52])  # a quarter year
    assert ref["n"].tolist() == [5, 4, 3, 1, 0]  # times 10, 20, 30, 30, 50 weeks
    assert table[table["arm"] == "trt"]["n"].tolist() == [3, 3, 2, 2, 1]  # 20, 40, 60


CR = endpoint([1, 2, 3, 4, 1, 2, 5], [1, 2, 0, 1, 2, 2, 1], [0, 0, 0, 0, 1, 1, 1],
              causes=("relapse", "nrm"))


def test_aalen_johansen_curves_by_hand_with_a_component_column():
    table = aalen_johansen_curves(CR)
    assert list(table.columns) == ["time", "arm", "component", "estimate"]
    assert set(table["component"]) == {"relapse", "nrm"}
    ref = table[table["arm"] == "ref"]
    relapse = ref[ref["component"] == "relapse"]
    # ref: relapse at 1 (4 at risk), nrm at 2 (3), censored 3, relapse at 4 (1 at risk)
    np.testing.assert_allclose(relapse["time"], [0, 1, 2, 4])
    np.testing.assert_allclose(relapse["estimate"], [0, 1 / 4, 1 / 4, 1 / 4 + 1 / 2],
                               rtol=1e-12)
    np.testing.assert_allclose(ref[ref["component"] == "nrm"]["estimate"],
                               [0, 0, 1 / 4, 1 / 4], rtol=1e-12)
    trt = table[(table["arm"] == "trt") & (table["component"] == "nrm")]
    np.testing.assert_allclose(trt["estimate"], [0, 1 / 3, 2 / 3, 2 / 3], rtol=1e-12)


def test_aalen_johansen_curves_agree_with_cif_at_and_are_non_decreasing():
    rng = np.random.default_rng(5)
    time = np.round(rng.exponential(10, 50), 0) + 1
    cause = rng.integers(0, 3, 50)
    arm = rng.integers(0, 2, 50)
    table = aalen_johansen_curves(endpoint(time, cause, arm, causes=("a", "b")))
    for (label, component), part in table.groupby(["arm", "component"]):
        code, k = ARMS.index(label), ("a", "b").index(component) + 1
        mask = arm == code
        expected = [cif_at(time[mask], cause[mask], t, cause_of_interest=k)
                    for t in part["time"]]
        np.testing.assert_allclose(part["estimate"], expected, rtol=1e-12, atol=1e-15)
        assert (np.diff(part["estimate"]) >= -1e-15).all()
    total = table.groupby(["arm", "time"])["estimate"].sum()
    assert (total <= 1 + 1e-12).all()


def test_aalen_johansen_curves_refuse_a_survival_endpoint():
    with pytest.raises(BridgeBayesError, match="'e' is not a competing-risks endpoint"):
        aalen_johansen_curves(DATA)


def test_tables_are_plain_frames_for_csv():
    for frame in (km_curves(DATA), at_risk_table(DATA, 6.0), aalen_johansen_curves(CR)):
        again = pd.read_csv(pd.io.common.StringIO(frame.to_csv(index=False)))
        pd.testing.assert_frame_equal(again, frame, check_dtype=False)
