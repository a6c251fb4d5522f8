"""Property-based fuzzing of the loaders with mutated copies of the shipped files.

Whatever the mutation, ``load_cohort``, ``load_survival_table`` and ``load_published``
either load (and then every time is a plain number of the file, read exactly; every
published figure is in range) or raise the loader's BridgeBayesError whose message starts
with the file - never another exception, never a warning other than CohortWarning.  A few
hundred examples in the default suite (deterministic), ten times more with ``-m slow``.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from fuzzing import (
    FAST,
    SLOW,
    assert_read_exactly,
    mutated_csv,
    mutated_published,
    profile,
    reread,
)
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from bridgebayes.core.errors import CohortError, PublishedSummaryError
from bridgebayes.data.cohort import CohortWarning, load_cohort
from bridgebayes.data.survival_table import load_survival_table
from bridgebayes.reconstruct.published import load_published

DATA = Path(__file__).resolve().parents[2] / "data" / "cao2025"
COHORT_TEXT = (DATA / "cohort.csv").read_text()
PUBLISHED_TEXT = (DATA / "published.toml").read_text()
ARMS = ("blinatumomab", "CAR-T")
TIMES = ("followup", "death", "relapse", "agvhd34", "cgvhd_sys")
UNITS = st.sampled_from(["months", "months", "years", "days"])


def one_endpoint_text() -> str:
    """The shipped cohort as a one-endpoint OS table (duration, event, arm)."""
    lines = ["duration,event,arm"]
    for line in COHORT_TEXT.splitlines()[1:]:
        cells = line.split(",")
        lines.append(f"{cells[2]},{int(bool(cells[3]))},{cells[1]}")
    return "\n".join(lines) + "\n"


SURVIVAL_TEXT = one_endpoint_text()


def load_quietly(load, raw: bytes, name: str, **options):
    """``load(path, **options)`` on ``raw`` written to a fresh folder: the result (or the
    exception), and the folder's content afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(raw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any other warning is a finding
            warnings.simplefilter("ignore", CohortWarning)
            try:
                result = load(path, **options)
            except (CohortError, PublishedSummaryError) as exc:
                result = exc
        assert sorted(p.name for p in Path(folder).iterdir()) == [name]  # nothing written
        return path, result


def outcome(result: object, path: Path) -> None:
    """Record what happened (``--hypothesis-show-statistics``)."""
    if not currently_in_test_context():
        return
    if not isinstance(result, Exception):
        event("loaded")
        return
    text = str(result).removeprefix(f"{path}: ")
    event("refused: " + re.sub(r"'[^']*'|\[.*?\]|\(.*?\)|[0-9]+", "…", text)[:60])


def check_cohort(raw: bytes, unit: str) -> None:
    path, result = load_quietly(load_cohort, raw, "cohort.csv", arms=ARMS, time_unit=unit)
    outcome(result, path)
    if isinstance(result, Exception):
        assert str(result).startswith(f"{path}: "), str(result)
        return
    rows = reread(raw)
    assert list(result.table["id"]) == [r["id"].strip() for r in rows]
    assert set(result.table["arm"]) == set(ARMS)
    for column in TIMES:
        assert_read_exactly([r[column] for r in rows], result.table[column].to_numpy(),
                            1.0)  # times keep the file's unit


def check_survival_table(raw: bytes, unit: str) -> None:
    path, result = load_quietly(load_survival_table, raw, "table.csv", arms=ARMS,
                                time_unit=unit)
    outcome(result, path)
    if isinstance(result, Exception):
        assert str(result).startswith(f"{path}: "), str(result)
        return
    rows = reread(raw)
    # times keep the file's unit
    assert_read_exactly([r["duration"] for r in rows], result.time, 1.0)
    assert set(np.unique(result.event)) <= {0, 1}


def check_published(raw: bytes) -> None:
    path, result = load_quietly(load_published, raw, "published.toml")
    outcome(result, path)
    if isinstance(result, Exception):
        assert str(result).startswith(f"{path}: "), str(result)
        return
    assert len(set(result.arms)) == 2 and all(n >= 1 for n in result.n.values())
    assert 0 < result.landmark <= result.followup["max"] <= 1200
    for fig in result.figures:
        assert np.isfinite(fig.target)
        if fig.kind in ("survival", "cumulative_incidence", "p_value"):
            assert 0.0 <= fig.target <= 1.0, fig


COHORTS = st.tuples(mutated_csv(COHORT_TEXT), UNITS)
TABLES = st.tuples(mutated_csv(SURVIVAL_TEXT), UNITS)
PUBLISHED = mutated_published(PUBLISHED_TEXT)


@profile(300, 5000, FAST)
@given(COHORTS)
def test_fuzz_cohort_csv(case):
    check_cohort(*case)


@profile(150, 3000, FAST)
@given(TABLES)
def test_fuzz_one_endpoint_csv(case):
    check_survival_table(*case)


@profile(300, 5000, FAST)
@given(PUBLISHED)
def test_fuzz_published_toml(raw):
    check_published(raw)


@pytest.mark.slow
@profile(300, 5000, SLOW)
@given(COHORTS)
def test_fuzz_cohort_csv_slow(case):
    check_cohort(*case)


@pytest.mark.slow
@profile(150, 3000, SLOW)
@given(TABLES)
def test_fuzz_one_endpoint_csv_slow(case):
    check_survival_table(*case)


@pytest.mark.slow
@profile(300, 5000, SLOW)
@given(PUBLISHED)
def test_fuzz_published_toml_slow(raw):
    check_published(raw)


def test_the_unmutated_files_load():
    check_cohort(COHORT_TEXT.encode(), "months")
    check_survival_table(SURVIVAL_TEXT.encode(), "months")
    check_published(PUBLISHED_TEXT.encode())
    assert not isinstance(load_quietly(load_cohort, COHORT_TEXT.encode(), "c.csv",
                                       arms=ARMS)[1], Exception)
