"""Slow: a shipped ensemble member is reproduced byte for byte from its recorded seed."""

from __future__ import annotations

import json

import pytest

from bridgebayes.reconstruct.outputs import write_reconstruction
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.search import SearchSettings
from bridgebayes.reconstruct.summaries import iter_ensemble

pytestmark = pytest.mark.slow


def test_member_01_is_reproduced_byte_for_byte(repo_root, tmp_path):
    folder = repo_root / "data" / "cao2025"
    shipped = folder / "ensemble" / "member_01"
    record = json.loads((shipped / "provenance.json").read_text())
    settings = SearchSettings(**record["settings"])
    assert settings == SearchSettings()  # the command's defaults
    summary = load_published(folder / "published.toml")
    # member j (1-based) is seeded by SeedSequence(seed).spawn(K)[j - 1]; only it is computed
    [(index, result)] = list(iter_ensemble(summary, seed=record["seed"], k=20, members=[0],
                                           settings=settings))
    assert index == 0
    request = {key: record[key] for key in ("published_sha256", "seed", "ensemble_member",
                                            "settings")}
    out = write_reconstruction(result, tmp_path / "member_01" / "cohort.csv", request=request)
    assert out.read_bytes() == (shipped / "cohort.csv").read_bytes()
    assert (out.parent / "fidelity.csv").read_bytes() == (shipped / "fidelity.csv").read_bytes()
    again = json.loads((out.parent / "provenance.json").read_text())
    assert {k: v for k, v in again.items() if k != "versions"} == \
        {k: v for k, v in record.items() if k != "versions"}
