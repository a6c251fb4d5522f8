"""The ``[bayes]`` fits of a spec and what follows from each, through the one store.

Every endpoint × family × prior (:class:`FitKey`) is fitted by the one NUTS driver and stored
under a key made of the endpoint data's hash, the family with all its options (priors
included), the sampler settings, the seed and the code version — not the spec file, so
a run where one prior changed refits that prior only.  What follows from one fit (its
decision table, curves, sentences, diagnostics and LOO summary, power-scaling sensitivity,
HR density, posterior predictive check) is stored under the fit's digest and the settings it
needs.  A warm run loads everything; a damaged object is recomputed (with one warning).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bridgebayes.core.provenance import code_version as version
from bridgebayes.core.store import Store, digest_of
from bridgebayes.data.cohort import Cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.run.spec import Spec
from bridgebayes.run.spec_sections import named_prior

__all__ = ["FitKey", "FitOutcome", "data_digest", "family_for", "fit_all", "sampler_for"]


@dataclass(frozen=True, order=True)
class FitKey:
    """One fitted combination; ``str(key)`` is its file stem ``endpoint__family__prior``."""

    endpoint: str
    family: str
    prior: str

    def __str__(self) -> str:
        return f"{self.endpoint}__{self.family}__{self.prior}"


@dataclass(frozen=True)
class FitOutcome:
    """A fit and what follows from it (tables in the decision schema and friends)."""

    key: FitKey
    digest: str
    fit: object
    status: str
    decision: pd.DataFrame
    curves: pd.DataFrame
    sentences: list[str]
    diagnostics: dict
    density: pd.DataFrame
    path: Path


def data_digest(data: EndpointData) -> str:
    """SHA-256 of an endpoint's data (times, events, arms, ids, covariates, unit, causes)."""
    h = hashlib.sha256()
    for array in (data.time, data.event, data.arm):
        h.update(np.ascontiguousarray(np.asarray(array, float)).tobytes())
    h.update(json.dumps([list(map(str, data.ids)), list(data.arms), list(data.causes),
                         data.time_unit, data.name]).encode())
    if not data.covariates.empty:
        h.update(data.covariates.to_csv(index=False).encode())
    return h.hexdigest()


def family_for(spec: Spec, cohort: Cohort, key: FitKey):
    """The family object a spec fits for ``key`` (options, prior, covariates)."""
    from bridgebayes.models.families import get_family
    from bridgebayes.models.priors import family_prior_options

    prior = named_prior(key.prior, spec.priors)
    options = dict(spec.bayes.family_options.get(key.family, {}))
    options |= {**family_prior_options(prior),
                "covariates": cohort.design_columns(spec.bayes.covariates)}
    return get_family(key.family).from_options(options, where=f"{spec.path}: {key}")


def sampler_for(spec: Spec):
    """The NUTS settings of ``[bayes]``."""
    from bridgebayes.inference.driver import SamplerSettings

    b = spec.bayes
    return SamplerSettings(chains=b.chains, draws=b.draws, tune=b.tune,
                           target_accept=b.target_accept)


@contextmanager
def _quiet() -> Iterator[None]:
    """Guardrail notes are reported in the diagnostics; ArviZ's Pareto-k warning is the
    ``max_pareto_k`` column."""
    from bridgebayes.inference.fit import FitWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        yield


def _fit_or_load(store: Store, key_parts: dict, digest: str, data: EndpointData, family,
                 spec: Spec, force: bool):
    from bridgebayes.inference.fit import Fit, fit

    path = None if force else store.get(key_parts, ".nc")
    if path is not None:
        return Fit.load(path, key=digest), "cached", path
    with _quiet():
        result = fit(data, family, seed=spec.bayes.seed, sampler=sampler_for(spec))
    result.idata.attrs["fit_key"] = digest
    return result, "fitted", store.put_file(key_parts, ".nc", result.save)


def _summaries(store: Store, digest: str, result, key: FitKey, spec: Spec, cohort: Cohort,
               labels: dict) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict,
                                      pd.DataFrame]:
    b = spec.bayes
    options = {"prior": key.prior, "endpoint": labels["endpoint"], "hr_thresholds":
               b.hr_thresholds, "rope": b.rope, "landmarks": b.landmarks, "deltas": b.deltas,
               "rmst_tau": b.rmst_tau, "ci": b.ci}
    parts = {"fit": digest, "options": options, "version": version()}
    made: dict = {}

    def decision():
        if "decision" not in made:
            made["decision"] = result.decide(**options)
        return made["decision"]

    table = store.table(store.key(kind="decision", **parts), lambda: decision().table)
    curves = store.table(store.key(kind="curves", **parts), lambda: decision().curves)
    sentences = store.json(store.key(kind="sentences", **parts),
                           lambda: list(decision().sentences))

    def diagnostics() -> dict:
        with _quiet():
            loo = result.loo()
        return {"passed": bool(result.gate.passed), "retried": bool(result.retried),
                **{r.check: float(r.value) for r in result.gate.checks.itertuples()},
                "elpd_loo": float(loo.elpd_loo), "elpd_loo_se": float(loo.se),
                "p_loo": float(loo.p_loo), "max_pareto_k": float(np.max(loo.pareto_k)),
                "notes": list(result.notes)}

    diag = store.json(store.key(kind="diagnostics", fit=digest, version=version()),
                      diagnostics)
    from bridgebayes.summaries.densities import hr_density

    density = store.table(store.key(kind="hr_density", fit=digest, version=version()),
                          lambda: hr_density(result.draws()["log_hr"]))
    return table, curves, sentences, diag, density


def fit_all(spec: Spec, cohort: Cohort, store: Store, *, force: bool = False,
            progress: Callable[[str], None] = print, bar: bool = False,
            labels: Callable[[str], str] = str) -> dict[FitKey, FitOutcome]:
    """Fit (or load) every combination of ``spec.bayes`` and summarise each.

    Parameters
    ----------
    spec
        A resolved spec with a ``[bayes]`` section.
    cohort
        Its cohort.
    store
        The run's store.
    force
        Refit even when a stored fit exists.
    progress
        Receives one line per fit.
    bar
        Show a progress bar on standard error (tqdm, when it is a terminal).
    labels
        Endpoint name -> reader-facing label (for sentences).

    Returns
    -------
    dict
        :class:`FitKey` -> :class:`FitOutcome`, in fitting order.
    """
    from tqdm import tqdm

    combos = [FitKey(*c) for c in spec.bayes.combinations()]
    meter = tqdm(total=len(combos), file=sys.stderr, unit="fit", disable=None if bar else True,
                 leave=False, dynamic_ncols=True)
    out = {}
    for k, key in enumerate(combos, start=1):
        meter.set_postfix_str(str(key), refresh=True)
        data = cohort.endpoint(key.endpoint)
        family = family_for(spec, cohort, key)
        parts = store.key(kind="fit", data=data_digest(data), family=family.name,
                          options=family.options(),
                          sampler=dataclasses.asdict(sampler_for(spec)), seed=spec.bayes.seed,
                          version=version())
        digest = digest_of(parts)
        result, status, path = _fit_or_load(store, parts, digest, data, family, spec, force)
        table, curves, sentences, diag, density = _summaries(
            store, digest, result, key, spec, cohort, {"endpoint": labels(key.endpoint)})
        meter.update()
        verdict = "pass" if diag["passed"] else "FAIL: " + "; ".join(result.gate.failures())
        progress(f"[{k}/{len(combos)}] {key}: {status}, diagnostics {verdict}"
                 + "".join(f"\n    note: {note}" for note in diag["notes"]))
        out[key] = FitOutcome(key, digest, result, status, table, curves, sentences, diag,
                              density, path)
    meter.close()
    return out
