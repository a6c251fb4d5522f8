"""Predictive probability of success given interim data.

Parameters are drawn from the exact PEM posterior of the interim data
(:func:`bridgebayes.models.exact.pem_posterior` on the analysis cut points, ``Normal(mu, sigma)``
prior on ``log_hr``); for each draw the trial is completed — patients still on study get a
residual event time from the drawn hazards conditional on their survival so far
(``T = H^-1(H(tau) + E)``) and memoryless dropout, patients not yet enrolled are accrued
uniformly over the rest of the accrual period — and analysed at the final analysis of the
design with the chosen rule.  The predictive probability is the fraction of successes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import pem_posterior
from bridgebayes.models.families import PiecewiseExponentialPH
from bridgebayes.models.truths import Truths
from bridgebayes.plan.analyse import AnalysisPlan, analyse_trials
from bridgebayes.plan.simulate import SimulatedTrials, TrialDesign, cut_at_analysis

__all__ = ["InterimData", "complete_trials", "predictive_probability"]


@dataclass(frozen=True)
class InterimData:
    """The trial so far (times in months; calendar time 0 = first entry).

    Attributes
    ----------
    calendar_time
        Calendar time of the interim look.
    entry, time, event, arm, on_study : ``(n,)``
        Entry; follow-up so far; event 0/1; arm 0/1; still followed (``False`` after an
        event or a dropout).
    """

    calendar_time: float
    entry: np.ndarray
    time: np.ndarray
    event: np.ndarray
    arm: np.ndarray
    on_study: np.ndarray

    def __post_init__(self) -> None:
        arrays = [np.asarray(getattr(self, k)) for k in ("entry", "time", "event", "arm",
                                                         "on_study")]
        if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
            raise BridgeBayesError("interim: entry, time, event, arm, on_study must be 1-D "
                                   "arrays of one length")
        entry, time, event, _, on_study = arrays
        bad = ~((time > 0) & (entry >= 0) & (entry + time <= self.calendar_time + 1e-9)
                & ~(on_study.astype(bool) & (event > 0)))
        if bad.any():
            raise BridgeBayesError(f"interim: patients {np.flatnonzero(bad)[:5].tolist()} have "
                                   "time <= 0, entry + time after the interim, or are on study "
                                   "after an event")

    def endpoint(self) -> EndpointData:
        """The interim data as :class:`~bridgebayes.data.endpoints.EndpointData`."""
        return EndpointData("interim", np.asarray(self.time, float),
                            np.asarray(self.event, int), np.asarray(self.arm, int),
                            ("reference", "treatment"), np.arange(len(self.time)))


def complete_trials(interim: InterimData, design: TrialDesign, truths: Truths,
                    rng: np.random.Generator) -> SimulatedTrials:
    """Complete the trial once per truth and cut it at the design's final analysis."""
    s, n_now = len(truths), len(interim.time)
    n_ref, n_trt = design.arm_sizes
    arm_now = np.asarray(interim.arm, int)
    left = (n_ref - int(np.sum(arm_now == 0)), n_trt - int(np.sum(arm_now == 1)))
    if min(left) < 0:
        raise BridgeBayesError(f"interim: more patients per arm than the design's {n_ref}, "
                               f"{n_trt}")
    arm = np.r_[arm_now, np.zeros(left[0], int), np.ones(left[1], int)]
    tau = np.broadcast_to(np.asarray(interim.time, float), (s, n_now))
    on = np.asarray(interim.on_study, bool)
    event = np.asarray(interim.event) > 0
    residual = truths.inverse_cumhaz(truths.cumhaz(tau, arm_now)
                                     + rng.standard_exponential((s, n_now)), arm_now)
    t_now = np.where(on, residual, np.where(event, tau, np.inf))
    drop_now = np.where(on, tau + _dropout(design, (s, n_now), rng),
                        np.where(event, np.inf, tau))
    start = min(interim.calendar_time, design.accrual_period)
    entry_new = start + rng.random((s, sum(left))) * (design.accrual_period - start)
    t_new = truths.inverse_cumhaz(rng.standard_exponential((s, sum(left))), arm[n_now:])
    entry = np.concatenate([np.broadcast_to(np.asarray(interim.entry, float), (s, n_now)),
                            entry_new], axis=1)
    return cut_at_analysis(design, arm, entry, np.concatenate([t_now, t_new], axis=1),
                           np.concatenate([drop_now, _dropout(design, (s, sum(left)), rng)],
                                          axis=1))


def _dropout(design: TrialDesign, shape: tuple[int, int], rng: np.random.Generator
             ) -> np.ndarray:
    if design.dropout_hazard > 0:
        return rng.standard_exponential(shape) / design.dropout_hazard
    return np.full(shape, np.inf)


def predictive_probability(interim: InterimData, design: TrialDesign, plan: AnalysisPlan, *,
                           rule: str, log_hr_mu: float = 0.0, log_hr_sigma: float = 1.0,
                           alpha: float = 0.025, gamma: float = 0.975, n_draws: int = 4000,
                           rng: np.random.Generator | int | None = None) -> tuple[float, float]:
    """Predictive probability of success at the final analysis, and its MCSE.

    Parameters
    ----------
    interim
        The trial so far.
    design
        The design (final-analysis timing, remaining accrual, dropout).
    plan
        The final analysis (its cut points are also those of the parameter posterior).
    rule
        ``"logrank"`` or ``"post_<prior>"`` (a prior of ``plan``).
    log_hr_mu, log_hr_sigma
        Prior of ``log_hr`` for the parameter posterior given the interim data.
    alpha, gamma
        Success thresholds (:func:`bridgebayes.plan.outputs.success`).
    n_draws
        Posterior draws (= completed trials).
    rng
        Random generator or seed.

    Examples
    --------
    >>> ppos, mcse = predictive_probability(interim, design, plan, rule="logrank",
    ...                                     rng=1)  # doctest: +SKIP
    """
    from bridgebayes.plan.outputs import proportion, success

    rng = np.random.default_rng(rng)
    post = pem_posterior(interim.endpoint(), cuts=np.asarray(plan.cuts, float),
                         log_hr_mu=log_hr_mu, log_hr_sigma=log_hr_sigma, a0=plan.a0)
    draws = post.draws(n_draws, rng=rng)
    if not np.all(draws["lambda"] > 0):
        raise BridgeBayesError("interim: no events yet, the baseline hazards are not identified")
    truths = Truths(PiecewiseExponentialPH(cuts=tuple(plan.cuts)), draws["log_hr"][:, None],
                    np.empty(0), {"lambda": draws["lambda"]})
    table = analyse_trials(complete_trials(interim, design, truths, rng), plan)
    return proportion(success(table, rule, alpha=alpha, gamma=gamma))
