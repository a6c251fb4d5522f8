"""The derived-table cache: reused only while every input is byte-identical."""

from __future__ import annotations

import pandas as pd

from bridgebayes.run.cache import cached_table


def test_reused_until_an_input_changes(tmp_path):
    source = tmp_path / "posterior.nc"
    source.write_bytes(b"draws v1")
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [0.1 + 0.2, 1 / 3], "flag": [True, False]})

    first = cached_table(tmp_path, "t", [source, "n_rep=200"], compute)
    second = cached_table(tmp_path, "t", [source, "n_rep=200"], compute)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)  # exact floats and dtypes
    cached_table(tmp_path, "t", [source, "n_rep=100"], compute)  # another setting
    source.write_bytes(b"draws v2")
    cached_table(tmp_path, "t", [source, "n_rep=100"], compute)  # changed input file
    assert len(calls) == 3


def test_a_corrupt_file_is_recomputed_and_none_disables(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"not parquet")
    table = cached_table(tmp_path, "t", ["a"], lambda: pd.DataFrame({"x": [1.0]}))
    assert table["x"].tolist() == [1.0]
    calls = []
    for _ in range(2):
        cached_table(None, "t", ["a"], lambda: calls.append(1) or pd.DataFrame({"x": [1.0]}))
    assert len(calls) == 2
