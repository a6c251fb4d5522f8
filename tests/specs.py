"""Small variants of the seed spec, the session's one shared run, and a stand-in sampler.

* :func:`small_seed_spec` writes the seed spec with a one-fit ``[bayes]`` section (GRFS,
  Weibull, skeptical prior, 2 x 500 draws), its ``[primary]`` analysis, a small
  ``[competing]`` section and the seed ``[safety]`` section, next to a copy of
  ``data/cao2025`` so that every path in it stays relative (as in the repository).
* :func:`seed_run` runs it once per test session (all xdist workers share it through a lock
  file): the one NUTS fit behind the run, report and CLI tests.  Its folder is
  read-only for tests; :func:`copy_seed_run` gives a test its own copy (spec, data and output
  with its store, so reruns reuse the stored fit).
* :func:`fake_fit` stands in for :func:`bridgebayes.inference.fit.fit` in tests about
  *whether* the pipeline fits (cache keys, ``--force``): it returns the seed run's posterior
  relabelled with the requested data and family, instantly.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from bridgebayes.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: The one fit of the seed run (its posterior file stem).
SEED_FIT = "grfs__weibull__skeptical"

#: One GRFS Weibull fit under the skeptical prior, small enough for the default suite.
SMALL_BAYES = """
[bayes]
endpoints = ["grfs"]
families = ["weibull"]
priors = ["skeptical"]
seed = 3
chains = 2
draws = 500
tune = 500
"""

#: The pre-specified primary analysis of the small spec: its one fit.
PRIMARY = """
[primary]
endpoint = "grfs"
family = "weibull"
prior = "skeptical"
hr_threshold = 1.0
decision_probability = 0.9
"""

#: Competing risks and the illness-death model by their exact posteriors (no NUTS).
COMPETING = """
[competing]
families = ["weibull"]
priors = ["skeptical"]
illness_death = true
"""


def _seed_section(text: str, name: str) -> str:
    """The ``[name]`` section of the seed spec, up to the next section or comment block."""
    start = text.index(f"\n[{name}]") + 1
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start:end + 1]


def small_seed_spec(repo_root: Path, folder: Path, tail: str = "", *,
                    primary: bool = True, competing: bool = True) -> Path:
    """``folder/models/cao2025.toml``: the seed spec up to its ``[bayes]`` section, then
    :data:`SMALL_BAYES`, :data:`PRIMARY`, :data:`COMPETING`, the seed ``[safety]`` section and
    ``tail``; ``folder/data/cao2025`` is a copy of the repository's, so the spec's paths are
    the seed spec's own relative ones."""
    text = (repo_root / "models" / "cao2025.toml").read_text()
    safety = _seed_section(text, "safety")
    text = (text[:text.index("\n[bayes]") + 1] + SMALL_BAYES + (PRIMARY if primary else "")
            + (COMPETING if competing else "") + "\n" + safety + tail)
    spec = folder / "models" / "cao2025.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo_root / "data" / "cao2025", folder / "data" / "cao2025",
                    dirs_exist_ok=True)
    spec.write_text(text)
    return spec


def _session_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def seed_run(tmp_path_factory) -> Path:
    """The folder of the session's run of :func:`small_seed_spec`: ``models/``, ``data/``
    and the output ``report/`` (with its store ``report/.cache``).  Computed once per session
    (the first caller runs it under a lock, the others wait); do not modify it."""
    root = _session_root(tmp_path_factory)
    base = root / "seed_run"
    with open(root / "seed_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "report" / "manifest.json").is_file():
            shutil.rmtree(base, ignore_errors=True)
            spec = small_seed_spec(ROOT, base)
            assert main(["--quiet", "run", str(spec), "--out", str(base / "report")]) == 0
    return base


def copy_seed_run(tmp_path_factory, target: Path) -> Path:
    """A private copy of :func:`seed_run` in ``target`` (spec, data, output and store);
    returns ``target``."""
    shutil.copytree(seed_run(tmp_path_factory), target, dirs_exist_ok=True)
    return target


def fake_fit(posterior: Path, calls: list | None = None, *, fail_gate: bool = False
             ) -> Callable:
    """A stand-in for :func:`bridgebayes.inference.fit.fit`: the posterior in ``posterior``
    with the requested data and family; each call's ``(endpoint, family options)`` is
    appended to ``calls``; ``fail_gate`` makes the diagnostics gate fail (R-hat).  Install
    with ``monkeypatch.setattr(bridgebayes.inference.fit, "fit", fake_fit(...))``."""
    from bridgebayes.inference.diagnostics import Gate
    from bridgebayes.inference.fit import Fit

    def fit(data, family, *, seed, sampler):
        if calls is not None:
            calls.append((data.name, family.options()))
        result = dataclasses.replace(Fit.load(posterior), family=family, data=data)
        if fail_gate:
            checks = result.gate.checks.copy()
            checks.loc[checks["check"] == "max R-hat", ["value", "passed"]] = [1.2, False]
            result = dataclasses.replace(result, gate=Gate(False, checks,
                                                           result.gate.per_variable))
        return result

    return fit


# --- a generic study: a patient table in weeks, and a one-endpoint table -------------------

#: A two-arm trial in weeks from randomisation: overall survival, progression-free survival
#: and progression vs toxicity stop (competing), a categorical and a numeric covariate.
TRIAL_SPEC = """
[analysis]
id = "trial"
title = "Drug vs placebo in a small randomised trial"
question = "Does the drug lower the hazard of death?"

[data]
format = "patient_table"
file = "../data/trial.csv"
time_unit = "weeks"
time_zero = "randomisation"
followup = "last"
terminal = ["death"]
randomised = true

[endpoints.os]
label = "Overall survival"
events = ["death"]
description = "death from any cause"

[endpoints.pfs]
label = "Progression-free survival"
events = ["progression", "death"]

[endpoints.stop]
label = "Progression vs toxicity"
causes = { progression = ["progression"], toxicity = ["toxicity"] }
cause_labels = { toxicity = "toxicity stop" }

[covariates.stage]
kind = "categorical"
levels = ["I", "II", "III"]

[covariates.age]
kind = "numeric"

[arms]
reference = "placebo"
treatment = "drug"
"""

#: The one-endpoint (lifelines-style) table: remission duration in weeks.
SURVIVAL_SPEC = """
[analysis]
id = "remission"
title = "Remission duration"

[data]
format = "survival_table"
file = "../data/remission.csv"
time_unit = "weeks"
randomised = true
columns = {duration = "weeks", event = "relapsed", arm = "group", id = "pid"}
endpoint = {name = "remission", label = "Remission duration"}

[arms]
reference = "placebo"
treatment = "6-MP"
"""


def trial_table(seed: int = 7, n_per_arm: int = 30):
    """Simulated trial rows (weeks, one decimal): death, progression and toxicity times with
    uniform censoring on (26, 104) weeks; death ends follow-up."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for a, label in enumerate(("placebo", "drug")):
        for i in range(n_per_arm):
            death = rng.exponential(80.0 * (1.4 if a else 1.0))
            progression = rng.exponential(40.0 * (1.3 if a else 1.0))
            toxicity = rng.exponential(150.0)
            censor = rng.uniform(26.0, 104.0)
            last = max(0.1, round(min(death, censor), 1))
            rows.append({
                "id": f"{label[0]}{i:02d}", "arm": label, "last": last,
                "death": last if death <= censor else None,
                "progression": max(0.1, round(progression, 1)) if progression < last else None,
                "toxicity": max(0.1, round(toxicity, 1)) if toxicity < last else None,
                "stage": ("I", "II", "III")[int(rng.integers(0, 3))],
                "age": int(rng.integers(40, 80))})
    return pd.DataFrame(rows)


def trial_spec(folder: Path, tail: str = "", *, seed: int = 7) -> Path:
    """``folder/models/trial.toml`` (:data:`TRIAL_SPEC` + ``tail``) and its data
    ``folder/data/trial.csv`` (:func:`trial_table`)."""
    spec = folder / "models" / "trial.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    trial_table(seed).to_csv(folder / "data" / "trial.csv", index=False)
    spec.write_text(TRIAL_SPEC + tail)
    return spec


#: The Freireich et al. (1963) 6-MP remission data (weeks; Gehan 1965), 21 patients per arm.
REMISSION = {
    "6-MP": ([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35],
             [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]),
    "placebo": ([1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23],
                [1] * 21),
}


def survival_spec(folder: Path, tail: str = "") -> Path:
    """``folder/models/remission.toml`` (:data:`SURVIVAL_SPEC` + ``tail``) and
    ``folder/data/remission.csv`` (:data:`REMISSION`)."""
    spec = folder / "models" / "remission.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    lines = ["pid,group,weeks,relapsed"]
    for arm, (weeks, relapsed) in REMISSION.items():
        lines += [f"{arm[0]}{i},{arm},{w},{r}"
                  for i, (w, r) in enumerate(zip(weeks, relapsed, strict=True), start=1)]
    (folder / "data" / "remission.csv").write_text("\n".join(lines) + "\n")
    spec.write_text(SURVIVAL_SPEC + tail)
    return spec
