"""Pre-specified analyses: ``models/<id>.toml`` → a validated :class:`Spec`.

Validation is strict and happens before anything is computed: unknown or
misspelled keys, wrong types, impossible values and missing files raise
:class:`~bridgebayes.errors.SpecError` naming the file, the key and what was
expected.  The spec's SHA-256 is stored with every result.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bridgebayes.errors import SpecError
from bridgebayes.units import MONTHS_PER

__all__ = ["Spec", "load_spec"]

SCHEMA = {
    "analysis": {"id": str, "title": str},
    "data": {"cohort": str, "published": str, "time_unit": str, "reconstructed": bool},
    "arms": {"reference": str, "treatment": str},
    "reference": {"landmarks": list},
}
REQUIRED = {"analysis": {"id"}, "data": {"cohort"}, "arms": {"reference", "treatment"}}


@dataclass(frozen=True)
class Spec:
    """A validated analysis specification."""

    path: Path
    sha256: str
    id: str
    title: str
    cohort: Path
    published: Path | None
    time_unit: str
    reconstructed: bool
    arms: tuple[str, str]
    landmarks: tuple[float, ...]


def _err(path: Path, key: str, expected: str, got: object = "<missing>") -> SpecError:
    return SpecError(f"{path}: key {key!r}: expected {expected}, got {got!r}")


def _check_schema(path: Path, doc: dict) -> None:
    unknown = sorted(set(doc) - set(SCHEMA))
    if unknown:
        raise SpecError(f"{path}: unknown section(s) {unknown}; allowed: {sorted(SCHEMA)}")
    for section, keys in SCHEMA.items():
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise _err(path, section, "a table", table)
        for key in sorted(set(table) - set(keys)):
            raise SpecError(f"{path}: unknown key {section}.{key!r}; allowed: {sorted(keys)}")
        for key in REQUIRED.get(section, ()):
            if key not in table:
                raise _err(path, f"{section}.{key}", keys[key].__name__)
        for key, value in table.items():
            if not isinstance(value, keys[key]) or (keys[key] is str and not value.strip()):
                raise _err(path, f"{section}.{key}", f"a non-empty {keys[key].__name__}", value)


def _existing(path: Path, key: str, relative: str) -> Path:
    target = (path.parent / relative).resolve()
    if not target.is_file():
        raise _err(path, key, "an existing file (relative to the spec)", relative)
    return target


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Load and validate a spec file; nothing is computed.

    Parameters
    ----------
    path
        ``models/<id>.toml``.

    Returns
    -------
    Spec

    Raises
    ------
    bridgebayes.errors.SpecError
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: file not found")
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    _check_schema(path, doc)
    analysis, data, arms = doc["analysis"], doc["data"], doc["arms"]
    if analysis["id"] != path.stem:
        raise _err(path, "analysis.id", f"the file name {path.stem!r}", analysis["id"])
    unit = data.get("time_unit", "months")
    if unit not in MONTHS_PER:
        raise _err(path, "data.time_unit", f"one of {sorted(MONTHS_PER)}", unit)
    if arms["reference"] == arms["treatment"]:
        raise _err(path, "arms.treatment", "a label different from arms.reference",
                   arms["treatment"])
    landmarks = doc.get("reference", {}).get("landmarks", [12.0, 24.0])
    if not landmarks or not all(isinstance(x, int | float) and not isinstance(x, bool) and x > 0
                                for x in landmarks):
        raise _err(path, "reference.landmarks", "a non-empty list of positive numbers (months)",
                   landmarks)
    published = data.get("published")
    return Spec(
        path=path, sha256=hashlib.sha256(raw).hexdigest(), id=analysis["id"],
        title=analysis.get("title", analysis["id"]),
        cohort=_existing(path, "data.cohort", data["cohort"]),
        published=None if published is None else _existing(path, "data.published", published),
        time_unit=unit, reconstructed=data.get("reconstructed", False),
        arms=(arms["reference"], arms["treatment"]),
        landmarks=tuple(float(x) for x in landmarks),
    )
