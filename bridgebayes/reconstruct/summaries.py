"""Pseudo-patient data from published summary figures.

:func:`reconstruct_from_summaries` searches patient histories
(:mod:`bridgebayes.reconstruct.search`) until every required published figure
is reproduced, then recomputes every figure from the written table with the
reference methods (:mod:`bridgebayes.reference.analysis`, lifelines) to build the
fidelity table.  Only that table decides whether a figure is matched.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import PublishedSummaryError
from bridgebayes.data.cohort import Cohort, load_cohort
from bridgebayes.reconstruct.published import Figure, PublishedSummary
from bridgebayes.reconstruct.search import DECIMALS, SearchSettings, anneal
from bridgebayes.reference import analysis as ref
from bridgebayes.reference.gray import gray_test

__all__ = ["Reconstruction", "fidelity_table", "iter_ensemble", "reconstruct_ensemble",
           "reconstruct_from_summaries"]

FLOAT_FORMAT = f"%.{DECIMALS}f"
MATCHED = "matched"
#: status of a missed figure: the annealing search proves nothing about reachability
NOT_REACHED = "missed: not reached by the bounded search (not proven unreachable)"


@dataclass(frozen=True)
class Reconstruction:
    """A reconstructed cohort and how well it reproduces the published figures.

    Attributes
    ----------
    cohort
        The pseudo-patient cohort (times in months).
    fidelity
        One row per published figure: target, reconstructed, abs_error, tolerance,
        required, matched (see :func:`fidelity_table`).
    seed
        Seed (or spawn key, for ensemble members) that produced it.
    """

    cohort: Cohort
    fidelity: pd.DataFrame
    seed: tuple[int, ...]

    @property
    def converged(self) -> bool:
        """Whether every required figure is matched."""
        required = self.fidelity["required"]
        return bool(self.fidelity.loc[required, "matched"].all())

    def csv_text(self) -> str:
        """The cohort as CSV text, exactly as written to disk."""
        return self.cohort.table.to_csv(index=False, float_format=FLOAT_FORMAT,
                                        lineterminator="\n")

    def summary(self) -> str:
        """Plain-language statement of what was and was not matched."""
        fid = self.fidelity
        req = fid[fid["required"]]
        lines = [f"{int(req['matched'].sum())} of {len(req)} required figures matched "
                 "to the published precision."]
        for _, row in fid[~fid["matched"]].iterrows():
            kind = "required" if row["required"] else "best effort"
            lines.append(f"NOT matched ({kind}): {row['figure']} target {row['target']:g}, "
                         f"reconstructed {row['reconstructed']:.4f} "
                         f"(off by {row['abs_error']:.4f} {row['unit']})")
        return "\n".join(lines)


def _value(cohort: Cohort, fig: Figure, landmark: float) -> float:
    if fig.kind == "followup":
        os_ = cohort.endpoint("os")
        if fig.group == "median":
            return ref.reverse_km_median(os_.time, os_.event)
        return float(os_.time.min() if fig.group == "min" else os_.time.max())
    if fig.kind == "cumulative_incidence" or fig.endpoint in ("nrm", "relapse"):
        data = cohort.endpoint("relapse_nrm")
        code = 1 + data.causes.index(fig.endpoint)
        if fig.kind == "p_value":
            return gray_test(data.time, data.event, data.arm, cause_of_interest=code).p_value
        mask = np.ones(data.arm.size, bool) if fig.group == "pooled" else \
            data.arm == data.arms.index(fig.group)
        return ref.cif_at(data.time[mask], data.event[mask], landmark, cause_of_interest=code)
    data = cohort.endpoint(fig.endpoint)
    if fig.kind == "p_value":
        return ref.logrank_p(data.time, data.event, data.arm)
    mask = np.ones(data.arm.size, bool) if fig.group == "pooled" else \
        data.arm == data.arms.index(fig.group)
    return ref.km_at(data.time[mask], data.event[mask], landmark)


def fidelity_table(cohort: Cohort, summary: PublishedSummary) -> pd.DataFrame:
    """Every published figure: target, reconstructed value, error and whether it matches.

    Values are recomputed from ``cohort`` with :mod:`bridgebayes.reference.analysis`.  Percentages
    are shown in percent (errors in percentage points), follow-up in months.

    Returns
    -------
    pandas.DataFrame
        Columns ``figure, kind, endpoint, group, unit, target, reconstructed, abs_error,
        tolerance, required, matched, status`` (``status``: ``"matched"`` or, for a miss,
        that the search did not reach it — never that it is unreachable, which only a
        certificate of :mod:`bridgebayes.reconstruct.certificate` can show).
    """
    if set(summary.arms) != set(cohort.arms):
        raise PublishedSummaryError(
            f"{summary.path}: keys 'arms.reference'/'arms.treatment': the arm labels "
            f"{list(summary.arms)} are not those of the cohort {list(cohort.arms)}; use the "
            "same labels in both")
    rows = []
    for fig in summary.figures:
        value = _value(cohort, fig, summary.landmark)
        scale = 100.0 if fig.kind in ("survival", "cumulative_incidence") else 1.0
        unit = {100.0: "percentage points"}.get(scale, "months" if fig.kind == "followup"
                                                 else "p-value")
        error = abs(value - fig.target)
        rows.append({
            "figure": fig.key, "kind": fig.kind, "endpoint": fig.endpoint, "group": fig.group,
            "unit": unit, "target": round(fig.target * scale, 10),
            "reconstructed": value * scale, "abs_error": error * scale,
            "tolerance": fig.tolerance * scale, "required": fig.required,
            "matched": bool(error <= fig.tolerance + 1e-12),
            "status": MATCHED if error <= fig.tolerance + 1e-12 else NOT_REACHED,
        })
    return pd.DataFrame(rows)


def _cohort_from_table(table: pd.DataFrame, arms: tuple[str, str]) -> Cohort:
    text = table.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return load_cohort(frame, arms=arms)


def _run(summary: PublishedSummary, seed_seq: np.random.SeedSequence,
         settings: SearchSettings) -> Reconstruction:
    rng = np.random.default_rng(seed_seq)
    best = None
    for _ in range(settings.restarts):
        histories, _, converged = anneal(summary, rng=rng, settings=settings)
        cohort = _cohort_from_table(histories.to_table(summary.arms), summary.arms)
        result = Reconstruction(cohort, fidelity_table(cohort, summary),
                                tuple(seed_seq.spawn_key) or (int(seed_seq.entropy),))
        if best is None or _badness(result) < _badness(best):
            best = result
        if converged and result.converged:
            break
    return best


def _badness(result: Reconstruction) -> tuple[int, float]:
    fid = result.fidelity
    missed = int((~fid["matched"] & fid["required"]).sum())
    return missed, float((fid["abs_error"] / fid["tolerance"].clip(lower=1e-6)).sum())


def reconstruct_from_summaries(summary: PublishedSummary, *, seed: int,
                               settings: SearchSettings | None = None) -> Reconstruction:
    """Reconstruct one pseudo-patient cohort that reproduces the published figures.

    Parameters
    ----------
    summary
        Published figures (:func:`~bridgebayes.reconstruct.published.load_published`).
    seed
        Random seed; the same seed and versions give a byte-identical cohort.
    settings
        Annealing schedule; the defaults suit studies of a few dozen patients.

    Returns
    -------
    Reconstruction
        Check ``.converged`` and ``.fidelity``: a figure is never reported as matched
        unless the reference recomputation matches it.
    """
    settings = settings or SearchSettings()
    return _run(summary, np.random.SeedSequence(seed), settings)


def iter_ensemble(summary: PublishedSummary, *, seed: int, k: int, workers: int = 1,
                  settings: SearchSettings | None = None,
                  members: list[int] | None = None) -> Iterator[tuple[int, Reconstruction]]:
    """Yield ``(j, reconstruction)`` for ensemble members as they finish, in order.

    Member ``j`` (0-based) is seeded by ``SeedSequence(seed).spawn(k)[j]``, so results do
    not depend on ``workers`` or on which members are computed.  ``members`` selects the
    indices to compute (default all); used to resume an interrupted ensemble.
    """
    settings = settings or SearchSettings()
    spawned = np.random.SeedSequence(seed).spawn(k)
    todo = list(range(k)) if members is None else list(members)
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            results = pool.map(_run, [summary] * len(todo), [spawned[j] for j in todo],
                               [settings] * len(todo))
            yield from zip(todo, results, strict=True)
    else:
        for j in todo:
            yield j, _run(summary, spawned[j], settings)


def reconstruct_ensemble(summary: PublishedSummary, *, seed: int, k: int, workers: int = 1,
                         settings: SearchSettings | None = None) -> list[Reconstruction]:
    """Reconstruct ``k`` distinct cohorts (see :func:`iter_ensemble` for the seeding).

    Raises
    ------
    RuntimeError
        If two members coincide.
    """
    members = [r for _, r in iter_ensemble(summary, seed=seed, k=k, workers=workers,
                                           settings=settings)]
    texts = [m.csv_text() for m in members]
    if len(set(texts)) != len(texts):
        raise RuntimeError("two ensemble members are identical; use more iterations")
    return members
