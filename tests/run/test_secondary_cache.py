"""The competing-risks section is cached between runs: same tables, not recomputed."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import bridgebayes.run.secondary as secondary
from bridgebayes.data.cohort import load_cohort
from bridgebayes.run.spec import load_spec


def test_cached_competing_analysis_equals_a_fresh_one_and_is_reused(repo_root, tmp_path,
                                                                    monkeypatch):
    spec = load_spec(repo_root / "models" / "cao2025.toml")
    cohort = load_cohort(spec.cohort, arms=spec.arms, time_unit=spec.time_unit)
    fresh = secondary.competing_analysis(cohort, spec)
    first = secondary.cached_competing_analysis(cohort, spec, cache=tmp_path)
    calls = []

    def counted(*args):
        calls.append(args)
        raise AssertionError("recomputed although nothing changed")

    monkeypatch.setattr(secondary, "competing_analysis", counted)
    second = secondary.cached_competing_analysis(cohort, spec, cache=tmp_path)
    for result in (first, second):
        for field in dataclasses.fields(fresh):
            want, got = getattr(fresh, field.name), getattr(result, field.name)
            if isinstance(want, pd.DataFrame):
                pd.testing.assert_frame_equal(got, want)
            else:
                assert got == want, field.name
    assert not calls
    # another spec (here: a changed seed) is not served from the cache
    changed = dataclasses.replace(spec, bayes=dataclasses.replace(spec.bayes, seed=99))
    with pytest.raises(AssertionError, match="recomputed"):
        secondary.cached_competing_analysis(cohort, changed, cache=tmp_path)
