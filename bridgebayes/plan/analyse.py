"""Analysis of simulated trials: log-rank Z and exact Bayesian P(HR < c), one row per trial.

Success criteria are applied afterwards (:mod:`bridgebayes.plan.outputs`), so that the
Bayesian threshold ``gamma`` can be calibrated on the same simulations:

* log-rank at one-sided ``alpha``: success if ``Z < −z_{1−alpha}`` (``Z < 0`` favours the
  treatment);
* Bayesian: success if ``P(HR < c | trial, analysis prior) > gamma`` under the
  piecewise-exponential PH model (Gamma baseline, analysis cut points fixed in advance).

Analysis priors on ``log_hr`` (:func:`analysis_prior`): ``vague`` ``Normal(0, vague_sd)``;
the built-in sets of :mod:`bridgebayes.models.priors` (``neutral``, ``skeptical``,
optionally ``-weak``/``-strong``); a Normal prior the plan spec declares in
``[priors.<name>]`` (as in a run spec); ``borrowing``: a Normal approximation ``Normal(m, s)`` of
the current posterior's log HR, discounted by a power prior (``sd = s / sqrt(a0)``) and
made robust by a vague component of weight ``w``: ``(1 − w) Normal(m, s / sqrt(a0)) + w
Normal(0, vague_sd)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.exact_batch import NormalMixture, pem_prob_below, pem_stats
from bridgebayes.plan.logrank import logrank_z
from bridgebayes.plan.simulate import SimulatedTrials

__all__ = ["AnalysisPlan", "analyse_trials", "analysis_prior"]


@dataclass(frozen=True)
class AnalysisPlan:
    """How each simulated trial is analysed.

    Attributes
    ----------
    cuts
        Interior cut points (months) of the PEM analysis model, fixed before the trial.
    priors
        ``(name, prior)`` pairs: one ``post_<name>`` column each.
    threshold
        ``c`` in ``P(HR < c)``.
    a0
        Shape of the Gamma baseline prior.
    """

    cuts: tuple[float, ...]
    priors: tuple[tuple[str, NormalMixture], ...]
    threshold: float = 1.0
    a0: float = 0.1

    def __post_init__(self) -> None:
        names = [name for name, _ in self.priors]
        if not names or len(set(names)) < len(names):
            raise BridgeBayesError(f"analysis priors: expected distinct names, got {names}")
        if not (np.isfinite(self.threshold) and self.threshold > 0 and self.a0 > 0):
            raise BridgeBayesError(f"analysis: threshold and a0 must be > 0, got "
                                   f"{self.threshold}, {self.a0}")


def analysis_prior(name: str, *, vague_sd: float = 10.0,
                   posterior_log_hr: np.ndarray | None = None, borrow_a0: float = 1.0,
                   borrow_weight: float = 0.0,
                   declared: Mapping[str, Mapping[str, Any]] | None = None) -> NormalMixture:
    """The analysis prior called ``name`` (module docstring); ``declared`` holds the plan
    spec's own ``[priors.<name>]`` Normal priors, which take precedence over built-in names.

    Examples
    --------
    >>> analysis_prior("skeptical").sds
    (0.42,)
    >>> p = analysis_prior("borrowing", posterior_log_hr=np.array([-0.5, -0.3]), borrow_a0=0.25,
    ...                    borrow_weight=0.2)
    >>> p.weights, np.round(p.means, 3).tolist(), np.round(p.sds, 3).tolist()
    ((0.8, 0.2), [-0.4, 0.0], [0.2, 10.0])
    """
    from bridgebayes.models.priors import LogHrPrior, log_hr_normal

    if declared and name in declared:  # a normal or a robust mixture
        return NormalMixture(*LogHrPrior.from_table(declared[name]).components())
    if name == "vague":
        return NormalMixture.normal(0.0, vague_sd)
    if name == "borrowing":
        if posterior_log_hr is None:
            raise BridgeBayesError("analysis prior 'borrowing' needs a posterior design prior")
        if not (0 < borrow_a0 <= 1 and 0 <= borrow_weight < 1):
            raise BridgeBayesError(f"borrowing: expected 0 < a0 <= 1 and 0 <= weight < 1, got "
                                   f"a0={borrow_a0}, weight={borrow_weight}")
        draws = np.asarray(posterior_log_hr, float).reshape(-1)
        mean, sd = float(draws.mean()), float(draws.std()) / np.sqrt(borrow_a0)
        if borrow_weight == 0:
            return NormalMixture.normal(mean, sd)
        return NormalMixture((1 - borrow_weight, borrow_weight), (mean, 0.0), (sd, vague_sd))
    return NormalMixture.normal(*log_hr_normal(name))


def analyse_trials(trials: SimulatedTrials, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per trial: design summaries, log-rank Z and ``post_<prior>`` probabilities.

    Columns: ``events``, ``events_reference``, ``events_treatment``, ``duration`` (calendar
    months to the analysis), ``n_enrolled``, ``reached``, ``logrank_z``, ``post_<name>``.

    Examples
    --------
    >>> analyse_trials(trials, AnalysisPlan((6.0,), (("vague", analysis_prior("vague")),))
    ... )  # doctest: +SKIP
    """
    d, e = pem_stats(trials.time, trials.event, trials.arm, trials.enrolled, np.asarray(
        plan.cuts, float))
    out = {
        "events": d.sum(axis=(1, 2)).astype(int),
        "events_reference": d[:, :, 0].sum(axis=1).astype(int),
        "events_treatment": d[:, :, 1].sum(axis=1).astype(int),
        "duration": trials.analysis_time,
        "n_enrolled": trials.n_enrolled.astype(int),
        "reached": trials.reached,
        "logrank_z": logrank_z(trials.time, trials.event, trials.arm, trials.enrolled),
    }
    for name, prior in plan.priors:
        out[f"post_{name}"] = pem_prob_below(d, e, prior, thresholds=(plan.threshold,),
                                             a0=plan.a0)[:, 0]
    return pd.DataFrame(out)
