"""SBC graphics: rank histograms and ECDF-difference plots with simultaneous bands.

The ECDF of the fractional ranks is evaluated at the 20 bin edges ``z_i = i / 20``; under
uniformity its values are binomial, and ArviZ's optimised simultaneous band (Säilynoja,
Bürkner and Vehtari 2022, ``arviz.stats.ecdf_utils.ecdf_confidence_band``) contains the
whole ECDF with probability 0.95.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import binom

from bridgebayes.sbc.loop import SBCResult
from bridgebayes.sbc.uniformity import BINS, ecdf_band, ecdf_values, rank_counts

__all__ = ["rank_figure"]


def rank_figure(result: SBCResult) -> Figure:
    """Rank histograms (with a 99% binomial band per bin) and ECDF differences with the band.

    Examples
    --------
    >>> result = run_sbc("piecewise_exponential", "small", n_sims=100, seed=1)  # doctest: +SKIP
    >>> rank_figure(result).savefig("ranks.png")
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
