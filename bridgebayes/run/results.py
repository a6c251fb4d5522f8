"""The results of a run as data: ``results.json`` and the tables, computed once.

Everything a report shows is here, with its provenance; the report (:mod:`bridgebayes.report`)
is rendered from these saved results only.  ``results.json`` carries :data:`SCHEMA_VERSION`
and is described by ``bridgebayes/report/results.schema.json``; no machine path appears in it
(paths are relative to the spec).

Schema changes: version 3 (this) — ``prior_weight`` (every ``[bayes]`` endpoint × prior: the
prior's effective number of events and ELIR against the data's information, the prior
predictive conflict check with its detectable discrepancy, the calibration of the decision
thresholds at the study's events; tables ``prior_weight``, ``prior_data_conflict``,
``calibration``); ``provenance.files`` paths relative to the spec with their SHA-256; with
an ``[adjustment]`` section, the optional ``adjustment`` entry (target trial, g-computation,
propensity and bias-analysis summaries) and its ``tables/adjustment_*.csv``; with a robust
mixture prior (``dist = "NormalMixture"``), its vague component in ``priors``, the weight and
conflict rows' ``vague_*`` columns and the optional ``prior_weight.vague_component`` entry
with ``tables/vague_weight.csv`` (additions within version 3: older results stay valid).
Version 2 — one decision schema (``decisions`` rows with the columns of
:data:`bridgebayes.summaries.decision.COLUMNS`, quantity codes instead of display strings);
``study`` (arms, unit, time zero, endpoints and their labels, format); ``primary`` (the
pre-specified primary analysis and its decision); ``provenance`` with the resolved spec's hash
and file paths relative to the spec; ``families`` and ``priors`` tables; reconstruction
sensitivity as a spread table with ensemble rows in ``tables/ensemble_decisions.csv``.
Version 1 (round 1): ad-hoc tables per analysis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core import provenance
from bridgebayes.data.cohort import Cohort
from bridgebayes.reference.analysis import ReferenceAnalysis
from bridgebayes.run.fits import FitKey, FitOutcome, sampler_for
from bridgebayes.run.spec import Spec
from bridgebayes.run.spec_sections import named_prior
from bridgebayes.summaries.headline import headline_table

__all__ = ["SCHEMA_VERSION", "Results", "assemble", "role_of"]

#: Version of ``results.json`` (bumped with every change of its shape; changes listed above).
SCHEMA_VERSION = 3


@dataclass
class Results:
    """``results.json`` content, the tables (``tables/<name>.csv``) and the posterior files
    (``posteriors/<key>.nc``, copied from the store)."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    posteriors: dict[str, Path] = field(default_factory=dict)


def role_of(spec: Spec, endpoint: str, family: str, prior: str) -> str:
    """``primary`` for the pre-specified primary fit, ``sensitivity`` for the primary
    endpoint under another model or prior, ``secondary`` otherwise."""
    p = spec.primary
    if p is None:
        return "secondary"
    if (endpoint, family, prior) == (p.endpoint, p.family, p.prior):
        return "primary"
    return "sensitivity" if endpoint == p.endpoint else "secondary"


def _records(frame: pd.DataFrame | None) -> list[dict] | None:
    return None if frame is None else frame.replace({np.nan: None}).to_dict(orient="records")


def _relative(path: Path, spec: Spec) -> str:
    return os.path.relpath(path, spec.path.parent)


def _study(spec: Spec, cohort: Cohort) -> dict[str, Any]:
    endpoints = {}
    for name, d in cohort.endpoints.items():
        entry = {"label": d.label, "kind": d.kind, "description": d.description}
        if d.causes:
            entry["causes"] = {c: d.cause_labels.get(c, c) for c in d.causes}
        endpoints[name] = entry
    return {"title": spec.title, "question": spec.question,
            "arms": {"reference": spec.arms[0], "treatment": spec.arms[1]},
            "n_per_arm": cohort.n_per_arm, "time_unit": spec.time_unit,
            "time_zero": spec.data.time_zero, "format": spec.data.format,
            "reconstructed": spec.data.reconstructed, "randomised": spec.data.randomised,
            "endpoints": endpoints,
            "covariates": {n: dict(c) for n, c in spec.covariates.items()}}


def _provenance(spec: Spec) -> dict[str, Any]:
    d = spec.data
    files = {"data": d.file} | ({"published": d.published} if d.published else {})
    out = {"spec": {"id": spec.id, "file": spec.path.name, "sha256": spec.sha256,
                    "resolved_sha256": spec.resolved_sha256()},
           "files": {k: {"path": _relative(p, spec), "sha256": provenance.file_sha256(p)}
                     for k, p in files.items()},
           "ensemble": [_relative(p, spec) for p in d.ensemble],
           "versions": provenance.versions()}
    if spec.bayes is not None:
        import dataclasses

        out["seed"] = spec.bayes.seed
        out["sampler"] = dataclasses.asdict(sampler_for(spec))
    return out


def _primary(spec: Spec, fits: dict[FitKey, FitOutcome]) -> dict[str, Any] | None:
    p = spec.primary
    if p is None:
        return None
    outcome = fits[FitKey(p.endpoint, p.family, p.prior)]
    table = outcome.decision
    hr = table[table["quantity"] == "hr"].iloc[0]
    prob = table[(table["quantity"] == "prob_hr_below")
                 & np.isclose(table["threshold"], p.hr_threshold)]
    if prob.empty:  # a threshold outside bayes.hr_thresholds: from the draws
        log_hr = np.asarray(outcome.fit.draws()["log_hr"], float)
        probability, mcse = float(np.mean(log_hr < np.log(p.hr_threshold))), float("nan")
    else:
        probability, mcse = float(prob["probability"].iloc[0]), float(prob["mcse"].iloc[0])
    decision = None
    if p.decision_probability is not None:
        decision = "met" if probability > p.decision_probability else "not met"
    return {"endpoint": p.endpoint, "family": p.family, "prior": p.prior,
            "hr_threshold": p.hr_threshold, "decision_probability": p.decision_probability,
            "hr": {k: float(hr[k]) for k in ("estimate", "lower", "upper", "level")},
            "probability": probability, "mcse": mcse, "decision": decision,
            "gate_passed": bool(outcome.diagnostics["passed"]), "fit": str(outcome.key)}


def assemble(*, spec: Spec, cohort: Cohort, reference: ReferenceAnalysis,
             curves: dict[str, pd.DataFrame], fits: dict[FitKey, FitOutcome] | None = None,
             secondary: dict[str, Any] | None = None) -> Results:
    """Collect every computed piece into :class:`Results`.

    Parameters
    ----------
    spec, cohort
        The resolved spec and its cohort.
    reference
        The frequentist reference analysis.
    curves
        Nonparametric curves: ``km``, ``at_risk`` (and ``aalen_johansen``), each with an
        ``endpoint`` column.
    fits
        The ``[bayes]`` fits (:func:`bridgebayes.run.fits.fit_all`).
    secondary
        Optional pieces: ``ppc``, ``power_scaling``, ``loo``, ``fidelity``, ``sensitivity``
        (rows, spread), ``competing`` (a ``CompetingResult``), ``safety`` (table,
        sentences), ``adjustment`` (:func:`bridgebayes.run.adjustment.adjustment_analysis`).
    """
    secondary = secondary or {}
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "provenance": _provenance(spec),
        "study": _study(spec, cohort), "resolved_spec": spec.resolved(),
        "reference": {"landmarks": _records(reference.landmarks),
                      "tests": _records(reference.tests), "followup": reference.followup},
        "priors": [_prior_entry(n, spec) for n in dict.fromkeys(_prior_names(spec))],
        "checks": _check_settings()}
    tables = {"reference_landmarks": reference.landmarks, "reference_tests": reference.tests,
              **curves}
    results = Results(summary, tables)
    if fits:
        _bayes(results, spec, fits)
    for name in ("ppc", "power_scaling", "loo", "fidelity"):
        frame = secondary.get(name)
        if frame is not None and not frame.empty:
            tables[{"loo": "loo_comparison"}.get(name, name)] = frame
            summary[{"loo": "loo_comparison"}.get(name, name)] = _records(frame)
    if "sensitivity" in secondary:
        rows, spread = secondary["sensitivity"]
        tables["ensemble_decisions"], tables["reconstruction_sensitivity"] = rows, spread
        summary["reconstruction_sensitivity"] = {
            "method": "exact posterior (quadrature) of each family on each ensemble member; "
                      "the same priors and cut-point rule as the NUTS fits; common random "
                      "numbers across members",
            "members": summary["provenance"]["ensemble"], "spread": _records(spread)}
    if secondary.get("competing") is not None:
        comp = secondary["competing"]
        tables["competing_decisions"] = comp.decisions
        tables["competing_curves"] = comp.curves
        tables["competing_vs_aalen_johansen"] = comp.adequacy
        summary["competing"] = {
            "endpoint": spec.competing.endpoint,
            "method": "exact posterior per cause / transition (the likelihood factorises)",
            "decisions": _records(comp.decisions), "against_aalen_johansen":
                _records(comp.adequacy), "sentences": comp.sentences,
            "transitions": _records(comp.transitions)}
        if comp.transitions is not None:
            tables["illness_death_transitions"] = comp.transitions
    if secondary.get("averaging") is not None:
        _averaging(results, secondary["averaging"], spec)
    if secondary.get("prior_weight") is not None:
        _prior_weight(results, secondary["prior_weight"], cohort)
    if secondary.get("adjustment") is not None:
        from bridgebayes.run.adjustment import summary_of

        for name, frame in secondary["adjustment"].items():
            tables[f"adjustment_{name}"] = frame
        summary["adjustment"] = summary_of(spec, secondary["adjustment"])
    if secondary.get("safety") is not None:
        table, sentences = secondary["safety"]
        tables["safety"] = table
        summary["safety"] = {"table": _records(table), "sentences": sentences}
    if "decisions" in tables:  # the first screen's numbers, one table (report: a view)
        members = len(summary.get("reconstruction_sensitivity", {}).get("members", ()))
        tables["headline"] = headline_table(tables["decisions"],
                                            tables.get("reconstruction_sensitivity"),
                                            members=members)
    return results


def _check_settings() -> dict[str, Any]:
    """The thresholds of the checks, so the report states what was applied."""
    from bridgebayes.inference.diagnostics import GATE
    from bridgebayes.inference.fit import FEW_EVENTS, PRIOR_DOMINANCE

    return {"gate": dict(GATE), "few_events": FEW_EVENTS, "prior_dominance": PRIOR_DOMINANCE}


def _prior_entry(name: str, spec: Spec) -> dict[str, Any]:
    """A prior as declared, with its effective number of events at 1:1 (4 / sigma^2; the
    ELIR of a robust mixture)."""
    from bridgebayes.inference.prior_weight import log_hr_prior_elir
    from bridgebayes.models.priors import LogHrPrior

    prior = named_prior(name, spec.priors)
    return {"name": name, **prior,
            "effective_events_balanced": log_hr_prior_elir(LogHrPrior.from_table(prior))}


def _prior_names(spec: Spec) -> list[str]:
    names = []
    if spec.bayes is not None:
        names += [p for e in spec.bayes.endpoints for p in spec.bayes.priors[e]]
    if spec.competing is not None:
        names += list(spec.competing.priors)
    return names


def _bayes(results: Results, spec: Spec, fits: dict[FitKey, FitOutcome]) -> None:
    from bridgebayes.models.families import get_family

    decisions, curves, densities, diagnostics, sentences = [], [], [], [], {}
    for key, o in fits.items():
        ident = {"endpoint": key.endpoint, "family": key.family, "prior": key.prior}
        role = role_of(spec, *ident.values())
        decisions.append(o.decision.assign(**ident, role=role,
                                           gate_passed=bool(o.diagnostics["passed"])))
        curves.append(o.curves.assign(**ident))
        densities.append(o.density.assign(**ident))
        diagnostics.append({**ident, "role": role, **{k: v for k, v in o.diagnostics.items()
                                                      if k != "notes"},
                            "notes": " | ".join(o.diagnostics["notes"])})
        sentences[str(key)] = o.sentences
        results.posteriors[str(key)] = o.path
    s, t = results.summary, results.tables
    t["decisions"] = pd.concat(decisions, ignore_index=True)
    t["posterior_curves"] = pd.concat(curves, ignore_index=True)
    t["hr_density"] = pd.concat(densities, ignore_index=True)
    t["diagnostics"] = pd.DataFrame(diagnostics)
    s["decisions"] = _records(t["decisions"])
    s["diagnostics"] = _records(t["diagnostics"])
    s["sentences"] = sentences
    s["primary"] = _primary(spec, fits)
    s["families"] = {name: {"label": get_family(name).label,
                            "description": get_family(name).from_options(
                                spec.bayes.family_options.get(name, {})).describe()}
                     for name in spec.bayes.families}


def _averaging(results: Results, averaging: Any, spec: Spec) -> None:
    """Stacking weights, stacked and extrapolated decisions, extrapolation curves
    (:mod:`bridgebayes.run.averaging`)."""
    from bridgebayes.summaries.stacking import EXTRAPOLATION_CAVEAT

    t, s = results.tables, averaging.sentences
    t["stacking_weights"] = averaging.weights
    t["stacked_decisions"] = averaging.stacked
    t["extrapolation_decisions"] = averaging.extrapolation
    t["extrapolation_curves"] = averaging.curves
    results.summary["model_averaging"] = {
        "method": ("stacking of the families' posteriors by PSIS-LOO weights (az.compare, "
                   "method='stacking'); S(t), RMST and their differences of the mixture; no "
                   "HR is stacked" if len(spec.bayes.families) > 1 else
                   "one family: its own posterior extrapolated, nothing stacked"),
        "caveat": EXTRAPOLATION_CAVEAT,
        "horizon": float(s["horizon"].iloc[0]) if len(s) else spec.bayes.extrapolation_horizon,
        "landmarks": list(spec.bayes.extrapolation_landmarks or ()),
        "followup": {e: {"reference": float(part["followup_reference"].iloc[0]),
                         "treatment": float(part["followup_treatment"].iloc[0])}
                     for e, part in s.groupby("endpoint", sort=False)},
        "weights": _records(averaging.weights), "stacked": _records(averaging.stacked),
        "extrapolation": _records(averaging.extrapolation),
        "sentences": {f"{e}__{p}": list(part["text"])
                      for (e, p), part in s.groupby(["endpoint", "prior"], sort=False)}}


def _prior_weight(results: Results, weight: Any, cohort: Cohort) -> None:
    """How much each prior weighs, prior-data conflict, calibration
    (:mod:`bridgebayes.run.prior_weight`)."""
    from bridgebayes.inference.prior_conflict import CONFLICT_THRESHOLD, DETECTION_POWER
    from bridgebayes.run.prior_weight import METHOD, VAGUE_BAYES_FACTOR

    t = results.tables
    t["prior_weight"], t["prior_data_conflict"] = weight.weight, weight.conflict
    t["calibration"] = weight.calibration
    if weight.vague is not None and not weight.vague.empty:
        t["vague_weight"] = weight.vague
    labels = {name: d.label for name, d in cohort.endpoints.items()}
    results.summary["prior_weight"] = {
        "method": METHOD, "conflict_threshold": CONFLICT_THRESHOLD,
        "detection_power": DETECTION_POWER, "weights": _records(weight.weight),
        "conflict": _records(weight.conflict), "calibration": _records(weight.calibration),
        "sentences": weight.sentences(labels)}
    if weight.vague is not None and not weight.vague.empty:
        results.summary["prior_weight"]["vague_component"] = {
            "meaning": "posterior weight of the vague component of each robust mixture prior "
                       "(from each fit's draws, with its MCSE) beside its prior weight w",
            "bayes_factor_threshold": VAGUE_BAYES_FACTOR, "fits": _records(weight.vague)}
