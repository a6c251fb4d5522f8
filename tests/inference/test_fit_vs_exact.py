"""NUTS fits against the exact quadrature oracle (fast subset; the full set is slow)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from simulation import simulate_endpoint

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.fit import FitWarning, fit
from bridgebayes.models.exact import pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH


def simulated(seed: int, n_per_arm: int, *, hr: float, events_in_treatment: bool = True
              ) -> EndpointData:
    data = simulate_endpoint(seed, n_per_arm, shape=1.3, scale=20.0,
                             time_ratio=hr ** (-1 / 1.3), censor=(6.0, 40.0))
    if not events_in_treatment:
        data.event[data.arm == 1] = 0
    return data


def _mcse_sd(draws: np.ndarray) -> float:
    # ArviZ 0.23's numba path of mcse(method="sd") fails on numpy 2.4 (0-d conversion);
    # its numpy path computes the same quantity
    az.Numba.disable_numba()
    try:
        return float(az.mcse(draws, method="sd"))
    finally:
        az.Numba.enable_numba()


CASES = [
    ("n6-weibull", simulated(1, 6, hr=0.6), "weibull"),
    ("n6-no-treatment-events-pem", simulated(2, 6, hr=0.6, events_in_treatment=False), "pem"),
    ("n30-pem", simulated(3, 30, hr=0.7), "pem"),
]


@pytest.mark.parametrize(("data", "family"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_nuts_agrees_with_the_exact_posterior(data, family):
    sigma = 1.0
    if family == "weibull":
        model = WeibullPH(log_hr_sigma=sigma)
        exact = weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=sigma)
    else:
        model = PiecewiseExponentialPH(log_hr_sigma=sigma, n_intervals=3)
        cuts = model.data_arrays(data)["cuts"]
        exact = pem_posterior(data, cuts=cuts, log_hr_mu=0.0, log_hr_sigma=sigma)
    if data.event[data.arm == 1].sum() < 5 or data.event[data.arm == 0].sum() < 5:
        with pytest.warns(FitWarning, match="event"):
            result = fit(data, model, seed=11)
    else:
        result = fit(data, model, seed=11)
    assert result.gate.passed, result.gate.failures()
    log_hr = result.idata.posterior["log_hr"]
    mean, sd = float(log_hr.mean()), float(log_hr.std())
    mcse_mean = float(az.mcse(result.idata, var_names=["log_hr"])["log_hr"])
    mcse_sd = _mcse_sd(log_hr.to_numpy())
    tol = max(4 * mcse_mean, 0.05 * exact.log_hr_sd())
    assert abs(mean - exact.log_hr_mean()) <= tol
    assert abs(sd - exact.log_hr_sd()) <= max(4 * mcse_sd, 0.05 * exact.log_hr_sd())
    assert abs(float((log_hr < 0).mean()) - exact.prob_hr_below(1.0)) <= 0.01 + \
        4 * np.sqrt(exact.prob_hr_below(1.0) * (1 - exact.prob_hr_below(1.0)) / 4000)


def test_guardrails_flag_an_arm_without_events_and_a_prior_dominated_hr():
    data = simulated(2, 6, hr=0.6, events_in_treatment=False)
    with pytest.warns(FitWarning) as record:
        result = fit(data, WeibullPH(log_hr_sigma=0.3), seed=4)
    messages = [str(w.message) for w in record]
    assert any("arm 'treatment' has 0 event(s)" in m for m in messages)
    assert any("posterior SD of log HR is" in m for m in messages)
    assert result.notes == tuple(messages)
