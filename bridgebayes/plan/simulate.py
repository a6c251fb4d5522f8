"""Future-trial simulator (vectorised over trials).

Each of ``S`` trials enrols ``n_total`` patients uniformly over the accrual period (time 0 =
first entry; duration given, or ``n_total / accrual_rate``), allocated in a fixed ratio
(``n_treatment = round(n_total · allocation / (1 + allocation))``).  Event times come from
the trial's :class:`~bridgebayes.models.truths.Truths`; dropout is exponential with
``dropout_hazard`` per month in both arms.  The analysis happens at a fixed number of events
(the calendar time of the ``analysis_events``-th event), at a calendar time, or when the last
patient has ``min_followup`` months of follow-up.  Patients not yet enrolled at the analysis
are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.truths import Truths

__all__ = ["SimulatedTrials", "TrialDesign", "cut_at_analysis", "simulate_trials"]


@dataclass(frozen=True)
class TrialDesign:
    """Design of the future trial (times in months).

    Exactly one of ``accrual_rate`` / ``accrual_duration``, and exactly one of
    ``analysis_events`` / ``analysis_time`` / ``min_followup``.

    Examples
    --------
    >>> TrialDesign(n_total=200, accrual_duration=24.0, min_followup=12.0).accrual_period
    24.0
    """

    n_total: int
    allocation: float = 1.0
    accrual_rate: float | None = None
    accrual_duration: float | None = None
    min_followup: float | None = None
    dropout_hazard: float = 0.0
    analysis_events: int | None = None
    analysis_time: float | None = None

    def __post_init__(self) -> None:
        n = self.n_total
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise BridgeBayesError(f"design.n_total: expected an integer >= 2, got {n!r}")
        if (self.accrual_rate is None) == (self.accrual_duration is None):
            raise BridgeBayesError("design: give exactly one of accrual_rate, accrual_duration "
                                   f"(got {self.accrual_rate}, {self.accrual_duration})")
        timing = [self.analysis_events, self.analysis_time, self.min_followup]
        if sum(v is not None for v in timing) != 1:
            raise BridgeBayesError("design: give exactly one of analysis_events, analysis_time, "
                                   f"min_followup (got {timing})")
        for name in ("allocation", "accrual_rate", "accrual_duration", "analysis_time"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise BridgeBayesError(f"design.{name}: expected a number > 0, got {value!r}")
        for name in ("min_followup", "dropout_hazard"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise BridgeBayesError(f"design.{name}: expected a number >= 0, got {value!r}")
        n_trt = self.arm_sizes[1]
        if not 0 < n_trt < n:
            raise BridgeBayesError(f"design.allocation: {self.allocation} leaves an empty arm "
                                   f"with n_total={n}")
        if self.analysis_events is not None and not 1 <= self.analysis_events <= n:
            raise BridgeBayesError(f"design.analysis_events: expected 1..n_total ({n}), got "
                                   f"{self.analysis_events!r}")

    @property
    def arm_sizes(self) -> tuple[int, int]:
        """``(n_reference, n_treatment)``."""
        n_trt = round(self.n_total * self.allocation / (1.0 + self.allocation))
        return self.n_total - n_trt, n_trt

    @property
    def accrual_period(self) -> float:
        """Accrual duration in months."""
        if self.accrual_duration is not None:
            return float(self.accrual_duration)
        return self.n_total / float(self.accrual_rate)

    @property
    def arm(self) -> np.ndarray:
        """Arm of each patient (reference first), ``(n_total,)``."""
        n_ref, n_trt = self.arm_sizes
        return np.r_[np.zeros(n_ref, int), np.ones(n_trt, int)]


@dataclass(frozen=True, eq=False)
class SimulatedTrials:
    """``S`` simulated trials at their analysis.

    Attributes
    ----------
    arm : ``(N,)`` 0/1.
    entry, time, event, enrolled : ``(S, N)``
        Calendar entry; follow-up at analysis (0 if not enrolled); event 0/1; in the analysis.
    analysis_time : ``(S,)`` calendar time of the analysis.
    reached : ``(S,)`` whether the target number of events was reached (always True for
        calendar-time analyses).
    """

    arm: np.ndarray
    entry: np.ndarray
    time: np.ndarray
    event: np.ndarray
    enrolled: np.ndarray
    analysis_time: np.ndarray
    reached: np.ndarray

    def __len__(self) -> int:
        return self.time.shape[0]

    @property
    def events(self) -> np.ndarray:
        """Events at the analysis per trial."""
        return self.event.sum(axis=1)

    @property
    def n_enrolled(self) -> np.ndarray:
        """Patients in the analysis per trial."""
        return self.enrolled.sum(axis=1)


def simulate_trials(design: TrialDesign, truths: Truths, rng: np.random.Generator
                    ) -> SimulatedTrials:
    """Simulate ``len(truths)`` trials of ``design``.

    Examples
    --------
    >>> from bridgebayes.models.families import PiecewiseExponentialPH
    >>> from bridgebayes.plan.design_prior import explicit_prior
    >>> rng = np.random.default_rng(1)
    >>> truths = explicit_prior(log_hr_mu=-0.3, log_hr_sigma=0.1,
    ...                         family=PiecewiseExponentialPH(cuts=()),
    ...                         baseline={"lambda": [0.05]}).sample(3, rng)
    >>> trials = simulate_trials(TrialDesign(n_total=100, accrual_duration=12.0,
    ...                                      analysis_events=40), truths, rng)
    >>> trials.events.tolist()
    [40, 40, 40]
    """
    s, n, arm = len(truths), design.n_total, design.arm
    entry = rng.random((s, n)) * design.accrual_period
    t_event = truths.inverse_cumhaz(rng.standard_exponential((s, n)), arm)
    if design.dropout_hazard > 0:
        t_drop = rng.standard_exponential((s, n)) / design.dropout_hazard
    else:
        t_drop = np.full((s, n), np.inf)
    return cut_at_analysis(design, arm, entry, t_event, t_drop)


def cut_at_analysis(design: TrialDesign, arm: np.ndarray, entry: np.ndarray,
                    t_event: np.ndarray, t_drop: np.ndarray) -> SimulatedTrials:
    """Trials at the analysis chosen by ``design``, from complete histories.

    Parameters
    ----------
    design
        Gives the analysis timing.
    arm : ``(N,)``
    entry, t_event, t_drop : ``(S, N)``
        Calendar entry, time from entry to the event and to dropout (``inf``: never).

    Examples
    --------
    >>> d = TrialDesign(n_total=2, accrual_duration=1.0, analysis_events=1)
    >>> cut_at_analysis(d, np.array([0, 1]), np.array([[0.0, 0.5]]), np.array([[3.0, 1.0]]),
    ...                 np.full((1, 2), np.inf)).time.tolist()
    [[1.5, 1.0]]
    """
    s = entry.shape[0]
    reached = np.ones(s, bool)
    if design.analysis_events is not None:
        calendar = np.where(t_event <= t_drop, entry + t_event, np.inf)
        target = design.analysis_events - 1
        at = np.partition(calendar, target, axis=1)[:, target]
        reached = np.isfinite(at)
        last = np.max(entry + np.minimum(t_event, t_drop), axis=1)
        analysis = np.where(reached, at, last)
    elif design.analysis_time is not None:
        analysis = np.full(s, float(design.analysis_time))
    else:
        analysis = np.full(s, design.accrual_period + float(design.min_followup))
    window = analysis[:, None] - entry
    enrolled = window > 0
    time = np.where(enrolled, np.minimum(np.minimum(t_event, t_drop), window), 0.0)
    event = enrolled & (t_event <= t_drop) & (entry + t_event <= analysis[:, None])
    return SimulatedTrials(arm=np.asarray(arm), entry=entry, time=time,
                           event=event.astype(np.int8), enrolled=enrolled,
                           analysis_time=analysis, reached=reached)
