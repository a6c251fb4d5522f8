"""What a posterior-probability rule means at a study's own design, by simulating the study.

"P(HR < 1) = 0.9" with 9 against 27 patients and this follow-up: how often would a repeat of
*this* study cross 0.9 if there were no effect?  :func:`design_calibration` repeats the
study's design with the planning simulator's pieces and answers it for every threshold:

* **design**: the study's own arm sizes; each arm's censoring times drawn from its reverse
  Kaplan–Meier estimate (the censoring distribution of its follow-up, lifelines), censored at
  the arm's last follow-up time where that estimate keeps mass;
* **truths** (:class:`~bridgebayes.models.truths.Truths`): piecewise-exponential baseline
  hazards drawn from the exact posterior of the observed data
  (:func:`~bridgebayes.models.exact.pem_posterior`, the spec's cut points and baseline
  prior), with log HR 0 (scenario ``"HR = 1"``) or the log HR of the same draw
  (``"posterior"``); event times by exact inversion;
* **analysis**: each repeated study's exact PEM posterior under the same log-HR prior
  (:func:`~bridgebayes.models.exact_batch.pem_prob_below`, vectorised over studies).

The number of events, and how they split between arms and intervals, vary from repeat to
repeat as they would in the study: with three events in an arm that variation is most of the
answer, which is why the earlier conditional version (the observed events per interval held
fixed) was replaced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.priors import LogHrPrior

__all__ = ["censoring_times", "design_calibration"]


def censoring_times(data: EndpointData, n_sim: int, rng: np.random.Generator) -> np.ndarray:
    """Censoring times of ``n_sim`` repeats of the study, ``(n_sim, n)``: each patient's from
    the reverse Kaplan–Meier estimate of their arm, capped at the arm's last time.

    Examples
    --------
    >>> d = EndpointData("os", np.array([2.0, 5.0, 3.0, 9.0]), np.array([1, 0, 1, 0]),
    ...                  np.array([0, 0, 1, 1]), ("ref", "trt"), np.arange(4))
    >>> censoring_times(d, 2, np.random.default_rng(1)).shape
    (2, 4)
    """
    from lifelines import KaplanMeierFitter

    time, event, arm = (np.asarray(v) for v in (data.time, data.event, data.arm))
    out = np.empty((int(n_sim), time.size))
    for a in (0, 1):
        cols = np.flatnonzero(arm == a)
        if cols.size == 0:
            raise BridgeBayesError(f"{data.name}: arm {data.arms[a]!r} has no patients")
        t = time[cols].astype(float)
        fitted = KaplanMeierFitter().fit(t, 1 - (event[cols] > 0))
        steps = fitted.survival_function_.iloc[:, 0]
        cdf = 1.0 - steps.to_numpy(float)                 # P(C <= t) at each step time
        at = steps.index.to_numpy(float)
        u = 1.0 - rng.random((int(n_sim), cols.size))  # (0, 1]: never before the first time
        k = np.searchsorted(cdf, u, side="left")          # first step where the CDF reaches u
        out[:, cols] = np.where(k < at.size, at[np.minimum(k, at.size - 1)], t.max())
    return out


def design_calibration(data: EndpointData, *, cuts: Sequence[float], prior: LogHrPrior,
                       thresholds: Sequence[float], hr: float = 1.0, a0: float = 0.1,
                       crude_rate: float | None = None, n_sim: int = 10000,
                       rng: int | np.random.Generator) -> list[dict]:
    """How often ``P(HR < hr | repeat) > gamma`` for each ``gamma`` in ``thresholds`` when
    the study is repeated at its design (module docstring), with and without an effect.

    Parameters
    ----------
    data
        The study's endpoint (no covariates are used).
    cuts, a0, crude_rate
        The piecewise-exponential model of the analysis (the primary family's options).
    prior
        The log-HR prior of the analysis (normal or robust mixture).
    thresholds, hr
        Posterior-probability thresholds ``gamma`` and the HR threshold ``c``.
    n_sim, rng
        Repeats per scenario and their random numbers.

    Returns
    -------
    list of dict
        One row per scenario and threshold: ``scenario, threshold, rate, mcse,
        observed_probability, mean_events, mean_events_reference`` (the observed data's own
        probability; the mean number of events of the repeats, all and in the reference arm).
    """
    from bridgebayes.models.exact import pem_posterior
    from bridgebayes.models.exact_batch import NormalMixture, pem_prob_below, pem_stats
    from bridgebayes.models.families import PiecewiseExponentialPH
    from bridgebayes.models.truths import Truths

    rng = np.random.default_rng(rng)
    cuts = np.asarray(cuts, float)
    post = pem_posterior(data, cuts=cuts, log_hr_mu=prior.mu, log_hr_sigma=prior.sigma, a0=a0,
                         crude_rate=crude_rate, log_hr_vague_weight=prior.vague_weight,
                         log_hr_vague_mu=prior.vague_mu, log_hr_vague_sigma=prior.vague_sigma)
    draws = post.draws(n_sim, rng=rng)
    # Gamma(a0 + 0) draws of an interval without events can underflow to 0: a hazard of
    # 1e-308 is 0 for every event time, and the truths need positive hazards
    lam = np.maximum(draws["lambda"], np.finfo(float).tiny)
    family = PiecewiseExponentialPH(cuts=tuple(cuts.tolist()))
    arm = np.asarray(data.arm, int)
    analysis = NormalMixture(*prior.components())
    observed = float(post.prob_hr_below(hr))
    rows = []
    for scenario, log_hr in (("HR = 1", np.zeros(n_sim)), ("posterior", draws["log_hr"])):
        truths = Truths(family, log_hr[:, None], np.empty(0), {"lambda": lam})
        t_event = truths.inverse_cumhaz(rng.standard_exponential((n_sim, arm.size)), arm)
        t_cens = censoring_times(data, n_sim, rng)
        event = t_event <= t_cens
        time = np.minimum(t_event, t_cens)
        events, exposure = pem_stats(time, event, arm, np.ones_like(event), cuts)
        prob = pem_prob_below(events, exposure, analysis, thresholds=(hr,), a0=a0,
                              crude_rate=crude_rate)[:, 0]
        for gamma in thresholds:
            rate = float(np.mean(prob > gamma))
            rows.append({"scenario": scenario, "threshold": float(gamma), "rate": rate,
                         "mcse": float(np.sqrt(rate * (1 - rate) / n_sim)),
                         "observed_probability": observed,
                         "mean_events": float(event.sum(axis=1).mean()),
                         "mean_events_reference": float(event[:, arm == 0].sum(axis=1).mean())})
    return rows
