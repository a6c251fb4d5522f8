"""How much each log-HR prior weighs, whether it conflicts with the data, and what the
decision rule means at this study's events — every ``[bayes]`` endpoint × prior, computed
once (store-backed) for ``results.json`` (``prior_weight``) and three tables.

* ``prior_weight``: the prior's effective number of events (Schoenfeld; 1:1 and at the
  study's allocation), its ELIR (the same for a normal prior, computed by quadrature as a
  check), the data's information ``1 / (1/d_0 + 1/d_1)`` and the ratio of the two;
* ``prior_data_conflict``: the Evans–Moshonov prior predictive check of the log-HR
  component (:mod:`bridgebayes.inference.prior_conflict`) with its detectable discrepancy,
  and the one conflict flag, reconciled with the power-scaling diagnosis of the fits;
* ``calibration``: how often ``P(HR < c) > gamma`` at these events under HR = 1 and under
  the posterior, for the primary rule's ``c`` and the headline thresholds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core.store import Store
from bridgebayes.data.cohort import Cohort
from bridgebayes.run.fits import data_digest, version
from bridgebayes.run.spec import Spec
from bridgebayes.run.spec_sections import named_prior

__all__ = ["CALIBRATION_THRESHOLDS", "PriorWeight", "prior_weight"]

#: Headline posterior-probability thresholds whose calibration is reported (with the primary
#: rule's own).
CALIBRATION_THRESHOLDS = (0.8, 0.9, 0.95, 0.975)
#: Prior draws of the conflict check; repeated studies of the calibration.
N_PRIOR, N_CALIBRATION = 20000, 10000

METHOD = (
    "Prior weight: a N(mu, sigma^2) prior on the log HR is worth 1 / (sigma^2 p (1 - p)) "
    "events at allocation p (Schoenfeld 1981; 4 / sigma^2 at 1:1) and its information "
    "1 / sigma^2 is compared with the data's, 1 / (1/d0 + 1/d1) for d0, d1 events per arm; "
    "ELIR (Neuenschwander et al. 2020) is the predictively consistent ESS, equal to "
    "Schoenfeld's number for a normal prior. Conflict: Evans & Moshonov (2006) prior "
    "predictive tail probability of the treatment arm's events given the events per "
    "interval of the piecewise-exponential cut points (the log-HR component of the "
    "likelihood, exact at small counts), by stratified simulation of the prior. "
    "Calibration: the same conditional model, the study repeated with its events per "
    "interval and exposures.")


class PriorWeight:
    """The three tables and the sentences (``endpoint__prior`` -> sentences)."""

    def __init__(self, weight: pd.DataFrame, conflict: pd.DataFrame,
                 calibration: pd.DataFrame) -> None:
        self.weight, self.conflict, self.calibration = weight, conflict, calibration

    def sentences(self, labels: dict[str, str]) -> dict[str, list[str]]:
        """Plain-language sentences per endpoint and prior."""
        out: dict[str, list[str]] = {}
        rows = self.conflict.set_index(["endpoint", "prior"])
        for w in self.weight.to_dict(orient="records"):
            c = rows.loc[(w["endpoint"], w["prior"])]
            out[f"{w['endpoint']}__{w['prior']}"] = [_weight_sentence(w, labels),
                                                     _conflict_sentence(c)]
        return out


def _weight_sentence(w: dict, labels: dict[str, str]) -> str:
    label = labels.get(w["endpoint"], w["endpoint"])
    text = (f"The {w['prior']} prior N({w['mu']:.2f}, {w['sigma']:.2f}²) on the log HR is "
            f"worth {w['prior_events']:.1f} events at this allocation "
            f"({w['n_treatment']} vs {w['n_reference']} patients; "
            f"{w['prior_events_balanced']:.1f} at 1:1). The {label} data "
            f"({w['events_reference']} vs {w['events_treatment']} events) carry the "
            f"information of {w['data_events']:.1f} such events")
    ratio = w["prior_to_data"]
    if not np.isfinite(ratio):
        return text + ": an arm has no events, so the log HR is the prior's alone."
    if 0.9 <= ratio <= 1.1:
        return text + ", so prior and data weigh about the same."
    if ratio > 1:
        return text + f", so the prior outweighs the data {ratio:.1f} times."
    return text + f", so the data outweigh the prior {1 / ratio:.1f} times."


def _conflict_sentence(c: pd.Series) -> str:
    verdict = ("prior and data CONFLICT" if c["conflict"] else
               "no prior-data conflict is detected")
    reach = []
    if np.isfinite(c["detectable_hr_below"]):
        reach.append(f"below {c['detectable_hr_below']:.2f}")
    if np.isfinite(c["detectable_hr_above"]):
        reach.append(f"above {c['detectable_hr_above']:.2f}")
    power = (f"with {c['total_events']} events it flags a true HR {' or '.join(reach)} "
             f"with {c['power']:.0%} probability" if reach else
             f"with {c['total_events']} events it cannot reach {c['power']:.0%} probability "
             f"of flagging any true HR between 0.01 and 150")
    return (f"Prior predictive check: tail probability {c['p_value']:.2f} "
            f"(conflict at ≤ {c['threshold']:.2f}): {verdict}; {power}. {c['power_scaling']}")


def _stats(cohort: Cohort, spec: Spec, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    from bridgebayes.models.families import get_family
    from bridgebayes.models.piecewise import default_cuts, sufficient_stats

    data = cohort.endpoint(endpoint)
    family = get_family("piecewise_exponential").from_options(
        spec.bayes.family_options.get("piecewise_exponential", {}))
    cuts = (np.asarray(family.cuts, float) if family.cuts is not None else
            default_cuts(data.time, data.event, n_intervals=family.n_intervals))
    cuts = cuts[cuts < float(np.max(data.time))]
    return sufficient_stats(data.time, (np.asarray(data.event) > 0).astype(int), data.arm,
                            cuts)


def _power_scaling(psens: pd.DataFrame | None, endpoint: str, prior: str) -> str:
    """The power-scaling diagnosis of the fits' log HR, read beside the one conflict flag."""
    if psens is None or psens.empty:
        return ""
    rows = psens[(psens["endpoint"] == endpoint) & (psens["prior"] == prior)
                 & (psens["parameter"] == "log_hr")]
    if rows.empty:
        return ""
    both = int((rows["diagnosis"] == "prior and likelihood both influential").sum())
    strong = int((rows["diagnosis"] == "strong prior / weak likelihood").sum())
    n = len(rows)
    if both or strong:
        return (f"Power scaling finds the log-HR prior influential in {both + strong} of {n} "
                f"fitted models ({both} with the likelihood also influential): the prior "
                f"weighs, which is not by itself a conflict; the conflict flag is this "
                f"check's.")
    return f"Power scaling finds the log-HR prior not influential in any of the {n} models."


def _compute(cohort: Cohort, spec: Spec, psens: pd.DataFrame | None) -> PriorWeight:
    from scipy.stats import norm

    from bridgebayes.inference.prior_conflict import calibration, log_hr_conflict
    from bridgebayes.inference.prior_weight import (
        data_information,
        normal_mixture_elir,
        prior_events,
    )

    bayes = spec.bayes
    rng = np.random.default_rng(bayes.seed)
    primary = spec.primary
    hr = primary.hr_threshold if primary is not None else 1.0
    gammas = sorted({*CALIBRATION_THRESHOLDS, *([primary.decision_probability] if primary and
                                                 primary.decision_probability else [])})
    weights, conflicts, calibrations = [], [], []
    for endpoint in bayes.endpoints:
        events, exposure = _stats(cohort, spec, endpoint)
        d0, d1 = (int(x) for x in events.sum(axis=0))
        n0, n1 = (int(cohort.n_per_arm[a]) for a in spec.arms)
        p = n1 / (n0 + n1)
        info = data_information(d0, d1)
        for prior in bayes.priors[endpoint]:
            mu, sigma = (float(named_prior(prior, spec.priors)[k]) for k in ("mu", "sigma"))
            ident = {"endpoint": endpoint, "prior": prior}
            weights.append({
                **ident, "mu": mu, "sigma": sigma, "n_reference": n0, "n_treatment": n1,
                "allocation": p, "events_reference": d0, "events_treatment": d1,
                "prior_events": prior_events(sigma, p),
                "prior_events_balanced": prior_events(sigma, 0.5),
                "elir_events": normal_mixture_elir([1.0], [mu], [sigma],
                                                   unit_information=p * (1 - p)),
                "prior_information": 1 / sigma ** 2, "data_information": info,
                "data_events": info / (p * (1 - p)),
                "prior_to_data": (1 / sigma ** 2) / info if info > 0 else np.inf,
                "prior_share": (1 / sigma ** 2) / (1 / sigma ** 2 + info)})
            # stratified prior draws (quantiles at (i + 1/2) / n): the prior predictive
            # probabilities of a discrete statistic can nearly tie (seed OS: 0.1497 vs
            # 0.1507), and random draws would let Monte Carlo noise swap them
            draws = mu + sigma * norm.ppf((np.arange(N_PRIOR) + 0.5) / N_PRIOR)
            check = log_hr_conflict(events, exposure, draws)
            conflicts.append({
                **ident, "statistic": "treatment-arm events given the events per interval",
                "intervals": int(events.shape[0]), "observed_treatment_events": check.observed,
                "total_events": check.total, "p_value": check.p_value,
                "threshold": check.threshold, "conflict": bool(check.conflict),
                "power": check.power, "detectable_hr_below": check.detectable_below,
                "detectable_hr_above": check.detectable_above,
                "power_scaling": _power_scaling(psens, endpoint, prior)})
            calibrations += [{**ident, "hr_threshold": hr, **row} for row in calibration(
                events, exposure, mu=mu, sigma=sigma, thresholds=gammas, hr=hr,
                n_sim=N_CALIBRATION, rng=rng)]
    return PriorWeight(pd.DataFrame(weights), pd.DataFrame(conflicts),
                       pd.DataFrame(calibrations))


def prior_weight(cohort: Cohort, spec: Spec, store: Store,
                 psens: pd.DataFrame | None = None) -> PriorWeight:
    """The three tables, stored under the endpoints' data, the priors, the PEM options, the
    primary rule, the seed and the power-scaling table they are read beside."""
    bayes = spec.bayes
    parts: dict[str, Any] = {
        "data": [data_digest(cohort.endpoint(e)) for e in bayes.endpoints],
        "priors": {e: [named_prior(p, spec.priors) for p in bayes.priors[e]]
                   for e in bayes.endpoints},
        "pem": bayes.family_options.get("piecewise_exponential", {}), "seed": bayes.seed,
        "primary": repr(spec.primary), "version": version(),
        "psens": None if psens is None else psens.to_csv(index=False)}
    made: list[PriorWeight] = []

    def part(name: str):
        def compute() -> pd.DataFrame:
            if not made:
                made.append(_compute(cohort, spec, psens))
            return getattr(made[0], name)
        return compute

    return PriorWeight(*(store.table(store.key(kind=f"prior_weight.{n}", **parts), part(n))
                         for n in ("weight", "conflict", "calibration")))
