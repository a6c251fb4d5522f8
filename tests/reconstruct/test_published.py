"""Tests for :mod:`bridgebayes.reconstruct.published`: the shipped seed-study file loads
with the expected figures, and malformed files are rejected naming the file and the key."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bridgebayes.core.errors import PublishedSummaryError
from bridgebayes.reconstruct.published import Figure, PublishedSummary, load_published

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "cao2025" / "published.toml"
TEXT = SHIPPED.read_text(encoding="utf-8")
ARMS = ("blinatumomab", "CAR-T")


@pytest.fixture(scope="module")
def summary() -> PublishedSummary:
    return load_published(SHIPPED)


def test_shipped_file_arms_landmark_and_source(summary):
    assert summary.path == SHIPPED
    assert summary.sha256 == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert summary.arms == ARMS
    assert summary.n == {"blinatumomab": 9, "CAR-T": 27}
    assert summary.landmark == 24.0
    assert summary.source["doi"] == "10.1186/s12967-025-06399-1"
    assert summary.followup == {"median": 28.07, "min": 2.29, "max": 92.21}
    assert summary.test_of == {"os": "log-rank", "pfs": "log-rank", "grfs": "log-rank",
                               "nrm": "gray"}


def test_shipped_file_censoring_floor_is_accrual_end_to_cutoff(summary):
    # March 2023 to November 2024
    assert summary.censoring_floor == 20.0


def test_shipped_censoring_model_is_fitted_to_the_published_follow_up(summary):
    model = summary.censoring
    assert model.window == 72.0 and model.shape == 3.0  # March 2017 - March 2023
    assert model.cutoff == 92.21  # the longest follow-up
    assert round(model.loss_per_year, 3) == 0.138
    assert model.median() == pytest.approx(28.07, abs=1e-9)


def test_stated_censoring_numbers_are_used_as_assumptions(tmp_path):
    text = TEXT.replace('loss_per_year = "fit"', "loss_per_year = 0.0").replace(
        'cutoff = "fit"', "cutoff = 100.0")
    model = load_published(write(tmp_path, text)).censoring
    assert (model.cutoff, model.loss_rate, model.shape) == (100.0, 0.0, 3.0)
    refit = load_published(write(tmp_path, TEXT.replace('cutoff = "fit"', "cutoff = 100.0")))
    assert refit.censoring.cutoff == 100.0
    assert refit.censoring.median() == pytest.approx(28.07, abs=1e-9)  # loss refitted


def test_shipped_file_figures(summary):
    figures = summary.figures
    assert len(figures) == 19
    assert len({f.key for f in figures}) == 19
    assert all(isinstance(f, Figure) for f in figures)
    kinds = [f.kind for f in figures]
    assert (kinds.count("survival"), kinds.count("cumulative_incidence"),
            kinds.count("p_value"), kinds.count("followup")) == (9, 3, 4, 3)
    for f in figures:
        if f.kind in ("survival", "cumulative_incidence"):
            assert f.tolerance == pytest.approx(5e-5, rel=1e-12)
            assert 0.0 <= f.target <= 1.0
            assert f.required == (f.group in ARMS)
            assert f.group in (*ARMS, "pooled")
            assert f.key == f"{f.kind}.{f.endpoint}.{f.group}"
        elif f.kind == "p_value":
            assert f.tolerance == 0.02 and f.required
            assert f.group == summary.test_of[f.endpoint]
        else:
            assert f.required
            assert f.tolerance == (0.5 if f.group == "median" else 1e-9)
    assert {f.group for f in figures if f.kind == "followup"} == {"median", "min", "max"}


@pytest.mark.parametrize(("key", "target"), [
    ("survival.os.blinatumomab", 0.8889),
    ("survival.os.CAR-T", 0.7389),
    ("survival.pfs.pooled", 0.5497),
    ("survival.grfs.blinatumomab", 0.1389),
    ("cumulative_incidence.nrm.CAR-T", 0.0852),
    ("p_value.grfs", 0.083),
    ("p_value.nrm", 0.713),
    ("followup.median", 28.07),
    ("followup.min", 2.29),
    ("followup.max", 92.21),
])
def test_shipped_file_targets(summary, key, target):
    assert summary.figure(key).target == pytest.approx(target, rel=1e-12)


def test_figure_lookup_of_unknown_key(summary):
    with pytest.raises(KeyError):
        summary.figure("survival.efs.CAR-T")


# --- valid variants ------------------------------------------------------------------------------


def variant(old: str, new: str, text: str = TEXT) -> str:
    """The shipped text with ``old`` (which must occur exactly once) replaced by ``new``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "published.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_tolerance_and_accrual(tmp_path):
    text = TEXT.split("[accrual]")[0]
    s = load_published(write(tmp_path, text))
    assert s.censoring_floor == 0.0
    assert s.figure("p_value.os").tolerance == 0.02
    assert s.figure("followup.median").tolerance == 0.5


def test_percent_decimals_sets_the_tolerance(tmp_path):
    s = load_published(write(tmp_path, variant("percent_decimals = 2", "percent_decimals = 1")))
    assert s.figure("survival.os.CAR-T").tolerance == pytest.approx(5e-4, rel=1e-12)


def test_censoring_floor_is_capped_by_longest_followup(tmp_path):
    s = load_published(write(tmp_path, variant('cutoff = "2024-11"', 'cutoff = "2040-11"')))
    assert s.censoring_floor == 92.21


def test_pooled_figures_are_optional(tmp_path):
    s = load_published(write(tmp_path, variant("pooled = 76.54\n", "")))
    assert "survival.os.pooled" not in {f.key for f in s.figures}
    assert len(s.figures) == 18


# --- malformed files -----------------------------------------------------------------------------


def without_landmark_table(text: str = TEXT) -> str:
    start = text.index("[landmark]")
    stop = text.index("percent_decimals = 2\n") + len("percent_decimals = 2\n")
    return text[:start] + text[stop:]


# (case id, file text, pattern naming the key and the problem)
CASES = [
    ("invalid-toml", TEXT + "\n[[[\n", r"not valid TOML"),
    ("duplicate-key", variant("blinatumomab = 88.89\n", "blinatumomab = 88.89\nblinatumomab = 1\n"),
     r"not valid TOML"),
    ("unknown-top-level-key", 'comment = "x"\n' + TEXT,
     r"unknown key\(s\) \['comment'\] in \[top level\]"),
    ("unknown-key-in-survival-table", variant("p_value = 0.862\n", "p_value = 0.862\nmedian = 1\n"),
     r"unknown key\(s\) \['median'\] in \[survival\.os\]"),
    ("unknown-survival-endpoint", variant("[survival.grfs]", "[survival.efs]"),
     r"unknown key\(s\) \['efs'\] in \[survival\]"),
    ("incidence-endpoint-os", variant("[cumulative_incidence.nrm]", "[cumulative_incidence.os]"),
     r"unknown key\(s\) \['os'\] in \[cumulative_incidence\]"),
    ("missing-arm-value", variant("blinatumomab = 88.89\n", ""),
     r"key 'survival\.os\.blinatumomab': expected a number \(missing\)"),
    ("percent-above-100", variant('"CAR-T" = 73.89', '"CAR-T" = 173.89'),
     r"key 'survival\.os\.CAR-T': expected a number in \[0\.0, 100\.0\], got 173\.89"),
    ("percent-negative", variant("blinatumomab = 44.44", "blinatumomab = -44.44"),
     r"key 'survival\.pfs\.blinatumomab': expected a number in .*got -44\.44"),
    ("percent-boolean", variant('"CAR-T" = 8.52', '"CAR-T" = true'),
     r"key 'cumulative_incidence\.nrm\.CAR-T': expected a number .*got True"),
    ("percent-string", variant("pooled = 40.12", 'pooled = "40.12"'),
     r"key 'survival\.grfs\.pooled': expected a number .*got '40\.12'"),
    ("percent-nan", variant("blinatumomab = 13.89", "blinatumomab = nan"),
     r"key 'survival\.grfs\.blinatumomab': expected a number .*got nan"),
    ("p-value-without-test", variant('p_value = 0.501\ntest = "log-rank"\n', "p_value = 0.501\n"),
     r"key 'survival\.pfs\.test': expected one of \('log-rank',\)$"),
    ("unknown-test-name", variant('test = "gray"', 'test = "fine-gray"'),
     r"key 'cumulative_incidence\.nrm\.test': expected one of \('gray',\), got 'fine-gray'"),
    ("gray-test-for-survival",
     variant('p_value = 0.862\ntest = "log-rank"', 'p_value = 0.862\ntest = "gray"'),
     r"key 'survival\.os\.test': expected one of \('log-rank',\), got 'gray'"),
    ("p-value-above-one", variant("p_value = 0.083", "p_value = 1.083"),
     r"key 'survival\.grfs\.p_value': expected a number in \[0\.0, 1\.0\]"),
    ("arms-identical", variant('treatment = "CAR-T"', 'treatment = "blinatumomab"'),
     r"key 'arms\.reference/arms\.treatment': expected two distinct labels"),
    ("arm-label-empty", variant('reference = "blinatumomab"', 'reference = ""'),
     r"key 'arms\.reference/arms\.treatment': expected two distinct labels"),
    ("n-zero", variant('"CAR-T" = 27', '"CAR-T" = 0'),
     r"key 'arms\.n\.CAR-T': expected an integer from 1 to 10000, got 0"),
    ("n-float", variant('"CAR-T" = 27', '"CAR-T" = 27.0'),
     r"key 'arms\.n\.CAR-T': expected an integer from 1 to 10000, got 27\.0"),
    ("n-string", variant("blinatumomab = 9\n", 'blinatumomab = "9"\n'),
     r"key 'arms\.n\.blinatumomab': expected an integer from 1 to 10000, got '9'"),
    ("n-boolean", variant("blinatumomab = 9\n", "blinatumomab = true\n"),
     r"key 'arms\.n\.blinatumomab': expected an integer from 1 to 10000, got True"),
    ("n-missing-arm", variant("blinatumomab = 9\n", ""),
     r"key 'arms\.n\.blinatumomab': expected an integer from 1 to 10000$"),
    ("n-for-unknown-arm", variant('"CAR-T" = 27', '"CAR-T" = 27\nchemo = 4'),
     r"unknown key\(s\) \['chemo'\] in \[arms\.n\]"),
    ("unknown-key-in-arms", variant('treatment = "CAR-T"', 'treatment = "CAR-T"\ncontrol = "x"'),
     r"unknown key\(s\) \['control'\] in \[arms\]"),
    ("landmark-unit-years", variant('time_unit = "months"', 'time_unit = "years"'),
     r"key 'landmark\.time_unit': expected 'months', got 'years'"),
    ("landmark-time-zero", variant("time = 24.0", "time = 0.0"),
     r"key 'landmark\.time': expected a number in"),
    ("landmark-missing-table", without_landmark_table(),
     r"key 'landmark': expected a table"),
    ("percent-decimals-too-many", variant("percent_decimals = 2", "percent_decimals = 7"),
     r"key 'landmark\.percent_decimals': expected an integer 0-6, got 7"),
    ("percent-decimals-negative", variant("percent_decimals = 2", "percent_decimals = -1"),
     r"key 'landmark\.percent_decimals': expected an integer 0-6, got -1"),
    ("percent-decimals-float", variant("percent_decimals = 2", "percent_decimals = 2.0"),
     r"key 'landmark\.percent_decimals': expected an integer 0-6, got 2\.0"),
    ("followup-min-above-median", variant("min = 2.29", "min = 30.0"),
     r"key 'followup': expected min <= median <= max"),
    ("followup-max-missing", variant("max = 92.21\n", ""),
     r"key 'followup\.max': expected a number \(missing\)"),
    ("followup-median-method", variant('median_method = "reverse-km"', 'median_method = "km"'),
     r"key 'followup\.median_method': expected 'reverse-km', got 'km'"),
    ("accrual-end-before-start", variant('end = "2023-03"', 'end = "2016-03"'),
     r"key 'accrual\.start/end': expected an end after the start"),
    ("cutoff-before-accrual-end", variant('cutoff = "2024-11"', 'cutoff = "2022-11"'),
     r"key 'accrual\.end/cutoff': expected an end after the start"),
    ("accrual-date-format", variant('start = "2017-03"', 'start = "March 2017"'),
     r"key 'accrual\.start/end': expected year-month strings"),
    ("accrual-cutoff-missing", variant('cutoff = "2024-11"\n', ""),
     r"key 'accrual\.end/cutoff': expected year-month strings .*None"),
    ("unknown-key-in-accrual", variant('start = "2017-03"', 'start = "2017-03"\nfirst = "x"'),
     r"unknown key\(s\) \['first'\] in \[accrual\]"),
    ("unknown-tolerance-key", variant("median_followup = 0.5", "median_followup = 0.5\nos = 1"),
     r"unknown key\(s\) \['os'\] in \[tolerance\]"),
    ("tolerance-negative", variant("p_value = 0.02", "p_value = -0.02"),
     r"key 'tolerance\.p_value': expected a number in \[0, 1\], got -0\.02"),
    # extreme numbers and types (TOML reads inf, nan, 10**30 and dates)
    ("p-value-two", variant("p_value = 0.862", "p_value = 2.0"),
     r"key 'survival\.os\.p_value': expected a number in \[0\.0, 1\.0\], got 2\.0"),
    ("p-value-inf", variant("p_value = 0.713", "p_value = inf"),
     r"key 'cumulative_incidence\.nrm\.p_value': expected a number .*got inf"),
    ("percent-huge-integer", variant("pooled = 54.97", "pooled = 1" + "0" * 30),
     r"key 'survival\.pfs\.pooled': integer 100000000000\.\.\.\(31 digits\) is outside TOML's "
     r"64-bit range"),
    ("landmark-infinite", variant("time = 24.0", "time = 1e400"),
     r"key 'landmark\.time': expected a number in .*got inf"),
    ("landmark-beyond-follow-up", variant("time = 24.0", "time = 100.0"),
     r"key 'landmark\.time': expected a time within the follow-up \(<= followup\.max = 92\.21 "
     r"months\): figures beyond it are not estimable, got 100\.0"),
    ("followup-beyond-100-years", variant("max = 92.21", "max = 1300.0"),
     r"key 'followup\.max': expected a number in \[1e-09, 1200\.0\], got 1300\.0"),
    ("n-huge", variant('"CAR-T" = 27', '"CAR-T" = 1' + "0" * 30),
     r"key 'arms\.n\.CAR-T': integer 100000000000\.\.\.\(31 digits\) is outside TOML's 64-bit"),
    ("arm-label-pooled", variant('reference = "blinatumomab"', 'reference = "pooled"'),
     r"key 'arms\.reference/arms\.treatment': expected labels other than \['pooled', "
     r"'p_value', 'test'\]"),
    ("arm-label-spaces", variant('treatment = "CAR-T"', 'treatment = " CAR-T"'),
     r"expected two distinct labels without surrounding spaces"),
    ("arm-label-number", variant('treatment = "CAR-T"', "treatment = 2"),
     r"key 'arms\.reference/arms\.treatment': expected two distinct labels"),
    ("accrual-toml-date", variant('start = "2017-03"', "start = 2017-03-01"),
     r"key 'accrual\.start/end': expected year-month strings"),
    ("accrual-non-ascii-digits", variant('start = "2017-03"', 'start = "2017-\u0660\u0663"'),
     r"key 'accrual\.start/end': expected year-month strings"),
    ("cutoff-inferred-text", variant("cutoff_is_inferred = true", 'cutoff_is_inferred = "yes"'),
     r"key 'accrual\.cutoff_is_inferred': expected true or false, got 'yes'"),
    ("utf-16", None, r"the TOML file is UTF-16 text; re-save it as UTF-8"),
    # the censoring model
    ("censoring-unknown-key", variant("accrual_shape = 3.0", "accrual_shape = 3.0\nrate = 1"),
     r"unknown key\(s\) \['rate'\] in \[censoring\]"),
    ("censoring-shape-zero", variant("accrual_shape = 3.0", "accrual_shape = 0.0"),
     r"key 'censoring\.accrual_shape': expected a number in \[0\.1, 20\.0\], got 0\.0"),
    ("censoring-shape-text", variant("accrual_shape = 3.0", 'accrual_shape = "rising"'),
     r"key 'censoring\.accrual_shape': expected a number in .*got 'rising'"),
    ("censoring-cutoff-text", variant('cutoff = "fit"', 'cutoff = "2024-11"'),
     r"key 'censoring\.cutoff': expected 'fit' or a number of months, got '2024-11'"),
    ("censoring-cutoff-before-last-follow-up", variant('cutoff = "fit"', "cutoff = 90.0"),
     r"key 'censoring\.cutoff': expected 'fit' or a number >= followup\.max \(92\.21\)"),
    ("censoring-loss-negative", variant('loss_per_year = "fit"', "loss_per_year = -0.1"),
     r"key 'censoring\.loss_per_year': expected a number in \[0\.0, 0\.99\], got -0\.1"),
    ("censoring-loss-text", variant('loss_per_year = "fit"', 'loss_per_year = "some"'),
     r"key 'censoring\.loss_per_year': expected 'fit' or a number in \[0, 0\.99\]"),
    ("censoring-shape-cannot-fit", variant("accrual_shape = 3.0", "accrual_shape = 15.0"),
     r"key 'censoring\.loss_per_year' = 'fit': with accrual shape 15 the median follow-up "
     r"without loss to follow-up is already 2[0-9]\.[0-9]+ months, shorter than the "
     r"published 28\.07"),
    ("censoring-without-accrual", TEXT.replace(TEXT[TEXT.index("[accrual]"):
                                                     TEXT.index("[censoring]")], ""),
     r"key 'accrual': expected a table \(the censoring model needs the accrual window\)"),
]


@pytest.mark.parametrize(("text", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_file_is_rejected_naming_file_and_key(tmp_path, text, pattern):
    path = write(tmp_path, TEXT if text is None else text)
    if text is None:
        path.write_bytes(TEXT.encode("utf-16"))
    with pytest.raises(PublishedSummaryError, match=pattern) as info:
        load_published(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"{path}: ")


def test_the_table_has_many_distinct_cases():
    assert len(CASES) >= 55 and len({c[0] for c in CASES}) == len(CASES)


def test_arm_labels_must_be_those_of_the_analysis():
    assert load_published(SHIPPED, arms=("CAR-T", "blinatumomab")).arms == ARMS  # order free
    with pytest.raises(PublishedSummaryError, match=re.escape(
            f"{SHIPPED}: keys 'arms.reference'/'arms.treatment': the arm labels "
            "['blinatumomab', 'CAR-T'] are not those of the analysis ['blina', 'CAR-T']")):
        load_published(SHIPPED, arms=("blina", "CAR-T"))


def test_fidelity_of_a_cohort_with_other_arm_labels_is_a_named_error(summary):
    import pandas as pd

    from bridgebayes.data.cohort import load_cohort
    from bridgebayes.reconstruct.summaries import fidelity_table

    frame = pd.read_csv(SHIPPED.parent / "cohort.csv", dtype=str, keep_default_na=False)
    frame["arm"] = frame["arm"].replace({"CAR-T": "CART"})
    cohort = load_cohort(frame, arms=("blinatumomab", "CART"))
    with pytest.raises(PublishedSummaryError, match=re.escape(
            f"{SHIPPED}: keys 'arms.reference'/'arms.treatment': the arm labels "
            "['blinatumomab', 'CAR-T'] are not those of the cohort ['blinatumomab', 'CART']")):
        fidelity_table(cohort, summary)
    assert len({c[0] for c in CASES}) == len(CASES)
    assert len({c[1] for c in CASES}) == len(CASES)


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(PublishedSummaryError, match=re.escape(f"{path}: file not found")):
        load_published(path)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(PublishedSummaryError, match=re.escape(f"{tmp_path}: is a folder")):
        load_published(tmp_path)


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "published.toml"
    path.write_bytes(TEXT.encode("utf-8").replace(b"Cao W", b"Cao \xff"))
    with pytest.raises(PublishedSummaryError, match=re.escape(f"{path}: the TOML file is not "
                                                              "UTF-8 text (byte 0xff on line")
                       + r".*re-save it as UTF-8"):
        load_published(path)


# --- documented bugs ---------------------------------------------------------------------------

NOT_A_TABLE = [
    ("arms-n-scalar", variant('[arms.n]\nblinatumomab = 9\n"CAR-T" = 27', "n = 36"), "arms.n"),
    ("tolerance-scalar", "tolerance = 5\n" + TEXT.split("[tolerance]")[0], "tolerance"),
    ("survival-endpoint-scalar",
     variant("[survival.pfs]", "[survival]\nos = 5\n\n[survival.pfs]",
             TEXT.replace('[survival.os]\nblinatumomab = 88.89\n"CAR-T" = 73.89\npooled = 76.54\n'
                          'p_value = 0.862\ntest = "log-rank"\n', "")),
     "os"),
]


@pytest.mark.parametrize(("text", "key"), [c[1:] for c in NOT_A_TABLE],
                         ids=[c[0] for c in NOT_A_TABLE])
def test_scalar_where_a_table_is_expected_is_rejected(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(PublishedSummaryError, match=re.escape(key)):
        load_published(path)


@pytest.mark.parametrize("bad", ["2023-13", "2023-00"])
def test_month_out_of_range_is_rejected(tmp_path, bad):
    path = write(tmp_path, variant('end = "2023-03"', f'end = "{bad}"'))
    with pytest.raises(PublishedSummaryError, match=r"accrual"):
        load_published(path)
