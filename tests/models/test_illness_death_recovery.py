"""Slow: the illness–death model recovers known transition hazards (issue 4 done-when).

40 simulated data sets (100 patients per arm, Weibull transitions with clock reset, uniform
censoring 12–48 months); each fitted by NUTS (one fit per transition, each gated); at least
90% of the replications pass every transition's gate.  For every transition the true hazard
ratio must lie inside the 90% equal-tailed interval in at least 85% of the replications; over
all nine parameters (HR, shape k, scale lam of each transition) the pooled coverage must also
be at least 85% (expected: 90%).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.multistate import fit_illness_death
from bridgebayes.models.illness_death import TRANSITIONS, simulate_illness_death

LAM, K, HR = (0.03, 0.01, 0.08), (1.2, 0.9, 1.0), (0.6, 1.3, 1.0)
N_REPLICATIONS = 40


@pytest.mark.slow
def test_transition_hazards_are_recovered():
    logging.getLogger("pymc").setLevel(logging.ERROR)
    truth = {"hr": np.array(HR), "k": np.array(K), "lam": np.array(LAM)}
    inside = {name: np.zeros((N_REPLICATIONS, 3), bool) for name in truth}
    gates = []
    # one nutpie fit per transition; NRM's log HR and baseline level are correlated (bulk ESS
    # about a quarter of the draws), so 2 x 600 draws often miss the gate's ESS 400 even after
    # the retry (34/40 passed); 2 x 1000, as the SBC NUTS path, pass
    sampler = SamplerSettings(chains=2, draws=1000, tune=1000, retry_tune=1500)
    for rep in range(N_REPLICATIONS):
        data = simulate_illness_death(n_per_arm=100, lam=LAM, k=K, hr=HR, censor=(12.0, 48.0),
                                      rng=1000 + rep)
        result = fit_illness_death(data, seed=rep, sampler=sampler)
        gates.append(result.gate_passed)
        for name, value in truth.items():
            draws = np.column_stack([result.draws[t][name] for t in TRANSITIONS])
            lower, upper = np.quantile(draws, [0.05, 0.95], axis=0)
            inside[name][rep] = (lower <= value) & (value <= upper)
    coverage = {name: dict(zip(TRANSITIONS, hits.mean(axis=0).round(3).tolist(), strict=True))
                for name, hits in inside.items()}
    print("coverage of the 90% intervals:", coverage, "gates passed:", sum(gates))
    assert np.all(inside["hr"].mean(axis=0) >= 0.85), coverage
    assert np.mean([hits.mean() for hits in inside.values()]) >= 0.85, coverage
    assert sum(gates) >= 0.9 * N_REPLICATIONS
