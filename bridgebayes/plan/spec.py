"""The ``[plan]`` table of a spec → a validated :class:`PlanSpec` (keys: ``docs/plan.md``).

Strict, as :mod:`bridgebayes.run.spec`: unknown keys, wrong types and impossible values raise
:class:`~bridgebayes.core.errors.SpecError` naming the file and the key, before anything runs.
The other sections of the file (``[analysis]``, ``[arms]``, …) are left to
:func:`bridgebayes.run.spec.load_spec`; here only ``analysis.id`` (= file name) and the arm
labels are read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridgebayes.core.errors import BridgeBayesError, SpecError
from bridgebayes.core.readers import read_toml
from bridgebayes.run.spec_sections import prior_tables

__all__ = ["PlanSpec", "load_plan_spec"]

_NUM = (int, float)
SCHEMA: dict[str, dict[str, Any]] = {
    "plan": {"seed": int, "n_sims": int, "chunk_size": int, "target_assurance": float,
             "workers": int, "design_prior": dict, "design": dict, "analysis": dict},
    "plan.design_prior": {"posterior": str, "stacked": str, "endpoint": str, "prior": str,
                          "bias": object, "a0": float, "vague_weight": float,
                          "vague_mean": float, "vague_sd": float, "log_hr_mu": float,
                          "log_hr_sigma": float, "family": str, "family_options": dict,
                          "baseline": dict, "hr_cuts": list},
    "plan.design": {"n_total": list, "allocation": float, "accrual_rate": float,
                    "accrual_duration": float, "min_followup": float, "analysis_events": int,
                    "analysis_time": float, "dropout_hazard": float},
    "plan.analysis": {"cuts": list, "alpha": float, "gamma": float, "priors": list,
                      "vague_sd": float, "borrow_a0": float, "borrow_weight": float,
                      "threshold": float, "power_hrs": list},
}
PRIOR_NAMES = ("vague", "borrowing", "neutral", "skeptical")


@dataclass(frozen=True)
class PlanSpec:
    """A validated ``[plan]`` table (meaning of each field: ``docs/plan.md``)."""

    path: Path
    sha256: str
    id: str
    arms: tuple[str, str]
    seed: int
    n_sims: int
    chunk_size: int
    target_assurance: float
    workers: int
    design_prior: dict[str, Any]
    design: dict[str, Any]
    analysis: dict[str, Any]
    priors: dict[str, dict[str, Any]] = field(default_factory=dict)
    title: str = ""


def _err(path: Path, key: str, expected: str, got: object = "<missing>") -> SpecError:
    return SpecError(f"{path}: key {key!r}: expected {expected}, got {got!r}")


def _typed(path: Path, section: str, table: object) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _err(path, section, "a table", table)
    keys = SCHEMA[section]
    for key in sorted(set(table) - set(keys)):
        raise SpecError(f"{path}: unknown key {section}.{key!r}; allowed: {sorted(keys)}")
    for key, value in table.items():
        want = keys[key]
        if want is float:
            ok = isinstance(value, _NUM) and not isinstance(value, bool) and np.isfinite(value)
        else:
            ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
        if not ok or (want is str and not value.strip()):
            kind = "number" if want is float else want.__name__
            raise _err(path, f"{section}.{key}", f"a {kind}", value)
    return dict(table)


def _numbers(path: Path, key: str, values: list, *, lo: float = 0.0, increasing: bool = False,
             integer: bool = False) -> tuple:
    kind = int if integer else _NUM
    if not values or not all(isinstance(x, kind) and not isinstance(x, bool) and x > lo
                             for x in values) or (increasing and np.any(np.diff(values) <= 0)):
        raise _err(path, key, f"a non-empty list of {'integers' if integer else 'numbers'} > "
                   f"{lo:g}" + (", strictly increasing" if increasing else ""), values)
    return tuple(int(x) if integer else float(x) for x in values)


def _range(path: Path, key: str, value: float | None, lo: float, hi: float, *,
           closed_lo: bool = False) -> None:
    if value is not None and not ((lo <= value if closed_lo else lo < value) and value <= hi):
        raise _err(path, key, f"a number in {'[' if closed_lo else '('}{lo:g}, {hi:g}]", value)


def load_plan_spec(path: str | os.PathLike[str]) -> PlanSpec:
    """Load and validate the ``[plan]`` table of ``path``; nothing is computed.

    Examples
    --------
    >>> spec = load_plan_spec("models/cao2025_plan.toml")  # doctest: +SKIP
    >>> spec.design["n_total"]  # doctest: +SKIP
    (40, 60, 80, 120, 160, 200)
    """
    path = Path(path)
    raw, doc = read_toml(path, SpecError)
    analysis_id = doc.get("analysis", {}).get("id")
    if analysis_id != path.stem:
        raise _err(path, "analysis.id", f"the file name {path.stem!r}", analysis_id)
    arms = doc.get("arms", {})
    if not (isinstance(arms.get("reference"), str) and isinstance(arms.get("treatment"), str)):
        raise _err(path, "arms", "reference and treatment labels", arms)
    if "plan" not in doc:
        raise SpecError(f"{path}: no [plan] table")
    plan = _typed(path, "plan", doc["plan"])
    for sub in ("design_prior", "design"):
        if sub not in plan:
            raise SpecError(f"{path}: missing table [plan.{sub}]")
    prior = _design_prior(path, _typed(path, "plan.design_prior", plan["design_prior"]))
    design = _design(path, _typed(path, "plan.design", plan["design"]))
    declared = prior_tables(path, doc.get("priors", {}))
    analysis = _analysis(path, _typed(path, "plan.analysis", plan.get("analysis", {})),
                         has_posterior="posterior" in prior, declared=declared)
    for key, lo, hi in (("seed", 0, 2**63 - 1), ("n_sims", 1, 10_000_000),
                        ("chunk_size", 1, 10_000_000), ("workers", 1, 1024)):
        if key in plan and not lo <= plan[key] <= hi:
            raise _err(path, f"plan.{key}", f"an integer in [{lo}, {hi:,}]", plan[key])
    _range(path, "plan.target_assurance", plan.get("target_assurance"), 0.0, 1.0)
    return PlanSpec(path=path, sha256=hashlib.sha256(raw).hexdigest(), id=path.stem,
                    arms=(arms["reference"], arms["treatment"]), seed=plan.get("seed", 1),
                    n_sims=plan.get("n_sims", 10_000), chunk_size=plan.get("chunk_size", 1000),
                    target_assurance=float(plan.get("target_assurance", 0.8)),
                    workers=plan.get("workers", 2), design_prior=prior, design=design,
                    analysis=analysis, priors=declared,
                    title=str(doc.get("analysis", {}).get("title", "")))


def _design_prior(path: Path, t: dict[str, Any]) -> dict[str, Any]:
    key = "plan.design_prior"
    explicit = {"log_hr_mu", "log_hr_sigma", "family", "family_options", "baseline"}
    given = [k for k in ("posterior", "stacked", "log_hr_mu") if k in t]
    if len(given) != 1:
        raise SpecError(f"{path}: {key}: give exactly one of 'posterior' (a NetCDF of a run), "
                        f"'stacked' (a run folder) or an explicit prior ('log_hr_mu', "
                        f"'log_hr_sigma', 'family', 'baseline'); got {given}")
    if ("endpoint" in t or "prior" in t) and "stacked" not in t:
        raise SpecError(f"{path}: {key}: 'endpoint' and 'prior' go with 'stacked' only")
    if "posterior" in t or "stacked" in t:
        if bad := sorted(explicit & set(t)):
            raise SpecError(f"{path}: {key}: keys {bad} are for explicit priors, not with "
                            f"{given[0]!r}")
    if "posterior" in t:
        t["posterior"] = (path.parent / t["posterior"]).resolve()
    elif "stacked" in t:
        _stacked(path, key, t)
    else:
        if "log_hr_sigma" not in t:
            raise _err(path, f"{key}.log_hr_sigma", "a number > 0")
        _range(path, f"{key}.log_hr_sigma", t["log_hr_sigma"], 0.0, 10.0)
        t["family"] = _explicit_family(path, key, t)
        if not isinstance(t.get("baseline"), dict):
            raise _err(path, f"{key}.baseline", "a table of the family's baseline parameters "
                       f"{list(t['family'].baseline_variables())}", t.get("baseline"))
        from bridgebayes.plan.design_prior import explicit_prior

        try:
            explicit_prior(log_hr_mu=t.get("log_hr_mu", 0.0), log_hr_sigma=t["log_hr_sigma"],
                           family=t["family"], baseline=t["baseline"])
        except BridgeBayesError as exc:
            raise SpecError(f"{path}: {key}.baseline: {exc}") from None
    if "bias" in t:
        t["bias"] = _bias(path, key, t)
    if "hr_cuts" in t:
        t["hr_cuts"] = _numbers(path, f"{key}.hr_cuts", t["hr_cuts"], increasing=True)
    _range(path, f"{key}.a0", t.get("a0"), 0.0, 1.0)
    _range(path, f"{key}.vague_weight", t.get("vague_weight"), 0.0, 1.0, closed_lo=True)
    _range(path, f"{key}.vague_sd", t.get("vague_sd"), 0.0, 100.0)
    return t


def _stacked(path: Path, key: str, t: dict[str, Any]) -> None:
    """``stacked``: the run folder exists, its results hold ``endpoint`` × ``prior`` and the
    posterior of every family with a positive weight."""
    from bridgebayes.plan.run_priors import read_run

    for name in ("endpoint", "prior"):
        if name not in t:
            raise _err(path, f"{key}.{name}", "the run's endpoint and prior to stack "
                       "(e.g. endpoint = 'grfs', prior = 'neutral')")
    folder = (path.parent / t["stacked"]).resolve()
    try:
        run = read_run(folder)
        run.stacking_weights(t["endpoint"], t["prior"])
        missing = run.missing_posteriors(t["endpoint"], t["prior"])
    except BridgeBayesError as exc:
        raise SpecError(f"{path}: key {key}.stacked = {t['stacked']!r}: {exc}") from None
    if missing:
        raise SpecError(f"{path}: key {key}.stacked = {t['stacked']!r}: {missing[0]}: posterior "
                        "file not found (its family has a positive stacking weight)")
    t["stacked"] = folder


def _bias(path: Path, key: str, t: dict[str, Any]) -> tuple[float, float, str]:
    """``bias``: ``"adjustment"`` (the run's bias prior) or ``{mu, sigma}`` -> (mu, sigma,
    where it comes from)."""
    value = t["bias"]
    if value == "adjustment":
        from bridgebayes.plan.run_priors import read_run

        if "posterior" not in t and "stacked" not in t:
            raise _err(path, f"{key}.bias", "'adjustment' only with 'posterior' or 'stacked' "
                       "(a run), or a table { mu, sigma }", value)
        folder = t["stacked"] if "stacked" in t else Path(t["posterior"]).parent.parent
        try:
            run = read_run(folder)
            mu, sigma = run.bias_prior()
        except BridgeBayesError as exc:
            raise SpecError(f"{path}: key {key}.bias = 'adjustment': {exc}") from None
        return mu, sigma, run.bias_source()
    ok = (isinstance(value, dict) and set(value) == {"mu", "sigma"}
          and all(isinstance(v, _NUM) and not isinstance(v, bool) and np.isfinite(v)
                  for v in value.values()) and value["sigma"] >= 0)
    if not ok:
        raise _err(path, f"{key}.bias", "'adjustment' or a table { mu = <number>, sigma = "
                   "<number >= 0> } (bias of the log HR, true = observed + bias)", value)
    return float(value["mu"]), float(value["sigma"]), "explicit"


def _explicit_family(path: Path, key: str, t: dict[str, Any]) -> Any:
    """The family of an explicit design prior (``family``, ``family_options``)."""
    from bridgebayes.models.families import get_family

    try:
        cls = get_family(t.get("family", "piecewise_exponential"))
    except BridgeBayesError as exc:
        raise SpecError(f"{path}: {key}.family: {exc}") from None
    options = t.get("family_options", {})
    if not isinstance(options, dict):
        raise _err(path, f"{key}.family_options", "a table of family options", options)
    return cls.from_options(options, where=f"{path}: {key}.family_options")


def _design(path: Path, t: dict[str, Any]) -> dict[str, Any]:
    key = "plan.design"
    if "n_total" not in t:
        raise _err(path, f"{key}.n_total", "a list of total sample sizes")
    t["n_total"] = _numbers(path, f"{key}.n_total", t["n_total"], lo=1, increasing=True,
                            integer=True)
    if ("accrual_rate" in t) == ("accrual_duration" in t):
        raise SpecError(f"{path}: {key}: give exactly one of 'accrual_rate', "
                        "'accrual_duration'")
    timing = [k for k in ("analysis_events", "analysis_time", "min_followup") if k in t]
    if len(timing) != 1:
        raise SpecError(f"{path}: {key}: give exactly one of 'analysis_events', "
                        f"'analysis_time', 'min_followup' (got {timing})")
    for name in ("allocation", "accrual_rate", "accrual_duration", "analysis_time"):
        _range(path, f"{key}.{name}", t.get(name), 0.0, 1e6)
    for name in ("min_followup", "dropout_hazard"):
        _range(path, f"{key}.{name}", t.get(name), 0.0, 1e6, closed_lo=True)
    if "analysis_events" in t and not 1 <= t["analysis_events"] <= min(t["n_total"]):
        raise _err(path, f"{key}.analysis_events", f"an integer in 1..min(n_total) = "
                   f"{min(t['n_total'])}", t["analysis_events"])
    from bridgebayes.plan.simulate import TrialDesign

    for n in t["n_total"]:
        try:
            TrialDesign(n_total=n, **{k: v for k, v in t.items() if k != "n_total"})
        except BridgeBayesError as exc:
            raise SpecError(f"{path}: [{key}] with n_total={n}: {exc}") from None
    return t


def _analysis(path: Path, t: dict[str, Any], *, has_posterior: bool,
              declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    key = "plan.analysis"
    t["cuts"] = _numbers(path, f"{key}.cuts", t["cuts"], increasing=True) if "cuts" in t else (
        6.0, 12.0, 24.0)
    priors = t.setdefault("priors", ["vague"])
    bad = [p for p in priors if not isinstance(p, str) or (p not in declared and (
           p.partition("-")[0] not in PRIOR_NAMES
           or (p.partition("-")[2] and p.partition("-")[2] not in ("weak", "strong"))
           or (p in ("vague", "borrowing") and "-" in p)))]
    if not priors or bad or len(set(priors)) < len(priors):
        raise _err(path, f"{key}.priors", f"distinct names from {list(PRIOR_NAMES)} (built-in "
                   "sets optionally -weak/-strong) or declared in [priors]", priors)
    if "borrowing" in priors and not has_posterior:
        raise _err(path, f"{key}.priors", "'borrowing' only with plan.design_prior.posterior",
                   priors)
    t["priors"] = tuple(priors)
    _range(path, f"{key}.alpha", t.get("alpha"), 0.0, 0.5)
    _range(path, f"{key}.gamma", t.get("gamma"), 0.5, 0.9999)
    _range(path, f"{key}.vague_sd", t.get("vague_sd"), 0.0, 100.0)
    _range(path, f"{key}.borrow_a0", t.get("borrow_a0"), 0.0, 1.0)
    _range(path, f"{key}.borrow_weight", t.get("borrow_weight"), 0.0, 0.999, closed_lo=True)
    _range(path, f"{key}.threshold", t.get("threshold"), 0.0, 100.0)
    if "power_hrs" in t:
        t["power_hrs"] = _numbers(path, f"{key}.power_hrs", t["power_hrs"])
    return t
