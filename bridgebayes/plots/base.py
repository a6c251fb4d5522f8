"""Shared pieces of every figure: palette, line styles, canvases, checks, PNG output.

Figures are made without ``pyplot`` (no global state, Agg canvas), so they can be built in
any thread or test.  The palette is Okabe–Ito (colour-blind safe); the two arms also differ
by line style, so figures stay readable in greyscale.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["ARM_COLOURS", "ARM_STYLES", "PRIOR_COLOURS", "THRESHOLD_COLOURS", "PlotError",
           "check_arms", "direction", "figure_png", "log_hr_axis", "new_figure", "require",
           "time_label"]

#: Colours of the reference and the treatment arm (Okabe–Ito blue and vermillion).
ARM_COLOURS = ("#0072B2", "#D55E00")
#: Line styles of the two arms (solid, long dashes): distinguishable in greyscale.
ARM_STYLES = ("-", (0, (7, 2)))
THRESHOLD_COLOURS = ("#56B4E9", "#009E73", "#CC79A7")
PRIOR_COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
_HR_TICKS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)


class PlotError(BridgeBayesError):
    """A plotting input is malformed (missing columns, unknown arms, no rows)."""


def new_figure(width: float, height: float) -> Figure:
    """An empty figure on an Agg canvas (constrained layout)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`PlotError` unless ``table`` has ``columns``."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PlotError(f"{what}: missing column(s) {missing}; got {list(table.columns)}")


def check_arms(table: pd.DataFrame, arms: tuple[str, str], what: str) -> None:
    """Raise :class:`PlotError` if ``table["arm"]`` has a label outside ``arms``."""
    unknown = sorted(set(table["arm"].astype(str)) - set(arms))
    if unknown:
        raise PlotError(f"{what}: column 'arm' has label(s) {unknown} not in the arms {arms}")


def figure_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (metadata without a creation date: the same figure gives the
    same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def direction(arms: tuple[str, str]) -> str:
    """``"HR < 1 favours <treatment>"``."""
    return f"HR < 1 favours {arms[1]}"


def time_label(unit: str, time_zero: str) -> str:
    """Axis label of time, e.g. ``"Months since transplant"``.

    Examples
    --------
    >>> time_label("weeks", "randomisation")
    'Weeks since randomisation'
    """
    return f"{unit.capitalize()} since {time_zero}"


def log_hr_axis(ax, lo: float, hi: float) -> None:
    """A log-scale HR axis from ``lo`` to ``hi`` with round tick labels."""
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in _HR_TICKS if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
