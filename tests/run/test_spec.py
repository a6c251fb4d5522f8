"""Spec validation: broken specs are rejected with the file, the key and what was expected;
valid specs of every data format load into the documented values."""

from __future__ import annotations

import json
import re
import shutil

import pytest
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


def _priors(value: str):
    return lambda t: re.sub(r"priors = \{ os = .*\}", f"priors = {value}", t)


def _add(key_line: str, after: str = "seed = 20250401\n"):
    return lambda t: t.replace(after, after + key_line + "\n", 1)


BROKEN = [
    ("unknown-section", lambda t: t + "\n[model]\nx = 1\n", r"unknown section\(s\) \['model'\]"),
    ("misspelled-key", lambda t: t.replace("time_unit =", "timeunit ="),
     r"unknown key data\.'timeunit'"),
    ("unknown-analysis-key", _add('author = "me"', "[analysis]\n"),
     r"unknown key analysis\.'author'"),
    ("missing-file", lambda t: re.sub(r'\nfile = ".*"\n', "\n", t), r"'data\.file'"),
    ("file-missing", lambda t: re.sub(r'\nfile = ".*"', '\nfile = "nope.csv"', t),
     r"'data\.file': expected an existing file \(relative to the spec\), got 'nope\.csv'"),
    ("published-missing", lambda t: t.replace('published.toml"', 'nope.toml"'),
     r"'data\.published': expected an existing file"),
    ("id-not-file-name", lambda t: t.replace('id = "cao2025"', 'id = "other"'),
     r"'analysis\.id': expected the file name 'cao2025'"),
    ("format-unknown", lambda t: t.replace('format = "hsct"', 'format = "sas"'),
     r"'data\.format': expected one of \['hsct', 'patient_table', 'survival_table'\]"),
    ("unit-unknown", lambda t: t.replace('time_unit = "months"', 'time_unit = "fortnights"'),
     r"'data\.time_unit': expected one of \['days', 'weeks', 'months', 'years'\]"),
    ("columns-not-survival-table", _add('columns = {duration = "t"}', "[data]\n"),
     r"'data\.columns': expected only with format = 'survival_table'"),
    ("followup-not-patient-table", _add('followup = "last"', "[data]\n"),
     r"'data\.followup': expected only with format = 'patient_table'"),
    ("terminal-not-patient-table", _add('terminal = ["death"]', "[data]\n"),
     r"'data\.terminal': expected only with format = 'patient_table'"),
    ("endpoints-not-patient-table",
     lambda t: t + '\n[endpoints.efs]\nlabel = "EFS"\nevents = ["death"]\n',
     r"'endpoints': expected only with data\.format = 'patient_table' \(the 'hsct' format "
     r"defines its endpoints\), got \['efs'\]"),
    ("followup-endpoint-unknown", _add('followup_endpoint = "efs"', "[data]\n"),
     r"'data\.followup_endpoint': expected an endpoint without competing causes .* one of "
     r"\['os', 'pfs', 'grfs'\], got 'efs'"),
    ("followup-endpoint-competing", _add('followup_endpoint = "relapse_nrm"', "[data]\n"),
     r"'data\.followup_endpoint'.*got 'relapse_nrm'"),
    ("arms-equal", lambda t: t.replace('treatment = "CAR-T"', 'treatment = "blinatumomab"'),
     r"'arms\.treatment'"),
    ("reconstructed-not-bool", lambda t: t.replace("reconstructed = true", 'reconstructed = "y"'),
     r"'data\.reconstructed': expected a bool"),
    ("ensemble-not-text", lambda t: re.sub(r'ensemble = ".*"', "ensemble = 3", t),
     r"'data\.ensemble': expected a non-empty str, got 3"),
    ("landmarks-negative", lambda t: t.replace("landmarks = [12.0, 24.0]\n\n#",
                                               "landmarks = [-1.0]\n\n#", 1),
     r"'reference\.landmarks\[0\]': expected a finite time > 0, got -1\.0"),
    ("landmarks-duplicate", lambda t: t.replace("landmarks = [12.0, 24.0]\ndeltas",
                                                'landmarks = [12.0, "1 year"]\ndeltas'),
     r"'bayes\.landmarks': expected distinct times"),
    ("landmark-bool", lambda t: t.replace("landmarks = [12.0, 24.0]\ndeltas",
                                          "landmarks = [true]\ndeltas"),
     r"'bayes\.landmarks\[0\]': expected a time \(a number in months, or '<number> <unit>'\)"),
    ("time-unknown-unit", lambda t: t.replace("rmst_tau = 24.0", 'rmst_tau = "2 fortnights"'),
     r"'bayes\.rmst_tau': expected a number \(in months\) or '<number> <unit>'"),
    ("draws-absurd", lambda t: t.replace("rmst_tau = 24.0", "rmst_tau = 24.0\ndraws = 10000000"),
     r"'bayes\.draws': expected an integer in \[1, 1,000,000\], got 10000000"),
    ("chains-zero", lambda t: t.replace("rmst_tau = 24.0", "rmst_tau = 24.0\nchains = 0"),
     r"'bayes\.chains': expected an integer in \[1, 64\], got 0"),
    ("time-zero", lambda t: t.replace("rmst_tau = 24.0", 'rmst_tau = "0 years"'),
     r"'bayes\.rmst_tau': expected a finite time > 0, got '0 years'"),
    ("unknown-endpoint", lambda t: t.replace('"os", "pfs", "grfs"', '"os", "efs"'),
     r"'bayes\.endpoints'.*\['efs'\]"),
    ("endpoint-twice", lambda t: t.replace('["os", "pfs", "grfs"]', '["os", "os"]'),
     r"'bayes\.endpoints': expected distinct endpoints \(listed twice: \['os'\]\)"),
    ("unknown-family", lambda t: t.replace('"mspline"]', '"gompertz"]'),
     r"'bayes\.families'.*\['gompertz'\]"),
    ("empty-families", lambda t: t.replace(
        'families = ["piecewise_exponential", "weibull", "mixture_cure", "mspline"]',
        "families = []"), r"'bayes\.families'"),
    ("unknown-prior", lambda t: t.replace('"enthusiastic"]', '"optimistic"]'),
     r"'bayes\.priors\.os': expected priors declared in \[priors\] or built in .*"
     r"got 'optimistic'"),
    ("unknown-prior-strength", lambda t: t.replace('"enthusiastic"]', '"enthusiastic-huge"]'),
     r"'bayes\.priors\.os'.*'enthusiastic-huge'"),
    ("priors-missing-an-endpoint", _priors('{ os = ["neutral"] }'),
     r"'bayes\.priors': expected one list of priors per endpoint \['os', 'pfs', 'grfs'\], "
     r"got \{'missing': \['pfs', 'grfs'\], 'unknown': \[\]\}"),
    ("priors-for-an-unlisted-endpoint",
     _priors('{ os = ["neutral"], pfs = ["neutral"], grfs = ["neutral"], efs = ["neutral"] }'),
     r"'unknown': \['efs'\]"),
    ("priors-empty", _priors("[]"), r"'bayes\.priors': expected a non-empty list of prior names"),
    ("priors-twice", _priors('["neutral", "neutral"]'),
     r"'bayes\.priors': expected distinct prior names \(listed twice: \['neutral'\]\)"),
    ("prior-dist", lambda t: t.replace('dist = "Normal"', 'dist = "Cauchy"'),
     r"'priors\.enthusiastic\.dist': expected 'Normal'"),
    ("prior-sigma-negative", lambda t: t.replace("sigma = 0.42\n", "sigma = -1\n"),
     r"priors\.enthusiastic\.kwargs\.sigma must be finite and > 0"),
    ("prior-unknown-key", lambda t: t.replace("sigma = 0.42\n", "sigma = 0.42\nscale = 1\n"),
     r"'priors\.enthusiastic': expected keys dist, mu, sigma, meaning, source, got \['scale'\]"),
    ("family-options-of-another-family", lambda t: t.replace(
        "[bayes.family_options.piecewise_exponential]", "[bayes.family_options.gompertz]"),
     r"'bayes\.family_options\.gompertz': expected options of a family in bayes\.families"),
    ("family-options-prior", lambda t: t.replace("n_intervals = 4\n",
                                                 "n_intervals = 4\nlog_hr_sigma = 2.0\n"),
     r"'bayes\.family_options\.piecewise_exponential': expected family options other than "
     r"the log-HR prior"),
    ("family-options-bad-value", lambda t: t.replace("n_intervals = 4\n", "n_intervals = 0\n"),
     r"bayes\.family_options\.piecewise_exponential: n_intervals: expected an integer >= 1"),
    ("family-options-unknown", lambda t: t.replace("n_intervals = 4\n", "n_intervalz = 4\n"),
     r"unknown option\(s\) \['n_intervalz'\] of family 'piecewise_exponential'"),
    ("covariates-undeclared", _add('covariates = ["age"]'),
     r"'bayes\.covariates': expected declared covariates from \[\], got \['age'\]"),
    ("covariate-kind", lambda t: t + '\n[covariates.age]\nkind = "ordinal"\n',
     r"'covariates\.age\.kind': expected 'numeric' or 'categorical'"),
    ("covariate-one-level", lambda t: t + '\n[covariates.sex]\nkind = "categorical"\n'
                                          'levels = ["f"]\n',
     r"'covariates\.sex\.levels': expected the list of levels \(>= 2; the first is the "
     r"reference\)"),
    ("covariate-numeric-levels", lambda t: t + '\n[covariates.age]\nkind = "numeric"\n'
                                               'levels = ["a", "b"]\n',
     r"'covariates\.age\.levels': expected no levels for a numeric covariate"),
    ("hr-threshold-zero", lambda t: t.replace("hr_thresholds = [1.0, 0.8]",
                                              "hr_thresholds = [1.0, 0.0]"),
     r"'bayes\.hr_thresholds': expected a list of finite numbers > 0"),
    ("rope-reversed", lambda t: t.replace("rope = [0.9, 1.11]", "rope = [1.11, 0.9]"),
     r"'bayes\.rope'"),
    ("deltas-out-of-range", lambda t: t.replace("deltas = [0.0, 0.10]\nrmst",
                                                "deltas = [0.0, 1.5]\nrmst"),
     r"'bayes\.deltas': expected survival differences in \(-1, 1\)"),
    ("ci-one", _add("ci = 1.0"), r"'bayes\.ci': expected a number in \(0\.5, 0\.999\]"),
    ("seed-text", lambda t: t.replace("seed = 20250401", 'seed = "x"'),
     r"'bayes\.seed': expected a int"),
    ("seed-bool", lambda t: t.replace("seed = 20250401", "seed = true"), r"'bayes\.seed'"),
    ("seed-negative", lambda t: t.replace("seed = 20250401", "seed = -1"),
     r"'bayes\.seed': expected an integer in \[0, 9,223,372,036,854,775,807\], got -1"),
    ("target-accept-too-high", _add("target_accept = 1.5"), r"'bayes\.target_accept'"),
    ("draws-zero", _add("draws = 0"),
     r"'bayes\.draws': expected an integer in \[1, 1,000,000\], got 0"),
    ("primary-endpoint-not-fitted",
     lambda t: t.replace('[primary]\nendpoint = "os"', '[primary]\nendpoint = "relapse_nrm"'),
     r"'primary\.endpoint': expected one of bayes\.endpoints \['os', 'pfs', 'grfs'\]"),
    ("primary-family-not-fitted", lambda t: t.replace(
        'family = "piecewise_exponential"\nprior', 'family = "exponential"\nprior'),
     r"'primary\.family': expected one of bayes\.families"),
    ("primary-prior-not-of-its-endpoint", lambda t: t.replace(
        '[primary]\nendpoint = "os"', '[primary]\nendpoint = "pfs"').replace(
        'prior = "neutral"\nhr', 'prior = "enthusiastic"\nhr'),
     r"'primary\.prior': expected a prior of that endpoint \['neutral', 'skeptical'\], got "
     r"'enthusiastic'"),
    ("primary-threshold", lambda t: t.replace("hr_threshold = 1.0\n", "hr_threshold = -1.0\n"),
     r"'primary\.hr_threshold': expected an HR > 0"),
    ("primary-probability", lambda t: t.replace("decision_probability = 0.9",
                                                "decision_probability = 1.5"),
     r"'primary\.decision_probability': expected a probability in \(0, 1\)"),
    ("primary-without-bayes",
     lambda t: t[:t.index("\n[bayes]")] + t[t.index("\n[primary]"):t.index("\n# Relapse vs")],
     r"'primary': expected a \[bayes\] section"),
    ("competing-endpoint-unknown",
     lambda t: t.replace('endpoint = "relapse_nrm"', 'endpoint = "relapse"'),
     r"'competing\.endpoint': expected one of \['relapse_nrm'\]"),
    ("competing-prior-unknown",  # the [competing] priors line (not [bayes]'s)
     lambda t: t.replace('priors = ["neutral", "skeptical"]\n', 'priors = ["hopeful"]\n'),
     r"'competing\.priors': expected priors declared in \[priors\] or built in"),
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
    ("not-toml", lambda t: t + "\n[[[", r"not valid TOML"),
]


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


def test_declared_and_built_in_priors(repo_root):
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
    text = _priors('["neutral", "skeptical-strong"]')(spec_text).replace(
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


PATIENT_TABLE_BROKEN = [
    ("no-endpoints", lambda t: t[:t.index("[endpoints.os]")] + t[t.index("[covariates."):],
     r"'endpoints': expected one \[endpoints\.<name>\] table per endpoint"),
    ("events-and-causes", lambda t: t.replace('events = ["death"]\n',
                                              'events = ["death"]\ncauses = {a = ["x"]}\n'),
     r"'endpoints\.os': expected exactly one of 'events'"),
    ("one-cause", lambda t: t.replace(
        'causes = { progression = ["progression"], toxicity = ["toxicity"] }',
        'causes = { progression = ["progression"] }'),
     r"'endpoints\.stop\.causes': expected a table of at least two causes"),
    ("endpoint-unknown-key", lambda t: t.replace('label = "Overall survival"\n',
                                                 'label = "Overall survival"\ncolour = 1\n'),
     r"'endpoints\.os': expected a table of label, events or causes"),
    ("events-empty", lambda t: t.replace('events = ["death"]\n', "events = []\n"),
     r"'endpoints\.os\.events': expected a non-empty list of column names"),
    ("columns-in-a-patient-table", _add('columns = {duration = "t"}', "[data]\n"),
     r"'data\.columns': expected only with format = 'survival_table'"),
    ("competing-followup-endpoint", _add('followup_endpoint = "stop"', "[data]\n"),
     r"'data\.followup_endpoint'.*one of \['os', 'pfs'\], got 'stop'"),
    ("illness-death-needs-transplant-data",
     lambda t: t + '\n[bayes]\nendpoints = ["os"]\nfamilies = ["weibull"]\npriors = ["neutral"]'
                   '\n\n[competing]\nillness_death = true\n',
     r"'competing\.illness_death': expected transplant data"),
    ("safety-needs-transplant-data", lambda t: t + "\n[safety]\n",
     r"'safety': expected transplant data \(format = 'hsct'\)"),
    ("bayes-covariate-undeclared",
     lambda t: t + '\n[bayes]\nendpoints = ["os"]\nfamilies = ["weibull"]\npriors = ["neutral"]'
                   '\ncovariates = ["sex"]\n',
     r"'bayes\.covariates': expected declared covariates from \['age', 'stage'\], got "
     r"\['sex'\]"),
]


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


@pytest.mark.parametrize("change, pattern", [
    (lambda t: t.replace('id = "pid"}', 'id = "pid", time = "t"}'),
     r"'data\.columns': expected keys from \['arm', 'duration', 'event', 'id'\], got \['time'\]"),
    (lambda t: t.replace('label = "Remission duration"}', 'colour = "red"}'),
     r"'data\.endpoint': expected keys name, label, got \['colour'\]"),
    (lambda t: t.replace('duration = "weeks"', "duration = 3"),
     r"'data\.columns': expected column names \(strings\)"),
    (lambda t: t.replace('[data]\n', '[data]\nterminal = ["death"]\n'),
     r"'data\.terminal': expected only with format = 'patient_table'"),
], ids=["unknown-column-role", "unknown-endpoint-key", "column-not-text", "terminal"])
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
