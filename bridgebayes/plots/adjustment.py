"""Figures of a non-randomised comparison: the tipping-point curve of the bias analysis and
the propensity-score distributions by arm (overlap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bridgebayes.plots.base import ARM_COLOURS, THRESHOLD_COLOURS, check_arms, new_figure, require

__all__ = ["overlap_figure", "tipping_figure"]


def tipping_figure(grid: pd.DataFrame, points: pd.DataFrame, *, treatment: str) -> Figure:
    """P(HR < 1) against the bias factor on the HR, with the tipping points marked.

    Parameters
    ----------
    grid
        ``bias_factor, confounder_strength, prob_hr_below_1`` (the tipping-point grid).
    points
        ``threshold, bias_factor, confounder_strength`` per threshold (``nan``: not reached).
    treatment
        The treatment arm's label (the bias favours it).
    """
    require(grid, ["bias_factor", "confounder_strength", "prob_hr_below_1"], "tipping grid")
    require(points, ["threshold", "bias_factor", "confounder_strength"], "tipping points")
    fig = new_figure(6.5, 3.8)
    ax = fig.add_subplot()
    ax.plot(grid["bias_factor"], grid["prob_hr_below_1"], color="#000000", linewidth=2,
            gid="probability")
    for j, r in enumerate(points.to_dict(orient="records")):
        colour = THRESHOLD_COLOURS[j % len(THRESHOLD_COLOURS)]
        ax.axhline(r["threshold"], color=colour, linestyle=":", linewidth=1)
        if np.isfinite(r["bias_factor"]):
            ax.axvline(r["bias_factor"], color=colour, linestyle="--", linewidth=1,
                       gid=f"tipping:{r['threshold']:g}",
                       label=f"P(HR < 1) = {r['threshold']:g} at bias factor "
                             f"{r['bias_factor']:.2f} (confounder RR "
                             f"{r['confounder_strength']:.2f})")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(1, float(grid["bias_factor"].max()))
    ax.set_xlabel(f"bias factor on the HR in favour of {treatment} (1 = no bias)")
    ax.set_ylabel("P(HR < 1) after removing the bias")
    if points["bias_factor"].notna().any():
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    return fig


def overlap_figure(table: pd.DataFrame, *, arms: tuple[str, str]) -> Figure:
    """Histograms of the propensity score by arm (``arm, score``); the 0.05 / 0.95 bounds of
    the positivity flags are marked."""
    require(table, ["arm", "score"], "propensity table")
    check_arms(table, arms, "propensity table")
    fig = new_figure(6.5, 3.6)
    ax = fig.add_subplot()
    bins = np.linspace(0, 1, 41)
    for code, arm in enumerate(arms):
        ax.hist(table.loc[table["arm"] == arm, "score"], bins=bins, color=ARM_COLOURS[code],
                alpha=0.5, label=arm, gid=f"scores:{arm}")
    for bound in (0.05, 0.95):
        ax.axvline(bound, color="#000000", linestyle=":", linewidth=1)
    ax.set_xlabel(f"propensity score: P({arms[1]} | covariates)")
    ax.set_ylabel("patients")
    ax.legend(frameon=False)
    return fig
