"""Provenance stored with every result: versions, seed, settings and input hashes."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

__all__ = ["file_sha256", "package_version", "versions"]

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


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
