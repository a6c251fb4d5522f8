"""Every figure of the shipped seed cohort recomputed with lifelines straight from the CSV
(independently of bridgebayes' endpoint derivation and reference analysis) and compared with
``fidelity.csv`` and ``published.toml``.  Gray's test has no lifelines implementation: the
NRM p-value is checked against fidelity.csv only through the reference module."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from bridgebayes.reconstruct.published import load_published

LANDMARK = 24.0


@pytest.fixture(scope="module")
def seed(repo_root):
    folder = repo_root / "data" / "cao2025"
    table = pd.read_csv(folder / "cohort.csv")
    fidelity = pd.read_csv(folder / "fidelity.csv").set_index("figure")
    return table, fidelity, load_published(folder / "published.toml")


def endpoints(t: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    dead = t["death"].notna().to_numpy()
    rel = t["relapse"].notna().to_numpy()
    pfs_time = np.where(rel, t["relapse"], t["followup"])
    gvhd = np.fmin(t["agvhd34"].fillna(np.inf), t["cgvhd_sys"].fillna(np.inf)).to_numpy()
    return {
        "os": (t["followup"].to_numpy(), dead),
        "pfs": (pfs_time, rel | dead),
        "grfs": (np.fmin(pfs_time, gvhd), rel | dead | np.isfinite(gvhd)),
        "cr": (pfs_time, np.where(rel, 1, np.where(dead, 2, 0))),
    }


def km_at(time, event, t=LANDMARK):
    return float(KaplanMeierFitter().fit(time, event.astype(int)).predict(t))


def nrm_at(time, cause, t=LANDMARK):
    aj = AalenJohansenFitter(calculate_variance=False, seed=0).fit(time, cause,
                                                                  event_of_interest=2)
    cif = aj.cumulative_density_.iloc[:, 0]
    return float(cif[cif.index <= t].iloc[-1])


def test_every_landmark_figure_and_log_rank_p_value(seed):
    table, fidelity, summary = seed
    groups = {"pooled": np.ones(len(table), bool)} | {
        arm: (table["arm"] == arm).to_numpy() for arm in summary.arms}
    ends = endpoints(table)
    checked = 0
    for fig in summary.figures:
        if fig.kind == "followup":
            continue
        if fig.kind == "p_value":
            if fig.endpoint == "nrm":
                continue  # Gray's test: not in lifelines
            time, event = ends[fig.endpoint]
            one = groups[summary.arms[1]]
            value = logrank_test(time[one], time[~one], event[one], event[~one]).p_value
        elif fig.endpoint == "nrm":
            time, cause = ends["cr"]
            m = groups[fig.group]
            value = nrm_at(time[m], cause[m])
        else:
            time, event = ends[fig.endpoint]
            m = groups[fig.group]
            value = km_at(time[m], event[m])
        scale = 1.0 if fig.kind == "p_value" else 100.0
        row = fidelity.loc[fig.key]
        assert row["reconstructed"] == pytest.approx(value * scale, abs=1e-4), fig.key
        matched = abs(value - fig.target) <= fig.tolerance + 1e-12
        assert bool(row["matched"]) == matched, fig.key
        assert row["status"] == ("matched" if matched else
                                 "missed: not reached by the bounded search "
                                 "(not proven unreachable)")
        checked += 1
    assert checked == 15


def test_follow_up_by_reverse_kaplan_meier(seed):
    table, fidelity, summary = seed
    time, dead = endpoints(table)["os"]
    reverse = KaplanMeierFitter().fit(time, (~dead).astype(int))
    assert fidelity.loc["followup.median", "reconstructed"] == pytest.approx(
        reverse.median_survival_time_)
    assert abs(reverse.median_survival_time_ - summary.followup["median"]) <= 0.5
    assert time.min() == summary.followup["min"] and time.max() == summary.followup["max"]


def test_what_is_matched_and_what_is_not(seed):
    """16 of 19 figures matched, 3 not claimed: the shipped cohort (annealing search) matches the 8
    per-arm figures, the 4 p-values, follow-up and pooled GRFS, and misses pooled OS, PFS and
    NRM, each marked as not reached (never as unreachable)."""
    _, fidelity, _ = seed
    missed = sorted(fidelity.index[~fidelity["matched"]])
    assert missed == ["cumulative_incidence.nrm.pooled", "survival.os.pooled",
                      "survival.pfs.pooled"]
