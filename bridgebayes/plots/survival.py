"""Kaplan–Meier curves with posterior survival bands and the number-at-risk table."""

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

__all__ = ["km_posterior_figure"]


def km_posterior_figure(km: pd.DataFrame, at_risk: pd.DataFrame,
                        curves: pd.DataFrame | None = None, *, arms: tuple[str, str],
                        endpoint: str, time_unit: str = "months",
                        time_zero: str = "start of follow-up", title: str | None = None,
                        horizon: float | None = None) -> Figure:
    """Kaplan–Meier curves per arm, posterior survival (median and band), numbers at risk.

    Parameters
    ----------
    km
        ``arm, time, survival, censored`` (:func:`bridgebayes.reference.curves.km_curves`).
    at_risk
        ``arm, time, n`` (:func:`bridgebayes.reference.curves.at_risk_table`).
    curves
        Posterior survival per arm: ``time, arm, median, lower, upper, level``; ``None`` for
        Kaplan–Meier only.
    arms
        ``(reference, treatment)`` labels.
    endpoint
        The endpoint's label (axis and title).
    time_unit, time_zero
        For the time axis ("Months since transplant").
    title
        Figure title.
    horizon
        Right end of the time axis (default: the curves' last time, else the last KM time).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: survival (top) and the number-at-risk table (bottom).

    Examples
    --------
    >>> from bridgebayes.reference.curves import at_risk_table, km_curves
    >>> fig = km_posterior_figure(km_curves(data), at_risk_table(data, 36.0), arms=data.arms,
    ...                           endpoint="Overall survival")  # doctest: +SKIP
    """
    require(km, ["arm", "time", "survival", "censored"], "Kaplan–Meier table")
    require(at_risk, ["arm", "time", "n"], "number-at-risk table")
    check_arms(km, arms, "Kaplan–Meier table")
    if curves is not None:
        require(curves, ["time", "arm", "median", "lower", "upper"], "posterior curves")
        check_arms(curves, arms, "posterior curves")
    end = float(horizon if horizon is not None else
                curves["time"].max() if curves is not None and len(curves)
                else km["time"].max())
    fig = new_figure(9.5, 5.6)
    grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 1.0])
    ax = fig.add_subplot(grid[0])
    table_ax = fig.add_subplot(grid[1], sharex=ax)
    level = (float(curves["level"].iloc[0]) if curves is not None and "level" in curves
             and len(curves) else 0.95)
    for code, arm in enumerate(arms):
        colour, style = ARM_COLOURS[code], ARM_STYLES[code]
        if curves is not None:
            part = curves[curves["arm"].astype(str) == arm]
            ax.fill_between(part["time"], part["lower"], part["upper"], color=colour,
                            alpha=0.18, linewidth=0, gid=f"band:{arm}",
                            label=f"{arm}: posterior {100 * level:g}% band")
            ax.plot(part["time"], part["median"], color=colour, linestyle=":", linewidth=1.8,
                    gid=f"posterior:{arm}", label=f"{arm}: posterior median")
        steps = km[(km["arm"] == arm) & ~km["censored"].astype(bool)].sort_values("time")
        marks = km[(km["arm"] == arm) & km["censored"].astype(bool)]
        if steps.empty:
            continue
        n = int(at_risk[(at_risk["arm"] == arm) & (at_risk["time"] == 0)]["n"].sum())
        ax.step(steps["time"], steps["survival"], where="post", color=colour, linewidth=2.0,
                linestyle=style, gid=f"km:{arm}", label=f"{arm}: Kaplan–Meier (n = {n})")
        ax.plot(marks["time"], marks["survival"], linestyle="none", marker="|",
                markersize=8, color=colour, gid=f"censor:{arm}")
    ax.set_xlim(0.0, end)
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel(f"{endpoint} probability")
    ax.set_title(title or f"{endpoint}: Kaplan–Meier and posterior survival")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.tick_params(labelbottom=False)
    _at_risk_axis(table_ax, at_risk[at_risk["time"] <= end + 1e-9], arms,
                  time_label(time_unit, time_zero))
    return fig


def _at_risk_axis(ax, at_risk: pd.DataFrame, arms: tuple[str, str], xlabel: str) -> None:
    ax.set_ylim(-0.5, 1.5)
    for code, arm in enumerate(arms):
        row = 1 - code
        for r in at_risk[at_risk["arm"] == arm].itertuples():
            ax.text(r.time, row, str(int(r.n)), ha="center", va="center", fontsize=8,
                    color=ARM_COLOURS[code], gid=f"at_risk:{arm}")
    ax.set_yticks([1, 0], labels=list(arms), fontsize=8)
    for code, label in enumerate(ax.get_yticklabels()):
        label.set_color(ARM_COLOURS[code])
    ax.set_xticks(sorted(at_risk["time"].unique()))
    ax.set_xlabel(xlabel)
    ax.set_title("Number at risk", fontsize=9, loc="left")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=14)
