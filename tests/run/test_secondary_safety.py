"""The run's safety section: spec settings reach the safety models (synthetic example cohort)."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from bridgebayes.data.cohort import load_cohort
from bridgebayes.run.secondary import safety_analysis
from bridgebayes.run.spec import load_spec


@pytest.mark.parametrize("family, label", [("weibull", "Weibull"),
                                           ("piecewise_exponential", "Piecewise-exponential")])
def test_engraftment_family_from_the_spec(repo_root, family, label):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    spec = dataclasses.replace(
        spec, cohort=repo_root / "data" / "examples" / "synthetic_safety_cohort.csv",
        safety=dataclasses.replace(spec.safety, engraftment_family=family))
    cohort = load_cohort(spec.cohort, arms=spec.arms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. small-sample notes of the engraftment fits
        table, sentences = safety_analysis(cohort, spec)
    engraftment = table[table["outcome"].str.endswith("engraftment_day")]
    assert not engraftment.empty and engraftment["model"].str.startswith(label).all()
    assert set(table["status"]) - {"not reported"}  # the example cohort records safety
    assert sentences
