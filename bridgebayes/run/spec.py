"""Pre-specified analyses: ``models/<id>.toml`` → a validated :class:`Spec`.

Validation is strict and happens before anything is computed: unknown or
misspelled keys, wrong types, impossible values and missing files raise
:class:`~bridgebayes.core.errors.SpecError` naming the file, the key and what was
expected.  The spec's SHA-256 is stored with every result.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from bridgebayes.core.errors import SpecError
from bridgebayes.core.readers import read_json, read_toml
from bridgebayes.core.units import MONTHS_PER

__all__ = ["BayesSpec", "CompetingSpec", "SafetySpec", "Spec", "load_spec"]

SCHEMA = {
    "analysis": {"id": str, "title": str},
    "data": {"cohort": str, "published": str, "time_unit": str, "reconstructed": bool,
             "ensemble": str},
    "arms": {"reference": str, "treatment": str},
    "reference": {"landmarks": list},
    "bayes": {"endpoints": list, "families": list, "priors": list, "hr_thresholds": list,
              "rope": list, "landmarks": list, "deltas": list, "rmst_tau": float, "seed": int,
              "n_intervals": int, "chains": int, "draws": int, "tune": int,
              "target_accept": float},
    "competing": {"endpoint": str, "families": list, "priors": list, "deltas": list,
                  "illness_death": bool},
    "safety": {"prior": str, "deltas": list, "engraftment_family": str},
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
    bayes: BayesSpec | None = None
    #: cohort CSVs of the reconstruction ensemble (``data.ensemble``), in member order
    ensemble: tuple[Path, ...] = ()
    competing: CompetingSpec | None = None
    safety: SafetySpec | None = None


@dataclass(frozen=True)
class BayesSpec:
    """The ``[bayes]`` section: which models to fit and which decisions to report."""

    endpoints: tuple[str, ...]
    families: tuple[str, ...]
    priors: tuple[str, ...]
    hr_thresholds: tuple[float, ...] = (1.0, 0.8)
    rope: tuple[float, float] = (0.9, 1.11)
    landmarks: tuple[float, ...] = (12.0, 24.0)
    deltas: tuple[float, ...] = (0.0, 0.10)
    rmst_tau: float = 24.0
    seed: int = 1
    n_intervals: int = 4
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9


@dataclass(frozen=True)
class CompetingSpec:
    """The ``[competing]`` section: relapse vs NRM by cause-specific hazards (exact posterior
    per cause) and, optionally, the illness–death model; landmarks and seed from ``[bayes]``."""

    endpoint: str = "relapse_nrm"
    families: tuple[str, ...] = ("piecewise_exponential", "weibull")
    priors: tuple[str, ...] = ("neutral",)
    deltas: tuple[float, ...] = (0.0, 0.05, 0.10)
    illness_death: bool = True


@dataclass(frozen=True)
class SafetySpec:
    """The ``[safety]`` section: Beta-binomial incidences and time to engraftment."""

    prior: str = "jeffreys"
    deltas: tuple[float, ...] = (0.0, 0.10)
    engraftment_family: str = "weibull"


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
            want = keys[key]
            ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
            ok = ok or (want is float and isinstance(value, int) and not isinstance(value, bool))
            if not ok or (want is str and not value.strip()):
                raise _err(path, f"{section}.{key}", f"a non-empty {want.__name__}"
                           if want is str else f"a {want.__name__}", value)


def _existing(path: Path, key: str, relative: str) -> Path:
    target = (path.parent / relative).resolve()
    if not target.is_file():
        raise _err(path, key, "an existing file (relative to the spec)", relative)
    return target


def _ensemble(path: Path, relative: str) -> tuple[Path, ...]:
    """Member cohorts of an ensemble folder written by ``bridgebayes reconstruct --ensemble``.

    A member is ``member_XX/cohort.csv`` with its ``provenance.json`` (written last, so its
    absence marks an interrupted member) recording that every required figure was matched.
    """
    folder = (path.parent / relative).resolve()
    key = "data.ensemble"
    if not folder.is_dir():
        raise _err(path, key, "an existing folder (relative to the spec)", relative)
    members = sorted((p for p in folder.glob("member_*") if p.is_dir()),
                     key=lambda p: (len(p.name), p.name))  # member_100 after member_99
    if not members:
        raise _err(path, key, "a folder of ensemble members member_XX/ (from `bridgebayes "
                   "reconstruct --ensemble K --out FOLDER`)", f"{relative} with no member_*")
    incomplete = [m.name for m in members
                  if not ((m / "cohort.csv").is_file() and (m / "provenance.json").is_file())]
    if incomplete:
        raise _err(path, key, "complete members (cohort.csv and provenance.json; re-run the "
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
        raise _err(path, key, "members that reproduce every required published figure "
                   "(provenance.json: converged = true)", f"not converged {failed}")
    return tuple(m / "cohort.csv" for m in members)


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
    bridgebayes.core.errors.SpecError
    """
    path = Path(path)
    raw, doc = read_toml(path, SpecError)
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
    ensemble = data.get("ensemble")
    bayes = _bayes(path, doc["bayes"]) if "bayes" in doc else None
    competing = _competing(path, doc["competing"], bayes) if "competing" in doc else None
    safety = _safety(path, doc["safety"]) if "safety" in doc else None
    return Spec(
        path=path, sha256=hashlib.sha256(raw).hexdigest(), id=analysis["id"],
        title=analysis.get("title", analysis["id"]),
        cohort=_existing(path, "data.cohort", data["cohort"]),
        published=None if published is None else _existing(path, "data.published", published),
        time_unit=unit, reconstructed=data.get("reconstructed", False),
        arms=(arms["reference"], arms["treatment"]),
        landmarks=tuple(float(x) for x in landmarks), bayes=bayes,
        ensemble=() if ensemble is None else _ensemble(path, ensemble),
        competing=competing, safety=safety,
    )


def _numbers(path: Path, key: str, values: list, *, positive: bool = False) -> tuple[float, ...]:
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in values) or (
            positive and not all(x > 0 for x in values)):
        raise _err(path, key, "a list of numbers" + (" > 0" if positive else ""), values)
    return tuple(float(x) for x in values)


def _bayes(path: Path, table: dict) -> BayesSpec:
    from bridgebayes.data.endpoints import ENDPOINTS
    from bridgebayes.models.families import FAMILIES

    for key in ("endpoints", "families", "priors"):
        if not table.get(key):
            raise _err(path, f"bayes.{key}", "a non-empty list")
    allowed = {"endpoints": sorted(ENDPOINTS), "families": sorted(FAMILIES)}
    for key, names in allowed.items():
        bad = [x for x in table[key] if x not in names]
        if bad:
            raise _err(path, f"bayes.{key}", f"names from {names}", bad)
    _priors(path, "bayes.priors", table["priors"])
    out = {k: tuple(table[k]) for k in ("endpoints", "families", "priors")}
    for key in ("hr_thresholds", "landmarks"):
        if key in table:
            out[key] = _numbers(path, f"bayes.{key}", table[key], positive=True)
    if "deltas" in table:
        out["deltas"] = _numbers(path, "bayes.deltas", table["deltas"])
    if "rope" in table:
        rope = _numbers(path, "bayes.rope", table["rope"], positive=True)
        if len(rope) != 2 or rope[0] >= rope[1]:
            raise _err(path, "bayes.rope", "[lower, upper] HR bounds with lower < upper", rope)
        out["rope"] = rope
    for key in ("seed", "n_intervals", "chains", "draws", "tune"):
        if key in table:
            if table[key] < (0 if key == "seed" else 1):
                raise _err(path, f"bayes.{key}", "a positive integer", table[key])
            out[key] = table[key]
    for key, lo, hi in (("rmst_tau", 0.0, 1e4), ("target_accept", 0.5, 0.999)):
        if key in table:
            if not lo < table[key] <= hi:
                raise _err(path, f"bayes.{key}", f"a number in ({lo}, {hi}]", table[key])
            out[key] = table[key]
    return BayesSpec(**out)


def _priors(path: Path, key: str, names: list) -> tuple[str, ...]:
    from bridgebayes.models.priors import STRENGTHS, named_log_hr_prior

    for name in names:
        try:
            named_log_hr_prior(name)
        except SpecError:
            raise _err(path, key, "neutral, skeptical or enthusiastic, optionally "
                       f"suffixed -{'/-'.join(STRENGTHS)}", name) from None
    return tuple(names)


def _competing(path: Path, table: dict, bayes: BayesSpec | None) -> CompetingSpec:
    from bridgebayes.data.endpoints import COMPETING_RISKS
    from bridgebayes.models.families import FAMILIES

    if bayes is None:
        raise _err(path, "competing", "a [bayes] section too (landmarks and seed come from it)",
                   "no [bayes]")
    out: dict = {}
    if "endpoint" in table:
        if table["endpoint"] not in COMPETING_RISKS:
            raise _err(path, "competing.endpoint", f"one of {sorted(COMPETING_RISKS)}",
                       table["endpoint"])
        out["endpoint"] = table["endpoint"]
    if "families" in table:
        bad = [x for x in table["families"] if x not in FAMILIES]
        if not table["families"] or bad:
            raise _err(path, "competing.families", f"a non-empty list of {sorted(FAMILIES)}",
                       bad or table["families"])
        out["families"] = tuple(table["families"])
    if "priors" in table:
        if not table["priors"]:
            raise _err(path, "competing.priors", "a non-empty list", table["priors"])
        out["priors"] = _priors(path, "competing.priors", table["priors"])
    if "deltas" in table:
        out["deltas"] = _numbers(path, "competing.deltas", table["deltas"])
    if "illness_death" in table:
        out["illness_death"] = table["illness_death"]
    return CompetingSpec(**out)


def _safety(path: Path, table: dict) -> SafetySpec:
    from bridgebayes.safety import BETA_PRIORS

    out: dict = {}
    if "prior" in table:
        if table["prior"] not in BETA_PRIORS:
            raise _err(path, "safety.prior", f"one of {sorted(BETA_PRIORS)}", table["prior"])
        out["prior"] = table["prior"]
    if "deltas" in table:
        out["deltas"] = _numbers(path, "safety.deltas", table["deltas"])
    if "engraftment_family" in table:
        if table["engraftment_family"] not in ("weibull", "piecewise_exponential"):
            raise _err(path, "safety.engraftment_family",
                       "'weibull' or 'piecewise_exponential'", table["engraftment_family"])
        out["engraftment_family"] = table["engraftment_family"]
    return SafetySpec(**out)
