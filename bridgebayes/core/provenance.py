"""Provenance stored with every result: versions, seed, settings and input hashes."""

from __future__ import annotations

import hashlib
import platform
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = ["code_version", "file_sha256", "package_version", "tree_digest", "versions"]

#: The package's own files that decide what it computes and shows (code, templates, schema).
CODE_SUFFIXES = (".py", ".j2", ".css", ".json")

PACKAGES = ("bridgebayes", "numpy", "pandas", "scipy", "lifelines", "pymc", "pytensor",
            "nutpie", "arviz")


def versions() -> dict[str, str]:
    """Python and key package versions (read from metadata, nothing imported)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def package_version() -> str:
    """The bridgebayes version (part of every store key and of a run's fingerprint)."""
    try:
        return metadata.version("bridgebayes")
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree
        return "0+unknown"


@cache
def code_version() -> str:
    """What every computed result depends on besides its inputs: the bridgebayes version, a
    digest of the package's own files (so an edited source tree never serves results of
    the old code under an unchanged version number) and the versions of the packages that
    compute (PyMC, nutpie, ...), e.g. ``"0.1.0+3f2a..."``.  Part of every store key and of a
    run's fingerprint.  Reads file bytes and package metadata only: no heavy import."""
    h = hashlib.sha256(tree_digest(Path(__file__).resolve().parents[1]).encode())
    h.update(repr(sorted(versions().items())).encode())
    return f"{package_version()}+{h.hexdigest()[:16]}"


def tree_digest(root: Path) -> str:
    """SHA-256 of the names and bytes of the code files (:data:`CODE_SUFFIXES`) under
    ``root``, compiled caches excluded."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in CODE_SUFFIXES
                       and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
