"""Pre-specified analyses: ``models/<id>.toml`` → a validated :class:`Spec`.

Validation is strict and happens before anything is computed: unknown or misspelled keys,
wrong types, impossible values, duplicates, empty lists and missing files raise
:class:`~bridgebayes.core.errors.SpecError` naming the file, the key and what was expected.
Every time in a spec is in the data's ``time_unit`` unless written with its unit
(``"2 years"``).  Defaults that depend on the data (landmarks, RMST horizon) are derived
from the follow-up, never from outcomes (:func:`with_defaults`), and written into the
resolved spec whose hash is stored with every result.  Keys: ``docs/spec.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from bridgebayes.core.errors import SpecError
from bridgebayes.core.readers import read_toml
from bridgebayes.run import spec_sections as sections
from bridgebayes.run.spec_adjustment import adjustment_section
from bridgebayes.run.spec_model import (
    FORMATS,
    BayesSpec,
    CompetingSpec,
    DataSpec,
    PrimarySpec,
    SafetySpec,
    Spec,
)
from bridgebayes.run.spec_values import key_error, times

__all__ = ["FORMATS", "BayesSpec", "CompetingSpec", "DataSpec", "PrimarySpec", "SafetySpec",
           "Spec", "load_spec", "with_defaults"]

SCHEMA: dict[str, dict[str, type | tuple]] = {
    "analysis": {"id": str, "title": str, "question": str},
    "data": {"format": str, "file": str, "time_unit": str, "time_zero": str,
             "published": str, "reconstructed": bool, "randomised": bool, "ensemble": str,
             "followup": str, "terminal": list, "followup_endpoint": str, "columns": dict,
             "endpoint": dict},
    "arms": {"reference": str, "treatment": str},
    "endpoints": {},   # free keys: one table per endpoint
    "covariates": {},  # free keys: one table per covariate
    "priors": {},      # free keys: one table per named prior
    "reference": {"landmarks": list},
    "bayes": {"endpoints": list, "families": list, "priors": (list, dict), "covariates": list,
              "hr_thresholds": list, "rope": list, "landmarks": list, "deltas": list,
              "rmst_tau": (float, str), "ci": float, "seed": int, "chains": int, "draws": int,
              "tune": int, "target_accept": float, "family_options": dict,
              "extrapolation_horizon": (float, str), "extrapolation_landmarks": list},
    "primary": {"endpoint": str, "family": str, "prior": str, "hr_threshold": float,
                "decision_probability": float},
    "competing": {"endpoint": str, "families": list, "priors": list, "deltas": list,
                  "illness_death": bool},
    "safety": {"prior": str, "deltas": list, "engraftment_family": str},
    "adjustment": {},  # checked by spec_adjustment (nested tables)
}
REQUIRED = {"analysis": {"id"}, "data": {"file"}, "arms": {"reference", "treatment"}}
def _is(value: object, want: type | tuple) -> bool:
    wants = want if isinstance(want, tuple) else (want,)
    for w in wants:
        if w is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if isinstance(value, w) and not (w is not bool and isinstance(value, bool)):
            return True
    return False


def _check_schema(path: Path, doc: dict) -> None:
    unknown = sorted(set(doc) - set(SCHEMA))
    if unknown:
        raise SpecError(f"{path}: unknown section(s) {unknown}; allowed: {sorted(SCHEMA)}")
    for section, keys in SCHEMA.items():
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise key_error(path, section, "a table", table)
        if not keys:
            continue
        for key in sorted(set(table) - set(keys)):
            raise SpecError(f"{path}: unknown key {section}.{key!r}; allowed: {sorted(keys)}")
        for key in REQUIRED.get(section, ()):
            if key not in table:
                raise key_error(path, f"{section}.{key}", "a value")
        for key, value in table.items():
            want = keys[key]
            if not _is(value, want) or (want is str and not value.strip()):
                name = " or ".join(w.__name__ for w in (want if isinstance(want, tuple)
                                                        else (want,)))
                raise key_error(path, f"{section}.{key}", f"a non-empty {name}" if want is str
                           else f"a {name}", value)


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Load and validate a spec file; nothing is computed (see the module docstring).

    Parameters
    ----------
    path
        ``models/<id>.toml``.

    Returns
    -------
    Spec
        Data-dependent defaults still unresolved (``landmarks``, ``rmst_tau``: ``None``).

    Raises
    ------
    bridgebayes.core.errors.SpecError
    """
    path = Path(path)
    raw, doc = read_toml(path, SpecError)
    _check_schema(path, doc)
    analysis, arms = doc["analysis"], doc["arms"]
    if analysis["id"] != path.stem:
        raise key_error(path, "analysis.id", f"the file name {path.stem!r}", analysis["id"])
    if arms["reference"] == arms["treatment"]:
        raise key_error(path, "arms.treatment", "a label different from arms.reference",
                   arms["treatment"])
    data = sections.data_section(path, doc["data"])
    endpoints = sections.endpoint_names(path, doc, data)
    covariates = sections.covariate_tables(path, doc.get("covariates", {}))
    priors = sections.prior_tables(path, doc.get("priors", {}))
    unit = data.time_unit
    landmarks = (times(path, "reference.landmarks", doc["reference"]["landmarks"], unit)
                 if "landmarks" in doc.get("reference", {}) else None)
    bayes = (sections.bayes_section(path, doc["bayes"], endpoints, covariates, priors, unit,
                                    data.format) if "bayes" in doc else None)
    primary = (sections.primary_section(path, doc["primary"], bayes)
               if "primary" in doc else None)
    competing = (sections.competing_section(path, doc["competing"], bayes, endpoints, priors,
                                            data) if "competing" in doc else None)
    safety = sections.safety_section(path, doc["safety"], data) if "safety" in doc else None
    adjustment = (adjustment_section(path, doc["adjustment"], bayes, primary, data)
                  if "adjustment" in doc else None)
    return Spec(path=path, sha256=hashlib.sha256(raw).hexdigest(), id=analysis["id"],
                title=analysis.get("title", analysis["id"]),
                question=analysis.get("question", ""), data=data,
                arms=(arms["reference"], arms["treatment"]), endpoints=endpoints,
                covariates=covariates, priors=priors, landmarks=landmarks, bayes=bayes,
                primary=primary, competing=competing, safety=safety,
                adjustment=adjustment)


def with_defaults(spec: Spec, *, landmarks: tuple[float, ...], rmst_tau: float) -> Spec:
    """The spec with the data-derived defaults filled in (only where the spec has none)."""
    bayes = spec.bayes
    if bayes is not None:
        bayes = dataclasses.replace(bayes, landmarks=bayes.landmarks or landmarks,
                                    rmst_tau=bayes.rmst_tau or rmst_tau)
    return dataclasses.replace(spec, landmarks=spec.landmarks or landmarks, bayes=bayes)
