"""The main job: a spec in, a complete output folder out (``bridgebayes run``).

Order: if the output folder already holds the results of these exact inputs (its
``manifest.json`` records the inputs' :func:`fingerprint`: the spec's content, the bytes of
every file it names, the package's code and versions), say so (with the validation notes of the run
that made it) and stop — before PyMC, ArviZ or even the cohort is loaded, so an unchanged
rerun takes about a second; otherwise validate the spec and the data, resolve the
data-derived defaults, then the reference analysis, the ``[bayes]`` fits and everything that
follows, each through the run's store (``<out>/.bridgebayes-cache``: a rerun reuses what did
not change); then every output — ``results.json``, ``tables/``, ``posteriors/``, and the view
of them, ``figures/`` and ``report.html`` rendered from the saved results only — is written
into a staging folder that replaces ``<out>`` at the end, ``manifest.json`` last, so an
interrupted run never leaves an output that looks complete.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.io import (
    STORE_FOLDER,
    atomic_write_text,
    check_output_folder,
    json_text,
    staged_folder,
)
from bridgebayes.core.provenance import code_version
from bridgebayes.core.readers import read_toml
from bridgebayes.core.store import Store, digest_of, file_digest

if TYPE_CHECKING:  # the up-to-date check imports none of these (nor numpy, pandas, PyMC)
    import pandas as pd

    from bridgebayes.data.cohort import Cohort
    from bridgebayes.run.spec import Spec

__all__ = ["RunResult", "fingerprint", "run", "up_to_date"]

#: Written last into the output folder: the inputs' fingerprint and every file's checksum.
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RunResult:
    """What a run produced (everything is also written under ``out``)."""

    #: the validated spec; ``None`` for an up-to-date run (nothing but bytes was read)
    spec: Spec | None
    out: Path
    summary: dict
    #: every diagnostics gate passed and every required published figure was reproduced
    gates_passed: bool
    #: the output folder already held these results: nothing was recomputed
    unchanged: bool = False


def fingerprint(spec_path: str | Path) -> str | None:
    """Digest of everything a run's outputs depend on, or ``None`` if the spec cannot be read
    (the full validation then says why).

    Its parts: the spec's content as parsed (not its bytes: comments and layout do not
    count) and file name (the analysis id), the bytes of every file the spec names (data,
    published summary, each ensemble member's cohort and provenance) and the package's code
    and dependency versions (:func:`~bridgebayes.core.provenance.code_version`).  Everything
    a run computes, the data-derived defaults included, follows from these; none of them
    depends on where the files are, so a moved copy is still up to date.
    Nothing beyond the standard library is imported.
    """
    from bridgebayes.run.spec_sections import data_section

    path = Path(spec_path)
    try:
        _, doc = read_toml(path)
        data = data_section(path, doc["data"])
        files = [data.file, *([data.published] if data.published else []),
                 *(f for member in data.ensemble for f in (member, member.parent /
                                                         "provenance.json"))]
        return digest_of({"spec": doc, "id": path.stem, "version": code_version(),
                          "files": [file_digest(f) for f in files]})
    except (BridgeBayesError, OSError, KeyError, TypeError, AttributeError, ValueError):
        return None


def up_to_date(out: Path, key: str) -> dict | None:
    """The manifest of ``out`` if it records ``key`` and every listed file is intact."""
    path = out / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("fingerprint") != key:
            return None
        for name, sha in manifest["files"].items():
            if file_digest(out / name) != sha:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest


def _curves(cohort: Cohort, spec: Spec) -> dict[str, pd.DataFrame]:
    import pandas as pd

    from bridgebayes.reference.curves import aalen_johansen_curves, at_risk_table, km_curves

    horizon = 1.5 * max([*(spec.bayes.landmarks if spec.bayes else ()), *spec.landmarks])
    km, at_risk, aj = [], [], []
    for name, definition in cohort.endpoints.items():
        data = cohort.endpoint(name)
        if definition.kind == "competing":
            aj.append(aalen_johansen_curves(data).assign(endpoint=name))
            continue
        end = max(horizon, float(data.time.max())) if spec.bayes is None else horizon
        km.append(km_curves(data).assign(endpoint=name))
        at_risk.append(at_risk_table(data, end).assign(endpoint=name))
    out = {"km": pd.concat(km, ignore_index=True),
           "at_risk": pd.concat(at_risk, ignore_index=True)}
    if aj:
        out["aalen_johansen"] = pd.concat(aj, ignore_index=True)
    return out


def _compute(spec: Spec, cohort: Cohort, store: Store, *, force: bool,
             say: Callable[[str], None], bar: bool):
    from bridgebayes.reference.analysis import reference_analysis
    from bridgebayes.run.results import assemble
    from bridgebayes.run.study import followup_endpoint

    reference = reference_analysis(cohort, landmarks=spec.landmarks,
                                   followup_endpoint=followup_endpoint(spec, cohort))
    secondary: dict = {}
    if spec.data.published is not None:
        from bridgebayes.reconstruct.published import load_published
        from bridgebayes.reconstruct.summaries import fidelity_table

        secondary["fidelity"] = fidelity_table(cohort, load_published(spec.data.published))
    fits = None
    if spec.bayes is not None:
        from bridgebayes.run import secondary as more
        from bridgebayes.run.fits import fit_all

        logging.getLogger("pymc").setLevel(logging.WARNING)  # our own progress lines instead
        fits = fit_all(spec, cohort, store, force=force, progress=say, bar=bar,
                       labels=lambda e: cohort.endpoints[e].label)
        secondary["ppc"] = more.ppc_tables(fits, spec, store)
        secondary["power_scaling"] = more.power_scaling_table(fits, store)
        secondary["loo"] = more.loo_comparison(fits, spec, store)
        from bridgebayes.run.prior_weight import prior_weight, vague_weight_table

        secondary["prior_weight"] = prior_weight(cohort, spec, store,
                                                 psens=secondary["power_scaling"])
        secondary["prior_weight"].vague = vague_weight_table(fits, store)
        from bridgebayes.run.averaging import model_averaging

        secondary["averaging"] = model_averaging(
            fits, spec, store, loo=secondary["loo"],
            labels={e: cohort.endpoints[e].label for e in spec.bayes.endpoints})
        if spec.adjustment is not None:
            from bridgebayes.run.adjustment import adjustment_analysis

            secondary["adjustment"] = adjustment_analysis(
                fits, spec, store, label=cohort.endpoints[spec.adjustment.endpoint].label)
        if spec.data.ensemble:
            secondary["sensitivity"] = _sensitivity(spec, cohort, store)
        if spec.competing is not None:
            secondary["competing"] = more.competing_analysis(cohort, spec, store)
    if spec.data.format == "hsct":
        from bridgebayes.run.secondary import safety_analysis

        secondary["safety"] = safety_analysis(cohort, spec)
    return assemble(spec=spec, cohort=cohort, reference=reference,
                    curves=_curves(cohort, spec), fits=fits, secondary=secondary)


def _sensitivity(spec: Spec, cohort: Cohort, store: Store):
    """The reconstruction-ensemble rows and spread, stored per endpoint × prior (a changed
    prior recomputes its own groups only)."""
    import dataclasses
    import functools

    from bridgebayes.run.sensitivity import ensemble_sensitivity, in_spec_order, load_members
    from bridgebayes.run.spec_sections import named_prior

    b = spec.bayes
    settings = {f.name: getattr(b, f.name) for f in dataclasses.fields(b) if f.name != "priors"}
    shared = {"files": [file_digest(p) for p in (spec.data.file, *spec.data.ensemble)],
              "bayes": repr(settings), "version": code_version()}
    members = functools.cache(lambda: load_members(spec))  # read only if a group is missing
    groups = []
    for endpoint in b.endpoints:
        for prior in b.priors[endpoint]:
            key = {**shared, "group": [endpoint, prior], "prior": named_prior(prior, spec.priors)}
            groups.append(store.tables(
                {"rows": store.key(kind="ensemble_rows", **key),
                 "spread": store.key(kind="ensemble_spread", **key)},
                lambda g=(endpoint, prior): dict(zip(("rows", "spread"), ensemble_sensitivity(
                    members(), spec, main=cohort, group=g), strict=True))))
    return (in_spec_order([g["rows"] for g in groups], spec, by_member=True),
            in_spec_order([g["spread"] for g in groups], spec, by_member=False))


def _write(tmp: Path, results, *, key: str | None, store: Store, passed: bool,
           notes: tuple[str, ...]) -> None:
    from bridgebayes.report import write_report

    (tmp / "tables").mkdir()
    for name, frame in results.tables.items():
        if frame is not None and not frame.empty:
            atomic_write_text(tmp / "tables" / f"{name}.csv",
                              frame.to_csv(index=False, lineterminator="\n"))
    if results.posteriors:
        (tmp / "posteriors").mkdir()
        for name, path in results.posteriors.items():
            shutil.copyfile(path, tmp / "posteriors" / f"{name}.nc")
    atomic_write_text(tmp / "results.json", json_text(results.summary))
    write_report(tmp, figure_cache=lambda k, make: store.cached_bytes(
        store.key(kind="figure", **k), ".png", make)[0])
    files = {str(p.relative_to(tmp)): file_digest(p) for p in sorted(tmp.rglob("*"))
             if p.is_file() and STORE_FOLDER not in p.relative_to(tmp).parts}
    atomic_write_text(tmp / MANIFEST, json_text({"fingerprint": key, "files": files,
                                                 "checks_passed": passed, "notes": notes}))


def run(spec_path: str | Path, *, out: str | Path | None = None, force: bool = False,
        say: Callable[[str], None] = print, bar: bool = False) -> RunResult:
    """Run the analysis pre-specified in ``spec_path``.

    Parameters
    ----------
    spec_path
        ``models/<id>.toml``.
    out
        Output folder (default ``reports/<id>``); its ``.bridgebayes-cache`` holds the store.
    force
        Recompute everything (refit, re-render) even when stored results match.
    say
        Receives progress lines.
    bar
        Show a progress bar on standard error (when it is a terminal).
    """
    out = Path(out) if out else Path("reports") / Path(spec_path).stem  # the stem is the id
    check_output_folder(out)
    key = fingerprint(spec_path)
    if not force and key is not None and (manifest := up_to_date(out, key)) is not None:
        for note in manifest.get("notes", ()):
            say(f"note: {note}")
        say(f"{out}: up to date (nothing changed since the last run)")
        summary = json.loads((out / "results.json").read_text(encoding="utf-8"))
        return RunResult(None, out, summary, bool(manifest.get("checks_passed", True)), True)
    from bridgebayes.run.validate import prepare

    prepared = prepare(spec_path)
    spec, cohort = prepared.spec, prepared.cohort
    for note in prepared.notes:
        say(f"note: {note}")
    store = _Recompute(out / STORE_FOLDER) if force else Store(out / STORE_FOLDER)
    results = _compute(spec, cohort, store, force=force, say=say, bar=bar)
    passed = _checks_passed(results)
    results.summary["checks_passed"] = passed
    with staged_folder(out, keep=(STORE_FOLDER,)) as tmp:
        _write(tmp, results, key=key, store=store, passed=passed, notes=prepared.notes)
    return RunResult(spec=spec, out=out, summary=results.summary, gates_passed=passed)


class _Recompute(Store):
    """The run's store under ``--force``: nothing is served from it (every fit, table and
    figure is recomputed and stored again), so no summary of an earlier posterior survives
    a refit."""

    def get(self, key, suffix):
        return None


def _checks_passed(results) -> bool:
    """Every diagnostics gate passed and no required published figure was missed."""
    passed = all(row["passed"] for row in results.summary.get("diagnostics", []))
    fidelity = results.tables.get("fidelity")
    if fidelity is not None:
        passed &= bool(fidelity.loc[fidelity["required"].astype(bool), "matched"].all())
    return bool(passed)
