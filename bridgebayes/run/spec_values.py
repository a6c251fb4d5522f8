"""Checked values of a spec: times with units, numbers, names, files, the ``[priors]`` tables
(with the key named)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from bridgebayes.core.errors import SpecError
from bridgebayes.core.readers import read_json
from bridgebayes.core.units import UNITS, convert

__all__ = ["ensemble_members", "existing_file", "key_error", "names", "numbers", "prior_tables",
           "time_value", "times"]

_TIME_TEXT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s+(days?|weeks?|months?|years?)\s*$")


def key_error(path: Path, key: str, expected: str, got: object = "<missing>") -> SpecError:
    return SpecError(f"{path}: key {key!r}: expected {expected}, got {got!r}")


def existing_file(path: Path, key: str, relative: str) -> Path:
    target = (path.parent / relative).resolve()
    if not target.is_file():
        raise key_error(path, key, "an existing file (relative to the spec)", relative)
    return target


def ensemble_members(path: Path, relative: str) -> tuple[Path, ...]:
    """Member cohorts of an ensemble folder written by ``bridgebayes reconstruct --ensemble``.

    A member is ``member_XX/cohort.csv`` with its ``provenance.json`` (written last, so its
    absence marks an interrupted member) recording that every required figure was matched.
    """
    folder = (path.parent / relative).resolve()
    key = "data.ensemble"
    if not folder.is_dir():
        raise key_error(path, key, "an existing folder (relative to the spec)", relative)
    members = sorted((p for p in folder.glob("member_*") if p.is_dir()),
                     key=lambda p: (len(p.name), p.name))  # member_100 after member_99
    if not members:
        raise key_error(path, key, "a folder of ensemble members member_XX/ (from `bridgebayes "
                   "reconstruct --ensemble K --out FOLDER`)", f"{relative} with no member_*")
    incomplete = [m.name for m in members
                  if not ((m / "cohort.csv").is_file() and (m / "provenance.json").is_file())]
    if incomplete:
        raise key_error(path, key, "complete members (cohort.csv and provenance.json; re-run the "
                   "reconstruct command to finish them)", f"incomplete {incomplete}")
    failed = []
    for member in members:
        try:
            record = read_json(member / "provenance.json", error=SpecError)
        except SpecError:
            record = None
        if not isinstance(record, dict) or record.get("converged") is not True:
            failed.append(member.name)
    if failed:
        raise key_error(path, key, "members that reproduce every required published figure "
                   "(provenance.json: converged = true)", f"not converged {failed}")
    return tuple(m / "cohort.csv" for m in members)


def time_value(path: Path, key: str, value: object, unit: str) -> float:
    """A time in the data's unit: a number (already in it) or ``"<number> <unit>"``.

    Examples
    --------
    >>> time_value(Path("s.toml"), "bayes.rmst_tau", "2 years", "months")
    24.0
    """
    if isinstance(value, str):
        match = _TIME_TEXT.match(value)
        if not match:
            raise key_error(path, key, f"a number (in {unit}) or '<number> <unit>' with a unit of "
                       f"{list(UNITS)}", value)
        number, source = float(match.group(1)), match.group(2)
        source = source if source.endswith("s") else source + "s"
        result = convert(number, source=source, target=unit)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        raise key_error(path, key, f"a time (a number in {unit}, or '<number> <unit>')", value)
    if not (math.isfinite(result) and result > 0):
        raise key_error(path, key, "a finite time > 0", value)
    return result


def times(path: Path, key: str, values: list, unit: str) -> tuple[float, ...]:
    if not values:
        raise key_error(path, key, "a non-empty list of times", values)
    out = tuple(time_value(path, f"{key}[{i}]", x, unit) for i, x in enumerate(values))
    if len(set(out)) < len(out):
        raise key_error(path, key, "distinct times", values)
    return tuple(sorted(out))


def numbers(path: Path, key: str, values: list, *, positive: bool = False,
            allow_empty: bool = False) -> tuple[float, ...]:
    """Finite, distinct numbers (``> 0`` if ``positive``) of a list, or a SpecError."""
    if not values and not allow_empty:
        raise key_error(path, key, "a non-empty list of numbers", values)
    ok = all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
             and (x > 0 or not positive) for x in values)
    if not ok:
        raise key_error(path, key, "a list of finite numbers" + (" > 0" if positive else ""),
                        values)
    if len(set(values)) < len(values):
        raise key_error(path, key, "distinct numbers", values)
    return tuple(float(x) for x in values)


def names(path: Path, key: str, values: list, allowed: list[str] | None = None,
          what: str = "names") -> tuple[str, ...]:
    """Distinct names of a list, each among ``allowed`` if given, or a SpecError."""
    if not values or not all(isinstance(x, str) and x for x in values):
        raise key_error(path, key, f"a non-empty list of {what}", values)
    if len(set(values)) < len(values):
        dup = sorted({x for x in values if values.count(x) > 1})
        raise key_error(path, key, f"distinct {what} (listed twice: {dup})", values)
    if allowed is not None and (bad := [x for x in values if x not in allowed]):
        raise key_error(path, key, f"{what} from {allowed}", bad)
    return tuple(values)


_PRIOR_KEYS = {"Normal": ("dist", "mu", "sigma", "meaning", "source"),
               "NormalMixture": ("dist", "mu", "sigma", "vague_weight", "vague_mu",
                                 "vague_sigma", "meaning", "source")}


def prior_tables(path: Path, tables: dict) -> dict[str, dict[str, Any]]:
    """``[priors.<name>]``: a prior on the log HR, ``dist = "Normal"`` (``mu``, ``sigma``) or
    the robust mixture ``dist = "NormalMixture"`` (``(1 - vague_weight) Normal(mu, sigma) +
    vague_weight Normal(vague_mu, vague_sigma)``: ``0 < vague_weight < 1``, ``vague_mu``
    default 0, ``vague_sigma > sigma``), with its ``meaning`` and ``source`` (study-specific
    sets live in the spec)."""
    from bridgebayes.models.priors import Prior

    out = {}
    for name, table in tables.items():
        key = f"priors.{name}"
        if not isinstance(table, dict):
            raise key_error(path, key, "a table dist, mu, sigma, meaning, source", table)
        dist = table.get("dist", "Normal")
        if dist not in _PRIOR_KEYS:
            raise key_error(path, f"{key}.dist", "'Normal' or 'NormalMixture' (the families' "
                            "log-HR prior is a normal or a robust normal mixture)", dist)
        allowed = _PRIOR_KEYS[dist]
        if bad := sorted(set(table) - set(allowed)):
            hint = (" (the vague_* keys need dist = 'NormalMixture')" if dist == "Normal" and any(
                k.startswith("vague_") for k in bad) else "")
            raise key_error(path, key, f"keys {', '.join(allowed)}{hint}", bad)
        try:
            prior = Prior("Normal", {"mu": table.get("mu"), "sigma": table.get("sigma")},
                          where=f"{path}: {key}")
        except SpecError as exc:
            raise SpecError(str(exc)) from None
        entry = {"dist": dist, **dict(prior.kwargs)}
        if dist == "NormalMixture":
            entry |= _vague_component(path, key, table, entry["sigma"])
        out[name] = entry | {"meaning": str(table.get("meaning", "")),
                             "source": str(table.get("source", ""))}
    return out


def _vague_component(path: Path, key: str, table: dict, sigma: float) -> dict[str, float]:
    """``vague_weight`` in (0, 1), ``vague_mu`` (default 0), ``vague_sigma`` > ``sigma``."""
    def number(name: str, value: object, expected: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise key_error(path, f"{key}.{name}", expected, value)
        return float(value)

    weight = number("vague_weight", table.get("vague_weight", "<missing>"),
                    "a number strictly between 0 and 1 (the vague component's prior weight)")
    if not 0.0 < weight < 1.0:
        raise key_error(path, f"{key}.vague_weight", "a number strictly between 0 and 1 (the "
                        "vague component's prior weight)", table["vague_weight"])
    vague_mu = number("vague_mu", table.get("vague_mu", 0.0), "a finite number")
    need = f"a finite number > sigma = {sigma:g} (the vague component is the wider one)"
    vague_sigma = number("vague_sigma", table.get("vague_sigma", "<missing>"), need)
    if not vague_sigma > sigma:
        raise key_error(path, f"{key}.vague_sigma", need, table["vague_sigma"])
    return {"vague_weight": weight, "vague_mu": vague_mu, "vague_sigma": vague_sigma}
