"""The corpora of spec mutations: one change each to a valid spec and the message it must
get.  ``BROKEN`` mutates the seed spec (models/cao2025.toml), ``PATIENT_TABLE_BROKEN`` the
patient-table spec of :func:`specs.trial_spec`, ``SURVIVAL_TABLE_BROKEN`` the one-endpoint
table spec of :func:`specs.survival_spec`; entries are ``(id, change, message pattern)``.
Used by the spec tests (``load_spec``) and by the check that ``validate`` and ``run`` give
every one the same verdict (tests/cli/test_validate_agrees_with_run.py)."""

from __future__ import annotations

import re


def priors_to(value: str):
    """A change that sets ``bayes.priors`` of the seed spec to ``value``."""
    return lambda t: re.sub(r"priors = \{ os = .*\}", f"priors = {value}", t)


def _add(key_line: str, after: str = "seed = 20250401\n"):
    return lambda t: t.replace(after, after + key_line + "\n", 1)


def _mixture(lines: str):
    """A change that makes the seed spec's enthusiastic prior a robust mixture with ``lines``."""
    return lambda t: t.replace('dist = "Normal"\nmu = -0.6698',
                               f'dist = "NormalMixture"\n{lines}\nmu = -0.6698', 1)


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
    ("priors-missing-an-endpoint", priors_to('{ os = ["neutral"] }'),
     r"'bayes\.priors': expected one list of priors per endpoint \['os', 'pfs', 'grfs'\], "
     r"got \{'missing': \['pfs', 'grfs'\], 'unknown': \[\]\}"),
    ("priors-for-an-unlisted-endpoint",
     priors_to('{ os = ["neutral"], pfs = ["neutral"], grfs = ["neutral"], efs = ["neutral"] }'),
     r"'unknown': \['efs'\]"),
    ("priors-empty", priors_to("[]"), r"'bayes\.priors': expected a non-empty list of prior names"),
    ("priors-twice", priors_to('["neutral", "neutral"]'),
     r"'bayes\.priors': expected distinct prior names \(listed twice: \['neutral'\]\)"),
    ("prior-dist", lambda t: t.replace('dist = "Normal"', 'dist = "Cauchy"'),
     r"'priors\.enthusiastic\.dist': expected 'Normal'"),
    ("prior-sigma-negative", lambda t: t.replace("sigma = 0.42\n", "sigma = -1\n"),
     r"priors\.enthusiastic\.kwargs\.sigma must be finite and > 0"),
    ("mixture-prior-weight-one", _mixture("vague_weight = 1.0\nvague_sigma = 2.0"),
     r"'priors\.enthusiastic\.vague_weight': expected a number strictly between 0 and 1 "
     r"\(the vague component's prior weight\), got 1\.0"),
    ("mixture-prior-weight-missing", _mixture("vague_sigma = 2.0"),
     r"'priors\.enthusiastic\.vague_weight': expected a number strictly between 0 and 1 .*"
     r"got '<missing>'"),
    ("mixture-prior-vague-sigma-narrow", _mixture("vague_weight = 0.2\nvague_sigma = 0.3"),
     r"'priors\.enthusiastic\.vague_sigma': expected a finite number > sigma = 0\.42 \(the "
     r"vague component is the wider one\), got 0\.3"),
    ("mixture-prior-vague-mu-text", _mixture('vague_weight = 0.2\nvague_sigma = 2.0\n'
                                             'vague_mu = "zero"'),
     r"'priors\.enthusiastic\.vague_mu': expected a finite number, got 'zero'"),
    ("mixture-prior-unknown-key", _mixture("vague_weight = 0.2\nvague_sd = 2.0"),
     r"'priors\.enthusiastic': expected keys dist, mu, sigma, vague_weight, vague_mu, "
     r"vague_sigma, meaning, source, got \['vague_sd'\]"),
    ("normal-prior-vague-key", lambda t: t.replace("sigma = 0.42\n",
                                                   "sigma = 0.42\nvague_weight = 0.2\n"),
     r"'priors\.enthusiastic': expected keys dist, mu, sigma, meaning, source \(the vague_\* "
     r"keys need dist = 'NormalMixture'\), got \['vague_weight'\]"),
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


SURVIVAL_TABLE_BROKEN = [
    ("unknown-column-role", lambda t: t.replace('id = "pid"}', 'id = "pid", time = "t"}'),
     r"'data\.columns': expected keys from \['arm', 'duration', 'event', 'id'\], got \['time'\]"),
    ("unknown-endpoint-key",
     lambda t: t.replace('label = "Remission duration"}', 'colour = "red"}'),
     r"'data\.endpoint': expected keys name, label, got \['colour'\]"),
    ("column-not-text", lambda t: t.replace('duration = "weeks"', "duration = 3"),
     r"'data\.columns': expected column names \(strings\)"),
    ("terminal", lambda t: t.replace('[data]\n', '[data]\nterminal = ["death"]\n'),
     r"'data\.terminal': expected only with format = 'patient_table'"),
]
