"""External reference: Freireich 6-MP leukaemia data (lifelines' load_leukemia), vague priors.

Acceptance (rstanarm's rule): posterior median log-HR within 0.5 posterior SD of lifelines'
maximum-likelihood fit — Cox for the piecewise-exponential model with many pieces,
WeibullAFT converted to PH for the Weibull model, whose shape must also be near the MLE.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import CoxPHFitter, WeibullAFTFitter
from lifelines.datasets import load_leukemia

from bridgebayes.data.survival_table import load_survival_table
from bridgebayes.inference.fit import fit
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.summaries.decision import label

VAGUE = 10.0


@pytest.fixture(scope="module")
def leukemia():
    frame = load_leukemia()
    data = load_survival_table(frame[["t", "status", "Rx"]], arms=("0", "1"), endpoint="remission",
                               duration_col="t", event_col="status", arm_col="Rx",
                               time_unit="weeks")
    return frame, data


def test_pem_with_many_pieces_matches_cox(leukemia):
    frame, data = leukemia
    cox = CoxPHFitter().fit(frame[["t", "status", "Rx"]], "t", "status")
    mle = float(cox.params_["Rx"])
    result = fit(data, PiecewiseExponentialPH(log_hr_sigma=VAGUE, n_intervals=8), seed=5)
    assert result.gate.passed, result.gate.failures()
    draws = result.draws()["log_hr"]
    assert abs(np.median(draws) - mle) <= 0.5 * draws.std()


def test_weibull_matches_weibull_aft_converted_to_ph(leukemia):
    frame, data = leukemia
    aft = WeibullAFTFitter().fit(frame[["t", "status", "Rx"]], "t", "status")
    shape = float(np.exp(aft.params_[("rho_", "Intercept")]))
    mle = -shape * float(aft.params_[("lambda_", "Rx")])  # PH coefficient = -shape x AFT
    result = fit(data, WeibullPH(log_hr_sigma=VAGUE), seed=5)
    assert result.gate.passed, result.gate.failures()
    draws = result.draws()
    assert abs(np.median(draws["log_hr"]) - mle) <= 0.5 * draws["log_hr"].std()
    assert abs(np.median(draws["k"]) - shape) <= 0.5 * draws["k"].std()
    row = result.decide(landmarks=(12.0,)).get("aft_factor")  # the family's own quantity
    assert label(row) == "AFT factor (ratio of medians)"
    aft = row["estimate"]
    assert aft == np.median(np.exp(-draws["log_hr"] / draws["k"]))
    assert aft < 1  # Rx = 1 (placebo) relapses sooner: shorter times
