"""Tests for :mod:`bridgebayes.reconstruct.plausibility`: window shares against brute force,
numbers at risk against lifelines, and the measures of the shipped seed cohort."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from bridgebayes.data.cohort import load_cohort
from bridgebayes.reconstruct.plausibility import densest_share, plausibility_table
from bridgebayes.reconstruct.published import load_published


@pytest.mark.parametrize("seed", range(5))
def test_densest_share_equals_brute_force(seed):
    times = np.round(np.random.default_rng(seed).uniform(0, 30, 17), 1)
    brute = max(np.mean((times >= t) & (times < t + 4.0)) for t in times)
    assert densest_share(times, 4.0) == pytest.approx(brute)


@pytest.fixture(scope="module")
def seed_table(repo_root):
    summary = load_published(repo_root / "data" / "cao2025" / "published.toml")
    cohort = load_cohort(repo_root / "data" / "cao2025" / "cohort.csv", arms=summary.arms)
    return cohort, plausibility_table(cohort, summary).set_index(["measure", "group"])


def test_numbers_at_risk_equal_lifelines(seed_table):
    cohort, table = seed_table
    os_ = cohort.endpoint("os")
    for code, arm in enumerate(cohort.arms):
        mask = os_.arm == code
        km = KaplanMeierFitter().fit(os_.time[mask], os_.event[mask])
        events = km.event_table
        for t in (6.0, 12.0, 18.0, 24.0):
            at_risk = int(events.loc[events.index >= t, "at_risk"].iloc[0])
            assert table.loc[(f"OS at risk at {t:g} months", arm), "value"] == at_risk


def test_shipped_cohort_measures_are_those_of_issue_19(seed_table):
    """The annealed seed cohort (censoring floor at 20 months) shows the degenerate shapes
    issue 19 measured: the table reports them, nothing hides them."""
    _, table = seed_table
    window = table.loc[("largest share of censorings before 30 months in a 4-month window",
                        "pooled")]
    assert window["value"] == pytest.approx(15 / 16) and not window["meets"]
    os_late = table.loc[("share of os events before 24 months in the last 4 months", "pooled")]
    assert os_late["value"] == pytest.approx(0.5) and not os_late["meets"]
    assert table.loc[("OS at risk at 18 months", "CAR-T"), "value"] == 25
    assert table.loc[("OS at risk at 24 months", "CAR-T"), "value"] == 9
