"""Figures drawn from tidy tables (saved results): survival, effects, incidence, checks.

Every function returns a :class:`matplotlib.figure.Figure` made without ``pyplot``; save it
with :func:`~bridgebayes.plots.base.figure_png`.  Artists carry a ``gid`` (``"km:<arm>"``,
``"posterior:<arm>"``, ``"band:<arm>"``, ...) so tests and readers can find them.
"""

from bridgebayes.plots.base import ARM_COLOURS, PlotError, figure_png, time_label
from bridgebayes.plots.checks import ppc_figure
from bridgebayes.plots.effects import forest_figure, hr_density_figure
from bridgebayes.plots.extrapolation import extrapolation_fan_figure
from bridgebayes.plots.incidence import cif_figure
from bridgebayes.plots.summary import summary_figure
from bridgebayes.plots.survival import km_posterior_figure

__all__ = ["ARM_COLOURS", "PlotError", "cif_figure", "extrapolation_fan_figure", "figure_png",
           "forest_figure",
           "hr_density_figure", "km_posterior_figure", "ppc_figure", "summary_figure",
           "time_label"]
