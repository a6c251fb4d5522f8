"""File input/output: atomic writes (a result is either absent or complete, never
half-written), staged output folders, NaN-free JSON, and checked TOML reading."""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import socket
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_with", "json_text",
           "read_toml", "staged_folder"]


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


class staged_folder:  # lower case: used like ``open``
    """Write a folder's content into a temporary sibling, renamed over ``target`` at the end.

    An exception (or a kill) before the end leaves ``target`` as it was: a reader never
    sees a half-written output folder that looks complete.

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
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if not self.target.exists() and self.old.exists():  # killed between the two renames
            self.old.rename(self.target)  # the previous, complete output comes back
        self._remove_stale()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.prefix}{os.getpid()}-",
                                         dir=self.target.parent))
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
        had_old = self.target.exists()
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


def read_toml(path: str | os.PathLike[str], error: type[Exception]) -> tuple[bytes, dict]:
    """The raw bytes (for hashing) and the parsed table of a TOML file.

    A missing file or invalid TOML raises ``error`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found")
    raw = path.read_bytes()
    try:
        return raw, tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
