"""Benchmark trial planning: exact path, NUTS path, and 1 vs 2 Dask workers.

Run:  python benchmarks/planning.py [--trials 10000] [--out benchmarks/RESULTS.md]

Every figure is a median of 3 repeats with a baseline measured in the same run:
* exact path: the vectorised PEM posterior (``plan.exact_batch``) on ``--trials`` simulated
  trials vs ``bridgebayes.models.exact.pem_posterior`` called trial by trial;
* simulation + analysis of one chunk (the work of a Dask task), trials per second;
* NUTS path: ``plan.nuts_path.NutsAnalyser`` through the one NUTS driver
  (``bridgebayes.inference.driver.sample``; nutpie backend: model compiled once, data swapped;
  pymc backend: ``pm.sample`` per trial) vs building and sampling a fresh PyMC model per trial
  (``pm.sample``), Weibull PH, 2 chains x (500 tune + 500 draws);
* Dask: the same job on an already running local cluster of 1 and of 2 worker processes
  (cluster start-up reported separately), speed-up = time(1) / time(2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import pem_posterior
from bridgebayes.models.exact_batch import NormalMixture, pem_prob_below, pem_stats
from bridgebayes.models.families import PiecewiseExponentialPH
from bridgebayes.plan.analyse import AnalysisPlan, analysis_prior
from bridgebayes.plan.dask_runner import run_job
from bridgebayes.plan.design_prior import explicit_prior
from bridgebayes.plan.run import PlanJob, Scenario, run_chunk
from bridgebayes.plan.simulate import TrialDesign, simulate_trials

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Trial planning: exact path, NUTS path, Dask workers"
CUTS = (6.0, 12.0, 24.0)
PRIOR = explicit_prior(log_hr_mu=-0.3, log_hr_sigma=0.3,
                       family=PiecewiseExponentialPH(cuts=(12.0,)),
                       baseline={"lambda": [0.05, 0.03]})
DESIGN = TrialDesign(n_total=150, accrual_rate=4.0, min_followup=24.0, dropout_hazard=0.005)

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, median_time, write_section  # noqa: E402


def _endpoint(trials, i: int) -> EndpointData:
    m = trials.enrolled[i]
    return EndpointData("t", trials.time[i][m], trials.event[i][m].astype(int), trials.arm[m],
                        ("reference", "treatment"), np.arange(int(m.sum())))


def exact_path(n_trials: int) -> list[str]:
    rng = np.random.default_rng(1)
    trials = simulate_trials(DESIGN, PRIOR.sample(n_trials, rng), rng)
    d, e = pem_stats(trials.time, trials.event, trials.arm, trials.enrolled, np.array(CUTS))
    prior = NormalMixture.normal(0.0, 10.0)
    fast = median_time(lambda: pem_prob_below(d, e, prior)) / n_trials
    n_slow = 100
    slow = median_time(lambda: [pem_posterior(_endpoint(trials, i), cuts=CUTS, log_hr_mu=0.0,
                                               log_hr_sigma=10.0).prob_hr_below(1.0)
                                 for i in range(n_slow)]) / n_slow
    plan = AnalysisPlan(CUTS, (("vague", analysis_prior("vague")),))
    job = PlanJob((Scenario("a", DESIGN, None, 5000),), PRIOR, plan, seed=1, chunk_size=5000)
    chunk = median_time(lambda: run_chunk(job, 0, 0)) / 5000
    return [
        f"| exact path: P(HR<1) per trial, {n_trials} trials vectorised (N = 150, 4 intervals) "
        f"| {1 / fast:,.0f} trials/s | `exact.pem_posterior` one by one: {1 / slow:,.0f} "
        f"trials/s | {slow / fast:,.0f}x faster |",
        f"| simulate + analyse one chunk (5,000 trials; log-rank + 1 prior) | "
        f"{1 / chunk:,.0f} trials/s | - | - |",
    ]


def nuts_path(n_trials: int = 3) -> list[str]:
    import pymc as pm

    from bridgebayes.models.families import WeibullPH
    from bridgebayes.plan.nuts_path import NutsAnalyser

    rng = np.random.default_rng(2)
    trials = simulate_trials(DESIGN, PRIOR.sample(n_trials + 1, rng), rng)
    family = WeibullPH(log_hr_sigma=10.0)

    def fresh():  # baseline: build, compile and sample a new PyMC model per trial
        for i in range(n_trials):
            pm.sample(model=family.build_model(_endpoint(trials, i)), draws=500, tune=500,
                      chains=2, cores=1, random_seed=i, progressbar=False,
                      compute_convergence_checks=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = median_time(fresh) / n_trials
        rows = []
        for backend in ("nutpie", "pymc"):
            nuts = NutsAnalyser(family, chains=2, tune=500, draws=500, backend=backend)
            start = time.perf_counter()
            nuts.log_hr_draws(_endpoint(trials, n_trials), seed=0)  # compile once
            first = time.perf_counter() - start
            reuse = median_time(lambda n=nuts: [n.log_hr_draws(_endpoint(trials, i), seed=i)
                                                 for i in range(n_trials)]) / n_trials
            how = "compiled once" if backend == "nutpie" else "`pm.sample` per trial"
            rows.append(f"| NUTS path ({backend}, {how}; first trial incl. compile "
                        f"{first:.1f} s), Weibull PH, 2 chains x (500 + 500) | "
                        f"{1 / reuse:.2f} trials/s ({reuse:.2f} s/trial) | fresh `pm.sample` "
                        f"model per trial: {1 / base:.2f} trials/s ({base:.2f} s/trial) | "
                        f"{base / reuse:.1f}x faster |")
    return rows


def dask_workers(n_trials: int) -> list[str]:
    from distributed import LocalCluster

    plan = AnalysisPlan(CUTS, (("vague", analysis_prior("vague")),
                               ("skeptical", analysis_prior("skeptical"))))
    job = PlanJob((Scenario("a", DESIGN, None, n_trials),), PRIOR, plan, seed=3,
                  chunk_size=2500)
    out, startup = {}, []
    for workers in (1, 2):
        start = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            startup.append(time.perf_counter() - start)

            def once(address=cluster.scheduler_address):
                with tempfile.TemporaryDirectory() as tmp:
                    run_job(job, tmp, scheduler=address)

            out[workers] = median_time(once)
    return [f"| Dask, {n_trials:,} trials in {n_trials // 2500} chunks, local cluster of 2 "
            f"processes (started: median {statistics.median(startup):.1f} s, not counted) | "
            f"{out[2]:.1f} s ({n_trials / out[2]:,.0f} trials/s) | 1 process: {out[1]:.1f} s "
            f"({n_trials / out[1]:,.0f} trials/s) | speed-up {out[1] / out[2]:.2f} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--dask-trials", type=int, default=50000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    rows = exact_path(args.trials) + nuts_path() + dask_workers(args.dask_trials)
    lines = [machine_line("python benchmarks/planning.py"), "",
             "Medians of 3 repeats. The machine's 2 cores may be shared with other jobs, which "
             "lowers the 2-worker speed-up.", "",
             "| measure | value | baseline (same run) | ratio |", "|---|---|---|---|", *rows]
    write_section(SECTION, lines, Path(args.out))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
