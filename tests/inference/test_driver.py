"""Sampler backends and the compile-once cache (:mod:`bridgebayes.inference.driver`).

Cache reuse is checked by counting calls of nutpie's compile function, never by timing.
Compiled structures are shared with the other test modules of the session (WeibullPH()
and PiecewiseExponentialPH(n_intervals=3), as in the integration tests).
"""

from __future__ import annotations

import json
import re

import numpy as np
import nutpie
import pytest

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.inference import driver as samplers
from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.fit import fit
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.piecewise import default_cuts

SMALL = {"draws": 150, "tune": 150, "chains": 2, "cores": 1, "target_accept": 0.9}


@pytest.fixture(scope="module")
def trials(simulate):
    """Three data sets: two of 20 per arm (like two endpoints) and one of 8 per arm."""
    return [simulate(seed, n, shape=1.3, scale=15.0, time_ratio=1.5, censor=(6.0, 30.0))
            for seed, n in ((1, 20), (2, 20), (3, 8))]


@pytest.fixture
def compile_calls(monkeypatch):
    """Counts calls of ``nutpie.compile_pymc_model`` (the only compile step of nutpie)."""
    calls = []
    original = nutpie.compile_pymc_model

    def counting(model, **options):
        calls.append(model)
        return original(model, **options)

    monkeypatch.setattr(nutpie, "compile_pymc_model", counting)
    return calls


def run(data, family, seed=1, **settings):
    return samplers.sample(data, family, backend="nutpie", seed=seed, **(SMALL | settings))


def assert_identical(a, b):
    for group in ("posterior", "sample_stats"):
        for name, values in a[group].data_vars.items():
            np.testing.assert_array_equal(values.to_numpy(), b[group][name].to_numpy(),
                                          err_msg=f"{group}.{name}")


# ----------------------------------------------------------------------------- backend choice
@pytest.mark.filterwarnings("ignore::bridgebayes.inference.fit.FitWarning")
def test_default_backend_is_nutpie_and_is_recorded(trials):
    assert SamplerSettings().backend == "nutpie" == samplers.BACKENDS[0]
    settings = SamplerSettings(chains=2, draws=100, tune=100, retry_tune=200)
    # 100 draws: the ESS gate fails, the retry runs (longer tuning), the fit stays flagged
    result = fit(trials[0], WeibullPH(), seed=3, sampler=settings)
    assert result.retried and not result.gate.passed
    assert json.loads(result.idata.attrs["sampler"])["backend"] == "nutpie"
    assert result.idata.posterior.attrs["inference_library"] == "nutpie"
    assert result.idata.log_likelihood["obs"].shape == (2, 100, 40)


@pytest.mark.parametrize("backend", ["stan", "Nutpie", "", None])
def test_bad_backend_name_is_refused(backend):
    with pytest.raises(BridgeBayesError, match=r"sampler backend: expected one of nutpie, pymc"):
        SamplerSettings(backend=backend)
    with pytest.raises(BridgeBayesError, match=f"got {re.escape(repr(backend))}$"):
        samplers.sample(None, WeibullPH(), backend=backend, seed=1, **SMALL)


def test_pymc_backend_gives_the_same_layout(trials):
    """Both backends: same posterior variables and dims, same constant data, gate stats."""
    family = WeibullPH(log_hr_sigma=0.42)
    by_pymc = samplers.sample(trials[1], family, backend="pymc", seed=2, **SMALL)
    by_nutpie = run(trials[1], family, seed=2)
    for group in ("posterior", "constant_data"):
        assert set(by_pymc[group].data_vars) == set(by_nutpie[group].data_vars), group
        for name, values in by_pymc[group].data_vars.items():
            assert by_nutpie[group][name].dims == values.dims, name
    for name, values in by_pymc.constant_data.data_vars.items():
        np.testing.assert_array_equal(by_nutpie.constant_data[name].to_numpy(), values.to_numpy())
    np.testing.assert_array_equal(by_nutpie.constant_data["unit"], by_pymc.constant_data["unit"])
    assert {"diverging", "energy", "lp", "tree_depth", "acceptance_rate"} <= set(
        by_nutpie.sample_stats.data_vars) & set(by_pymc.sample_stats.data_vars)
    assert by_nutpie.sample_stats["diverging"].dtype == bool


# ------------------------------------------------------------------------------- compile once
def test_refits_of_the_same_structure_do_not_compile_again(trials, compile_calls):
    run(trials[0], WeibullPH())  # compiled here, or earlier in the session
    first = len(compile_calls)
    before = samplers.cache_stats()
    prior_a = run(trials[0], WeibullPH(log_hr_mu=-0.67, log_hr_sigma=0.42))  # another prior
    other_endpoint = run(trials[1], WeibullPH())
    smaller_trial = run(trials[2], WeibullPH(log_hr_sigma=2.0))
    assert len(compile_calls) == first  # no recompilation
    assert samplers.cache_stats().hits == before.hits + 3
    # each refit saw its own data and prior
    assert float(prior_a.constant_data["log_hr_prior_mu"]) == -0.67
    assert smaller_trial.constant_data.sizes["unit"] == 16
    np.testing.assert_array_equal(other_endpoint.constant_data["time"], trials[1].time)


def test_a_different_structure_gets_its_own_key():
    arrays = WeibullPH().data_arrays(_tiny())
    assert samplers.structure_key(WeibullPH(), arrays) == samplers.structure_key(
        WeibullPH(log_hr_mu=1.0, log_hr_sigma=0.1), arrays)
    for other in (WeibullPH(a0=0.2), WeibullPH(log_k_sigma=0.5)):
        assert samplers.structure_key(other, arrays) != samplers.structure_key(
            WeibullPH(), arrays)
    pem = PiecewiseExponentialPH(n_intervals=3)
    given = PiecewiseExponentialPH(cuts=(1.5, 2.5), n_intervals=3)  # cut points are data
    assert samplers.structure_key(pem, pem.data_arrays(_tiny())) == samplers.structure_key(
        given, given.data_arrays(_tiny()))
    assert samplers.structure_key(pem, pem.data_arrays(_tiny())) != samplers.structure_key(
        PiecewiseExponentialPH(n_intervals=2), PiecewiseExponentialPH(
            n_intervals=2).data_arrays(_tiny()))


def test_piecewise_refit_uses_the_new_data_cut_points(trials, compile_calls):
    """Cached PEM refits keep nothing of the first data: cuts, statistics, interval labels."""
    family = PiecewiseExponentialPH(n_intervals=3)
    run(trials[0], family)
    first = len(compile_calls)
    idata = run(trials[1], family)
    assert len(compile_calls) == first
    cuts = default_cuts(trials[1].time, trials[1].event, n_intervals=3)
    np.testing.assert_array_equal(idata.constant_data["cuts"], cuts)
    arrays = family.data_arrays(trials[1])
    np.testing.assert_array_equal(idata.constant_data["events"], arrays["events"])
    assert list(idata.posterior["interval"].to_numpy()) == family.coords(
        trials[1], arrays)["interval"]
    given = PiecewiseExponentialPH(cuts=(4.0, 9.5), n_intervals=3, log_hr_sigma=0.42)
    idata = run(trials[1], given)
    assert len(compile_calls) == first
    np.testing.assert_array_equal(idata.constant_data["cuts"], [4.0, 9.5])
    assert list(idata.posterior["interval"].to_numpy()) == ["(0, 4]", "(4, 9.5]", "(9.5, inf)"]


# ------------------------------------------------------------------------------- determinism
def test_same_seed_gives_bitwise_identical_draws(trials):
    family = WeibullPH(log_hr_sigma=0.42)
    assert_identical(run(trials[1], family, seed=5), run(trials[1], family, seed=5))
    other = run(trials[1], family, seed=6)
    assert not np.array_equal(other.posterior["log_hr"], run(trials[1], family, seed=5)
                              .posterior["log_hr"])


def test_cached_refit_equals_a_fresh_compile(trials, compile_calls):
    """A refit through the cache gives the draws a model compiled on that data gives."""
    family = WeibullPH(log_hr_sigma=0.42)
    run(trials[0], WeibullPH())  # cache holds the structure, built on other data
    cached = run(trials[2], family, seed=8)
    samplers.clear_cache()
    assert samplers.cache_stats() == samplers.CacheStats()
    calls = len(compile_calls)
    fresh = run(trials[2], family, seed=8)  # compiled from trials[2] itself
    assert len(compile_calls) == calls + 1
    assert_identical(cached, fresh)


def test_pymc_backend_is_reproducible(trials):
    family = WeibullPH()
    a = samplers.sample(trials[2], family, backend="pymc", seed=4, **SMALL)
    b = samplers.sample(trials[2], family, backend="pymc", seed=4, **SMALL)
    np.testing.assert_array_equal(a.posterior["log_hr"], b.posterior["log_hr"])


def test_nutpie_draws_do_not_depend_on_the_cores(trials):
    family = WeibullPH()
    one = samplers.sample(trials[2], family, backend="nutpie", seed=4, **{**SMALL, "cores": 1})
    two = samplers.sample(trials[2], family, backend="nutpie", seed=4, **{**SMALL, "cores": 2})
    assert SamplerSettings().cores == 2
    np.testing.assert_array_equal(one.posterior["log_hr"], two.posterior["log_hr"])


def _tiny():
    from bridgebayes.data.endpoints import EndpointData

    return EndpointData("os", np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                        np.array([1, 0, 1, 1, 0, 1]), np.array([0, 0, 0, 1, 1, 1]),
                        ("ref", "trt"), np.arange(6))


# ---------------------------------------------------------------------- the one NUTS driver
def test_sampler_settings_live_in_the_driver():
    from bridgebayes.inference import fit as fit_module

    assert fit_module.SamplerSettings is SamplerSettings
    assert SamplerSettings().retry is True and SamplerSettings(retry=False).retry is False


class _Gate:
    def __init__(self, passed):
        self.passed = passed


@pytest.mark.parametrize(("gates", "retry", "calls", "retried"), [
    ([True], True, 1, False),            # passed: no retry
    ([False, True], True, 2, True),      # failed: one retry, with the retry settings
    ([False, False], True, 2, True),     # still failing: returned with the failed gate
    ([False], False, 1, False),          # retry=False: the failed gate is reported as it is
])
def test_run_nuts_gates_and_retries_once(monkeypatch, gates, retry, calls, retried):
    seen, verdicts = [], iter(gates)

    def fake_sample(data, family, **options):
        seen.append(options)
        return f"idata{len(seen)}"

    monkeypatch.setattr(samplers, "sample", fake_sample)
    monkeypatch.setattr(samplers, "diagnose", lambda idata: _Gate(next(verdicts)))
    settings = SamplerSettings(chains=3, draws=50, tune=60, target_accept=0.85,
                               retry_tune=70, retry_target_accept=0.95, retry=retry,
                               backend="pymc")
    result = samplers.run_nuts("data", WeibullPH(), settings, seed=10)
    assert len(seen) == calls and result.retried is retried
    assert result.idata == f"idata{calls}" and result.gate.passed is gates[calls - 1]
    assert result.seed == 10 + (calls - 1)
    assert seen[0] == {"backend": "pymc", "seed": 10, "draws": 50, "tune": 60, "chains": 3,
                       "cores": 2, "target_accept": 0.85}
    if calls == 2:
        assert seen[1] == seen[0] | {"seed": 11, "tune": 70, "target_accept": 0.95}


@pytest.mark.filterwarnings("ignore::bridgebayes.inference.fit.FitWarning")
def test_fit_reports_the_driver_result_and_its_settings(monkeypatch, trials):
    """fit() goes through run_nuts: without retry a failing gate is kept, and recorded."""
    calls = []
    original = samplers.run_nuts

    def counting(data, family, settings, *, seed):
        calls.append((settings, seed))
        return original(data, family, settings, seed=seed)

    import bridgebayes.inference.fit as fit_module

    monkeypatch.setattr(fit_module, "run_nuts", counting)
    settings = SamplerSettings(chains=2, draws=100, tune=100, retry=False)
    result = fit(trials[0], WeibullPH(), seed=3, sampler=settings)
    assert calls == [(settings, 3)]
    assert not result.retried and not result.gate.passed  # 100 draws: ESS gate fails
    assert json.loads(result.idata.attrs["sampler"])["retry"] is False
    assert result.idata.attrs["gate_passed"] == 0 and result.idata.attrs["retried"] == 0


def test_diagnose_gates_parameters_not_per_unit_terms(trials):
    idata = run(trials[0], PiecewiseExponentialPH(n_intervals=3), seed=2)
    gate = samplers.diagnose(idata)
    names = set(gate.per_variable.index.str.replace(r"\[.*", "", regex=True))
    assert {"log_hr", "hr", "lambda"} <= names
    assert not names & {n for n, v in idata.posterior.data_vars.items() if "unit" in v.dims}


def test_sample_prior_draws_the_priors_reproducibly(trials):
    model = WeibullPH(log_hr_mu=-0.2, log_hr_sigma=0.5).build_model(trials[0])
    a = samplers.sample_prior(model, draws=2000, seed=4)
    b = samplers.sample_prior(model, draws=2000, seed=4)
    np.testing.assert_array_equal(a.prior["log_hr"], b.prior["log_hr"])
    log_hr = a.prior["log_hr"].to_numpy().ravel()
    assert log_hr.size == 2000
    assert abs(log_hr.mean() + 0.2) < 4 * 0.5 / np.sqrt(2000)
    assert abs(log_hr.std() - 0.5) < 0.03
