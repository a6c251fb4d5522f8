"""File output: atomic writes (a result is either absent or complete, never half-written),
staged output folders, the check of an output location before any work, NaN-free JSON.

Files and folders are created with the user's umask (as ``open`` and ``mkdir`` would),
not the owner-only modes of :mod:`tempfile`.  Reading is in :mod:`bridgebayes.core.readers`.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.readers import read_toml  # re-exported: it lived here before

__all__ = [
    "OUTPUT_MARKER",
    "STORE_FOLDER",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_with",
    "check_output_file",
    "check_output_folder",
    "json_text",
    "read_toml",
    "staged_folder",
]

#: Hidden file in every staged output folder: the folder is bridgebayes' to replace.
OUTPUT_MARKER = ".bridgebayes-output"
#: Files that mark an output folder written before :data:`OUTPUT_MARKER` existed.
_EARLIER_OUTPUTS = ("results.json", "landmarks.csv", "plan.json")
#: The store of a run inside its output folder (kept across runs: ``staged_folder(keep=)``).
STORE_FOLDER = ".bridgebayes-cache"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The temporary file is flushed, fsync'ed and renamed over ``path``
    (``os.replace`` is atomic on POSIX), so an interrupted write leaves the old
    file, or none, but never a truncated one.

    Parameters
    ----------
    path
        Destination file; its parent folder is created if needed.
    data
        Bytes to write.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file follows the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Write a file with ``write(temporary_path)`` (e.g. a NetCDF writer), then fsync and
    rename it over ``path``: an interrupted write leaves the old file, or none."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line endings) atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _clean(value):
    """JSON has no NaN or infinity: NaN -> null, ±inf -> "inf"/"-inf"."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def json_text(data: dict) -> str:
    """Indented, key-sorted JSON without NaN/infinity (NaN → null, ±inf → "inf"/"-inf")."""
    return json.dumps(_clean(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_parent(path: Path, what: str) -> None:
    """The folder that will hold ``path`` exists or can be created, and is writable."""
    anchor = _nearest_existing(path.parent)
    if not anchor.is_dir():
        raise BridgeBayesError(f"{what} {path}: {anchor} is a file, so no folder can be "
                               "created there")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise BridgeBayesError(f"{what} {path}: cannot write in {anchor} (permission denied "
                               "or a read-only drive); choose another location")


def check_output_file(path: str | os.PathLike[str], *, what: str = "--out") -> Path:
    """Raise unless ``path`` can be written as a file: not a folder, in a writable place.

    Call it before any expensive work.  Nothing is created.

    Raises
    ------
    bridgebayes.core.errors.BridgeBayesError
        Naming ``what`` (the option) and the path.

    Examples
    --------
    >>> check_output_file("reconstructions/cohort.csv")  # doctest: +SKIP
    PosixPath('reconstructions/cohort.csv')
    """
    path = Path(path)
    if path.is_dir():
        raise BridgeBayesError(f"{what} {path}: is an existing folder; expected a file name")
    _check_parent(path, what)
    return path


def check_output_folder(out: str | os.PathLike[str], *, what: str = "--out",
                        replace: bool = True) -> Path:
    """Raise unless ``out`` can be written as an output folder; nothing is created.

    Refused: an existing file; a location under a file or in a folder that is not
    writable; and, when the folder is to be replaced as a whole (``replace``, as
    :class:`staged_folder` does), an existing non-empty folder that is not an earlier
    bridgebayes output, or that holds the working directory.  Call it before any
    expensive work.

    Raises
    ------
    bridgebayes.core.errors.BridgeBayesError
        Naming ``what`` (the option) and the path.

    Examples
    --------
    >>> check_output_folder("reports/cao2025")  # doctest: +SKIP
    PosixPath('reports/cao2025')
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BridgeBayesError(f"{what} {out}: is an existing file, not a folder; choose a "
                               "folder name (or move the file away)")
    _check_parent(out, what)
    if replace and out.is_dir():
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:
            raise BridgeBayesError(f"{what} {out}: is the working folder or holds it; the "
                                   "output folder is replaced as a whole, choose a new one")
        earlier = (out / OUTPUT_MARKER).is_file() or any(
            (out / name).is_file() for name in _EARLIER_OUTPUTS) or {
            p.name for p in out.iterdir()} <= {STORE_FOLDER}
        if not earlier and any(out.iterdir()):
            raise BridgeBayesError(f"{what} {out}: is a folder with other content, not an "
                                   "earlier bridgebayes output; it would be replaced as a "
                                   "whole, so choose a new or empty folder")
    return out


class staged_folder:  # lower case: used like ``open``
    """Write a folder's content into a temporary sibling, renamed over ``target`` at the end.

    An exception (or a kill) before the end leaves ``target`` as it was: a reader never
    sees a half-written output folder that looks complete.  The sibling is hidden
    (``.<name>.staging-<host>-<pid>-*``) and removed on failure; staging folders of killed
    processes are removed by the next use.  ``target`` is checked by
    :func:`check_output_folder` first: a regular file is never moved aside.  The folder
    gets the user's umask and holds :data:`OUTPUT_MARKER`.

    Examples
    --------
    >>> with staged_folder(Path("reports/x")) as tmp:  # doctest: +SKIP
    ...     (tmp / "results.json").write_text("{}")
    """

    def __init__(self, target: Path, *, keep: tuple[str, ...] = ()) -> None:
        self.target = Path(target)
        self.keep = tuple(keep)
        self.old = self.target.with_name(f".{self.target.name}.old")
        self.prefix = f".{self.target.name}.staging-{socket.gethostname()}-"

    def __enter__(self) -> Path:
        if not self.target.exists() and self.old.is_dir():  # killed between the two renames
            self.old.rename(self.target)  # the previous, complete output comes back
        check_output_folder(self.target, what="output folder")
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._remove_stale()
            self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.prefix}{os.getpid()}-",
                                             dir=self.target.parent))
            os.chmod(self.tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
            (self.tmp / OUTPUT_MARKER).write_text(
                "Written by bridgebayes; the next run replaces this folder as a whole.\n")
        except OSError as exc:
            raise BridgeBayesError(f"output folder {self.target}: cannot be created "
                                   f"({exc.strerror or exc})") from None
        return self.tmp

    def _remove_stale(self) -> None:
        """Remove staging folders of this target left by processes of this host that no
        longer run (a killed run); a kept subfolder (the store) found in one goes back into
        the target first.  Folders of running processes, or of other hosts sharing the
        drive, are left alone."""
        for folder in self.target.parent.glob(glob.escape(self.prefix) + "*"):
            pid = folder.name.removeprefix(self.prefix).split("-", 1)[0]
            if pid.isdigit() and not _running(int(pid)):
                for name in self.keep:
                    if (folder / name).is_dir() and not (self.target / name).exists():
                        self.target.mkdir(parents=True, exist_ok=True)
                        (folder / name).rename(self.target / name)
                shutil.rmtree(folder, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        had_old = self.target.is_dir()
        for name in self.keep:  # carried over (e.g. the store): moved, not copied
            if (self.target / name).exists() and not (self.tmp / name).exists():
                (self.target / name).rename(self.tmp / name)
        if had_old:
            shutil.rmtree(self.old, ignore_errors=True)
            self.target.rename(self.old)
        try:
            self.tmp.rename(self.target)
        except OSError:
            if had_old:  # put the previous output back before reporting the failure
                self.old.rename(self.target)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        if had_old:
            shutil.rmtree(self.old, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (POSIX: signal 0 checks without
    signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
