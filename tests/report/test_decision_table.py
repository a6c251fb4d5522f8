"""The report's decision table: every decide() row is labelled, formatted or routed elsewhere."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bridgebayes.report.decision_table import _pct, decision_rows, format_median, format_row
from bridgebayes.summaries.decide import decide

RATE = np.log(2) / 10.0  # reference median 10 months


def _decisions(rate_trt: float, family: str) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    log_hr = rng.normal(np.log(rate_trt / RATE), 0.05, 400)
    rates = {0: np.full(400, RATE), 1: RATE * np.exp(log_hr)}
    d = decide(log_hr, survival=lambda t, a: np.exp(-rates[a][:, None] * t[None, :]),
               arms=("blina", "CAR-T"), landmarks=(12.0,), deltas=(0.0, 0.1), horizon=36.0,
               extra={"AFT factor (ratio of medians)": np.exp(-log_hr)}
               if family == "weibull" else None)
    return d.table.assign(endpoint="os", family=family, prior="neutral")


def test_table_has_one_column_per_family_and_no_landmark_rows():
    decisions = pd.concat([_decisions(RATE / 10, "weibull"), _decisions(RATE / 2, "pem")])
    table = decision_rows(decisions, endpoint="os", prior="neutral",
                          families=("pem", "weibull"), labels={"pem": "PEM", "weibull": "W"})
    assert list(table.columns) == ["quantity", "PEM", "W"]
    rows = table.set_index("quantity")
    assert rows.loc["P(HR < 1)", "W"] == "100%"
    assert rows.loc["P(Δ survival at 12 months > 10 points)", "PEM"].endswith("%")
    aft = "AFT factor (ratio of medians), > 1: longer survival with the treatment"
    assert rows.loc[aft, "PEM"] == "–"  # Weibull only
    assert rows.loc["median survival, blina (months)", "W"].startswith("10.0 [")
    # HR 0.1: treatment median 100 months, beyond the 36-month grid
    assert rows.loc["median survival, CAR-T (months)", "W"] == "not reached by 36 months"
    assert rows.loc["median survival, CAR-T (months)", "PEM"].startswith("20.")
    assert not any(q.startswith(("S(", "RMST(")) for q in table["quantity"])
    assert (table != "inf").all().all()


def test_format_row_covers_every_decide_quantity():
    d = _decisions(RATE / 2, "weibull")
    labelled = [format_row(row) for _, row in d.iterrows()]
    shown = {q for q, f in zip(d["quantity"], labelled, strict=True) if f is not None}
    hidden = set(d["quantity"]) - shown
    assert all(q.startswith(("S(", "RMST(")) for q in hidden)
    assert "HR, median [95% CrI]" in {f[0] for f in labelled if f}


def test_median_with_infinite_upper_bound():
    row = pd.Series({"estimate": 20.0, "lower": 12.0, "upper": np.inf, "threshold": 36.0})
    assert format_median(row) == "20.0 [12.0, > 36]"
    row = pd.Series({"estimate": np.inf, "lower": np.inf, "upper": np.inf, "threshold": 36.0})
    assert format_median(row) == "not reached by 36 months"


def test_per_interval_hazard_ratios_are_labelled_by_their_months():
    d = decide(np.zeros(100), interval_log_hr=np.zeros((100, 2)), interval_cuts=[6.0])
    labels = [format_row(row) for _, row in d.table.iterrows()]
    assert ("HR in months 0–6", "1.00 [1.00, 1.00]; P(HR < 1) 0%") in labels
    assert "HR in months 6 onwards" in {label for label, _ in labels}


def test_failed_fits_are_flagged_and_extrapolated_medians_marked():
    decisions = pd.concat([_decisions(RATE / 2, "weibull"), _decisions(RATE / 2, "pem")])
    table = decision_rows(decisions, endpoint="os", prior="neutral",
                          families=("pem", "weibull"), labels={"pem": "PEM", "weibull": "W"},
                          failed=frozenset({"weibull"}), followup=15.0)
    assert list(table.columns) == ["quantity", "PEM", "W — FAILED diagnostics, do not use"]
    rows = table.set_index("quantity")
    # treatment median 20 months lies beyond the last follow-up at 15 months
    assert rows.loc["median survival, CAR-T (months)", "PEM"].endswith(
        "(model extrapolation: last follow-up 15 months)")
    assert "extrapolation" not in rows.loc["median survival, blina (months)", "PEM"]


def test_probabilities_near_certainty_are_not_rounded_to_it():
    assert [_pct(p) for p in (0.0, 0.001, 0.5, 0.996, 1.0)] == ["0%", "<1%", "50%", ">99%",
                                                                 "100%"]
