"""Simulated-annealing search for patient histories that reproduce published figures.

The objective adds, for every published figure, its squared error (in units
of a percentage point, of 0.02 for p-values, of half a month for follow-up)
and a large penalty while the figure is outside its tolerance.  Pooled
figures carry a smaller weight: they may be jointly unreachable with the
per-arm ones, which always come first.  Moves change one patient at a time
(follow-up, death, relapse, GVHD) and keep every history consistent.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.reconstruct import fast_stats as fs
from bridgebayes.reconstruct.histories import Histories
from bridgebayes.reconstruct.orderings import assign_times, search_ordering
from bridgebayes.reconstruct.published import Figure, PublishedSummary
from bridgebayes.reference.gray import gray_test

__all__ = ["Objective", "SearchSettings", "anneal"]

MISS_PENALTY = 10.0
POOLED_WEIGHT = 0.3
HARD_WEIGHT = 1e4  # figures already met in the per-arm phase: moves must keep them
DECIMALS = 2  # times are searched on a 0.01-month grid, as published data report them
RESOLUTION = 10.0 ** -DECIMALS


@dataclass(frozen=True)
class SearchSettings:
    """Search effort.

    Attributes
    ----------
    ordering_iterations, ordering_attempts
        Phase 1 (per arm, orders of events): annealing iterations per attempt, attempts.
    iterations, t_start, t_end, patience
        Phase 2 (both arms, times): annealing iterations and temperatures; the chain
        stops early once every required figure is met and ``patience`` iterations
        brought no improvement; a chain that did not converge is reheated from its
        best state up to ``reheats`` times.
    polish_iterations
        Phase 3 (pooled figures, best effort) iterations.
    restarts
        Whole searches tried before giving up.
    """

    ordering_iterations: int = 5_000
    ordering_attempts: int = 60
    iterations: int = 20_000
    t_start: float = 3.0
    t_end: float = 0.005
    restarts: int = 4
    reheats: int = 2
    patience: int = 4_000
    polish_iterations: int = 5_000


class Objective:
    """Published figures → a function of :class:`Histories` to minimise."""

    def __init__(self, summary: PublishedSummary, *, figures: tuple[Figure, ...] | None = None,
                 hard: frozenset[str] = frozenset()) -> None:
        self.summary = summary
        self.figures: tuple[Figure, ...] = summary.figures if figures is None else figures
        scale = {"survival": 0.01, "cumulative_incidence": 0.01, "p_value": 0.02,
                 "followup": 0.5}
        self.scale = np.array([scale[f.kind] for f in self.figures])
        self.weight = np.array([1.0 if f.required else POOLED_WEIGHT for f in self.figures])
        self.hard = np.array([f.key in hard for f in self.figures])
        self.target = np.array([f.target for f in self.figures])
        self.tolerance = np.array([f.tolerance for f in self.figures]) + 1e-12

    def values(self, h: Histories) -> np.ndarray:
        """Current value of every figure (same order as ``self.figures``)."""
        landmark = self.summary.landmark
        survival: dict[str, tuple] = {}
        incidence: dict[int, tuple] = {}
        slot = {self.summary.arms[0]: 0, self.summary.arms[1]: 1, "pooled": 2}
        out = np.empty(len(self.figures))
        for k, fig in enumerate(self.figures):
            if fig.kind == "survival" or (fig.kind == "p_value" and fig.group == "log-rank"):
                if fig.endpoint not in survival:
                    time, event = h.endpoint(fig.endpoint)
                    survival[fig.endpoint] = fs.two_arm_summary(time, event, h.arm, landmark)
                out[k] = survival[fig.endpoint][3 if fig.kind == "p_value" else slot[fig.group]]
            elif fig.kind in ("cumulative_incidence", "p_value"):
                cause_code = 2 if fig.endpoint == "nrm" else 1
                time, cause = h.endpoint("cr")
                if fig.kind == "p_value":
                    out[k] = self._gray_p(time, cause, h.arm, cause_code)
                    continue
                if cause_code not in incidence:
                    incidence[cause_code] = fs.two_arm_cif(time, cause, h.arm, landmark,
                                                           cause_code)
                out[k] = incidence[cause_code][slot[fig.group]]
            elif fig.group == "median":
                out[k] = fs.reverse_km_median(h.followup, h.dead.astype(int))
            else:
                out[k] = h.followup.min() if fig.group == "min" else h.followup.max()
        return out

    @staticmethod
    def _gray_p(time: np.ndarray, cause: np.ndarray, arm: np.ndarray, code: int) -> float:
        try:
            return gray_test(time, cause, arm, cause_of_interest=code).p_value
        except BridgeBayesError:  # no event of that cause yet: no test
            return math.nan

    def loss(self, values: np.ndarray) -> float:
        """Weighted squared errors plus a penalty for each figure outside tolerance."""
        err = np.abs(np.nan_to_num(values - self.target, nan=1.0))
        missed = err > self.tolerance
        terms = (err / self.scale) ** 2 + MISS_PENALTY * missed
        terms = np.where(self.hard, HARD_WEIGHT * missed, self.weight * terms)
        return float(np.sum(terms))

    def required_met(self, values: np.ndarray) -> bool:
        """Whether every required figure is within its tolerance."""
        err = np.abs(np.nan_to_num(values - self.target, nan=1.0))
        required = np.array([f.required for f in self.figures])
        return bool(np.all(err[required] <= self.tolerance[required]))


def _grid(x: float) -> float:
    """Round to the search grid; integer / 10**d is the double nearest the decimal."""
    return max(RESOLUTION, round(x * 10**DECIMALS) / 10**DECIMALS)


class _Mover:
    """Random single-patient moves that keep histories consistent."""

    def __init__(self, summary: PublishedSummary, rng: np.random.Generator) -> None:
        self.rng = rng
        self.fu_min = summary.followup["min"]
        self.fu_max = summary.followup["max"]
        self.floor = max(summary.censoring_floor, self.fu_min)
        # Censorings before the landmark fall in [floor, landmark]: events that come after
        # them in a Kaplan-Meier path must land in that window too, so proposals favour it.
        self.window = (self.floor, max(self.floor, summary.landmark))

    def _new_followup(self, dead: bool) -> float:
        u = self.rng.random()  # the extremes are published: give them point masses
        if u < 0.04 and dead:
            return self.fu_min
        if u < 0.08 and not dead:
            return self.fu_max
        lo = self.fu_min if dead else self.floor
        if u < 0.3 and self.window[1] > lo:
            return _grid(self.rng.uniform(max(lo, self.window[0]), self.window[1]))
        return _grid(self.rng.uniform(lo, self.fu_max))

    def _set_followup(self, h: Histories, i: int, new: float) -> None:
        old = h.followup[i]
        for events in (h.relapse, h.gvhd):
            if not np.isnan(events[i]) and events[i] >= new:
                events[i] = min(_grid(events[i] * new / old), new - RESOLUTION)
                if events[i] < RESOLUTION:
                    events[i] = np.nan
        h.followup[i] = new

    def propose(self, h: Histories) -> Histories:
        rng = self.rng
        h = h.copy()
        i = int(rng.integers(h.arm.size))
        move = rng.integers(7)
        if move == 0:  # new follow-up time
            self._set_followup(h, i, self._new_followup(bool(h.dead[i])))
        elif move == 1:  # small change of follow-up
            lo = self.fu_min if h.dead[i] else self.floor
            new = _grid(h.followup[i] * math.exp(rng.normal(0, 0.15)))
            if lo <= new <= self.fu_max:  # no clipping: it would pile patients on the bounds
                self._set_followup(h, i, new)
        elif move == 2:  # death at end of follow-up, or alive
            h.dead[i] = not h.dead[i]
            if not h.dead[i] and h.followup[i] < self.floor:
                self._set_followup(h, i, self._new_followup(False))
        elif move in (3, 4):  # relapse / GVHD: add, remove or move
            events = h.relapse if move == 3 else h.gvhd
            if np.isnan(events[i]) or rng.random() < 0.3:
                events[i] = np.nan if not np.isnan(events[i]) else self._event_time(h, i)
            else:
                events[i] = self._event_time(h, i)
        elif move == 5:  # small shift of a relapse or GVHD time
            events = h.relapse if rng.random() < 0.5 else h.gvhd
            if not np.isnan(events[i]):
                hi = h.followup[i] - RESOLUTION
                events[i] = min(_grid(events[i] * math.exp(rng.normal(0, 0.15))), hi)
                if events[i] < RESOLUTION:
                    events[i] = np.nan
        else:  # exchange follow-up of two patients (helps the between-arm tests)
            j = int(rng.integers(h.arm.size))
            fi, fj = h.followup[i], h.followup[j]
            ok_i = h.dead[i] or fj >= self.floor
            ok_j = h.dead[j] or fi >= self.floor
            if ok_i and ok_j:
                self._set_followup(h, i, fj)
                self._set_followup(h, j, fi)
        return h

    def _event_time(self, h: Histories, i: int) -> float:
        hi = h.followup[i] - RESOLUTION
        if hi < RESOLUTION:
            return np.nan
        lo = RESOLUTION
        if self.rng.random() < 0.3 and hi > self.window[0]:
            lo, hi = self.window[0], min(hi, self.window[1])
        return min(_grid(self.rng.uniform(lo, hi)), h.followup[i] - RESOLUTION)


def _run_chain(objective: Objective, mover: _Mover, start: Histories, *,
               rng: np.random.Generator, settings: SearchSettings
               ) -> tuple[float, Histories, np.ndarray]:
    """One annealing chain from ``start``; returns the best (loss, histories, values)."""
    current, cur_values = start, objective.values(start)
    cur_loss = objective.loss(cur_values)
    best = (cur_loss, current, cur_values)
    temperature = settings.t_start
    decay = (settings.t_end / settings.t_start) ** (1.0 / settings.iterations)
    best_at, converged = 0, objective.required_met(cur_values)
    for k in range(settings.iterations):
        candidate = mover.propose(current)
        values = objective.values(candidate)
        loss = objective.loss(values)
        if loss <= cur_loss or rng.random() < math.exp((cur_loss - loss) / temperature):
            current, cur_values, cur_loss = candidate, values, loss
            if loss < best[0]:
                best, best_at = (loss, candidate, values), k
                converged = objective.required_met(values)
        if converged and k - best_at > settings.patience:
            break
        temperature *= decay
    return best


def _phase_one(summary: PublishedSummary, *, rng: np.random.Generator,
               settings: SearchSettings) -> Histories:
    """Orders of events per arm (see :mod:`bridgebayes.reconstruct.orderings`), then times."""
    floor = max(summary.censoring_floor, summary.followup["min"])
    need_early_death = floor > summary.followup["min"]
    orders = []
    for label in summary.arms:
        figures = tuple(f for f in summary.figures if f.group == label)
        order, _ = search_ordering(summary.n[label], figures, rng=rng,
                                   iterations=settings.ordering_iterations,
                                   attempts=settings.ordering_attempts,
                                   censoring=floor < summary.landmark)
        orders.append(order)
    if need_early_death and not any(o.early_death() for o in orders):
        code = int(rng.integers(2))
        label = summary.arms[code]
        figures = tuple(f for f in summary.figures if f.group == label)
        orders[code], _ = search_ordering(summary.n[label], figures, rng=rng,
                                          iterations=settings.ordering_iterations,
                                          attempts=settings.ordering_attempts, early_death=True,
                                          censoring=floor < summary.landmark)
    pinned = next((code for code, o in enumerate(orders) if o.early_death()), None)
    arms = [assign_times(order, arm=code, floor=floor, landmark=summary.landmark,
                         fu_min=summary.followup["min"], fu_max=summary.followup["max"],
                         pin_min=code == pinned, rng=rng)
            for code, order in enumerate(orders)]
    h = Histories(*(np.concatenate([getattr(a, f) for a in arms])
                    for f in ("arm", "followup", "dead", "relapse", "gvhd")))
    beyond = np.flatnonzero(h.followup > summary.landmark)
    if beyond.size:  # the longest follow-up: a patient alive at the cut-off
        h.followup[rng.choice(beyond)] = summary.followup["max"]
    return h


def _per_arm_met(summary: PublishedSummary, h: Histories) -> bool:
    figures = tuple(f for f in summary.figures if f.group in summary.arms)
    objective = Objective(summary, figures=figures)
    return objective.required_met(objective.values(h))


def _median_reachable(summary: PublishedSummary, h: Histories) -> bool:
    """A median follow-up beyond the landmark needs reverse KM above 1/2 at the landmark;
    phase 2 cannot change the censorings before the landmark that decide it."""
    if summary.followup["median"] <= summary.landmark:
        return True
    return fs.km_at(h.followup, 1 - h.dead.astype(int), summary.landmark) > 0.5


def anneal(summary: PublishedSummary, *, rng: np.random.Generator,
           settings: SearchSettings = SearchSettings()) -> tuple[Histories, np.ndarray, bool]:
    """Search for histories that meet the published figures.

    Phase 1 finds, for each arm, an order of events before the landmark that meets
    that arm's landmark figures and turns it into times; phase 2 anneals the times
    of both arms together for the tests, follow-up and pooled figures, with the
    per-arm figures met in phase 1 held fixed; phase 3 brings the pooled figures
    as close as it can with every required figure held fixed.

    Returns
    -------
    histories, values, converged
        The best histories found, their figure values (fast statistics), and
        whether every required figure is within tolerance.
    """
    mover = _Mover(summary, rng)
    for _ in range(settings.restarts):
        start = _phase_one(summary, rng=rng, settings=settings)
        if _per_arm_met(summary, start) and _median_reachable(summary, start):
            break
    values = Objective(summary).values(start)
    met = frozenset(f.key for f, v in zip(summary.figures, values, strict=True)
                    if f.group in summary.arms and abs(v - f.target) <= f.tolerance)
    objective = Objective(summary, hard=met)
    histories = start
    for _ in range(settings.reheats + 1):  # reheat from the best state while not converged
        _, histories, values = _run_chain(objective, mover, histories, rng=rng,
                                          settings=settings)
        if objective.required_met(values):
            break
    if objective.required_met(values):  # phase 3: closest pooled figures, the rest held
        required = frozenset(f.key for f in summary.figures if f.required)
        polish = Objective(summary, hard=required)
        short = dataclasses.replace(settings, iterations=settings.polish_iterations)
        _, histories, values = _run_chain(polish, mover, histories, rng=rng, settings=short)
    return histories, values, objective.required_met(values)
