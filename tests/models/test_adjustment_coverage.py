"""Coverage of the g-computation's 95% interval over simulated confounded cohorts (slow).

200 cohorts of 200 patients from the synthetic generator (data/examples/make_confounded_cohort.py,
seeds 1..200), a Weibull fit with both confounders (2 chains x 400 draws), the ATE RMST(24)
difference by g-computation with Bayesian-bootstrap weights: the share of 95% intervals that
cover the quadrature truth must lie within 3 MCSE of 0.95 (MCSE = sqrt(0.95 x 0.05 / 200) =
0.015).  Passed once in 25 minutes on a shared 2-core machine (3 December 2026).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulation import confounded_generator

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.fit import fit
from bridgebayes.models import adjustment
from bridgebayes.models.families import WeibullPH

N_COHORTS, N_PATIENTS = 200, 200



@pytest.mark.slow
def test_g_computation_interval_covers_the_truth_at_its_nominal_rate():
    gen = confounded_generator()
    truth = gen.truth()["ate"][f"rmst_difference_{gen.TAU:g}"]
    family = WeibullPH(covariates=("severity", "high_risk"))
    sampler = SamplerSettings(chains=2, draws=400, tune=400)
    grid = np.linspace(0.0, gen.TAU, 241)
    covered = []
    for seed in range(1, N_COHORTS + 1):
        c = gen.simulate(N_PATIENTS, np.random.default_rng(seed))
        covariates = pd.DataFrame({"severity": c["severity"],
                                   "high_risk": c["high_risk"].astype(float)})
        data = EndpointData("os", c["time"], c["event"], c["arm"], ("control", "treated"),
                            np.arange(N_PATIENTS), covariates=covariates)
        posterior = fit(data, family, seed=seed, sampler=sampler)
        draws, n = adjustment.thin_draws(posterior.draws(),
                                         list(posterior.idata.posterior.data_vars), chains=2,
                                         at_most=800)
        w = adjustment.bootstrap_weights(c["arm"], n, estimand="ate",
                                         rng=np.random.default_rng(seed))
        s = adjustment.marginal_survival(posterior.family, draws,
                                         covariates.to_numpy(float), w)
        diff = np.trapezoid(s(grid, 1) - s(grid, 0), grid, axis=1)
        lo, hi = np.quantile(diff, [0.025, 0.975])
        covered.append(lo < truth < hi)
    rate = float(np.mean(covered))
    mcse = np.sqrt(0.95 * 0.05 / N_COHORTS)
    assert abs(rate - 0.95) < 3 * mcse, rate
