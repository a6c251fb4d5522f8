"""Tests for the vectorised analyses of simulated trials.

References: lifelines' ``logrank_test`` (to 1e-10, with ties and excluded patients);
:func:`bridgebayes.models.exact.pem_posterior` and ``piecewise.sufficient_stats`` for the exact
batch; ``scipy.integrate.quad`` of the same marginal posterior for mixture priors.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.statistics import logrank_test
from scipy import integrate
from scipy.special import gammaln

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import pem_posterior
from bridgebayes.models.exact_batch import NormalMixture, pem_prob_below, pem_stats
from bridgebayes.models.families import PiecewiseExponentialPH
from bridgebayes.models.piecewise import sufficient_stats
from bridgebayes.plan.analyse import AnalysisPlan, analyse_trials, analysis_prior
from bridgebayes.plan.design_prior import explicit_prior
from bridgebayes.plan.logrank import logrank_z
from bridgebayes.plan.simulate import TrialDesign, simulate_trials

CUTS = np.array([6.0, 18.0])

ONE_INTERVAL = PiecewiseExponentialPH(cuts=())  # a constant baseline hazard


def _random_trials(seed: int, s: int = 60, n: int = 40, *, ties: bool = False):
    rng = np.random.default_rng(seed)
    t = rng.exponential(10.0, (s, n)) + 0.01
    t = np.round(t) + 1.0 if ties else t
    e = (rng.random((s, n)) < 0.7).astype(int)
    arm = rng.permutation(np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)])
    include = rng.random((s, n)) < 0.85
    return t, e, arm, include


@pytest.mark.parametrize("ties", [False, True])
def test_logrank_matches_lifelines(ties):
    t, e, arm, include = _random_trials(1, ties=ties)
    z = logrank_z(t, e, arm, include)
    for i in range(t.shape[0]):
        a, b = include[i] & (arm == 0), include[i] & (arm == 1)
        ref = logrank_test(t[i][a], t[i][b], e[i][a], e[i][b]).test_statistic
        assert abs(z[i] ** 2 - ref) < 1e-10
    # sign: Z < 0 when the treatment arm has fewer events than expected
    one = logrank_z(np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[1, 1, 0, 0]]),
                    np.array([0, 0, 1, 1]))
    assert one[0] < 0


def test_logrank_without_events_is_nan():
    z = logrank_z(np.ones((1, 4)), np.zeros((1, 4), int), np.array([0, 0, 1, 1]))
    assert np.isnan(z[0])


def test_pem_stats_match_sufficient_stats():
    t, e, arm, include = _random_trials(2)
    t[:, :3] = 6.0  # events exactly at a cut belong to the interval that ends there
    d, x = pem_stats(t, e, arm, include, CUTS)
    for i in range(t.shape[0]):
        m = include[i]
        dd, xx = sufficient_stats(t[i][m], e[i][m], arm[m], CUTS)
        np.testing.assert_array_equal(d[i], dd)
        np.testing.assert_allclose(x[i], xx, rtol=1e-12)


def test_exact_batch_matches_the_oracle():
    t, e, arm, include = _random_trials(3, s=40, n=30)
    d, x = pem_stats(t, e, arm, include, CUTS)
    for mu, sigma in ((0.0, 1.0), (-0.4, 0.3), (0.0, 10.0)):
        got = pem_prob_below(d, x, NormalMixture.normal(mu, sigma), thresholds=(0.8, 1.0, 1.25))
        for i in range(0, 40, 4):
            m = include[i]
            data = EndpointData("os", t[i][m], e[i][m], arm[m], ("a", "b"),
                                np.arange(m.sum()))
            post = pem_posterior(data, cuts=CUTS, log_hr_mu=mu, log_hr_sigma=sigma)
            want = [post.prob_hr_below(c) for c in (0.8, 1.0, 1.25)]
            np.testing.assert_allclose(got[i], want, atol=1e-8)


def _quad_prob(d, x, prior: NormalMixture, a0: float = 0.1) -> float:
    """P(log HR < 0) by adaptive quadrature of docs/engine.md's marginal posterior."""
    w, total = a0 + d.sum(axis=1), d.sum()
    b = a0 * x.sum() / total

    def dens(beta):
        like = beta * d[:, 1].sum() - np.sum(w * np.log(b + x[:, 0] + np.exp(beta) * x[:, 1]))
        return np.exp(prior.logpdf(np.array(beta)) + like + np.sum(gammaln(w)) + 20)

    lo = integrate.quad(dens, -30, 0, limit=400, epsabs=0, epsrel=1e-12)[0]
    hi = integrate.quad(dens, 0, 30, limit=400, epsabs=0, epsrel=1e-12)[0]
    return lo / (lo + hi)


def test_exact_batch_mixture_prior_matches_quadrature():
    t, e, arm, include = _random_trials(4, s=6, n=30)
    d, x = pem_stats(t, e, arm, include, CUTS)
    prior = NormalMixture((0.7, 0.3), (-0.5, 0.0), (0.3, 2.0))
    got = pem_prob_below(d, x, prior)[:, 0]
    want = [_quad_prob(d[i], x[i], prior) for i in range(6)]
    np.testing.assert_allclose(got, want, atol=1e-8)


def test_exact_batch_without_events_returns_the_prior():
    d, x = np.zeros((1, 3, 2)), np.ones((1, 3, 2))
    got = pem_prob_below(d, x, NormalMixture.normal(-0.5, 0.5), thresholds=(1.0,))
    np.testing.assert_allclose(got, [[0.8413447460685429]], atol=1e-9)


def test_bad_inputs_are_refused():
    with pytest.raises(BridgeBayesError, match="thresholds"):
        pem_prob_below(np.zeros((1, 1, 2)), np.ones((1, 1, 2)), NormalMixture.normal(0, 1),
                       thresholds=(1.0, 0.5))
    with pytest.raises(BridgeBayesError, match="weights"):
        NormalMixture((0.5,), (0.0,), (1.0,))
    with pytest.raises(BridgeBayesError, match="borrowing"):
        analysis_prior("borrowing")
    with pytest.raises(BridgeBayesError, match="distinct"):
        AnalysisPlan((6.0,), (("a", NormalMixture.normal(0, 1)),) * 2)


def test_analysis_priors():
    assert analysis_prior("vague", vague_sd=5.0).sds == (5.0,)
    assert analysis_prior("skeptical-strong").sds == (0.21,)
    draws = np.random.default_rng(1).normal(-0.5, 0.3, 4000)
    p = analysis_prior("borrowing", posterior_log_hr=draws, borrow_a0=0.5)
    assert p.means == (pytest.approx(draws.mean()),)
    assert p.sds == (pytest.approx(draws.std() / np.sqrt(0.5)),)


def test_analyse_trials_columns_and_values():
    rng = np.random.default_rng(5)
    prior = explicit_prior(log_hr_mu=-0.3, log_hr_sigma=0.2, family=ONE_INTERVAL,
                           baseline={"lambda": [0.05]})
    trials = simulate_trials(TrialDesign(n_total=40, accrual_duration=12.0, min_followup=6.0),
                             prior.sample(20, rng), rng)
    plan = AnalysisPlan(tuple(CUTS), (("vague", analysis_prior("vague")),))
    table = analyse_trials(trials, plan)
    assert list(table.columns) == ["events", "events_reference", "events_treatment", "duration",
                                   "n_enrolled", "reached", "logrank_z", "post_vague"]
    np.testing.assert_array_equal(table["events"], trials.events)
    np.testing.assert_array_equal(table["events_reference"] + table["events_treatment"],
                                  table["events"])
    assert table["post_vague"].between(0, 1).all()


def test_a_declared_robust_mixture_prior_stays_a_mixture_in_planning():
    from bridgebayes.plan.analyse import analysis_prior

    declared = {"robust": {"dist": "NormalMixture", "mu": -0.36, "sigma": 0.2,
                           "vague_weight": 0.25, "vague_mu": 0.0, "vague_sigma": 2.0}}
    prior = analysis_prior("robust", declared=declared)
    assert (prior.weights, prior.means, prior.sds) == ((0.75, 0.25), (-0.36, 0.0), (0.2, 2.0))
