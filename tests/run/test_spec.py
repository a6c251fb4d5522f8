"""Spec validation: broken specs are rejected with the file, the key and what was expected;
valid specs of every data format load into the documented values."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from spec_mutations import BROKEN, PATIENT_TABLE_BROKEN, SURVIVAL_TABLE_BROKEN, priors_to
from specs import survival_spec, trial_spec

from bridgebayes.core.errors import SpecError
from bridgebayes.run.spec import load_spec, with_defaults
from bridgebayes.run.spec_sections import named_prior


@pytest.fixture
def spec_text(repo_root):
    data = repo_root / "data" / "cao2025"
    text = (repo_root / "models" / "cao2025.toml").read_text()
    return text.replace("../data/cao2025/", f"{data}/")


def write(tmp_path, text, name="cao2025.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path




@pytest.mark.parametrize("change, pattern", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_spec_is_rejected_with_a_precise_message(tmp_path, spec_text, change, pattern):
    text = change(spec_text)
    assert text != spec_text, "the change did not apply"
    path = write(tmp_path, text)
    with pytest.raises(SpecError, match=pattern) as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_the_table_of_broken_specs_is_large_and_distinct():
    assert len(BROKEN) >= 50 and len({c[0] for c in BROKEN}) == len(BROKEN)


def test_missing_spec_file_is_named(tmp_path):
    with pytest.raises(SpecError, match=re.escape(f"{tmp_path / 'nope.toml'}: file not found")):
        load_spec(tmp_path / "nope.toml")


def test_the_seed_spec_is_valid(repo_root):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    assert spec.id == "cao2025" and spec.arms == ("blinatumomab", "CAR-T")
    assert len(spec.sha256) == 64
    d = spec.data
    assert (d.format, d.time_unit, d.time_zero) == ("hsct", "months", "transplant")
    assert d.file == (repo_root / "data" / "cao2025" / "cohort.csv").resolve()
    assert d.published == (repo_root / "data" / "cao2025" / "published.toml").resolve()
    assert d.reconstructed is True and d.randomised is False and len(d.ensemble) == 20
    assert list(spec.endpoints) == ["os", "pfs", "grfs", "relapse_nrm"]
    assert spec.endpoints["os"] == {"label": "Overall survival"}
    b = spec.bayes
    assert b.endpoints == ("os", "pfs", "grfs")
    assert b.priors == {"os": ("neutral", "skeptical", "enthusiastic"),
                        "pfs": ("neutral", "skeptical"), "grfs": ("neutral", "skeptical")}
    assert b.family_options == {"piecewise_exponential": {"n_intervals": 4}}
    assert (b.landmarks, b.rmst_tau, b.seed) == ((12.0, 24.0), 24.0, 20250401)
    assert b.families == ("piecewise_exponential", "weibull", "mixture_cure", "mspline")
    assert len(b.combinations()) == 4 * (3 + 2 + 2)
    assert b.combinations()[:3] == [("os", "piecewise_exponential", "neutral"),
                                    ("os", "piecewise_exponential", "skeptical"),
                                    ("os", "piecewise_exponential", "enthusiastic")]
    assert spec.landmarks == (12.0, 24.0)
    p = spec.primary
    assert (p.endpoint, p.family, p.prior, p.hr_threshold, p.decision_probability) == (
        "os", "piecewise_exponential", "neutral", 1.0, 0.9)
    assert spec.competing.illness_death is True and spec.competing.endpoint == "relapse_nrm"
    assert spec.safety.engraftment_family == "weibull"


def test_declared_and_built_inpriors_to(repo_root):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    mine = named_prior("enthusiastic", spec.priors)
    assert mine["dist"] == "Normal" and mine["sigma"] == 0.42
    assert mine["mu"] == pytest.approx(-0.6698574703730377, rel=1e-15)
    assert mine["meaning"].startswith("Enthusiastic for CAR-T") and "Zhai Y" in mine["source"]
    neutral, skeptical = named_prior("neutral", {}), named_prior("skeptical", {})
    assert (neutral["mu"], neutral["sigma"]) == (0.0, 1.0)
    assert (skeptical["mu"], skeptical["sigma"]) == (0.0, pytest.approx(0.42))
    assert named_prior("skeptical-strong", {})["sigma"] == pytest.approx(0.21)
    assert named_prior("skeptical-weak", {})["sigma"] > skeptical["sigma"]
    assert neutral["meaning"] and neutral["source"] is not None
    with pytest.raises(SpecError):
        named_prior("optimistic", {})


def test_a_prior_list_applies_to_every_endpoint(tmp_path, spec_text):
    text = priors_to('["neutral", "skeptical-strong"]')(spec_text).replace(
        'prior = "neutral"\nhr', 'prior = "skeptical-strong"\nhr')
    spec = load_spec(write(tmp_path, text))
    assert spec.bayes.priors == dict.fromkeys(("os", "pfs", "grfs"),
                                              ("neutral", "skeptical-strong"))
    assert spec.primary.prior == "skeptical-strong"


@pytest.mark.parametrize(("unit", "text", "expected"), [
    ("months", '"2 years"', 24.0), ("months", "18", 18.0),
    ("months", '"6 weeks"', 42 / 30.4375), ("weeks", '"1 year"', 365.25 / 7),
    ("days", '"3 months"', 91.3125), ("years", '"6 months"', 0.5),
    ("months", '"1.5 years"', 18.0), ("weeks", '"1 week"', 1.0),
])
def test_times_are_numbers_in_the_data_unit_or_text_with_their_unit(tmp_path, spec_text, unit,
                                                                    text, expected):
    spec_text = spec_text.replace('time_unit = "months"', f'time_unit = "{unit}"')
    spec = load_spec(write(tmp_path, spec_text.replace("rmst_tau = 24.0",
                                                       f"rmst_tau = {text}")))
    assert spec.time_unit == unit
    assert spec.bayes.rmst_tau == pytest.approx(expected, rel=1e-12)


def test_landmarks_in_mixed_forms_are_sorted(tmp_path, spec_text):
    text = spec_text.replace("landmarks = [12.0, 24.0]\ndeltas",
                             'landmarks = ["3 years", 6, "1 year"]\ndeltas')
    assert load_spec(write(tmp_path, text)).bayes.landmarks == (6.0, 12.0, 36.0)


def test_data_dependent_defaults_stay_unresolved_until_the_data_is_read(tmp_path, spec_text):
    text = spec_text.replace("landmarks = [12.0, 24.0]\ndeltas", "deltas").replace(
        "rmst_tau = 24.0\n", "").replace("[reference]\nlandmarks = [12.0, 24.0]\n", "")
    spec = load_spec(write(tmp_path, text))
    assert spec.landmarks is None and spec.bayes.landmarks is None
    assert spec.bayes.rmst_tau is None
    filled = with_defaults(spec, landmarks=(6.0, 18.0), rmst_tau=18.0)
    assert filled.landmarks == (6.0, 18.0) and filled.bayes.landmarks == (6.0, 18.0)
    assert filled.bayes.rmst_tau == 18.0
    # only where the spec has none
    kept = with_defaults(load_spec(write(tmp_path, spec_text)), landmarks=(1.0,), rmst_tau=1.0)
    assert kept.landmarks == (12.0, 24.0) and kept.bayes.rmst_tau == 24.0


def test_resolved_spec_is_json_with_paths_relative_to_the_spec(repo_root):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    resolved = spec.resolved()
    text = json.dumps(resolved)  # JSON-ready
    assert str(repo_root) not in text and "path" not in resolved and "sha256" not in resolved
    assert resolved["data"]["file"] == "../data/cao2025/cohort.csv"
    assert resolved["data"]["published"] == "../data/cao2025/published.toml"
    assert resolved["data"]["ensemble"][0] == "../data/cao2025/ensemble/member_01/cohort.csv"
    assert resolved["bayes"]["priors"]["os"] == ["neutral", "skeptical", "enthusiastic"]
    assert resolved["primary"]["endpoint"] == "os"
    assert len(spec.resolved_sha256()) == 64


def test_the_resolved_hash_ignores_comments_and_location_but_not_settings(tmp_path, repo_root):
    """The file hash changes with any byte; the resolved hash only with what is analysed."""
    for name in ("a", "b"):
        (tmp_path / name / "models").mkdir(parents=True)
        shutil.copytree(repo_root / "data" / "cao2025", tmp_path / name / "data" / "cao2025")
    text = (repo_root / "models" / "cao2025.toml").read_text()
    a = load_spec(write(tmp_path / "a" / "models", text))
    b = load_spec(write(tmp_path / "b" / "models", text + "\n# a comment\n"))
    assert a.sha256 != b.sha256
    assert a.resolved() == b.resolved() and a.resolved_sha256() == b.resolved_sha256()
    c = load_spec(write(tmp_path / "b" / "models", text.replace("seed = 20250401",
                                                                "seed = 20250402")))
    assert c.resolved_sha256() != a.resolved_sha256()


# --- the other data formats ---------------------------------------------------------------

def test_a_patient_table_spec_declares_its_endpoints_and_covariates(tmp_path):
    spec = load_spec(trial_spec(tmp_path))
    d = spec.data
    assert (d.format, d.time_unit, d.time_zero, d.followup, d.terminal) == (
        "patient_table", "weeks", "randomisation", "last", ("death",))
    assert d.randomised is True and d.reconstructed is False and d.published is None
    assert list(spec.endpoints) == ["os", "pfs", "stop"]
    assert spec.endpoints["stop"] == {
        "label": "Progression vs toxicity",
        "causes": {"progression": ["progression"], "toxicity": ["toxicity"]},
        "cause_labels": {"toxicity": "toxicity stop"}}
    assert spec.endpoints["os"]["events"] == ["death"]
    assert spec.covariates == {
        "stage": {"kind": "categorical", "levels": ["I", "II", "III"], "label": "stage"},
        "age": {"kind": "numeric", "levels": [], "label": "age"}}
    assert spec.bayes is None and spec.landmarks is None




@pytest.mark.parametrize("change, pattern", [c[1:] for c in PATIENT_TABLE_BROKEN],
                         ids=[c[0] for c in PATIENT_TABLE_BROKEN])
def test_broken_patient_table_spec_is_rejected(tmp_path, change, pattern):
    path = trial_spec(tmp_path)
    text = change(path.read_text())
    assert text != path.read_text(), "the change did not apply"
    path.write_text(text)
    with pytest.raises(SpecError, match=pattern) as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_a_patient_table_spec_with_competing_causes_uses_that_endpoint(tmp_path):
    path = trial_spec(tmp_path, '\n[bayes]\nendpoints = ["os"]\nfamilies = ["weibull"]\n'
                                'priors = ["neutral"]\ncovariates = ["stage"]\n'
                                '\n[competing]\npriors = ["skeptical"]\n')
    spec = load_spec(path)
    assert spec.competing.endpoint == "stop" and spec.competing.illness_death is False
    assert spec.bayes.covariates == ("stage",)


def test_a_survival_table_spec_names_its_columns_and_endpoint(tmp_path):
    spec = load_spec(survival_spec(tmp_path))
    assert spec.data.format == "survival_table" and spec.data.time_zero == "start of follow-up"
    assert spec.data.columns == {"duration": "weeks", "event": "relapsed", "arm": "group",
                                 "id": "pid"}
    assert spec.endpoints == {"remission": {"label": "Remission duration"}}
    assert spec.arms == ("placebo", "6-MP")


@pytest.mark.parametrize("change, pattern", [c[1:] for c in SURVIVAL_TABLE_BROKEN],
                         ids=[c[0] for c in SURVIVAL_TABLE_BROKEN])
def test_broken_survival_table_spec_is_rejected(tmp_path, change, pattern):
    path = survival_spec(tmp_path)
    path.write_text(change(path.read_text()))
    with pytest.raises(SpecError, match=pattern):
        load_spec(path)


# --- [data] ensemble: the folder of reconstruction-ensemble members --------------------------

def _with_ensemble(spec_text: str, folder) -> str:
    text = re.sub(r'ensemble = ".*"\n', "", spec_text)
    return text.replace("[data]\n", f'[data]\nensemble = "{folder}"\n', 1)


def _member(folder, j: int, *, converged: bool = True, provenance: bool = True):
    member = folder / f"member_{j:02d}"
    member.mkdir(parents=True)
    (member / "cohort.csv").write_text("id\n")  # the spec checks presence, not contents
    if provenance:
        (member / "provenance.json").write_text(f'{{"converged": {str(converged).lower()}}}\n')
    return member


def test_ensemble_members_are_listed_in_order(tmp_path, spec_text):
    folder = tmp_path / "ens"
    for j in (2, 1, 100, 10):
        _member(folder, j)
    (folder / "ensemble.csv").write_text("member\n")  # other files are ignored
    spec = load_spec(write(tmp_path, _with_ensemble(spec_text, folder)))
    order = (1, 2, 10, 100)
    assert spec.data.ensemble == tuple(folder / f"member_{j:02d}" / "cohort.csv" for j in order)


def test_ensemble_is_optional(tmp_path, spec_text):
    spec = load_spec(write(tmp_path, re.sub(r'ensemble = ".*"\n', "", spec_text)))
    assert spec.data.ensemble == ()


def test_ensemble_relative_to_the_spec(tmp_path, spec_text):
    _member(tmp_path / "ens", 1)
    spec = load_spec(write(tmp_path, _with_ensemble(spec_text, "ens")))
    assert spec.data.ensemble == ((tmp_path / "ens" / "member_01" / "cohort.csv").resolve(),)


@pytest.mark.parametrize("make, pattern", [
    (lambda f: None, r"'data\.ensemble': expected an existing folder \(relative to the spec\), "
                     r"got '.*nope'"),
    (lambda f: f.mkdir(), r"'data\.ensemble': expected a folder of ensemble members member_XX/"
                          r".*with no member_\*"),
    (lambda f: (f.mkdir(), (f / "cohort.csv").write_text("id\n")), r"with no member_\*"),
    (lambda f: (_member(f, 1), _member(f, 2, provenance=False)),
     r"'data\.ensemble': expected complete members .*got \"incomplete \['member_02'\]\""),
    (lambda f: (_member(f, 1), _member(f, 3, converged=False)),
     r"'data\.ensemble': expected members that reproduce every required published figure"
     r".*not converged \['member_03'\]"),
    (lambda f: (_member(f, 1), (_member(f, 2) / "provenance.json").write_text("[1")),
     r"not converged \['member_02'\]"),
], ids=["missing-folder", "empty-folder", "no-members", "incomplete-member", "not-converged",
        "provenance-not-json"])
def test_bad_ensemble_folder_is_rejected(tmp_path, spec_text, make, pattern):
    folder = tmp_path / "nope"
    make(folder)
    path = write(tmp_path, _with_ensemble(spec_text, folder))
    with pytest.raises(SpecError, match=pattern) as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_a_robust_mixture_prior_loads_and_reaches_the_families(tmp_path, spec_text):
    from bridgebayes.models.families import get_family
    from bridgebayes.models.priors import family_prior_options

    text = spec_text.replace('dist = "Normal"\nmu = -0.6698',
                             'dist = "NormalMixture"\nvague_weight = 0.25\nvague_sigma = 2\n'
                             'mu = -0.6698', 1)
    assert text != spec_text
    spec = load_spec(write(tmp_path, text))
    prior = named_prior("enthusiastic", spec.priors)
    assert {k: prior[k] for k in ("dist", "sigma", "vague_weight", "vague_mu", "vague_sigma")} == {
        "dist": "NormalMixture", "sigma": 0.42, "vague_weight": 0.25, "vague_mu": 0.0,
        "vague_sigma": 2.0}
    family = get_family("weibull").from_options(family_prior_options(prior))
    assert family.log_hr_prior().components() == ((0.75, 0.25), (prior["mu"], 0.0), (0.42, 2.0))
