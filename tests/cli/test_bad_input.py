"""The commands on bad input and faults: exit 2 with one message naming the file or option and
nothing written; the output location checked before any work; Ctrl-C is one line and exit
130; landmarks beyond the data are "not estimable"."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from bridgebayes.cli.commands import main
from bridgebayes.core.io import STORE_FOLDER

ROOT = Path(__file__).resolve().parents[2]
COHORT = ROOT / "data" / "cao2025" / "cohort.csv"
PUBLISHED = ROOT / "data" / "cao2025" / "published.toml"
ARMS = "blinatumomab,CAR-T"


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def minimal_spec(folder: Path, *, cohort: Path = COHORT, published: Path | None = PUBLISHED,
                 name: str = "study") -> Path:
    """A spec without [bayes]: validate and run read the cohort and the published figures."""
    spec = folder / f"{name}.toml"
    lines = ["[analysis]", f'id = "{name}"', "[data]", 'format = "hsct"', f'file = "{cohort}"',
             'time_unit = "months"', "reconstructed = true"]
    if published is not None:
        lines.append(f'published = "{published}"')
    lines += ["[arms]", 'reference = "blinatumomab"', 'treatment = "CAR-T"']
    spec.write_text("\n".join(lines) + "\n")
    return spec


# --- arguments ---------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    (["reference", COHORT, "--arms", ARMS, "--landmarks", "-12"], r"argument --landmarks: "
     r"landmark times must be > 0"),
    (["reference", COHORT, "--arms", ARMS, "--landmarks", "0"], r"argument --landmarks"),
    (["reference", COHORT, "--arms", ARMS, "--landmarks", "inf"], r"argument --landmarks: "
     r"landmark: 'inf' is not a plain number"),
    (["reference", COHORT, "--arms", ARMS, "--landmarks", "nan"], r"argument --landmarks"),
    (["reference", COHORT, "--arms", ARMS, "--landmarks", "1_2"], r"no '_' digit separators"),
    (["reference", COHORT, "--arms", ARMS, "--landmarks", "12", "12"],
     r"bridgebayes: error: --landmarks: duplicate landmark time\(s\) \[12.0\]"),
    (["reference", COHORT, "--arms", "blinatumomab"], r"--arms: expected 'reference,treatment'"),
    (["reference", COHORT, "--arms", ARMS, "--time-unit", "fortnights"],
     r"unknown time unit 'fortnights'"),
    (["reconstruct", PUBLISHED, "--seed", "1", "--out", "x.csv", "--workers", "0"],
     r"argument --workers: expected an integer >= 1, got '0'"),
    (["reconstruct", PUBLISHED, "--seed", "-1", "--out", "x.csv"],
     r"argument --seed: expected an integer from 0 to"),
    (["reconstruct", PUBLISHED, "--seed", "1_0", "--out", "x.csv"], r"argument --seed"),
    (["reconstruct", PUBLISHED, "--seed", "1", "--out", "x", "--ensemble", "0"],
     r"argument --ensemble: expected an integer from 1 to 1000, got '0'"),
    (["sbc", "--n-sims", "0"], r"argument --n-sims: expected an integer >= 1"),
    (["sbc", "--nuts-sims", "-1"], r"argument --nuts-sims"),
    (["sbc", "--seed", "x"], r"argument --seed"),
]


@pytest.mark.parametrize(("argv", "pattern"), BAD_ARGUMENTS,
                         ids=[" ".join(map(str, a[0][:1] + a[0][-2:])) for a in BAD_ARGUMENTS])
def test_bad_arguments_exit_2_with_a_message_and_write_nothing(tmp_path, monkeypatch, capsys,
                                                               argv, pattern):
    monkeypatch.chdir(tmp_path)
    code, _, err = call(argv, capsys)
    assert code == 2
    assert re.search(pattern, err), err
    assert tree(tmp_path) == []


# --- landmarks beyond the data --------------------------------------------------------------


def test_reference_says_not_estimable_beyond_the_last_follow_up(tmp_path, capsys):
    out = tmp_path / "ref"
    code, said, _ = call(["reference", COHORT, "--arms", ARMS, "--landmarks", "12", "500",
                          "--out", out], capsys)
    assert code == 0
    assert "not estimable" in said and "0.00 " not in said.split("- os")[0].split("500.0")[1]
    assert "- os: blinatumomab not estimable beyond the last follow-up (88.39 months)" in said
    table = pd.read_csv(out / "landmarks.csv", keep_default_na=False)
    beyond = table[table["landmark"] == 500.0]
    assert (beyond["estimate"] == "").all()  # no number written
    assert beyond["note"].str.startswith("not estimable beyond the last follow-up").all()
    assert (table.loc[table["landmark"] == 12.0, "note"] == "").all()


# --- output location ------------------------------------------------------------------------


def writing_commands(tmp_path: Path, out: Path) -> list[list]:
    return [
        ["reference", COHORT, "--arms", ARMS, "--out", out],
        ["reconstruct", PUBLISHED, "--seed", "1", "--ensemble", "2", "--out", out],
        ["run", minimal_spec(tmp_path), "--out", out],
        ["plan", ROOT / "models" / "cao2025_plan.toml", "--out", out],
        ["sbc", "--models", "piecewise_exponential", "--n-sims", "10", "--out", out],
    ]


def test_an_out_that_is_a_file_is_exit_2_for_every_writing_command(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "notes.txt"
    out.write_text("the user's notes")
    for argv in writing_commands(tmp_path, out):
        before = tree(tmp_path)
        code, _, err = call(argv, capsys)
        assert code == 2, argv
        assert f"{out}: is an existing file, not a folder" in err, err
        assert tree(tmp_path) == before and out.read_text() == "the user's notes"
    code, _, err = call(["reconstruct", PUBLISHED, "--seed", "1", "--out", tmp_path], capsys)
    assert code == 2 and "is an existing folder; expected a file name" in err


def test_an_out_whose_parent_cannot_be_written_is_exit_2_before_any_work(tmp_path, monkeypatch,
                                                                        capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real(p, mode))
    for argv in writing_commands(tmp_path, locked / "out"):
        code, _, err = call(argv, capsys)
        assert code == 2, argv
        assert f"cannot write in {locked} (permission denied or a read-only drive)" in err
    assert list(locked.iterdir()) == []


def test_an_out_holding_other_files_is_not_replaced(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.docx").write_text("x")
    code, _, err = call(["reference", COHORT, "--arms", ARMS, "--out", folder], capsys)
    assert code == 2 and "not an earlier bridgebayes output" in err
    assert tree(folder) == ["thesis.docx"]


# --- validate agrees with run on the published figures -----------------------------------------


@pytest.mark.parametrize(("change", "pattern"), [
    (("p_value = 0.862", "p_value = 2.0"), r"key 'survival.os.p_value': expected a number in "
                                           r"\[0.0, 1.0\], got 2.0"),
    (("blinatumomab", "blina"),
     r"key 'data.published': its arms \['blina', 'CAR-T'\] differ from the spec's arms"),
])
def test_validate_and_run_reject_a_bad_published_file_alike(tmp_path, capsys, change, pattern):
    published = tmp_path / "published.toml"
    text = PUBLISHED.read_text()
    assert change[0] in text
    published.write_text(text.replace(*change))
    spec = minimal_spec(tmp_path, published=published)
    before = tree(tmp_path)
    code, _, err = call(["validate", spec], capsys)
    assert code == 2 and re.search(pattern, err), err
    code, _, err = call(["run", spec, "--out", tmp_path / "report"], capsys)
    assert code == 2 and re.search(pattern, err), err
    assert tree(tmp_path) == before


def test_validate_names_an_unreadable_spec(tmp_path, capsys):
    spec = tmp_path / "study.toml"
    spec.write_bytes("[analysis]\nid = 'study'\n".encode("utf-16"))
    code, _, err = call(["validate", spec], capsys)
    assert code == 2 and f"{spec}: the TOML file is UTF-16 text; re-save it as UTF-8" in err


# --- Ctrl-C -------------------------------------------------------------------------------------


def test_ctrl_c_is_one_line_exit_130_and_leaves_nothing_half_written(tmp_path):
    """A real SIGINT while `reference --out` is inside its staging folder."""
    out = tmp_path / "ref"
    script = textwrap.dedent(f"""
        import os, signal, sys
        import bridgebayes.cli.commands as commands
        import bridgebayes.core.io as io
        def interrupt(data):  # called inside the staging folder, after the CSVs are written
            os.kill(os.getpid(), signal.SIGINT)
            raise AssertionError("not interrupted")
        io.json_text = interrupt  # the command imports it when it runs
        sys.exit(commands.main(["reference", {str(COHORT)!r}, "--arms", {ARMS!r},
                                "--out", {str(out)!r}]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 130
    assert done.stderr == "bridgebayes: interrupted; rerun to continue\n"
    assert tree(tmp_path) == []  # no output, no staging folder


def test_ctrl_c_during_run_counts_the_finished_fits(tmp_path, monkeypatch, capsys):
    import bridgebayes.run.pipeline as pipeline

    cache = tmp_path / "report" / STORE_FOLDER
    cache.mkdir(parents=True)
    for name in ("os__weibull__neutral.nc", "pfs__weibull__neutral.nc"):
        (cache / name).write_bytes(b"finished")
    (cache / ".grfs__weibull__neutral.nc.tmp").write_bytes(b"half")  # not a finished fit

    def interrupted(*_, **__):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises here
        raise AssertionError("not interrupted")

    monkeypatch.setattr(pipeline, "run", interrupted)
    previous = signal.getsignal(signal.SIGINT)
    code = main(["run", str(tmp_path / "study.toml"), "--out", str(tmp_path / "report")])
    assert code == 130
    assert capsys.readouterr().err == ("bridgebayes: interrupted; 2 finished fits kept, rerun "
                                       "to continue\n")
    assert signal.getsignal(signal.SIGINT) is previous  # the command's handler is removed


def test_a_keyboard_interrupt_is_reported_alike(tmp_path, monkeypatch, capsys):
    import bridgebayes.reference.analysis as analysis

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(analysis, "reference_analysis", interrupted)
    code = main(["reference", str(COHORT), "--arms", ARMS])
    assert code == 130
    assert capsys.readouterr().err == "bridgebayes: interrupted; rerun to continue\n"


@pytest.mark.slow
def test_ctrl_c_during_sampling_keeps_no_partial_posterior(repo_root, tmp_path):
    """nutpie returns the draws so far on KeyboardInterrupt; the command's own exception
    passes through it, so nothing of the interrupted fit is cached or written."""
    from specs import small_seed_spec

    spec = small_seed_spec(repo_root, tmp_path)
    spec.write_text(spec.read_text().replace("draws = 500", "draws = 400000"))
    out = tmp_path / "report"
    cache = out / STORE_FOLDER
    code = f"import sys; from bridgebayes.cli import main; sys.exit(main(['run', " \
           f"{str(spec)!r}, '--out', {str(out)!r}]))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(40)  # imports, reference analysis, compile: then sampling for minutes
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == ("bridgebayes: interrupted; 0 finished fits kept, "
                                            "rerun to continue")
    assert "Traceback" not in err
    assert not list(cache.glob("*.nc")) and list(out.iterdir()) in ([], [cache])
    assert not list(tmp_path.glob(".report.staging-*"))
