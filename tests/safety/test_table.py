"""The safety table (bridgebayes/safety/table.py), safety columns at cohort loading and the
synthetic example cohort (data/examples/)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pandas as pd
import pytest
from safety_cohorts import ARMS, seed_rows

from bridgebayes.core.errors import CohortError
from bridgebayes.data.cohort import load_cohort
from bridgebayes.safety import safety_table

EXAMPLE = "data/examples/synthetic_safety_cohort.csv"


# ---------------------------------------------------------------- cohort-level bad input
@pytest.mark.filterwarnings("ignore::bridgebayes.data.cohort.CohortWarning")
@pytest.mark.parametrize(("column", "values", "match"), [
    ("agvhd24", ["1", "0", "2", "1"], r"column 'agvhd24': indicator must be 0, 1.*id=c"),
    ("infection_cmv", ["1", "", "0", "1"], r"column 'infection_cmv': indicator.*id=b"),
    ("anc_engraftment_day", ["14", "-3", "12", ""],
     r"column 'anc_engraftment_day': time must be > 0.*id=b \(value '-3'\)"),
])
def test_bad_safety_columns_are_named(column, values, match):
    with pytest.raises(CohortError, match=match):
        load_cohort(seed_rows(**{column: values}), arms=ARMS)


def test_arm_without_patients_is_an_error():
    frame = seed_rows(agvhd24=[1, 0, 0, 1])
    frame["arm"] = "CAR-T"
    with pytest.raises(CohortError, match=r"column 'arm': declared arm\(s\) \['blinatumomab'\] "
                                          r"have no patients"):
        load_cohort(frame, arms=ARMS)


# ---------------------------------------------------------------- safety table
def test_seed_cohort_says_not_reported(repo_root):
    cohort = load_cohort(repo_root / "data/cao2025/cohort.csv", arms=ARMS)
    result = safety_table(cohort)
    table = result.table
    assert table["outcome"].tolist() == ["anc_engraftment_day", "plt_engraftment_day",
                                         "agvhd24", "cgvhd", "infection"]
    assert (table["status"] == "not reported").all()
    numbers = ["threshold", "events", "n", "estimate", "lower", "upper", "probability"]
    assert table[numbers].isna().all().all()
    assert len(result.sentences) == 5
    assert all("not reported" in s and "no estimate is made" in s for s in result.sentences)


def test_example_cohort_table(repo_root):
    cohort = load_cohort(repo_root / EXAMPLE, arms=ARMS)
    result = safety_table(cohort, n_draws=4000)
    table = result.table
    assert (table["status"] == "estimated").all()
    assert set(table["outcome"]) == {"anc_engraftment_day", "plt_engraftment_day", "agvhd24",
                                     "cgvhd", "infection_bacterial", "infection_cmv"}
    for column in ("agvhd24", "cgvhd", "infection_bacterial", "infection_cmv"):
        risks = table[(table["outcome"] == column) & (table["quantity"] == "risk")]
        counts = cohort.table.groupby("arm")[column].agg(["sum", "count"])
        for _, row in risks.iterrows():
            assert (row["events"], row["n"]) == tuple(counts.loc[row["arm"]])
    # without infection columns only infection is "not reported"
    partial = cohort.table.drop(columns=["infection_bacterial", "infection_cmv"])
    other = safety_table(load_cohort(partial, arms=ARMS), n_draws=2000).table
    assert other.loc[other["status"] == "not reported", "outcome"].tolist() == ["infection"]


def test_example_script_reproduces_the_csv_byte_for_byte(repo_root, tmp_path):
    out = tmp_path / "cohort.csv"
    env = os.environ | {"PYTHONPATH": os.pathsep.join(
        [str(repo_root), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(repo_root / "data/examples/make_safety_example.py"),
                    "--out", str(out)], check=True, cwd=tmp_path, env=env, capture_output=True)
    shipped = (repo_root / EXAMPLE).read_bytes()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(shipped).hexdigest()
    readme = (repo_root / "data/examples/README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC — not study data" in readme
    assert hashlib.sha256(shipped).hexdigest() in readme
    frame = pd.read_csv(repo_root / EXAMPLE, dtype=str, keep_default_na=False)
    assert frame["id"].str.startswith("SYN").all()
    assert frame["arm"].value_counts().to_dict() == {"CAR-T": 27, "blinatumomab": 9}
