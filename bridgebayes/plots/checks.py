"""Model checks: the posterior predictive Kaplan–Meier band against the observed curve."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from bridgebayes.plots.base import (
    ARM_COLOURS,
    ARM_STYLES,
    check_arms,
    new_figure,
    require,
    time_label,
)

__all__ = ["ppc_figure"]


def ppc_figure(table: pd.DataFrame, *, arms: tuple[str, str], title: str,
               time_unit: str = "months", time_zero: str = "start of follow-up",
               level: float = 0.95) -> Figure:
    """Posterior predictive check: observed KM vs the band of replicated KM curves, per arm.

    Parameters
    ----------
    table
        ``time, arm, observed, lower, median, upper`` on a time grid: the observed KM and
        pointwise quantiles of KM curves of replicated data sets.
    arms
        ``(reference, treatment)`` labels.
    title
        Figure title (endpoint, model, prior).
    time_unit, time_zero
        For the time axis.
    level
        Mass of the bands, for the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require(table, ["time", "arm", "observed", "lower", "median", "upper"], "PPC table")
    check_arms(table, arms, "PPC table")
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    for code, arm in enumerate(arms):
        part = table[table["arm"] == arm].sort_values("time")
        colour = ARM_COLOURS[code]
        ax.fill_between(part["time"], part["lower"], part["upper"], step="post", color=colour,
                        alpha=0.18, linewidth=0, gid=f"band:{arm}",
                        label=f"{arm}: replicated KM, {100 * level:g}% band")
        ax.step(part["time"], part["median"], where="post", color=colour, linestyle=":",
                linewidth=1, gid=f"replicated:{arm}", label=f"{arm}: replicated KM, median")
        ax.step(part["time"], part["observed"], where="post", color=colour, linewidth=2,
                linestyle=ARM_STYLES[code], gid=f"observed:{arm}",
                label=f"{arm}: observed KM")
    ax.set_xlim(0, float(table["time"].max()))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(time_label(time_unit, time_zero))
    ax.set_ylabel("Survival probability")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return fig
