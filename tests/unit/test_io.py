"""Atomic outputs: staged folders appear at once; a killed run's staging folder is cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bridgebayes.io import staged_folder


def test_staged_folder_replaces_the_target_at_once(tmp_path):
    target = tmp_path / "report"
    with staged_folder(target) as tmp:
        (tmp / "results.json").write_text("{}")
        assert not target.exists()
    assert (target / "results.json").read_text() == "{}"
    with pytest.raises(RuntimeError), staged_folder(target) as tmp:
        (tmp / "results.json").write_text("half")
        raise RuntimeError("interrupted")
    assert (target / "results.json").read_text() == "{}"  # the old result is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_staging_folders_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".report.staging-{int(dead.stdout)}-abc"
    live = tmp_path / f".report.staging-{os.getppid()}-def"  # our parent is running
    other = tmp_path / ".report.posteriors"
    for folder in (stale, live, other):
        folder.mkdir()
    with staged_folder(tmp_path / "report") as tmp:
        assert tmp.name.startswith(f".report.staging-{os.getpid()}-")
    assert not stale.exists() and live.exists() and other.exists()
