"""Spec validation: broken specs are rejected with the file, the key and what was expected."""

from __future__ import annotations

import re

import pytest

from bridgebayes.core.errors import SpecError
from bridgebayes.run.spec import load_spec


@pytest.fixture
def spec_text(repo_root):
    data = repo_root / "data" / "cao2025"
    text = (repo_root / "models" / "cao2025.toml").read_text()
    return text.replace("../data/cao2025/", f"{data}/")


def write(tmp_path, text, name="cao2025.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


BROKEN = [
    ("unknown-section", lambda t: t + "\n[model]\nx = 1\n", r"unknown section\(s\) \['model'\]"),
    ("misspelled-key", lambda t: t.replace("time_unit =", "timeunit ="),
     r"unknown key data\.'timeunit'"),
    ("missing-cohort", lambda t: re.sub(r'cohort = ".*"\n', "", t), r"'data\.cohort'"),
    ("cohort-file-missing", lambda t: re.sub(r'cohort = ".*"', 'cohort = "nope.csv"', t),
     r"'data\.cohort': expected an existing file"),
    ("id-not-file-name", lambda t: t.replace('id = "cao2025"', 'id = "other"'),
     r"'analysis\.id': expected the file name 'cao2025'"),
    ("unit-unknown", lambda t: t.replace('time_unit = "months"', 'time_unit = "fortnights"'),
     r"'data\.time_unit'"),
    ("arms-equal", lambda t: t.replace('treatment = "CAR-T"', 'treatment = "blinatumomab"'),
     r"'arms\.treatment'"),
    ("reconstructed-not-bool", lambda t: t.replace("reconstructed = true", 'reconstructed = "y"'),
     r"'data\.reconstructed': expected a bool"),
    ("landmarks-negative", lambda t: t.replace("landmarks = [12.0, 24.0]\n\n#",
                                               "landmarks = [-1.0]\n\n#", 1),
     r"'reference\.landmarks'"),
    ("unknown-endpoint", lambda t: t.replace('"os", "pfs", "grfs"', '"os", "efs"'),
     r"'bayes\.endpoints'.*\['efs'\]"),
    ("unknown-family", lambda t: t.replace('"weibull"]', '"gompertz"]'),
     r"'bayes\.families'.*\['gompertz'\]"),
    ("unknown-prior", lambda t: t.replace('"enthusiastic"]', '"optimistic"]'),
     r"'bayes\.priors'.*'optimistic'"),
    ("unknown-prior-strength", lambda t: t.replace('"enthusiastic"]', '"enthusiastic-huge"]'),
     r"'bayes\.priors'"),
    ("rope-reversed", lambda t: t.replace("rope = [0.9, 1.11]", "rope = [1.11, 0.9]"),
     r"'bayes\.rope'"),
    ("seed-text", lambda t: t.replace("seed = 20250401", 'seed = "x"'),
     r"'bayes\.seed': expected a int"),
    ("seed-bool", lambda t: t.replace("seed = 20250401", "seed = true"),
     r"'bayes\.seed'"),
    ("target-accept-too-high", lambda t: t.replace("seed = 20250401\n",
                                                   "seed = 20250401\ntarget_accept = 1.5\n"),
     r"'bayes\.target_accept'"),
    ("draws-zero", lambda t: t.replace("seed = 20250401\n", "seed = 20250401\ndraws = 0\n"),
     r"'bayes\.draws'"),
    ("competing-endpoint-unknown",
     lambda t: t.replace('endpoint = "relapse_nrm"', 'endpoint = "relapse"'),
     r"'competing\.endpoint': expected one of \['relapse_nrm'\]"),
    ("competing-prior-unknown",  # the [competing] priors line (not [bayes]'s three)
     lambda t: t.replace('priors = ["neutral", "skeptical"]\n', 'priors = ["hopeful"]\n'),
     r"'competing\.priors': expected neutral, skeptical or enthusiastic"),
    ("competing-illness-death-not-bool",
     lambda t: t.replace("illness_death = true", 'illness_death = "yes"'),
     r"'competing\.illness_death': expected a bool"),
    ("competing-without-bayes",
     lambda t: t[:t.index("\n[bayes]")] + t[t.index("\n[competing]"):],
     r"'competing': expected a \[bayes\] section"),
    ("safety-prior-unknown", lambda t: t.replace('prior = "jeffreys"', 'prior = "flat"'),
     r"'safety\.prior': expected one of \['jeffreys', 'uniform'\]"),
    ("safety-engraftment-family", lambda t: t.replace('engraftment_family = "weibull"',
                                                      'engraftment_family = "cox"'),
     r"'safety\.engraftment_family'"),
    ("empty-families", lambda t: t.replace('families = ["piecewise_exponential", "weibull"]',
                                           "families = []"), r"'bayes\.families'"),
    ("not-toml", lambda t: t + "\n[[[", r"not valid TOML"),
]


@pytest.mark.parametrize("change, pattern", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_spec_is_rejected_with_a_precise_message(tmp_path, spec_text, change, pattern):
    path = write(tmp_path, change(spec_text))
    with pytest.raises(SpecError, match=pattern) as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_at_least_fifteen_broken_specs():
    assert len(BROKEN) >= 15


def test_the_seed_spec_is_valid(repo_root):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    assert spec.arms == ("blinatumomab", "CAR-T")
    assert spec.bayes.priors == ("neutral", "skeptical", "enthusiastic")
    assert len(spec.sha256) == 64


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
    assert spec.ensemble == tuple(folder / f"member_{j:02d}" / "cohort.csv" for j in order)


def test_ensemble_is_optional(tmp_path, spec_text):
    spec = load_spec(write(tmp_path, re.sub(r'ensemble = ".*"\n', "", spec_text)))
    assert spec.ensemble == ()


def test_ensemble_relative_to_the_spec(tmp_path, spec_text):
    _member(tmp_path / "ens", 1)
    spec = load_spec(write(tmp_path, _with_ensemble(spec_text, "ens")))
    assert spec.ensemble == ((tmp_path / "ens" / "member_01" / "cohort.csv").resolve(),)


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


def test_ensemble_must_be_a_string(tmp_path, spec_text):
    text = re.sub(r'ensemble = ".*"\n', "", spec_text).replace("[data]\n", "[data]\nensemble = 3\n")
    with pytest.raises(SpecError, match=r"'data\.ensemble': expected a non-empty str, got 3"):
        load_spec(write(tmp_path, text))
