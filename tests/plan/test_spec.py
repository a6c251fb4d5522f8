"""Tests for the ``[plan]`` spec parser and the ``plan`` command function."""

from __future__ import annotations

import json

import numpy as np
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
family = "piecewise_exponential"

[plan.design_prior.family_options]
cuts = [12.0]

[plan.design_prior.baseline]
lambda = [0.05, 0.03]

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


def test_explicit_design_prior_keys_build_the_family_and_baseline(tmp_path):
    from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
    from bridgebayes.plan.cli_support import design_prior_of

    prior = design_prior_of(load_plan_spec(_spec(tmp_path)))
    assert prior.family == PiecewiseExponentialPH(cuts=(12.0,)) and prior.explicit == (-0.4, 0.2)
    np.testing.assert_array_equal(prior.draws["lambda"], [[0.05, 0.03]])
    t = prior.sample(1, np.random.default_rng(0))
    assert t.baseline_cumhaz(np.array([[20.0]]))[0, 0] == pytest.approx(0.05 * 12 + 0.03 * 8)
    prior_keys = TINY[TINY.index("[plan.design_prior]\n"):TINY.index("[plan.design]")]
    weibull = ("[plan.design_prior]\nlog_hr_mu = -0.4\nlog_hr_sigma = 0.2\nfamily = \"weibull\"\n"
               "hr_cuts = [6.0]\n\n[plan.design_prior.baseline]\nk = 1.2\nlam = 0.03\n\n")
    prior = design_prior_of(load_plan_spec(_spec(tmp_path, TINY.replace(prior_keys, weibull),
                                                 name="weib")))
    assert prior.family == WeibullPH() and prior.hr_cuts.tolist() == [6.0]
    assert {k: v.tolist() for k, v in prior.draws.items() if k != "log_hr"} == {
        "k": [1.2], "lam": [0.03]}
    one = ("[plan.design_prior]\nlog_hr_mu = -0.4\nlog_hr_sigma = 0.2\n\n"
           "[plan.design_prior.family_options]\ncuts = []\n\n"
           "[plan.design_prior.baseline]\nlambda = [0.04]\n\n")  # default family, one interval
    prior = design_prior_of(load_plan_spec(_spec(tmp_path, TINY.replace(prior_keys, one),
                                                 name="one")))
    assert prior.family == PiecewiseExponentialPH(cuts=())
    t = prior.sample(1, np.random.default_rng(0))
    assert t.baseline_cumhaz(np.array([[20.0]]))[0, 0] == pytest.approx(0.8)
    bad = TINY.replace(prior_keys, "[plan.design_prior]\nposterior = \"x.nc\"\n"
                       "family = \"weibull\"\n\n")
    with pytest.raises(SpecError, match="are for explicit priors"):
        load_plan_spec(_spec(tmp_path, bad, name="bad"))


@pytest.mark.parametrize("old, new, match", [
    ("seed = 3", "seed = 3\nsede = 4", "unknown key plan.'sede'"),
    ("n_sims = 200", "n_sims = 2.5", "plan.n_sims"),
    ("n_sims = 200", "n_sims = 0", "plan.n_sims"),
    ("n_total = [40, 80]", "n_total = [80, 40]", "plan.design.n_total"),
    ("accrual_rate = 4.0", "accrual_rate = 4.0\naccrual_duration = 3.0", "exactly one"),
    ("min_followup = 12.0", "analysis_events = 50", "analysis_events"),
    ("log_hr_sigma = 0.2", "log_hr_sigma = -1", "log_hr_sigma"),
    ("lambda = [0.05, 0.03]", "lambda = [0.05]", r"design_prior\.baseline.*does not fit"),
    ("lambda = [0.05, 0.03]", "lambda = [0.05, -0.03]", r"design_prior\.baseline.*lambda"),
    ("lambda = [0.05, 0.03]", "k = 1.2\nlam = 0.03", r"design_prior\.baseline.*\['lambda'\]"),
    ("family = \"piecewise_exponential\"", "family = \"pem\"",
     r"design_prior\.family.*unknown family 'pem'"),
    ("family = \"piecewise_exponential\"", "family = \"weibull\"",
     r"family_options.*unknown option.*\['cuts'\]"),
    ("cuts = [12.0]", "cuts = [12.0, 6.0]", r"family_options.*cuts"),
    ("[plan.design_prior.baseline]\nlambda = [0.05, 0.03]", "", r"design_prior\.baseline"),
    ("[plan.design_prior.family_options]\ncuts = [12.0]", "", r"baseline.*no 'cuts'"),
    ("[plan.design_prior.baseline]", "[plan.design_prior.baseline]\nk = 1.0",
     r"design_prior\.baseline.*\['k', 'lambda'\]"),
    ("[plan.design_prior.family_options]", "[plan.design_prior.family_options]\nshape = 2",
     r"family_options.*unknown option"),
    ("priors = [\"vague\", \"skeptical-weak\"]", "priors = [\"borrowing\"]", "borrowing"),
    ("priors = [\"vague\", \"skeptical-weak\"]", "priors = [\"optimistic\"]", "priors"),
    ("target_assurance = 0.5", "target_assurance = 1.5", "target_assurance"),
    ("[plan.analysis]", "[plan.analysis]\ngamma = 0.3", "gamma"),
    ("log_hr_mu = -0.4", "posterior = \"x.nc\"\nlog_hr_mu = -0.4", "exactly one of"),
])
def test_bad_specs_name_file_and_key(tmp_path, old, new, match):
    assert old in TINY
    path = _spec(tmp_path, TINY.replace(old, new))
    with pytest.raises(SpecError, match=match) as info:
        build_job(load_plan_spec(path))
    assert str(path) in str(info.value)


def test_a_prior_declared_in_the_plan_spec_is_an_analysis_prior(tmp_path):
    declared = ('[priors.hopeful]\ndist = "Normal"\nmu = -0.67\nsigma = 0.42\n'
                'meaning = "favours treatment"\nsource = "a meta-analysis"\n\n[plan]')
    text = TINY.replace("[plan]\n", declared + "\n", 1).replace(
        'priors = ["vague", "skeptical-weak"]', 'priors = ["vague", "hopeful"]')
    spec = load_plan_spec(_spec(tmp_path, text))
    assert spec.analysis["priors"] == ("vague", "hopeful")
    job, _ = build_job(spec)
    assert dict(job.analysis.priors)["hopeful"].means == (-0.67,)
    assert dict(job.analysis.priors)["hopeful"].sds == (0.42,)
    bad = text.replace("sigma = 0.42", "sigma = -1")
    with pytest.raises(SpecError, match=r"priors\.hopeful.*sigma"):
        load_plan_spec(_spec(tmp_path, bad))


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
    assert doc["spec"]["file"] == "tiny.toml" and str(tmp_path) not in (out / "plan.json"
                                                                         ).read_text()
    assert "Assurance" in capsys.readouterr().out
    assert run_plan(_spec(tmp_path), out=out, scheduler="synchronous", quiet=True) == 0
    assert json.loads((out / "plan.json").read_text())["run"]["chunks_reused"] == 12
    assert capsys.readouterr().out == ""


def test_run_plan_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    prior = TINY[TINY.index("[plan.design_prior]\n"):TINY.index("[plan.design]")]
    text = TINY.replace(prior, "[plan.design_prior]\nposterior = \"missing.nc\"\n\n")
    out = tmp_path / "out" / "plan"
    assert run_plan(_spec(tmp_path, text), out=out, scheduler="synchronous") == 2
    assert "missing.nc" in capsys.readouterr().err and not out.exists()


def test_run_plan_writes_its_page_from_the_saved_tables(tmp_path):
    """plan.html: the report's template, the first screen answering with the saved sample
    sizes, every saved figure embedded, tables with MCSE, no number not in the tables."""
    import re

    out = tmp_path / "out" / "plan"
    assert run_plan(_spec(tmp_path), out=out, scheduler="synchronous", quiet=True) == 0
    page = (out / "plan.html").read_text()
    assert re.findall(r'<section id="([^"]+)"', page) == [
        "answer", "power", "operating-characteristics", "calibration", "priors", "provenance"]
    assert not re.search(r"https?://|<script", page)
    assert sorted(re.findall(r'<figure id="fig-([^"]+)"', page)) == sorted(
        f.stem for f in (out / "figures").glob("*.png")) == ["assurance", "power_hr0.7"]
    first = page[page.index('<header id="first-screen">'):page.index("</header>")]
    assert "Question: how many patients would a future trial of CAR-T vs blinatumomab" in first
    sizes = pd.read_csv(out / "tables" / "sample_size.csv")
    for row in sizes.to_dict(orient="records"):
        rule = "log-rank test" if row["rule"] == "logrank" else \
            f"{row['rule'].removeprefix('post_')} prior"
        told = f"N = {int(row['n_total'])}" if pd.notna(row["n_total"]) else \
            "not reached up to N = 80"
        assert f"{rule}: {told}" in first, (rule, told)
    oc = pd.read_csv(out / "tables" / "operating_characteristics.csv", keep_default_na=False)
    null = oc[(oc["name"] == "null") & (oc["n_total"] == 40)].iloc[0]
    assert f"{null['logrank']:.3f} ± {null['logrank_mcse']:.3f}" in page
    doc = json.loads((out / "plan.json").read_text())
    assert doc["arms"] == {"reference": "blinatumomab", "treatment": "CAR-T"}
    assert f"log HR mean {doc['design_prior']['log_hr_mean']:.2f}" in first
    assert 'analysis prior “skeptical-weak”' in page
    assert str(tmp_path) not in page  # no machine path on the page
