"""The report's decision table and number formatting: every decide() row is labelled and
formatted, one column per model, failed fits flagged, extrapolations marked."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bridgebayes.report.format import cell, fixed, median_text, pct, row_text, table_block
from bridgebayes.report.sections_results import decision_table
from bridgebayes.report.view import ResultsView
from bridgebayes.summaries.decide import decide
from bridgebayes.summaries.decision import QUANTITIES, label, new_row

RATE = np.log(2) / 10.0  # reference median 10 months
ARMS = ("blina", "CAR-T")  # a hyphen in the treatment label, as in the seed study


def _decisions(rate_trt: float, family: str, *, followup: float | None = None,
               unit: str = "months") -> pd.DataFrame:
    rng = np.random.default_rng(1)
    log_hr = rng.normal(np.log(rate_trt / RATE), 0.05, 400)
    rates = {0: np.full(400, RATE), 1: RATE * np.exp(log_hr)}
    d = decide(log_hr, survival=lambda t, a: np.exp(-rates[a][:, None] * t[None, :]),
               arms=ARMS, landmarks=(12.0,), deltas=(0.0, 0.1), horizon=36.0,
               followup=followup, time_unit=unit,
               extra={"aft_factor": np.exp(-log_hr)} if family == "weibull" else None)
    return d.table.assign(endpoint="os", family=family, prior="neutral")


def view_of(decisions: pd.DataFrame, *, unit: str = "months") -> ResultsView:
    summary = {"study": {"arms": {"reference": ARMS[0], "treatment": ARMS[1]},
                         "time_unit": unit, "time_zero": "transplant",
                         "endpoints": {"os": {"label": "Overall survival"}}},
               "families": {"piecewise_exponential": {"label": "PEM"},
                            "weibull": {"label": "Weibull"}}}
    return ResultsView(Path("."), summary, {"decisions": decisions})


def test_one_column_per_family_rows_labelled_with_their_arm():
    decisions = pd.concat([_decisions(RATE / 10, "weibull"),
                           _decisions(RATE / 2, "piecewise_exponential")])
    table = decision_table(view_of(decisions), "os", "neutral")
    assert list(table.columns) == ["quantity", "Weibull", "PEM"]
    rows = table.set_index("quantity")
    assert rows.loc["P(HR < 1)", "Weibull"] == ">99%"  # never rounded to certainty
    assert rows.loc["P(S(12 months) difference > 0.1)", "PEM"].endswith("%")
    assert rows.loc["AFT factor (ratio of medians)", "PEM"] == "–"  # Weibull only
    # both arms labelled, the hyphenated treatment too; differences are not
    assert rows.loc["S(12 months), blina", "PEM"].endswith(" %")
    assert rows.loc["S(12 months), CAR-T", "PEM"].endswith(" %")
    assert "S(12 months) difference" in rows.index
    assert not any(q.endswith(", CAR-T - blina") for q in rows.index)
    assert rows.loc["median survival, blina", "Weibull"].startswith("10.0 [")
    # HR 0.1: treatment median 100 months, beyond the 36-month grid
    assert rows.loc["median survival, CAR-T", "Weibull"].startswith("not reached by 36 months")
    assert rows.loc["median survival, CAR-T", "PEM"].startswith("20.")
    assert not table.isin(["inf", "nan", "NaN"]).any().any()
    assert len(set(table["quantity"])) == len(table)  # no two rows under one name


def test_only_the_chosen_endpoint_and_prior():
    other = _decisions(RATE / 2, "weibull").assign(prior="skeptical")
    mine = _decisions(RATE / 4, "weibull")
    table = decision_table(view_of(pd.concat([mine, other])), "os", "neutral")
    hr = mine[mine["quantity"] == "hr"].iloc[0]
    assert table.set_index("quantity").loc["HR", "Weibull"] == row_text(hr)


def test_failed_fits_are_flagged_and_extrapolated_rows_marked():
    failed = _decisions(RATE / 2, "weibull", followup=15.0).assign(gate_passed=False)
    fine = _decisions(RATE / 2, "piecewise_exponential", followup=15.0)
    table = decision_table(view_of(pd.concat([fine, failed])), "os", "neutral")
    assert list(table.columns) == ["quantity", "PEM", "Weibull — FAILED diagnostics, do not use"]
    rows = table.set_index("quantity")
    # the treatment median (20 months) lies beyond the last follow-up at 15 months
    assert rows.loc["median survival, CAR-T", "PEM"].endswith("(model extrapolation)")
    assert "extrapolation" not in rows.loc["median survival, blina", "PEM"]
    assert "S(12 months), CAR-T" in rows.index  # 12 < 15: not extrapolated
    beyond = decision_table(view_of(_decisions(RATE / 2, "weibull", followup=10.0)), "os",
                            "neutral").set_index("quantity")
    assert "S(12 months), CAR-T (extrapolated)" in beyond.index
    assert "RMST(24 months) difference (extrapolated)" in beyond.index


def test_the_table_speaks_the_data_unit():
    table = decision_table(view_of(_decisions(RATE / 2, "weibull", unit="weeks"), unit="weeks"),
                           "os", "neutral")
    assert "S(12 weeks), CAR-T" in set(table["quantity"])
    assert table.set_index("quantity").loc["RMST(24 weeks) difference", "Weibull"].endswith(
        " weeks")


def test_every_decide_quantity_has_a_label_and_a_text():
    d = _decisions(RATE / 2, "weibull", followup=15.0)
    assert set(d["quantity"]) <= set(QUANTITIES)
    for row in d.to_dict(orient="records"):
        name, text = label(row), row_text(row)
        assert name and "{" not in name, row["quantity"]
        assert text and "nan" not in text.lower() and text != "inf", (row["quantity"], text)
    hr = d[d["quantity"] == "hr"].iloc[0]
    assert row_text(hr) == f"{fixed(hr['estimate'], 2)} [{fixed(hr['lower'], 2)}, " \
                           f"{fixed(hr['upper'], 2)}]"


@pytest.mark.parametrize(("row", "expected"), [
    ({"estimate": 20.0, "lower": 12.0, "upper": math.inf, "time": 36.0},
     "20.0 [12.0, > 36]"),
    ({"estimate": math.inf, "lower": math.inf, "upper": math.inf, "time": 36.0},
     "not reached by 36 months"),
    ({"estimate": math.inf, "lower": 20.0, "upper": math.inf, "time": 36.0},
     "not reached by 36 months (95% CrI lower bound 20.0)"),
    ({"estimate": math.inf, "lower": 20.0, "upper": math.inf, "time": 36.0,
      "extrapolated": True},
     "not reached by 36 months (95% CrI lower bound 20.0; model extrapolation)"),
    ({"estimate": 18.0, "lower": 9.5, "upper": 30.25, "time": 36.0, "extrapolated": True},
     "18.0 [9.5, 30.2] (model extrapolation)"),
])
def test_median_survival_text(row, expected):
    assert median_text({"level": 0.95, **row}, "months") == expected


def test_probabilities_near_certainty_are_not_rounded_to_it():
    assert [pct(p) for p in (0.0, 0.001, 0.004, 0.5, 0.994, 0.996, 1.0)] == [
        "<1%", "<1%", "<1%", "50%", "99%", ">99%", ">99%"]
    assert pct(None) == "–"


def test_probabilities_at_the_boundaries_are_not_rounded_to_certainty():
    assert pct(0.005) not in ("0%", "100%") and pct(0.995) not in ("0%", "100%")


def test_fixed_and_cells():
    assert fixed(-0.001, 2) == "0.00" and fixed(math.inf, 1) == "∞"
    assert fixed(-math.inf, 1) == "−∞" and fixed(math.nan, 1) == "–" and fixed(None, 1) == "–"
    assert fixed(2.675, 2) in ("2.67", "2.68") and fixed(1.5, 0) == "2"
    assert [cell(v) for v in (True, False, 3, 0.12345, None, math.nan, "x")] == [
        "yes", "no", "3", "0.12", "–", "–", "x"]


def test_table_blocks_mark_numbers_and_classes():
    frame = pd.DataFrame({"name": ["a", "b"], "value": [1.234, 5.0], "ok": [True, False]})
    block = table_block(frame, digits=1, css={"ok": lambda v: "pass" if v else "fail"})
    assert block["kind"] == "table" and block["header"] == ["name", "value", "ok"]
    assert block["rows"][0] == [{"text": "a", "class": ""}, {"text": "1.2", "class": "num"},
                                {"text": "yes", "class": "pass"}]
    assert block["rows"][1][2] == {"text": "no", "class": "fail"}


def test_labels_of_rows_built_by_hand():
    assert label(new_row("survival", time=24.0, time_unit="weeks")) == "S(24 weeks)"
    assert label(new_row("prob_rope", threshold=0.9, threshold_upper=1.11)) == \
        "P(0.9 ≤ HR ≤ 1.11)"
