"""The contract every registered family meets (one parametrised suite over the registry).

For each family in :data:`bridgebayes.models.families.FAMILIES`: the per-patient
log-likelihood equals ``event · log h(t) − ∫ h`` with the integral by quadrature of the
family's own hazard; survival is a survival function; simulated data (from its prior draws and
its inverse cumulative hazard) are recovered by its posterior (exact where there is an oracle,
else NUTS); NUTS agrees with the exact oracle where one exists; options round-trip through a
TOML table; every family is calibrated by simulation (it has an SBC model).
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import tomli_w
from scipy import integrate

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families import FAMILIES
from bridgebayes.sbc.models import SCENARIOS
from bridgebayes.sbc.registry import MODELS

NAMES = sorted(FAMILIES)


def _calibrated(name: str):
    """The family with a fixed prior (its SBC configuration) in the large scenario."""
    return MODELS[name].family(SCENARIOS["large"])


def _draw(name: str, seed: int) -> dict[str, np.ndarray]:
    return _calibrated(name).prior_draws(1, np.random.default_rng(seed))


def _simulate(name: str, n: int, seed: int, truth) -> EndpointData:
    family, rng = _calibrated(name), np.random.default_rng(seed)
    arm = np.repeat([0, 1], n)
    time = family.event_times(truth, rng.exponential(size=arm.size), arm)
    censor = rng.uniform(24.0, 48.0, arm.size)
    return EndpointData("sim", np.minimum(time, censor), (time <= censor).astype(int), arm,
                        ("ref", "trt"), np.arange(arm.size))


def test_every_family_is_calibrated_by_simulation():
    assert set(NAMES) <= set(MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_log_likelihood_matches_the_integrated_hazard(name):
    family, draws = _calibrated(name), _draw(name, 3)
    draws["log_hr"] = np.array([-0.4])
    data = EndpointData("x", np.array([0.7, 5.0, 13.0, 30.0]), np.array([1, 0, 1, 0]),
                        np.array([0, 1, 1, 0]), ("ref", "trt"), np.arange(4))
    ours = family.log_likelihood(draws, data)[0]
    points = list(getattr(family, "cuts", None) or ())
    for i, (t, d, x) in enumerate(zip(data.time, data.event, data.arm, strict=True)):
        # in log time, h(e^v) e^v: smooth where a hazard is singular at 0 (Weibull k < 1);
        # H(1e-300) is far below the tolerance
        cumhaz, _ = integrate.quad(
            lambda v, x=x: float(family.hazard(draws, [np.exp(v)], x)[0, 0]) * np.exp(v),
            np.log(1e-300), np.log(t), points=[np.log(p) for p in points if p < t] or None,
            epsabs=1e-13, epsrel=1e-11, limit=200)
        log_h = np.log(family.hazard(draws, [t], x)[0, 0]) if d else 0.0
        assert ours[i] == pytest.approx(log_h - cumhaz, rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_survival_is_a_survival_function(name):
    family = _calibrated(name)
    draws = family.prior_draws(50, np.random.default_rng(4))
    grid = np.linspace(0.0, 60.0, 121)
    for arm in (0, 1):
        s = family.survival(draws, grid, arm)
        assert s.shape == (50, grid.size)
        assert np.all((s >= 0) & (s <= 1)) and np.allclose(s[:, 0], 1.0)
        assert np.all(np.diff(s, axis=1) <= 1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_event_times_invert_the_cumulative_hazard(name):
    family, truth = _calibrated(name), _draw(name, 5)
    e = np.random.default_rng(6).exponential(size=200)
    arm = np.repeat([0, 1], 100)
    t = family.event_times(truth, e, arm)
    finite = np.isfinite(t)
    cumhaz = np.array([np.exp(family.log_cumhaz(truth, [ti], xi)[0, 0])
                       for ti, xi in zip(t[finite], arm[finite], strict=True)])
    np.testing.assert_allclose(cumhaz, e[finite], rtol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_simulated_data_are_recovered(name):
    family = _calibrated(name)
    for seed in range(20):  # a prior draw with a moderate event count
        truth = _draw(name, seed)
        truth["log_hr"] = np.array([-0.5])
        data = _simulate(name, 150, seed, truth)
        if 60 <= data.event.sum() <= 240:
            break
    if family.has_exact_posterior():
        post = family.exact_posterior(data)
        lo, hi = post.log_hr_quantile([0.0005, 0.9995])
        draws = post.draws(4000, rng=1)
    else:  # no exact posterior: NUTS through the one driver (2 x 1500 draws)
        draws = _nuts_draws(family, data)
        lo, hi = np.quantile(draws["log_hr"], [0.0005, 0.9995])
    assert lo < -0.5 < hi
    truth_values = family.calibration_values(truth)
    for key, values in family.calibration_values(draws).items():
        q = float(np.mean(values < truth_values[key][0]))
        assert 0.0005 < q < 0.9995, (key, q)


@pytest.mark.parametrize("name", NAMES)
def test_options_round_trip_through_toml(name):
    family = FAMILIES[name]()
    text = tomli_w.dumps(family.options())
    assert FAMILIES[name].from_options(tomllib.loads(text)) == family
    assert family.name == name and family.label and family.describe()


@pytest.mark.parametrize("name", NAMES)
def test_nuts_agrees_with_the_exact_oracle(name):
    from bridgebayes.inference.driver import SamplerSettings
    from bridgebayes.inference.fit import fit

    family = _calibrated(name)
    if not family.has_exact_posterior():
        pytest.skip(f"{name}: no exact posterior")
    truth = _draw(name, 11)
    truth["log_hr"] = np.array([-0.3])
    data = _simulate(name, 40, 12, truth)
    exact = family.exact_posterior(data)
    with _no_guardrail_warnings():
        result = fit(data, family, seed=3, sampler=SamplerSettings(chains=2, draws=500,
                                                                   tune=500, retry=False))
    log_hr = np.asarray(result.draws()["log_hr"])
    import arviz as az

    ess = float(az.ess(log_hr.reshape(2, -1)))
    mcse = float(np.std(log_hr)) / np.sqrt(ess)
    assert abs(np.mean(log_hr) - exact.log_hr_mean()) < 4 * mcse + 1e-3
    assert np.std(log_hr) == pytest.approx(exact.log_hr_sd(), rel=0.2)


def _nuts_draws(family, data) -> dict[str, np.ndarray]:
    from bridgebayes.inference.driver import SamplerSettings
    from bridgebayes.inference.fit import fit

    with _no_guardrail_warnings():
        # 2 x 1500 draws: the cure fraction's treatment effect mixes slowly (2 x 1000 gave a
        # bulk ESS of 365, under the gate's 400)
        result = fit(data, family, seed=5, sampler=SamplerSettings(chains=2, draws=1500,
                                                                   tune=1000))
    assert result.gate.passed, result.gate.failures()
    return result.draws()


def _no_guardrail_warnings():
    import warnings
    from contextlib import contextmanager

    from bridgebayes.inference.fit import FitWarning

    @contextmanager
    def quiet():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            yield
    return quiet()
