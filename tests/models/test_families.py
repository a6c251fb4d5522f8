"""The PyMC survival families (:mod:`bridgebayes.models.families`) against independent references.

Log-densities are read from the compiled PyMC model at fixed parameter values (the
``loglik`` potential per unit, or the whole model logp) and compared with scipy.stats
(``weibull_min``, piecewise ``expon``) and mpmath at 50 digits.  Models are compiled once
per module; only ``test_tiny_nuts_smoke`` samples.
"""

from __future__ import annotations

import functools

import mpmath as mp
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families import (
    FAMILIES,
    MixtureCurePH,
    MSplinePH,
    PiecewiseExponentialPH,
    SurvivalFamily,
    WeibullPH,
    get_family,
    posterior_draws,
)
from bridgebayes.summaries.decide import decide

# pip-installed PyTensor warns once that it found no BLAS; not ours, harmless for these sizes.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PyTensor could not link to a BLAS installation:UserWarning")

RTOL = 1e-8
GRID_T = (1e-6, 1e-3, 1.0, 1e3, 1e5)
GRID_K = (0.05, 0.5, 1.0, 5.0, 50.0)
GRID_SCALE = (0.5, 30.0)  # Weibull scale of the reference arm: lam = scale^-k
CUTS = (2.0, 5.0, 9.0)


def make_data(time, event, arm, **covariates) -> EndpointData:
    n = len(time)
    return EndpointData("os", np.asarray(time, float), np.asarray(event, int),
                        np.asarray(arm, int), ("ref", "trt"),
                        np.array([f"p{i}" for i in range(n)]),
                        covariates=pd.DataFrame(covariates) if covariates else pd.DataFrame())


def random_data(seed: int, n: int = 24, **covariates) -> EndpointData:
    """Exponential-ish data with times tied to the cut points (2, 5, 9), both arms."""
    rng = np.random.default_rng(seed)
    time = np.round(rng.exponential(6.0, n), 1) + 0.1
    time[:4] = [2.0, 2.0, 5.0, 9.0]  # events and censorings exactly at cut points
    event = rng.integers(0, 2, n)
    event[:4] = [1, 0, 1, 1]
    arm = np.r_[0, 1, 0, 1, rng.integers(0, 2, n - 4)]
    return make_data(time, event, arm, **covariates)


def weibull_grid_data() -> EndpointData:
    t, event, arm = np.meshgrid(GRID_T, (0, 1), (0, 1), indexing="ij")
    return make_data(t.ravel(), event.ravel(), arm.ravel())


# ------------------------------------------------------------------ references (no package code)
def weibull_reference(time, event, k, lam, eta):
    """scipy: logpdf for events, logsf for censored; scale = lam^(-1/k) exp(-eta/k)."""
    scale = lam ** (-1.0 / k) * np.exp(-eta / k)
    return np.where(np.asarray(event) > 0, stats.weibull_min.logpdf(time, k, scale=scale),
                    stats.weibull_min.logsf(time, k, scale=scale))


def weibull_mpmath(time, event, k, lam, eta):
    with mp.workdps(50):
        out = []
        for t, d, e in zip(time, event, np.broadcast_to(eta, np.shape(time)), strict=True):
            k_, t_ = mp.mpf(k), mp.mpf(t)
            log_h = mp.log(lam) + mp.log(k_) + (k_ - 1) * mp.log(t_) + e
            out.append(float(d * log_h - mp.exp(mp.log(lam) + k_ * mp.log(t_) + e)))
    return np.array(out)


def pem_reference(time, event, cuts, rates):
    """Per patient: product of exponential pieces; ``rates`` (n, J) hazard per interval."""
    edges = np.r_[0.0, cuts, np.inf]
    out = []
    for t, d, rate in zip(time, event, rates, strict=True):
        j = np.searchsorted(cuts, t, side="left")  # hazard intervals (c_{j-1}, c_j]
        total = sum(stats.expon.logsf(edges[m + 1] - edges[m], scale=1 / rate[m])
                    for m in range(j))
        piece = stats.expon.logpdf if d else stats.expon.logsf
        out.append(total + piece(t - edges[j], scale=1 / rate[j]))
    return np.array(out)


def standardised(values):
    values = np.asarray(values, float)
    return (values - values.mean()) / values.std()


# --------------------------------------------------------------------- compiled-model helpers
def value_point(model: pm.Model, **values) -> dict[str, np.ndarray]:
    """Point of the model's value variables from constrained values of its free variables."""
    point = {}
    for rv in model.free_RVs:
        value_var = model.rvs_to_values[rv]
        value = np.asarray(values[rv.name], float)
        if model.rvs_to_transforms.get(rv) is not None:
            assert value_var.name == f"{rv.name}_log__"
            value = np.log(value)
        point[value_var.name] = value
    return point


def compile_deterministics(model: pm.Model, *names: str):
    """Function of a value-variable point returning the named deterministics."""
    outs = model.replace_rvs_by_values([model[n] for n in names])
    return model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")


@functools.cache
def compiled(family: SurvivalFamily, data_key: str):
    """Model of ``family`` on a named data set, with loglik-per-unit, logp and prior logp."""
    data = DATA[data_key]()
    model = family.build_model(data)
    loglik = model.logp(vars=[model["loglik"]], sum=False)[0]
    return {
        "model": model, "data": data,
        "loglik": model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore"),
        "logp": model.compile_logp(),
        "prior": model.compile_logp(vars=model.free_RVs),
    }


DATA = {"grid": weibull_grid_data, "random": lambda: random_data(1),
        "random_age": lambda: random_data(2, age=np.arange(24.0) ** 1.5)}


def weibull_point(model, *, k, lam, log_hr, beta=None):
    m = float(model["mean_time"].get_value())
    values = {"log_hr": log_hr, "log_k": np.log(k), "cumhaz_mean_time": lam * m ** k}
    return value_point(model, **values, **({} if beta is None else {"beta": beta}))


# ------------------------------------------------------------------------------------- Weibull
@pytest.mark.parametrize("k", GRID_K)
@pytest.mark.parametrize("scale", GRID_SCALE)
@pytest.mark.parametrize("log_hr", [0.0, -0.7])
def test_weibull_model_loglik_matches_scipy_and_mpmath_on_extreme_grid(k, scale, log_hr):
    c = compiled(WeibullPH(), "grid")
    data, lam = c["data"], scale ** -k
    got = c["loglik"](weibull_point(c["model"], k=k, lam=lam, log_hr=log_hr))
    eta = log_hr * data.arm
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, weibull_reference(data.time, data.event, k, lam, eta),
                               rtol=RTOL, atol=0)
    np.testing.assert_allclose(got, weibull_mpmath(data.time, data.event, k, lam, eta),
                               rtol=RTOL, atol=0)
    draws = {"log_hr": [log_hr], "k": [k], "lam": [lam]}
    np.testing.assert_allclose(WeibullPH().log_likelihood(draws, data)[0], got, rtol=1e-12)


def test_weibull_prior_matches_engine_conventions():
    """log k ~ N(0, 1), lam | k ~ Gamma(a0, a0 m^k), on the sampler's log scale."""
    family = WeibullPH(log_hr_mu=-0.2, log_hr_sigma=0.7, a0=0.1)
    c = compiled(family, "random")
    m = float(c["model"]["mean_time"].get_value())
    assert m == pytest.approx(np.mean(c["data"].time), rel=1e-15)
    for k, lam, log_hr in [(0.3, 0.2, 0.1), (1.0, 0.05, -0.5), (4.0, 1e-4, 0.0)]:
        point = weibull_point(c["model"], k=k, lam=lam, log_hr=log_hr)
        expected = (stats.norm.logpdf(log_hr, -0.2, 0.7) + stats.norm.logpdf(np.log(k))
                    + stats.gamma.logpdf(lam, 0.1, scale=1 / (0.1 * m ** k)) + np.log(lam))
        assert c["prior"](point) == pytest.approx(expected, rel=1e-10)


def test_weibull_deterministics_and_median_ratio():
    c = compiled(WeibullPH(), "random")
    model, k, lam, log_hr = c["model"], 1.7, 0.02, -0.4
    fn = compile_deterministics(model, "k", "lam", "hr", "aft_factor")
    got_k, got_lam, hr, aft = fn(weibull_point(model, k=k, lam=lam, log_hr=log_hr))
    np.testing.assert_allclose([got_k, got_lam, hr], [k, lam, np.exp(log_hr)], rtol=1e-12)
    medians = [stats.weibull_min.median(k, scale=lam ** (-1 / k) * np.exp(-log_hr * x / k))
               for x in (0, 1)]
    assert aft == pytest.approx(np.exp(-log_hr / k), rel=1e-12)
    assert aft == pytest.approx(medians[1] / medians[0], rel=1e-12)


def test_weibull_numpy_functions_match_scipy():
    k = np.repeat(GRID_K, len(GRID_SCALE))
    lam = np.tile(GRID_SCALE, len(GRID_K)) ** -k
    draws = {"log_hr": np.full(k.size, -0.7), "k": k, "lam": lam}
    t = np.array(GRID_T)
    family = WeibullPH()
    for x in (0, 1):
        scale = (lam ** (-1 / k) * np.exp(0.7 * x / k))[:, None]
        logsf = stats.weibull_min.logsf(t, k[:, None], scale=scale)
        logpdf = stats.weibull_min.logpdf(t, k[:, None], scale=scale)
        log_cumhaz, hazard = family.log_cumhaz(draws, t, x), family.hazard(draws, t, x)
        np.testing.assert_allclose(family.survival(draws, t, x), np.exp(logsf), rtol=RTOL)
        # scipy where well conditioned: log H = log(-log S) needs log S < 0 (no underflow),
        # h = exp(log f - log S) loses |log S| * eps
        ok = (logsf < 0) & (logsf > -1e4)
        np.testing.assert_allclose(log_cumhaz[ok], np.log(-logsf[ok]), rtol=RTOL)
        np.testing.assert_allclose(hazard[ok], np.exp(logpdf - logsf)[ok], rtol=RTOL)
        assert (~ok).sum() >= 10
        # everywhere: mpmath at 50 digits
        with mp.workdps(50):
            exact_log_cumhaz = [[mp.log(lam_s) + k_s * mp.log(t_) - mp.mpf(0.7) * x for t_ in t]
                                for k_s, lam_s in zip(k, lam, strict=True)]
            exact_hazard = [[float(mp.exp(h + mp.log(k_s) - mp.log(t_))) for h, t_ in
                             zip(row, t, strict=True)]
                            for row, k_s in zip(exact_log_cumhaz, k, strict=True)]
            exact_log_cumhaz = [[float(h) for h in row] for row in exact_log_cumhaz]
        np.testing.assert_allclose(log_cumhaz, exact_log_cumhaz, rtol=RTOL)
        np.testing.assert_allclose(hazard, exact_hazard, rtol=RTOL)


def test_weibull_numpy_functions_prefer_log_lam_beyond_float_range():
    k, log_lam, t = 50.0, 800.0, np.array([1e-6, 1e-5])  # lam = exp(800) overflows
    draws = {"log_hr": [0.0], "k": [k], "lam": [np.inf], "log_lam": [log_lam]}
    with mp.workdps(50):
        exact = [float(log_lam + k * mp.log(t_)) for t_ in t]
    np.testing.assert_allclose(WeibullPH().log_cumhaz(draws, t, 0)[0], exact, rtol=RTOL)
    assert np.all(np.isfinite(WeibullPH().hazard(draws, t, 0)))


def test_weibull_covariates_standardised_in_model_and_numpy():
    family = WeibullPH(covariates=("age",))
    c = compiled(family, "random_age")
    data, k, lam, log_hr, beta = c["data"], 1.3, 0.04, -0.3, 0.25
    got = c["loglik"](weibull_point(c["model"], k=k, lam=lam, log_hr=log_hr, beta=[beta]))
    eta = log_hr * data.arm + beta * standardised(data.covariates["age"])
    np.testing.assert_allclose(got, weibull_reference(data.time, data.event, k, lam, eta),
                               rtol=1e-10)
    draws = posterior_like(c["model"], log_hr=[log_hr], k=[k], lam=[lam], beta=[[beta]])
    np.testing.assert_allclose(family.log_likelihood(draws, data)[0], got, rtol=1e-10)
    age = data.covariates["age"].to_numpy()
    at = np.array([3.0, 7.0])
    expected = weibull_reference(at, [0, 0], k, lam, log_hr + beta * (40.0 - age.mean())
                                 / age.std())
    np.testing.assert_allclose(family.survival(draws, at, 1, covariates=[40.0])[0],
                               np.exp(expected), rtol=1e-12)


def posterior_like(model: pm.Model, **draws) -> dict[str, np.ndarray]:
    """Draws plus the model's constant data, as ``posterior_draws`` returns them."""
    return {**{v.name: v.get_value() for v in model.data_vars},
            **{n: np.asarray(d, float) for n, d in draws.items()}}


# ------------------------------------------------------------------------ piecewise exponential
def pem_point(model, *, log_hr, lam, **extra):
    return value_point(model, log_hr=log_hr, **{"lambda": lam}, **extra)


@pytest.mark.parametrize("seed", range(4))
def test_pem_sufficient_statistics_equal_per_patient_likelihood(seed):
    family = PiecewiseExponentialPH(cuts=CUTS)
    c = compiled(family, "random")
    data = c["data"]
    rng = np.random.default_rng(seed)
    lam, log_hr = np.exp(rng.normal(np.log(0.1), 1.0, 4)), rng.normal(0, 0.5)
    got = c["loglik"](pem_point(c["model"], log_hr=log_hr, lam=lam))
    per_patient = pem_reference(data.time, data.event, CUTS,
                                lam * np.exp(log_hr * data.arm)[:, None])
    assert got.shape == (2,)  # one unit per arm: cost does not grow with n
    np.testing.assert_allclose(got, [per_patient[data.arm == a].sum() for a in (0, 1)],
                               rtol=1e-10)
    draws = {"log_hr": [log_hr], "lambda": [lam], "cuts": CUTS}
    np.testing.assert_allclose(family.log_likelihood(draws, data)[0], per_patient, rtol=1e-10)


def test_pem_gamma_prior_uses_crude_rate():
    c = compiled(PiecewiseExponentialPH(cuts=CUTS, a0=0.1), "random")
    data, model = c["data"], c["model"]
    rate = data.event.sum() / data.time.sum()
    assert float(model["crude_rate"].get_value()) == pytest.approx(rate, rel=1e-12)
    lam = np.array([0.05, 0.2, 0.1, 0.02])
    expected = (stats.norm.logpdf(0.3) + np.sum(stats.gamma.logpdf(lam, 0.1, scale=rate / 0.1))
                + np.log(lam).sum())
    assert c["prior"](pem_point(model, log_hr=0.3, lam=lam)) == pytest.approx(expected, rel=1e-10)


def test_pem_random_walk_and_time_varying_effect():
    family = PiecewiseExponentialPH(cuts=CUTS, baseline="random_walk", time_varying=True,
                                    rw_sigma=0.4, rw_init_sigma=1.5, tau_scale=0.3)
    c = compiled(family, "random")
    data, model = c["data"], c["model"]
    offsets, z, tau, log_hr = np.array([0.3, -1.0, 0.5, 2.0]), np.array([1, -1, 0.5, 0]), 0.2, -0.4
    point = value_point(model, log_hr=log_hr, log_lambda_offset=offsets, tau=tau,
                        log_hr_interval_offset=z)
    lam, log_hr_j = compile_deterministics(model, "lambda", "log_hr_interval")(point)
    rate = float(model["crude_rate"].get_value())
    np.testing.assert_allclose(np.diff(np.log(np.r_[rate, lam])),
                               [1.5 * 0.3, 0.4 * -1.0, 0.4 * 0.5, 0.4 * 2.0], rtol=1e-12)
    np.testing.assert_allclose(log_hr_j, log_hr + tau * z, rtol=1e-12)
    per_patient = pem_reference(data.time, data.event, CUTS,
                                lam * np.exp(np.outer(data.arm, log_hr_j)))
    np.testing.assert_allclose(c["loglik"](point),
                               [per_patient[data.arm == a].sum() for a in (0, 1)], rtol=1e-10)
    expected_prior = (stats.norm.logpdf(log_hr) + stats.norm.logpdf(offsets).sum()
                      + stats.norm.logpdf(z).sum() + stats.halfnorm.logpdf(tau, scale=0.3)
                      + np.log(tau))
    assert c["prior"](point) == pytest.approx(expected_prior, rel=1e-10)
    draws = {"log_hr": [log_hr], "lambda": [lam], "log_hr_interval": [log_hr_j], "cuts": CUTS}
    np.testing.assert_allclose(family.log_likelihood(draws, data)[0], per_patient, rtol=1e-10)


def test_pem_covariates_one_unit_per_patient():
    family = PiecewiseExponentialPH(cuts=CUTS, covariates=("age",))
    c = compiled(family, "random_age")
    data, lam, log_hr, beta = c["data"], np.array([0.1, 0.05, 0.2, 0.1]), 0.2, -0.5
    got = c["loglik"](pem_point(c["model"], log_hr=log_hr, lam=lam, beta=[beta]))
    eta = log_hr * data.arm + beta * standardised(data.covariates["age"])
    np.testing.assert_allclose(got, pem_reference(data.time, data.event, CUTS,
                                                  lam * np.exp(eta)[:, None]), rtol=1e-10)


def test_pem_numpy_functions_match_piecewise_expon():
    lam = np.array([[0.1, 0.05, 0.2, 0.1], [0.3, 0.3, 0.01, 1.0]])
    draws = {"log_hr": np.array([-0.5, 0.4]), "lambda": lam, "cuts": np.array(CUTS)}
    t = np.array([0.5, 2.0, 3.0, 5.0, 9.0, 30.0])
    family = PiecewiseExponentialPH()
    for x in (0, 1):
        for s in range(2):
            rates = np.tile(lam[s] * np.exp(draws["log_hr"][s] * x), (t.size, 1))
            logsf = pem_reference(t, np.zeros(t.size), CUTS, rates)
            log_h = pem_reference(t, np.ones(t.size), CUTS, rates) - logsf
            np.testing.assert_allclose(family.survival(draws, t, x)[s], np.exp(logsf), rtol=1e-12)
            np.testing.assert_allclose(family.log_cumhaz(draws, t, x)[s], np.log(-logsf),
                                       rtol=1e-12)
            np.testing.assert_allclose(family.hazard(draws, t, x)[s], np.exp(log_h), rtol=1e-12)


# ------------------------------------------------------------------------- shared contract
CONTRACT = [
    (WeibullPH(), lambda rng, s: {"log_hr": rng.normal(0, 1, s), "k": np.exp(rng.normal(0, 1, s)),
                                  "lam": np.exp(rng.normal(-3, 1, s))}),
    (PiecewiseExponentialPH(cuts=CUTS, time_varying=True),
     lambda rng, s: {"log_hr": rng.normal(0, 1, s), "lambda": np.exp(rng.normal(-2, 1, (s, 4))),
                     "log_hr_interval": rng.normal(0, 1, (s, 4))}),
]


@pytest.mark.parametrize(("family", "make_draws"), CONTRACT, ids=["weibull", "pem"])
def test_survival_curves_are_probabilities_and_non_increasing(family, make_draws):
    draws = make_draws(np.random.default_rng(3), 50)
    t = np.r_[0.0, np.geomspace(1e-6, 1e5, 200)]
    for x in (0, 1):
        surv = family.survival(draws, t, x)
        assert surv.shape == (50, t.size)
        assert np.all((surv >= 0) & (surv <= 1)) and np.all(surv[:, 0] == 1)
        assert np.all(np.diff(surv, axis=1) <= 0)
        assert np.all(family.hazard(draws, t[1:], x) >= 0)


# ------------------------------------------------------------------------------- compile once
def weibull_expected(model, data, *, k=1.4, lam=0.03, log_hr=-0.2):
    """Point and reference log posterior density (default priors) of a Weibull model."""
    m = np.mean(data.time)
    prior = (stats.norm.logpdf(log_hr) + stats.norm.logpdf(np.log(k))
             + stats.gamma.logpdf(lam, 0.1, scale=1 / (0.1 * m ** k)) + np.log(lam))
    lik = weibull_reference(data.time, data.event, k, lam, log_hr * data.arm).sum()
    return weibull_point(model, k=k, lam=lam, log_hr=log_hr), prior + lik


def pem_expected(model, data, *, lam=(0.1, 0.2, 0.05, 0.1), log_hr=-0.2):
    """Point and reference log posterior density (default priors) of a PEM model."""
    lam, cuts = np.asarray(lam), model["cuts"].get_value()
    rate = data.event.sum() / data.time.sum()
    prior = (stats.norm.logpdf(log_hr) + np.log(lam).sum()
             + stats.gamma.logpdf(lam, 0.1, scale=rate / 0.1).sum())
    lik = pem_reference(data.time, data.event, cuts,
                        lam * np.exp(log_hr * data.arm)[:, None]).sum()
    return pem_point(model, log_hr=log_hr, lam=lam), prior + lik


@pytest.mark.parametrize(("family", "expected"), [(WeibullPH(), weibull_expected),
                                                  (PiecewiseExponentialPH(), pem_expected)],
                         ids=["weibull", "pem"])
def test_set_data_refits_without_recompiling(family, expected):
    data_a, data_b = random_data(10), random_data(11)
    model = family.build_model(data_a)
    logp = model.compile_logp()  # compiled once, reused after set_data
    point, value_a = expected(model, data_a)
    assert logp(point) == pytest.approx(value_a, rel=1e-10)
    cuts = {v.name: v.get_value() for v in model.data_vars}.get("cuts")
    family.set_data(model, data_b)
    point, value_b = expected(model, data_b)
    assert value_b != pytest.approx(value_a, rel=1e-3)
    assert logp(point) == pytest.approx(value_b, rel=1e-10)
    if cuts is not None:  # default cuts of data_a are kept: the shapes do not change
        np.testing.assert_array_equal(model["cuts"].get_value(), cuts)


def test_set_data_refuses_a_model_of_another_family():
    model = compiled(PiecewiseExponentialPH(cuts=CUTS), "random")["model"]
    with pytest.raises(BridgeBayesError, match="was it built by this WeibullPH"):
        WeibullPH().set_data(model, random_data(1))


# ------------------------------------------------------------------------ smoke: tiny NUTS
def test_tiny_nuts_smoke():
    family = PiecewiseExponentialPH()
    data = random_data(5, n=30)
    idata = pm.sample(draws=40, tune=40, chains=1, cores=1, random_seed=7, progressbar=False,
                      compute_convergence_checks=False, model=family.build_model(data))
    draws = posterior_draws(idata)
    assert draws["lambda"].shape == (40, draws["cuts"].size + 1)
    assert draws["events"].shape == (draws["cuts"].size + 1, 2)
    result = decide(draws["log_hr"], survival=functools.partial(family.survival, draws))
    assert result.curves["median"].between(0, 1).all()
    assert family.log_likelihood(draws, data).shape == (40, 30)


# ------------------------------------------------------------------ registry and validation
def test_registry_is_closed_and_complete():
    assert dict(FAMILIES) == {"piecewise_exponential": PiecewiseExponentialPH,
                              "weibull": WeibullPH, "mixture_cure": MixtureCurePH,
                              "mspline": MSplinePH}
    assert get_family("weibull") is WeibullPH
    with pytest.raises(TypeError):
        FAMILIES["cox"] = WeibullPH  # type: ignore[index]


@pytest.mark.parametrize("name", ["Weibull", "lognormal", "", None])
def test_unknown_family_lists_the_allowed_ones(name):
    with pytest.raises(BridgeBayesError, match=r"expected one of.*piecewise_exponential.*weibull"):
        get_family(name)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: WeibullPH(log_hr_sigma=0), "log_hr_sigma"),
    (lambda: WeibullPH(log_hr_mu=float("nan")), "log_hr_mu"),
    (lambda: WeibullPH(a0=-1), "a0"),
    (lambda: WeibullPH(covariates=("age", "age")), "distinct"),
    (lambda: PiecewiseExponentialPH(baseline="spline"), "baseline"),
    (lambda: PiecewiseExponentialPH(cuts=(3.0, 2.0)), "cuts"),
    (lambda: PiecewiseExponentialPH(cuts=(0.0,)), "cuts"),
    (lambda: PiecewiseExponentialPH(n_intervals=0), "n_intervals"),
    (lambda: PiecewiseExponentialPH(tau_scale=0), "tau_scale"),
])
def test_bad_options_are_refused(make, match):
    with pytest.raises(BridgeBayesError, match=match):
        make()


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        WeibullPH(0.0, 1.0)  # type: ignore[misc]


@pytest.mark.parametrize(("family", "data", "match"), [
    (WeibullPH(), make_data([1.0, 2.0], [1, 2], [0, 1]), "competing-risks"),
    (WeibullPH(), make_data([0.0, 2.0], [1, 0], [0, 1]), "times must be finite and > 0"),
    (WeibullPH(), make_data([1.0, 2.0], [1, 0], [0, 2]), "arms must be 0"),
    (PiecewiseExponentialPH(), make_data([1.0, 2.0], [0, 0], [0, 1]), "no events"),
    (WeibullPH(covariates=("age",)), make_data([1.0, 2.0], [1, 0], [0, 1]), "not found"),
    (WeibullPH(covariates=("age",)), make_data([1.0, 2.0], [1, 0], [0, 1], age=[3.0, 3.0]),
     "constant"),
    (WeibullPH(covariates=("age",)), make_data([1.0, 2.0], [1, 0], [0, 1], age=[3.0, np.nan]),
     "missing"),
    (WeibullPH(covariates=("sex",)), make_data([1.0, 2.0], [1, 0], [0, 1], sex=["f", "m"]),
     "numeric"),
])
def test_bad_data_are_refused_before_building(family, data, match):
    with pytest.raises(BridgeBayesError, match=match):
        family.build_model(data)


def test_numpy_functions_validate_inputs():
    draws = {"log_hr": [0.0], "k": [1.0], "lam": [1.0]}
    with pytest.raises(BridgeBayesError, match="missing"):
        WeibullPH().survival({"log_hr": [0.0]}, [1.0], 0)
    with pytest.raises(BridgeBayesError, match="times >= 0"):
        WeibullPH().survival(draws, [-1.0], 0)
    with pytest.raises(BridgeBayesError, match="without covariates"):
        WeibullPH().survival(draws, [1.0], 0, covariates=[1.0])
    with pytest.raises(BridgeBayesError, match="cuts"):
        PiecewiseExponentialPH().survival({"log_hr": [0.0], "lambda": [[0.1]]}, [1.0], 0)


# ------------------------------------------------------------------------- registry hooks
PEM_FIXED = PiecewiseExponentialPH(cuts=(6.0,), crude_rate=0.05, a0=0.5, log_hr_mu=-0.2,
                                   log_hr_sigma=0.7)
WEIBULL_FIXED = WeibullPH(mean_time=10.0, a0=2.0, log_k_mu=0.3, log_k_sigma=0.4,
                          log_hr_mu=-0.2, log_hr_sigma=0.7)


def test_names_labels_and_descriptions():
    assert (PiecewiseExponentialPH.name, PiecewiseExponentialPH.label) == (
        "piecewise_exponential", "PEM")
    assert (WeibullPH.name, WeibullPH.label) == ("weibull", "Weibull")
    text = PiecewiseExponentialPH(n_intervals=3, a0=0.5).describe()
    assert "3 intervals" in text and "a0 = 0.5" in text
    assert "Normal(0.3, 0.4)" in WEIBULL_FIXED.describe() and "a0 = 2.0" in \
        WEIBULL_FIXED.describe()


@pytest.mark.parametrize("family", [PEM_FIXED, WEIBULL_FIXED,
                                    PiecewiseExponentialPH(time_varying=True, n_intervals=2),
                                    WeibullPH(covariates=("age",))])
def test_options_round_trip_through_a_spec_table(family):
    table = family.options()
    assert all(not isinstance(v, tuple) and v is not None for v in table.values())
    assert type(family).from_options(table) == family
    from bridgebayes.core.errors import SpecError

    with pytest.raises(SpecError, match=r"spec\.toml: unknown option\(s\) \['shape'\]"):
        type(family).from_options(table | {"shape": 2.0}, where="spec.toml")
    with pytest.raises(SpecError, match=r"spec\.toml: .*log_hr_sigma"):
        type(family).from_options(table | {"log_hr_sigma": -1.0}, where="spec.toml")


def test_prior_draws_follow_the_fixed_priors():
    rng = np.random.default_rng(8)
    pem = PEM_FIXED.prior_draws(4000, rng)
    assert set(pem) == {"log_hr", "hr", "lambda", "cuts"} and pem["lambda"].shape == (4000, 2)
    assert pem["cuts"].tolist() == [6.0]
    assert stats.kstest(pem["log_hr"], stats.norm(-0.2, 0.7).cdf).pvalue > 1e-3
    np.testing.assert_allclose(pem["hr"], np.exp(pem["log_hr"]), rtol=1e-15)
    for j in range(2):  # lambda_j ~ Gamma(a0, a0 / r): mean r
        assert stats.kstest(pem["lambda"][:, j], stats.gamma(0.5, scale=0.05 / 0.5).cdf
                            ).pvalue > 1e-3
    w = WEIBULL_FIXED.prior_draws(4000, rng)
    assert set(w) == {"log_hr", "hr", "k", "lam", "log_lam"}
    assert stats.kstest(np.log(w["k"]), stats.norm(0.3, 0.4).cdf).pvalue > 1e-3
    # lam | k ~ Gamma(a0, a0 m^k), i.e. lam m^k ~ Gamma(a0, a0)
    cum = np.exp(w["log_lam"] + w["k"] * np.log(10.0))
    assert stats.kstest(cum, stats.gamma(2.0, scale=0.5).cdf).pvalue > 1e-3
    np.testing.assert_allclose(w["lam"], np.exp(w["log_lam"]), rtol=1e-15)


@pytest.mark.parametrize("family", [PEM_FIXED, WEIBULL_FIXED], ids=["pem", "weibull"])
def test_prior_draws_are_the_pymc_models_prior(family):
    """The prior the SBC truths come from is the prior of the PyMC model (two-sample KS)."""
    from bridgebayes.inference.driver import sample_prior

    data = random_data(3)
    prior = sample_prior(family.build_model(data), draws=3000, seed=5).prior
    ours = family.prior_draws(3000, np.random.default_rng(6))
    pymc = {"log_hr": prior["log_hr"].to_numpy().ravel()}
    if isinstance(family, WeibullPH):
        pymc |= {"k": prior["k"].to_numpy().ravel(), "lam": prior["lam"].to_numpy().ravel()}
    else:
        lam = prior["lambda"].to_numpy().reshape(-1, 2)
        pymc |= {"lambda[0]": lam[:, 0], "lambda[1]": lam[:, 1]}
        ours = ours | {"lambda[0]": ours["lambda"][:, 0], "lambda[1]": ours["lambda"][:, 1]}
    for name, values in pymc.items():
        assert stats.ks_2samp(np.log(values) if name != "log_hr" else values,
                              np.log(ours[name]) if name != "log_hr" else ours[name]
                              ).pvalue > 1e-3, name


def test_event_times_invert_the_cumulative_hazard_in_closed_form():
    e = np.array([0.01, 0.3, 1.0, 2.5])
    x = np.array([0, 1, 0, 1])
    w = {"log_hr": np.log([2.0]), "k": np.array([1.5]), "lam": np.array([0.02])}
    want = (e / (0.02 * 2.0 ** x)) ** (1 / 1.5)
    np.testing.assert_allclose(WeibullPH().event_times(w, e, x), want, rtol=1e-13)
    pem = PiecewiseExponentialPH(cuts=(5.0, 10.0))
    p = {"log_hr": np.log([0.5]), "lambda": np.array([[0.1, 0.2, 0.05]])}
    # H0: 0.1 t to t = 5 (0.5), + 0.2 (t - 5) to t = 10 (1.5), then + 0.05 (t - 10)
    h0 = e * np.exp(-np.log(0.5) * x)  # H0(T) = E / HR^x
    by_hand = np.where(h0 <= 0.5, h0 / 0.1,
                       np.where(h0 <= 1.5, 5 + (h0 - 0.5) / 0.2, 10 + (h0 - 1.5) / 0.05))
    np.testing.assert_allclose(pem.event_times(p, e, x), by_hand, rtol=1e-13)


@pytest.mark.parametrize(("family", "draws"), [
    (WeibullPH(), {"log_hr": np.zeros(3), "k": np.array([0.5, 1.0, 3.0]),
                   "lam": np.array([0.3, 0.05, 1e-4])}),
    (PiecewiseExponentialPH(cuts=(2.0, 5.0)), {"log_hr": np.zeros(2), "lambda": np.array(
        [[0.1, 0.4, 0.02], [1.0, 0.01, 0.3]])}),
], ids=["weibull", "pem"])
def test_closed_form_baseline_inverse_equals_the_numerical_inversion(family, draws):
    target = np.array([[1e-3, 0.2, 0.9, 2.0, 6.0]] * np.shape(draws["log_hr"])[0])
    closed = family.baseline_inverse(draws, target)
    numeric = SurvivalFamily.baseline_inverse(family, draws, target)  # the default bisection
    np.testing.assert_allclose(closed, numeric, rtol=1e-9)
    np.testing.assert_allclose(  # and H0(inverse) = target, draw by draw
        [np.exp(family.log_cumhaz({k: (v[[s]] if k != "cuts" else v) for k, v in draws.items()},
                                  closed[s], 0))[0] for s in range(closed.shape[0])],
        target, rtol=1e-10)


def test_baseline_inverse_is_inf_where_the_hazard_never_gets_there():
    pem = PiecewiseExponentialPH(cuts=(5.0,))
    got = pem.baseline_inverse({"lambda": np.array([[0.01, 0.0]])}, np.array([[0.02, 1.0]]))
    assert got[0, 0] == pytest.approx(2.0) and np.isinf(got[0, 1])
    cured = SurvivalFamily.baseline_inverse(pem, {"lambda": np.array([[0.01, 0.0]]),
                                                  "log_hr": np.zeros(1)},
                                            np.array([[1.0]]))
    assert np.isinf(cured[0, 0])


def test_calibration_values_are_the_unconstrained_parameters():
    pem = {"log_hr": np.array([-0.3, 0.1]), "lambda": np.array([[0.1, 0.2], [0.3, 0.0]])}
    values = PEM_FIXED.calibration_values(pem)
    assert list(values) == ["log_hr", "log_lambda[0]", "log_lambda[1]"]
    np.testing.assert_allclose(values["log_lambda[1]"], [np.log(0.2), -np.inf])
    w = {"log_hr": np.array([0.2]), "k": np.array([2.0]), "lam": np.array([0.0]),
         "log_lam": np.array([-800.0])}  # lam below float range: log_lam is used
    values = WeibullPH().calibration_values(w)
    assert {k: v.tolist() for k, v in values.items()} == {
        "log_hr": [0.2], "log_k": [np.log(2.0)], "log_lam": [-800.0]}


def test_constants_effect_pieces_and_parameter_tables():
    draws = {"log_hr": np.array([0.1, 0.2]), "lambda": np.array([[0.1, 0.2], [0.3, 0.4]]),
             "log_hr_interval": np.array([[0.0, 0.5], [0.1, 0.6]]), "cuts": np.array([7.0])}
    tv = PiecewiseExponentialPH(time_varying=True)
    assert tv.with_constants(draws) == PiecewiseExponentialPH(time_varying=True, cuts=(7.0,))
    assert tv.with_constants({"log_hr": draws["log_hr"]}) is tv
    assert WeibullPH().with_constants(draws) == WeibullPH()
    log_hr, cuts = tv.effect_pieces(draws)
    np.testing.assert_array_equal(log_hr, draws["log_hr_interval"])
    assert cuts.tolist() == [7.0]
    log_hr, cuts = PiecewiseExponentialPH().effect_pieces(draws)
    assert log_hr.tolist() == [[0.1], [0.2]] and cuts.size == 0
    assert tv.baseline_variables() == ("lambda",) == PiecewiseExponentialPH().baseline_variables()
    assert WeibullPH().baseline_variables() == ("k", "lam")
    table = PiecewiseExponentialPH().parameter_draws(draws)
    assert list(table) == ["lambda[0]", "lambda[1]"] and table["lambda[1]"].tolist() == [0.2, 0.4]
    assert list(WeibullPH().parameter_draws({"k": [1.0], "lam": [2.0]})) == ["k", "lam"]


def test_cumhaz_rows_evaluate_each_draw_at_its_own_times():
    draws = {"log_hr": np.zeros(2), "k": np.array([1.0, 2.0]), "lam": np.array([0.1, 0.01])}
    t = np.array([[1.0, 4.0, 9.0], [2.0, 3.0, 10.0]])
    np.testing.assert_allclose(WeibullPH().cumhaz_rows(draws, t),
                               [[0.1, 0.4, 0.9], [0.04, 0.09, 1.0]], rtol=1e-13)
    pem = PiecewiseExponentialPH(cuts=(5.0,))
    rows = pem.cumhaz_rows({"log_hr": np.zeros(2), "lambda": np.array([[0.1, 0.2],
                                                                     [0.0, 1.0]])}, t)
    np.testing.assert_allclose(rows, [[0.1, 0.4, 0.5 + 0.2 * 4], [0.0, 0.0, 5.0]], rtol=1e-13)


def test_decision_options_give_the_family_quantities():
    w = {"log_hr": np.array([-0.4, 0.2]), "k": np.array([2.0, 0.5])}
    extra = WeibullPH().decision_options(w)["extra"]
    np.testing.assert_allclose(extra["AFT factor (ratio of medians)"], np.exp(
        -w["log_hr"] / w["k"]))
    given = WeibullPH().decision_options(w | {"aft_factor": np.array([9.0, 9.0])})
    assert given["extra"]["AFT factor (ratio of medians)"].tolist() == [9.0, 9.0]
    assert PiecewiseExponentialPH().decision_options({"log_hr": np.zeros(1)}) == {}
    tv = {"log_hr_interval": np.zeros((1, 2)), "cuts": np.array([6.0])}
    options = PiecewiseExponentialPH(time_varying=True).decision_options(tv)
    assert set(options) == {"interval_log_hr", "interval_cuts"}
    decision = decide(np.zeros(1), **options)
    assert decision.get("interval_hr", component="≥6")["estimate"] == 1.0


def test_exact_posterior_hook_is_the_oracle_with_the_family_options():
    from bridgebayes.models.exact import pem_posterior, weibull_posterior
    from bridgebayes.models.piecewise import default_cuts

    data = random_data(4, n=40)
    pem = PiecewiseExponentialPH(n_intervals=3, a0=0.3, log_hr_mu=0.1, log_hr_sigma=0.5)
    assert pem.has_exact_posterior()
    ours = pem.exact_posterior(data)
    cuts = default_cuts(data.time, data.event, n_intervals=3)
    theirs = pem_posterior(data, cuts=cuts, a0=0.3, log_hr_mu=0.1, log_hr_sigma=0.5)
    assert ours.log_evidence == theirs.log_evidence
    np.testing.assert_array_equal(ours.draws(20, rng=1)["lambda"], theirs.draws(20, rng=1)[
        "lambda"])
    assert ours.settings["cuts"].tolist() == pem.cuts_for(data).tolist() == cuts.tolist()
    w = WeibullPH(a0=0.3, log_k_sigma=0.5, mean_time=12.0)
    assert w.exact_posterior(data).log_evidence == weibull_posterior(
        data, a0=0.3, log_k_sigma=0.5, mean_time=12.0, log_hr_mu=0.0,
        log_hr_sigma=1.0).log_evidence
    for family in (PiecewiseExponentialPH(baseline="random_walk"),
                   PiecewiseExponentialPH(time_varying=True),
                   PiecewiseExponentialPH(covariates=("age",)), WeibullPH(covariates=("age",))):
        assert not family.has_exact_posterior()
        with pytest.raises(BridgeBayesError, match="no exact posterior"):
            family.exact_posterior(data)
