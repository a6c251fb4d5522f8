"""Beta-binomial incidences and Beta priors (bridgebayes/safety/incidence.py, prior.py),
against closed forms, mpmath quadrature and exact rational sums."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.safety import BETA_PRIORS, BetaPrior, beta_binomial, prob_difference_above

ARMS = ("blinatumomab", "CAR-T")


# ---------------------------------------------------------------- independent references
def _mp_prob_above(treatment, reference, delta):
    """P(X - Y > delta) by mpmath tanh-sinh quadrature at 30 digits (no substitution)."""
    mp.mp.dps = 30
    a1, b1 = (mp.mpf(v) for v in treatment)
    a0, b0 = (mp.mpf(v) for v in reference)
    d = mp.mpf(delta)
    norm = mp.beta(a1, b1)

    def f(x):
        u = min(x - d, mp.mpf(1))
        return x ** (a1 - 1) * (1 - x) ** (b1 - 1) / norm * mp.betainc(a0, b0, 0, u,
                                                                          regularized=True)

    lo = max(mp.mpf(0), d)
    nodes = [lo, 1 + d, 1] if d < 0 else [lo, 1]
    return float(mp.quad(f, nodes))


def _poly_mul(p, q):
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def _poly_pow(p, n):
    out = [Fraction(1)]
    for _ in range(n):
        out = _poly_mul(out, p)
    return out


def _exact_rational_prob_above(treatment, reference, delta: Fraction) -> Fraction:
    """Integer Beta parameters, rational delta >= 0: P(X - Y > delta) as an exact fraction.

    F_Y(u) = sum_{j=a0}^{m} C(m, j) u^j (1-u)^(m-j), m = a0 + b0 - 1 (binomial tail), so the
    integrand f_X(x) F_Y(x - delta) on [delta, 1] is a polynomial in x.
    """
    (a1, b1), (a0, b0) = treatment, reference
    m = a0 + b0 - 1
    inv_beta = Fraction(comb(a1 + b1 - 2, a1 - 1) * (a1 + b1 - 1))  # 1 / B(a1, b1)
    x, one_minus_x = [Fraction(0), Fraction(1)], [Fraction(1), Fraction(-1)]
    base = _poly_mul(_poly_pow(x, a1 - 1), _poly_pow(one_minus_x, b1 - 1))
    total = [Fraction(0)]
    for j in range(a0, m + 1):
        term = _poly_mul(_poly_pow([-delta, Fraction(1)], j),
                         _poly_pow([1 + delta, Fraction(-1)], m - j))
        term = [c * comb(m, j) for c in _poly_mul(base, term)]
        total = [a + b for a, b in zip(total + [Fraction(0)] * (len(term) - len(total)),
                                        term + [Fraction(0)] * (len(total) - len(term)),
                                        strict=True)]

    def antiderivative(t):
        return sum(c * t ** (i + 1) / (i + 1) for i, c in enumerate(total))

    return inv_beta * (antiderivative(Fraction(1)) - antiderivative(delta))


# ---------------------------------------------------------------- Beta-binomial posteriors
@pytest.mark.parametrize("prior", ["jeffreys", "uniform", BetaPrior(2.0, 3.0, name="custom")])
@pytest.mark.parametrize(("events", "n"), [((2, 13), (9, 27)), ((0, 27), (9, 27)),
                                           ((9, 0), (9, 27)), ((40, 55), (200, 180))])
def test_posterior_is_the_conjugate_closed_form(prior, events, n):
    inc = beta_binomial(events, n, prior=prior, arms=ARMS)
    a, b = (prior.a, prior.b) if isinstance(prior, BetaPrior) else {
        "jeffreys": (0.5, 0.5), "uniform": (1.0, 1.0)}[prior]
    for arm in (0, 1):
        x, m = events[arm], n[arm]
        post = inc.posterior(arm)
        mean = (a + x) / (a + b + m)
        var = mean * (1 - mean) / (a + b + m + 1)
        assert post.mean() == pytest.approx(mean, rel=1e-12)
        assert post.var() == pytest.approx(var, rel=1e-10)
        # the density is the normalised prior x binomial likelihood (quadrature, not conjugacy)
        kernel = lambda p, x=x, m=m: p ** (a - 1 + x) * (1 - p) ** (b - 1 + m - x)  # noqa: E731
        mp.mp.dps = 20
        z = mp.quad(kernel, mp.linspace(0, 1, 41))  # split: peaked for large n
        for p in (0.05, 0.3, 0.5, 0.8):
            assert post.pdf(p) == pytest.approx(float(kernel(mp.mpf(p)) / z), rel=1e-9)
    table = inc.summary(n_draws=2000).table
    risks = table[table["quantity"] == "risk"].set_index("arm")
    for arm, label in enumerate(ARMS):
        ref = stats.beta(a + events[arm], b + n[arm] - events[arm])
        row = risks.loc[label]
        assert (row["events"], row["n"]) == (events[arm], n[arm])
        assert row[["lower", "estimate", "upper"]].to_numpy(float) == pytest.approx(
            ref.ppf([0.025, 0.5, 0.975]), rel=1e-12)


@pytest.mark.parametrize(("treatment", "reference"), [
    ((0.5, 27.5), (3.5, 6.5)),      # no events on treatment (density singular at 0)
    ((27.5, 0.5), (0.5, 9.5)),      # all events on treatment (singular at 1)
    ((13.5, 14.5), (2.5, 7.5)),     # the worked example of the docstring
    ((100.5, 100.5), (80.5, 120.5)),  # larger arms, concentrated posteriors
    ((2.0, 3.0), (1.0, 1.0)),
])
@pytest.mark.parametrize("delta", [-0.3, 0.0, 0.1])
def test_prob_difference_matches_mpmath(treatment, reference, delta):
    assert prob_difference_above(treatment, reference, delta) == pytest.approx(
        _mp_prob_above(treatment, reference, delta), abs=1e-8)


@pytest.mark.parametrize(("events", "n"), [((3, 11), (9, 27)), ((0, 5), (9, 27)),
                                           ((9, 20), (9, 27))])
@pytest.mark.parametrize("delta", [Fraction(0), Fraction(1, 10), Fraction(1, 3)])
def test_prob_difference_matches_exact_rational_sum(events, n, delta):
    inc = beta_binomial(events, n, prior="uniform")  # integer posterior parameters
    exact = _exact_rational_prob_above(
        tuple(int(p) for p in inc.params(1)), tuple(int(p) for p in inc.params(0)), delta)
    assert inc.prob_difference_above(float(delta)) == pytest.approx(float(exact), abs=1e-10)


def test_prob_difference_edges_and_lower_with_treatment():
    inc = beta_binomial((2, 13), (9, 27))
    assert inc.prob_difference_above(1.0) == 0.0
    assert inc.prob_difference_above(-1.0) == 1.0
    assert inc.prob_lower_with_treatment() == pytest.approx(
        1 - _mp_prob_above(inc.params(1), inc.params(0), 0.0), abs=1e-10)
    same = beta_binomial((4, 4), (10, 10))
    assert same.prob_lower_with_treatment() == pytest.approx(0.5, abs=1e-12)
    probs = [inc.prob_difference_above(d) for d in np.linspace(-0.9, 0.9, 19)]
    assert np.all(np.diff(probs) <= 0)


def test_difference_and_ratio_quantiles_within_mc_error():
    inc = beta_binomial((2, 13), (9, 27), arms=ARMS)
    n_draws = 20000
    table = inc.summary(n_draws=n_draws, seed=7).table.set_index("quantity")
    a1, b1 = inc.params(1)
    a0, b0 = inc.params(0)

    def ratio_cdf(r):  # P(p1 / p0 <= r) = ∫ f0(y) F1(min(r y, 1)) dy (plain adaptive quad)
        f = lambda y: stats.beta.pdf(y, a0, b0) * stats.beta.cdf(min(r * y, 1), a1, b1)  # noqa: E731
        return integrate.quad(f, 0, 1, points=[min(1 / r, 1)], epsabs=1e-13, limit=200)[0]

    cdfs = {"risk difference": lambda q: 1 - prob_difference_above((a1, b1), (a0, b0), q),
            "risk ratio": ratio_cdf}
    brackets = {"risk difference": (-0.99, 0.99), "risk ratio": (1e-3, 200.0)}
    for quantity, cdf in cdfs.items():
        row = table.loc[quantity]
        for column, q in (("lower", 0.025), ("estimate", 0.5), ("upper", 0.975)):
            exact = optimize.brentq(lambda x, q=q, cdf=cdf: cdf(x) - q, *brackets[quantity],
                                    xtol=1e-12)
            h = 1e-4 * max(1.0, abs(exact))
            density = (cdf(exact + h) - cdf(exact - h)) / (2 * h)
            mc_se = np.sqrt(q * (1 - q) / n_draws) / density
            assert abs(row[column] - exact) < 4 * mc_se, (quantity, column, row[column], exact)
    again = inc.summary(n_draws=n_draws, seed=7).table
    pd.testing.assert_frame_equal(again.set_index("quantity"), table)


def test_summary_rows_and_sentence():
    inc = beta_binomial((2, 13), (9, 27), arms=ARMS, outcome="agvhd24", label="aGVHD II–IV")
    result = inc.summary(deltas=(0.0, 0.1, 0.2))
    table = result.table
    probs = table[table["quantity"] == "P(risk difference > delta)"]
    assert probs["threshold"].tolist() == [0.0, 0.1, 0.2]
    assert probs["probability"].to_numpy() == pytest.approx(
        [inc.prob_difference_above(d) for d in (0.0, 0.1, 0.2)], abs=1e-15)
    assert (table["status"] == "estimated").all()
    assert "13/27 with CAR-T vs 2/9 with blinatumomab" in result.sentences[0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"events": (10, 2), "n": (9, 27)}, r"events\[blinatumomab\]: 10 events in 9 patients"),
    ({"events": (0, 2), "n": (0, 27)}, r"n\[blinatumomab\]: the arm has no patients"),
    ({"events": (-1, 2), "n": (9, 27)}, r"events\[blinatumomab\]: expected a whole number"),
    ({"events": (1.5, 2), "n": (9, 27)}, r"events\[blinatumomab\]: expected a whole number"),
    ({"events": (1, 2), "n": (9, 27), "prior": "flat"}, r"prior: expected a BetaPrior or one of"),
])
def test_beta_binomial_bad_input(kwargs, match):
    with pytest.raises(BridgeBayesError, match=match):
        beta_binomial(arms=ARMS, **kwargs)


def test_beta_prior_checks_and_registry():
    assert BETA_PRIORS["jeffreys"].to_dict() == {"dist": "Beta",
                                                 "kwargs": {"alpha": 0.5, "beta": 0.5}}
    with pytest.raises(BridgeBayesError, match=r"prior.b: Beta parameters must be finite"):
        BetaPrior(1.0, 0.0)
    with pytest.raises(BridgeBayesError, match=r"prior.a"):
        BetaPrior(float("nan"), 1.0)

