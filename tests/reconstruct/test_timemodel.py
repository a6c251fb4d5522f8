"""Tests for :mod:`bridgebayes.reconstruct.timemodel`: the censoring model against a direct
simulation (lifelines' reverse Kaplan–Meier), its density against its survival function, and
the fit to a published follow-up."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from scipy.integrate import quad

from bridgebayes.core.errors import PublishedSummaryError
from bridgebayes.reconstruct.timemodel import CensoringModel, fit_censoring

FOLLOWUP = {"median": 28.07, "min": 2.29, "max": 92.21}


def test_fit_matches_the_reverse_km_median_of_a_simulated_study():
    model = fit_censoring(window=72.0, shape=3.0, followup=FOLLOWUP)
    rng = np.random.default_rng(1)
    n = 200_000
    transplant = 72.0 * rng.random(n) ** (1 / 3.0)  # inverse CDF of u^2 on [0, 72]
    admin = 92.21 - transplant
    loss = rng.exponential(1 / model.loss_rate, n)
    death = rng.exponential(40.0, n)  # deaths censor the reverse KM
    followup = np.minimum.reduce([admin, loss, death])
    censored = (followup < death).astype(int)
    km = KaplanMeierFitter().fit(followup, censored)  # reverse KM: censoring is the event
    assert km.median_survival_time_ == pytest.approx(28.07, abs=0.3)
    assert model.cutoff == 92.21
    assert model.loss_per_year == pytest.approx(0.1376, abs=1e-4)


@pytest.mark.parametrize(("shape", "rate"), [(1.0, 0.0), (3.0, 0.0123), (0.5, 0.05)])
def test_density_integrates_to_the_distribution(shape, rate):
    model = CensoringModel(72.0, shape, 92.21, rate)
    for t in (5.0, 20.21, 30.0, 80.0):
        mass, _ = quad(lambda x: float(model.density(x)), 0, t, points=[20.21], limit=200)
        assert mass == pytest.approx(1 - float(model.survival(t)), abs=1e-7)
    assert float(model.survival(92.21)) == 0.0


def test_without_loss_nobody_is_censored_before_the_end_of_accrual():
    model = CensoringModel(72.0, 3.0, 92.21, 0.0)
    assert float(model.survival(20.2)) == 1.0 and float(model.survival(20.3)) < 1.0
    assert model.shortest_administrative == pytest.approx(20.21)


def test_a_median_that_administrative_censoring_cannot_reach_is_an_error():
    with pytest.raises(PublishedSummaryError, match="no loss rate fits"):
        fit_censoring(window=72.0, shape=3.0, followup={**FOLLOWUP, "median": 40.0})
    with pytest.raises(PublishedSummaryError, match="cut-off cannot be fitted"):
        fit_censoring(window=72.0, shape=3.0, followup={**FOLLOWUP, "max": 50.0})
