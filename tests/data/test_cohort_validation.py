"""Table-driven tests: malformed cohorts are rejected with precise messages, nothing written."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from bridgebayes.core.errors import CohortError
from bridgebayes.data.cohort import CohortWarning, load_cohort
from bridgebayes.data.survival_table import load_survival_table

ARMS = ("blina", "cart")
HEADER = "id,arm,followup,death,relapse,agvhd34,cgvhd_sys"
VALID_ROWS = [
    "P1,blina,30.5,,,,",
    "P2,blina,12.0,12.0,6.0,,",
    "P3,blina,8.25,8.25,,2.0,",
    "P4,cart,40.0,,10.0,,15.0",
    "P5,cart,5.5,5.5,,,",
    "P6,cart,22.0,,,1.5,",
]


def csv_text(rows: list[str] | None = None, header: str = HEADER) -> str:
    return "\n".join([header, *(VALID_ROWS if rows is None else rows)]) + "\n"


def with_column(name: str, values: dict[int, str], default: str) -> str:
    """The valid table plus one column: ``values`` by row index, ``default`` elsewhere."""
    rows = [f"{r},{values.get(i, default)}" for i, r in enumerate(VALID_ROWS)]
    return csv_text(rows, header=f"{HEADER},{name}")


def replace_row(index: int, row: str) -> str:
    rows = list(VALID_ROWS)
    rows[index] = row
    return csv_text(rows)


# (case id, CSV text, load options, pattern the message must match)
CASES = [
    ("empty-file", "", {}, r"file is empty"),
    ("whitespace-file", "  \n\n", {}, r"file is empty"),
    ("header-only", HEADER + "\n", {}, r"header but no patients"),
    ("missing-id-column", csv_text([r.split(",", 1)[1] for r in VALID_ROWS],
                                   header=HEADER.split(",", 1)[1]), {},
     r"missing required column\(s\) \['id'\]"),
    ("missing-death-column", csv_text([r.rsplit(",", 4)[0] + "," + ",".join(r.rsplit(",", 4)[2:])
                                       for r in VALID_ROWS],
                                      header="id,arm,followup,relapse,agvhd34,cgvhd_sys"), {},
     r"missing required column\(s\) \['death'\]"),
    ("extra-column", csv_text([r + ",1" for r in VALID_ROWS], header=HEADER + ",age"), {},
     r"unexpected column\(s\) \['age'\]"),
    ("duplicate-column", csv_text([r + ",1" for r in VALID_ROWS], header=HEADER + ",relapse"),
     {}, r"duplicate column names: \['relapse'\]"),
    ("declared-covariate-absent", csv_text(), {"covariates": {"age": "numeric"}},
     r"covariates: declared column\(s\) \['age'\]"),
    ("covariate-text", with_column("age", {2: "x"}, "50"), {"covariates": {"age": "numeric"}},
     r"column 'age': not a finite number in 1 row, e.g. id=P3 \(value 'x'\)"),
    ("covariate-missing", with_column("age", {1: ""}, "50"), {"covariates": {"age": "numeric"}},
     r"column 'age': missing covariate value in 1 row, e.g. id=P2"),
    ("covariate-bad-kind", csv_text([r + ",50" for r in VALID_ROWS], header=HEADER + ",age"),
     {"covariates": {"age": "ordinal"}}, r"covariates\['age'\]: kind must be one of"),
    ("followup-missing", replace_row(0, "P1,blina,,,,,"), {},
     r"column 'followup': missing value in 1 row, e.g. id=P1"),
    ("followup-nan-text", replace_row(0, "P1,blina,NaN,,,,"), {},
     r"column 'followup': NaN is not allowed in 1 row, e.g. id=P1"),
    ("followup-inf", replace_row(0, "P1,blina,inf,,,,"), {},
     r"column 'followup': infinite time in 1 row, e.g. id=P1"),
    ("followup-negative", replace_row(0, "P1,blina,-3,,,,"), {},
     r"column 'followup': time must be > 0 .* id=P1 \(value '-3'\)"),
    ("followup-zero", replace_row(0, "P1,blina,0,,,,"), {},
     r"column 'followup': time must be > 0 .* id=P1"),
    ("followup-text", replace_row(0, "P1,blina,12 months,,,,"), {},
     r"column 'followup': not a number in 1 row, e.g. id=P1 \(value '12 months'\)"),
    ("relapse-text", replace_row(3, "P4,cart,40.0,,ten,,15.0"), {},
     r"column 'relapse': not a number in 1 row, e.g. id=P4 \(value 'ten'\)"),
    ("relapse-nan-text", replace_row(3, "P4,cart,40.0,,nan,,15.0"), {},
     r"column 'relapse': NaN is not allowed .* Leave the cell empty"),
    ("relapse-negative", replace_row(3, "P4,cart,40.0,,-1,,15.0"), {},
     r"column 'relapse': time must be > 0"),
    ("death-zero", replace_row(4, "P5,cart,5.5,0,,,"), {}, r"column 'death': time must be > 0"),
    ("gvhd-inf", replace_row(5, "P6,cart,22.0,,,-inf,"), {}, r"column 'agvhd34': infinite time"),
    ("relapse-after-death", replace_row(1, "P2,blina,12.0,12.0,14.0,,"), {},
     r"column 'relapse': event after death in 1 row, e.g. id=P2"),
    ("gvhd-after-death", replace_row(4, "P5,cart,5.5,5.5,,,7.0"), {},
     r"column 'cgvhd_sys': event after death in 1 row, e.g. id=P5"),
    ("followup-shorter-than-relapse", replace_row(3, "P4,cart,9.0,,10.0,,"), {},
     r"column 'relapse': event after last follow-up .* id=P4"),
    ("followup-shorter-than-gvhd", replace_row(5, "P6,cart,1.0,,,1.5,"), {},
     r"column 'agvhd34': event after last follow-up"),
    ("followup-not-death-time", replace_row(4, "P5,cart,9.0,5.5,,,"), {},
     r"column 'followup': differs from the death time .* id=P5"),
    ("duplicate-id", replace_row(1, "P1,blina,12.0,12.0,6.0,,"), {},
     r"column 'id': duplicate id in 2 rows, e.g. id=P1, id=P1"),
    ("blank-id", replace_row(1, ",blina,12.0,12.0,6.0,,"), {},
     r"column 'id': missing id in 1 row, e.g. id=line 3"),
    ("unknown-arm", replace_row(0, "P1,chemo,30.5,,,,"), {},
     r"column 'arm': unknown arm label in 1 row, e.g. id=P1 \(value 'chemo'\).*"
     r"Declared arms are \['blina', 'cart'\]"),
    ("blank-arm", replace_row(0, "P1,,30.5,,,,"), {}, r"column 'arm': unknown arm label"),
    ("arm-without-patients", csv_text(VALID_ROWS[:3]), {},
     r"declared arm\(s\) \['cart'\] have no patients"),
    ("arms-not-two", csv_text(), {"arms": ("blina",)}, r"arms: expected two distinct labels"),
    ("arms-identical", csv_text(), {"arms": ("blina", "blina")},
     r"arms: expected two distinct labels"),
    ("unknown-time-unit", csv_text(), {"time_unit": "fortnights"},
     r"time_unit: unknown time unit 'fortnights'"),
    ("flag-two", with_column("agvhd24", {2: "2"}, "0"), {},
     r"column 'agvhd24': indicator must be 0, 1, true or false in 1 row, e.g. id=P3 \(value '2'\)"),
    ("flag-yes", with_column("infection_cmv", {0: "yes"}, "1"), {},
     r"column 'infection_cmv': indicator must be 0, 1, true or false .* \(value 'yes'\)"),
    ("flag-blank", with_column("cgvhd", {0: ""}, "1"), {},
     r"column 'cgvhd': indicator must be 0, 1, true or false"),
    ("engraftment-negative", with_column("anc_engraftment_day", {0: "-4"}, "14"), {},
     r"column 'anc_engraftment_day': time must be > 0"),
    ("engraftment-after-followup", with_column("plt_engraftment_day", {4: "169"}, "14"), {},
     r"column 'plt_engraftment_day': engraftment after last follow-up in 1 row, e.g. id=P5 "
     r"\(value \(169.0, 167.4\)\)\. Values are \(engraftment day, follow-up in days\)"),
    ("many-offenders-counted",
     csv_text([f"Q{i},blina,-1,,,," for i in range(8)] + VALID_ROWS[3:]), {},
     r"column 'followup': time must be > 0 .* in 8 rows, e.g. id=Q0 .* and 3 more"),
]


@pytest.mark.parametrize(("text", "options", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_malformed_cohort_is_rejected_with_a_precise_message(tmp_path, text, options, pattern):
    source = tmp_path / "cohort.csv"
    source.write_text(text)
    before = sorted(tmp_path.iterdir())
    kwargs = {"arms": ARMS, **options}
    with pytest.raises(CohortError, match=pattern) as info:
        load_cohort(source, **kwargs)
    assert isinstance(info.value, ValueError)
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_the_table_has_at_least_30_cases():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CohortError, match=re.escape(str(tmp_path / "nope.csv"))):
        load_cohort(tmp_path / "nope.csv", arms=ARMS)


def test_valid_table_loads_and_derives_endpoints(tmp_path):
    source = tmp_path / "cohort.csv"
    source.write_text(csv_text())
    cohort = load_cohort(source, arms=ARMS)
    assert cohort.n_per_arm == {"blina": 3, "cart": 3}
    os_ = cohort.endpoint("os")
    np.testing.assert_array_equal(os_.time, [30.5, 12.0, 8.25, 40.0, 5.5, 22.0])
    np.testing.assert_array_equal(os_.event, [0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(os_.arm, [0, 0, 0, 1, 1, 1])
    pfs = cohort.endpoint("pfs")
    np.testing.assert_array_equal(pfs.time, [30.5, 6.0, 8.25, 10.0, 5.5, 22.0])
    np.testing.assert_array_equal(pfs.event, [0, 1, 1, 1, 1, 0])
    grfs = cohort.endpoint("grfs")
    np.testing.assert_array_equal(grfs.time, [30.5, 6.0, 2.0, 10.0, 5.5, 1.5])
    np.testing.assert_array_equal(grfs.event, [0, 1, 1, 1, 1, 1])
    cr = cohort.endpoint("relapse_nrm")
    np.testing.assert_array_equal(cr.event, [0, 1, 2, 1, 2, 0])
    assert cr.causes == ("relapse", "nrm")


def test_relapse_at_death_counts_as_relapse(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text(replace_row(1, "P2,blina,12.0,12.0,12.0,,"))
    assert load_cohort(source, arms=ARMS).endpoint("relapse_nrm").event[1] == 1


@pytest.mark.parametrize("unit", ["days", "weeks", "months", "years"])
def test_time_unit_is_kept_not_converted(tmp_path, unit):
    source = tmp_path / "c.csv"
    source.write_text(csv_text())
    cohort = load_cohort(source, arms=ARMS, time_unit=unit)
    assert cohort.time_unit == unit and cohort.time_zero == "transplant"
    assert cohort.format == "hsct"
    for name in ("os", "pfs", "grfs", "relapse_nrm"):
        data = cohort.endpoint(name)
        assert data.time_unit == unit
    # the same numbers as written, whatever the unit
    np.testing.assert_array_equal(cohort.endpoint("grfs").time, [30.5, 6.0, 2.0, 10.0, 5.5, 1.5])


def test_engraftment_days_are_checked_against_follow_up_in_the_declared_unit(tmp_path):
    """Engraftment is recorded in days whatever the unit: follow-up 5.5 weeks = 38.5 days."""
    source = tmp_path / "c.csv"
    source.write_text(with_column("anc_engraftment_day", {4: "38"}, "1"))
    load_cohort(source, arms=ARMS, time_unit="weeks")
    source.write_text(with_column("anc_engraftment_day", {4: "40"}, "1"))
    with pytest.raises(CohortError, match=r"engraftment after last follow-up .* id=P5 "
                                          r"\(value \(40.0, 38.5\)\)"):
        load_cohort(source, arms=ARMS, time_unit="weeks")


def test_dataframe_nan_means_no_event_but_csv_nan_text_is_rejected(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(csv_text()))
    assert np.isnan(frame.loc[0, "relapse"])
    cohort = load_cohort(frame, arms=ARMS)
    assert cohort.endpoint("pfs").event[0] == 0


def test_arm_with_no_events_warns_but_loads(tmp_path):
    rows = ["P1,blina,30.5,,,,", "P2,blina,12.0,,,,", *VALID_ROWS[3:]]
    source = tmp_path / "c.csv"
    source.write_text(csv_text(rows))
    with pytest.warns(CohortWarning, match=r"arm 'blina' has no Overall survival events "
                                           r"\(all 2 censored\)"):
        cohort = load_cohort(source, arms=ARMS)
    assert cohort.n_per_arm["blina"] == 2


def test_valid_cohort_does_not_warn(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text(csv_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_cohort(source, arms=ARMS)


def test_to_csv_round_trips(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text(csv_text())
    cohort = load_cohort(source, arms=ARMS)
    out = cohort.to_csv(tmp_path / "out" / "copy.csv")
    again = load_cohort(out, arms=ARMS)
    pd.testing.assert_frame_equal(again.table, cohort.table)


SIMPLE_CASES = [
    ("event-two", {"duration": [1, 2], "event": [2, 1], "arm": ["a", "b"]},
     r"column 'event': indicator must be 0, 1, true or false in 1 row, e.g. id=row1 \(value 2\)"),
    ("event-float", {"duration": [1, 2], "event": [0.5, 1], "arm": ["a", "b"]},
     r"column 'event': indicator must be"),
    ("duration-negative", {"duration": [-1, 2], "event": [1, 1], "arm": ["a", "b"]},
     r"column 'duration': time must be > 0"),
    ("duration-nan", {"duration": [np.nan, 2], "event": [1, 1], "arm": ["a", "b"]},
     r"column 'duration': missing value"),
    ("missing-event-column", {"duration": [1, 2], "arm": ["a", "b"]},
     r"missing required column\(s\) \['event'\]"),
    ("extra-column", {"duration": [1, 2], "event": [1, 1], "arm": ["a", "b"], "x": [1, 2]},
     r"unexpected column\(s\) \['x'\]"),
]


@pytest.mark.parametrize(("columns", "pattern"), [c[1:] for c in SIMPLE_CASES],
                         ids=[c[0] for c in SIMPLE_CASES])
def test_simple_table_rejects_malformed_input(columns, pattern):
    with pytest.raises(CohortError, match=pattern):
        load_survival_table(pd.DataFrame(columns), arms=("a", "b"))


def test_simple_table_accepts_true_false_and_custom_names():
    frame = pd.DataFrame({"T": [5.0, 6.0, 7.0], "E": ["true", "1", "False"],
                          "group": ["a", "b", "a"]})
    data = load_survival_table(frame, arms=("a", "b"), duration_col="T", event_col="E",
                               arm_col="group", endpoint="os", time_unit="years")
    np.testing.assert_array_equal(data.event, [1, 1, 0])
    np.testing.assert_array_equal(data.time, [5.0, 6.0, 7.0])  # years, as given
    assert data.name == "os" and data.time_unit == "years"
    np.testing.assert_array_equal(data.ids, ["row1", "row2", "row3"])


@pytest.mark.parametrize(("loader", "missing", "format_words"), [
    ("hsct", "death", "the transplant-cohort format needs columns id, arm, followup, death"),
    ("survival_table", "event", "the one-endpoint format needs columns duration, event"),
])
def test_missing_column_errors_name_the_expected_format(tmp_path, loader, missing,
                                                        format_words):
    if loader == "hsct":
        frame = pd.read_csv(pd.io.common.StringIO(csv_text())).drop(columns=missing)
        call = lambda: load_cohort(frame, arms=ARMS)  # noqa: E731
    else:
        frame = pd.DataFrame({"duration": [1, 2], "arm": ["a", "b"]})
        call = lambda: load_survival_table(frame, arms=("a", "b"))  # noqa: E731
    with pytest.raises(CohortError, match=re.escape(f"missing required column(s) "
                                                    f"['{missing}']")) as info:
        call()
    assert format_words in str(info.value)
