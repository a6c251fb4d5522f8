"""Beta priors on a per-arm risk, as objects that round-trip through a TOML table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["BETA_PRIORS", "BetaPrior", "resolve_prior"]


@dataclass(frozen=True)
class BetaPrior:
    """A ``Beta(a, b)`` prior on a per-arm risk.

    Defaults: Jeffreys ``Beta(0.5, 0.5)`` (invariant, about one pseudo-patient of weight;
    Brown, Cai & DasGupta, Stat Sci 2001 for its frequentist behaviour).  :data:`BETA_PRIORS`
    holds ``"jeffreys"`` and ``"uniform"`` (``Beta(1, 1)``, Bayes–Laplace).

    Examples
    --------
    >>> BetaPrior(1.0, 1.0, name="uniform").to_dict()
    {'dist': 'Beta', 'kwargs': {'alpha': 1.0, 'beta': 1.0}}
    """

    a: float = 0.5
    b: float = 0.5
    name: str = "jeffreys"

    def __post_init__(self) -> None:
        for key in ("a", "b"):
            value = getattr(self, key)
            ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value <= 0:
                raise BridgeBayesError(f"prior.{key}: Beta parameters must be finite numbers "
                                       f"> 0, got {value!r}")
            object.__setattr__(self, key, float(value))

    def to_dict(self) -> dict[str, Any]:
        """The prior as ``{"dist": "Beta", "kwargs": {"alpha": a, "beta": b}}`` (TOML-ready)."""
        return {"dist": "Beta", "kwargs": {"alpha": self.a, "beta": self.b}}

    def describe(self) -> str:
        """E.g. ``"jeffreys Beta(0.5, 0.5)"``."""
        return f"{self.name} Beta({self.a:g}, {self.b:g})"


BETA_PRIORS: Mapping[str, BetaPrior] = MappingProxyType({
    "jeffreys": BetaPrior(0.5, 0.5, name="jeffreys"),
    "uniform": BetaPrior(1.0, 1.0, name="uniform"),
})


def resolve_prior(prior: BetaPrior | str) -> BetaPrior:
    """A :class:`BetaPrior` as given, or the one named by a key of :data:`BETA_PRIORS`.

    Examples
    --------
    >>> resolve_prior("uniform").describe()
    'uniform Beta(1, 1)'
    """
    if isinstance(prior, BetaPrior):
        return prior
    if isinstance(prior, str) and prior in BETA_PRIORS:
        return BETA_PRIORS[prior]
    raise BridgeBayesError(f"prior: expected a BetaPrior or one of {sorted(BETA_PRIORS)}, "
                           f"got {prior!r}")
