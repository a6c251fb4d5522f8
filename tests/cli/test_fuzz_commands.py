"""Property-based fuzzing of the commands with mutated copies of the shipped cohort and
published figures: ``bridgebayes validate`` and ``bridgebayes reference`` (and, for a few,
``bridgebayes run`` without a [bayes] section) exit 0 or 2, never print a traceback, name a
file in every error, write nothing on exit 2, and ``validate`` agrees with ``run``."""

from __future__ import annotations

import contextlib
import io
import math
import re
import tempfile
from pathlib import Path

import pandas as pd
import pymc  # noqa: F401  (raises the recursion limit on import: before hypothesis runs)
import pytest
from fuzzing import FAST, SLOW, mutated_csv, mutated_published, profile
from hypothesis import event, given
from hypothesis import strategies as st

from bridgebayes.cli.commands import main

DATA = Path(__file__).resolve().parents[2] / "data" / "cao2025"
COHORT_TEXT = (DATA / "cohort.csv").read_text()
PUBLISHED_TEXT = (DATA / "published.toml").read_text()
ARMS = "blinatumomab,CAR-T"
UNITS = st.sampled_from(["months", "months", "years", "days", "weeks"])
#: cohort CSV bytes: the shipped file half the time, else a mutation
COHORTS = st.one_of(st.just(COHORT_TEXT.encode()), mutated_csv(COHORT_TEXT))
PUBLISHED = st.one_of(st.just(PUBLISHED_TEXT.encode()), mutated_published(PUBLISHED_TEXT))
LANDMARKS = st.lists(st.sampled_from(["12", "24", "0.5", "92.21", "100", "500", "1e3", "6.0"]),
                     min_size=1, max_size=3)


def command(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert "Traceback" not in err.getvalue() and "Traceback" not in out.getvalue()
    return code, out.getvalue(), err.getvalue()


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def write_inputs(folder: Path, cohort: bytes, published: bytes, unit: str) -> Path:
    (folder / "cohort.csv").write_bytes(cohort)
    (folder / "published.toml").write_bytes(published)
    spec = folder / "study.toml"
    spec.write_text(f'[analysis]\nid = "study"\n[data]\nformat = "hsct"\nfile = "cohort.csv"\n'
                    f'published = "published.toml"\ntime_unit = "{unit}"\nreconstructed = true\n'
                    f'[arms]\nreference = "blinatumomab"\ntreatment = "CAR-T"\n')
    return spec


def check_error(code: int, err: str, folder: Path, names: tuple[str, ...]) -> None:
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.startswith("bridgebayes: error: "), err
        assert any(str(folder / name) in err for name in names), err
        event("exit 2: " + re.sub(r"'[^']*'|\[.*?\]|\(.*?\)|[0-9]+", "…",
                                  err.split(": ", 3)[-1])[:50])
    else:
        event("exit 0")


def check_validate(cohort: bytes, published: bytes, unit: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        spec = write_inputs(folder, cohort, published, unit)
        before = files(folder)
        code, _, err = command(["validate", str(spec)])
        check_error(code, err, folder, ("cohort.csv", "published.toml", "study.toml"))
        assert files(folder) == before


def check_reference(cohort: bytes, unit: str, landmarks: list[str]) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "cohort.csv").write_bytes(cohort)
        out = folder / "ref"
        code, _, err = command(["--quiet", "reference", str(folder / "cohort.csv"),
                                   "--arms", ARMS, "--time-unit", unit, "--landmarks",
                                   *landmarks, "--out", str(out)])
        if len(set(map(float, landmarks))) < len(landmarks):  # duplicates: an option error
            assert code == 2 and "--landmarks: duplicate" in err and not out.exists()
            return
        check_error(code, err, folder, ("cohort.csv",))
        if code == 2:
            assert files(folder) == ["cohort.csv"]
            return
        assert files(out) == [".bridgebayes-output", "followup.json", "landmarks.csv",
                              "tests.csv"]
        table = pd.read_csv(out / "landmarks.csv", keep_default_na=False)
        for estimate, note in zip(table["estimate"], table["note"], strict=True):
            if note:  # no number where none was computed
                assert estimate == "" and note.startswith("not estimable beyond")
            else:
                assert 0.0 <= float(estimate) <= 1.0 and math.isfinite(float(estimate))


def check_validate_agrees_with_run(cohort: bytes, published: bytes, unit: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        spec = write_inputs(folder, cohort, published, unit)
        before = files(folder)
        valid, _, err_validate = command(["validate", str(spec)])
        ran, _, err_run = command(["--quiet", "run", str(spec), "--out", str(folder / "report")])
        assert (valid == 0) == (ran in (0, 3)), (err_validate, err_run)  # 3: a figure missed
        if ran == 2:
            assert files(folder) == before
        event(f"validate {valid}, run {ran}")


@profile(60, 1000, FAST)
@given(COHORTS, PUBLISHED, UNITS)
def test_fuzz_validate(cohort, published, unit):
    check_validate(cohort, published, unit)


@profile(30, 500, FAST)
@given(COHORTS, UNITS, LANDMARKS)
def test_fuzz_reference(cohort, unit, landmarks):
    check_reference(cohort, unit, landmarks)


@profile(3, 40, FAST)
@given(COHORTS, PUBLISHED, st.just("months"))
def test_fuzz_validate_agrees_with_run(cohort, published, unit):
    check_validate_agrees_with_run(cohort, published, unit)


@pytest.mark.slow
@profile(60, 1000, SLOW)
@given(COHORTS, PUBLISHED, UNITS)
def test_fuzz_validate_slow(cohort, published, unit):
    check_validate(cohort, published, unit)


@pytest.mark.slow
@profile(30, 500, SLOW)
@given(COHORTS, UNITS, LANDMARKS)
def test_fuzz_reference_slow(cohort, unit, landmarks):
    check_reference(cohort, unit, landmarks)


@pytest.mark.slow
@profile(3, 40, SLOW)
@given(COHORTS, PUBLISHED, st.just("months"))
def test_fuzz_validate_agrees_with_run_slow(cohort, published, unit):
    check_validate_agrees_with_run(cohort, published, unit)
