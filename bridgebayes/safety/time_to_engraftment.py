"""Time to engraftment in two arms: censoring rules and Bayesian PH models.

Columns ``anc_engraftment_day``, ``plt_engraftment_day`` (days from transplant):
engraftment is the event; a patient who has not engrafted is censored at last follow-up
(converted to days) or at the assessment horizon (default day 100, an assumption:
the usual landmark of early post-transplant outcomes), whichever is first, and one who
**died before engrafting is censored at death**.  Death is in truth a competing event, so
the per-arm "median time to engraftment" describes the hypothetical world without death
before engraftment; with the few early deaths of HSCT cohorts the difference is small, but
the report must say so.  An engraftment day after last follow-up is rejected when the cohort
is loaded (:func:`bridgebayes.data.cohort.load_cohort`).

Models (PH, so ``S_1 = S_0^HR``): Weibull (:mod:`bridgebayes.models.families.weibull`, the default)
or piecewise exponential, with the exact posterior (:mod:`bridgebayes.models.exact`) or a NUTS fit;
the Weibull median of arm ``x`` is ``(log 2 / (lam · exp(log_hr · x)))^(1/k)``.  ``HR > 1``
means faster engraftment with treatment and, under PH, is equivalent to a shorter median.  A
Weibull has no room for patients who never engraft (graft failure): each such patient drags
the fitted tail, and the median, upwards; the piecewise-exponential model copes better.  The
summary compares each arm's posterior median with the Kaplan–Meier median and says so in
``note`` when the latter falls outside the credible interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError, CohortError
from bridgebayes.core.units import DAYS_PER
from bridgebayes.data.cohort import SAFETY_DAY_COLUMNS, Cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import ExactPosterior
from bridgebayes.models.families import SurvivalFamily, get_family
from bridgebayes.safety.summary import (
    COLUMNS,
    SAFETY_OUTCOMES,
    SafetySummary,
    check_ci,
    result_row,
)

__all__ = ["ENGRAFTMENT_HORIZON_DAYS", "Engraftment", "engraftment", "engraftment_data",
           "km_median"]

#: Default end of the engraftment assessment window, days after transplant (an assumption).
ENGRAFTMENT_HORIZON_DAYS = 100.0


def engraftment_data(cohort: Cohort, column: str, *,
                     horizon_days: float = ENGRAFTMENT_HORIZON_DAYS) -> EndpointData:
    """Time to engraftment in days: event = engrafted by ``horizon_days``; otherwise censored
    at last follow-up or at the horizon, whichever is first (death included: death before
    engraftment is treated as censoring, see module notes).

    Raises
    ------
    bridgebayes.core.errors.CohortError
        If ``column`` is not a day column of the cohort.  (An engraftment day after last
        follow-up is rejected by :func:`~bridgebayes.data.cohort.load_cohort`.)
    """
    horizon = float(horizon_days) if isinstance(horizon_days, int | float) else math.nan
    if not (math.isfinite(horizon) and horizon > 0):
        raise BridgeBayesError(f"horizon_days: expected a number > 0, got {horizon_days!r}")
    if column not in SAFETY_DAY_COLUMNS:
        raise CohortError(f"column: expected one of {list(SAFETY_DAY_COLUMNS)}, got {column!r}")
    table = cohort.table
    if column not in table.columns:
        raise CohortError(f"column {column!r}: not in the cohort (not reported)")
    day = table[column].to_numpy(dtype=float)
    follow = table["followup"].to_numpy(dtype=float) * DAYS_PER[cohort.time_unit]
    event = (day <= horizon).astype(int)  # NaN (not engrafted) compares False
    time = np.where(event == 1, day, np.minimum(follow, horizon))
    return EndpointData(name=column, time=time, event=event,
                        arm=(table["arm"].to_numpy() == cohort.arms[1]).astype(int),
                        arms=cohort.arms, ids=table["id"].to_numpy(), time_unit="days")


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan–Meier median (lifelines; the first time with S <= 1/2), ``inf`` if not reached.

    Examples
    --------
    >>> km_median(np.array([3.0, 5.0, 7.0, 9.0]), np.array([1, 1, 1, 0]))
    5.0
    """
    from lifelines import KaplanMeierFitter

    return float(KaplanMeierFitter().fit(time, event).median_survival_time_)


@dataclass(frozen=True, eq=False)
class Engraftment:
    """Posterior of time to engraftment (days) in two arms, Weibull or piecewise-exp. PH.

    Attributes
    ----------
    data
        The endpoint data (days) from :func:`engraftment_data`.
    label
        Human label of the outcome.
    family
        The survival family of the model (any registered family).
    draws
        Posterior draws: ``log_hr`` (engraftment hazard, treatment vs reference); Weibull:
        the family's baseline parameters (Weibull ``k``, ``lam``; PEM ``lambda``, ``cuts``).
    prob_faster
        ``P(median_treatment < median_reference) = P(HR > 1)`` (PH: ``S_1 = S_0^HR``);
        exact for the exact method.
    model
        Description of the model and priors.
    posterior
        The :class:`~bridgebayes.models.exact.ExactPosterior` (exact method), else ``None``.
    fit
        The :class:`~bridgebayes.inference.fit.Fit` (NUTS method), else ``None``.
    """

    data: EndpointData
    label: str
    family: SurvivalFamily
    draws: Mapping[str, np.ndarray]
    prob_faster: float
    model: str
    posterior: ExactPosterior | None = None
    fit: Any = field(default=None, repr=False)

    def median_days(self, arm: int) -> np.ndarray:
        """Draws of the median time to engraftment (days) of arm 0 or 1 (``inf``: never)."""
        log_hr = np.asarray(self.draws["log_hr"], float)  # PH: H0(median) = log 2 / HR^arm
        target = math.log(2.0) * np.exp(-log_hr * arm)
        return self.family.baseline_inverse(self.draws, target[:, None])[:, 0]

    def summary(self, *, ci: float = 0.95) -> SafetySummary:
        """Tidy table and sentence: median days per arm, their difference (treatment −
        reference), the engraftment HR, ``P(faster with treatment)``; a ``note`` where the
        Kaplan–Meier median falls outside an arm's credible interval (model misfit)."""
        ci = check_ci(ci)
        (ref, trt), d = self.data.arms, self.data
        base = (d.name, self.label, self.model)
        med = [self.median_days(0), self.median_days(1)]
        rows = [result_row(*base, "median days to engraftment", arm=arm, draws=med[code],
                           ci=ci, events=int(d.event[d.arm == code].sum()),
                           n=int((d.arm == code).sum()))
                for code, arm in enumerate(d.arms)]
        misfit = []
        for code, row in enumerate(rows):
            km = km_median(d.time[d.arm == code], d.event[d.arm == code])
            if math.isfinite(km) and not row["lower"] <= km <= row["upper"]:
                row["note"] = (f"model misfit: Kaplan–Meier median {km:g} days is outside the "
                               "credible interval (patients who never engraft?)")
                misfit.append(f"{row['arm']} (Kaplan–Meier median {km:g} days)")
        rows.append(result_row(*base, "median difference (days)", arm=f"{trt} - {ref}",
                               draws=med[1] - med[0], ci=ci))
        rows.append(result_row(*base, "engraftment HR", arm=f"{trt} vs {ref}",
                               draws=np.exp(self.draws["log_hr"]), ci=ci))
        rows.append(result_row(*base, "P(faster engraftment with treatment)", arm=trt,
                               probability=self.prob_faster))
        table = pd.DataFrame(rows, columns=list(COLUMNS))
        r = table.set_index(["quantity", "arm"])
        m0, m1 = (r.loc[("median days to engraftment", a), "estimate"] for a in (ref, trt))
        diff = r.loc[("median difference (days)", f"{trt} - {ref}")]
        sentence = (f"{self.label}: median {m1:.1f} days with {trt} vs {m0:.1f} with {ref} "
                    f"(difference {diff['estimate']:+.1f} days, {100 * ci:g}% CrI "
                    f"{diff['lower']:+.1f} to {diff['upper']:+.1f}); probability of faster "
                    f"engraftment with {trt} {100 * self.prob_faster:.0f}%. Death before "
                    "engraftment is censored (a competing event).")
        if misfit:
            sentence += (f" Caution: the {self.family.label} model fits poorly in "
                         + ", ".join(misfit) + "; patients who never engraft distort it.")
        return SafetySummary(table, (sentence,))


def engraftment(cohort: Cohort, column: str = "anc_engraftment_day", *,
                family: str | SurvivalFamily = "weibull",
                horizon_days: float = ENGRAFTMENT_HORIZON_DAYS, log_hr_mu: float = 0.0,
                log_hr_sigma: float = 1.0, method: str = "exact", n_draws: int = 20000,
                seed: int = 1, sampler: Any = None) -> Engraftment:
    """Bayesian PH model of time to engraftment (days), any registered survival family.

    Parameters
    ----------
    cohort
        A cohort with the day column.
    column
        ``"anc_engraftment_day"`` (neutrophils) or ``"plt_engraftment_day"`` (platelets).
    family
        A family name (``"weibull"``; ``"piecewise_exponential"``, Gamma baseline, cut points
        at quartiles of the engraftment days: its last interval can stay nearly flat, so it
        copes better with patients who never engraft) with the engine's default baseline
        priors, or a family object (its own priors; ``log_hr_mu``/``log_hr_sigma`` are then
        ignored).
    horizon_days
        End of the engraftment assessment window (see :func:`engraftment_data`).
    log_hr_mu, log_hr_sigma
        Prior ``log_hr ~ Normal(mu, sigma)`` on the engraftment hazard ratio; default the
        weakly informative neutral Normal(0, 1).
    method
        ``"exact"`` (the family's exact posterior, milliseconds) or ``"nuts"``.
    n_draws, seed
        Exact method: number of exact joint draws and their seed.  NUTS: ``seed`` of the fit.
    sampler
        :class:`~bridgebayes.inference.driver.SamplerSettings` for the NUTS method.

    Returns
    -------
    Engraftment

    Examples
    --------
    >>> result = engraftment(cohort, "anc_engraftment_day")  # doctest: +SKIP
    >>> result.summary().summary()  # doctest: +SKIP
    """
    if method not in ("exact", "nuts"):
        raise BridgeBayesError(f"method: expected 'exact' or 'nuts', got {method!r}")
    if isinstance(family, str):
        family = get_family(family)(log_hr_mu=log_hr_mu, log_hr_sigma=log_hr_sigma)
    data = engraftment_data(cohort, column, horizon_days=horizon_days)
    prior = family.log_hr_prior()
    shape = (prior.describe() if prior.is_mixture else
             f"Normal({family.log_hr_mu:g}, {family.log_hr_sigma:g})")
    model = (f"{family.label} PH ({method}), log HR ~ {shape}; censored at death, last "
             f"follow-up or day {horizon_days:g}")
    common = {"data": data, "label": SAFETY_OUTCOMES[column], "family": family,
              "model": model}
    if method == "exact":
        post = family.exact_posterior(data)
        return Engraftment(**common, draws=post.draws(int(n_draws), rng=seed),
                           prob_faster=1.0 - post.prob_hr_below(1.0), posterior=post)
    from bridgebayes.inference.fit import fit

    result = fit(data, family, seed=seed, sampler=sampler)
    draws = result.draws()
    return Engraftment(**common, draws=draws, prob_faster=float(np.mean(draws["log_hr"] > 0)),
                       fit=result)
