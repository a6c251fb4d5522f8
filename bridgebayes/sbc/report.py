"""SBC graphics and checks: ECDF simultaneous bands, rank histograms, ECDF-difference plots.

The ECDF of the fractional ranks is evaluated at the 20 bin edges ``z_i = i / 20``; under
uniformity its values are binomial, and ArviZ's optimised simultaneous band (Säilynoja,
Bürkner and Vehtari 2022, ``arviz.stats.ecdf_utils.ecdf_confidence_band``) contains the
whole ECDF with probability 0.95.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import binom

from bridgebayes.sbc.loop import BINS, SBCResult, rank_counts

__all__ = ["ecdf_band", "ecdf_inside_band", "ecdf_values", "rank_figure"]

BAND = 0.95


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


def rank_figure(result: SBCResult) -> Figure:
    """Rank histograms (with a 99% binomial band per bin) and ECDF differences with the band.

    Examples
    --------
    >>> rank_figure(run_sbc("pem", "small", n_sims=100, seed=1)).savefig("ranks.png")
    ... # doctest: +SKIP
    """
    quantities = list(dict.fromkeys(result.ranks["quantity"]))
    n = result.n_sims
    ncols = min(4, len(quantities) + 1)
    nrows = -(-(len(quantities) + 1) // ncols)
    fig = Figure(figsize=(2.8 * ncols, 2.5 * nrows), layout="constrained")
    axes = list(np.ravel(fig.subplots(nrows, ncols)))
    for ax in axes[len(quantities) + 1:]:
        fig.delaxes(ax)
    axes = axes[:len(quantities) + 1]
    lo, hi = binom.ppf([0.005, 0.995], n, 1 / BINS)
    z, lower, upper = ecdf_band(n)
    ecdf_ax = axes[-1]
    ecdf_ax.fill_between(np.r_[0, z], np.r_[0, lower - z], np.r_[0, upper - z], step="post",
                         color="0.85", label="95% simultaneous band")
    for ax, quantity in zip(axes[:-1], quantities, strict=True):
        ranks = result.ranks.loc[result.ranks["quantity"] == quantity, "rank"].to_numpy()
        counts = rank_counts(ranks, result.n_draws)
        ax.axhspan(lo, hi, color="0.85")
        ax.bar(np.arange(BINS), counts, width=1.0, align="edge", color="C0", alpha=0.8)
        ax.axhline(n / BINS, color="0.3", lw=0.8)
        ax.set(title=quantity, xlabel="rank bin", xticks=[], yticks=[])
        diff = ecdf_values(ranks, result.n_draws) - z
        ecdf_ax.step(np.r_[0, z], np.r_[0, diff], where="post", lw=1, label=quantity)
    ecdf_ax.axhline(0.0, color="0.3", lw=0.8)
    ecdf_ax.set(title="ECDF − uniform", xlabel="fractional rank")
    ecdf_ax.legend(fontsize=6, loc="lower left")
    fig.suptitle(f"SBC {result.model}, {result.scenario} scenario, {result.method} "
                 f"({n} simulations, {result.n_draws} draws)", fontsize=9)
    return fig
