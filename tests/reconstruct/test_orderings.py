"""Tests for :mod:`bridgebayes.reconstruct.orderings` (phase 1 of the reconstruction) and
the endpoints of :class:`bridgebayes.reconstruct.histories.Histories`."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bridgebayes.core.errors import ReconstructionError
from bridgebayes.reconstruct import fast_stats as fs
from bridgebayes.reconstruct.histories import Histories
from bridgebayes.reconstruct.orderings import (
    Ordering,
    assign_times,
    progression_paths,
    search_ordering,
)
from bridgebayes.reconstruct.published import PublishedSummary, load_published
from bridgebayes.reconstruct.search import Objective

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "cao2025" / "published.toml"
PROGRESSION = ("pfs", "nrm", "relapse")
#: (floor, landmark, fu_min, fu_max): the seed study's, and a 12-month variant
SETTINGS = [(20.0, 24.0, 2.29, 92.21), (6.0, 12.0, 0.5, 40.0)]


@pytest.fixture(scope="module")
def summary() -> PublishedSummary:
    return load_published(SHIPPED)


def arm_figures(summary: PublishedSummary, arm: str, endpoints=None) -> tuple:
    return tuple(f for f in summary.figures
                 if f.group == arm and (endpoints is None or f.endpoint in endpoints))


def random_ordering(rng: np.random.Generator, n: int) -> Ordering:
    """Per patient: optional G, optional R (either order), optional end D or C; then the
    patients' sequences are interleaved at random, each keeping its own order."""
    own = []
    for p in range(n):
        middle = [kind for kind in ("G", "R") if rng.random() < 0.4]
        rng.shuffle(middle)
        u = rng.random()
        end = ["D"] if u < 0.3 else ["C"] if u < 0.55 else []
        own.append([(p, kind) for kind in middle + end])
    owners = [p for p, tokens in enumerate(own) for _ in tokens]
    rng.shuffle(owners)
    nxt = [0] * n
    tokens = []
    for p in owners:
        tokens.append(own[p][nxt[p]])
        nxt[p] += 1
    order = Ordering(n, tokens)
    assert order.valid()
    return order


def token_times(order: Ordering, h: Histories) -> np.ndarray:
    column = {"R": h.relapse, "G": h.gvhd, "D": h.followup, "C": h.followup}
    return np.array([column[kind][p] for p, kind in order.tokens])


# --- Ordering.figures agrees with the statistics of the assigned histories ----------------------


@pytest.mark.parametrize("seed", range(40))
def test_order_figures_match_statistics_of_assigned_histories(summary, seed):
    rng = np.random.default_rng(seed)
    code = seed % 2
    label = summary.arms[code]
    order = random_ordering(rng, int(rng.integers(1, summary.n[label] + 1)))
    floor = max(summary.censoring_floor, summary.followup["min"])
    h = assign_times(order, arm=code, floor=floor, landmark=summary.landmark,
                     fu_min=summary.followup["min"], fu_max=summary.followup["max"],
                     pin_min=bool(rng.integers(2)), rng=rng)
    expected = order.figures()
    figures = arm_figures(summary, label)
    assert {f.endpoint for f in figures} == {"os", "pfs", "grfs", "nrm"}
    values = Objective(summary, figures=figures).values(h)
    np.testing.assert_allclose(values, [expected[f.endpoint] for f in figures],
                               rtol=1e-12, atol=1e-15)
    time, cause = h.endpoint("cr")
    for k, name in ((1, "relapse"), (2, "nrm")):
        assert fs.cif_at(time, cause, summary.landmark, k) == pytest.approx(
            expected[name], rel=1e-12, abs=1e-15)


# --- assign_times ------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", SETTINGS, ids=["seed-study", "12-months"])
@pytest.mark.parametrize("seed", range(25))
def test_assign_times_respects_floor_window_grid_and_order(seed, setting):
    floor, landmark, fu_min, fu_max = setting
    rng = np.random.default_rng(500 + seed)
    n = int(rng.integers(1, 28))
    order = random_ordering(rng, n)
    pin = bool(rng.integers(2))
    h = assign_times(order, arm=1, floor=floor, landmark=landmark, fu_min=fu_min,
                     fu_max=fu_max, pin_min=pin, rng=rng)
    assert h.arm.tolist() == [1] * n
    kinds = [kind for _, kind in order.tokens]
    times = token_times(order, h)
    # the order is kept, with distinct times
    assert np.all(np.diff(times) > 0)
    first_c = kinds.index("C") if "C" in kinds else len(kinds)
    assert np.all(times[:first_c] < floor)
    assert np.all((times[first_c:] >= floor) & (times[first_c:] <= landmark))
    # censorings are at or after the floor; deaths and censorings end follow-up
    ended = {p for p, kind in order.tokens if kind in ("D", "C")}
    for p, kind in order.tokens:
        if kind == "C":
            assert h.followup[p] >= floor and not h.dead[p]
        elif kind == "D":
            assert h.dead[p]
    # patients without an end token pass the landmark alive
    rest = np.array(sorted(set(range(n)) - ended), dtype=int)
    assert np.all((h.followup[rest] > landmark) & (h.followup[rest] <= fu_max))
    assert not h.dead[rest].any()
    # the shortest follow-up is never below the published minimum
    assert h.followup.min() >= fu_min
    # events before the end of follow-up
    for events in (h.relapse, h.gvhd):
        has = ~np.isnan(events)
        assert np.all(events[has] < h.followup[has]) and np.all(events[has] > 0)
    # all times on the 0.01 grid, and distinct within the arm
    every = np.concatenate([times, h.followup[rest]])
    assert np.array_equal(np.round(every * 100) / 100, every)
    assert np.unique(every).size == every.size


@pytest.mark.parametrize("seed", range(15))
def test_pinned_early_death_is_the_shortest_followup(seed):
    floor, landmark, fu_min, fu_max = SETTINGS[0]
    rng = np.random.default_rng(900 + seed)
    order = random_ordering(rng, int(rng.integers(2, 28)))
    # make the first end token a death: a new patient who dies before everything else ends
    n = order.n + 1
    ends = [k for k, (_, kind) in enumerate(order.tokens) if kind in ("D", "C")]
    at = int(rng.integers(0, (ends[0] if ends else len(order.tokens)) + 1))
    order = Ordering(n, [*order.tokens[:at], (n - 1, "D"), *order.tokens[at:]])
    assert order.valid() and order.early_death()
    h = assign_times(order, arm=0, floor=floor, landmark=landmark, fu_min=fu_min,
                     fu_max=fu_max, pin_min=True, rng=rng)
    first_death = next(p for p, kind in order.tokens if kind == "D")
    assert h.followup[first_death] == fu_min == 2.29
    assert h.dead[first_death]
    others = np.delete(h.followup, first_death)
    assert np.all(others > fu_min)  # nothing ends at or before it
    times = token_times(order, h)
    assert np.all(np.diff(times) > 0)


def test_unpinned_early_death_is_not_below_the_minimum():
    order = Ordering(3, [(0, "D"), (1, "R"), (1, "C")])
    for seed in range(20):
        h = assign_times(order, arm=0, floor=20.0, landmark=24.0, fu_min=2.29, fu_max=92.21,
                         pin_min=False, rng=np.random.default_rng(seed))
        assert h.followup[0] > 2.29


def test_patients_without_end_pass_a_decimal_landmark():
    h = assign_times(Ordering(2), arm=0, floor=2.0, landmark=2.3, fu_min=0.5, fu_max=2.32,
                     pin_min=False, rng=np.random.default_rng(0))
    assert sorted(h.followup) == [2.31, 2.32]  # both slots after the landmark, fu_max included
    with pytest.raises(ReconstructionError, match="distinct follow-up times"):
        assign_times(Ordering(2), arm=0, floor=2.0, landmark=2.3, fu_min=0.5, fu_max=2.31,
                     pin_min=False, rng=np.random.default_rng(0))


def test_window_too_narrow_is_an_error():
    order = Ordering(3, [(0, "C"), (1, "D"), (2, "D")])
    with pytest.raises(ReconstructionError, match="cannot place"):
        assign_times(order, arm=0, floor=23.99, landmark=24.0, fu_min=1.0, fu_max=50.0,
                     pin_min=False, rng=np.random.default_rng(0))


# --- progression paths -----------------------------------------------------------------------


def replay(n: int, path: str) -> dict[str, Fraction]:
    """PFS Kaplan-Meier and relapse/NRM incidence of an R/N/C path, exactly."""
    at_risk, pfs = n, Fraction(1)
    cif = {"relapse": Fraction(0), "nrm": Fraction(0)}
    for token in path:
        if token != "C":
            cif["relapse" if token == "R" else "nrm"] += pfs / at_risk
            pfs *= Fraction(at_risk - 1, at_risk)
        at_risk -= 1
    return {"pfs": pfs, **cif}


@pytest.mark.parametrize("arm", ["blinatumomab", "CAR-T"])
def test_progression_paths_meet_the_targets_when_replayed(summary, arm):
    figures = arm_figures(summary, arm, PROGRESSION)
    assert {f.endpoint for f in figures} == {"pfs", "nrm"}
    paths = progression_paths(summary.n[arm], figures)
    assert paths and len(set(paths)) == len(paths)
    for path in paths:
        assert set(path) <= set("RNC") and len(path) <= summary.n[arm]
        values = replay(summary.n[arm], path)
        for f in figures:
            assert abs(float(values[f.endpoint]) - f.target) <= f.tolerance + 1e-12, (path, f)


def test_blinatumomab_paths_include_the_hand_decomposition(summary):
    # one NRM death among 9 (8/9, NRM 1/9), two censorings, then relapses at 6, 5 and 4
    # at risk: PFS = 8/9 * 5/6 * 4/5 * 3/4 = 4/9 = 44.44 %, NRM = 11.11 %
    assert Fraction(8, 9) * Fraction(5, 6) * Fraction(4, 5) * Fraction(3, 4) == Fraction(4, 9)
    # relapse incidence: 8/9 * (1/6 + 5/6 * 1/5 + 4/6 * 1/4) = 4/9 = 1 - PFS - NRM
    assert replay(9, "NCCRRR") == {"pfs": Fraction(4, 9), "relapse": Fraction(4, 9),
                                   "nrm": Fraction(1, 9)}
    paths = progression_paths(9, arm_figures(summary, "blinatumomab", PROGRESSION))
    assert "NCCRRR" in paths


def test_unreachable_targets_have_no_paths(summary):
    # with a single patient PFS is 1 or 0, never 44.44 %
    figures = arm_figures(summary, "blinatumomab", PROGRESSION)
    assert progression_paths(1, figures) == []


# --- search_ordering ---------------------------------------------------------------------------


def test_search_ordering_meets_the_blinatumomab_figures(summary):
    figures = arm_figures(summary, "blinatumomab")
    order, ok = search_ordering(9, figures, rng=np.random.default_rng(2025), iterations=5_000,
                                attempts=60)
    assert ok and order.valid() and order.n == 9
    values = order.figures()
    for f in figures:
        assert abs(values[f.endpoint] - f.target) <= f.tolerance + 1e-12, f.key
    # and the histories built from it carry the same figures
    h = assign_times(order, arm=0, floor=20.0, landmark=24.0, fu_min=2.29, fu_max=92.21,
                     pin_min=True, rng=np.random.default_rng(7))
    objective = Objective(summary, figures=figures)
    assert objective.required_met(objective.values(h))


def test_search_ordering_with_an_early_death(summary):
    figures = arm_figures(summary, "blinatumomab")
    order, ok = search_ordering(9, figures, rng=np.random.default_rng(11), iterations=5_000,
                                attempts=60, early_death=True)
    assert ok and order.early_death()
    h = assign_times(order, arm=0, floor=20.0, landmark=24.0, fu_min=2.29, fu_max=92.21,
                     pin_min=True, rng=np.random.default_rng(3))
    assert h.followup.min() == 2.29
    objective = Objective(summary, figures=figures)
    assert objective.required_met(objective.values(h))


# --- Histories.endpoint -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_histories_endpoints_are_consistent(seed):
    rng = np.random.default_rng(700 + seed)
    order = random_ordering(rng, int(rng.integers(1, 28)))
    h = assign_times(order, arm=0, floor=20.0, landmark=24.0, fu_min=2.29, fu_max=92.21,
                     pin_min=bool(rng.integers(2)), rng=rng)
    os_time, os_event = h.endpoint("os")
    pfs_time, pfs_event = h.endpoint("pfs")
    grfs_time, grfs_event = h.endpoint("grfs")
    cr_time, cause = h.endpoint("cr")
    has_rel, has_gvhd = ~np.isnan(h.relapse), ~np.isnan(h.gvhd)
    assert np.all(pfs_time <= os_time) and np.all(grfs_time <= pfs_time)
    assert np.array_equal(os_time, h.followup) and np.array_equal(os_event, h.dead)
    assert np.array_equal(cr_time, pfs_time)
    assert set(np.unique(cause)) <= {0, 1, 2}
    assert np.array_equal(cause == 1, has_rel)
    assert np.array_equal(cause == 2, h.dead & ~has_rel)
    assert np.array_equal(pfs_event, (cause > 0).astype(int))
    assert np.array_equal(grfs_event, (has_gvhd | (cause > 0)).astype(int))
    assert np.all(grfs_event >= pfs_event) and np.all(pfs_event >= os_event)
    assert np.array_equal(pfs_time[has_rel], h.relapse[has_rel])
    assert np.array_equal(grfs_time[has_gvhd], np.fmin(h.gvhd, pfs_time)[has_gvhd])


def test_histories_endpoint_by_hand():
    nan = np.nan
    h = Histories(arm=np.array([0, 0, 1, 1]), followup=np.array([10.0, 20.0, 30.0, 40.0]),
                  dead=np.array([True, True, False, False]),
                  relapse=np.array([nan, 5.0, 12.0, nan]), gvhd=np.array([3.0, 8.0, nan, nan]))
    assert h.endpoint("os")[1].tolist() == [1, 1, 0, 0]
    assert h.endpoint("pfs")[0].tolist() == [10.0, 5.0, 12.0, 40.0]
    assert h.endpoint("pfs")[1].tolist() == [1, 1, 1, 0]
    assert h.endpoint("cr")[1].tolist() == [2, 1, 1, 0]
    assert h.endpoint("grfs")[0].tolist() == [3.0, 5.0, 12.0, 40.0]
    assert h.endpoint("grfs")[1].tolist() == [1, 1, 1, 0]
    with pytest.raises(KeyError):
        h.endpoint("efs")


def test_search_ordering_without_censoring_never_censors():
    summary = load_published(Path(__file__).resolve().parents[2] / "data" / "cao2025"
                             / "published.toml")
    figures = tuple(f for f in summary.figures if f.group == "blinatumomab")
    order, met = search_ordering(9, figures, rng=np.random.default_rng(3), iterations=2000,
                                 attempts=3, censoring=False)
    assert all(kind != "C" for _, kind in order.tokens)
    assert not met  # GRFS 5/36 needs a censoring before 24 months
