"""The shipped reconstruction ensemble (data/cao2025/ensemble/): complete, distinct, as recorded."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bridgebayes.core.provenance import file_sha256
from bridgebayes.run.spec import load_spec

K = 20


@pytest.fixture(scope="module")
def ensemble(repo_root):
    folder = repo_root / "data" / "cao2025" / "ensemble"
    members = [folder / f"member_{j:02d}" for j in range(1, K + 1)]
    return folder, members, [json.loads((m / "provenance.json").read_text()) for m in members]


def test_every_member_matches_its_provenance(ensemble, repo_root):
    _, members, records = ensemble
    published = file_sha256(repo_root / "data" / "cao2025" / "published.toml")
    for j, (member, record) in enumerate(zip(members, records, strict=True), start=1):
        assert record["seed"] == 7 and record["ensemble_member"] == j
        assert record["published_sha256"] == published
        assert record["cohort_sha256"] == file_sha256(member / "cohort.csv")
        assert record["fidelity_sha256"] == file_sha256(member / "fidelity.csv")
        assert record["converged"] is True


def test_members_are_distinct_and_the_summary_table_agrees(ensemble):
    folder, members, _ = ensemble
    table = pd.read_csv(folder / "ensemble.csv")
    assert table["member"].tolist() == list(range(1, K + 1))
    assert table["cohort_sha256"].tolist() == [file_sha256(m / "cohort.csv") for m in members]
    assert table["cohort_sha256"].nunique() == K
    assert table["required_matched"].all()
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [m.name for m in members]


def test_the_seed_spec_names_the_shipped_ensemble(ensemble, repo_root):
    _, members, _ = ensemble
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    assert spec.data.ensemble == tuple(m / "cohort.csv" for m in members)
