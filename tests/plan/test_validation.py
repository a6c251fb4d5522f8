"""Slow validation of trial planning (``pytest -m slow tests/plan/test_validation.py``).

* Schoenfeld (Biometrika 1981): HR 0.7, 1:1, two-sided alpha 0.05, 80% power needs 247
  events — the simulated log-rank power at 247 events is 0.80 within 2 MCSE;
* O'Hagan, Stevens & Campbell (Pharm Stat 2005) closed-form assurance for a Normal prior on
  the log HR, within 2 MCSE;
* a Bayesian rule calibrated on 10,000 null trials keeps type I error <= 0.025 + 2 MCSE on
  10,000 fresh null trials;
* identical results on 1 and 2 Dask worker processes; a run killed midway resumes and ends
  with the same table;
* the NUTS path (compiled once) agrees with the exact Weibull oracle.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH
from bridgebayes.plan.analyse import AnalysisPlan, analysis_prior
from bridgebayes.plan.dask_runner import run_job
from bridgebayes.plan.design_prior import explicit_prior
from bridgebayes.plan.formulas import ohagan_assurance, schoenfeld_events
from bridgebayes.plan.outputs import calibrate_gamma, proportion, success
from bridgebayes.plan.run import PlanJob, Scenario
from bridgebayes.plan.simulate import TrialDesign, simulate_trials

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
VAGUE = AnalysisPlan((6.0, 12.0), (("vague", analysis_prior("vague")),))

ONE_INTERVAL = PiecewiseExponentialPH(cuts=())  # a constant baseline hazard


def _events_job(prior, *, log_hr, events, n_sims, seed, n_total):
    design = TrialDesign(n_total=n_total, accrual_duration=12.0, analysis_events=events)
    return PlanJob((Scenario("x", design, log_hr, n_sims),), prior, VAGUE, seed=seed,
                   chunk_size=2500)


def test_schoenfeld_events_give_80_percent_power(tmp_path):
    events = round(schoenfeld_events(0.7, alpha=0.025, power=0.8))
    assert events == 247
    prior = explicit_prior(log_hr_mu=0.0, log_hr_sigma=1.0, family=ONE_INTERVAL,
                           baseline={"lambda": [0.05]})
    job = _events_job(prior, log_hr=math.log(0.7), events=events, n_sims=20000, seed=11,
                      n_total=1000)
    table = run_job(job, tmp_path / "run", scheduler="synchronous").table
    power, mcse = proportion(success(table, "logrank", alpha=0.025))
    assert (table["events"] == 247).all()
    assert abs(power - 0.80) <= 2 * mcse, (power, mcse)


def test_ohagan_stevens_campbell_assurance(tmp_path):
    mu, sigma, events = math.log(0.75), 0.15, 200
    prior = explicit_prior(log_hr_mu=mu, log_hr_sigma=sigma, family=ONE_INTERVAL,
                           baseline={"lambda": [0.05]})
    job = _events_job(prior, log_hr=None, events=events, n_sims=20000, seed=12, n_total=600)
    table = run_job(job, tmp_path / "run", scheduler="synchronous").table
    assurance, mcse = proportion(success(table, "logrank", alpha=0.025))
    want = ohagan_assurance(mu, sigma, events, alpha=0.025)
    assert abs(assurance - want) <= 2 * mcse, (assurance, want, mcse)


def test_calibrated_bayesian_rule_keeps_type_one_error(tmp_path):
    prior = explicit_prior(log_hr_mu=0.0, log_hr_sigma=0.5,
                           family=PiecewiseExponentialPH(cuts=(12.0,)),
                           baseline={"lambda": [0.06, 0.03]})
    design = TrialDesign(n_total=60, accrual_rate=4.0, min_followup=12.0, dropout_hazard=0.005)
    plan = AnalysisPlan((6.0, 12.0, 24.0), (
        ("vague", analysis_prior("vague")),
        ("borrowing", analysis_prior("borrowing", posterior_log_hr=np.random.default_rng(
            1).normal(-0.5, 0.35, 4000), borrow_a0=0.5, borrow_weight=0.2))))
    null = (Scenario("null", design, 0.0, 10000),)
    calib = run_job(PlanJob(null, prior, plan, seed=21, chunk_size=2500), tmp_path / "a",
                    scheduler="synchronous").table
    fresh = run_job(PlanJob(null, prior, plan, seed=22, chunk_size=2500), tmp_path / "b",
                    scheduler="synchronous").table
    for rule in ("post_vague", "post_borrowing"):
        gamma = calibrate_gamma(calib[rule].to_numpy(), alpha=0.025)
        type1, mcse = proportion(success(fresh, rule, gamma=gamma))
        assert type1 <= 0.025 + 2 * mcse, (rule, gamma, type1, mcse)


def _job(n_sims=4000, chunk_size=500):
    prior = explicit_prior(log_hr_mu=-0.3, log_hr_sigma=0.3,
                           family=PiecewiseExponentialPH(cuts=(12.0,)),
                           baseline={"lambda": [0.05, 0.03]})
    design = TrialDesign(n_total=150, accrual_duration=24.0, min_followup=12.0,
                         dropout_hazard=0.01)
    return PlanJob((Scenario("assurance", design, None, n_sims),
                    Scenario("null", design, 0.0, n_sims)), prior, VAGUE, seed=5,
                   chunk_size=chunk_size)


def test_one_and_two_dask_worker_processes_agree(tmp_path):
    one = run_job(_job(), tmp_path / "one", workers=1)
    two = run_job(_job(), tmp_path / "two", workers=2)
    assert (one.workers, two.workers) == (1, 2)
    assert one.table.equals(two.table) and len(one.table) == 8000


def test_a_killed_run_resumes(tmp_path):
    folder = tmp_path / "run"
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]
        from test_validation import _job
        from bridgebayes.plan.dask_runner import run_job
        if __name__ == "__main__":
            run_job(_job(n_sims=20000, chunk_size=500), {str(folder)!r}, workers=2)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = folder / "chunks"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(chunks.glob("*.parquet"))) < 4:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name for p in chunks.glob("*.parquet")}
    assert 4 <= len(done) < 80, "the run was not interrupted midway"
    job = _job(n_sims=20000, chunk_size=500)
    resumed = run_job(job, folder, scheduler="synchronous")
    assert len(resumed.computed) == 80 - len(done) and resumed.reused == len(done)
    reference = run_job(job, tmp_path / "reference", scheduler="synchronous")
    assert resumed.table.equals(reference.table)


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    with pytest.raises(BridgeBayesError, match="cannot connect"):
        run_job(_job(n_sims=10, chunk_size=10), tmp_path / "r", scheduler="tcp://127.0.0.1:1")


@pytest.mark.parametrize("backend", ["nutpie", "pymc"])
def test_nuts_path_agrees_with_the_exact_weibull_oracle(backend):
    from bridgebayes.models.families import WeibullPH
    from bridgebayes.plan.nuts_path import NutsAnalyser

    rng = np.random.default_rng(2)
    prior = explicit_prior(log_hr_mu=-0.3, log_hr_sigma=0.3, family="weibull",
                           baseline={"k": 1.2, "lam": 0.03})
    trials = simulate_trials(TrialDesign(n_total=60, accrual_duration=12.0, min_followup=12.0),
                             prior.sample(3, rng), rng)
    nuts = NutsAnalyser(WeibullPH(log_hr_sigma=2.0), chains=2, tune=500, draws=2000,
                        backend=backend)
    probs = nuts.analyse(trials, seed=1)
    for i in range(3):
        m = trials.enrolled[i]
        data = EndpointData("t", trials.time[i][m], trials.event[i][m].astype(int),
                            trials.arm[m], ("a", "b"), np.arange(int(m.sum())))
        exact = weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=2.0).prob_hr_below(1.0)
        # 4000 correlated draws: MC SE of a probability <= 0.5 / sqrt(ESS ~ 1000) ~ 0.016
        assert abs(probs[i] - exact) < 0.05, (i, probs[i], exact)
