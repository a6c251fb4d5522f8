"""Tests for :mod:`bridgebayes.reconstruct.certificate`: exact landmark figures against
lifelines, the per-arm search and the interleaving search against brute force on small
cases (a reachable target is found, an unreachable one is proved unreachable), and the
certificate on the seed study's CAR-T arm."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from bridgebayes.reconstruct.certificate import (
    ENDPOINTS,
    MOVES,
    Bounds,
    Target,
    arm_witnesses,
    figures_of,
    interleave,
    pooled_figures,
    targets_of,
)


def all_sequences(n: int, max_len: int) -> list[tuple[str, ...]]:
    """Every valid move sequence of ``n`` patients up to ``max_len`` moves (brute force)."""
    out = [()]
    frontier = [((), (n, 0, 0))]
    for _ in range(max_len):
        nxt = []
        for path, counts in frontier:
            for move, (src, dst, *_rest) in MOVES.items():
                if counts[src] == 0:
                    continue
                c = list(counts)
                c[src] -= 1
                if dst is not None:
                    c[dst] += 1
                nxt.append(((*path, move), tuple(c)))
        out += [p for p, _ in nxt]
        frontier = nxt
    return out


def exact(values: dict[str, Fraction]) -> dict[str, Target]:
    return {e: Target(e, v, v) for e, v in values.items()}


def histories(n: int, moves: tuple[str, ...]):
    """Times 1, 2, ... for the moves; patients without an end alive at 100."""
    state, pool = {}, {0: list(range(n)), 1: [], 2: []}
    end = np.full(n, 100.0)
    dead = np.zeros(n, bool)
    relapse = np.full(n, np.nan)
    gvhd = np.full(n, np.nan)
    for t, move in enumerate(moves, start=1):
        src, dst = MOVES[move][:2]
        p = pool[src].pop(0)
        if dst is not None:
            pool[dst].append(p)
        if move[1] == "G":
            gvhd[p] = t
        elif move[1] == "R":
            relapse[p] = t
        else:
            end[p], dead[p] = t, move[1] in "ND"
        state[p] = move
    return end, dead, relapse, gvhd


@pytest.mark.parametrize("moves", [
    ("FG", "FR", "FC", "GN", "RD"), ("FN", "FC", "FR", "RC", "FG", "GC"),
    ("FR", "FR", "RD", "FN", "GR") [:4], ("FC", "FC", "FN")])
def test_exact_figures_equal_lifelines(moves):
    n = 5
    end, dead, relapse, gvhd = histories(n, moves)
    got = figures_of(n, moves)
    pfs_t = np.where(np.isnan(relapse), end, relapse)
    pfs_e = ~np.isnan(relapse) | dead
    grfs_t = np.fmin(pfs_t, np.where(np.isnan(gvhd), np.inf, gvhd))
    grfs_e = pfs_e | ~np.isnan(gvhd)
    for key, (t, e) in {"os": (end, dead), "pfs": (pfs_t, pfs_e), "grfs": (grfs_t, grfs_e)}.items():
        km = KaplanMeierFitter().fit(t, e.astype(int))
        assert float(got[key]) == pytest.approx(float(km.predict(50.0)), abs=1e-12)
    cause = np.where(~np.isnan(relapse), 1, np.where(dead, 2, 0))
    if (cause == 2).any():
        aj = AalenJohansenFitter(calculate_variance=False).fit(pfs_t, cause, event_of_interest=2)
        cif = aj.cumulative_density_.iloc[:, 0]
        assert float(got["nrm"]) == pytest.approx(float(cif[cif.index <= 50.0].iloc[-1]), abs=1e-12)
    else:
        assert got["nrm"] == 0


N, LEN = 3, 7  # brute force: every sequence of 3 patients (the longest has 6 moves)
BRUTE = all_sequences(N, LEN)
REACHABLE = {tuple(figures_of(N, s)[e] for e in ENDPOINTS) for s in BRUTE}


def test_every_reachable_figure_set_is_found_and_witnessed():
    for values in sorted(REACHABLE)[::7]:
        target = exact(dict(zip(ENDPOINTS, values, strict=True)))
        found = arm_witnesses(N, target, Bounds(max_censored=N, max_moves=LEN))
        assert found.witnesses, values
        for w in found.witnesses:
            got = figures_of(N, w)
            assert all(t.holds(got[e]) for e, t in target.items())


def test_an_unreachable_figure_set_is_proved_unreachable():
    # OS 2/3 and PFS 1/3 are each reachable, but with NRM 1/3 every PFS event but one is
    # a death, so OS <= 2/3 * ... : check with brute force that the set is unreachable
    values = (Fraction(2, 3), Fraction(1, 3), Fraction(1, 3), Fraction(2, 3))
    assert values not in REACHABLE
    assert any(figures_of(N, s)["os"] == values[0] for s in BRUTE)
    found = arm_witnesses(N, exact(dict(zip(ENDPOINTS, values, strict=True))),
                          Bounds(max_censored=N, max_moves=LEN))
    assert found.witnesses == [] and found.exhaustive


def test_a_cut_search_proves_nothing():
    target = targets_of({"os": 73.89, "pfs": 59.03, "grfs": 47.86, "nrm": 8.52}, 2)
    found = arm_witnesses(27, target, Bounds(max_censored=8, max_nodes=50))
    assert not found.exhaustive


def brute_interleavings(a, b):
    for pos in combinations(range(len(a) + len(b)), len(a)):
        merged, ia, ib = [], iter(a), iter(b)
        for k in range(len(a) + len(b)):
            merged.append((0, next(ia)) if k in pos else (1, next(ib)))
        yield merged


@pytest.mark.parametrize(("a", "b"), [
    (("FR", "FC", "RD"), ("FN", "FG", "GC", "FR")),
    (("FC", "FN"), ("FC", "FR", "RD", "FN"))])
def test_interleave_agrees_with_brute_force(a, b):
    n = (3, 4)
    pooled = {}
    for merged in brute_interleavings(a, b):
        values = pooled_figures(n, merged)
        pooled.setdefault(tuple(values[e] for e in ENDPOINTS), merged)
    for values in pooled:  # every reachable pooled set is found
        target = exact(dict(zip(ENDPOINTS, values, strict=True)))
        merged, exhaustive = interleave(((3, a), (4, b)), target)
        assert merged is not None and exhaustive
        assert [m for arm, m in merged if arm == 0] == list(a)
        got = pooled_figures(n, merged)
        assert all(t.holds(got[e]) for e, t in target.items())
    # a pooled OS between two reachable ones is proved unreachable
    os_values = sorted({v[0] for v in pooled})
    if len(os_values) > 1:
        middle = (os_values[0] + os_values[1]) / 2
        merged, exhaustive = interleave(((3, a), (4, b)), {"os": Target("os", middle, middle)})
        assert merged is None and exhaustive


def test_seed_blinatumomab_arm_needs_two_censorings_before_the_landmark():
    """The certificate on the seed study's blinatumomab arm (default suite, < 1 s)."""
    target = targets_of({"os": 88.89, "pfs": 44.44, "grfs": 13.89, "nrm": 11.11}, 2)
    none = arm_witnesses(9, target, Bounds(max_censored=1, max_moves=3 * 9))
    assert none.exhaustive and none.witnesses == []
    some = arm_witnesses(9, target, Bounds(max_censored=2, max_moves=3 * 9))
    assert some.exhaustive and len(some.witnesses) == 7
    for w in some.witnesses:
        got = figures_of(9, w)
        assert [round(100 * float(got[e]), 2) for e in ENDPOINTS] == [88.89, 44.44, 13.89, 11.11]
        assert sum(m.endswith("C") for m in w) == 2


@pytest.mark.slow  # about 20 s alone, 50 s on a loaded machine
def test_seed_car_t_arm_needs_seven_censorings_before_the_landmark():
    """The certificate on the seed study (exhaustive, a few seconds): the CAR-T arm's four
    2-year figures are unreachable with at most 6 censorings before 24 months, and
    reachable with 7."""
    target = targets_of({"os": 73.89, "pfs": 59.03, "grfs": 47.86, "nrm": 8.52}, 2)
    # 3 moves per patient at most (GVHD, relapse, end): max_moves does not bound the proof
    none = arm_witnesses(27, target, Bounds(max_censored=6, max_moves=3 * 27,
                                            max_nodes=400_000))
    assert none.exhaustive and none.witnesses == []
    some = arm_witnesses(27, target, Bounds(max_censored=7, max_witnesses=1))
    assert some.witnesses
    got = figures_of(27, some.witnesses[0])
    assert [round(100 * float(got[e]), 2) for e in ENDPOINTS] == [73.89, 59.03, 47.86, 8.52]
