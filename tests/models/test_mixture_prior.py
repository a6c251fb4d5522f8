"""The robust mixture prior on the log HR against independent references: PyMC's logp
against scipy's mixture density, the exact PEM oracle against a brute-force 1-D quadrature
built from the patient data, and the vague component's posterior weight against the
closed form of a normal likelihood."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy import integrate, stats
from scipy.special import gammaln, logsumexp

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.driver import structure_key
from bridgebayes.inference.prior_weight import (
    log_hr_prior_elir,
    normal_mixture_elir,
    vague_posterior_weight,
)
from bridgebayes.models.exact import pem_posterior
from bridgebayes.models.families import FAMILIES, PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.priors import LogHrPrior

MU, SIGMA, W, VMU, VSIGMA = -0.3, 0.25, 0.3, 0.0, 2.0
A0, CUT = 0.1, 6.0
REF_T = [2.1, 3.5, 5.0, 7.2, 9.8, 14.0, 4.4, 8.8]
REF_E = [1, 1, 0, 1, 1, 0, 1, 1]
TRT_T = [3.0, 6.4, 8.1, 11.5, 15.2, 20.0, 18.0, 22.0]
TRT_E = [1, 0, 1, 1, 0, 0, 0, 0]


def _data() -> EndpointData:
    time = np.asarray(REF_T + TRT_T, float)
    return EndpointData(name="os", time=time, event=np.asarray(REF_E + TRT_E, int),
                        arm=np.repeat([0, 1], len(REF_T)), arms=("ref", "trt"),
                        ids=np.arange(time.size))


def _scipy_logpdf(x: np.ndarray) -> np.ndarray:
    return logsumexp([np.log1p(-W) + stats.norm.logpdf(x, MU, SIGMA),
                      np.log(W) + stats.norm.logpdf(x, VMU, VSIGMA)], axis=0)


def _robust(cls=PiecewiseExponentialPH, **options):
    return cls(log_hr_mu=MU, log_hr_sigma=SIGMA, log_hr_vague_weight=W, log_hr_vague_mu=VMU,
               log_hr_vague_sigma=VSIGMA, **options)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_pymc_logp_of_the_mixture_prior_is_scipys(name):
    family = FAMILIES[name](log_hr_mu=MU, log_hr_sigma=SIGMA, log_hr_vague_weight=W,
                            log_hr_vague_mu=VMU, log_hr_vague_sigma=VSIGMA)
    model = family.build_model(_data())
    x = np.linspace(-6.0, 5.0, 23)
    logp = pm.logp(model["log_hr"], x).eval()
    np.testing.assert_allclose(logp, _scipy_logpdf(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(family.log_hr_prior().logpdf(x), _scipy_logpdf(x), rtol=1e-12)


def test_prior_draws_and_cdf_follow_the_mixture():
    prior = _robust().log_hr_prior()
    draws = _robust(WeibullPH, mean_time=5.0).prior_draws(40000, np.random.default_rng(3))["log_hr"]
    x = np.array([-1.0, -0.3, 0.0, 1.5])
    reference = (1 - W) * stats.norm.cdf(x, MU, SIGMA) + W * stats.norm.cdf(x, VMU, VSIGMA)
    np.testing.assert_allclose(prior.cdf(x), reference, rtol=1e-12)
    ecdf = (draws[:, None] <= x).mean(axis=0)
    assert np.all(np.abs(ecdf - reference) < 4 * np.sqrt(reference * (1 - reference) / 40000))
    strata = prior.stratified(20000)
    np.testing.assert_allclose((strata[:, None] <= x).mean(axis=0), reference, atol=2e-3)


def test_options_round_trip_and_a_mixture_is_another_structure():
    family = _robust(WeibullPH)
    assert WeibullPH.from_options(family.options()) == family
    arrays = family.data_arrays(_data())
    assert structure_key(family, arrays) != structure_key(WeibullPH(), WeibullPH().data_arrays(
        _data()))
    other = WeibullPH(log_hr_vague_weight=0.1, log_hr_vague_sigma=5.0)
    assert structure_key(family, arrays) == structure_key(other, other.data_arrays(_data()))


@pytest.mark.parametrize(("options", "match"), [
    ({"log_hr_vague_weight": 0.2}, "vague_sigma"),
    ({"log_hr_vague_weight": 0.2, "log_hr_vague_sigma": 0.1}, "vague_sigma"),
    ({"log_hr_vague_weight": 1.0, "log_hr_vague_sigma": 3.0}, "vague_weight"),
    ({"log_hr_vague_weight": -0.1, "log_hr_vague_sigma": 3.0}, "vague_weight"),
    ({"log_hr_vague_sigma": 3.0}, "vague_weight is 0"),
    ({"log_hr_vague_weight": 0.2, "log_hr_vague_sigma": 3.0, "log_hr_vague_mu": np.nan},
     "vague_mu"),
])
def test_bad_mixture_options_raise(options, match):
    with pytest.raises(BridgeBayesError, match=match):
        WeibullPH(**options)


def _brute_pem(data: EndpointData) -> dict[str, float]:
    """The PEM's 1-D marginal of the log HR from the patient data: per interval the Gamma
    integral of ``lambda^(a0 - 1 + d_j) exp(-lambda (b + E_0j + e^beta E_1j))``, times the
    scipy mixture density, integrated by quad."""
    t, ev, x = data.time, data.event, data.arm
    b = A0 * t.sum() / ev.sum()
    expo = np.stack([np.minimum(t, CUT), np.maximum(t - CUT, 0.0)], axis=1)
    hit = np.stack([(t <= CUT) & (ev == 1), (t > CUT) & (ev == 1)], axis=1)
    d_j, d1 = hit.sum(axis=0), int(np.sum(ev[x == 1]))

    def log_like(beta: float) -> float:
        rate = b + np.sum(np.exp(beta * x)[:, None] * expo, axis=0)
        return float(np.sum(A0 * np.log(b) + gammaln(A0 + d_j) - gammaln(A0)
                            - (A0 + d_j) * np.log(rate)) + beta * d1)

    def integrals(weight):
        def f(beta):
            return np.exp(log_like(beta)) * weight(beta)
        return sum(integrate.quad(f, a, c, epsabs=0.0, epsrel=1e-11, limit=400)[0]
                   for a, c in ((-30.0, -2.0), (-2.0, 0.0), (0.0, 2.0), (2.0, 30.0)))

    informative = lambda beta: (1 - W) * stats.norm.pdf(beta, MU, SIGMA)  # noqa: E731
    vague = lambda beta: W * stats.norm.pdf(beta, VMU, VSIGMA)  # noqa: E731
    total = integrals(lambda beta: informative(beta) + vague(beta))
    below = sum(integrate.quad(lambda beta: np.exp(log_like(beta)) * (
        informative(beta) + vague(beta)), a, c, epsabs=0.0, epsrel=1e-11, limit=400)[0]
        for a, c in ((-30.0, -2.0), (-2.0, 0.0)))
    return {"p": below / total, "vague": integrals(vague) / total}


def test_exact_pem_with_a_mixture_prior_matches_brute_force_quadrature():
    data = _data()
    post = pem_posterior(data, cuts=[CUT], log_hr_mu=MU, log_hr_sigma=SIGMA, a0=A0,
                         log_hr_vague_weight=W, log_hr_vague_mu=VMU, log_hr_vague_sigma=VSIGMA)
    ref = _brute_pem(data)
    assert post.prob_hr_below(1.0) == pytest.approx(ref["p"], rel=1e-6)
    assert post.vague_weight() == pytest.approx(ref["vague"], rel=1e-6)
    assert post.vague_weight() > W  # this data set pulls against the informative component
    family = _robust(cuts=(CUT,))
    assert family.exact_posterior(data).prob_hr_below(1.0) == pytest.approx(ref["p"], rel=1e-9)
    draws = post.draws(4000, rng=2)["log_hr"]
    weight, mcse = vague_posterior_weight(post.log_hr_prior(), draws)
    assert abs(weight - ref["vague"]) < 4 * mcse


@pytest.mark.parametrize(("bhat", "s"), [(0.9, 0.3), (-0.3, 0.3), (2.0, 0.6)])
def test_vague_weight_estimator_matches_the_conjugate_closed_form(bhat, s):
    prior = LogHrPrior(MU, SIGMA, vague_weight=W, vague_mu=VMU, vague_sigma=VSIGMA)
    vague = W * stats.norm.pdf(bhat, VMU, np.sqrt(VSIGMA**2 + s**2))
    informative = (1 - W) * stats.norm.pdf(bhat, MU, np.sqrt(SIGMA**2 + s**2))
    closed = vague / (vague + informative)
    # exact draws of the conjugate posterior: the component by its posterior weight, then
    # its normal posterior
    rng = np.random.default_rng(5)
    n = 20000
    is_vague = rng.random(n) < closed
    means, sds = [], []
    for m, sd in ((MU, SIGMA), (VMU, VSIGMA)):
        precision = 1 / sd**2 + 1 / s**2
        means.append((m / sd**2 + bhat / s**2) / precision)
        sds.append(np.sqrt(1 / precision))
    b = np.where(is_vague, rng.normal(means[1], sds[1], n), rng.normal(means[0], sds[0], n))
    weight, mcse = vague_posterior_weight(prior, b)
    assert 0 < mcse < 0.01
    assert abs(weight - closed) < 4 * mcse
    # the estimator is not the share of draws nearer the vague component
    weight_2d, _ = vague_posterior_weight(prior, b.reshape(4, -1))
    assert weight_2d == pytest.approx(weight, rel=1e-12)


def test_mixture_elir_is_the_components_elir():
    prior = LogHrPrior(MU, SIGMA, vague_weight=W, vague_mu=VMU, vague_sigma=VSIGMA)
    p = 0.4
    assert log_hr_prior_elir(prior, p) == pytest.approx(
        normal_mixture_elir([1 - W, W], [MU, VMU], [SIGMA, VSIGMA], unit_information=p * (1 - p)),
        rel=1e-12)
    assert log_hr_prior_elir(LogHrPrior(MU, SIGMA), p) == pytest.approx(
        1 / (SIGMA**2 * p * (1 - p)), rel=1e-8)
    with pytest.raises(BridgeBayesError, match="normal"):
        vague_posterior_weight(LogHrPrior(MU, SIGMA), np.zeros(10))


def test_set_data_refuses_a_normal_prior_in_a_mixture_model_and_back():
    robust, normal = _robust(WeibullPH), WeibullPH(log_hr_mu=MU, log_hr_sigma=SIGMA)
    other = WeibullPH(log_hr_mu=0.1, log_hr_sigma=SIGMA, log_hr_vague_weight=0.5,
                      log_hr_vague_sigma=4.0)
    model = robust.build_model(_data())
    other.set_data(model, _data())  # another mixture: the same compiled structure
    np.testing.assert_allclose(pm.logp(model["log_hr"], np.array([0.3])).eval(),
                               other.log_hr_prior().logpdf(np.array([0.3])), rtol=1e-10)
    for family, built in ((normal, model), (robust, normal.build_model(_data()))):
        with pytest.raises(BridgeBayesError, match="log_hr_prior_vague"):
            family.set_data(built, _data())
