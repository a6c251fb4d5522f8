"""Tests for the draw allocation of :mod:`bridgebayes.summaries.stacking` (the stacked
mixture of the run and the stacked design prior of the planning side both use it)."""

from __future__ import annotations

import numpy as np
import pytest

from bridgebayes.summaries.stacking import mixture_counts, mixture_rows, stacked_survival


def test_mixture_counts_round_by_largest_remainders():
    counts = mixture_counts({"a": 0.455, "b": 0.345, "c": 0.2}, 10)
    assert counts == {"a": 5, "b": 3, "c": 2}  # 4.55, 3.45, 2: remainders 0.55 > 0.45
    assert sum(mixture_counts({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 100).values()) == 100
    with pytest.raises(ValueError, match="positive sum"):
        mixture_counts({"a": 0.0}, 5)


def test_mixture_rows_spread_each_models_draws_evenly():
    rows = mixture_rows({"a": 1000, "b": 400, "c": 50}, {"a": 0.6, "b": 0.4, "c": 0.0}, 500)
    assert set(rows) == {"a", "b"}  # a zero weight gives no draws
    assert (rows["a"].size, rows["b"].size) == (300, 200)
    for model, n in (("a", 1000), ("b", 400)):
        r = rows[model]
        assert r[0] == 0 and r[-1] == n - 1 and np.all(np.diff(r) > 0)
        assert np.ptp(np.diff(r)) <= 1  # evenly spaced up to rounding


def test_stacked_survival_takes_the_rows_of_mixture_rows():
    draws = {"a": np.arange(10.0), "b": 100 + np.arange(6.0)}
    fn = stacked_survival({m: (lambda t, arm, d=d: np.repeat(d[:, None], t.size, axis=1))
                           for m, d in draws.items()}, {"a": 10, "b": 6},
                          {"a": 0.7, "b": 0.3}, n=10)
    rows = mixture_rows({"a": 10, "b": 6}, {"a": 0.7, "b": 0.3}, 10)
    expected = np.concatenate([draws[m][r] for m, r in rows.items()])
    np.testing.assert_array_equal(fn(np.array([1.0]), 0)[:, 0], expected)
