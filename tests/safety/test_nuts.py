"""Slow: NUTS fits of time to engraftment against the exact quadrature posterior
(bridgebayes/safety/time_to_engraftment.py).  Tolerances: posterior medians of each arm's
median days within 0.2 posterior SD; P(faster engraftment) within 0.03."""

from __future__ import annotations

import numpy as np
import pytest
from safety_cohorts import engraftment_cohort

from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.safety import engraftment

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("family", ["weibull", "piecewise_exponential"])
def test_nuts_engraftment_agrees_with_exact(family):
    cohort = engraftment_cohort(13, 40, k=4.0, scale=(16.0, 13.0))
    exact = engraftment(cohort, family=family, n_draws=20000, seed=1)
    nuts = engraftment(cohort, family=family, method="nuts", seed=1,
                       sampler=SamplerSettings(chains=2, draws=1000, tune=1000))
    assert nuts.fit.gate.passed
    for arm in (0, 1):
        e, s = exact.median_days(arm), nuts.median_days(arm)
        assert abs(np.median(e) - np.median(s)) < 0.2 * e.std()
    assert abs(exact.prob_faster - nuts.prob_faster) < 0.03

