"""Extrapolation fan: every model's posterior survival to the horizon, with the end of
follow-up marked and the extrapolated region shaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from bridgebayes.plots.base import PRIOR_COLOURS, check_arms, new_figure, require, time_label

__all__ = ["extrapolation_fan_figure"]


def extrapolation_fan_figure(curves: pd.DataFrame, *, arms: tuple[str, str],
                             followup: Sequence[float],
                             models: Sequence[str], labels: Mapping[str, str],
                             endpoint: str, time_unit: str = "months",
                             time_zero: str = "start of follow-up",
                             km: pd.DataFrame | None = None, stacked: str | None = None,
                             title: str | None = None) -> Figure:
    """One panel per arm: each model's posterior median survival to the horizon (the stack
    bold, with its credible band), Kaplan–Meier steps, a dashed line at the arm's end of
    follow-up and the extrapolated region after it shaded.

    Parameters
    ----------
    curves
        ``family, time, arm, median, lower, upper, level`` (the run's
        ``extrapolation_curves`` of one endpoint and prior).
    arms
        ``(reference, treatment)``.
    followup
        The last observed time of each arm: everything after it is extrapolated.
    models
        The ``family`` values to draw, in legend order (the stack last).
    labels
        Reader-facing names of the models.
    endpoint, time_unit, time_zero
        Axis labels.
    km
        Kaplan–Meier table ``arm, time, survival, censored`` (optional).
    stacked
        The ``family`` value of the stacked posterior (drawn bold with its band).
    title
        Figure title.

    Examples
    --------
    >>> fig = extrapolation_fan_figure(curves, arms=("A", "B"), followup=(30.0, 40.0),
    ...                                models=["weibull", "stacked"], labels={},
    ...                                endpoint="OS", stacked="stacked")  # doctest: +SKIP
    """
    require(curves, ["family", "time", "arm", "median", "lower", "upper"], "extrapolation curves")
    check_arms(curves, arms, "extrapolation curves")
    fig = new_figure(11.0, 4.6)
    axes = fig.subplots(1, 2, sharey=True)
    end = float(curves["time"].max())
    for code, (ax, arm, last) in enumerate(zip(axes, arms, followup, strict=True)):
        if last < end:
            ax.axvspan(last, end, color="#999999", alpha=0.12, linewidth=0,
                       gid="extrapolated")
            ax.axvline(last, color="#555555", linestyle="--", linewidth=1.0, gid="followup")
            ax.text(last, 1.0, f" end of follow-up\n {last:g} {time_unit}", fontsize=7,
                    va="top", ha="left", color="#333333")
        else:
            ax.text(end, 1.0, f"follow-up to {last:g} {time_unit}: \nnothing extrapolated ",
                    fontsize=7, va="top", ha="right", color="#333333", gid="followup")
        for j, model in enumerate(models):
            part = curves[(curves["family"] == model) & (curves["arm"].astype(str) == arm)]
            name = labels.get(model, model)
            if model == stacked:
                ax.fill_between(part["time"], part["lower"], part["upper"], color="#000000",
                                alpha=0.12, linewidth=0, gid=f"band:{model}:{arm}")
                ax.plot(part["time"], part["median"], color="#000000", linewidth=2.4,
                        gid=f"median:{model}:{arm}", label=f"{name} (band: "
                        f"{100 * float(part['level'].iloc[0]):g}% CrI)" if len(part) else name)
            else:
                colour = PRIOR_COLOURS[(j + 1) % len(PRIOR_COLOURS)]
                ax.plot(part["time"], part["median"], color=colour, linewidth=1.4,
                        linestyle=("-", "--", "-.", ":")[j % 4], gid=f"median:{model}:{arm}",
                        label=name)
        if km is not None:
            steps = km[(km["arm"] == arm) & ~km["censored"].astype(bool)].sort_values("time")
            ax.step(steps["time"], steps["survival"], where="post", color="#777777",
                    linewidth=1.0, gid=f"km:{arm}", label="Kaplan–Meier")
        ax.set_xlim(0.0, end)
        ax.set_ylim(0.0, 1.02)
        ax.set_title(arm, fontsize=10)
        ax.set_xlabel(time_label(time_unit, time_zero))
        ax.grid(alpha=0.3)
        if code == 0:
            ax.set_ylabel(f"{endpoint} probability")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    which = "every model" if len(models) > 1 else "the model"
    fig.suptitle(title or f"{endpoint}: extrapolation of {which} (shaded: beyond the "
                          "observed follow-up)", fontsize=11)
    return fig
