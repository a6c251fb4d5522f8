"""Command-line behaviour: exit codes, nothing written on bad input, staged outputs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest
from specs import small_seed_spec

from bridgebayes.cli.commands import main
from bridgebayes.reconstruct.outputs import write_ensemble
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.search import SearchSettings

QUICK = SearchSettings(ordering_iterations=3000, iterations=6000, patience=1500)


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "bridgebayes.cli.commands", "--help"], check=True,
                         capture_output=True, text=True).stdout
    for command in ("reconstruct", "reference", "validate", "run"):
        assert command in out


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


COMPETING = """
[competing]
families = ["weibull"]
priors = ["skeptical"]
"""


def small_spec(repo_root, folder):
    """The seed spec with a one-fit [bayes] section and a small [competing] section."""
    return small_seed_spec(repo_root, folder, COMPETING)


def test_run_writes_results_caches_posteriors_and_resumes(repo_root, tmp_path, capsys):
    spec = small_spec(repo_root, tmp_path)
    out = tmp_path / "report"
    assert main(["--quiet", "run", str(spec), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert len(results["spec"]["sha256"]) == 64
    assert results["data"]["reconstructed_pseudo_data"] is True
    assert (out / "tables" / "fidelity.csv").is_file()
    decisions = results["bayes"]["decisions"]
    p1 = [r for r in decisions if r["quantity"] == "P(HR < c)" and r["threshold"] == 1.0]
    assert len(p1) == 1 and 0 < p1[0]["probability"] < 1
    assert results["bayes"]["diagnostics"][0]["passed"] is True
    posterior = out / "posteriors" / "grfs__weibull__skeptical.nc"
    assert posterior.is_file()
    # secondary analyses: competing risks + illness-death (exact), safety not reported
    competing = results["competing_risks"]
    nrm = [r for r in competing["decisions"] if r["cause"] == "nrm"]
    assert nrm and all(r["family"] == "weibull" and r["prior"] == "skeptical" for r in nrm)
    assert competing["illness_death"] and competing["transitions"]
    adequacy = competing["against_aalen_johansen"]  # 2 causes x 2 arms x 2 landmarks
    assert len(adequacy) == 8 and all(isinstance(r["inside_band"], bool) for r in adequacy)
    assert all(r["lower"] <= r["posterior_median"] <= r["upper"] for r in adequacy)
    assert {r["status"] for r in results["safety"]["table"]} == {"not reported"}
    assert (out / "tables" / "illness_death.csv").is_file()
    html = (out / "report.html").read_text()
    assert "Illness–death model" in html and "Posterior predictive check" in html
    assert "reconstruction-sensitivity" in html and "Power-scaling sensitivity" in html
    psens = results["bayes"]["power_scaling"]
    assert {r["parameter"] for r in psens} >= {"log_hr", "k", "lam"}
    assert all(r["prior"] == "skeptical" and r["prior_sensitivity"] >= 0
               and r["likelihood_sensitivity"] >= 0 for r in psens)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == \
        [".report.posteriors"]  # the cache stays; no staging folder left
    first = (out / "results.json").read_bytes()
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0
    assert "grfs__weibull__skeptical: cached" in capsys.readouterr().out
    assert (out / "results.json").read_bytes() == first  # same numbers, no refit


def test_sigkilled_run_leaves_no_output_and_the_rerun_reuses_finished_fits(repo_root, tmp_path,
                                                                         capsys):
    spec = small_spec(repo_root, tmp_path)
    spec.write_text(spec.read_text().replace('priors = ["skeptical"]',
                                             'priors = ["skeptical", "neutral"]')
                    .replace("draws = 500", "draws = 1000"))  # both fits pass the gate
    out, cache = tmp_path / "report", tmp_path / ".report.posteriors"
    code = f"from bridgebayes.cli import main; main(['--quiet', 'run', {str(spec)!r}, '--out', " \
           f"{str(out)!r}])"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not list(cache.glob("*.nc")):  # killed as soon as the first fit is cached
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # nothing that looks like a result
    finished = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.nc")}
    assert finished and not list(cache.glob(".*.tmp"))
    # what a kill during the final write leaves: a staging folder of a dead process
    stale = tmp_path / f".report.staging-{socket.gethostname()}-{proc.pid}-x"
    (stale / "tables").mkdir(parents=True)
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    for name, mtime in finished.items():
        assert f"{name.removesuffix('.nc')}: cached" in said  # not refitted
        assert (cache / name).stat().st_mtime_ns == mtime
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    assert not list(tmp_path.glob(".report.staging-*"))


def test_changed_spec_refits_instead_of_reusing(repo_root, tmp_path, capsys):
    spec = small_spec(repo_root, tmp_path)
    out = tmp_path / "report"
    assert main(["--quiet", "run", str(spec), "--out", str(out)]) == 0
    spec.write_text(spec.read_text() + "# edited: any change to the file changes its hash\n")
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0
    assert "grfs__weibull__skeptical: fitted" in capsys.readouterr().out


def test_changed_cohort_refits_under_an_unchanged_spec(repo_root, tmp_path, capsys):
    spec = small_spec(repo_root, tmp_path)
    cohort = tmp_path / "cohort.csv"
    cohort.write_text((repo_root / "data" / "cao2025" / "cohort.csv").read_text())
    spec.write_text(spec.read_text().replace(
        f"{repo_root / 'data' / 'cao2025' / 'cohort.csv'}", str(cohort)))
    out = tmp_path / "report"
    assert main(["--quiet", "run", str(spec), "--out", str(out)]) == 0
    text = cohort.read_text()
    assert "P002,blinatumomab,20.11," in text
    cohort.write_text(text.replace("P002,blinatumomab,20.11,", "P002,blinatumomab,20.12,"))
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0
    assert "grfs__weibull__skeptical: fitted" in capsys.readouterr().out  # not "cached"


def test_validate_accepts_the_seed_spec(repo_root, capsys):
    assert main(["validate", str(repo_root / "models" / "cao2025.toml")]) == 0
    assert "valid" in capsys.readouterr().out


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


def test_ensemble_refuses_members_from_other_settings(small_ensemble):
    from bridgebayes.core.errors import ReconstructionError

    summary, folder, _ = small_ensemble
    with pytest.raises(ReconstructionError, match="--force"):
        write_ensemble(summary, folder, seed=12, k=2, workers=1, settings=QUICK,
                       progress=lambda _: None)
