"""The worked examples (models/freireich.toml, models/gbsg2.toml) end to end, small draws.

Each runs through the spec -> run -> report workflow in its own unit and words, and its
posterior HR is compared with lifelines' Cox fit (a vague or weakly informative prior, so the
posterior is close to the likelihood) and, without covariates, with the exact oracle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from bridgebayes.cli import main
from bridgebayes.data.survival_table import load_survival_cohort
from bridgebayes.models.families import WeibullPH

ROOT = Path(__file__).resolve().parents[2]


def _small(name: str, folder: Path, *, families: str | None = None) -> Path:
    text = (ROOT / "models" / f"{name}.toml").read_text()
    text = text.replace("../data/public/", f"{ROOT / 'data' / 'public'}/")
    text = text.replace("\nseed =", "\nchains = 2\ndraws = 600\ntune = 600\nseed =", 1)
    text = text.replace("[adjustment]\nestimands = [\"ate\"]\ndraws = 500",
                        "[adjustment]\nestimands = [\"ate\"]\ndraws = 150")
    if families:
        text = text.replace('families = ["piecewise_exponential", "weibull"]', families)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def freireich(tmp_path_factory):
    folder = tmp_path_factory.mktemp("freireich")
    spec = _small("freireich", folder, families='families = ["weibull"]')
    assert main(["--quiet", "run", str(spec), "--out", str(folder / "out")]) == 0
    return folder / "out"


def test_freireich_runs_in_weeks_with_its_own_words(freireich):
    results = json.loads((freireich / "results.json").read_text())
    assert results["study"]["time_unit"] == "weeks"
    assert {r["time_unit"] for r in results["decisions"]} == {"weeks"}
    decisions = pd.read_csv(freireich / "tables" / "decisions.csv")
    landmarks = decisions[decisions["quantity"] != "median_survival"]["time"].dropna()
    assert set(landmarks) == {10, 20}  # the spec's landmarks, in weeks
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (freireich / "report.html")
                  .read_text())
    assert "Remission duration" in html and "6-MP" in html
    for word in ("transplant", "HSCT", "GVHD", "relapse vs", "months"):
        assert word not in html, word
    assert "Non-randomised" not in html  # the spec says randomised = true


def test_freireich_results_validate_against_the_shipped_schema(freireich):
    from results_schema import validate

    results = json.loads((freireich / "results.json").read_text())
    validate(results)
    assert {w["endpoint"] for w in results["prior_weight"]["weights"]} == set(
        results["resolved_spec"]["bayes"]["endpoints"])


def test_freireich_matches_cox_and_the_exact_oracle(freireich):
    frame = pd.read_csv(ROOT / "data" / "public" / "freireich.csv")
    cox = CoxPHFitter().fit(frame.assign(trt=(frame["arm"] == "6-MP").astype(int))[
        ["weeks", "relapse", "trt"]], "weeks", "relapse")
    cox_log_hr, cox_se = float(cox.params_["trt"]), float(cox.standard_errors_["trt"])
    decisions = pd.read_csv(freireich / "tables" / "decisions.csv")
    hr = decisions.query("quantity == 'hr' and family == 'weibull' and prior == 'vague'").iloc[0]
    assert abs(np.log(hr["estimate"]) - cox_log_hr) < 0.5 * cox_se  # Weibull vs Cox
    cohort = load_survival_cohort(frame, arms=("placebo", "6-MP"), endpoint="remission",
                                  duration_col="weeks", event_col="relapse", id_col="id",
                                  time_unit="weeks", covariates={"sex": "categorical",
                                                                 "log_wbc": "numeric"})
    exact = WeibullPH(log_hr_sigma=10.0).exact_posterior(cohort.endpoint("remission"))
    p1 = decisions.query("quantity == 'prob_hr_below' and threshold == 1.0 and "
                         "family == 'weibull' and prior == 'vague'").iloc[0]
    assert abs(p1["probability"] - exact.prob_hr_below(1.0)) < 4 * p1["mcse"] + 1e-4
    assert abs(hr["estimate"] - np.exp(exact.log_hr_quantile(0.5))) < 4 * hr["mcse"] + 1e-3


@pytest.fixture(scope="module")
def gbsg2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gbsg2")
    spec = _small("gbsg2", folder, families='families = ["weibull"]')
    assert main(["--quiet", "run", str(spec), "--out", str(folder / "out")]) == 0
    return folder / "out"


def test_gbsg2_runs_in_days_with_covariates(gbsg2):
    results = json.loads((gbsg2 / "results.json").read_text())
    assert results["study"]["time_unit"] == "days"
    assert results["resolved_spec"]["bayes"]["landmarks"] == [365.25, 1095.75]
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (gbsg2 / "report.html")
                  .read_text())
    assert "Non-randomised comparison" in html and "transplant" not in html
    assert "Recurrence-free survival" in html
    adj = results["adjustment"]  # hormone therapy was not randomised: g-computation, IPW
    assert adj["adjusted"] is True and adj["estimands"] == ["ate"]
    ipw = adj["propensity"]["ipw"][0]
    assert ipw["ess_reference"] < ipw["n_reference"] and ipw["ess_treatment"] < ipw["n_treatment"]
    assert max(abs(r["smd_weighted"]) for r in adj["propensity"]["balance"]) < 0.05
    assert 'id="non-randomised"' in html and 'id="fig-propensity_overlap"' in html


def test_gbsg2_adjusted_hr_matches_the_adjusted_cox_fit(gbsg2):
    frame = pd.read_csv(ROOT / "data" / "public" / "gbsg2.csv")
    design = pd.get_dummies(frame.assign(trt=(frame["arm"] == "hormone therapy").astype(int)),
                            columns=["menostat", "tgrade"], drop_first=False, dtype=float)
    design = design.drop(columns=["menostat_Pre", "tgrade_I", "id", "arm"])
    cox = CoxPHFitter().fit(design, "days", "event")
    decisions = pd.read_csv(gbsg2 / "tables" / "decisions.csv")
    hr = decisions.query("quantity == 'hr' and family == 'weibull'").iloc[0]
    se = float(cox.standard_errors_["trt"])
    assert abs(np.log(hr["estimate"]) - float(cox.params_["trt"])) < 0.5 * se
