"""Slow: NUTS fits against the exact quadrature oracle on 24 simulated data sets.

Both families (PEM with a Gamma baseline and given cut points; Weibull), n per arm 6–60,
censoring 0–70%, HR 0.4–2, Weibull shape 0.6–2, including arms without events.  Tolerances
(``simulation.nuts_vs_exact``): mean, SD and 5%/95% quantiles of log HR within
max(4 MCSE, 0.05 posterior SD); P(HR < 1) within max(0.01, 4 MCSE).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from simulation import nuts_vs_exact, simulate_weibull_trial

from bridgebayes.inference.fit import FitWarning, fit
from bridgebayes.models.exact import pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.piecewise import default_cuts

pytestmark = pytest.mark.slow

# (n per arm, censored fraction, HR, Weibull shape, events in the treatment arm, log-HR prior SD)
DESIGNS = [
    (6, 0.0, 0.4, 1.0, True, 1.0),
    (6, 0.3, 2.0, 0.6, True, 1.0),
    (6, 0.5, 0.6, 2.0, False, 1.0),
    (8, 0.7, 1.0, 1.3, True, 0.42),
    (10, 0.2, 0.5, 0.8, True, 1.0),
    (12, 0.0, 1.5, 1.6, True, 2.0),
    (15, 0.6, 0.7, 1.0, True, 1.0),
    (20, 0.4, 1.2, 0.6, True, 0.42),
    (25, 0.1, 0.4, 2.0, True, 1.0),
    (30, 0.7, 2.0, 1.2, True, 1.0),
    (45, 0.3, 0.8, 0.7, True, 2.0),
    (60, 0.5, 1.0, 1.5, True, 1.0),
]
CASES = [(family, j, design) for family in ("weibull", "pem") for j, design in enumerate(DESIGNS)]


def _data(j: int, design: tuple):
    n, censored, hr, shape, trt_events, _ = design
    data = simulate_weibull_trial(100 + j, n, shape=shape, hr=hr, censored=censored)
    if not trt_events:
        data.event[data.arm == 1] = 0
    return data


def test_the_designs_span_the_required_ranges():
    censored = [1 - _data(j, d).event.mean() for j, d in enumerate(DESIGNS)]
    assert min(censored) == 0.0 and max(censored) >= 0.6
    assert {d[0] for d in DESIGNS} >= {6, 60}
    assert min(d[2] for d in DESIGNS) == 0.4 and max(d[2] for d in DESIGNS) == 2.0
    assert min(d[3] for d in DESIGNS) == 0.6 and max(d[3] for d in DESIGNS) == 2.0
    assert any(_data(j, d).event[_data(j, d).arm == 1].sum() == 0 for j, d in enumerate(DESIGNS))
    assert len(CASES) >= 20


@pytest.mark.parametrize(("family", "j", "design"), CASES,
                         ids=[f"{f}-{j:02d}-n{d[0]}-c{d[1]:g}-hr{d[2]:g}-k{d[3]:g}"
                              for f, j, d in CASES])
def test_nuts_matches_the_exact_posterior(family, j, design):
    data, sigma = _data(j, design), design[-1]
    if family == "weibull":
        model = WeibullPH(log_hr_sigma=sigma)
        exact = weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=sigma)
    else:
        cuts = tuple(np.round(default_cuts(data.time, data.event, n_intervals=3), 3).tolist())
        model = PiecewiseExponentialPH(log_hr_sigma=sigma, cuts=cuts)
        exact = pem_posterior(data, cuts=cuts, log_hr_mu=0.0, log_hr_sigma=sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # guardrails are tested elsewhere
        result = fit(data, model, seed=1000 + j)
    assert result.gate.passed, result.gate.failures()
    checks = nuts_vs_exact(result.idata.posterior["log_hr"].to_numpy(), exact)
    failed = {k: v for k, v in checks.items() if v[0] > v[1]}
    assert not failed, f"|NUTS - exact| > tolerance: {failed} (all: {checks})"
