"""Tests for chunked, seeded, resumable planning runs (:mod:`bridgebayes.plan.run`,
:mod:`bridgebayes.plan.dask_runner`).  Dask runs here use a local cluster of threads (fast
start); the process-cluster and kill tests are in ``tests/plan/test_validation.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import PiecewiseExponentialPH
from bridgebayes.plan.analyse import AnalysisPlan, analysis_prior
from bridgebayes.plan.dask_runner import run_job
from bridgebayes.plan.design_prior import explicit_prior
from bridgebayes.plan.run import PlanJob, Scenario, run_chunk
from bridgebayes.plan.simulate import TrialDesign


def make_job(*, seed: int = 7, n_sims: int = 300, chunk_size: int = 100) -> PlanJob:
    prior = explicit_prior(log_hr_mu=-0.3, log_hr_sigma=0.3,
                           family=PiecewiseExponentialPH(cuts=(12.0,)),
                           baseline={"lambda": [0.05, 0.03]})
    design = TrialDesign(n_total=40, accrual_duration=12.0, min_followup=6.0,
                         dropout_hazard=0.01)
    plan = AnalysisPlan((6.0, 18.0), (("vague", analysis_prior("vague")),
                                      ("skeptical", analysis_prior("skeptical"))))
    scenarios = (Scenario("assurance", design, None, n_sims), Scenario("null", design, 0.0,
                                                                       n_sims - 50))
    return PlanJob(scenarios, prior, plan, seed=seed, chunk_size=chunk_size)


def test_chunks_and_seeds():
    job = make_job()
    assert job.chunks() == [(0, 0, 100), (0, 1, 100), (0, 2, 100), (1, 0, 100), (1, 1, 100),
                            (1, 2, 50)]
    a, b = run_chunk(job, 0, 1), run_chunk(job, 0, 1)
    assert a.equals(b) and a["sim"].tolist() == list(range(100, 200))
    assert not a["logrank_z"].equals(run_chunk(job, 0, 0)["logrank_z"])
    assert (run_chunk(job, 1, 2)["true_log_hr"] == 0).all()
    assert make_job().fingerprint() == job.fingerprint() != make_job(seed=8).fingerprint()
    with pytest.raises(BridgeBayesError, match="no chunk"):
        run_chunk(job, 1, 3)


def test_same_seed_same_results_for_one_and_two_workers(tmp_path):
    job = make_job()
    sync = run_job(job, tmp_path / "s", scheduler="synchronous")
    one = run_job(job, tmp_path / "one", workers=1, processes=False)
    two = run_job(job, tmp_path / "two", workers=2, processes=False)
    assert (one.workers, two.workers) == (1, 2)
    assert sync.table.equals(one.table) and sync.table.equals(two.table)
    assert len(sync.table) == 550 and sync.reused == 0


def test_resume_computes_only_missing_chunks(tmp_path):
    job = make_job()
    full = run_job(job, tmp_path / "run", scheduler="synchronous")
    files = sorted((tmp_path / "run" / "chunks").glob("*.parquet"))
    for f in files[::2]:
        f.unlink()
    (tmp_path / "run" / "chunks" / ".s000_c00001.parquet.x.tmp").write_bytes(b"partial")
    again = run_job(job, tmp_path / "run", workers=2, processes=False)
    assert again.computed == ((0, 0), (0, 2), (1, 1)) and again.reused == 3
    assert again.table.equals(full.table)
    assert run_job(job, tmp_path / "run", scheduler="synchronous").computed == ()


def test_a_folder_of_another_job_is_refused(tmp_path):
    run_job(make_job(n_sims=60), tmp_path / "run", scheduler="synchronous")
    with pytest.raises(BridgeBayesError, match="different planning job"):
        run_job(make_job(seed=9, n_sims=60), tmp_path / "run", scheduler="synchronous")
    other = run_job(make_job(seed=9, n_sims=60), tmp_path / "run", scheduler="synchronous",
                    force=True)
    assert len(other.computed) == 2


def test_bad_jobs_are_refused():
    job = make_job()
    with pytest.raises(BridgeBayesError, match="chunk_size"):
        PlanJob(job.scenarios, job.design_prior, job.analysis, seed=1, chunk_size=0)
    with pytest.raises(BridgeBayesError, match="n_sims"):
        Scenario("x", job.scenarios[0].design, None, 0)


def test_fixed_log_hr_scenarios_keep_design_prior_baselines():
    job = make_job()
    null = run_chunk(job, 1, 0)
    assert np.all(null["true_log_hr"] == 0.0) and null["n_enrolled"].eq(40).all()


def test_a_local_cluster_does_not_need_port_8787(tmp_path):
    """Another Dask cluster (or anything) on the default dashboard port: no collision."""
    import contextlib
    import socket

    with contextlib.ExitStack() as stack:
        holder = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        with contextlib.suppress(OSError):  # already taken by someone else: just as good
            holder.bind(("", 8787))
            holder.listen()
        result = run_job(make_job(n_sims=60), tmp_path / "run", workers=1, processes=False)
    assert len(result.table) == 60 + 10


def test_the_fingerprint_holds_the_bias_discount():
    job = make_job()
    biased = PlanJob(job.scenarios, job.design_prior.discounted(bias_mu=0.1, bias_sigma=0.2),
                     job.analysis, seed=job.seed, chunk_size=job.chunk_size)
    wider = PlanJob(job.scenarios, job.design_prior.discounted(bias_mu=0.1, bias_sigma=0.3),
                    job.analysis, seed=job.seed, chunk_size=job.chunk_size)
    assert len({job.fingerprint(), biased.fingerprint(), wider.fingerprint()}) == 3
