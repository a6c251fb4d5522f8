"""Tests for :mod:`bridgebayes.plan.outputs` and :mod:`bridgebayes.plan.formulas`.

References: Schoenfeld's published example (HR 0.7, 1:1, two-sided 0.05, 80% power → 247
events); the assurance integral ``∫ power(theta) Normal(theta; mu, sigma) dtheta`` by
``scipy.integrate.quad``; counting for the calibration and the MCSE formula.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.plan.formulas import ohagan_assurance, schoenfeld_events
from bridgebayes.plan.outputs import (
    assurance_figure,
    calibrate_gamma,
    operating_table,
    proportion,
    sample_size_for,
    success,
)


def test_schoenfeld_events():
    assert round(schoenfeld_events(0.7)) == 247
    assert schoenfeld_events(0.7, allocation=2.0) == pytest.approx(
        schoenfeld_events(0.7) * 0.25 / (2 / 9), rel=1e-12)
    with pytest.raises(BridgeBayesError, match="hr"):
        schoenfeld_events(1.0)


@pytest.mark.parametrize("mu, sigma, events", [(np.log(0.75), 0.15, 200), (0.0, 0.5, 60),
                                               (np.log(0.6), 0.3, 120)])
def test_ohagan_assurance_is_the_prior_average_of_power(mu, sigma, events):
    def power(theta):
        return ohagan_assurance(theta, 0.0, events)

    want = integrate.quad(lambda t: power(t) * norm.pdf(t, mu, sigma), mu - 12 * sigma,
                          mu + 12 * sigma, epsabs=1e-13, epsrel=1e-12)[0]
    assert ohagan_assurance(mu, sigma, events) == pytest.approx(want, abs=1e-10)
    assert ohagan_assurance(np.log(0.7), 0.0, schoenfeld_events(0.7)) == pytest.approx(0.8)


def test_proportion_and_success():
    assert proportion(np.array([1, 1, 0, 0])) == (0.5, 0.25)
    table = pd.DataFrame({"logrank_z": [-2.0, -1.9], "post_vague": [0.98, 0.97],
                          "n_total": [10, 20]})
    assert success(table, "logrank").tolist() == [True, False]
    assert success(table, "post_vague", gamma=0.975).tolist() == [True, False]
    assert success(table, "post_vague", gamma={10: 0.99, 20: 0.9}).tolist() == [False, True]
    with pytest.raises(BridgeBayesError, match="rule"):
        success(table, "post_other")


def test_calibrate_gamma_keeps_type_one_error_at_most_alpha():
    rng = np.random.default_rng(1)
    for n in (40, 1000, 12345):
        p = rng.random(n)
        g = calibrate_gamma(p, alpha=0.025)
        assert np.mean(p > g) <= 0.025
        assert np.mean(p >= g) > 0.025  # the smallest such threshold among the values
    with pytest.raises(BridgeBayesError):
        calibrate_gamma(np.array([]))


def test_operating_table_and_sample_size():
    rng = np.random.default_rng(2)
    rows = []
    for s, shift in enumerate([-1.0, -2.0, -3.0]):
        rows.append(pd.DataFrame({"scenario": s, "events": 10 * (s + 1), "duration": 30.0,
                                  "reached": True,
                                  "logrank_z": rng.normal(shift, 1.0, 400)}))
    table = pd.concat(rows, ignore_index=True)
    scenarios = pd.DataFrame({"scenario": [0, 1, 2], "name": "assurance",
                              "n_total": [50, 100, 150], "hr": np.nan})
    oc = operating_table(table, scenarios, rules=["logrank"])
    for s in range(3):
        hits = table.loc[table["scenario"] == s, "logrank_z"] < -norm.ppf(0.975)
        assert oc.loc[s, "logrank"] == hits.mean()
        assert oc.loc[s, "logrank_mcse"] == pytest.approx(np.sqrt(hits.mean() * (1 - hits.mean())
                                                                  / 400))
    assert oc["expected_events"].tolist() == [10, 20, 30]
    want = oc.loc[oc["logrank"] >= 0.7, "n_total"].min()
    assert sample_size_for(oc, "logrank", 0.7) == want
    assert sample_size_for(oc, "logrank", 0.9999) is None
    fig = assurance_figure(oc, rules=["logrank"], target=0.8)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes[0].lines) >= 2
