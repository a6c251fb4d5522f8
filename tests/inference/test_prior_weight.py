"""The prior's weight in events against hand computations and closed forms: Schoenfeld's
effective events, the data's information (the seed study's 2.6 times), ELIR of conjugate priors
(Neuenschwander et al. 2020: a Beta(a, b) prior is worth a + b observations) and the
predictive consistency of the mixture ELIR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, gamma, norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.inference.prior_weight import (
    data_information,
    elir,
    normal_mixture_elir,
    prior_events,
)


def test_schoenfeld_effective_events_by_hand():
    assert prior_events(1.0) == pytest.approx(4.0)                     # N(0, 1) at 1:1
    assert prior_events(0.42) == pytest.approx(4 / 0.42 ** 2)           # 22.7 at 1:1
    assert prior_events(1.0, allocation=0.25) == pytest.approx(1 / 0.1875)
    assert prior_events(0.5, allocation=0.75) == prior_events(0.5, allocation=0.25)


def test_the_seed_os_skeptical_prior_outweighs_the_data_2_6_times():
    info = data_information(3, 8)                                       # 3 vs 8 deaths
    assert info == pytest.approx(1 / (1 / 3 + 1 / 8))
    assert (1 / 0.42 ** 2) / info == pytest.approx(2.598, abs=1e-3)
    assert data_information(0, 8) == 0.0


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_bad_sigma_and_allocation_are_refused(bad):
    with pytest.raises(BridgeBayesError, match="sigma"):
        prior_events(bad)
    with pytest.raises(BridgeBayesError, match="allocation"):
        prior_events(1.0, allocation=bad)


@pytest.mark.parametrize(("a", "b"), [(5.0, 15.0), (2.5, 3.0), (30.0, 4.0)])
def test_elir_of_a_beta_prior_is_a_plus_b(a, b):
    value = elir(lambda t: beta.pdf(t, a, b),
                 lambda t: (a - 1) / t ** 2 + (b - 1) / (1 - t) ** 2,
                 lambda t: 1 / (t * (1 - t)), lower=0.0, upper=1.0)
    assert value == pytest.approx(a + b, rel=1e-6)


def test_elir_of_a_gamma_prior_for_a_poisson_rate_is_its_rate_parameter():
    a, b = 4.0, 2.5
    value = elir(lambda t: gamma.pdf(t, a, scale=1 / b), lambda t: (a - 1) / t ** 2,
                 lambda t: 1 / t, lower=0.0, upper=np.inf)
    assert value == pytest.approx(b, rel=1e-6)


def _mixture_local_information(w, m, s):
    """-d^2/dtheta^2 log pi for a normal mixture, pointwise (pi''/pi and pi'/pi)."""
    w, m, s = (np.asarray(x, float) for x in (w, m, s))

    def info(t):
        z = (t - m) / s
        pdf = w * norm.pdf(z) / s
        d1 = np.sum(-pdf * z / s)
        d2 = np.sum(pdf * (z ** 2 - 1) / s ** 2)
        return -(d2 / pdf.sum()) + (d1 / pdf.sum()) ** 2
    return info


@pytest.mark.parametrize(("w", "m", "s"), [([1.0], [0.3], [0.42]),
                                           ([0.8, 0.2], [0.0, 0.0], [0.42, 2.0]),
                                           ([0.5, 0.5], [-1.0, 1.5], [0.3, 0.8])])
def test_mixture_elir_equals_the_pointwise_definition(w, m, s):
    u = 0.1875                                       # one event at 27 vs 9 patients
    density = lambda t: float(np.sum(np.asarray(w) * norm.pdf(t, m, s)))  # noqa: E731
    lower = min(np.asarray(m) - 12 * np.asarray(s))
    upper = max(np.asarray(m) + 12 * np.asarray(s))
    direct = elir(density, _mixture_local_information(w, m, s), lambda t: u,
                  lower=lower, upper=upper)
    assert normal_mixture_elir(w, m, s, unit_information=u) == pytest.approx(direct, rel=1e-5)
    if len(w) == 1:
        assert direct == pytest.approx(prior_events(s[0], allocation=0.25), rel=1e-6)


def test_mixture_elir_is_predictively_consistent():
    """Mean posterior ELIR after n more units (normal likelihood, known variance) over the
    prior predictive, minus n, is the prior's ELIR (Neuenschwander et al. 2020, Sec. 3)."""
    w, m, s, n = np.array([0.8, 0.2]), np.array([0.0, 0.0]), np.array([0.42, 2.0]), 10.0
    ybar = np.linspace(-9, 9, 121)
    pred_sd = np.sqrt(s ** 2 + 1 / n)
    pred = (w * norm.pdf(ybar[:, None], m, pred_sd)).sum(axis=1)
    post = []
    for y in ybar:
        weights = w * norm.pdf(y, m, pred_sd)
        precision = 1 / s ** 2 + n
        post.append(normal_mixture_elir(weights / weights.sum(),
                                        (m / s ** 2 + n * y) / precision,
                                        1 / np.sqrt(precision)))
    mean_post = np.trapezoid(pred * np.array(post), ybar) / np.trapezoid(pred, ybar)
    assert mean_post - n == pytest.approx(normal_mixture_elir(w, m, s), rel=1e-3)
    # the mixture is worth less than its informative component alone
    assert normal_mixture_elir(w, m, s) < 1 / 0.42 ** 2


def test_a_bad_mixture_is_refused():
    with pytest.raises(BridgeBayesError, match="mixture"):
        normal_mixture_elir([0.5, 0.6], [0, 0], [1, 1])
