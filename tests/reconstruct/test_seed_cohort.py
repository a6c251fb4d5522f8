"""The shipped seed cohort: reproducible byte for byte and faithful to the publication."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bridgebayes.cli.commands import main
from bridgebayes.core.provenance import file_sha256
from bridgebayes.data.cohort import load_cohort
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.summaries import fidelity_table


@pytest.fixture(scope="module")
def shipped(repo_root):
    folder = repo_root / "data" / "cao2025"
    return {
        "folder": folder,
        "provenance": json.loads((folder / "provenance.json").read_text()),
        "summary": load_published(folder / "published.toml"),
        "cohort": load_cohort(folder / "cohort.csv", arms=("blinatumomab", "CAR-T")),
        "fidelity": pd.read_csv(folder / "fidelity.csv"),
    }


def test_reconstruct_reproduces_the_shipped_files_byte_for_byte(shipped, tmp_path):
    seed = shipped["provenance"]["seed"]
    out = tmp_path / "cohort.csv"
    code = main(["--quiet", "reconstruct", str(shipped["folder"] / "published.toml"),
                 "--seed", str(seed), "--out", str(out)])
    assert code == 0
    assert (out.read_bytes() == (shipped["folder"] / "cohort.csv").read_bytes())
    assert (tmp_path / "fidelity.csv").read_bytes() == \
        (shipped["folder"] / "fidelity.csv").read_bytes()


def test_provenance_matches_the_shipped_files(shipped):
    record = shipped["provenance"]
    folder = shipped["folder"]
    assert record["cohort_sha256"] == file_sha256(folder / "cohort.csv")
    assert record["fidelity_sha256"] == file_sha256(folder / "fidelity.csv")
    assert record["published_sha256"] == file_sha256(folder / "published.toml")
    assert record["converged"] is True


def test_shipped_fidelity_is_recomputed_not_trusted(shipped):
    recomputed = fidelity_table(shipped["cohort"], shipped["summary"])
    pd.testing.assert_frame_equal(recomputed, shipped["fidelity"], check_exact=False, rtol=1e-5)


def test_per_arm_landmark_figures_within_published_rounding(shipped):
    fid = fidelity_table(shipped["cohort"], shipped["summary"])
    arms = fid[fid["group"].isin(["blinatumomab", "CAR-T"])]
    assert len(arms) == 8
    assert (arms["abs_error"] <= 0.005 + 1e-9).all(), arms  # percentage points
    # the reconstructed value rounds to the published one
    assert ((arms["reconstructed"].round(2) - arms["target"]).abs() < 1e-9).all()


def test_p_values_follow_up_and_range(shipped):
    fid = fidelity_table(shipped["cohort"], shipped["summary"]).set_index("figure")
    for endpoint in ("os", "pfs", "grfs", "nrm"):
        assert fid.loc[f"p_value.{endpoint}", "abs_error"] <= 0.02
    assert abs(fid.loc["followup.median", "reconstructed"] - 28.07) <= 0.5
    assert fid.loc["followup.min", "reconstructed"] == 2.29
    assert fid.loc["followup.max", "reconstructed"] == 92.21


def test_pooled_residuals_are_stated_and_never_claimed(shipped):
    fid = shipped["fidelity"]
    pooled = fid[fid["group"] == "pooled"]
    assert len(pooled) == 4
    assert not pooled["required"].any()
    # matched is true exactly when the error is inside the tolerance
    assert (pooled["matched"] == (pooled["abs_error"] <= pooled["tolerance"] + 1e-9)).all()


def test_patient_histories_are_consistent(shipped):
    cohort = shipped["cohort"]
    os_, pfs, grfs = (cohort.endpoint(e) for e in ("os", "pfs", "grfs"))
    assert (pfs.time <= os_.time).all() and (grfs.time <= pfs.time).all()
    assert (pfs.event >= os_.event).all() and (grfs.event >= pfs.event).all()
    assert cohort.n_per_arm == {"blinatumomab": 9, "CAR-T": 27}
