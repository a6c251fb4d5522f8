"""Figures of the treatment effect: the posterior HR density and the forest plot (the
first-screen summary: :mod:`bridgebayes.plots.summary`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bridgebayes.plots.base import (
    PRIOR_COLOURS,
    THRESHOLD_COLOURS,
    PlotError,
    direction,
    log_hr_axis,
    new_figure,
    require,
)

__all__ = ["forest_figure", "hr_density_figure"]


def hr_density_figure(density: pd.DataFrame, probabilities: Mapping[float, float], *,
                      median: float, arms: tuple[str, str], endpoint: str,
                      title: str | None = None) -> Figure:
    """Posterior density of the hazard ratio on a log axis, P(HR < c) shaded and annotated.

    Parameters
    ----------
    density
        ``hr, density``: the density of log HR on a grid of HR values
        (:func:`bridgebayes.summaries.densities.hr_density`).
    probabilities
        ``c -> P(HR < c)`` (from the decision table: fractions of draws, not KDE areas).
    median
        Posterior median HR.
    arms
        ``(reference, treatment)`` labels.
    endpoint
        The endpoint's label, for the title.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require(density, ["hr", "density"], "HR density table")
    if len(density) < 2:
        raise PlotError("hr_density_figure: the density table needs at least 2 points")
    hr, values = density["hr"].to_numpy(float), density["density"].to_numpy(float)
    fig = new_figure(6.5, 3.8)
    ax = fig.add_subplot()
    ax.plot(hr, values, color="black", linewidth=1.5, gid="density")
    lines = []
    for k, c in enumerate(sorted(probabilities, reverse=True)):
        below = hr <= c
        p = float(probabilities[c])
        ax.fill_between(hr[below], 0, values[below], color=THRESHOLD_COLOURS[k % 3],
                        alpha=0.45, linewidth=0, gid=f"p_below:{c:g}",
                        hatch=("", "//", "..")[k % 3], label=f"P(HR < {c:g}) = {100 * p:.0f}%")
        lines.append(f"P(HR < {c:g}) = {100 * p:.1f}%")
    ax.axvline(1.0, color="grey", linewidth=1, linestyle=":")
    ax.axvline(median, color="black", linewidth=1, linestyle="--", gid="median",
               label=f"posterior median HR {median:.2f}")
    ax.text(0.98, 0.95, "\n".join(lines), transform=ax.transAxes, ha="right", va="top",
            fontsize=9, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "grey"},
            gid="probabilities")
    log_hr_axis(ax, hr[0], hr[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"Hazard ratio, {arms[1]} vs {arms[0]} (log scale; {direction(arms)})")
    ax.set_ylabel("Posterior density of log HR")
    ax.set_title(title or f"{endpoint}: posterior of the hazard ratio")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def forest_figure(table: pd.DataFrame, *, arms: tuple[str, str], title: str | None = None,
                  level: float = 0.95) -> Figure:
    """Forest plot of the posterior HR (median and credible interval) per row of ``table``.

    Parameters
    ----------
    table
        Columns ``label, prior, median, lower, upper`` (HR scale), one row per fitted
        combination, drawn top to bottom in the given order.
    arms
        ``(reference, treatment)`` labels.
    title
        Figure title.
    level
        Mass of the intervals, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"label": ["OS · Weibull"], "prior": ["neutral"], "median": [0.8],
    ...                   "lower": [0.5], "upper": [1.3]})
    >>> forest_figure(t, arms=("a", "b")).axes[0].get_xscale()
    'log'
    """
    require(table, ["label", "prior", "median", "lower", "upper"], "forest table")
    if table.empty:
        raise PlotError("forest_figure: the table has no rows")
    values = table[["median", "lower", "upper"]].to_numpy(float)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise PlotError("forest_figure: columns median/lower/upper must be positive finite HRs")
    n = len(table)
    fig = new_figure(8.5, 1.2 + 0.32 * n)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    ax.hlines(y, values[:, 1], values[:, 2], color="black", linewidth=1.4, gid="intervals")
    markers = ("s", "o", "^", "D", "v", "P")
    for k, prior in enumerate(pd.unique(table["prior"].astype(str))):
        mine = (table["prior"].astype(str) == prior).to_numpy()
        ax.plot(values[mine, 0], y[mine], linestyle="none", marker=markers[k % len(markers)],
                markersize=6, color=PRIOR_COLOURS[k % len(PRIOR_COLOURS)],
                gid=f"medians:{prior}", label=f"{prior} prior")
    ax.set_yticks(y, labels=table["label"].astype(str).tolist(), fontsize=8)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    lo = min(0.8 * float(values[:, 1].min()), 0.5)
    hi = max(1.25 * float(values[:, 2].max()), 2.0)
    log_hr_axis(ax, lo, hi)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"Hazard ratio, {arms[1]} vs {arms[0]}: posterior median and "
                  f"{100 * level:g}% credible interval\n(log scale; {direction(arms)})")
    ax.set_title(title or "Posterior hazard ratios across endpoints, models and priors")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="posterior median", title_fontsize=8)
    return fig
