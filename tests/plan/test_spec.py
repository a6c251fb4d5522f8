"""Tests for the ``[plan]`` spec parser and the ``plan`` command function."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bridgebayes.core.errors import SpecError
from bridgebayes.plan.cli_support import build_job, run_plan
from bridgebayes.plan.spec import load_plan_spec

TINY = """
[analysis]
id = "{name}"

[arms]
reference = "blinatumomab"
treatment = "CAR-T"

[plan]
seed = 3
n_sims = 200
chunk_size = 100
target_assurance = 0.5

[plan.design_prior]
log_hr_mu = -0.4
log_hr_sigma = 0.2
hazards = [0.05, 0.03]
cuts = [12.0]

[plan.design]
n_total = [40, 80]
accrual_rate = 4.0
min_followup = 12.0

[plan.analysis]
cuts = [6.0, 12.0]
priors = ["vague", "skeptical-weak"]
power_hrs = [0.7]
"""


def _spec(tmp_path, text=TINY, name="tiny"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text.format(name=name) if "{name}" in text else text)
    return path


def test_shipped_plan_spec_is_valid(repo_root):
    spec = load_plan_spec(repo_root / "models" / "cao2025_plan.toml")
    assert spec.id == "cao2025_plan" and spec.arms == ("blinatumomab", "CAR-T")
    assert spec.design_prior["posterior"].name == "grfs__piecewise_exponential__neutral.nc"
    assert spec.design["n_total"] == (60, 100, 140, 180, 240, 300)
    assert spec.analysis["priors"] == ("vague", "skeptical", "borrowing")


def test_tiny_spec_builds_the_scenarios(tmp_path):
    job, scenarios = build_job(load_plan_spec(_spec(tmp_path)))
    assert scenarios["name"].tolist() == ["assurance", "null", "hr=0.7"] * 2
    assert scenarios["n_total"].tolist() == [40] * 3 + [80] * 3
    assert [s.log_hr for s in job.scenarios[:3]] == [None, 0.0, pytest.approx(-0.35667494)]
    assert [n for n, _ in job.analysis.priors] == ["vague", "skeptical-weak"]


@pytest.mark.parametrize("old, new, match", [
    ("seed = 3", "seed = 3\nsede = 4", "unknown key plan.'sede'"),
    ("n_sims = 200", "n_sims = 2.5", "plan.n_sims"),
    ("n_sims = 200", "n_sims = 0", "plan.n_sims"),
    ("n_total = [40, 80]", "n_total = [80, 40]", "plan.design.n_total"),
    ("accrual_rate = 4.0", "accrual_rate = 4.0\naccrual_duration = 3.0", "exactly one"),
    ("min_followup = 12.0", "analysis_events = 50", "analysis_events"),
    ("log_hr_sigma = 0.2", "log_hr_sigma = -1", "log_hr_sigma"),
    ("hazards = [0.05, 0.03]", "hazards = [0.05]", "len\\(cuts\\) \\+ 1|hazards"),
    ("priors = [\"vague\", \"skeptical-weak\"]", "priors = [\"borrowing\"]", "borrowing"),
    ("priors = [\"vague\", \"skeptical-weak\"]", "priors = [\"optimistic\"]", "priors"),
    ("target_assurance = 0.5", "target_assurance = 1.5", "target_assurance"),
    ("[plan.analysis]", "[plan.analysis]\ngamma = 0.3", "gamma"),
    ("log_hr_mu = -0.4", "posterior = \"x.nc\"\nlog_hr_mu = -0.4", "either"),
])
def test_bad_specs_name_file_and_key(tmp_path, old, new, match):
    assert old in TINY
    path = _spec(tmp_path, TINY.replace(old, new))
    with pytest.raises(SpecError, match=match) as info:
        build_job(load_plan_spec(path))
    assert str(path) in str(info.value)


def test_id_must_match_the_file_name(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(TINY.format(name="tiny"))
    with pytest.raises(SpecError, match=r"analysis\.id"):
        load_plan_spec(path)


def test_run_plan_writes_tables_figure_and_json(tmp_path, capsys):
    out = tmp_path / "out" / "plan"
    assert run_plan(_spec(tmp_path), out=out, scheduler="synchronous") == 0
    oc = pd.read_csv(out / "tables" / "operating_characteristics.csv")
    assert len(oc) == 6 and {"logrank", "post_vague", "post_skeptical-weak_mcse"} <= set(oc)
    cal = pd.read_csv(out / "tables" / "calibration.csv")
    assert (cal["type1_calibrated"] <= 0.025).all()
    assert (out / "figures" / "assurance.png").stat().st_size > 1000
    doc = json.loads((out / "plan.json").read_text())
    assert doc["seed"] == 3 and len(doc["spec"]["sha256"]) == 64 and "dask" in doc["versions"]
    assert doc["run"]["chunks_computed"] == 12
    assert "Assurance" in capsys.readouterr().out
    assert run_plan(_spec(tmp_path), out=out, scheduler="synchronous", quiet=True) == 0
    assert json.loads((out / "plan.json").read_text())["run"]["chunks_reused"] == 12
    assert capsys.readouterr().out == ""


def test_run_plan_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    text = TINY.replace("log_hr_mu = -0.4\nlog_hr_sigma = 0.2\nhazards = [0.05, 0.03]\n"
                        "cuts = [12.0]", "posterior = \"missing.nc\"")
    out = tmp_path / "out" / "plan"
    assert run_plan(_spec(tmp_path, text), out=out, scheduler="synchronous") == 2
    assert "missing.nc" in capsys.readouterr().err and not out.exists()
