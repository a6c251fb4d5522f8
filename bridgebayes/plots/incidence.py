"""Competing risks: cumulative incidence per cause, Aalen–Johansen steps and posterior bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bridgebayes.plots.base import (
    ARM_COLOURS,
    ARM_STYLES,
    PlotError,
    check_arms,
    new_figure,
    require,
    time_label,
)

__all__ = ["cif_figure"]


def cif_figure(aalen_johansen: pd.DataFrame, posterior: pd.DataFrame | None = None, *,
               arms: tuple[str, str], causes: Sequence[str] | None = None,
               cause_labels: Mapping[str, str] | None = None, time_unit: str = "months",
               time_zero: str = "start of follow-up", horizon: float | None = None) -> Figure:
    """Cumulative incidence per cause (one panel each): Aalen–Johansen steps and posterior bands.

    Parameters
    ----------
    aalen_johansen
        ``time, arm, component, estimate`` (component = cause;
        :func:`bridgebayes.reference.curves.aalen_johansen_curves`).
    posterior
        Posterior cumulative incidence ``time, arm, component, median, lower, upper``, or
        ``None``.
    arms
        ``(reference, treatment)`` labels.
    causes
        Causes to draw, in order (default: as they appear in ``aalen_johansen``).
    cause_labels
        Reader-facing cause names (default: the cause codes).
    time_unit, time_zero
        For the time axis.
    horizon
        Right end of the time axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require(aalen_johansen, ["time", "arm", "component", "estimate"], "Aalen–Johansen table")
    check_arms(aalen_johansen, arms, "Aalen–Johansen table")
    if posterior is not None:
        require(posterior, ["time", "arm", "component", "median", "lower", "upper"],
                "posterior CIF table")
        check_arms(posterior, arms, "posterior CIF table")
    causes = list(causes) if causes is not None else list(pd.unique(aalen_johansen["component"]))
    if not causes:
        raise PlotError("cif_figure: no causes to draw")
    labels = dict(cause_labels or {})
    end = float(horizon if horizon is not None else max(
        aalen_johansen["time"].max(), posterior["time"].max() if posterior is not None else 0))
    level = (float(posterior["level"].iloc[0]) if posterior is not None and "level" in posterior
             and len(posterior) else 0.95)
    fig = new_figure(5.0 * len(causes), 4.2)
    axes = fig.subplots(1, len(causes), squeeze=False)[0]
    for ax, cause in zip(axes, causes, strict=True):
        name = labels.get(cause, cause)
        for code, arm in enumerate(arms):
            colour = ARM_COLOURS[code]
            if posterior is not None:
                part = posterior[(posterior["component"] == cause) & (posterior["arm"] == arm)]
                ax.fill_between(part["time"], part["lower"], part["upper"], color=colour,
                                alpha=0.18, linewidth=0, gid=f"band:{arm}:{cause}",
                                label=f"{arm}: posterior {100 * level:g}% band")
                ax.plot(part["time"], part["median"], color=colour, linestyle=":",
                        gid=f"posterior:{arm}:{cause}", label=f"{arm}: posterior median")
            part = aalen_johansen[(aalen_johansen["component"] == cause)
                                  & (aalen_johansen["arm"] == arm)].sort_values("time")
            times = np.append(part["time"].to_numpy(float), end)
            values = np.append(part["estimate"].to_numpy(float), part["estimate"].iloc[-1]
                               if len(part) else 0.0)
            ax.step(times, values, where="post", color=colour, linewidth=2,
                    linestyle=ARM_STYLES[code], gid=f"aj:{arm}:{cause}",
                    label=f"{arm}: Aalen–Johansen")
        ax.set_xlim(0, end)
        ax.set_ylim(0, 1)
        ax.set_xlabel(time_label(time_unit, time_zero))
        ax.set_ylabel(f"Cumulative incidence of {name}")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("Competing risks: cumulative incidence per arm")
    return fig
