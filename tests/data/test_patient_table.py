"""Generic cohorts: patient tables with declared endpoints, one-endpoint tables, covariates."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from bridgebayes.core.errors import CohortError
from bridgebayes.data.cohort import CohortWarning, load_cohort, load_patient_table
from bridgebayes.data.covariates import Covariate, covariates_from, design
from bridgebayes.data.endpoints import HSCT_ENDPOINTS, EndpointDefinition, derive
from bridgebayes.data.survival_table import load_survival_cohort, load_survival_table

ARMS = ("placebo", "drug")
# a trial table in weeks: last contact, death, progression, a toxicity stop; two covariates
TRIAL = """id,arm,last,death,progression,toxicity,stage,age
T1,placebo,10,10,4,,II,61
T2,placebo,26,,12,,III,55
T3,placebo,8,8,,,I,70
T4,placebo,30,,,5,II,49
T5,drug,40,,,,I,66
T6,drug,22,22,22,,III,58
T7,drug,35,,18,3,II,72
T8,drug,12,12,,,III,63
"""
ENDPOINTS = {
    "os": EndpointDefinition("os", "Overall survival", events=("death",),
                             description="death from any cause"),
    "pfs": EndpointDefinition("pfs", "Progression-free survival",
                              events=("progression", "death")),
    "stop": EndpointDefinition("stop", "Progression vs toxicity",
                               causes={"progression": ("progression",),
                                       "toxicity": ("toxicity",)},
                               cause_labels={"toxicity": "toxicity stop"}),
}
COVARIATES = {"stage": Covariate("stage", "categorical", ("I", "II", "III"), "Stage"),
              "age": Covariate("age", "numeric")}


def trial_frame(text: str = TRIAL) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def load_trial(frame: pd.DataFrame | None = None, **options):
    kwargs = {"arms": ARMS, "endpoints": ENDPOINTS, "followup": "last",
              "terminal": ("death",), "time_unit": "weeks", "time_zero": "randomisation",
              "covariates": COVARIATES, **options}
    return load_patient_table(trial_frame() if frame is None else frame, **kwargs)


def test_declared_endpoints_are_derived_in_the_declared_unit():
    cohort = load_trial()
    assert (cohort.format, cohort.time_unit, cohort.time_zero, cohort.followup) == (
        "patient_table", "weeks", "randomisation", "last")
    assert list(cohort.endpoints) == ["os", "pfs", "stop"]
    assert cohort.n_per_arm == {"placebo": 4, "drug": 4}
    os_ = cohort.endpoint("os")
    np.testing.assert_array_equal(os_.time, [10, 26, 8, 30, 40, 22, 35, 12])
    np.testing.assert_array_equal(os_.event, [1, 0, 1, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(os_.arm, [0, 0, 0, 0, 1, 1, 1, 1])
    assert os_.time_unit == "weeks" and os_.arms == ARMS and os_.name == "os"
    pfs = cohort.endpoint("pfs")
    np.testing.assert_array_equal(pfs.time, [4, 12, 8, 30, 40, 22, 18, 12])
    np.testing.assert_array_equal(pfs.event, [1, 1, 1, 0, 0, 1, 1, 1])


def test_competing_causes_first_event_decides_and_ties_go_to_the_first_cause():
    stop = load_trial().endpoint("stop")
    assert stop.causes == ("progression", "toxicity")
    # T4 toxicity at 5; T7 toxicity at 3 before progression at 18; T6 progression at death
    np.testing.assert_array_equal(stop.time, [4, 12, 8, 5, 40, 22, 3, 12])
    np.testing.assert_array_equal(stop.event, [1, 1, 0, 2, 0, 1, 2, 0])
    tied = trial_frame().assign(toxicity=["", "", "", "5", "", "22", "3", ""])
    assert load_trial(tied).endpoint("stop").event[5] == 1  # progression listed first


def test_categorical_covariates_enter_as_indicator_columns_of_the_declared_levels():
    cohort = load_trial()
    assert cohort.design_columns(["stage", "age"]) == ("stage=II", "stage=III", "age")
    d = cohort.design()
    assert list(d.columns) == ["stage=II", "stage=III", "age"]
    np.testing.assert_array_equal(d["stage=II"], [1, 0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(d["stage=III"], [0, 1, 0, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(d["age"], [61, 55, 70, 49, 66, 58, 72, 63])
    covs = cohort.endpoint("pfs").covariates  # every endpoint carries the same design rows
    pd.testing.assert_frame_equal(covs, d)
    assert list(cohort.endpoint("os").to_frame().columns) == [
        "id", "arm", "time", "event", "stage=II", "stage=III", "age"]
    with pytest.raises(CohortError, match=r"covariates: \['bmi'\] are not declared; "
                                          r"declared: \['age', 'stage'\]"):
        cohort.design_columns(["bmi"])


def test_the_first_declared_level_is_the_reference_whatever_the_data_order():
    reordered = {**COVARIATES, "stage": Covariate("stage", "categorical", ("III", "I", "II"))}
    d = load_trial(covariates=reordered).design()
    assert list(d.columns) == ["stage=I", "stage=II", "age"]
    np.testing.assert_array_equal(d["stage=I"], [0, 0, 1, 0, 1, 0, 0, 0])


def test_undeclared_levels_and_columns_are_errors_naming_rows():
    with pytest.raises(CohortError, match=r"column 'stage': value\(s\) outside the declared "
                                          r"levels \['I', 'II'\] in 3 rows, e.g. id=T2 "
                                          r"\(value 'III'\)"):
        load_trial(covariates={**COVARIATES,
                               "stage": Covariate("stage", "categorical", ("I", "II"))})
    with pytest.raises(CohortError, match=r"unexpected column\(s\) \['stage', 'age'\]"):
        load_trial(covariates=None)
    with pytest.raises(CohortError, match=r"covariates: declared column\(s\) \['bmi'\] are "
                                          r"not in the table"):
        load_trial(covariates={**COVARIATES, "bmi": "numeric"})
    with pytest.raises(CohortError, match=r"column 'age': missing covariate value in 1 row"):
        load_trial(trial_frame().assign(age=["61", "", "70", "49", "66", "58", "72", "63"]))


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"kind": "ordinal"}, r"kind must be one of \('numeric', 'categorical'\)"),
    ({"kind": "categorical", "levels": ("a", "a")}, r"levels must be distinct"),
    ({"kind": "numeric", "levels": ("a", "b")}, r"only for categorical"),
    ({"kind": "categorical", "levels": ("a",)}, r"at least two levels"),
])
def test_bad_covariate_declarations(kwargs, pattern):
    with pytest.raises(CohortError, match=pattern):
        Covariate("x", **kwargs)


def test_undeclared_categorical_levels_are_the_sorted_observed_values():
    d, levels = design({"g": ["b", "a", "c", "a"]}, covariates_from({"g": "categorical"}),
                       ids=[1, 2, 3, 4])
    assert levels == {"g": ("a", "b", "c")}
    assert list(d.columns) == ["g=b", "g=c"]
    np.testing.assert_array_equal(d.to_numpy(), [[1, 0], [0, 0], [0, 1], [0, 0]])


def test_terminal_event_ends_follow_up_and_nothing_happens_after_it():
    bad = trial_frame(TRIAL.replace("T1,placebo,10,10,4", "T1,placebo,11,10,4"))
    with pytest.raises(CohortError, match=r"column 'last': differs from the death time .* "
                                          r"id=T1"):
        load_trial(bad)
    bad = trial_frame(TRIAL.replace("T3,placebo,8,8,,", "T3,placebo,8,8,9,"))
    with pytest.raises(CohortError, match=r"column 'progression': event after death .* id=T3"):
        load_trial(bad)
    bad = trial_frame(TRIAL.replace("T5,drug,40,,,", "T5,drug,40,,41,"))
    with pytest.raises(CohortError, match=r"column 'progression': event after last follow-up"):
        load_trial(bad)
    # without a terminal column, a death before last contact is allowed
    loose = trial_frame(TRIAL.replace("T1,placebo,10,10,4", "T1,placebo,11,10,4"))
    assert load_trial(loose, terminal=()).endpoint("os").time[0] == 10


def test_missing_columns_name_the_patient_table_format():
    with pytest.raises(CohortError) as info:
        load_trial(trial_frame().drop(columns="toxicity"))
    message = str(info.value)
    assert "missing required column(s) ['toxicity']" in message
    assert ("the patient-table format needs columns id, arm, the follow-up column 'last' and "
            "the event-time columns of the declared endpoints ['death', 'progression', "
            "'toxicity']") in message
    with pytest.raises(CohortError, match=r"missing required column\(s\) \['last'\]"):
        load_trial(trial_frame().rename(columns={"last": "followup"}))


def test_times_must_be_after_time_zero_whatever_the_study():
    bad = trial_frame(TRIAL.replace("T4,placebo,30,,,5", "T4,placebo,30,,,0"))
    with pytest.raises(CohortError, match=r"column 'toxicity': time must be > 0 \(after time "
                                          r"zero\) in 1 row, e.g. id=T4") as info:
        load_trial(bad)
    assert "transplant" not in str(info.value)


def test_an_arm_without_events_of_a_declared_endpoint_warns():
    quiet = trial_frame().assign(toxicity="")
    with pytest.warns(CohortWarning, match=r"arm 'placebo' has no Progression vs toxicity "
                                           r"events"):
        load_trial(quiet.assign(progression=["", "", "", "", "", "22", "18", ""],
                                death=["", "", "", "", "", "22", "", "12"],
                                last=["10", "26", "8", "30", "40", "22", "35", "12"]))


def test_unknown_endpoint_is_named():
    with pytest.raises(CohortError, match=r"unknown endpoint 'efs'; this study declares "
                                          r"\['os', 'pfs', 'stop'\]"):
        load_trial().endpoint("efs")


@pytest.mark.parametrize("kwargs", [
    {}, {"events": ("a",), "causes": {"x": ("a",), "y": ("b",)}},
    {"duration": "t"}, {"events": ("a",), "duration": "t", "event": "e"},
])
def test_an_endpoint_definition_has_exactly_one_kind(kwargs):
    with pytest.raises(CohortError, match="give exactly one of events"):
        EndpointDefinition("e", "E", **kwargs)


def test_endpoint_kinds_and_columns():
    assert ENDPOINTS["pfs"].kind == "first_event"
    assert ENDPOINTS["pfs"].columns == ("progression", "death")
    assert ENDPOINTS["stop"].kind == "competing"
    assert ENDPOINTS["stop"].columns == ("progression", "toxicity")
    direct = EndpointDefinition("d", "D", duration="t", event="e")
    assert direct.kind == "direct" and direct.columns == ("t", "e")


def test_the_transplant_preset_is_a_set_of_declared_endpoints():
    """load_cohort == load_patient_table with the HSCT endpoints, death terminal."""
    text = ("id,arm,followup,death,relapse,agvhd34,cgvhd_sys\nA,x,10,10,3,,\nB,x,12,,,2,\n"
            "C,y,9,,,,4\nD,y,5,5,5,,\n")
    hsct = load_cohort(trial_frame(text), arms=("x", "y"), time_unit="days")
    generic = load_patient_table(trial_frame(text), arms=("x", "y"), endpoints=HSCT_ENDPOINTS,
                                 terminal=("death",), time_unit="days", time_zero="transplant")
    assert list(hsct.endpoints) == ["os", "pfs", "grfs", "relapse_nrm"]
    for name in hsct.endpoints:
        a, b = hsct.endpoint(name), generic.endpoint(name)
        for field in ("time", "event", "arm", "ids"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert a.causes == b.causes and a.time_unit == b.time_unit == "days"
    assert hsct.endpoint("relapse_nrm").event.tolist() == [1, 0, 0, 1]  # D: relapse at death


def test_derive_directly_from_a_validated_table():
    t = pd.DataFrame({"id": ["a", "b"], "arm": ["X", "Y"], "followup": [10.0, 4.0],
                      "relapse": [3.0, np.nan], "death": [10.0, 4.0]})
    data = derive(t, HSCT_ENDPOINTS["pfs"], arms=("X", "Y"), time_unit="years")
    assert data.time.tolist() == [3.0, 4.0] and data.event.tolist() == [1, 1]
    assert data.time_unit == "years" and data.covariates.empty


# --- the one-endpoint (lifelines-style) table ---------------------------------------------

def test_survival_cohort_keeps_names_unit_time_zero_and_covariates():
    frame = pd.DataFrame({"pid": ["p1", "p2", "p3", "p4"], "weeks": [6, 7, 10, 3],
                          "relapsed": [1, 0, "true", "0"], "group": ["a", "b", "b", "a"],
                          "sex": ["f", "m", "f", "m"]})
    cohort = load_survival_cohort(
        frame, arms=("a", "b"), endpoint="remission", label="Remission duration",
        duration_col="weeks", event_col="relapsed", arm_col="group", id_col="pid",
        time_unit="weeks", time_zero="remission",
        covariates={"sex": Covariate("sex", "categorical", ("m", "f"))})
    assert (cohort.format, cohort.time_unit, cohort.time_zero) == ("survival_table", "weeks",
                                                                   "remission")
    assert list(cohort.endpoints) == ["remission"]
    definition = cohort.endpoints["remission"]
    assert definition.kind == "direct" and definition.label == "Remission duration"
    data = cohort.endpoint("remission")
    np.testing.assert_array_equal(data.time, [6, 7, 10, 3])
    np.testing.assert_array_equal(data.event, [1, 0, 1, 0])
    np.testing.assert_array_equal(data.ids, ["p1", "p2", "p3", "p4"])
    assert data.time_unit == "weeks"
    np.testing.assert_array_equal(data.covariates["sex=f"], [1, 0, 1, 0])
    assert cohort.design_columns(["sex"]) == ("sex=f",)


def test_survival_table_is_the_cohorts_one_endpoint():
    frame = pd.DataFrame({"duration": [6, 7, 10], "event": [1, 0, 1], "arm": ["a", "b", "b"]})
    data = load_survival_table(frame, arms=("a", "b"), endpoint="e", time_unit="days")
    cohort = load_survival_cohort(frame, arms=("a", "b"), endpoint="e", time_unit="days")
    again = cohort.endpoint("e")
    for field in ("time", "event", "arm", "ids"):
        np.testing.assert_array_equal(getattr(data, field), getattr(again, field))


@pytest.mark.parametrize(("frame", "options", "pattern"), [
    ({"id": ["x", "x"], "duration": [1, 2], "event": [1, 1], "arm": ["a", "b"]},
     {"id_col": "id"}, r"column 'id': duplicate id in 2 rows"),
    ({"duration": [1, 2], "event": [1, 1], "arm": ["a", "b"]}, {"endpoint": ""},
     r"endpoint: expected a non-empty name"),
    ({"duration": [1, 2], "event": [1, 1], "arm": ["a", "b"]}, {"time_unit": "hours"},
     r"time_unit: unknown time unit 'hours'"),
    ({"duration": [1, 2], "event": [1, 1], "arm": ["a", "c"]}, {},
     r"column 'arm': unknown arm label"),
    ({"duration": [1, 2], "event": [1, 1], "arm": ["a", "b"]}, {"covariates": {"x": "numeric"}},
     r"covariates: declared column\(s\) \['x'\] are not in the table"),
])
def test_survival_cohort_rejects_bad_input(frame, options, pattern):
    with pytest.raises(CohortError, match=pattern):
        load_survival_cohort(pd.DataFrame(frame), arms=("a", "b"), **options)


def test_survival_cohort_from_a_csv_names_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time,arm\n1,a\n2,b\n")
    with pytest.raises(CohortError, match=re.escape(f"{path}: missing required column(s)")):
        load_survival_cohort(path, arms=("a", "b"), duration_col="time")


def test_survival_cohort_without_events_in_an_arm_warns_and_a_valid_one_does_not():
    frame = pd.DataFrame({"duration": [6, 7, 10], "event": [0, 0, 1], "arm": ["a", "a", "b"]})
    with pytest.warns(CohortWarning, match=r"arm 'a' has no endpoint events"):
        load_survival_cohort(frame, arms=("a", "b"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_survival_cohort(frame.assign(event=[1, 0, 1]), arms=("a", "b"))
