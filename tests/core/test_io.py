"""Atomic outputs: staged folders appear at once; a killed run's staging folder is cleaned up;
the output location is checked before any work; files and folders follow the umask."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.io import (
    OUTPUT_MARKER,
    atomic_write_text,
    check_output_file,
    check_output_folder,
    staged_folder,
)


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


# --- output location: checked before any work; a file is never moved aside -----------------


def test_an_existing_file_is_not_an_output_folder_and_is_never_moved_aside(tmp_path):
    target = tmp_path / "report"
    target.write_text("the user's notes")
    with pytest.raises(BridgeBayesError, match=re.escape(f"--out {target}: is an existing "
                                                         "file, not a folder")):
        check_output_folder(target)
    with pytest.raises(BridgeBayesError, match=r"is an existing file"), staged_folder(target):
        pass
    assert target.read_text() == "the user's notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_a_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "notes").write_text("x")
    with pytest.raises(BridgeBayesError, match=re.escape(f"--out {tmp_path}/notes/a/b: "
                                                         f"{tmp_path}/notes is a file")):
        check_output_folder(tmp_path / "notes" / "a" / "b")
    with pytest.raises(BridgeBayesError, match=r"notes is a file"):
        check_output_file(tmp_path / "notes" / "cohort.csv")


def test_a_folder_is_not_an_output_file(tmp_path):
    with pytest.raises(BridgeBayesError, match=r"is an existing folder; expected a file name"):
        check_output_file(tmp_path)
    assert check_output_file(tmp_path / "new" / "cohort.csv") == tmp_path / "new" / "cohort.csv"


def test_a_parent_that_cannot_be_written_is_refused_before_anything_is_created(tmp_path,
                                                                              monkeypatch):
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: the check sees what os.access says
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != parent and real(p, mode))
        with pytest.raises(BridgeBayesError, match=re.escape(f"--out {parent}/new/report: "
                                                             f"cannot write in {parent} ")):
            check_output_folder(parent / "new" / "report")
        with pytest.raises(BridgeBayesError, match=r"cannot write in"):
            check_output_file(parent / "cohort.csv")
    finally:
        parent.chmod(0o755)
    assert list(parent.iterdir()) == []


def test_a_staging_folder_that_cannot_be_created_is_a_named_error(tmp_path, monkeypatch):
    def refuse(**_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(BridgeBayesError, match=r"output folder .*report: cannot be created "
                                               r"\(Permission denied\)"), \
            staged_folder(tmp_path / "report"):
        pass


def test_a_folder_with_other_content_or_the_working_folder_is_not_replaced(tmp_path,
                                                                           monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "cohort.csv").write_text("precious")
    with pytest.raises(BridgeBayesError, match=r"is a folder with other content, not an "
                                               r"earlier bridgebayes output"):
        check_output_folder(data)
    assert check_output_folder(data, replace=False) == data  # added to, not replaced
    monkeypatch.chdir(data)
    for out in (data, tmp_path):
        with pytest.raises(BridgeBayesError, match=r"is the working folder or holds it"):
            check_output_folder(out)
    assert (data / "cohort.csv").read_text() == "precious"


def test_empty_folders_and_earlier_outputs_may_be_replaced(tmp_path):
    empty, earlier, marked = tmp_path / "empty", tmp_path / "earlier", tmp_path / "marked"
    for folder in (empty, earlier, marked):
        folder.mkdir()
    (earlier / "results.json").write_text("{}")  # written before the marker existed
    with staged_folder(marked) as tmp:
        (tmp / "x.csv").write_text("1")
    assert (marked / OUTPUT_MARKER).is_file()
    for folder in (empty, earlier, marked):
        assert check_output_folder(folder) == folder


def test_folders_and_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with staged_folder(tmp_path / "report") as tmp:
            (tmp / "tables").mkdir()
        written = atomic_write_text(tmp_path / "report" / "tables" / "a.csv", "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report").stat().st_mode) == 0o750  # mkdtemp gives 0700
    assert stat.S_IMODE(written.stat().st_mode) == 0o640  # mkstemp gives 0600


def test_ctrl_c_inside_a_staged_folder_leaves_the_previous_output_and_no_sibling(tmp_path):
    target = tmp_path / "report"
    with staged_folder(target) as tmp:
        (tmp / "results.json").write_text("first")
    with pytest.raises(KeyboardInterrupt), staged_folder(target) as tmp:
        (tmp / "results.json").write_text("half")
        raise KeyboardInterrupt
    assert (target / "results.json").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
