"""Secondary analyses of a run, each through the store: computed once, equal to a fresh
computation, recomputed only when what they depend on changes."""

from __future__ import annotations

import dataclasses
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from specs import SEED_FIT

import bridgebayes.run.secondary as secondary
from bridgebayes.core.store import Store
from bridgebayes.run.fits import FitKey, fit_all
from bridgebayes.run.spec import load_spec
from bridgebayes.run.study import load_study
from bridgebayes.run.validate import prepare


@pytest.fixture(scope="module")
def seed(seed_run, tmp_path_factory):
    """The session run's spec and cohort, and a private copy of its store."""
    prepared = prepare(seed_run / "models" / "cao2025.toml")
    root = tmp_path_factory.mktemp("secondary")
    shutil.copytree(seed_run / "report" / ".bridgebayes-cache", root / ".bridgebayes-cache")
    return prepared.spec, prepared.cohort, root / ".bridgebayes-cache"


def _same(a, b) -> None:
    for field in dataclasses.fields(a):
        want, got = getattr(a, field.name), getattr(b, field.name)
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want, check_exact=True)
        else:
            assert got == want, field.name


def forbid(monkeypatch, module, name: str) -> None:
    """Make ``module.name`` fail if called: what is stored must not be recomputed."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} recomputed although nothing changed")
    monkeypatch.setattr(module, name, refuse)


def test_stored_competing_analysis_equals_a_fresh_one_and_is_reused(seed, tmp_path,
                                                                    monkeypatch):
    spec, cohort, _ = seed
    fresh = secondary._competing(cohort, spec)  # computed once; calls below are counted
    assert fresh.transitions is not None and set(fresh.decisions["analysis"]) == {
        "competing_risks", "illness_death"}
    calls = []
    monkeypatch.setattr(secondary, "_competing", lambda c, s: calls.append(s) or fresh)
    store = Store(tmp_path / ".bridgebayes-cache")
    first = secondary.competing_analysis(cohort, spec, store)
    _same(fresh, first)  # what is read back from the store (Parquet) is exact
    assert len(calls) == 1  # every table of the section from one computation
    _same(fresh, secondary.competing_analysis(cohort, spec, store))
    assert len(calls) == 1  # served from the store
    # another seed, another prior or other data for the endpoint: not served from the store
    changed_seed = dataclasses.replace(spec, bayes=dataclasses.replace(spec.bayes, seed=99))
    secondary.competing_analysis(cohort, changed_seed, store)
    changed_prior = dataclasses.replace(spec, competing=dataclasses.replace(
        spec.competing, priors=("neutral",)))
    secondary.competing_analysis(cohort, changed_prior, store)
    table = cohort.table.copy()
    table.loc[0, "relapse"] = 1.0  # P001 had no relapse: a new relapse changes the causes
    secondary.competing_analysis(dataclasses.replace(cohort, table=table), spec, store)
    assert len(calls) == 4
    # data the endpoint does not read (an OS-only change would still change the
    # illness-death histories; a GVHD time changes neither)
    table = cohort.table.copy()
    table.loc[1, "cgvhd_sys"] = 3.5
    secondary.competing_analysis(dataclasses.replace(cohort, table=table), spec, store)
    assert len(calls) == 4


def test_competing_tables_by_hand_invariants(seed):
    spec, cohort, store = seed
    comp = secondary.competing_analysis(cohort, spec, Store(store))
    adequacy = comp.adequacy  # 2 causes x 2 arms x 2 landmarks, first family and prior
    assert len(adequacy) == 8 and set(adequacy["component"]) == {"relapse", "nrm"}
    assert (adequacy["lower"] <= adequacy["posterior_median"]).all()
    assert (adequacy["posterior_median"] <= adequacy["upper"]).all()
    assert (adequacy["inside_band"] == ((adequacy["lower"] <= adequacy["aalen_johansen"])
                                        & (adequacy["aalen_johansen"] <= adequacy["upper"]))).all()
    assert set(comp.curves["component"]) == {"relapse", "nrm"}
    assert set(comp.decisions["role"]) == {"secondary"}
    assert comp.sentences and all(isinstance(s, str) for s in comp.sentences)
    cr = comp.decisions[comp.decisions["analysis"] == "competing_risks"]
    assert set(cr["family"]) == {"weibull"} and set(cr["prior"]) == {"skeptical"}
    assert {"relapse", "nrm"} <= set(cr["component"])
    hr = cr[cr["quantity"] == "hr"]
    assert sorted(hr["component"]) == ["nrm", "relapse"]  # one cause-specific HR per cause


@pytest.mark.parametrize("family, label", [("weibull", "Weibull"),
                                           ("piecewise_exponential", "PEM")])
def test_engraftment_family_from_the_spec(repo_root, family, label):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    spec = dataclasses.replace(
        spec, data=dataclasses.replace(
            spec.data, file=repo_root / "data" / "examples" / "synthetic_safety_cohort.csv"),
        safety=dataclasses.replace(spec.safety, engraftment_family=family))
    cohort = load_study(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. small-sample notes of the engraftment fits
        table, sentences = secondary.safety_analysis(cohort, spec)
    engraftment = table[table["outcome"].str.endswith("engraftment_day")]
    assert not engraftment.empty and engraftment["model"].str.startswith(label).all()
    assert set(table["status"]) - {"not reported"}  # the example cohort records safety
    assert sentences


def test_the_seed_cohort_records_no_safety_outcome(seed):
    spec, cohort, _ = seed
    table, sentences = secondary.safety_analysis(cohort, spec)
    assert set(table["status"]) == {"not reported"} and sentences


@pytest.fixture(scope="module")
def fits(seed):
    """The session run's fit, loaded from the store (nothing sampled)."""
    spec, cohort, store = seed
    lines = []
    out = fit_all(spec, cohort, Store(store), progress=lines.append)
    assert lines == ["[1/1] grfs__weibull__skeptical: cached, diagnostics pass"]
    return out


def test_fit_outcomes_carry_the_decision_schema(fits, seed):
    spec, _, store = seed
    (key, outcome), = fits.items()
    assert key == FitKey("grfs", "weibull", "skeptical") and str(key) == SEED_FIT
    assert outcome.path.parent == store and outcome.path.stem == outcome.digest  # addressed
    assert outcome.status == "cached" and outcome.path.suffix == ".nc"
    assert outcome.fit.idata.attrs["fit_key"] == outcome.digest
    d = outcome.decision
    assert set(d["quantity"]) >= {"hr", "prob_hr_below", "prob_rope", "survival",
                                  "survival_difference", "rmst", "median_survival"}
    assert sorted(d.loc[d["quantity"] == "prob_hr_below", "threshold"]) == [0.8, 1.0]
    assert set(d.loc[d["quantity"] == "survival", "time"]) == set(spec.bayes.landmarks)
    assert outcome.diagnostics["passed"] is True and "elpd_loo" in outcome.diagnostics


def test_model_checks_are_stored_and_reused(fits, seed, monkeypatch):
    spec, _, store = seed
    import bridgebayes.inference.checks as checks

    ppc = secondary.ppc_tables(fits, spec, Store(store), n_rep=50)
    assert set(ppc["arm"]) == set(spec.arms)
    assert set(ppc[["endpoint", "family", "prior"]].itertuples(index=False, name=None)) == {
        ("grfs", "weibull", "skeptical")}
    psens = secondary.power_scaling_table(fits, Store(store))
    assert list(psens.columns[:3]) == ["endpoint", "family", "prior"]
    assert {"log_hr", "k", "lam"} <= set(psens["parameter"])
    assert (psens["prior_sensitivity"] >= 0).all() and (psens["likelihood_sensitivity"] >= 0).all()
    forbid(monkeypatch, checks, "posterior_predictive_km")
    forbid(monkeypatch, checks, "prior_sensitivity")
    pd.testing.assert_frame_equal(secondary.ppc_tables(fits, spec, Store(store), n_rep=50), ppc)
    pd.testing.assert_frame_equal(secondary.power_scaling_table(fits, Store(store)), psens)
    with pytest.raises(AssertionError, match="recomputed"):  # another setting: computed
        secondary.ppc_tables(fits, spec, Store(store), n_rep=40)


def test_loo_comparison_needs_two_families_and_is_stored(fits, seed, monkeypatch):
    spec, _, store = seed
    assert secondary.loo_comparison(fits, spec, Store(store)).empty  # one family
    (key, outcome), = fits.items()
    # two "families" holding the same fit: the comparison's bookkeeping, not its statistics
    twin = {key: outcome, FitKey("grfs", "piecewise_exponential", "skeptical"): outcome}
    two = dataclasses.replace(spec, bayes=dataclasses.replace(
        spec.bayes, families=("weibull", "piecewise_exponential")))
    table = secondary.loo_comparison(twin, two, Store(store))
    assert set(table["family"]) == {"weibull", "piecewise_exponential"}
    assert set(table["endpoint"]) == {"grfs"} and set(table["prior"]) == {"skeptical"}
    np.testing.assert_allclose(table["elpd_diff"], 0.0, atol=1e-12)
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-9)
    import bridgebayes.inference.fit as fit_module

    forbid(monkeypatch, fit_module, "compare")
    pd.testing.assert_frame_equal(secondary.loo_comparison(twin, two, Store(store)), table)
