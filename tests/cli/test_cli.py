"""Command-line behaviour: what run and validate print, exit codes (0 / 2 / 3), nothing
written on bad input, and a killed run that leaves no output and resumes from its store."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from specs import SEED_FIT, copy_seed_run, fake_fit, small_seed_spec, trial_spec

import bridgebayes.inference.fit as fit_module
from bridgebayes.cli.commands import _run_text, main
from bridgebayes.core.errors import ReconstructionError
from bridgebayes.core.store import file_digest
from bridgebayes.reconstruct.outputs import write_ensemble
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.search import SearchSettings
from bridgebayes.summaries.decision import percent

QUICK = SearchSettings(ordering_iterations=1000, iterations=2000, patience=500)
TESTS = Path(__file__).resolve().parents[1]


def test_help_lists_the_commands_and_exit_codes():
    out = subprocess.run([sys.executable, "-m", "bridgebayes.cli.commands", "--help"],
                         check=True, capture_output=True, text=True).stdout
    for command in ("reconstruct", "reference", "validate", "run", "plan", "sbc"):
        assert command in out
    assert "Exit codes: 0 success; 2 bad input" in " ".join(out.split())


def test_bad_published_file_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "published.toml"
    bad.write_text("[arms]\nreference = 'a'\ntreatment = 'a'\n")
    out = tmp_path / "out" / "cohort.csv"
    code = main(["reconstruct", str(bad), "--seed", "1", "--out", str(out)])
    assert code == 2
    assert "published.toml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_cohort_exits_2(tmp_path, capsys):
    bad = tmp_path / "c.csv"
    bad.write_text("id,arm,followup,death,relapse,agvhd34,cgvhd_sys\nP1,a,-1,,,,\nP2,b,3,,,,\n")
    code = main(["reference", str(bad), "--arms", "a,b", "--out", str(tmp_path / "ref")])
    assert code == 2
    assert "column 'followup'" in capsys.readouterr().err
    assert not (tmp_path / "ref").exists()


def test_reference_command_reports_in_the_cohort_unit(repo_root, tmp_path, capsys):
    cohort = repo_root / "data" / "cao2025" / "cohort.csv"
    assert main(["reference", str(cohort), "--arms", "blinatumomab,CAR-T", "--time-unit",
                 "weeks", "--landmarks", "52", "104", "--out", str(tmp_path / "ref")]) == 0
    printed = capsys.readouterr().out
    assert "Follow-up (weeks): median 27.74 (reverse KM), range 2.29-92.21" in printed
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) == [
        ".bridgebayes-output", "followup.json", "landmarks.csv", "tests.csv"]
    assert json.loads((tmp_path / "ref" / "followup.json").read_text())["endpoint"] == "os"


# --- run: what it prints, exit codes -------------------------------------------------------

def test_run_prints_the_title_the_caveat_and_the_primary_result(tmp_path_factory, tmp_path,
                                                                capsys):
    copy = copy_seed_run(tmp_path_factory, tmp_path / "s")
    out = copy / "report"
    assert main(["run", str(copy / "models" / "cao2025.toml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    results = json.loads((out / "results.json").read_text())
    p = results["primary"]
    assert printed[0] == f"{out}: up to date (nothing changed since the last run)"
    assert printed[1] == "CAR-T vs blinatumomab as bridge to allogeneic HSCT in R/R B-ALL"
    assert printed[2] == ("NOTE: the cohort is RECONSTRUCTED pseudo-patient data, not the "
                          "study's patients.")
    assert printed[3] == (
        f"Primary analysis (GVHD-free relapse-free survival, Weibull model, skeptical prior): "
        f"HR {p['hr']['estimate']:.2f} (95% CrI {p['hr']['lower']:.2f} to "
        f"{p['hr']['upper']:.2f}); P(HR < 1): {percent(p['probability'])}; decision rule "
        f"{p['decision']}")
    assert printed[-1] == f"Written: {out}/ (report.html)"
    assert main(["--quiet", "run", str(copy / "models" / "cao2025.toml"), "--out",
                 str(out)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("probability", "shown"), [(0.9999, ">99%"), (0.996, ">99%"),
                                                   (0.994, "99%"), (0.0001, "<1%"),
                                                   (0.45, "45%")])
def test_the_printed_probability_is_never_certainty(probability, shown):
    summary = {"study": {"title": "T", "reconstructed": False,
                         "endpoints": {"os": {"label": "Overall survival"}}},
               "families": {"weibull": {"label": "Weibull"}},
               "primary": {"endpoint": "os", "family": "weibull", "prior": "neutral",
                           "hr_threshold": 1.0, "probability": probability, "decision": None,
                           "hr": {"estimate": 0.5, "lower": 0.2, "upper": 0.9, "level": 0.95}}}
    line = _run_text(summary).splitlines()[-1]
    assert line.endswith(f"P(HR < 1): {shown}")
    assert "100%" not in line and " 0%" not in line


# --- hygiene of a run: no machine path, no third-party warning ----------------------------

@pytest.mark.parametrize("fresh", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["from-store", "fresh-nuts"])
def test_a_run_from_another_folder_writes_no_machine_path_and_no_warning(
        tmp_path_factory, tmp_path, fresh):
    """``bridgebayes run`` in a subprocess from another working folder (spec given by a
    relative path): no absolute path in any file it writes, and nothing on stderr (no
    ArviZ / PyMC FutureWarning).  The default case reuses the seed run's store (every
    table and figure rendered again, no fit); the slow case fits from scratch."""
    study = copy_seed_run(tmp_path_factory, tmp_path / "study")
    out = study / "report"
    (out / "manifest.json").unlink()
    if fresh:
        shutil.rmtree(out / ".bridgebayes-cache")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-m", "bridgebayes", "run",
                           "../study/models/cao2025.toml", "--out", "../study/report"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    machine = [str(tmp_path), str(tmp_path.resolve()), str(TESTS.parent), str(Path.home())]
    for path in out.rglob("*"):
        if not path.is_file() or ".bridgebayes-cache" in path.parts or path.suffix in (
                ".png", ".nc"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not any(m in text for m in machine), path.relative_to(out)


def test_a_missed_published_figure_exits_3_with_the_results_written(tmp_path_factory,
                                                                    tmp_path, monkeypatch,
                                                                    capsys):
    copy = copy_seed_run(tmp_path_factory, tmp_path / "s")
    published = copy / "data" / "cao2025" / "published.toml"
    published.write_text(published.read_text().replace("blinatumomab = 88.89",
                                                       "blinatumomab = 80.00"))
    monkeypatch.setattr(fit_module, "fit", lambda *a, **k: pytest.fail("refitted"))
    out = copy / "report"
    assert main(["run", str(copy / "models" / "cao2025.toml"), "--out", str(out)]) == 3
    assert f"{SEED_FIT}: cached" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["checks_passed"] is False
    results = json.loads((out / "results.json").read_text())
    missed = [r for r in results["fidelity"] if r["required"] and not r["matched"]]
    assert [r["figure"] for r in missed] == ["survival.os.blinatumomab"]
    assert (out / "report.html").is_file()


def test_a_failed_diagnostics_gate_exits_3(tmp_path_factory, tmp_path, seed_run, monkeypatch,
                                          capsys):
    copy = copy_seed_run(tmp_path_factory, tmp_path / "s")
    spec = copy / "models" / "cao2025.toml"
    spec.write_text(spec.read_text().replace('ensemble = "../data/cao2025/ensemble"\n', ""))
    monkeypatch.setattr(fit_module, "fit", fake_fit(
        seed_run / "report" / "posteriors" / f"{SEED_FIT}.nc", fail_gate=True))
    assert main(["run", str(spec), "--out", str(copy / "report"), "--force"]) == 3
    assert "diagnostics FAIL: max R-hat = 1.2 (threshold 1.01)" in capsys.readouterr().out


# --- validate: the same checks as run -------------------------------------------------------

def test_validate_accepts_the_seed_spec(repo_root, capsys):
    spec = repo_root / "models" / "cao2025.toml"
    assert main(["validate", str(spec)]) == 0
    note, verdict = capsys.readouterr().out.strip().splitlines()
    assert note.startswith("note: adjustment: no covariates") and "bias analysis only" in note
    assert verdict.startswith(f"{spec}: valid (sha256 ")


def test_validate_accepts_a_planning_spec(repo_root, capsys):
    spec = repo_root / "models" / "cao2025_plan.toml"
    assert main(["validate", str(spec)]) == 0
    assert f"{spec}: valid planning spec" in capsys.readouterr().out


def test_validate_and_run_share_one_validation_pass(repo_root, tmp_path, monkeypatch):
    """run validates through validate.prepare (imported when the output is not up to date)."""
    import bridgebayes.run.validate as validate
    from bridgebayes.run.pipeline import run

    seen = []

    def prepare(path):
        seen.append(path)
        raise validate.SpecError("stop here")

    monkeypatch.setattr(validate, "prepare", prepare)
    spec = repo_root / "models" / "cao2025.toml"
    with pytest.raises(validate.SpecError, match="stop here"):
        run(spec, out=tmp_path / "out", say=lambda line: None)
    assert seen == [spec] and not (tmp_path / "out").exists()


def _published_arms(folder: Path) -> None:
    p = folder / "data" / "cao2025" / "published.toml"
    p.write_text(p.read_text().replace("blinatumomab", "blina"))


def _published_in_weeks(folder: Path) -> None:
    spec = folder / "models" / "cao2025.toml"
    spec.write_text(spec.read_text().replace('time_unit = "months"', 'time_unit = "weeks"'))


def _broken_member(folder: Path) -> None:
    member = folder / "data" / "cao2025" / "ensemble" / "member_03" / "cohort.csv"
    member.write_text(member.read_text().replace(",CAR-T,", ",chemo,", 1))


def _bad_prior(folder: Path) -> None:
    spec = folder / "models" / "cao2025.toml"
    spec.write_text(spec.read_text().replace('priors = ["skeptical"]\nseed',
                                             'priors = ["skeptical", "hopeful"]\nseed'))


@pytest.mark.parametrize(("break_it", "message"), [
    (_published_arms, "its arms ['blina', 'CAR-T'] differ from the spec's arms"),
    (_published_in_weeks, "'data.published': expected transplant data in months"),
    (_broken_member, "member_03/cohort.csv: ensemble member (data.ensemble): column 'arm'"),
    (_bad_prior, "key 'bayes.priors': expected priors declared in [priors] or built in"),
], ids=["published-arms", "published-unit", "ensemble-member", "unknown-prior"])
def test_validate_and_run_reject_the_same_input_before_any_work(repo_root, tmp_path, break_it,
                                                               message, monkeypatch, capsys):
    spec = small_seed_spec(repo_root, tmp_path)
    break_it(tmp_path)
    monkeypatch.setattr(fit_module, "fit", lambda *a, **k: pytest.fail("fitted"))
    assert main(["validate", str(spec)]) == 2
    said = capsys.readouterr().err
    assert message in said and said.startswith("bridgebayes: error: ")
    out = tmp_path / "report"
    assert main(["run", str(spec), "--out", str(out)]) == 2
    assert capsys.readouterr().err == said  # the same verdict, word for word
    assert not out.exists()  # nothing written


def test_validate_prints_the_notes_run_would_print(repo_root, tmp_path, capsys):
    spec = small_seed_spec(repo_root, tmp_path)
    spec.write_text(spec.read_text().replace("seed = 3\n", 'seed = 3\nlandmarks = [12, '
                                             '"10 years"]\n'))
    assert main(["validate", str(spec)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("note: bayes: times [120.0] months are beyond the last "
                               "follow-up (92.21 months)")
    assert lines[1].startswith(f"{spec}: valid (sha256 ")


def test_validate_a_patient_table_spec(tmp_path, capsys):
    spec = trial_spec(tmp_path)
    assert main(["validate", str(spec)]) == 0
    assert "valid" in capsys.readouterr().out
    spec.write_text(spec.read_text().replace('events = ["death"]', 'events = ["died"]'))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "missing required column(s) ['died']" in err
    assert "the patient-table format needs columns id, arm, the follow-up column 'last'" in err


# --- a killed run -----------------------------------------------------------------------------

KILLED = """
import dataclasses, sys, time
sys.path.insert(0, {tests!r})
import bridgebayes.inference.fit as fit_module
from specs import fake_fit
calls = []
stand_in = fake_fit({posterior!r}, calls)
def fit(data, family, *, seed, sampler):
    if len(calls) >= {finished}:
        time.sleep(600)  # this fit never ends: the test kills the run here
    return stand_in(data, family, seed=seed, sampler=sampler)
if {fake}:
    fit_module.fit = fit
from bridgebayes.cli import main
main(['--quiet', 'run', {spec!r}, '--out', {out!r}])
"""


def _stored_fits(out: Path) -> list[Path]:
    """Fits in the store: a payload counts once its sidecar (written last) is there."""
    return [p for p in (out / ".bridgebayes-cache").glob("*.nc")
            if p.with_suffix(".json").is_file()]


def _kill_after_first_new_fit(spec: Path, out: Path, *, posterior: Path, fake: bool,
                              before: int) -> int:
    """Start ``run`` in a subprocess, SIGKILL it as soon as a new fit is complete in the
    store; returns its pid."""
    code = KILLED.format(tests=str(TESTS), posterior=str(posterior), finished=1, fake=fake,
                         spec=str(spec), out=str(out))
    log = out.parent.parent / "killed-run.log"  # outside the study folder
    with open(log, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                                stderr=stderr)
        try:
            deadline = time.monotonic() + 900
            while len(_stored_fits(out)) <= before:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "no fit was stored in time"
                time.sleep(0.02)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return proc.pid


@pytest.mark.parametrize("fake", [
    True, pytest.param(False, marks=pytest.mark.slow, id="nuts")], ids=["stand-in", "nuts"])
def test_a_sigkilled_run_leaves_no_output_and_the_rerun_reuses_its_finished_fit(
        tmp_path, seed_run, monkeypatch, capsys, fake):
    """Three priors.  With the stand-in sampler the first fit is in the store (from the
    session run), the second is fitted and stored by the killed run and the third never
    finishes; with NUTS (slow) the killed run is stopped as soon as its first fit is stored,
    and every fit passes the gate (1000 draws)."""
    copy = tmp_path / "s"
    shutil.copytree(seed_run / "models", copy / "models")
    shutil.copytree(seed_run / "data", copy / "data")
    out = copy / "report"
    spec = copy / "models" / "cao2025.toml"
    text = spec.read_text().replace(
        'priors = ["skeptical"]\nseed', 'priors = ["skeptical", "neutral", "skeptical-weak"]'
        '\nseed').replace('ensemble = "../data/cao2025/ensemble"\n', "")
    if fake:
        shutil.copytree(seed_run / "report" / ".bridgebayes-cache", out / ".bridgebayes-cache")
    else:
        text = text.replace("draws = 500", "draws = 1000")
    spec.write_text(text)
    before = len(_stored_fits(out)) if out.exists() else 0
    posterior = seed_run / "report" / "posteriors" / f"{SEED_FIT}.nc"
    pid = _kill_after_first_new_fit(spec, out, posterior=posterior, fake=fake, before=before)
    # nothing looks like a result
    assert sorted(p.name for p in out.iterdir()) == [".bridgebayes-cache"]
    assert sorted(p.name for p in copy.iterdir()) == ["data", "models", "report"]
    stored = {p.name: p.stat().st_mtime_ns for p in _stored_fits(out)}
    assert len(stored) == before + 1
    for sidecar in (out / ".bridgebayes-cache").glob("*.json"):  # every complete object is intact
        meta = json.loads(sidecar.read_text())
        payload = next(p for p in sidecar.parent.glob(f"{sidecar.stem}.*") if p != sidecar)
        assert file_digest(payload) == meta["sha256"]
    # what a kill during the final write leaves: a staging folder of a dead process
    stale = copy / f".report.staging-{socket.gethostname()}-{pid}-x"
    (stale / "tables").mkdir(parents=True)
    calls: list = []
    if fake:
        monkeypatch.setattr(fit_module, "fit", fake_fit(posterior, calls))
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"[1/3] {SEED_FIT}: cached" in said
    if fake:  # the second fit finished before the kill
        assert "[2/3] grfs__weibull__neutral: cached" in said
        assert [c[0] for c in calls] == ["grfs"]
    else:
        assert "[2/3] grfs__weibull__neutral: fitted" in said
    assert "[3/3] grfs__weibull__skeptical-weak: fitted" in said
    for name, mtime in stored.items():
        assert (out / ".bridgebayes-cache" / name).stat().st_mtime_ns == mtime  # not rewritten
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    assert {p.stem for p in (out / "posteriors").iterdir()} == {
        SEED_FIT, "grfs__weibull__neutral", "grfs__weibull__skeptical-weak"}
    assert sorted(p.name for p in copy.iterdir()) == ["data", "models", "report"]


# --- reconstruct --ensemble ------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_ensemble(tmp_path_factory, repo_root):
    folder = tmp_path_factory.mktemp("ens")
    summary = load_published(repo_root / "data" / "cao2025" / "published.toml")
    table = write_ensemble(summary, folder, seed=11, k=2, workers=1, settings=QUICK,
                           progress=lambda _: None)
    return summary, folder, table


def test_ensemble_members_are_distinct_and_reported(small_ensemble):
    _, folder, table = small_ensemble
    assert len(table) == 2 and table["cohort_sha256"].nunique() == 2
    assert (folder / "ensemble.csv").is_file()
    for j in (1, 2):
        assert (folder / f"member_{j:02d}" / "provenance.json").is_file()


def test_ensemble_resumes_without_recomputing_finished_members(small_ensemble):
    summary, folder, table = small_ensemble
    first = (folder / "member_01" / "cohort.csv").read_bytes()
    (folder / "member_02" / "provenance.json").unlink()  # as if killed before finishing
    messages = []
    again = write_ensemble(summary, folder, seed=11, k=2, workers=1, settings=QUICK,
                           progress=messages.append)
    assert "1 of 2 members already complete; computing 1" in messages[0]
    assert (folder / "member_01" / "cohort.csv").read_bytes() == first
    assert list(again["cohort_sha256"]) == list(table["cohort_sha256"])  # same seeds, same data


def test_an_ensemble_member_with_a_damaged_fidelity_table_is_made_again(small_ensemble):
    summary, folder, table = small_ensemble
    fidelity = folder / "member_02" / "fidelity.csv"
    fidelity.write_bytes(fidelity.read_bytes()[:15])  # cut short
    messages = []
    again = write_ensemble(summary, folder, seed=11, k=2, workers=1, settings=QUICK,
                           progress=messages.append)
    assert "1 of 2 members already complete; computing 1" in messages[0]
    assert list(again["cohort_sha256"]) == list(table["cohort_sha256"])


def test_ensemble_refuses_members_from_other_settings(small_ensemble):
    summary, folder, _ = small_ensemble
    with pytest.raises(ReconstructionError, match="--force"):
        write_ensemble(summary, folder, seed=12, k=2, workers=1, settings=QUICK,
                       progress=lambda _: None)


def test_the_readme_own_study_spec_validates_as_written(repo_root, tmp_path, capsys):
    import re

    section = (repo_root / "README.md").read_text().split("## Your own study")[1].split("\n## ")[0]
    csv = re.search(r"```\n(days,event,arm\n.*?)```", section, re.S).group(1)
    spec = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "trial.csv").write_text(csv + "".join(
        f"{100 + 37 * i},{i % 2},{'new' if i % 3 else 'control'}\n" for i in range(20)))
    (tmp_path / "mytrial.toml").write_text(spec)
    assert main(["validate", str(tmp_path / "mytrial.toml")]) == 0
    assert "valid" in capsys.readouterr().out
