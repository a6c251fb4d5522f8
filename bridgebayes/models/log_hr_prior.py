"""The families' prior on the log hazard ratio as one object: ``Normal(mu, sigma)`` or the
robust mixture ``(1 - w) Normal(mu, sigma) + w Normal(vague_mu, vague_sigma)`` (RBesT style);
its density, slope, CDF, draws, the vague component's share of the density, the PyMC variable
and its data containers.  Re-exported by :mod:`bridgebayes.models.priors`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["LogHrPrior", "family_prior_options"]


@dataclass(frozen=True)
class LogHrPrior:
    """The families' prior on ``log_hr``: ``Normal(mu, sigma)``, or the robust mixture
    ``(1 - w) Normal(mu, sigma) + w Normal(vague_mu, vague_sigma)`` (RBesT style) when
    ``vague_weight = w > 0``.  Densities, CDF, draws and the vague component's share of
    the density, for the oracles, the prior draws and the prior-weight tables.

    Examples
    --------
    >>> normal = LogHrPrior(0.0, 0.42)
    >>> robust = LogHrPrior(0.0, 0.42, vague_weight=0.2, vague_sigma=2.0)
    >>> normal.is_mixture, robust.is_mixture, round(float(robust.cdf(0.0)), 6)
    (False, True, 0.5)
    >>> round(float(robust.vague_share(0.0)), 4), round(robust.sd(), 4)
    (0.0499, 0.9701)
    """

    mu: float
    sigma: float
    vague_weight: float = 0.0
    vague_mu: float = 0.0
    vague_sigma: float | None = None

    def __post_init__(self) -> None:
        for name in ("mu", "sigma", "vague_weight", "vague_mu"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
                    math.isfinite(value)):
                raise BridgeBayesError(f"log-HR prior: {name} must be a finite number, got "
                                       f"{value!r}")
        if self.sigma <= 0:
            raise BridgeBayesError(f"log-HR prior: sigma must be > 0, got {self.sigma!r}")
        if not 0.0 <= self.vague_weight < 1.0:
            raise BridgeBayesError(f"log-HR prior: vague_weight must be in [0, 1), got "
                                   f"{self.vague_weight!r}")
        if self.vague_weight > 0:
            v = self.vague_sigma
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (
                    math.isfinite(v) and v > self.sigma):
                raise BridgeBayesError(f"log-HR prior: vague_sigma must be a finite number > "
                                       f"sigma = {self.sigma!r} when vague_weight > 0, got "
                                       f"{v!r}")
        elif self.vague_sigma is not None:
            raise BridgeBayesError("log-HR prior: vague_sigma is set but vague_weight is 0; "
                                   "set vague_weight > 0 for a robust mixture or drop "
                                   "vague_sigma")

    @property
    def is_mixture(self) -> bool:
        """Whether the prior has a vague component (``vague_weight > 0``)."""
        return self.vague_weight > 0

    def components(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """``(weights, means, sds)``: one component for a normal, the informative one first."""
        if not self.is_mixture:
            return (1.0,), (float(self.mu),), (float(self.sigma),)
        w = float(self.vague_weight)
        return ((1.0 - w, w), (float(self.mu), float(self.vague_mu)),
                (float(self.sigma), float(self.vague_sigma)))

    def _parts(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Log of each weighted component density at ``x`` (components on the last axis)."""
        w, m, s = (np.asarray(v, float) for v in self.components())
        z = (np.asarray(x, float)[..., None] - m) / s
        return np.log(w) - 0.5 * z**2 - np.log(s) - 0.5 * math.log(2 * math.pi), z / s

    def logpdf(self, x: Any) -> np.ndarray:
        """Log density at ``x`` (the mixture's, by log-sum-exp)."""
        parts, _ = self._parts(x)
        return np.logaddexp.reduce(parts, axis=-1)

    def dlogpdf(self, x: Any) -> np.ndarray:
        """Derivative of the log density at ``x`` (for the oracles' Hermite slopes)."""
        parts, zs = self._parts(x)
        share = np.exp(parts - np.logaddexp.reduce(parts, axis=-1)[..., None])
        return -np.sum(share * zs, axis=-1)

    def vague_share(self, x: Any) -> np.ndarray:
        """``w N(x; vague) / p(x)``: the probability of the vague component given
        ``log_hr = x`` (0 for a normal prior).  Its posterior mean is the posterior weight of
        the vague component (the component depends on the data only through ``log_hr``)."""
        if not self.is_mixture:
            return np.zeros(np.shape(x))
        parts, _ = self._parts(x)
        return np.exp(parts[..., 1] - np.logaddexp.reduce(parts, axis=-1))

    def cdf(self, x: Any) -> np.ndarray:
        """Cumulative distribution function at ``x``."""
        from scipy.stats import norm

        w, m, s = self.components()
        return sum(wk * norm.cdf(x, mk, sk) for wk, mk, sk in zip(w, m, s, strict=True))

    def mean(self) -> float:
        """Prior mean."""
        w, m, _ = self.components()
        return float(np.dot(w, m))

    def sd(self) -> float:
        """Prior standard deviation (of the mixture)."""
        w, m, s = (np.asarray(v, float) for v in self.components())
        return float(np.sqrt(np.dot(w, s**2 + m**2) - np.dot(w, m) ** 2))

    def span(self, k: float = 10.0) -> tuple[float, float]:
        """``(lo, hi)`` covering every component's ``mean ± k sd`` (the oracles' grids)."""
        _, m, s = (np.asarray(v, float) for v in self.components())
        return float(np.min(m - k * s)), float(np.max(m + k * s))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (a normal prior: ``rng.normal(mu, sigma, n)``, the draws of before)."""
        if not self.is_mixture:
            return rng.normal(self.mu, self.sigma, n)
        vague = rng.random(n) < self.vague_weight
        return np.where(vague, rng.normal(self.vague_mu, self.vague_sigma, n),
                        rng.normal(self.mu, self.sigma, n))

    def stratified(self, n: int) -> np.ndarray:
        """``n`` stratified draws: each component's quantiles at ``(i + 1/2) / n_k`` with
        ``n_k`` its share of ``n`` (largest remainders)."""
        from scipy.stats import norm

        w, m, s = self.components()
        counts = np.floor(np.asarray(w) * n).astype(int)
        counts[np.argsort(-(np.asarray(w) * n - counts))[: n - counts.sum()]] += 1
        return np.concatenate([mk + sk * norm.ppf((np.arange(c) + 0.5) / c)
                               for c, mk, sk in zip(counts, m, s, strict=True) if c])

    def arrays(self) -> dict[str, np.ndarray]:
        """The prior's values as data containers (``log_hr_prior_*``; a mixture adds its
        vague component's), so one compiled model serves every prior of its structure."""
        out = {"log_hr_prior_mu": np.float64(self.mu),
               "log_hr_prior_sigma": np.float64(self.sigma)}
        if self.is_mixture:
            out |= {"log_hr_prior_vague_weight": np.float64(self.vague_weight),
                    "log_hr_prior_vague_mu": np.float64(self.vague_mu),
                    "log_hr_prior_vague_sigma": np.float64(self.vague_sigma)}
        return out

    def create(self, box: Mapping[str, Any]) -> Any:
        """The PyMC variable ``log_hr`` (inside the active model) from the containers of
        :meth:`arrays` in ``box``: ``pm.Normal``, or ``pm.NormalMixture`` for a mixture."""
        import pymc as pm
        import pytensor.tensor as pt

        if not self.is_mixture:
            return pm.Normal("log_hr", mu=box["log_hr_prior_mu"],
                             sigma=box["log_hr_prior_sigma"])
        w = box["log_hr_prior_vague_weight"]
        return pm.NormalMixture(
            "log_hr", w=pt.stack([1.0 - w, w]),
            mu=pt.stack([box["log_hr_prior_mu"], box["log_hr_prior_vague_mu"]]),
            sigma=pt.stack([box["log_hr_prior_sigma"], box["log_hr_prior_vague_sigma"]]))

    def describe(self) -> str:
        """``Normal(mu, sigma)`` or the mixture, for tables and sentences."""
        text = f"Normal({self.mu:.2f}, {self.sigma:.2f})"
        if not self.is_mixture:
            return text
        w = self.vague_weight
        return (f"{1 - w:.2f} {text} + {w:.2f} Normal({self.vague_mu:.2f}, "
                f"{self.vague_sigma:.2f})")

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> LogHrPrior:
        """From a spec prior (:func:`bridgebayes.run.spec_sections.named_prior`): ``mu``,
        ``sigma`` and, for ``dist = "NormalMixture"``, ``vague_weight``, ``vague_mu``,
        ``vague_sigma``."""
        if table.get("dist", "Normal") == "NormalMixture":
            return cls(float(table["mu"]), float(table["sigma"]),
                       vague_weight=float(table["vague_weight"]),
                       vague_mu=float(table.get("vague_mu", 0.0)),
                       vague_sigma=float(table["vague_sigma"]))
        return cls(float(table["mu"]), float(table["sigma"]))


def family_prior_options(table: Mapping[str, Any]) -> dict[str, Any]:
    """The family options (``log_hr_mu``, ``log_hr_sigma`` and the vague component's) of a
    spec prior table.

    Examples
    --------
    >>> family_prior_options({"dist": "Normal", "mu": 0.0, "sigma": 1.0})
    {'log_hr_mu': 0.0, 'log_hr_sigma': 1.0, 'log_hr_vague_weight': 0.0}
    """
    prior = LogHrPrior.from_table(table)
    out = {"log_hr_mu": prior.mu, "log_hr_sigma": prior.sigma,
           "log_hr_vague_weight": prior.vague_weight}
    if prior.is_mixture:
        out |= {"log_hr_vague_mu": prior.vague_mu, "log_hr_vague_sigma": prior.vague_sigma}
    return out
