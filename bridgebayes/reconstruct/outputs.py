"""Writing reconstructions: cohort, fidelity table and provenance, atomically.

A cohort ``X.csv`` is accompanied by ``X.fidelity.csv`` and ``X.provenance.json``
(for a file named ``cohort.csv``: ``fidelity.csv`` and ``provenance.json``).  The
provenance file is written last and marks the member complete, so an interrupted
ensemble resumes by skipping members whose provenance matches the request.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bridgebayes.core import provenance
from bridgebayes.core.errors import ReconstructionError
from bridgebayes.core.io import atomic_write_text
from bridgebayes.core.readers import read_json
from bridgebayes.reconstruct.published import PublishedSummary
from bridgebayes.reconstruct.search import SearchSettings
from bridgebayes.reconstruct.summaries import (
    Reconstruction,
    iter_ensemble,
    reconstruct_from_summaries,
)

__all__ = ["companion_paths", "write_ensemble", "write_reconstruction"]


def companion_paths(cohort_path: Path) -> tuple[Path, Path]:
    """Fidelity and provenance paths that go with a cohort CSV."""
    if cohort_path.name == "cohort.csv":
        return cohort_path.with_name("fidelity.csv"), cohort_path.with_name("provenance.json")
    stem = cohort_path.with_suffix("")
    return Path(f"{stem}.fidelity.csv"), Path(f"{stem}.provenance.json")


def _request(summary: PublishedSummary, seed: int, settings: SearchSettings,
             member: int | None) -> dict:
    return {"published_sha256": summary.sha256, "seed": seed, "ensemble_member": member,
            "settings": dataclasses.asdict(settings)}


def write_reconstruction(result: Reconstruction, path: Path, *, request: dict) -> Path:
    """Write cohort, fidelity table and (last) provenance for one reconstruction."""
    fidelity_path, provenance_path = companion_paths(path)
    atomic_write_text(path, result.csv_text())
    atomic_write_text(fidelity_path, result.fidelity.to_csv(index=False, lineterminator="\n",
                                                            float_format="%.6g"))
    record = {
        **request,
        "cohort_sha256": provenance.file_sha256(path),
        "fidelity_sha256": provenance.file_sha256(fidelity_path),
        "converged": result.converged,
        "summary": result.summary(),
        "versions": provenance.versions(),
        "note": "Reconstructed pseudo-patient data, not the study's patients.",
    }
    atomic_write_text(provenance_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def write_single(summary: PublishedSummary, path: Path, *, seed: int,
                 settings: SearchSettings) -> Reconstruction:
    """Reconstruct one cohort and write it with its fidelity table and provenance."""
    result = reconstruct_from_summaries(summary, seed=seed, settings=settings)
    write_reconstruction(result, path, request=_request(summary, seed, settings, None))
    return result


def _fidelity(path: Path) -> pd.DataFrame | None:
    """The member's fidelity table (written beside its cohort), ``None`` if it is missing or
    cannot be read as one."""
    try:
        fid = pd.read_csv(companion_paths(path)[0])
        return fid.assign(required=fid["required"].astype(bool), matched=fid["matched"]
                          .astype(bool))
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        return None


def _state(path: Path, request: dict) -> str:
    """``"complete"``, ``"missing"`` (absent or interrupted before its provenance was
    written) or ``"stale"`` (made from other inputs or settings)."""
    _, provenance_path = companion_paths(path)
    if not (path.is_file() and provenance_path.is_file()) or _fidelity(path) is None:
        return "missing"  # absent, or its fidelity table damaged: the member is made again
    try:
        record = read_json(provenance_path, what="provenance file", error=ReconstructionError)
    except ReconstructionError:
        return "missing"  # unreadable (e.g. cut short): the member is made again
    if not isinstance(record, dict):
        return "missing"
    if {k: record.get(k) for k in request} != request:
        return "stale"
    return "complete" if record.get("cohort_sha256") == provenance.file_sha256(path) else "missing"


def write_ensemble(summary: PublishedSummary, folder: Path, *, seed: int, k: int,
                   workers: int, settings: SearchSettings, force: bool = False,
                   progress: Callable[[str], None] = print) -> pd.DataFrame:
    """Write ``k`` reconstructions to ``folder/member_XX/``, resuming finished members.

    Returns the ensemble summary table (also written as ``folder/ensemble.csv``).
    """
    paths = [folder / f"member_{j:02d}" / "cohort.csv" for j in range(1, k + 1)]
    requests = [_request(summary, seed, settings, j) for j in range(1, k + 1)]
    states = [_state(p, r) for p, r in zip(paths, requests, strict=True)]
    stale = [p for p, state in zip(paths, states, strict=True) if state == "stale"]
    if stale and not force:
        raise ReconstructionError(
            f"{folder}: {len(stale)} member(s) were made from other inputs or settings "
            f"(e.g. {stale[0]}); pass --force to replace them")
    todo = [j for j, state in enumerate(states) if state != "complete"]
    progress(f"ensemble: {k - len(todo)} of {k} members already complete; computing {len(todo)}")
    for j, result in iter_ensemble(summary, seed=seed, k=k, workers=workers,
                                   settings=settings, members=todo):
        write_reconstruction(result, paths[j], request=requests[j])  # each as it finishes
        progress(f"member {j + 1:02d}: {result.summary().splitlines()[0]}")
    rows = []
    for j, path in enumerate(paths, start=1):
        fid = _fidelity(path)
        row = {"member": j, "cohort_sha256": provenance.file_sha256(path),
               "required_matched": bool(fid.loc[fid["required"], "matched"].all())}
        row.update({f"error_{r.figure}": r.abs_error for r in fid.itertuples()
                    if not r.required})
        rows.append(row)
    table = pd.DataFrame(rows)
    if table["cohort_sha256"].duplicated().any():
        raise ReconstructionError(f"{folder}: two ensemble members are identical")
    atomic_write_text(folder / "ensemble.csv", table.to_csv(index=False, lineterminator="\n",
                                                            float_format="%.6g"))
    return table
