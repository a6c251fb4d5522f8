"""Slow: a 20-member reconstruction ensemble of the seed study meets the same tolerances."""

from __future__ import annotations

import pandas as pd
import pytest

from bridgebayes.reconstruct.outputs import companion_paths, write_ensemble
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.search import SearchSettings

pytestmark = pytest.mark.slow


def test_twenty_distinct_members_all_meet_the_required_figures(repo_root, tmp_path):
    summary = load_published(repo_root / "data" / "cao2025" / "published.toml")
    table = write_ensemble(summary, tmp_path, seed=7, k=20, workers=2,
                           settings=SearchSettings(), progress=lambda _: None)
    assert len(table) == 20
    assert table["cohort_sha256"].nunique() == 20
    assert table["required_matched"].all()
    for j in range(1, 21):
        fid = pd.read_csv(companion_paths(tmp_path / f"member_{j:02d}" / "cohort.csv")[0])
        arms = fid[fid["group"].isin(["blinatumomab", "CAR-T"])]
        assert (arms["abs_error"] <= 0.005 + 1e-9).all()
        assert (fid.loc[fid["kind"] == "p_value", "abs_error"] <= 0.02).all()
