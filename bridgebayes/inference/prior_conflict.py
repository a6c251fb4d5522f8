"""Prior-data conflict on the log hazard ratio, at the study's own events.

The statistic is the log-HR component of the piecewise-exponential likelihood with the
baseline removed by conditioning: given ``D_j`` events in interval ``j`` (exposures ``E_0j``,
``E_1j`` per arm), the treatment arm's events are ``k_j ~ Binomial(D_j, pi_j(theta))`` with
``pi_j = e^theta E_1j / (E_0j + e^theta E_1j)`` whatever the baseline hazards are.  Their
sum ``K = sum_j k_j`` orders the data like the log-HR estimate (the conditional MLE is
increasing in ``K`` for one interval) and is exact at any number of events — a normal
approximation of the log-HR estimate is poor with three events in an arm.

* **Conflict** (Evans & Moshonov 2006, Bayesian Analysis 1:893): the prior predictive tail
  probability ``P(m(K) <= m(K_obs))`` of the prior predictive probability ``m`` of the
  statistic, by simulation of the prior (``m`` Rao–Blackwellised: the mean over prior draws
  of the exact distribution of ``K`` given ``theta``); small values flag a conflict.  Its
  power: how far the true log HR must lie from the prior for the check to flag it with a
  given probability at these events.

The calibration of a decision rule at the study's design is :mod:`bridgebayes.inference.
calibration` (the study simulated, the number of events varying).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy
from scipy.stats import gaussian_kde

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["CONFLICT_THRESHOLD", "DETECTION_POWER", "LogHrConflict",
           "conflict_pvalue", "log_hr_conflict", "sum_pmf", "treatment_share"]

#: Prior predictive tail probability at or below which prior and data are said to conflict.
CONFLICT_THRESHOLD = 0.05
#: Probability of flagging at which the check's detectable discrepancy is stated.
DETECTION_POWER = 0.8


def conflict_pvalue(simulated: np.ndarray, observed: float) -> float:
    """Evans–Moshonov tail probability ``P(m(T) <= m(t_obs))`` of a continuous statistic
    from prior predictive draws, with ``m`` a Gaussian kernel density of the draws.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> round(conflict_pvalue(rng.normal(size=20000), 1.96), 2)
    0.05
    """
    simulated = np.asarray(simulated, float)
    if simulated.ndim != 1 or simulated.size < 10 or not np.all(np.isfinite(simulated)):
        raise BridgeBayesError("simulated: expected at least 10 finite prior predictive draws")
    kde = gaussian_kde(simulated)
    # the density on a fine grid, interpolated (exact evaluation at every draw is O(n^2))
    pad = 4 * float(np.sqrt(kde.covariance[0, 0]))
    grid = np.linspace(min(simulated.min(), observed) - pad,
                       max(simulated.max(), observed) + pad, 2048)
    density = kde(grid)
    return float(np.mean(np.interp(simulated, grid, density)
                         <= np.interp(observed, grid, density)))


def treatment_share(log_hr: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """``pi_j(theta)``: the probability that an event in interval ``j`` is in the treatment
    arm, ``(S, J)`` for ``S`` log HRs and exposures ``(J, 2)`` (reference, treatment)."""
    exposure = np.asarray(exposure, float)
    theta = np.asarray(log_hr, float)[:, None]
    e0, e1 = exposure[:, 0][None, :], exposure[:, 1][None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = 1.0 / (1.0 + e0 / (e1 * np.exp(theta)))
    return np.where(e1 <= 0, 0.0, np.where(e0 <= 0, 1.0, share))


def sum_pmf(totals: Sequence[int], share: np.ndarray) -> np.ndarray:
    """Distribution of ``K = sum_j k_j``, ``k_j ~ Binomial(totals_j, share[:, j])``
    independent: ``(S, sum(totals) + 1)`` by convolution."""
    totals = np.asarray(totals, int)
    share = np.atleast_2d(share)
    pmf = np.zeros((share.shape[0], int(totals.sum()) + 1))
    pmf[:, 0] = 1.0
    top = 0
    for j, d in enumerate(totals):
        if d == 0:
            continue
        part = _binomial_pmf(d, share[:, j])
        if top == 0:  # the first interval with events: its own distribution
            pmf[:, :d + 1], top = part, d
            continue
        out = np.zeros_like(pmf)
        for k in range(d + 1):
            out[:, k:top + k + 1] += pmf[:, :top + 1] * part[:, k:k + 1]
        pmf, top = out, top + d
    return pmf


def _binomial_pmf(d: int, share: np.ndarray) -> np.ndarray:
    """``Binomial(k; d, share)`` for ``k = 0 .. d``, ``(S, d + 1)`` (scipy's ``binom.pmf``
    is some 50 times slower on these arrays)."""
    k = np.arange(d + 1)[None, :]
    p = np.asarray(share, float)[:, None]
    log_choose = gammaln(d + 1) - gammaln(k + 1) - gammaln(d - k + 1)
    return np.exp(log_choose + xlogy(k, p) + xlog1py(d - k, -p))


@dataclass(frozen=True)
class LogHrConflict:
    """The prior-data conflict check of one prior on one endpoint's log HR.

    Attributes
    ----------
    p_value
        ``P(m(K) <= m(K_obs))`` under the prior predictive (small: conflict).
    conflict
        ``p_value <= threshold``.
    observed, total
        Treatment-arm events ``K_obs`` and all events ``sum_j D_j``.
    prior_predictive
        ``m(k)``, ``k = 0 .. total``.
    detectable_below, detectable_above
        The true HRs beyond which the check flags with probability ``power``: below the
        first or above the second (``nan`` when not within HR ``e^-5 .. e^5``).
    """

    p_value: float
    conflict: bool
    threshold: float
    observed: int
    total: int
    prior_predictive: np.ndarray
    power: float
    detectable_below: float
    detectable_above: float


def log_hr_conflict(events: np.ndarray, exposure: np.ndarray, prior_draws: np.ndarray, *,
                    threshold: float = CONFLICT_THRESHOLD,
                    power: float = DETECTION_POWER) -> LogHrConflict:
    """The Evans–Moshonov check of a log-HR prior against one endpoint's events.

    Parameters
    ----------
    events, exposure
        ``(J, 2)`` events and exposure per interval and arm (reference, treatment), e.g.
        :func:`bridgebayes.models.piecewise.sufficient_stats`.
    prior_draws
        Draws of the log HR from its prior (any prior: normal, mixture, ...).
    threshold
        Tail probability at or below which the check flags a conflict.
    power
        The flagging probability at which the detectable discrepancy is stated.
    """
    events = np.asarray(events, float)
    if events.ndim != 2 or events.shape[1] != 2 or np.any(events < 0) or np.any(
            events != np.round(events)):
        raise BridgeBayesError("events: expected (intervals, 2) counts")
    draws = np.asarray(prior_draws, float)
    if draws.ndim != 1 or draws.size < 100 or not np.all(np.isfinite(draws)):
        raise BridgeBayesError("prior_draws: expected at least 100 finite draws")
    totals = events.sum(axis=1).astype(int)
    observed = int(events[:, 1].sum())
    m = sum_pmf(totals, treatment_share(draws, exposure)).mean(axis=0)
    # tail probability of every possible K (ties within rounding count as "as extreme")
    order = np.argsort(m, kind="stable")
    cumulative = np.cumsum(m[order])
    # P(m(K) <= m(k)) for every k, by sorting (values within rounding count as ties)
    tail = np.empty_like(m)
    tail[order] = cumulative[np.searchsorted(m[order], m[order] * (1 + 1e-9), side="right") - 1]
    p_value = float(min(tail[observed], 1.0))
    flagged = tail <= threshold
    grid = np.linspace(-5.0, 5.0, 1001)
    detect = sum_pmf(totals, treatment_share(grid, exposure))[:, flagged].sum(axis=1)
    centre = float(np.median(draws))
    below = grid[(grid < centre) & (detect >= power)]
    above = grid[(grid > centre) & (detect >= power)]
    return LogHrConflict(p_value=p_value, conflict=p_value <= threshold, threshold=threshold,
                         observed=observed, total=int(totals.sum()), prior_predictive=m,
                         power=power,
                         detectable_below=float(np.exp(below.max())) if below.size else np.nan,
                         detectable_above=float(np.exp(above.min())) if above.size else np.nan)
