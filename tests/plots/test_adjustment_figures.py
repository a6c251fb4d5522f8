"""The non-randomised comparison's figures from their tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bridgebayes.plots.adjustment import overlap_figure, tipping_figure
from bridgebayes.summaries.bias import tipping_points


def _gids(fig) -> set[str]:
    return {a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()}


def test_tipping_figure_marks_each_reached_threshold():
    log_hr = np.random.default_rng(1).normal(-0.5, 0.2, 4000)
    grid, points = tipping_points(log_hr, biases=np.linspace(0, 1.0, 41), thresholds=(0.8, 0.5))
    gids = _gids(tipping_figure(grid, points, treatment="CAR-T"))
    assert {"probability", "tipping:0.8", "tipping:0.5"} <= gids
    _, never = tipping_points(np.full(10, -5.0), biases=[0.0, 0.5], thresholds=(0.8,))
    assert "tipping:0.8" not in _gids(tipping_figure(grid, never, treatment="CAR-T"))


def test_overlap_figure_needs_both_arms():
    table = pd.DataFrame({"arm": ["A", "B", "A", "B"], "score": [0.2, 0.6, 0.4, 0.9]})
    assert {"scores:A", "scores:B"} <= _gids(overlap_figure(table, arms=("A", "B")))
    with pytest.raises(ValueError, match="arm"):
        overlap_figure(table, arms=("A", "C"))
