"""Uniformity of SBC ranks: bin counts, ECDF values and their simultaneous bands.

The ECDF of the fractional ranks is evaluated at the 20 bin edges ``z_i = i / 20``; under
uniformity its values are binomial, and ArviZ's optimised simultaneous band (Säilynoja,
Bürkner and Vehtari 2022, ``arviz.stats.ecdf_utils.ecdf_confidence_band``) contains the
whole ECDF with probability 0.95.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["BAND", "BINS", "check_draws", "ecdf_band", "ecdf_inside_band", "ecdf_values",
           "rank_counts"]

BINS = 20
BAND = 0.95


def check_draws(n_draws: int, bins: int = BINS) -> None:
    """Raise unless ``n_draws + 1`` is a positive multiple of ``bins``."""
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1 or (
            (n_draws + 1) % bins):
        raise BridgeBayesError(f"n_draws: expected an integer with n_draws + 1 divisible by "
                               f"{bins} (e.g. 99, 199, 999), got {n_draws!r}")


def rank_counts(ranks: np.ndarray, n_draws: int, *, bins: int = BINS) -> np.ndarray:
    """Counts of ranks ``0 .. n_draws`` in ``bins`` equal bins (``n_draws + 1`` divisible).

    Examples
    --------
    >>> rank_counts(np.arange(40), 39, bins=4).tolist()
    [10, 10, 10, 10]
    """
    check_draws(n_draws, bins)
    return np.bincount(np.asarray(ranks, int) * bins // (n_draws + 1), minlength=bins)


@lru_cache(maxsize=32)
def _band(n_sims: int, bins: int, prob: float) -> tuple[np.ndarray, np.ndarray]:
    from arviz.stats.ecdf_utils import ecdf_confidence_band

    z = np.arange(1, bins + 1) / bins
    return ecdf_confidence_band(n_sims, z, z, prob=prob, method="optimized")


def ecdf_band(n_sims: int, *, bins: int = BINS, prob: float = BAND
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluation points and the simultaneous ``prob`` band of a uniform ECDF of ``n_sims``.

    Examples
    --------
    >>> z, lower, upper = ecdf_band(100)
    >>> bool(np.all(lower <= z) and np.all(z <= upper))
    True
    """
    lower, upper = _band(int(n_sims), int(bins), float(prob))
    return np.arange(1, bins + 1) / bins, lower, upper


def ecdf_values(ranks: np.ndarray, n_draws: int, *, bins: int = BINS) -> np.ndarray:
    """ECDF of the fractional ranks at ``z_i = i / bins`` (cumulated rank-bin counts / N).

    Examples
    --------
    >>> ecdf_values(np.arange(40), 39, bins=4).tolist()
    [0.25, 0.5, 0.75, 1.0]
    """
    counts = rank_counts(ranks, n_draws, bins=bins)
    return np.cumsum(counts) / counts.sum()


def ecdf_inside_band(ranks: np.ndarray, n_draws: int, *, prob: float = BAND) -> bool:
    """Whether the rank ECDF lies inside its simultaneous ``prob`` band."""
    values = ecdf_values(ranks, n_draws)
    _, lower, upper = ecdf_band(np.asarray(ranks).size, prob=prob)
    return bool(np.all((values >= lower - 1e-12) & (values <= upper + 1e-12)))
