"""PSIS-LOO from the per-patient log-likelihood group, and family comparison by stacking."""

from __future__ import annotations

import numpy as np
import pytest

from bridgebayes.inference.fit import compare, fit
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH, posterior_draws


@pytest.fixture(scope="module")
def fits(simulate):
    data = simulate(8, 25, shape=1.5, scale=18.0, time_ratio=1.4, censor=(10.0, 40.0))
    return data, {"weibull": fit(data, WeibullPH(), seed=2),
                  "pem": fit(data, PiecewiseExponentialPH(n_intervals=3), seed=2)}


def test_log_likelihood_group_is_the_per_patient_likelihood(fits):
    data, results = fits
    for result in results.values():
        group = result.idata.log_likelihood["obs"]
        assert group.dims == ("chain", "draw", "patient")
        direct = result.family.log_likelihood(posterior_draws(result.idata), data)
        np.testing.assert_allclose(group.values.reshape(direct.shape), direct, rtol=1e-12)


def test_loo_is_finite_and_below_in_sample_fit(fits):
    data, results = fits
    for name, result in results.items():
        loo = result.loo()
        ll = result.idata.log_likelihood["obs"].values.reshape(-1, data.time.size)
        lppd = np.sum(np.log(np.mean(np.exp(ll), axis=0)))
        assert np.isfinite(loo.elpd_loo) and loo.elpd_loo <= lppd, name
        assert 0 < loo.p_loo < 10, name
        assert loo.pareto_k.shape == (data.time.size,)


def test_compare_gives_stacking_weights_summing_to_one(fits):
    _, results = fits
    table = compare(results)
    assert set(table.index) == {"weibull", "pem"}
    assert table["weight"].sum() == pytest.approx(1.0)


def test_log_likelihood_can_be_left_to_loo(fits):
    data, results = fits
    lazy = fit(data, WeibullPH(), seed=2, log_likelihood=False)
    assert "log_likelihood" not in lazy.idata.groups()
    np.testing.assert_array_equal(lazy.draws()["log_hr"], results["weibull"].draws()["log_hr"])
    assert lazy.loo().elpd_loo == pytest.approx(results["weibull"].loo().elpd_loo, rel=1e-12)
    assert "log_likelihood" in lazy.idata.groups()
    assert compare({"a": fit(data, WeibullPH(), seed=2, log_likelihood=False),
                    "b": results["pem"]})["weight"].sum() == pytest.approx(1.0)


def test_log_likelihood_default_depends_on_size(fits, monkeypatch):
    import bridgebayes.inference.fit as fit_module
    from bridgebayes.core.errors import BridgeBayesError

    data, _ = fits
    monkeypatch.setattr(fit_module, "LOG_LIKELIHOOD_AUTO_MAX", data.time.size - 1)
    assert "log_likelihood" not in fit(data, WeibullPH(), seed=3).idata.groups()
    assert "log_likelihood" in fit(data, WeibullPH(), seed=3, log_likelihood=True).idata.groups()
    with pytest.raises(BridgeBayesError, match="log_likelihood"):
        fit(data, WeibullPH(), seed=3, log_likelihood="yes")
