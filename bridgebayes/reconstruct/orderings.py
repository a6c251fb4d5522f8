"""Phase 1 of the summary reconstruction: the order of events before the landmark.

Landmark Kaplan–Meier and Aalen–Johansen figures depend only on the *order* of
events and censorings before the landmark, not on their times.  Phase 1 therefore
searches, for one arm, a sequence of tokens — ``G`` (GVHD), ``R`` (relapse),
``D`` (death), ``C`` (censoring) — with local moves (move one token, add or drop
one, change how a patient's follow-up ends), which is far easier than searching
times directly.  :func:`assign_times` then turns a sequence into patient
histories: a censoring cannot come before the censoring floor (the shortest
potential follow-up, cut-off minus end of accrual), so every token after the first
``C`` is placed between the floor and the landmark.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from bridgebayes.core.errors import ReconstructionError
from bridgebayes.reconstruct.histories import Histories
from bridgebayes.reconstruct.published import Figure

__all__ = ["Ordering", "assign_times", "search_ordering"]

END = ("D", "C")
HARD_WEIGHT = 1e3


class Ordering:
    """A token sequence for ``n`` patients of one arm (patients not in it pass the landmark)."""

    def __init__(self, n: int, tokens: list[tuple[int, str]] | None = None) -> None:
        self.n = n
        self.tokens = list(tokens or [])

    def copy(self) -> Ordering:
        return Ordering(self.n, self.tokens)

    def of(self, patient: int) -> list[int]:
        """Positions of a patient's tokens."""
        return [k for k, (p, _) in enumerate(self.tokens) if p == patient]

    def valid(self) -> bool:
        """Each patient: at most one token of each kind, at most one end, end last."""
        return all(_patient_valid(self.tokens, p) for p in {p for p, _ in self.tokens})

    def early_death(self) -> bool:
        """Whether some death precedes every censoring (it can then be the shortest
        follow-up, which must be a death when censoring is floored)."""
        for _, kind in self.tokens:
            if kind in END:
                return kind == "D"
        return False

    def figures(self) -> dict[str, float]:
        """Landmark OS, PFS, GRFS survival and relapse/NRM cumulative incidence."""
        n_os = n_pfs = n_grfs = self.n  # at risk
        s_os = s_pfs = s_grfs = 1.0
        relapse = nrm = 0.0
        out_pfs: set[int] = set()
        out_grfs: set[int] = set()
        for p, kind in self.tokens:
            if kind == "D" or kind == "C":
                if kind == "D":
                    s_os *= 1.0 - 1.0 / n_os
                n_os -= 1
            if kind != "G" and p not in out_pfs:
                if kind == "R":
                    relapse += s_pfs / n_pfs
                elif kind == "D":
                    nrm += s_pfs / n_pfs
                if kind != "C":
                    s_pfs *= 1.0 - 1.0 / n_pfs
                n_pfs -= 1
                out_pfs.add(p)
            if p not in out_grfs:
                if kind != "C":
                    s_grfs *= 1.0 - 1.0 / n_grfs
                n_grfs -= 1
                out_grfs.add(p)
        return {"os": s_os, "pfs": s_pfs, "grfs": s_grfs, "relapse": relapse, "nrm": nrm}


def _propose(order: Ordering, rng: np.random.Generator) -> Ordering:
    new = order.copy()
    tokens = new.tokens
    move = rng.integers(4)
    if move == 0 and tokens:  # move one token
        k = int(rng.integers(len(tokens)))
        token = tokens.pop(k)
        tokens.insert(int(rng.integers(len(tokens) + 1)), token)
        p = token[0]
    else:  # add, drop or change one token of one patient
        p = int(rng.integers(new.n))
        kind = ("G", "R", "D", "C")[int(rng.integers(4))] if move else "D"
        mine = [k for k in new.of(p) if tokens[k][1] == kind]
        if mine:
            tokens.pop(mine[0])
        else:
            if kind in END:  # replace an existing end
                ends = [k for k in new.of(p) if tokens[k][1] in END]
                if ends:
                    tokens.pop(ends[0])
            tokens.insert(int(rng.integers(len(tokens) + 1)), (p, kind))
    return new if _patient_valid(tokens, p) else order  # only patient p's tokens changed


def _patient_valid(tokens: list[tuple[int, str]], patient: int) -> bool:
    """:meth:`Ordering.valid` restricted to one patient."""
    kinds = [kind for p, kind in tokens if p == patient]
    if len(set(kinds)) != len(kinds):
        return False
    ends = [j for j, kind in enumerate(kinds) if kind in END]
    return not ends or ends == [len(kinds) - 1]


def _loss(values: dict[str, float], figures: tuple[Figure, ...],
          hard: frozenset[str] = frozenset()) -> float:
    """Sum of log1p((error/tolerance)^2): informative both far from and near a match.

    A figure in ``hard`` costs nothing while matched and a prohibitive amount otherwise.
    """
    total = 0.0
    for fig in figures:
        err = abs(values[fig.endpoint] - fig.target)
        if fig.key in hard:
            total += 0.0 if err <= fig.tolerance + 1e-12 else HARD_WEIGHT
        else:
            total += math.log1p((err / fig.tolerance) ** 2)
    return total


def _matched(values: dict[str, float], figures: tuple[Figure, ...]) -> bool:
    return all(abs(values[f.endpoint] - f.target) <= f.tolerance + 1e-12 for f in figures)


@functools.lru_cache(maxsize=16)
def progression_paths(n: int, figures: tuple[Figure, ...], *, max_paths: int = 5000,
                      max_nodes: int = 300_000) -> list[str]:
    """Sequences of ``R`` (relapse), ``N`` (non-relapse death) and ``C`` (censoring) tokens
    that meet the PFS survival and relapse/NRM incidence figures among ``figures``.

    Depth-first enumeration; a state (patients at risk, PFS so far, targeted incidences)
    is expanded once, and branches that can no longer reach the targets are cut
    (survival only falls; an incidence rises at most by what survival still loses).
    """
    target = {f.endpoint: (f.target, f.tolerance + 1e-12) for f in figures}
    t_pfs = target.get("pfs", (0.0, 1.0))
    tracked = sorted({"pfs", *target})
    visited: set[tuple] = set()
    found: list[str] = []
    stack: list[tuple[int, dict[str, float], str]] = [
        (n, {"pfs": 1.0, "relapse": 0.0, "nrm": 0.0}, "")]
    while stack and len(found) < max_paths and len(visited) < max_nodes:
        at_risk, values, path = stack.pop()
        if all(abs(values[k] - t) <= tol for k, (t, tol) in target.items()):
            found.append(path)
        room = values["pfs"] - (t_pfs[0] - t_pfs[1])  # how much survival may still fall
        if at_risk == 0 or room < 0 or any(
                k != "pfs" and not values[k] - tol <= t <= values[k] + room + tol
                for k, (t, tol) in target.items()):
            continue
        key = (at_risk, *(round(values[k], 12) for k in tracked))
        if key in visited:
            continue
        visited.add(key)
        for token in ("C", "N", "R"):  # popped in reverse: events explored first
            new = dict(values)
            if token != "C":
                new["relapse" if token == "R" else "nrm"] += values["pfs"] / at_risk
                new["pfs"] = values["pfs"] * (1.0 - 1.0 / at_risk)
            stack.append((at_risk - 1, new, path + token))
    return found


def _path_order(paths: list[str], rng: np.random.Generator) -> list[str]:
    """Paths in a random order that favours few censorings (each censoring before the
    landmark must sit in the short window after the censoring floor, and many of them
    force a short median follow-up); each path is tried once before any is repeated."""
    n_cens = np.array([p.count("C") for p in paths], dtype=float)
    weight = np.exp(-(n_cens - n_cens.min()))
    order = rng.choice(len(paths), size=len(paths), replace=False, p=weight / weight.sum())
    return [paths[k] for k in order]


def search_ordering(n: int, figures: tuple[Figure, ...], *, rng: np.random.Generator,
                    iterations: int, attempts: int = 60, early_death: bool = False,
                    censoring: bool = True, t_start: float = 3.0, t_end: float = 0.01
                    ) -> tuple[Ordering, bool]:
    """Find a token sequence for ``n`` patients whose landmark figures match ``figures``.

    The progression figures (PFS, relapse and NRM incidence) are met first by an exact
    depth-first search; annealing then adds the remaining events (deaths after relapse,
    GVHD, further censorings) with the progression figures held fixed.

    With ``early_death``, the ordering must also have a death before any censoring;
    without ``censoring`` (when no patient can be censored before the landmark, the
    censoring floor being later), it has no censoring token at all.
    Returns the best ordering and whether every figure (and that condition) is met.
    """
    progression = tuple(f for f in figures if f.endpoint in ("pfs", "relapse", "nrm"))
    hard = frozenset(f.key for f in progression)
    best, best_loss = Ordering(n), math.inf
    paths = progression_paths(n, progression) if progression else [""]
    if not censoring:
        paths = [p for p in paths if "C" not in p]
    if not paths:
        return best, False
    queue = _path_order(paths, rng)
    for attempt in range(attempts):
        path = queue[attempt % len(queue)]
        kinds = {"R": "R", "N": "D", "C": "C"}
        found = Ordering(n, [(p, kinds[t]) for p, t in enumerate(path)])
        locked = hard
        while True:  # figures matched so far are locked, the rest annealed again
            found, loss = _anneal(found, figures, locked, rng=rng, iterations=iterations,
                                  t_start=t_start, t_end=t_end, early_death=early_death,
                                  censoring=censoring)
            values = found.figures()
            now = frozenset(f.key for f in figures if _matched(values, (f,)))
            if now <= locked or now == frozenset(f.key for f in figures):
                break
            locked = now
        if loss < best_loss:
            best, best_loss = found, loss
        if _matched(found.figures(), figures) and (found.early_death() or not early_death):
            return found, True
    return best, False


def _anneal(start: Ordering, figures: tuple[Figure, ...], hard: frozenset[str], *,
            rng: np.random.Generator, iterations: int, t_start: float, t_end: float,
            early_death: bool, censoring: bool) -> tuple[Ordering, float]:
    current = start
    cur_loss = _loss(current.figures(), figures, hard)
    if early_death and not current.early_death():
        cur_loss += HARD_WEIGHT
    best, best_loss = current, cur_loss
    decay = (t_end / t_start) ** (1.0 / iterations)
    temperature = t_start
    for _ in range(iterations):
        candidate = _propose(current, rng)
        if not censoring and any(kind == "C" for _, kind in candidate.tokens):
            continue
        values = candidate.figures()
        loss = _loss(values, figures, hard)
        if early_death and not candidate.early_death():
            loss += HARD_WEIGHT
        if loss <= cur_loss or rng.random() < math.exp((cur_loss - loss) / temperature):
            current, cur_loss = candidate, loss
            if loss < best_loss:
                best, best_loss = candidate, loss
            if _matched(values, figures) and (candidate.early_death() or not early_death):
                return candidate, loss
        temperature *= decay
    return best, best_loss


def assign_times(order: Ordering, *, arm: int, floor: float, landmark: float,
                 fu_min: float, fu_max: float, pin_min: bool, rng: np.random.Generator,
                 grid: float = 0.01) -> Histories:
    """Turn a token sequence into histories of one arm, times on a ``grid``.

    Tokens keep their order with distinct times.  Every censoring is at or after
    ``floor``, so tokens from the first ``C`` on fall in ``[floor, landmark]``; earlier
    tokens fall before ``floor``.  If a death precedes every censoring, the first
    such death is placed exactly at ``fu_min`` (the shortest follow-up) and the
    tokens before it earlier still.  Patients without an end token pass the
    landmark: alive, with follow-up drawn in ``(landmark, fu_max]``.
    """
    tokens = order.tokens
    kinds = [kind for _, kind in tokens]
    first_c = kinds.index("C") if "C" in kinds else len(tokens)
    pin = kinds.index("D") if pin_min and order.early_death() else None
    times = np.empty(len(tokens))

    def fill(lo: float, hi: float, start: int, stop: int) -> None:
        slots = np.arange(math.ceil(lo / grid - 1e-9), math.floor(hi / grid + 1e-9) + 1)
        if stop - start > slots.size:
            raise ReconstructionError(
                f"cannot place {stop - start} events between {lo:g} and {hi:g} months on a "
                f"{grid:g}-month grid (censoring floor {floor:g}, landmark {landmark:g})")
        picked = np.sort(rng.choice(slots, size=stop - start, replace=False))
        times[start:stop] = picked / round(1 / grid)

    early_end = min(floor, landmark) - grid
    if pin is not None:
        fill(grid, fu_min - grid, 0, pin)
        times[pin] = fu_min
        fill(fu_min + grid, early_end, pin + 1, first_c)
    else:
        fill(grid, early_end, 0, first_c)
        early_deaths = [k for k in range(first_c) if kinds[k] == "D"]
        if early_deaths and times[early_deaths[0]] <= fu_min:  # keep fu_min the minimum
            fill(fu_min + grid, early_end, 0, first_c)
    fill(max(floor, grid), landmark, first_c, len(tokens))
    h = Histories(np.full(order.n, arm), np.zeros(order.n), np.zeros(order.n, bool),
                  np.full(order.n, np.nan), np.full(order.n, np.nan))
    ended = np.zeros(order.n, bool)
    for (p, kind), t in zip(tokens, times, strict=True):
        if kind == "R":
            h.relapse[p] = t
        elif kind == "G":
            h.gvhd[p] = t
        else:
            h.followup[p], h.dead[p], ended[p] = t, kind == "D", True
    rest = np.flatnonzero(~ended)
    slots = np.arange(math.floor(landmark / grid + 1e-9) + 1, math.floor(fu_max / grid + 1e-9) + 1)
    if rest.size > slots.size:
        raise ReconstructionError(
            f"cannot give {rest.size} patients distinct follow-up times between the landmark "
            f"{landmark:g} and the longest follow-up {fu_max:g} on a {grid:g}-month grid")
    h.followup[rest] = rng.choice(slots, size=rest.size, replace=False) / round(1 / grid)
    return h
