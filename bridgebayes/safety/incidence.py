"""Binary safety outcomes in two arms: Beta-binomial posteriors and exact contrasts.

Flags ``agvhd24``, ``cgvhd``, ``infection_<type>``: per arm ``x ~ Binomial(n, p)``,
``p ~ Beta(a, b)``, so ``p | x ~ Beta(a + x, b + n − x)`` exactly.  The flags are crude
proportions of patients with the event by last follow-up: they do not adjust for unequal
follow-up or for death before the event could occur.  ``P(p_treatment − p_reference > delta)``
is computed exactly by 1-D quadrature (:func:`prob_difference_above`); Monte Carlo draws
(seeded) serve only the quantiles of the difference and the ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, special, stats

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.safety.prior import BetaPrior, resolve_prior
from bridgebayes.safety.summary import COLUMNS, SafetySummary, check_ci, result_row

__all__ = ["Incidence", "beta_binomial", "prob_difference_above"]


def prob_difference_above(treatment: tuple[float, float], reference: tuple[float, float],
                          delta: float = 0.0) -> float:
    """Exact ``P(X − Y > delta)``, independent ``X ~ Beta(*treatment)``, ``Y ~ Beta(*reference)``.

    For ``delta >= 0`` it is ``∫_delta^1 f_X(x) F_Y(x − delta) dx``; for ``delta < 0`` the
    complement of the mirrored case.  The substitution ``x = delta + (1 − delta) sin²θ``
    removes the endpoint singularities of Beta densities with parameters below 1 (for
    half-integer parameters, e.g. under the Jeffreys prior, the integrand becomes smooth),
    and adaptive Gauss–Kronrod quadrature (``scipy.integrate.quad``) is split at posterior
    quantiles of ``X``.  Accuracy about 1e-12.

    Examples
    --------
    >>> round(prob_difference_above((1.0, 1.0), (1.0, 1.0), 0.0), 12)  # symmetry
    0.5
    >>> round(prob_difference_above((2.0, 1.0), (1.0, 1.0), 0.5), 12)  # closed form 5/24
    0.208333333333
    """
    delta = float(delta)
    if not math.isfinite(delta):
        raise BridgeBayesError(f"delta: expected a finite number, got {delta!r}")
    if delta >= 1.0:
        return 0.0
    if delta <= -1.0:
        return 1.0
    if delta < 0.0:
        return 1.0 - _upper_tail(reference, treatment, -delta)
    return _upper_tail(treatment, reference, delta)


def _upper_tail(x_ab: tuple[float, float], y_ab: tuple[float, float], delta: float) -> float:
    (a1, b1), (a0, b0), width = x_ab, y_ab, 1.0 - delta
    log_norm = -special.betaln(a1, b1) + math.log(2.0 * width)

    def integrand(theta: float) -> float:
        s, c = math.sin(theta), math.cos(theta)
        if s <= 0.0 or c <= 0.0:
            return 0.0
        log_x = math.log(delta + width * s * s) if delta > 0 else math.log(width) + 2 * math.log(s)
        log_1mx = math.log(width) + 2 * math.log(c)
        log_f = (a1 - 1) * log_x + (b1 - 1) * log_1mx + log_norm + math.log(s) + math.log(c)
        return math.exp(log_f) * float(special.betainc(a0, b0, width * s * s))

    q = stats.beta(a1, b1).ppf([1e-4, 0.01, 0.1, 0.5, 0.9, 0.99, 1 - 1e-4])
    inside = q[(q > delta) & (q < 1.0)]
    points = np.unique(np.arcsin(np.sqrt((inside - delta) / width)))
    value, _ = integrate.quad(integrand, 0.0, math.pi / 2, points=points, epsabs=1e-14,
                              epsrel=1e-12, limit=500)
    return float(min(max(value, 0.0), 1.0))


def _count(name: str, value: object) -> int:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < 0:
        raise BridgeBayesError(f"{name}: expected a whole number >= 0, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Incidence:
    """Beta-binomial posterior of a binary safety outcome in two arms (see module notes).

    Attributes
    ----------
    outcome, label
        Column name and human label.
    arms
        ``(reference, treatment)`` labels.
    events, n
        Patients with the event and patients per arm, ``(reference, treatment)``.
    prior
        The Beta prior used for both arms.
    """

    outcome: str
    label: str
    arms: tuple[str, str]
    events: tuple[int, int]
    n: tuple[int, int]
    prior: BetaPrior

    def params(self, arm: int) -> tuple[float, float]:
        """Posterior ``(a + x, b + n − x)`` of arm 0 (reference) or 1 (treatment)."""
        x, n = self.events[arm], self.n[arm]
        return self.prior.a + x, self.prior.b + n - x

    def posterior(self, arm: int) -> Any:
        """Frozen ``scipy.stats.beta`` posterior of arm 0 (reference) or 1 (treatment)."""
        return stats.beta(*self.params(arm))

    def prob_difference_above(self, delta: float = 0.0) -> float:
        """Exact ``P(p_treatment − p_reference > delta)``."""
        return prob_difference_above(self.params(1), self.params(0), delta)

    def prob_lower_with_treatment(self) -> float:
        """Exact ``P(p_treatment < p_reference)``."""
        return 1.0 - self.prob_difference_above(0.0)

    def draws(self, n_draws: int = 20000, *, seed: int = 1) -> dict[str, np.ndarray]:
        """Seeded posterior draws: ``reference``, ``treatment``, ``difference``, ``ratio``."""
        rng = np.random.default_rng(seed)
        p0 = self.posterior(0).rvs(size=int(n_draws), random_state=rng)
        p1 = self.posterior(1).rvs(size=int(n_draws), random_state=rng)
        return {"reference": p0, "treatment": p1, "difference": p1 - p0, "ratio": p1 / p0}

    def summary(self, *, deltas: Sequence[float] = (0.0, 0.10), ci: float = 0.95,
                n_draws: int = 20000, seed: int = 1) -> SafetySummary:
        """Tidy table and sentences: risks per arm (exact), difference and ratio (MC
        quantiles), ``P(difference > delta)`` and ``P(risk lower with treatment)`` (exact)."""
        ci = check_ci(ci)
        model, (ref, trt), d = f"Beta-binomial, {self.prior.describe()}", self.arms, \
            self.draws(n_draws, seed=seed)
        base = (self.outcome, self.label, model)
        rows = []
        for code, arm in enumerate(self.arms):
            lo, med, hi = self.posterior(code).ppf([(1 - ci) / 2, 0.5, (1 + ci) / 2])
            rows.append(result_row(*base, "risk", arm=arm, events=self.events[code],
                                   n=self.n[code], estimate=float(med), lower=float(lo),
                                   upper=float(hi)))
        contrast = f"{trt} - {ref}"
        rows.append(result_row(*base, "risk difference", arm=contrast, draws=d["difference"],
                               ci=ci))
        rows.append(result_row(*base, "risk ratio", arm=f"{trt} / {ref}", draws=d["ratio"],
                               ci=ci))
        for delta in deltas:
            rows.append(result_row(*base, "P(risk difference > delta)", arm=contrast,
                                   threshold=float(delta),
                                   probability=self.prob_difference_above(delta)))
        lower = self.prob_lower_with_treatment()  # for adverse events: treatment safer
        rows.append(result_row(*base, "P(risk lower with treatment)", arm=trt,
                               probability=lower))
        table = pd.DataFrame(rows, columns=list(COLUMNS))
        diff = table.loc[table["quantity"] == "risk difference"].iloc[0]
        sentence = (
            f"{self.label}: {self.events[1]}/{self.n[1]} with {trt} vs {self.events[0]}/"
            f"{self.n[0]} with {ref}; risk difference {100 * diff['estimate']:+.0f} points "
            f"({100 * ci:g}% CrI {100 * diff['lower']:+.0f} to {100 * diff['upper']:+.0f}); "
            f"probability that the risk is lower with {trt} {100 * lower:.0f}%.")
        return SafetySummary(table, (sentence,))


def beta_binomial(events: tuple[int, int], n: tuple[int, int], *,
                  prior: BetaPrior | str = "jeffreys", arms: tuple[str, str] = (
                      "reference", "treatment"), outcome: str = "event",
                  label: str | None = None) -> Incidence:
    """Beta-binomial posteriors of a binary outcome in two arms.

    Parameters
    ----------
    events, n
        Patients with the event and patients, ``(reference, treatment)``.
    prior
        A :class:`BetaPrior` or a key of :data:`BETA_PRIORS` (default Jeffreys).
    arms, outcome, label
        Labels for tables and sentences.

    Returns
    -------
    Incidence

    Raises
    ------
    bridgebayes.core.errors.BridgeBayesError
        For non-integer or negative counts, an arm without patients, or events > n.

    Examples
    --------
    >>> inc = beta_binomial((2, 13), (9, 27), arms=("blinatumomab", "CAR-T"))
    >>> inc.params(1), round(inc.prob_lower_with_treatment(), 3)
    ((13.5, 14.5), 0.084)
    """
    prior = resolve_prior(prior)
    if len(events) != 2 or len(n) != 2:
        raise BridgeBayesError(f"events, n: expected (reference, treatment) pairs, got "
                               f"{events!r}, {n!r}")
    ev = tuple(_count(f"events[{a}]", x) for a, x in zip(arms, events, strict=True))
    size = tuple(_count(f"n[{a}]", x) for a, x in zip(arms, n, strict=True))
    for arm, x, m in zip(arms, ev, size, strict=True):
        if m == 0:
            raise BridgeBayesError(f"n[{arm}]: the arm has no patients; there is no incidence "
                                   f"to estimate for {outcome!r}")
        if x > m:
            raise BridgeBayesError(f"events[{arm}]: {x} events in {m} patients for {outcome!r}")
    return Incidence(outcome, label or outcome, (arms[0], arms[1]), ev, size, prior)
