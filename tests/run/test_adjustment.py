"""The [adjustment] section end to end: the seed study (no covariates: the bias analysis only,
the report says no adjustment was possible), and bad input named before any work."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from specs import SEED_FIT, copy_seed_run

from bridgebayes.cli import main
from bridgebayes.core.errors import SpecError
from bridgebayes.run.spec import load_spec
from bridgebayes.run.validate import prepare
from bridgebayes.summaries.bias import hr_e_values

SEED_ADJUSTMENT = """
[adjustment]
bias_prior = { mu = 0.0, sigma = 0.2 }
tipping_thresholds = [0.8, 0.5]

[adjustment.target_trial]
population = "adults with R/R B-ALL who reached transplant"
strategies = "CAR-T vs blinatumomab bridging"
estimand = "HR of GVHD-free relapse-free survival after transplant"
selection = "only patients whose bridging succeeded are compared (selection bias)"
"""


@pytest.fixture(scope="module")
def seed_out(tmp_path_factory):
    root = copy_seed_run(tmp_path_factory, tmp_path_factory.mktemp("adjusted") / "run")
    spec = root / "models" / "cao2025.toml"
    spec.write_text(spec.read_text() + SEED_ADJUSTMENT)
    assert main(["--quiet", "run", str(spec), "--out", str(root / "report")]) == 0
    return root / "report"


def test_seed_study_bias_analysis_is_saved_and_reported(seed_out):
    results = json.loads((seed_out / "results.json").read_text())
    adj = results["adjustment"]
    assert adj["adjusted"] is False and adj["covariates"] == []
    assert adj["target_trial"]["time_zero"] == "transplant"  # from [data] time_zero
    assert adj["propensity"] is None
    assert {p.stem for p in (seed_out / "tables").glob("adjustment_*.csv")} == {
        "adjustment_decisions", "adjustment_tipping_grid", "adjustment_tipping_points",
        "adjustment_e_values", "adjustment_sentences"}
    # the E-values are those of the fit's own HR row
    hr = pd.read_csv(seed_out / "tables" / "decisions.csv")
    hr = hr[(hr["quantity"] == "hr") & (hr["component"].isna())].iloc[0]
    expected = hr_e_values(hr["estimate"], hr["lower"], hr["upper"])
    assert adj["e_values"]["e_value"] == pytest.approx(expected["e_value"], rel=1e-9)
    grid = pd.read_csv(seed_out / "tables" / "adjustment_tipping_grid.csv")
    assert grid["bias"].iloc[0] == 0 and np.all(np.diff(grid["prob_hr_below_1"]) <= 0)
    html = (seed_out / "report.html").read_text()
    section = html[html.index('id="non-randomised"'):]
    section = section[:section.index("</section>")]
    text = re.sub(r"<[^>]+>", " ", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", section))
    assert "No adjustment was possible" in text
    assert "selection bias" in text and "Time zero: transplant" in text
    assert "E-value" in text and 'id="fig-tipping_point"' in section
    assert (seed_out / "figures" / "tipping_point.png").is_file()
    assert f"{SEED_FIT}" in results["sentences"]


def _confounded(repo_root, tmp_path, change):
    text = (repo_root / "models" / "confounded.toml").read_text().replace(
        "../data/examples/", f"{repo_root / 'data' / 'examples'}/")
    new = change(text)
    assert new != text, "the change did not apply"
    path = tmp_path / "confounded.toml"
    path.write_text(new)
    return path


@pytest.mark.parametrize("change, pattern", [
    (lambda t: t.replace("[adjustment]\n", '[adjustment]\nmethod = "ps"\n'),
     r"'adjustment\.method'"),
    (lambda t: t.replace('estimands = ["ate", "att"]', 'estimands = ["atc"]'),
     r"'adjustment\.estimands': expected estimands from \['ate', 'att'\]"),
    (lambda t: t.replace("tipping_thresholds = [0.8, 0.5]", "tipping_thresholds = 0.8"),
     r"'adjustment\.tipping_thresholds': expected a list"),
    (lambda t: t.replace("tipping_thresholds = [0.8, 0.5]", "tipping_thresholds = [1.5]"),
     r"'adjustment\.tipping_thresholds': expected probabilities in \(0, 1\)"),
    (lambda t: t.replace("sigma = 0.2 }", "sigma = 0 }"), r"'adjustment\.bias_prior\.sigma'"),
    (lambda t: t.replace('weighting = "ipw"', 'weighting = "matching"'),
     r"'adjustment\.weighting': expected one of \['ipw', 'overlap'\]"),
    (lambda t: re.sub(r"\npopulation = .*", "", t),
     r"'adjustment\.target_trial\.population'"),
    (lambda t: t.replace("[adjustment.target_trial]\n", "[adjustment.target_trial]\nwho = 'x'\n"),
     r"'adjustment\.target_trial': expected keys from"),
    (lambda t: t.replace("[adjustment]\n", '[adjustment]\nfamily = "mspline"\n'),
     r"'adjustment\.family': expected one of \['weibull', 'piecewise_exponential'\]"),
])
def test_a_broken_adjustment_section_is_named(repo_root, tmp_path, change, pattern):
    with pytest.raises(SpecError, match=pattern):
        load_spec(_confounded(repo_root, tmp_path, change))


def test_separation_and_unknown_covariates_fail_before_any_work(repo_root, tmp_path, capsys):
    cohort = pd.read_csv(repo_root / "data" / "examples" / "confounded_cohort.csv")
    cohort["severity"] = np.where(cohort["arm"] == "treated", 1.0, -1.0) + cohort.index * 1e-4
    cohort.to_csv(tmp_path / "separated.csv", index=False)
    spec = _confounded(repo_root, tmp_path, lambda t: re.sub(
        r'\nfile = ".*"', f'\nfile = "{tmp_path / "separated.csv"}"', t))
    with pytest.raises(SpecError, match="'severity' separates the arms perfectly"):
        prepare(spec)
    assert main(["--quiet", "run", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    assert "separates the arms" in capsys.readouterr().err
    unknown = _confounded(repo_root, tmp_path, lambda t: t.replace(
        'covariates = ["severity", "high_risk"]', 'covariates = ["severity", "stage"]'))
    with pytest.raises(SpecError, match="stage"):
        prepare(unknown)


def test_the_confounded_example_spec_is_valid(repo_root):
    prepared = prepare(repo_root / "models" / "confounded.toml")
    adj = prepared.spec.adjustment
    assert (adj.endpoint, adj.family, adj.prior) == ("os", "weibull", "neutral")
    assert adj.estimands == ("ate", "att") and prepared.notes == ()
