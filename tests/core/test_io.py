"""Atomic outputs: staged folders appear at once; a killed run's staging folder is cleaned up."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from bridgebayes.core.io import staged_folder


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


def dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_staging_folders_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    host = socket.gethostname()
    stale = tmp_path / f".report.staging-{host}-{dead_pid()}-abc"
    live = tmp_path / f".report.staging-{host}-{os.getppid()}-def"  # our parent is running
    elsewhere = tmp_path / f".report.staging-another-host-{dead_pid()}-ghi"  # not ours to judge
    other = tmp_path / ".report.posteriors"
    for folder in (stale, live, elsewhere, other):
        folder.mkdir()
    with staged_folder(tmp_path / "report") as tmp:
        assert tmp.name.startswith(f".report.staging-{host}-{os.getpid()}-")
    assert not stale.exists()
    assert live.exists() and elsewhere.exists() and other.exists()


def test_a_kill_between_the_renames_brings_the_previous_output_back(tmp_path):
    old = tmp_path / ".report.old"  # what a kill after "target -> .old" leaves
    old.mkdir()
    (old / "results.json").write_text("previous")
    with staged_folder(tmp_path / "report") as tmp:
        assert (tmp_path / "report" / "results.json").read_text() == "previous"
        (tmp / "results.json").write_text("new")
    assert (tmp_path / "report" / "results.json").read_text() == "new"
    assert not old.exists()


def test_a_failed_final_rename_keeps_the_previous_output(tmp_path):
    target = tmp_path / "report"
    with staged_folder(target) as tmp:
        (tmp / "results.json").write_text("first")
    with pytest.raises(OSError), staged_folder(target) as tmp:
        shutil.rmtree(tmp)  # the final rename has nothing to move
    assert (target / "results.json").read_text() == "first"


def test_a_kept_subfolder_moves_into_the_new_output(tmp_path):
    target = tmp_path / "report"
    (target / ".cache").mkdir(parents=True)
    (target / ".cache" / "fit.nc").write_bytes(b"draws")
    (target / "results.json").write_text("old")
    inode = (target / ".cache" / "fit.nc").stat().st_ino
    with staged_folder(target, keep=(".cache",)) as tmp:
        (tmp / "results.json").write_text("new")
    assert (target / "results.json").read_text() == "new"
    assert (target / ".cache" / "fit.nc").read_bytes() == b"draws"
    assert (target / ".cache" / "fit.nc").stat().st_ino == inode  # moved, not copied
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    with pytest.raises(RuntimeError), staged_folder(target, keep=(".cache",)) as tmp:
        raise RuntimeError("interrupted")
    assert (target / "results.json").read_text() == "new"
    assert (target / ".cache" / "fit.nc").read_bytes() == b"draws"


def test_a_kept_subfolder_in_a_dead_staging_folder_goes_back(tmp_path):
    """A kill between moving the store into the staging folder and the final rename: the
    next run puts the store back before removing the stale folder."""
    host = socket.gethostname()
    stale = tmp_path / f".report.staging-{host}-{dead_pid()}-abc"
    (stale / ".cache").mkdir(parents=True)
    (stale / ".cache" / "fit.nc").write_bytes(b"draws")
    (stale / "results.json").write_text("half")
    with staged_folder(tmp_path / "report", keep=(".cache",)) as tmp:
        (tmp / "results.json").write_text("new")
    assert not stale.exists()
    assert (tmp_path / "report" / ".cache" / "fit.nc").read_bytes() == b"draws"
    assert (tmp_path / "report" / "results.json").read_text() == "new"
