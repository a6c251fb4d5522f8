"""Tests for :mod:`bridgebayes.models.exact` (quadrature oracle of ``docs/engine.md``).

Brute-force references integrate the per-patient likelihood numerically (``scipy.integrate``),
without the closed-form Gamma integrals the module uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, WeibullAFTFitter
from numpy.polynomial.legendre import leggauss
from scipy import integrate, stats
from scipy.interpolate import CubicSpline
from scipy.special import digamma, gammaln, logsumexp, polygamma

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import ExactPosterior, pem_posterior, weibull_posterior
from bridgebayes.models.piecewise import default_cuts

REF_T = [2.1, 3.5, 5.0, 7.2, 9.8, 14.0]
REF_E = [1, 1, 0, 1, 1, 0]
TRT_T = [3.0, 6.4, 8.1, 11.5, 15.2, 20.0]
TRT_E = [1, 0, 1, 1, 0, 0]
CUT = 6.0
MU, SIGMA, A0 = 0.0, 1.5, 0.1
R0, M0 = 0.05, 4.0  # fixed crude rate (per unit time) and mean time: not this data's


def _data(time, event, arm) -> EndpointData:
    time = np.asarray(time, float)
    return EndpointData(name="os", time=time, event=np.asarray(event, int),
                        arm=np.asarray(arm, int), arms=("ref", "trt"), ids=np.arange(time.size))


def _events_in(reference: bool, treatment: bool) -> EndpointData:
    """The small data set with the events of each arm kept or all censored."""
    ref_e, trt_e = (REF_E if reference else [0] * 6), (TRT_E if treatment else [0] * 6)
    return _data(REF_T + TRT_T, ref_e + trt_e, [0] * 6 + [1] * 6)


def _small(treatment_events: bool) -> EndpointData:
    return _events_in(True, treatment_events)


def _simulate(n: int, *, k: float, log_hr: float, scale: float, seed: int) -> EndpointData:
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n)
    t = scale * (rng.exponential(size=2 * n) * np.exp(-log_hr * arm)) ** (1 / k)
    c = scale * rng.uniform(0.5, 3.0, size=2 * n)
    return _data(np.minimum(t, c), (t <= c).astype(int), arm)


# --------------------------------------------------------------------------- brute force


def _brute_pem(data: EndpointData, crude_rate: float | None = None) -> dict[str, float]:
    """Nested quadrature: quad over each lambda_j (per-patient likelihood), quad_vec over log_hr.

    Prior rate ``b = a0 / r``: ``r`` = ``crude_rate``, or total events / total time.
    """
    t, ev, x = data.time, data.event, data.arm
    expo = np.stack([np.minimum(t, CUT), np.maximum(t - CUT, 0.0)], axis=1)
    interval = (t > CUT).astype(int)
    b = A0 * t.sum() / ev.sum() if crude_rate is None else A0 / crude_rate

    def lambda_integral(beta: float, j: int) -> float:
        hit = (interval == j) & (ev == 1)
        rate = b + np.sum(np.exp(beta * x) * expo[:, j])
        # prior density b^a0/Gamma(a0) lam^(a0-1) e^(-b lam) times the likelihood in lam;
        # the power lam^(a0 - 1 + d_j) is the algebraic weight of QUADPACK's QAWS
        val, _ = integrate.quad(lambda lam: np.exp(-b * lam - lam * np.sum(np.exp(beta * x)
                                                                         * expo[:, j])),
                                0.0, 200.0 / rate, weight="alg", wvar=(A0 - 1 + hit.sum(), 0.0),
                                epsabs=0.0, epsrel=1e-11, limit=200)
        return val * np.exp(A0 * np.log(b) - gammaln(A0) + beta * np.sum(x[hit]))

    def integrand(beta: float) -> np.ndarray:
        p = stats.norm.pdf(beta, MU, SIGMA) * lambda_integral(beta, 0) * lambda_integral(beta, 1)
        return np.array([p, beta * p, beta**2 * p, p * (beta < 0)])

    z, _ = integrate.quad_vec(integrand, MU - 14 * SIGMA, MU + 14 * SIGMA, points=(0.0,),
                              epsabs=0.0, epsrel=1e-10, limit=500)
    mean = z[1] / z[0]
    return {"mean": mean, "sd": np.sqrt(z[2] / z[0] - mean**2), "p": z[3] / z[0],
            "log_evidence": np.log(z[0])}


def _brute_weibull(data: EndpointData, box_u, box_b, n: int = 96,
                   mean_time: float | None = None) -> dict[str, float]:
    """Gauss-Legendre tensor grid over (log k, log_hr); lam integrated by quad_vec.

    Prior ``lam | k ~ Gamma(a0, a0 m^k)``: ``m`` = ``mean_time``, or the mean observed time.
    """
    t, ev, x = data.time, data.event, data.arm
    m = t.mean() if mean_time is None else mean_time
    nodes, weights = leggauss(n)
    half_u, half_b = (box_u[1] - box_u[0]) / 2, (box_b[1] - box_b[0]) / 2
    u = (box_u[0] + half_u * (nodes + 1))[:, None]
    beta = (box_b[0] + half_b * (nodes + 1))[None, :]
    wts = (half_u * weights)[:, None] * (half_b * weights)[None, :]
    k = np.exp(u)
    # per-patient log hazard at the event times and cumulative hazard / lam
    log_h = sum(ev[i] * (u + (k - 1) * np.log(t[i]) + beta * x[i]) for i in range(t.size))
    cum = sum(np.exp(k * np.log(t[i]) + beta * x[i]) for i in range(t.size))
    prior_rate = A0 * m**k

    def log_f(v):  # v = log lam; includes the Jacobian lam
        lam = np.exp(v)
        return (ev.sum() * v + log_h - lam * cum + A0 * np.log(prior_rate) - gammaln(A0)
                + (A0 - 1) * v - prior_rate * lam + v)

    coarse = np.linspace(-250.0, 50.0, 601)[:, None, None]  # locate each peak
    vals = log_f(coarse)
    v_top, f_top = coarse[np.argmax(vals, axis=0), 0, 0], vals.max(axis=0)
    res, _ = integrate.quad_vec(lambda z: np.exp(log_f(v_top + z) - f_top), -30.0, 6.0,
                                epsabs=0.0, epsrel=1e-12, limit=500)
    log_post = (f_top + np.log(res) + stats.norm.logpdf(u, 0.0, 1.0)
                + stats.norm.logpdf(beta, MU, SIGMA))
    top = log_post.max()
    edges = np.concatenate([log_post[0], log_post[-1], log_post[:, 0], log_post[:, -1]])
    assert edges.max() < top - 25, "brute-force box too small"
    p = np.exp(log_post - top) * wts
    z = p.sum()
    mean = np.sum(beta * p) / z
    return {"mean": mean, "sd": np.sqrt(np.sum((beta - mean) ** 2 * p) / z),
            "k_mean": np.sum(k * p) / z, "log_evidence": top + np.log(z)}


def _k_mean(post: ExactPosterior) -> float:
    marginal = np.trapezoid(post.joint, post.log_hr, axis=1)
    return float(np.trapezoid(np.exp(post.log_k) * marginal, post.log_k))


@pytest.mark.parametrize(("reference", "treatment", "crude_rate"), [
    (True, True, None), (True, False, None), (False, False, R0), (False, True, R0)])
def test_pem_matches_brute_force(reference: bool, treatment: bool, crude_rate) -> None:
    """Data-scaled prior, and a fixed ``crude_rate`` (also without any event)."""
    data = _events_in(reference, treatment)
    post = pem_posterior(data, cuts=[CUT], log_hr_mu=MU, log_hr_sigma=SIGMA,
                         crude_rate=crude_rate)
    ref = _brute_pem(data, crude_rate=crude_rate)
    assert crude_rate is None or post.settings["r"] == crude_rate
    assert post.log_hr_mean() == pytest.approx(ref["mean"], rel=1e-6)
    assert post.log_hr_sd() == pytest.approx(ref["sd"], rel=1e-6)
    assert post.prob_hr_below(1.0) == pytest.approx(ref["p"], rel=1e-6)
    assert post.log_evidence == pytest.approx(ref["log_evidence"], rel=1e-8)


@pytest.mark.parametrize(("treatment_events", "box_u", "box_b", "mean_time"), [
    (True, (-6.5, 3.0), (-12.0, 9.0), None), (False, (-8.0, 3.5), (-17.0, 9.0), None),
    (True, (-6.5, 3.0), (-12.0, 9.0), M0)])
def test_weibull_matches_brute_force(treatment_events: bool, box_u, box_b, mean_time) -> None:
    """Data-scaled prior, and a fixed ``mean_time``."""
    data = _small(treatment_events)
    post = weibull_posterior(data, log_hr_mu=MU, log_hr_sigma=SIGMA, mean_time=mean_time)
    ref = _brute_weibull(data, box_u, box_b, mean_time=mean_time)
    assert mean_time is None or post.settings["m"] == mean_time
    assert post.log_hr_mean() == pytest.approx(ref["mean"], rel=1e-4)
    assert post.log_hr_sd() == pytest.approx(ref["sd"], rel=1e-4)
    assert _k_mean(post) == pytest.approx(ref["k_mean"], rel=1e-4)
    assert post.log_evidence == pytest.approx(ref["log_evidence"], rel=1e-6)


# --------------------------------------------------------------------------- conjugacy / draws


def test_pem_lambda_draws_match_conditional_gamma() -> None:
    data = _simulate(18, k=1.3, log_hr=-0.5, scale=20.0, seed=1)
    post = pem_posterior(data, cuts=default_cuts(data.time, data.event), log_hr_mu=0.0,
                         log_hr_sigma=1.5)
    a0, r, d, e = (post.settings[k] for k in ("a0", "r", "events", "exposure"))
    rate = a0 / r + e[:, 0] + np.exp(post.log_hr)[:, None] * e[:, 1]
    shape = a0 + d.sum(axis=1)
    exact = np.trapezoid(shape / rate * post.density[:, None], post.log_hr, axis=0)
    draws = post.draws(20_000, rng=np.random.default_rng(7))
    assert draws["lambda"].shape == (20_000, d.shape[0])
    np.testing.assert_array_equal(draws["cuts"], post.settings["cuts"])
    se = draws["lambda"].std(axis=0) / np.sqrt(20_000)
    assert np.all(np.abs(draws["lambda"].mean(axis=0) - exact) < 4 * se)
    beta = draws["log_hr"]
    assert abs(beta.mean() - post.log_hr_mean()) < 4 * beta.std() / np.sqrt(beta.size)
    np.testing.assert_array_equal(draws["lambda"], post.draws(20_000, rng=7)["lambda"])


def test_weibull_draws_match_conditionals() -> None:
    data = _simulate(18, k=1.3, log_hr=-0.5, scale=20.0, seed=2)
    post = weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=1.5)
    u = post.log_k[:, None]
    t, x = data.time, data.arm
    total = sum(np.exp(np.exp(u) * np.log(t[i]) + post.log_hr * x[i]) for i in range(t.size))
    a0, m = post.settings["a0"], post.settings["m"]
    lam_mean = (a0 + data.event.sum()) / (a0 * m ** np.exp(u) + total)
    exact_lam = np.trapezoid(np.trapezoid(lam_mean * post.joint, post.log_hr, axis=1), post.log_k)
    draws = post.draws(20_000, rng=11)
    for name, exact in (("lam", exact_lam), ("k", _k_mean(post)), ("log_hr", post.log_hr_mean())):
        se = draws[name].std() / np.sqrt(20_000)
        assert abs(draws[name].mean() - exact) < 4 * se, name


# --------------------------------------------------------------------------- invariances


def test_time_rescaling_leaves_log_hr_posterior_unchanged() -> None:
    data = _simulate(18, k=1.3, log_hr=-0.5, scale=20.0, seed=3)
    days = _data(data.time * 30.4375, data.event, data.arm)
    cuts = default_cuts(data.time, data.event)
    pairs = [(pem_posterior(data, cuts=cuts, log_hr_mu=0.0, log_hr_sigma=1.5),
              pem_posterior(days, cuts=cuts * 30.4375, log_hr_mu=0.0, log_hr_sigma=1.5)),
             (weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=1.5),
              weibull_posterior(days, log_hr_mu=0.0, log_hr_sigma=1.5))]
    for months, in_days in pairs:
        assert in_days.log_hr_mean() == pytest.approx(months.log_hr_mean(), rel=1e-8)
        assert in_days.log_hr_sd() == pytest.approx(months.log_hr_sd(), rel=1e-8)
        assert in_days.prob_hr_below(0.8) == pytest.approx(months.prob_hr_below(0.8), rel=1e-8)
    assert _k_mean(pairs[1][1]) == pytest.approx(_k_mean(pairs[1][0]), rel=1e-8)


@pytest.mark.parametrize(("a0", "tol"), [(1e-9, 1e-6), (0.1, 0.05)])
def test_swapping_arms_negates_log_hr(a0: float, tol: float) -> None:
    """Exact when a0 -> 0; the baseline prior sits on the reference arm, so only close at 0.1."""
    data = _simulate(18, k=1.3, log_hr=-0.5, scale=20.0, seed=4)
    swapped = _data(data.time, data.event, 1 - data.arm)
    cuts = default_cuts(data.time, data.event)
    for fit in (lambda d: pem_posterior(d, cuts=cuts, log_hr_mu=0.0, log_hr_sigma=1.5, a0=a0),
                lambda d: weibull_posterior(d, log_hr_mu=0.0, log_hr_sigma=1.5, a0=a0)):
        post, flipped = fit(data), fit(swapped)
        sd = post.log_hr_sd()  # tolerances in posterior-SD units
        assert abs(flipped.log_hr_mean() + post.log_hr_mean()) < tol * sd
        assert abs(flipped.log_hr_sd() - sd) < tol * sd
        assert abs(flipped.prob_hr_below(1.0) - (1 - post.prob_hr_below(1.0))) < tol / 2


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("k", [0.05, 1.0, 50.0])
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e5])
def test_extreme_times_and_shapes(k: float, scale: float) -> None:
    data = _simulate(18, k=k, log_hr=-0.7, scale=scale, seed=5)
    time = np.clip(data.time, 1e-6, 1e5)
    clipped = np.any(time != data.time)
    data = _data(time, np.where(time >= 1e5, 0, data.event), data.arm)
    weib = weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=1.5)
    for post in (weib, pem_posterior(data, cuts=None, log_hr_mu=0.0, log_hr_sigma=1.5)):
        assert np.all(np.isfinite(post.density)) and np.isfinite(post.log_evidence)
        assert np.trapezoid(post.density, post.log_hr) == pytest.approx(1.0, rel=1e-12)
        assert np.isfinite(post.log_hr_mean()) and post.log_hr_sd() > 0
        draws = post.draws(500, rng=0)
        assert all(np.all(np.isfinite(v)) for name, v in draws.items() if name != "lam")
    if not clipped:  # the shape is recovered
        assert abs(np.log(_k_mean(weib)) - np.log(k)) < 0.5


def test_no_events_pem_posterior_is_prior() -> None:
    data = _data(REF_T + TRT_T, [0] * 12, [0] * 6 + [1] * 6)
    post = pem_posterior(data, cuts=[CUT], log_hr_mu=0.3, log_hr_sigma=0.8)
    prior = stats.norm(0.3, 0.8)
    assert post.log_hr_mean() == pytest.approx(0.3, rel=1e-10)
    assert post.log_hr_sd() == pytest.approx(0.8, rel=1e-10)
    assert post.prob_hr_below(1.0) == pytest.approx(prior.cdf(0.0), rel=1e-9)
    np.testing.assert_allclose(post.log_hr_quantile([0.01, 0.5, 0.9]),
                               prior.ppf([0.01, 0.5, 0.9]), rtol=1e-9)
    np.testing.assert_allclose(post.hdi(0.9), prior.interval(0.9), rtol=1e-7)
    assert post.log_evidence == pytest.approx(0.0, abs=1e-12)
    assert np.all(post.draws(10, rng=0)["lambda"] == 0.0)
    wb = weibull_posterior(data, log_hr_mu=0.3, log_hr_sigma=0.8)
    assert np.isfinite(wb.log_hr_mean()) and wb.log_hr_sd() > 0


def test_zero_event_arm_is_one_sided_but_proper() -> None:
    post = pem_posterior(_small(False), cuts=[CUT], log_hr_mu=0.0, log_hr_sigma=10.0)
    assert post.prob_hr_below(1.0) > 0.99
    lo, hi = post.hdi(0.95)
    assert lo < -5 < hi < 0.5 and post.log_hr_quantile(0.5) < -1


def test_quantiles_and_hdi_are_consistent() -> None:
    post = weibull_posterior(_small(True), log_hr_mu=0.0, log_hr_sigma=1.5)
    q = post.log_hr_quantile(np.array([0.05, 0.5, 0.95]))
    for level, value in zip((0.05, 0.5, 0.95), q, strict=True):
        assert post.prob_hr_below(np.exp(value)) == pytest.approx(level, abs=1e-10)
    lo, hi = post.hdi(0.9)
    assert post.prob_hr_below(np.exp(hi)) - post.prob_hr_below(np.exp(lo)) == pytest.approx(0.9)
    density = CubicSpline(post.log_hr, post.density)([lo, hi])  # equal at the HDI ends
    assert density[0] == pytest.approx(density[1], rel=1e-6)
    assert post.conditional.__name__ == "_weibull_conditional"
    assert post.settings == {"a0": 0.1, "log_hr_prior": (0.0, 1.5), "log_k_prior": (0.0, 1.0),
                             "m": pytest.approx(np.mean(REF_T + TRT_T)),
                             "events": pytest.approx([4, 3])}


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"log_hr_sigma": 0.0}, "log_hr_sigma"), ({"log_hr_sigma": -1.0}, "log_hr_sigma"),
    ({"log_hr_sigma": np.nan}, "log_hr_sigma"), ({"log_hr_sigma": np.inf}, "log_hr_sigma"),
    ({"log_hr_mu": "x"}, "log_hr_mu"), ({"a0": 0.0}, "a0"),
])
def test_invalid_arguments(kwargs, name: str) -> None:
    args = {"log_hr_mu": 0.0, "log_hr_sigma": 1.0} | kwargs
    with pytest.raises(BridgeBayesError, match=name):
        pem_posterior(_small(True), cuts=[CUT], **args)
    with pytest.raises(BridgeBayesError, match=name):
        weibull_posterior(_small(True), **args)
    with pytest.raises(BridgeBayesError, match="log_k_sigma"):
        weibull_posterior(_small(True), log_hr_mu=0.0, log_hr_sigma=1.0, log_k_sigma=-2)


def test_invalid_data() -> None:
    with pytest.raises(BridgeBayesError, match="data: no patients"):
        pem_posterior(_data([], [], []), cuts=[], log_hr_mu=0.0, log_hr_sigma=1.0)
    with pytest.raises(BridgeBayesError, match="data: no patients"):
        weibull_posterior(_data([], [], []), log_hr_mu=0.0, log_hr_sigma=1.0)
    with pytest.raises(BridgeBayesError, match=r"data\.time.*id=1"):
        weibull_posterior(_data([1.0, 0.0], [1, 1], [0, 1]), log_hr_mu=0.0, log_hr_sigma=1.0)
    with pytest.raises(BridgeBayesError, match=r"data\.event"):
        pem_posterior(_data([1.0, 2.0], [1, 2], [0, 1]), cuts=[], log_hr_mu=0, log_hr_sigma=1)
    with pytest.raises(BridgeBayesError, match="cuts"):
        pem_posterior(_small(True), cuts=[np.nan], log_hr_mu=0.0, log_hr_sigma=1.0)


# --------------------------------------------------------------------------- fixed prior scale

ARMS_WITH_EVENTS = [(False, False), (False, True), (True, False)]


def _pem_moments(data: EndpointData, crude_rate: float) -> dict[str, np.ndarray]:
    """Posterior mean and variance of log_hr and lambda_j by quad_vec over log_hr.

    ``lambda_j | log_hr ~ Gamma(a0 + d_j, b + E_j0 + exp(log_hr) E_j1)``: its first two moments
    integrated over ``p(log_hr | data)``, both from sufficient statistics counted here.
    """
    t, ev, x = data.time, data.event, data.arm
    expo = np.stack([np.minimum(t, CUT), np.maximum(t - CUT, 0.0)], axis=1)  # (patient, j)
    e = np.stack([expo[x == 0].sum(axis=0), expo[x == 1].sum(axis=0)], axis=1)  # (j, arm)
    shape = A0 + np.bincount((t > CUT).astype(int), weights=ev, minlength=2)
    b, d1 = A0 / crude_rate, ev[x == 1].sum()

    def integrand(beta: float) -> np.ndarray:
        rate = b + e[:, 0] + np.exp(beta) * e[:, 1]
        p = np.exp(stats.norm.logpdf(beta, MU, SIGMA) + beta * d1 - np.sum(shape * np.log(rate)))
        return p * np.concatenate([[1.0, beta, beta**2], shape / rate,
                                   shape * (shape + 1) / rate**2])

    z, _ = integrate.quad_vec(integrand, MU - 14 * SIGMA, MU + 14 * SIGMA, epsabs=0.0,
                              epsrel=1e-10, limit=500)
    z = z / z[0]
    mean, second = z[3:5], z[5:7]
    return {"log_hr": np.array([z[1], z[2] - z[1] ** 2]), "mean": mean,
            "var": second - mean**2}


@pytest.mark.parametrize(("reference", "treatment"), ARMS_WITH_EVENTS)
def test_pem_hazard_draws_with_a_fixed_scale_follow_the_conditional_gamma(
        reference: bool, treatment: bool) -> None:
    """Regression: without any event ``draws`` returned lambda = 0 even for a proper prior."""
    data = _events_in(reference, treatment)
    post = pem_posterior(data, cuts=[CUT], log_hr_mu=MU, log_hr_sigma=SIGMA, crude_rate=R0)
    ref, n = _pem_moments(data, R0), 40_000
    assert post.log_hr_mean() == pytest.approx(ref["log_hr"][0], rel=1e-6, abs=1e-9)
    assert post.log_hr_sd() ** 2 == pytest.approx(ref["log_hr"][1], rel=1e-6)
    lam = post.draws(n, rng=np.random.default_rng(21))["lambda"]
    assert lam.shape == (n, 2) and np.all(lam > 0) and np.all(np.isfinite(lam))
    dev2 = (lam - lam.mean(axis=0)) ** 2
    assert np.all(np.abs(lam.mean(axis=0) - ref["mean"]) < 4 * lam.std(axis=0) / np.sqrt(n))
    assert np.all(np.abs(dev2.mean(axis=0) - ref["var"]) < 4 * dev2.std(axis=0) / np.sqrt(n))


def test_pem_without_events_and_a_fixed_scale_is_not_the_prior() -> None:
    """With ``r`` fixed the exposure still informs log_hr: more exposure in an arm, lower hazard."""
    post = pem_posterior(_events_in(False, False), cuts=[CUT], log_hr_mu=MU, log_hr_sigma=SIGMA,
                         crude_rate=R0)
    assert post.log_hr_mean() < MU - 0.05 and post.log_hr_sd() < SIGMA


@pytest.mark.parametrize("mean_time", [None, M0])
def test_weibull_draws_without_events_follow_the_conditional_gamma(mean_time) -> None:
    """``lam | k, log_hr ~ Gamma(a0, a0 m^k + sum_i t_i^k exp(log_hr x_i))`` when D = 0."""
    data = _events_in(False, False)
    post = weibull_posterior(data, log_hr_mu=MU, log_hr_sigma=SIGMA, mean_time=mean_time)
    m = data.time.mean() if mean_time is None else mean_time
    assert post.settings["m"] == pytest.approx(m, rel=1e-15)
    k, beta = np.exp(post.log_k)[:, None, None], post.log_hr[None, :, None]
    log_rate = np.logaddexp(np.log(A0) + k[..., 0] * np.log(m), logsumexp(
        k * np.log(data.time) + beta * data.arm, axis=-1))  # (log k, log_hr) grid
    moments = {"lam": A0 * np.exp(-log_rate), "log_lam": digamma(A0) - log_rate,
               "log_lam^2": polygamma(1, A0) + (digamma(A0) - log_rate) ** 2}
    exact = {name: np.trapezoid(np.trapezoid(v * post.joint, post.log_hr, axis=1), post.log_k)
             for name, v in moments.items()}
    n = 40_000
    draws = post.draws(n, rng=np.random.default_rng(22))
    lam, log_lam = draws["lam"], draws["log_lam"]
    assert np.all(lam > 0) and np.all(np.isfinite(lam))
    np.testing.assert_allclose(np.log(lam), log_lam, rtol=1e-12)
    for value, target in ((lam, exact["lam"]), (log_lam, exact["log_lam"]),
                          ((log_lam - log_lam.mean()) ** 2,
                           exact["log_lam^2"] - exact["log_lam"] ** 2)):
        assert abs(value.mean() - target) < 4 * value.std() / np.sqrt(n)


@pytest.mark.parametrize("value", [0.0, -1.0, np.nan, np.inf, "x"])
def test_invalid_fixed_scales(value) -> None:
    with pytest.raises(BridgeBayesError, match="crude_rate: expected a finite number > 0"):
        pem_posterior(_small(True), cuts=[CUT], log_hr_mu=0.0, log_hr_sigma=1.0,
                      crude_rate=value)
    with pytest.raises(BridgeBayesError, match="mean_time: expected a finite number > 0"):
        weibull_posterior(_small(True), log_hr_mu=0.0, log_hr_sigma=1.0, mean_time=value)


# --------------------------------------------------------------------------- lifelines


def _large() -> tuple[EndpointData, pd.DataFrame]:
    data = _simulate(400, k=1.4, log_hr=-0.4, scale=20.0, seed=6)
    frame = pd.DataFrame({"time": data.time, "event": data.event, "arm": data.arm})
    return data, frame


def test_pem_agrees_with_cox() -> None:
    data, frame = _large()
    post = pem_posterior(data, cuts=default_cuts(data.time, data.event, n_intervals=8),
                         log_hr_mu=0.0, log_hr_sigma=10.0)
    cox = CoxPHFitter().fit(frame, "time", "event").params_["arm"]
    assert abs(post.log_hr_mean() - cox) < 0.1 * post.log_hr_sd()


def test_weibull_agrees_with_lifelines_aft() -> None:
    data, frame = _large()
    post = weibull_posterior(data, log_hr_mu=0.0, log_hr_sigma=10.0)
    params = WeibullAFTFitter().fit(frame, "time", "event").params_
    rho = np.exp(params[("rho_", "Intercept")])  # S = exp(-(t / exp(b0 + b1 arm))^rho)
    log_hr = -rho * params[("lambda_", "arm")]
    assert abs(post.log_hr_mean() - log_hr) < 0.1 * post.log_hr_sd()
    assert _k_mean(post) == pytest.approx(rho, rel=0.02)
