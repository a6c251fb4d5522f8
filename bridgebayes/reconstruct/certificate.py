"""Exact feasibility search for landmark figures: orders of events, in rational arithmetic.

Landmark Kaplan–Meier survival (OS, PFS, GRFS) and Aalen–Johansen incidence of
non-relapse mortality (NRM, relapse competing) depend only on the *order* of events and
censorings before the landmark.  A patient's path before the landmark is a sequence of
moves between three states — *fresh* (no GVHD, no relapse), *GVHD* (no relapse),
*relapsed* — ending in death or censoring (common to every endpoint), or alive at the
landmark:

======  ==================================  ==========================================
move    what happens                        endpoints
======  ==================================  ==========================================
``FG``  fresh → GVHD                        GRFS event
``FR``  fresh → relapsed                    PFS, GRFS event; relapse
``FN``  fresh patient dies                  OS, PFS, GRFS event; NRM
``FC``  fresh patient censored              censored for OS, PFS, GRFS
``GR``  GVHD → relapsed                     PFS event; relapse
``GN``  GVHD patient dies                   OS, PFS event; NRM
``GC``  GVHD patient censored               censored for OS, PFS
``RD``  relapsed patient dies               OS event
``RC``  relapsed patient censored           censored for OS
======  ==================================  ==========================================

:func:`arm_witnesses` searches one arm depth first over states (patients per state and
the four figures as :class:`fractions.Fraction`), cutting branches that can no longer reach
the targets (survival only falls; NRM rises at most by what PFS still loses).  The search
is exhaustive unless a bound (moves, censorings, nodes) cuts it, so *no witness and no cut*
proves the arm's figures unreachable under the stated bounds.  :func:`interleave` does the
same for the pooled figures over the interleavings of two arms' move sequences (pooled
numbers at risk follow from the two prefixes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["MOVES", "ArmSearch", "Bounds", "Target", "arm_witnesses", "figures_of",
           "interleave", "pooled_figures", "targets_of"]

#: move -> (from state, to state or None = leaves, os, pfs, grfs effect, NRM cause).
#: effect: "e" = event, "c" = censored (leaves the risk set), "" = none.
MOVES: dict[str, tuple[int, int | None, str, str, str, bool]] = {
    "FG": (0, 1, "", "", "e", False),
    "FR": (0, 2, "", "e", "e", False),
    "FN": (0, None, "e", "e", "e", True),
    "FC": (0, None, "c", "c", "c", False),
    "GR": (1, 2, "", "e", "", False),
    "GN": (1, None, "e", "e", "", True),
    "GC": (1, None, "c", "c", "", False),
    "RD": (2, None, "e", "", "", False),
    "RC": (2, None, "c", "", "", False),
}
ENDPOINTS = ("os", "pfs", "grfs", "nrm")
#: risk sets: which states are at risk for each survival endpoint
AT_RISK = {"os": (0, 1, 2), "pfs": (0, 1), "grfs": (0,)}


@dataclass(frozen=True)
class Target:
    """A published landmark figure as an exact interval ``[lo, hi]`` (proportions)."""

    endpoint: str
    lo: Fraction
    hi: Fraction

    def holds(self, value: Fraction) -> bool:
        return self.lo <= value <= self.hi


def targets_of(values: dict[str, float], decimals: int) -> dict[str, Target]:
    """Targets from published percentages: a value matches when it rounds to the figure."""
    half = Fraction(1, 2 * 10 ** decimals) / 100
    out = {}
    for endpoint, percent in values.items():
        centre = Fraction(f"{percent:.{decimals}f}") / 100
        out[endpoint] = Target(endpoint, centre - half, centre + half)
    return out


@dataclass(frozen=True)
class Bounds:
    """The assumptions that bound the search (a proof holds only under them).

    Attributes
    ----------
    max_censored
        Censorings per arm before the landmark.
    max_moves
        Moves per arm before the landmark (``None``: no bound, a patient has at most 3).
    max_nodes
        States expanded per search before it gives up (then nothing is proved).
    max_witnesses
        Witnesses collected per arm.
    """

    max_censored: int = 10
    max_moves: int | None = None
    max_nodes: int = 400_000
    max_witnesses: int = 2_000


@dataclass
class ArmSearch:
    """Result of :func:`arm_witnesses`.

    ``witnesses`` are move sequences whose figures meet every target; ``exhaustive`` says
    whether no bound cut the search (then an empty ``witnesses`` is a proof).
    """

    witnesses: list[tuple[str, ...]] = field(default_factory=list)
    exhaustive: bool = True
    nodes: int = 0


def _step(values: tuple[Fraction, ...], counts: tuple[int, int, int], move: str
          ) -> tuple[tuple[Fraction, ...], tuple[int, int, int]]:
    """Apply a move to figures ``(os, pfs, grfs, nrm)`` and state counts."""
    src, dst, *effects, nrm_cause = MOVES[move]
    os_, pfs, grfs, nrm = values
    if nrm_cause:
        nrm += pfs / (counts[0] + counts[1])
    new = []
    for value, endpoint, effect in zip((os_, pfs, grfs), ("os", "pfs", "grfs"), effects,
                                       strict=True):
        if effect == "e":
            n = sum(counts[s] for s in AT_RISK[endpoint])
            value = value * (n - 1) / n
        new.append(value)
    c = list(counts)
    c[src] -= 1
    if dst is not None:
        c[dst] += 1
    return (*new, nrm), (c[0], c[1], c[2])


def figures_of(n: int, moves: tuple[str, ...]) -> dict[str, Fraction]:
    """Exact landmark figures of one arm of ``n`` patients after ``moves``."""
    values: tuple[Fraction, ...] = (Fraction(1), Fraction(1), Fraction(1), Fraction(0))
    counts = (n, 0, 0)
    for move in moves:
        values, counts = _step(values, counts, move)
    return dict(zip(ENDPOINTS, values, strict=True))


def _hopeless(values: tuple[Fraction, ...], targets: dict[str, Target]) -> bool:
    """Whether no continuation can meet the targets (survival only falls, NRM only rises,
    and by at most what PFS still loses)."""
    for k, endpoint in enumerate(ENDPOINTS[:3]):
        if endpoint in targets and values[k] < targets[endpoint].lo:
            return True
    if "nrm" in targets:
        t = targets["nrm"]
        pfs_floor = targets["pfs"].lo if "pfs" in targets else Fraction(0)
        if values[3] > t.hi or values[3] + values[1] - pfs_floor < t.lo:
            return True
    return False


def _dfs(start: tuple, expand, done, budget: list[int]) -> Iterator[tuple[str, ...]]:
    """Depth-first search from ``start = (state, path)``; ``expand(state)`` yields
    ``(move, new_state)``, ``done(state)`` says whether ``path`` is a witness.  Each state is
    expanded once; ``budget[0]`` counts down the nodes left (below 0: cut)."""
    stack = [start]
    seen: set = set()
    while stack:
        state, path = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        budget[0] -= 1
        if budget[0] < 0:
            return
        if done(state):
            yield path
        children = list(expand(state))
        for move, new in reversed(children):
            stack.append((new, (*path, move)))


def arm_witnesses(n: int, targets: dict[str, Target], bounds: Bounds = Bounds()) -> ArmSearch:
    """Move sequences of one arm of ``n`` patients that meet every target.

    Three nested exhaustive searches, each over the states that matter to it (a joint
    sequence splits uniquely into them): (1) the progression sequence — relapse ``R``,
    non-relapse death ``N``, censoring ``C`` of the progression-free — for PFS and NRM;
    (2) deaths ``RD`` and censorings ``RC`` of relapsed patients inserted, for OS; (3) GVHD
    ``FG`` inserted and each progression move attributed to a fresh or a GVHD patient, for
    GRFS.  Without a cut (``exhaustive``), an empty result proves the targets unreachable
    with at most ``bounds.max_censored`` censorings and ``bounds.max_moves`` moves.
    """
    result = ArmSearch()
    budget = [bounds.max_nodes]
    max_moves = 3 * n if bounds.max_moves is None else bounds.max_moves
    zero, one = Fraction(0), Fraction(1)
    t_os, t_pfs, t_grfs = (targets.get(e) for e in ("os", "pfs", "grfs"))

    def ok(target: Target | None, value: Fraction) -> bool:
        return target is None or target.holds(value)

    def too_low(target: Target | None, value: Fraction) -> bool:
        return target is not None and value < target.lo

    def prog_expand(state):  # (at risk, pfs, nrm, censored, length)
        k, pfs, nrm, cens, length = state
        if k == 0 or length >= max_moves:
            return
        for token in ("R", "N", "C"):
            if token == "C" and cens >= bounds.max_censored:
                continue
            new_nrm = nrm + pfs / k if token == "N" else nrm
            new_pfs = pfs if token == "C" else pfs * (k - 1) / k
            values = (one, new_pfs, one, new_nrm)
            if not _hopeless(values, {e: t for e, t in targets.items() if e in ("pfs", "nrm")}):
                yield token, (k - 1, new_pfs, new_nrm, cens + (token == "C"), length + 1)

    def prog_done(state):
        return ok(t_pfs, state[1]) and ok(targets.get("nrm"), state[2])

    def os_search(prog):
        def expand(state):  # (index, relapsed alive, os, censored, length)
            i, r, os_, cens, length = state
            n_os = (n - i) + r  # progression-free plus relapsed alive
            if i < len(prog):
                token = prog[i]
                new_os = os_ * (n_os - 1) / n_os if token == "N" else os_
                if not too_low(t_os, new_os):
                    yield token, (i + 1, r + (token == "R"), new_os, cens, length)
            if r > 0 and length < max_moves:
                new_os = os_ * (n_os - 1) / n_os
                if not too_low(t_os, new_os):
                    yield "RD", (i, r - 1, new_os, cens, length + 1)
                if cens + prog.count("C") < bounds.max_censored:
                    yield "RC", (i, r - 1, os_, cens + 1, length + 1)

        def done(state):
            return state[0] == len(prog) and ok(t_os, state[2])
        return _dfs(((0, 0, one, 0, len(prog)), ()), expand, done, budget)

    def grfs_search(seq):
        def expand(state):  # (index, fresh, gvhd, grfs, length)
            i, f, g, grfs, length = state
            if f > 0 and length < max_moves:
                new = grfs * (f - 1) / f
                if not too_low(t_grfs, new):
                    yield "FG", (i, f - 1, g + 1, new, length + 1)
            if i == len(seq):
                return
            token = seq[i]
            if token in ("RD", "RC"):
                yield token, (i + 1, f, g, grfs, length)
                return
            if f > 0:
                new = grfs if token == "C" else grfs * (f - 1) / f
                if not too_low(t_grfs, new):
                    yield "F" + token, (i + 1, f - 1, g, new, length)
            if g > 0:
                yield "G" + token, (i + 1, f, g - 1, grfs, length)

        def done(state):
            return state[0] == len(seq) and ok(t_grfs, state[3])
        return _dfs(((0, n, 0, one, len(seq)), ()), expand, done, budget)

    for prog in _dfs(((n, one, zero, 0, 0), ()), prog_expand, prog_done, budget):
        for seq in os_search(prog):
            for moves in grfs_search(seq):
                result.witnesses.append(moves)
                if len(result.witnesses) >= bounds.max_witnesses:
                    result.exhaustive = False
                    return result
    result.nodes = bounds.max_nodes - budget[0]
    result.exhaustive = budget[0] >= 0
    return result


def _prefix_counts(n: int, moves: tuple[str, ...]) -> list[tuple[int, int, int]]:
    counts = [(n, 0, 0)]
    for move in moves:
        src, dst = MOVES[move][:2]
        c = list(counts[-1])
        c[src] -= 1
        if dst is not None:
            c[dst] += 1
        counts.append((c[0], c[1], c[2]))
    return counts


def interleave(arms: tuple[tuple[int, tuple[str, ...]], tuple[int, tuple[str, ...]]],
               targets: dict[str, Target], *, max_nodes: int = 200_000
               ) -> tuple[list[tuple[int, str]] | None, bool]:
    """An interleaving of two arms' move sequences whose pooled figures meet ``targets``.

    Parameters
    ----------
    arms
        ``((n0, moves0), (n1, moves1))``.
    targets
        Pooled targets (any subset of OS, PFS, GRFS, NRM).

    Returns
    -------
    merged, exhaustive
        The merged sequence of ``(arm, move)`` (``None`` if none was found) and whether the
        search was complete (then ``None`` proves that these two sequences cannot be
        interleaved to meet the targets).
    """
    (n0, a), (n1, b) = arms
    ca, cb = _prefix_counts(n0, a), _prefix_counts(n1, b)
    one = Fraction(1)
    start = (one, one, one, Fraction(0))
    stack: list[tuple[int, int, tuple[Fraction, ...], tuple[tuple[int, str], ...]]] = [
        (0, 0, start, ())]
    seen: set = set()
    nodes = 0
    while stack:
        i, j, values, path = stack.pop()
        if (i, j, values) in seen:
            continue
        seen.add((i, j, values))
        nodes += 1
        if nodes > max_nodes:
            return None, False
        if i == len(a) and j == len(b):
            if all(t.holds(values[ENDPOINTS.index(e)]) for e, t in targets.items()):
                return list(path), True
            continue
        pooled = tuple(x + y for x, y in zip(ca[i], cb[j], strict=True))
        for arm, k, seq in ((1, j, b), (0, i, a)):
            if k == len(seq):
                continue
            new_values, _ = _step(values, pooled, seq[k])
            if _hopeless(new_values, targets):
                continue
            ni, nj = (i + 1, j) if arm == 0 else (i, j + 1)
            stack.append((ni, nj, new_values, (*path, (arm, seq[k]))))
    return None, True


def pooled_figures(n: tuple[int, int], merged: list[tuple[int, str]]) -> dict[str, Fraction]:
    """Exact pooled landmark figures of a merged sequence."""
    return figures_of(n[0] + n[1], tuple(move for _, move in merged))
