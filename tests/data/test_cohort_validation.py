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
    ("empty-file", "", {}, r"the cohort CSV is empty"),
    ("whitespace-file", "  \n\n", {}, r"the cohort CSV is empty"),
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
     r"column 'age': not a finite number in 1 row, e.g. id=P3 \(line 4, value 'x'\)"),
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
     r"column 'followup': time must be > 0 .* id=P1 \(line 2, value '-3'\)"),
    ("followup-zero", replace_row(0, "P1,blina,0,,,,"), {},
     r"column 'followup': time must be > 0 .* id=P1"),
    ("followup-text", replace_row(0, "P1,blina,12 months,,,,"), {},
     r"column 'followup': not a number in 1 row, e.g. id=P1 \(line 2, value '12 months'\)"),
    ("relapse-text", replace_row(3, "P4,cart,40.0,,ten,,15.0"), {},
     r"column 'relapse': not a number in 1 row, e.g. id=P4 \(line 5, value 'ten'\)"),
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
     r"column 'id': duplicate id in 2 rows, e.g. id=P1 \(line 2\), id=P1 \(line 3\)"),
    ("blank-id", replace_row(1, ",blina,12.0,12.0,6.0,,"), {},
     r"column 'id': missing id in 1 row, e.g. id=line 3"),
    ("unknown-arm", replace_row(0, "P1,chemo,30.5,,,,"), {},
     r"column 'arm': unknown arm label in 1 row, e.g. id=P1 \(line 2, value 'chemo'\).*"
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
     r"column 'agvhd24': indicator must be 0, 1, true or false in 1 row, e.g. id=P3 "
     r"\(line 4, value '2'\)"),
    ("flag-yes", with_column("infection_cmv", {0: "yes"}, "1"), {},
     r"column 'infection_cmv': indicator must be 0, 1, true or false .* "
     r"\(line 2, value 'yes'\)"),
    ("flag-blank", with_column("cgvhd", {0: ""}, "1"), {},
     r"column 'cgvhd': indicator must be 0, 1, true or false"),
    ("engraftment-negative", with_column("anc_engraftment_day", {0: "-4"}, "14"), {},
     r"column 'anc_engraftment_day': time must be > 0"),
    ("engraftment-after-followup", with_column("plt_engraftment_day", {4: "169"}, "14"), {},
     r"column 'plt_engraftment_day': engraftment after last follow-up in 1 row, e.g. id=P5 "
     r"\(line 6, value \(169.0, 167.4\)\)\. Values are \(engraftment day, follow-up in days\)"),
    # strict numbers: what Python's float() would have read as something else
    ("underscore-separator", replace_row(0, "P1,blina,3_0.5,,,,"), {},
     r"column 'followup': not a number in 1 row, e.g. id=P1 \(line 2, value '3_0.5'\)\. "
     r"Times must be plain numbers"),
    ("hexadecimal", replace_row(3, "P4,cart,40.0,,0x0a,,15.0"), {},
     r"column 'relapse': not a number .* \(line 5, value '0x0a'\)"),
    ("decimal-comma", replace_row(0, 'P1,blina,"30,5",,,,'), {},
     r"column 'followup': not a number .* \(line 2, value '30,5'\)"),
    ("non-ascii-digits", replace_row(0, "P1,blina,\u0663\u0660,,,,"), {},
     r"column 'followup': not a number .* id=P1"),
    ("infinity-word", replace_row(0, "P1,blina,Infinity,,,,"), {},
     r"column 'followup': infinite time in 1 row, e.g. id=P1 \(line 2, value 'Infinity'\)"),
    ("overflow", replace_row(0, "P1,blina,1e400,,,,"), {},
     r"column 'followup': number beyond the floating-point range .* \(line 2, value '1e400'\)"),
    ("underflow", replace_row(3, "P4,cart,40.0,,1e-400,,15.0"), {},
     r"column 'relapse': number beyond the floating-point range .* rounds to zero"),
    ("beyond-100-years", replace_row(0, "P1,blina,1300,,,,"), {},
     r"column 'followup': time beyond 100 years \(1200 months\) "
     r"in 1 row, e.g. id=P1 \(line 2, value '1300'\)\. Check the value and the time unit"),
    ("infinite-after-conversion", replace_row(0, "P1,blina,1e308,,,,"), {"time_unit": "years"},
     r"column 'followup': time beyond 100 years \(100 years\) in 1 row, e.g. id=P1 "
     r"\(line 2, value '1e308'\)"),
    ("engraftment-beyond-100-years", with_column("anc_engraftment_day", {0: "1e6"}, "14"), {},
     r"column 'anc_engraftment_day': time beyond 100 years \(36525 days\)"),
    # ragged rows: pandas would fill a short row with blanks (losing e.g. a death time)
    ("short-row", replace_row(2, "P3,blina,8.25,8.25"), {},
     r"cohort.csv: line 4 has 4 fields but the header has 7: a missing cell"),
    ("long-row", replace_row(0, "P1,blina,30.5,,,,,"), {},
     r"cohort.csv: line 2 has 8 fields but the header has 7: a comma too many"),
    ("several-ragged-rows", csv_text([r + "," for r in VALID_ROWS]), {},
     r"line 2 has 8 fields but the header has 7 \(and 5 more line\(s\)\)"),
    ("unbalanced-quote", replace_row(5, '"P6,cart,22.0,,,1.5,'), {},
     r"cohort.csv: line 7: malformed CSV .* check the quotes"),
    ("semicolon-separated", csv_text([r.replace(",", ";") for r in VALID_ROWS],
                                     header=HEADER.replace(",", ";")), {},
     r"separated by semicolons; save it with commas"),
    ("blank-column-name", csv_text([r + "," for r in VALID_ROWS], header=HEADER + ","), {},
     r"line 1: column\(s\) \[8\] of the header have no name"),
    ("line-numbers-count-blank-lines", HEADER + "\n\n" + "\n".join(VALID_ROWS[:2])
     + "\nP3,blina,x,,,,\n" + "\n".join(VALID_ROWS[3:]) + "\n", {},
     r"column 'followup': not a number in 1 row, e.g. id=P3 \(line 5, value 'x'\)"),
    ("one-endpoint-table-as-cohort", "duration,event,arm\n3,1,blina\n4,0,cart\n", {},
     r"missing required column\(s\) \['id', 'followup', 'death', 'relapse', 'agvhd34', "
     r"'cgvhd_sys'\]: the transplant-cohort format \(data.format = 'hsct'\) needs columns id, "
     r"arm, followup, death, relapse, agvhd34, cgvhd_sys .* for one endpoint use "
     r"data.format = 'survival_table' \(duration, event, arm\)"),
    ("many-offenders-counted",
     csv_text([f"Q{i},blina,-1,,,," for i in range(8)] + VALID_ROWS[3:]), {},
     r"column 'followup': time must be > 0 .* in 8 rows, e.g. id=Q0 .* and 3 more"),
]


#: cases whose problem is an argument, not the file: the message need not name the file
ARGUMENT_CASES = {"covariate-bad-kind", "arms-not-two", "arms-identical", "unknown-time-unit"}


@pytest.mark.parametrize(("case", "text", "options", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_malformed_cohort_is_rejected_with_a_precise_message(tmp_path, case, text, options,
                                                             pattern):
    source = tmp_path / "cohort.csv"
    source.write_text(text, encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    kwargs = {"arms": ARMS, **options}
    with pytest.raises(CohortError, match=pattern) as info:
        load_cohort(source, **kwargs)
    assert isinstance(info.value, ValueError)
    if case not in ARGUMENT_CASES:
        assert str(info.value).startswith(f"{source}: ")  # the file is named first
    assert sorted(tmp_path.iterdir()) == before  # nothing written


# (case id, bytes of the file, pattern): encodings other than UTF-8 are refused by name
ENCODED = replace_row(0, "P1é,blina,30.5,,,,")
ENCODING_CASES = [
    ("utf-16-with-bom", ENCODED.encode("utf-16"), r"is UTF-16 text; re-save it as UTF-8"),
    ("utf-16-without-bom", ENCODED.encode("utf-16-le"),
     r"contains NUL bytes \(first on line 1\): UTF-16 without a byte-order mark"),
    ("utf-32", ENCODED.encode("utf-32"), r"is UTF-32 text; re-save it as UTF-8"),
    ("latin-1", ENCODED.encode("latin-1"),
     r"is not UTF-8 text \(byte 0xe9 on line 2, column 3: probably Latin-1 or Windows-1252\); "
     r"re-save it as UTF-8 \(in Excel: Save As 'CSV UTF-8'\)"),
    ("excel-workbook", b"PK\x03\x04" + bytes(60), r"a ZIP archive or an Excel workbook"),
    ("nul-byte", csv_text().encode().replace(b"P3", b"P\x003"),
     r"contains NUL bytes \(first on line 4\)"),
]


@pytest.mark.parametrize(("data", "pattern"), [c[1:] for c in ENCODING_CASES],
                         ids=[c[0] for c in ENCODING_CASES])
def test_a_file_that_is_not_utf8_is_refused_with_re_save_as_utf8(tmp_path, data, pattern):
    source = tmp_path / "cohort.csv"
    source.write_bytes(data)
    with pytest.raises(CohortError, match=pattern) as info:
        load_cohort(source, arms=ARMS)
    assert str(info.value).startswith(f"{source}: the cohort CSV ")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_utf8_with_or_without_bom_and_windows_line_ends_load_the_same(tmp_path, encoding,
                                                                     newline):
    source = tmp_path / "cohort.csv"
    source.write_bytes(csv_text().replace("\n", newline).encode(encoding))
    cohort = load_cohort(source, arms=ARMS)
    assert list(cohort.table["id"]) == ["P1", "P2", "P3", "P4", "P5", "P6"]
    np.testing.assert_array_equal(cohort.table["followup"], [30.5, 12.0, 8.25, 40.0, 5.5, 22.0])


def test_plain_number_forms_are_read_exactly(tmp_path):
    source = tmp_path / "cohort.csv"
    source.write_text(replace_row(0, "P1, blina ,+3.05e1 ,,,,").replace("P2,blina,12.0,12.0",
                                                                         "P2,blina,12.,12"))
    cohort = load_cohort(source, arms=ARMS)
    assert cohort.table.loc[0, "followup"] == 30.5 and cohort.table.loc[1, "death"] == 12.0


def test_the_table_has_at_least_30_cases():
    assert len(CASES) >= 50
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


def test_times_keep_the_unit_of_the_file(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text(csv_text())
    months = load_cohort(source, arms=ARMS)
    days = pd.read_csv(source)
    for col in ("followup", "death", "relapse", "agvhd34", "cgvhd_sys"):
        days[col] = days[col] * 365.25 / 12
    in_days = load_cohort(days, arms=ARMS, time_unit="days")
    assert in_days.time_unit == "days" and months.time_unit == "months"
    np.testing.assert_allclose(in_days.endpoint("grfs").time,
                               months.endpoint("grfs").time * 365.25 / 12, rtol=1e-12)


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
    np.testing.assert_allclose(data.time, [5.0, 6.0, 7.0])
    assert data.name == "os" and data.time_unit == "years"


SIMPLE_CSV = "duration,event,arm\n6,1,a\n7,0,b\n10,1,b\n"
SIMPLE_CSV_CASES = [
    ("ragged", SIMPLE_CSV + "3,1\n", {}, r"line 5 has 2 fields but the header has 3"),
    ("underscore", SIMPLE_CSV.replace("7,0", "7_0,0"), {},
     r"column 'duration': not a number in 1 row, e.g. id=row2 \(line 3, value '7_0'\)"),
    ("event-text", SIMPLE_CSV.replace("10,1", "10,yes"), {},
     r"column 'event': indicator must be 0, 1, true or false .* id=row3 \(line 4, value 'yes'\)"),
    ("infinite-after-conversion", SIMPLE_CSV.replace("6,1", "1e308,1"), {"time_unit": "years"},
     r"column 'duration': time beyond 100 years \(100 years\) in 1 row"),
    ("missing-column", "duration,arm\n6,a\n7,b\n", {},
     r"missing required column\(s\) \['event'\]: the one-endpoint format needs columns "
     r"duration, event \(0/1\) and arm"),
    ("blank-id", "pid,duration,event,arm\nx,6,1,a\n,7,0,b\n", {"id_col": "pid"},
     r"column 'pid': missing id in 1 row, e.g. id=line 3"),
    ("latin-1", None, {}, r"is not UTF-8 text"),
]


@pytest.mark.parametrize(("text", "options", "pattern"), [c[1:] for c in SIMPLE_CSV_CASES],
                         ids=[c[0] for c in SIMPLE_CSV_CASES])
def test_simple_table_file_errors_name_file_line_column_and_value(tmp_path, text, options,
                                                                  pattern):
    source = tmp_path / "table.csv"
    if text is None:
        source.write_bytes(SIMPLE_CSV.replace("a\n", "ä\n").encode("latin-1"))
    else:
        source.write_text(text)
    with pytest.raises(CohortError, match=pattern) as info:
        load_survival_table(source, arms=("a", "b"), **options)
    assert str(info.value).startswith(f"{source}: ")


def test_simple_table_file_loads_with_row_ids(tmp_path):
    source = tmp_path / "table.csv"
    source.write_text(SIMPLE_CSV)
    data = load_survival_table(source, arms=("a", "b"))
    np.testing.assert_array_equal(data.time, [6.0, 7.0, 10.0])
    assert list(data.ids) == ["row1", "row2", "row3"]
