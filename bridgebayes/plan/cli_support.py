"""The ``plan`` command: a spec's ``[plan]`` table → ``reports/<id>/plan/``.

Writes ``tables/operating_characteristics.csv`` (every scenario and rule),
``tables/calibration.csv`` (calibrated gamma and type I error per N and prior),
``tables/sample_size.csv`` (smallest N reaching the target assurance per rule),
``figures/assurance.png``, ``figures/power_hr<c>.png`` (each ``analysis.power_hrs``),
``plan.json`` (seed, versions, spec hash, job fingerprint, design-prior summary, design,
timings) and ``plan.html``, the page rendered from them by the report's template.  Finished
chunks are kept in ``<out>/../.<name>-chunks/`` so an interrupted run resumes.
"""

from __future__ import annotations

import json
import math
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from bridgebayes.core import provenance
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.io import check_output_folder, staged_folder
from bridgebayes.plan.analyse import AnalysisPlan, analysis_prior
from bridgebayes.plan.dask_runner import run_job
from bridgebayes.plan.design_prior import DesignPrior, explicit_prior, posterior_design_prior
from bridgebayes.plan.formulas import schoenfeld_events
from bridgebayes.plan.outputs import (
    assurance_figure,
    calibrate_gamma,
    operating_table,
    proportion,
    sample_size_for,
    success,
)
from bridgebayes.plan.run import PlanJob, Scenario
from bridgebayes.plan.run_priors import stacked_design_prior
from bridgebayes.plan.simulate import TrialDesign
from bridgebayes.plan.spec import PlanSpec, load_plan_spec
from bridgebayes.report import write_plan_page

__all__ = ["build_job", "run_plan"]

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def design_prior_of(spec: PlanSpec) -> DesignPrior:
    """The design prior a plan spec asks for (discounted as it says)."""
    t = spec.design_prior
    discount = {k: t[k] for k in ("a0", "vague_weight", "vague_mean", "vague_sd") if k in t}
    if "bias" in t:
        mu, sigma, where = t["bias"]
        discount |= {"bias_mu": mu, "bias_sigma": sigma, "bias_source": where}
    if "posterior" in t or "stacked" in t:
        prior = (posterior_design_prior(t["posterior"]) if "posterior" in t else
                 stacked_design_prior(t["stacked"], endpoint=t["endpoint"], prior=t["prior"]))
        return prior.discounted(**discount) if discount else prior
    prior = explicit_prior(log_hr_mu=t["log_hr_mu"], log_hr_sigma=t["log_hr_sigma"],
                           family=t["family"], baseline=t["baseline"],
                           hr_cuts=t.get("hr_cuts", ()))
    return prior.discounted(**discount) if discount else prior


def build_job(spec: PlanSpec) -> tuple[PlanJob, pd.DataFrame]:
    """The planning job of ``spec`` and its scenario table (``scenario, name, n_total, hr``).

    Scenarios per total sample size: ``assurance`` (log HR from the design prior),
    ``null`` (HR = 1) and ``hr=<c>`` for each of ``analysis.power_hrs``; baselines always
    come from the design prior.
    """
    prior = design_prior_of(spec)
    a = spec.analysis
    undiscounted = prior.draws["log_hr"] if prior.explicit is None else None
    priors = tuple((name, analysis_prior(name, vague_sd=a.get("vague_sd", 10.0),
                                         posterior_log_hr=undiscounted,
                                         borrow_a0=a.get("borrow_a0", 1.0),
                                         borrow_weight=a.get("borrow_weight", 0.0),
                                         declared=spec.priors))
                   for name in a["priors"])
    plan = AnalysisPlan(cuts=a["cuts"], priors=priors, threshold=a.get("threshold", 1.0))
    design_keys = {k: v for k, v in spec.design.items() if k != "n_total"}
    truths = [("assurance", None), ("null", 0.0)] + [
        (f"hr={hr:g}", math.log(hr)) for hr in a.get("power_hrs", ())]
    scenarios, rows = [], []
    for n in spec.design["n_total"]:
        design = TrialDesign(n_total=n, **design_keys)
        for name, log_hr in truths:
            rows.append({"scenario": len(scenarios), "name": name, "n_total": n,
                         "hr": np.nan if log_hr is None else math.exp(log_hr)})
            scenarios.append(Scenario(name, design, log_hr, spec.n_sims))
    job = PlanJob(tuple(scenarios), prior, plan, seed=spec.seed, chunk_size=spec.chunk_size)
    return job, pd.DataFrame(rows)


def _calibration(table: pd.DataFrame, scenarios: pd.DataFrame, rules: list[str], alpha: float,
                 gamma: float) -> pd.DataFrame:
    rows = []
    merged = table.merge(scenarios, on="scenario")
    for n, part in merged.groupby("n_total"):
        null, sure = part[part["name"] == "null"], part[part["name"] == "assurance"]
        for rule in rules:
            g = calibrate_gamma(null[rule].to_numpy(), alpha=alpha)
            t1, t1_se = proportion(success(null, rule, gamma=gamma))
            cal, cal_se = proportion(success(null, rule, gamma=g))
            asr, asr_se = proportion(success(sure, rule, gamma=g))
            rows.append({"n_total": n, "rule": rule, "gamma": gamma, "type1": t1,
                         "type1_mcse": t1_se, "gamma_calibrated": g, "type1_calibrated": cal,
                         "type1_calibrated_mcse": cal_se, "assurance_calibrated": asr,
                         "assurance_calibrated_mcse": asr_se})
    return pd.DataFrame(rows)


def _versions() -> dict[str, str]:
    out = provenance.versions()
    for name in ("dask", "distributed", "pyarrow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _write(out: Path, spec: PlanSpec, job: PlanJob, scenarios: pd.DataFrame,
           table: pd.DataFrame, info: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    a = spec.analysis
    alpha, gamma = a.get("alpha", 0.025), a.get("gamma", 0.975)
    rules = ["logrank", *(f"post_{name}" for name, _ in job.analysis.priors)]
    oc = operating_table(table, scenarios, rules=rules, alpha=alpha, gamma=gamma)
    calibration = _calibration(table, scenarios, rules[1:], alpha, gamma)
    assurance = oc[oc["name"] == "assurance"]
    size_rows = [{"rule": r, "target_assurance": spec.target_assurance,
                  "n_total": sample_size_for(assurance, r, spec.target_assurance)}
                 for r in rules]
    sizes = pd.DataFrame(size_rows).astype({"n_total": "Int64"})
    with staged_folder(out) as tmp:  # appears at once or not at all
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        oc.to_csv(tmp / "tables" / "operating_characteristics.csv", index=False)
        calibration.to_csv(tmp / "tables" / "calibration.csv", index=False)
        sizes.to_csv(tmp / "tables" / "sample_size.csv", index=False)
        fig = assurance_figure(assurance, rules=rules, target=spec.target_assurance,
                               title=f"{spec.id}: assurance vs N")
        fig.savefig(tmp / "figures" / "assurance.png", dpi=120)
        for hr in a.get("power_hrs", ()):
            fig = assurance_figure(oc[oc["name"] == f"hr={hr:g}"], rules=rules,
                                   ylabel=f"power at HR = {hr:g}",
                                   title=f"{spec.id}: power vs N at HR = {hr:g}")
            fig.savefig(tmp / "figures" / f"power_hr{hr:g}.png", dpi=120)
        mean, sd = job.design_prior.log_hr_summary()
        doc = {"spec": {"id": spec.id, "file": spec.path.name, "sha256": spec.sha256},
               "title": spec.title, "arms": {"reference": spec.arms[0],
                                             "treatment": spec.arms[1]},
               "target_assurance": spec.target_assurance, "n_sims": spec.n_sims,
               "design": spec.design, "threshold": a.get("threshold", 1.0),
               "power_hrs": list(a.get("power_hrs", ())),
               "seed": spec.seed, "fingerprint": job.fingerprint(), "versions": _versions(),
               "design_prior": {"source": job.design_prior.source,
                                "log_hr_mean": mean, "log_hr_sd": sd,
                                "a0": job.design_prior.a0,
                                "vague_weight": job.design_prior.vague_weight,
                                "bias": job.design_prior.bias_summary(),
                                "components": job.design_prior.components},
               "analysis_priors": {n: {"weights": p.weights, "means": p.means, "sds": p.sds}
                                   for n, p in job.analysis.priors},
               "alpha": alpha, "gamma": gamma, "run": info,
               "sample_size": size_rows,
               "reference": {"schoenfeld_events_hr_0.7": schoenfeld_events(0.7, alpha=alpha)}}
        (tmp / "plan.json").write_text(json.dumps(doc, indent=2, default=_plain,
                                                  allow_nan=False) + "\n")
        write_plan_page(tmp)  # the view of what was just saved
    return oc, calibration, sizes


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(
        value)


def run_plan(path: str | Path, out: str | Path | None = None, scheduler: str | None = None,
             quiet: bool = False) -> int:
    """Run the ``[plan]`` of a spec; the function behind ``bridgebayes plan SPEC``.

    Parameters
    ----------
    path
        Spec file with a ``[plan]`` table (e.g. ``models/cao2025_plan.toml``).
    out
        Output folder (default ``reports/<id>/plan``).
    scheduler
        ``None``: local Dask cluster with ``plan.workers`` processes; ``"synchronous"``: no
        Dask; otherwise a scheduler address.
    quiet
        Print nothing but errors.

    Returns
    -------
    int
        0 success; 2 bad input (message on stderr, nothing written).
    """
    say = (lambda line: None) if quiet else print
    try:
        spec = load_plan_spec(path)
        out = check_output_folder(Path(out) if out else Path("reports") / spec.id / "plan")
        job, scenarios = build_job(spec)
        chunks = out.parent / f".{out.name}-chunks"
        start = time.perf_counter()
        result = run_job(job, chunks, scheduler=scheduler, workers=spec.workers,
                         progress=lambda line: say(f"  {line}"))
    except BridgeBayesError as exc:
        print(f"bridgebayes: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    seconds = time.perf_counter() - start
    info = {"trials": len(result.table), "chunks_computed": len(result.computed),
            "chunks_reused": result.reused, "workers": result.workers,
            "seconds": round(seconds, 2), "scheduler": scheduler or "local"}
    oc, calibration, sizes = _write(out, spec, job, scenarios, result.table, info)
    with pd.option_context("display.width", 140, "display.max_columns", 30):
        keep = ["n_total", "expected_events", "expected_duration", "logrank",
                *[c for c in oc.columns if c.startswith("post_") and not c.endswith("mcse")]]
        say(f"{spec.id}: design prior {job.design_prior.describe()}\n\nAssurance\n"
            f"{oc[oc['name'] == 'assurance'][keep].round(3).to_string(index=False)}\n\n"
            f"Calibration (one-sided type I <= {spec.analysis.get('alpha', 0.025)})\n"
            f"{calibration.round(4).to_string(index=False)}\n\n"
            f"N for assurance >= {spec.target_assurance}\n{sizes.to_string(index=False)}\n\n"
            f"{len(result.table)} trials ({len(result.computed)} chunks computed, "
            f"{result.reused} reused) in {seconds:.1f} s\nWritten: {out}/")
    return EXIT_OK
