"""Resumable chunked runs of a :class:`~bridgebayes.plan.run.PlanJob` on ``dask.distributed``.

Run folder::

    <folder>/manifest.json            fingerprint, seed, chunk size, number of chunks
    <folder>/chunks/s<SSS>_c<CCCCC>.parquet   one finished chunk (written atomically)

Chunks already in the folder are not recomputed, so a run that was killed resumes where it
stopped.  A folder made by a different job (other fingerprint) is refused unless
``force=True``, which discards its chunks.  The client writes each chunk as soon as its
future completes, so remote workers need no access to the folder.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.io import atomic_write_bytes, atomic_write_text
from bridgebayes.core.readers import read_json
from bridgebayes.plan.run import PlanJob, run_chunk

__all__ = ["RunResult", "run_job"]


@dataclass(frozen=True)
class RunResult:
    """All per-trial rows of a job, and which chunks this call computed."""

    table: pd.DataFrame
    computed: tuple[tuple[int, int], ...]
    reused: int
    workers: int


def _chunk_path(folder: Path, scenario: int, chunk: int) -> Path:
    return folder / "chunks" / f"s{scenario:03d}_c{chunk:05d}.parquet"


def _write_chunk(path: Path, table: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def _prepare(job: PlanJob, folder: Path, force: bool) -> None:
    manifest = folder / "manifest.json"
    fingerprint = job.fingerprint()
    if manifest.is_file():
        try:
            record = read_json(manifest, what="chunk manifest")
        except BridgeBayesError:
            record = None  # unreadable: treated as another job's
        old = record.get("fingerprint") if isinstance(record, dict) else None
        if old != fingerprint:
            if not force:
                raise BridgeBayesError(f"{folder}: holds chunks of a different planning job "
                                       f"(fingerprint {str(old)[:12]} vs {fingerprint[:12]}); "
                                       "use another folder or force=True to discard them")
            shutil.rmtree(folder / "chunks", ignore_errors=True)
    atomic_write_text(manifest, json.dumps({
        "fingerprint": fingerprint, "seed": job.seed, "chunk_size": job.chunk_size,
        "n_chunks": len(job.chunks())}, indent=2) + "\n")


def run_job(job: PlanJob, folder: str | os.PathLike[str], *, scheduler: str | None = None,
            workers: int = 2, processes: bool = True, force: bool = False,
            progress: Callable[[str], None] | None = None) -> RunResult:
    """Run every chunk of ``job`` not yet stored in ``folder``; return all rows.

    Parameters
    ----------
    job
        The planning job.
    folder
        Run folder (created; see the module docstring).
    scheduler
        ``None``: a ``dask.distributed.LocalCluster`` of ``workers`` single-threaded
        processes; ``"synchronous"``: in this process, no Dask; otherwise the address of a
        running scheduler (``"tcp://host:8786"``).
    workers
        Workers of the local cluster.
    processes
        Local cluster of processes (default) or of threads in this process (starts in about
        a second; the numpy work releases the GIL only in part).
    force
        Discard chunks of a different job found in ``folder``.
    progress
        Called with a short line after each stored chunk.

    Examples
    --------
    >>> result = run_job(job, "reports/cao2025_plan/.chunks", workers=2)  # doctest: +SKIP
    >>> result.table.groupby("scenario")["logrank_z"].mean()  # doctest: +SKIP
    """
    folder = Path(folder)
    _prepare(job, folder, force)
    todo = [(s, c) for s, c, _ in job.chunks() if not _chunk_path(folder, s, c).is_file()]
    say = progress or (lambda line: None)
    n_workers = 1
    if todo and scheduler == "synchronous":
        for k, (s, c) in enumerate(todo, 1):
            _write_chunk(_chunk_path(folder, s, c), run_chunk(job, s, c))
            say(f"chunk {k}/{len(todo)} (scenario {s}, chunk {c})")
    elif todo:
        n_workers = _run_dask(job, folder, todo, scheduler, workers, processes, say)
    tables = [pd.read_parquet(_chunk_path(folder, s, c)) for s, c, _ in job.chunks()]
    table = pd.concat(tables, ignore_index=True)
    return RunResult(table=table, computed=tuple(todo), reused=len(job.chunks()) - len(todo),
                     workers=n_workers)


def _run_dask(job: PlanJob, folder: Path, todo: list[tuple[int, int]], scheduler: str | None,
              workers: int, processes: bool, say: Callable[[str], None]) -> int:
    from distributed import Client, LocalCluster, as_completed

    connect_timeout = 10

    if scheduler is None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise BridgeBayesError(f"workers: expected an integer >= 1, got {workers!r}")
        # no dashboard; the scheduler's HTTP server (metrics) on a free port, not 8787: a
        # second local cluster on the machine (another run) would collide with it
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                               dashboard_address=None, silence_logs=logging.ERROR,
                               scheduler_kwargs={"dashboard_address": ":0"})
    else:
        cluster = None
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise BridgeBayesError(f"scheduler {scheduler!r}: cannot connect ({exc})") from None
    try:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        shared = client.scatter(job, broadcast=True)
        futures = {client.submit(run_chunk, shared, s, c, pure=False): (s, c) for s, c in todo}
        for k, future in enumerate(as_completed(futures), 1):
            s, c = futures.pop(future)
            _write_chunk(_chunk_path(folder, s, c), future.result())
            future.release()
            say(f"chunk {k}/{len(todo)} (scenario {s}, chunk {c})")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return n_workers
