"""Run the ``[bayes]`` section of a spec: every endpoint × family × prior, cached.

Each posterior is written atomically to ``<cache>/<endpoint>__<family>__<prior>.nc``
with the spec's SHA-256 in its attributes, as soon as it is fitted.  A re-run reuses a
cached posterior only if the spec hash, the cohort file's hash, the family's settings and
the cache format all match (a changed spec or cohort, changed model defaults, or a
bridgebayes that stores more with each fit, refits), so an interrupted run resumes without
refitting what finished.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
from tqdm import tqdm

from bridgebayes.core import provenance
from bridgebayes.data.cohort import Cohort
from bridgebayes.inference.fit import Fit, FitWarning, SamplerSettings, compare, diagnose, fit
from bridgebayes.models.families import SurvivalFamily, get_family
from bridgebayes.models.priors import log_hr_normal
from bridgebayes.run.spec import Spec

__all__ = ["CACHE_FORMAT", "BayesResult", "family_for", "run_bayes"]

#: Bumped whenever what a fit stores changes, so older cached posteriors are refitted.
CACHE_FORMAT = 4


@dataclass(frozen=True)
class BayesResult:
    """Decision tables, gates and what the figures need, for every fitted combination.

    Combinations are keyed ``"<endpoint>__<family>__<prior>"`` in fitting order.

    Attributes
    ----------
    decisions
        Decision tables (:attr:`bridgebayes.summaries.decide.Decision.table`) with ``endpoint,
        family, prior`` columns.
    gates
        One row per combination: gate verdict, checks, LOO summary, guardrail notes.
    sentences
        Plain-language sentences per combination.
    posteriors
        Cached NetCDF file per combination.
    comparison
        PSIS-LOO comparison of the families per endpoint and prior (empty with one family).
    curves
        Posterior survival per arm (``Decision.curves``) with ``endpoint, family, prior``.
    log_hr
        Posterior draws of the log HR per combination (chains flattened).
    sampler
        The NUTS settings used.
    fits
        The :class:`~bridgebayes.inference.fit.Fit` of every combination (for model checks).
    """

    decisions: pd.DataFrame
    gates: pd.DataFrame
    sentences: dict[str, list[str]]
    posteriors: dict[str, Path]
    comparison: pd.DataFrame
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    log_hr: dict[str, np.ndarray] = field(default_factory=dict)
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    fits: dict[str, Fit] = field(default_factory=dict)


@contextmanager
def _pareto_k_reported() -> Iterator[None]:
    """Silence ArviZ's Pareto-k warning: ``max_pareto_k`` is in the diagnostics table."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        yield


def family_for(spec: Spec, name: str, prior_name: str) -> SurvivalFamily:
    """The family object a spec fits for family ``name`` under prior ``prior_name``."""
    mu, sigma = log_hr_normal(prior_name)
    options = {"log_hr_mu": mu, "log_hr_sigma": sigma}
    if name == "piecewise_exponential":
        options["n_intervals"] = spec.bayes.n_intervals
    return get_family(name)(**options)


def _cache_key(spec: Spec, family: SurvivalFamily) -> dict[str, str]:
    """What a cached posterior must match: the spec, the cohort file's content, the family's
    settings (defaults may change between versions) and the cache format."""
    return {"spec_sha256": spec.sha256, "cohort_sha256": provenance.file_sha256(spec.cohort),
            "family_settings": json.dumps(dataclasses.asdict(family), sort_keys=True,
                                          default=list),
            "cache_format": str(CACHE_FORMAT)}


def _cached(path: Path, key: dict[str, str]) -> az.InferenceData | None:
    if not path.is_file():
        return None
    idata = az.from_netcdf(str(path))
    same = all(str(idata.attrs.get(k)) == v for k, v in key.items())
    return idata if same else None


def run_bayes(spec: Spec, cohort: Cohort, *, cache: Path, force: bool = False,
              progress: Callable[[str], None] = print, bar: bool = False) -> BayesResult:
    """Fit every endpoint × family × prior of ``spec.bayes`` and collect decisions.

    Parameters
    ----------
    spec
        A validated spec with a ``[bayes]`` section.
    cohort
        The cohort the spec names.
    cache
        Folder of cached posteriors (kept between runs).
    force
        Refit even when a valid cached posterior exists.
    progress
        Called with one line per fit.
    bar
        Show a progress bar (tqdm) on standard error while fitting, if it is a terminal.
    """
    bayes = spec.bayes
    sampler = SamplerSettings(chains=bayes.chains, draws=bayes.draws, tune=bayes.tune,
                              target_accept=bayes.target_accept)
    combos = [(e, f, p) for e in bayes.endpoints for f in bayes.families for p in bayes.priors]
    tables, gates, sentences, posteriors, fits = [], [], {}, {}, {}
    curves, log_hr = [], {}
    meter = tqdm(total=len(combos), file=sys.stderr, unit="fit", disable=None if bar else True,
                 leave=False, dynamic_ncols=True)
    for k, (endpoint, family_name, prior_name) in enumerate(combos, start=1):
        key = f"{endpoint}__{family_name}__{prior_name}"
        meter.set_postfix_str(key, refresh=True)
        data = cohort.endpoint(endpoint)
        family = family_for(spec, family_name, prior_name)
        path = cache / f"{key}.nc"
        cache_key = _cache_key(spec, family)
        idata = None if force else _cached(path, cache_key)
        if idata is None:
            with warnings.catch_warnings():  # guardrail notes are reported below instead
                warnings.simplefilter("ignore", FitWarning)
                result = fit(data, family, seed=bayes.seed, sampler=sampler)
            result.idata.attrs.update(cache_key)
            result.to_netcdf(path, spec_sha256=spec.sha256)
            status = "fitted"
        else:
            result = Fit(idata=idata, family=family, data=data, gate=diagnose(idata),
                         retried=bool(idata.attrs["retried"]),
                         notes=tuple(json.loads(idata.attrs.get("notes", "[]"))))
            status = "cached"
        meter.update()
        verdict = "pass" if result.gate.passed else "FAIL: " + "; ".join(result.gate.failures())
        progress(f"[{k}/{len(combos)}] {key}: {status}, diagnostics {verdict}"
                 + "".join(f"\n    note: {note}" for note in result.notes))
        decision = result.decide(prior=prior_name, hr_thresholds=bayes.hr_thresholds,
                                 rope=bayes.rope, landmarks=bayes.landmarks, deltas=bayes.deltas,
                                 rmst_tau=bayes.rmst_tau)
        tables.append(decision.table.assign(endpoint=endpoint, family=family_name,
                                            prior=prior_name))
        curves.append(decision.curves.assign(endpoint=endpoint, family=family_name,
                                             prior=prior_name))
        log_hr[key] = np.asarray(result.draws()["log_hr"], float).ravel()
        with _pareto_k_reported():
            loo = result.loo()
        gates.append({"endpoint": endpoint, "family": family_name, "prior": prior_name,
                      "passed": result.gate.passed, "retried": result.retried,
                      **{r.check: r.value for r in result.gate.checks.itertuples()},
                      "elpd_loo": float(loo.elpd_loo), "elpd_loo_se": float(loo.se),
                      "p_loo": float(loo.p_loo), "max_pareto_k": float(loo.pareto_k.max()),
                      "notes": " | ".join(result.notes)})
        fits[(endpoint, prior_name, family_name)] = result
        sentences[key] = list(decision.sentences)
        posteriors[key] = path
    meter.close()
    return BayesResult(pd.concat(tables, ignore_index=True), pd.DataFrame(gates), sentences,
                       posteriors, _comparisons(fits, bayes),
                       curves=pd.concat(curves, ignore_index=True), log_hr=log_hr,
                       sampler=sampler,
                       fits={f"{e}__{f}__{p}": r for (e, p, f), r in fits.items()})


def _comparisons(fits: dict, bayes) -> pd.DataFrame:
    """PSIS-LOO comparison of the families, per endpoint and prior (stacking weights)."""
    if len(bayes.families) < 2:
        return pd.DataFrame()
    tables = []
    for endpoint in bayes.endpoints:
        for prior in bayes.priors:
            with _pareto_k_reported():
                table = compare({f: fits[(endpoint, prior, f)] for f in bayes.families})
            tables.append(table.rename_axis("family").reset_index()
                          .assign(endpoint=endpoint, prior=prior))
    return pd.concat(tables, ignore_index=True)
