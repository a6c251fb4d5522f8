"""External references with vague priors vs lifelines' maximum-likelihood fits.

Data: the Freireich 6-MP leukaemia trial (lifelines ``load_leukemia``; ``Rx``, weeks) and the
German Breast Cancer Study Group trial (``load_gbsg2``; hormone therapy ``horTh`` no/yes,
days, 686 patients).  ``tests/inference/test_freireich.py`` already fits the Freireich data
with NUTS against Cox and WeibullAFT; here both data sets go through the exact oracle, the
PEM is also compared with lifelines' ``PiecewiseExponentialRegressionFitter`` on the same
breakpoints, and GBSG2 gets one NUTS fit per family.

Acceptance (rstanarm's rule): posterior median log HR within 0.5 standard errors of the
frequentist estimate (SE from lifelines).  WeibullAFT is converted to PH:
``log_hr = −k · coef`` with ``k = exp(rho_ intercept)`` (SE by the delta method).
``PiecewiseExponentialRegressionFitter`` gives every interval its own arm coefficient
(hazard ``exp(−beta_j · x)``); a large penalty on their variance makes them equal, i.e. the
PH model the PEM family fits (the intercepts, the baseline hazards, are not penalised).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, PiecewiseExponentialRegressionFitter, WeibullAFTFitter
from lifelines.datasets import load_gbsg2, load_leukemia

from bridgebayes.data.survival_table import load_survival_table
from bridgebayes.inference.fit import FitWarning, fit
from bridgebayes.models.exact import pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.piecewise import default_cuts

VAGUE = 10.0  # log HR prior SD
A0 = 0.01  # Gamma baseline shape: weaker than the default 0.1


def _data(name):
    if name == "freireich":
        frame = load_leukemia().rename(columns={"t": "duration", "status": "event"})
        frame["arm"] = frame["Rx"].astype(str)
        return load_survival_table(frame[["duration", "event", "arm"]], arms=("0", "1"),
                                   endpoint="remission",
                                   time_unit="weeks")
    frame = load_gbsg2().rename(columns={"time": "duration", "cens": "event",
                                         "horTh": "arm"})
    return load_survival_table(frame[["duration", "event", "arm"]], arms=("no", "yes"),
                               endpoint="rfs", time_unit="days")


@pytest.fixture(scope="module", params=["freireich", "gbsg2"])
def reference(request):
    """Data (months) and lifelines' fits on the same months data and PEM breakpoints."""
    data = _data(request.param)
    frame = pd.DataFrame({"T": data.time, "E": data.event, "x": data.arm.astype(float)})
    cuts = default_cuts(data.time, data.event, n_intervals=6)
    cox = CoxPHFitter().fit(frame, "T", "E")
    aft = WeibullAFTFitter().fit(frame, "T", "E")
    with warnings.catch_warnings():  # lifelines' convergence chatter on the penalised fit
        warnings.simplefilter("ignore")
        pem = PiecewiseExponentialRegressionFitter(breakpoints=cuts, penalizer=1e4).fit(
            frame, "T", "E")
    log_k, coef = aft.params_[("rho_", "Intercept")], aft.params_[("lambda_", "x")]
    k = np.exp(log_k)
    cov = aft.variance_matrix_.loc[[("rho_", "Intercept"), ("lambda_", "x")],
                                   [("rho_", "Intercept"), ("lambda_", "x")]].to_numpy()
    grad = np.array([-k * coef, -k])  # d(−k · coef) / d(log k, coef)
    pem_coefs = np.array([pem.params_[(f"lambda_{j}_", "x")] for j in range(cuts.size + 1)])
    return {
        "name": request.param, "data": data, "cuts": cuts,
        "cox": (float(cox.params_["x"]), float(cox.standard_errors_["x"])),
        "weibull": (float(-k * coef), float(np.sqrt(grad @ cov @ grad))), "k": float(k),
        "pem": (float(-pem_coefs.mean()), float(pem.standard_errors_[("lambda_0_", "x")])),
        "pem_spread": float(np.ptp(pem_coefs)),
    }


def _within(median: float, estimate: tuple[float, float]) -> bool:
    mle, se = estimate
    return abs(median - mle) <= 0.5 * se


def test_penalised_lifelines_pem_is_proportional_hazards(reference):
    assert reference["pem_spread"] < 1e-3  # one arm coefficient shared by the intervals


def test_exact_pem_matches_lifelines_pem_regression_and_cox(reference):
    post = pem_posterior(reference["data"], cuts=reference["cuts"], log_hr_mu=0.0,
                         log_hr_sigma=VAGUE, a0=A0)
    median = post.log_hr_quantile(0.5)
    assert _within(median, reference["pem"]), (median, reference["pem"])
    assert _within(median, reference["cox"]), (median, reference["cox"])
    # the same PH model: the posterior SD is close to the MLE's standard error
    assert post.log_hr_sd() == pytest.approx(reference["pem"][1], rel=0.1)


def test_exact_weibull_matches_weibull_aft_converted_to_ph(reference):
    post = weibull_posterior(reference["data"], log_hr_mu=0.0, log_hr_sigma=VAGUE, a0=A0)
    median = post.log_hr_quantile(0.5)
    assert _within(median, reference["weibull"]), (median, reference["weibull"])
    assert post.log_hr_sd() == pytest.approx(reference["weibull"][1], rel=0.1)
    k = post.draws(4000, rng=1)["k"]
    assert abs(np.median(k) - reference["k"]) <= 0.5 * k.std()


def test_gbsg2_nuts_fits_match_lifelines(reference):
    if reference["name"] != "gbsg2":
        pytest.skip("Freireich NUTS fits: tests/inference/test_freireich.py")
    data = reference["data"]
    families = {"pem": PiecewiseExponentialPH(cuts=tuple(reference["cuts"]), a0=A0,
                                              log_hr_sigma=VAGUE),
                "weibull": WeibullPH(a0=A0, log_hr_sigma=VAGUE)}
    for name, family in families.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            result = fit(data, family, seed=11)
        assert result.gate.passed, result.gate.failures()
        median = float(np.median(result.draws()["log_hr"]))
        assert _within(median, reference[name]), (name, median, reference[name])
        assert _within(median, reference["cox"]), (name, median, reference["cox"])
