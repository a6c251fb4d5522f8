"""The first-screen figure and the headline table it is drawn from: the table holds exactly the
saved decision and ensemble values; the figure shows one row per fit, every probability as
its own rounded text, the ensemble's range only where there is one, the primary marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bridgebayes import plots
from bridgebayes.core.numbers import percent
from bridgebayes.plots.base import PlotError
from bridgebayes.summaries.decide import decide
from bridgebayes.summaries.headline import HEADLINE_COLUMNS, headline_table

ARMS = ("placebo", "drug")


def _decisions(thresholds=(1.0, 0.8)) -> pd.DataFrame:
    """Two endpoints x two priors of one family, the first the primary."""
    frames, rng = [], np.random.default_rng(5)
    for endpoint in ("os", "pfs"):
        for prior, mu in (("vague", -0.3), ("skeptical", -0.1)):
            role = "primary" if (endpoint, prior) == ("os", "vague") else "secondary"
            d = decide(rng.normal(mu, 0.4, 2000), hr_thresholds=thresholds).table
            frames.append(d.assign(analysis="two_arm", endpoint=endpoint, family="weibull",
                                   prior=prior, role=role, gate_passed=True))
    return pd.concat(frames, ignore_index=True)


def _spread(decisions: pd.DataFrame, endpoint: str = "os") -> pd.DataFrame:
    """A spread table (as run/sensitivity.py writes) for one endpoint: min/max around the
    main value."""
    rows = decisions[(decisions["endpoint"] == endpoint)
                     & decisions["quantity"].isin(["hr", "prob_hr_below", "prob_rope"])]
    value = rows["probability"].where(rows["quantity"] != "hr", rows["estimate"])
    return pd.DataFrame({"endpoint": rows["endpoint"], "family": rows["family"],
                         "prior": rows["prior"], "quantity": rows["quantity"],
                         "time": np.nan, "threshold": rows["threshold"].where(
                             rows["quantity"] != "hr"), "main": value, "min": value * 0.9,
                         "median": value, "max": np.minimum(value * 1.1, 1.0)})


def test_the_headline_table_holds_the_saved_numbers_and_the_ensemble_range():
    d = _decisions()
    spread = _spread(d)
    h = headline_table(d, spread, members=20)
    assert tuple(h.columns) == HEADLINE_COLUMNS
    assert len(h) == 4 * 4  # per fit: HR, P(HR < 1), P(HR < 0.8), ROPE
    first = h.iloc[:4]
    assert first["quantity"].tolist() == ["hr", "prob_hr_below", "prob_hr_below", "prob_rope"]
    assert first["threshold"].tolist()[1:3] == [1.0, 0.8]
    source = d[(d["endpoint"] == "os") & (d["prior"] == "vague")]
    hr = source[source["quantity"] == "hr"].iloc[0]
    assert first.iloc[0][["value", "lower", "upper"]].tolist() == [hr["estimate"], hr["lower"],
                                                                  hr["upper"]]
    p08 = source[(source["quantity"] == "prob_hr_below") & (source["threshold"] == 0.8)]
    assert first.iloc[2]["value"] == p08["probability"].iloc[0]
    assert first.iloc[2]["ensemble_min"] == pytest.approx(0.9 * p08["probability"].iloc[0],
                                                          rel=1e-12)
    os_rows, pfs_rows = h[h["endpoint"] == "os"], h[h["endpoint"] == "pfs"]
    assert (os_rows["ensemble_members"] == 20).all() and os_rows["ensemble_max"].notna().all()
    assert (pfs_rows["ensemble_members"] == 0).all() and pfs_rows["ensemble_min"].isna().all()
    assert h.loc[h["role"] == "primary", "prior"].unique().tolist() == ["vague"]


def test_no_ensemble_and_other_rows_are_left_out():
    d = _decisions()
    other = d.assign(analysis="competing_risks")
    h = headline_table(pd.concat([d, other]), None)
    assert len(h) == 16 and (h["ensemble_members"] == 0).all()
    assert h["ensemble_min"].isna().all()


def _text(fig, prefix: str) -> list[str]:
    return [a.get_text() for a in fig.findobj() if str(a.get_gid()).startswith(prefix)
            and hasattr(a, "get_text")]


def test_the_figure_shows_every_fit_and_its_rounded_probabilities():
    d = _decisions()
    h = headline_table(d, _spread(d), members=20)
    fig = plots.summary_figure(h, arms=ARMS, endpoint_labels={"os": "Overall survival"},
                               family_labels={"weibull": "Weibull"})
    assert len(fig.axes) == 4  # HR + P(HR < 1) + P(HR < 0.8) + ROPE
    assert [ax.get_title() for ax in fig.axes[1:3]] == ["P(HR < 1)", "P(HR < 0.8)"]
    medians = [a for a in fig.findobj() if a.get_gid() == "median"]
    assert len(medians) == 4
    expected = [percent(v) for v in h.loc[(h["quantity"] == "prob_hr_below")
                                                 & (h["threshold"] == 1.0), "value"]]
    assert _text(fig, "text:prob_hr_below:1.0") == expected
    assert len([a for a in fig.findobj() if str(a.get_gid()).startswith("ensemble:")]) == 2 * 4
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[:2] == ["Overall survival", "pfs"]  # endpoint headers, primary's first
    assert "PRIMARY: Weibull · vague" in labels and "Weibull · skeptical" in labels
    assert len([a for a in fig.findobj() if a.get_gid() == "primary_band"]) == 4
    assert fig.axes[0].get_xscale() == "log"


def test_a_generic_study_one_endpoint_its_own_threshold_no_ensemble_failed_gate():
    d = _decisions(thresholds=(1.0, 0.7))
    d = d[d["endpoint"] == "pfs"].assign(role="secondary")
    d.loc[d["prior"] == "skeptical", "gate_passed"] = False
    h = headline_table(d, None)
    fig = plots.summary_figure(h, arms=ARMS)
    assert [ax.get_title() for ax in fig.axes[1:3]] == ["P(HR < 1)", "P(HR < 0.7)"]
    assert not [a for a in fig.findobj() if str(a.get_gid()).startswith("ensemble:")]
    assert not [a for a in fig.findobj() if a.get_gid() == "primary_band"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "weibull · skeptical (FAILED diagnostics)" in labels
    assert "drug" in fig.axes[0].get_xlabel()  # the study's own arm names
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any("reconstruction" in t for t in legend)
    assert plots.figure_png(fig)[:4] == b"\x89PNG"


def test_the_figure_rejects_a_table_without_hr_rows():
    h = headline_table(_decisions(), None)
    with pytest.raises(PlotError, match="no 'hr' rows"):
        plots.summary_figure(h[h["quantity"] != "hr"], arms=ARMS)
    with pytest.raises(PlotError, match="missing column"):
        plots.summary_figure(h.drop(columns="ensemble_min"), arms=ARMS)
