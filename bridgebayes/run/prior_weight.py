"""How much each log-HR prior weighs, whether it conflicts with the data, and what the
decision rule means at this study's events — every ``[bayes]`` endpoint × prior, computed
once (store-backed) for ``results.json`` (``prior_weight``) and three tables.

* ``prior_weight``: the prior's effective number of events (Schoenfeld; 1:1 and at the
  study's allocation), its ELIR (the same for a normal prior, computed by quadrature as a
  check), the data's information ``1 / (1/d_0 + 1/d_1)`` and the ratio of the two;
* ``prior_data_conflict``: the Evans–Moshonov prior predictive check of the log-HR
  component (:mod:`bridgebayes.inference.prior_conflict`) with its detectable discrepancy,
  and the one conflict flag (for a robust mixture prior also raised by a rise of the vague
  component's weight, :data:`VAGUE_BAYES_FACTOR`), reconciled with the power-scaling
  diagnosis of the fits;
* ``vague_weight`` (:func:`vague_weight_table`): every fit under a robust mixture prior, the
  posterior weight of its vague component from the fit's draws beside the prior weight;
* ``calibration``: how often ``P(HR < c) > gamma`` when the study is repeated at its own
  design (arm sizes, each arm's censoring distribution; :mod:`bridgebayes.inference.
  calibration`) under HR = 1 and under the posterior, for the primary rule's ``c`` and the
  headline thresholds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core.store import Store
from bridgebayes.data.cohort import Cohort
from bridgebayes.models.priors import LogHrPrior
from bridgebayes.run.fits import data_digest, version
from bridgebayes.run.spec import Spec
from bridgebayes.run.spec_sections import named_prior

__all__ = ["CALIBRATION_THRESHOLDS", "VAGUE_BAYES_FACTOR", "PriorWeight", "prior_weight",
           "vague_rise", "vague_weight_table"]

#: Headline posterior-probability thresholds whose calibration is reported (with the primary
#: rule's own).
CALIBRATION_THRESHOLDS = (0.8, 0.9, 0.95, 0.975)
#: Prior draws of the conflict check; repeated studies of the calibration.
N_PRIOR, N_CALIBRATION = 20000, 10000
#: A robust mixture prior conflicts with the data when the data raise the odds of its vague
#: component at least this many times (the Bayes factor of vague against informative;
#: ``docs/priors.md``), besides the tail-probability check.
VAGUE_BAYES_FACTOR = 3.0

METHOD = (
    "Prior weight: a N(mu, sigma^2) prior on the log HR is worth 1 / (sigma^2 p (1 - p)) "
    "events at allocation p (Schoenfeld 1981; 4 / sigma^2 at 1:1) and its information "
    "1 / sigma^2 is compared with the data's, 1 / (1/d0 + 1/d1) for d0, d1 events per arm; "
    "ELIR (Neuenschwander et al. 2020) is the predictively consistent ESS, equal to "
    "Schoenfeld's number for a normal prior and the effective events of a robust mixture "
    "prior (1 - w) N(mu, sigma^2) + w N(mu_v, sigma_v^2), whose vague component's posterior "
    "weight E[w N(b; mu_v, sigma_v^2) / p(b) | data] (exact PEM posterior; every fit's from "
    "its draws in tables/vague_weight.csv) is shown beside w. Conflict: Evans & Moshonov "
    "(2006) prior predictive tail probability of the treatment arm's events given the events per "
    "interval of the piecewise-exponential cut points (the log-HR component of the "
    "likelihood, exact at small counts), by stratified simulation of the prior. "
    "For a robust mixture prior the one conflict flag is also raised when the data multiply "
    f"the odds of the vague component at least {VAGUE_BAYES_FACTOR:g} times (docs/priors.md). "
    "Calibration: the study repeated at its design (its arm sizes; censoring times from "
    "each arm's reverse Kaplan-Meier estimate; piecewise-exponential event times with "
    "baseline hazards from the exact posterior, log HR 0 or from the same posterior), each "
    "repeat analysed by its exact PEM posterior under the same prior.")


class PriorWeight:
    """The three tables and the sentences (``endpoint__prior`` -> sentences); ``vague``: the
    per-fit posterior weights of the vague components (:func:`vague_weight_table`), set by
    the pipeline once the fits are made (empty without a robust mixture prior)."""

    def __init__(self, weight: pd.DataFrame, conflict: pd.DataFrame,
                 calibration: pd.DataFrame, vague: pd.DataFrame | None = None) -> None:
        self.weight, self.conflict, self.calibration = weight, conflict, calibration
        self.vague = vague

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
    mixture = w.get("dist") == "NormalMixture"
    shape = (LogHrPrior(w["mu"], w["sigma"], vague_weight=w["vague_weight"],
                        vague_mu=w["vague_mu"], vague_sigma=w["vague_sigma"]).describe()
             if mixture else f"N({w['mu']:.2f}, {w['sigma']:.2f}²)")
    text = (f"The {w['prior']} prior {shape} on the log HR is "
            f"worth {w['prior_events']:.1f} events{' (ELIR)' * mixture} at this allocation "
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
    if c["conflict"] and not c.get("tail_conflict", True):
        verdict = ("prior and data CONFLICT (by the rise of the vague component's weight; the "
                   "tail probability alone does not flag it)")
    reach = []
    if np.isfinite(c["detectable_hr_below"]):
        reach.append(f"below {c['detectable_hr_below']:.2f}")
    if np.isfinite(c["detectable_hr_above"]):
        reach.append(f"above {c['detectable_hr_above']:.2f}")
    power = (f"with {c['total_events']} events it flags a true HR {' or '.join(reach)} "
             f"with {c['power']:.0%} probability" if reach else
             f"with {c['total_events']} events it cannot reach {c['power']:.0%} probability "
             f"of flagging any true HR between 0.01 and 150")
    vague = ""
    if np.isfinite(c.get("vague_weight", np.nan)):
        vague = (f" The posterior weight of the vague component is "
                 f"{c['posterior_vague_weight']:.2f} against its prior weight "
                 f"w = {c['vague_weight']:.2f} (the data multiply its odds "
                 f"{c['vague_bayes_factor']:.2g} times; conflict at ≥ {VAGUE_BAYES_FACTOR:g}).")
    return (f"Prior predictive check: tail probability {c['p_value']:.2f} "
            f"(conflict at ≤ {c['threshold']:.2f}): {verdict}; {power}.{vague} "
            f"{c['power_scaling']}")


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


def vague_rise(prior_weight: float, posterior_weight: float) -> float:
    """The Bayes factor of the vague component against the informative one: the posterior
    odds of the vague component over its prior odds (``nan`` for a normal prior).

    Examples
    --------
    >>> round(vague_rise(0.2, 0.5), 6)
    4.0
    """
    if not prior_weight > 0 or not np.isfinite(posterior_weight):
        return np.nan
    if posterior_weight >= 1.0:
        return np.inf
    return (posterior_weight / (1 - posterior_weight)) / (prior_weight / (1 - prior_weight))


def _vague_or_nan(prior: Any) -> float:
    return prior.vague_weight if prior.is_mixture else np.nan


def _vague_columns(prior: Any) -> dict[str, float]:
    if not prior.is_mixture:
        return {"vague_weight": np.nan, "vague_mu": np.nan, "vague_sigma": np.nan}
    return {"vague_weight": prior.vague_weight, "vague_mu": prior.vague_mu,
            "vague_sigma": prior.vague_sigma}


def _exact_vague_weight(cohort: Cohort, spec: Spec, endpoint: str, prior: Any) -> float:
    """The posterior weight of the vague component under the exact PEM posterior (the spec's
    cut points and ``a0``; the same conditional model as the conflict check, no covariates).
    """
    from bridgebayes.models.exact import pem_posterior
    from bridgebayes.models.families import get_family

    data = cohort.endpoint(endpoint)
    family = get_family("piecewise_exponential").from_options(
        spec.bayes.family_options.get("piecewise_exponential", {}))
    post = pem_posterior(data, cuts=family.cuts_for(data), log_hr_mu=prior.mu,
                         log_hr_sigma=prior.sigma, a0=family.a0, crude_rate=family.crude_rate,
                         log_hr_vague_weight=prior.vague_weight, log_hr_vague_mu=prior.vague_mu,
                         log_hr_vague_sigma=prior.vague_sigma)
    return post.vague_weight()


def vague_weight_table(fits: dict, store: Store) -> pd.DataFrame:
    """Every fit under a robust mixture prior: the vague component's prior weight ``w`` and
    its posterior weight from the fit's draws, ``mean(w N(b; vague) / p(b))``, with its MCSE
    and the Bayes factor of the rise (stored per fit)."""
    from bridgebayes.inference.prior_weight import vague_posterior_weight

    rows = []
    for key, outcome in fits.items():
        prior = outcome.fit.family.log_hr_prior()
        if not prior.is_mixture:
            continue

        def compute(outcome=outcome, prior=prior) -> dict:
            log_hr = np.asarray(outcome.fit.idata.posterior["log_hr"], float)
            weight, mcse = vague_posterior_weight(prior, log_hr)
            return {"posterior_vague_weight": weight, "mcse": mcse}

        saved = store.json(store.key(kind="vague_weight", fit=outcome.digest,
                                     version=version()), compute)
        rows.append({"endpoint": key.endpoint, "family": key.family, "prior": key.prior,
                     "vague_weight": prior.vague_weight, **saved,
                     "vague_bayes_factor": vague_rise(prior.vague_weight,
                                                      saved["posterior_vague_weight"])})
    columns = ["endpoint", "family", "prior", "vague_weight", "posterior_vague_weight", "mcse",
               "vague_bayes_factor"]
    return pd.DataFrame(rows, columns=columns)


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
    from bridgebayes.inference.calibration import design_calibration
    from bridgebayes.inference.prior_conflict import log_hr_conflict
    from bridgebayes.inference.prior_weight import (
        data_information,
        log_hr_prior_elir,
        prior_events,
    )
    from bridgebayes.models.families import get_family

    bayes = spec.bayes
    rng = np.random.default_rng(bayes.seed)
    primary = spec.primary
    hr = primary.hr_threshold if primary is not None else 1.0
    gammas = sorted({*CALIBRATION_THRESHOLDS, *([primary.decision_probability] if primary and
                                                 primary.decision_probability else [])})
    weights, conflicts, calibrations = [], [], []
    pem = get_family("piecewise_exponential").from_options(
        bayes.family_options.get("piecewise_exponential", {}))
    for endpoint in bayes.endpoints:
        data = cohort.endpoint(endpoint)
        events, exposure = _stats(cohort, spec, endpoint)
        d0, d1 = (int(x) for x in events.sum(axis=0))
        n0, n1 = (int(cohort.n_per_arm[a]) for a in spec.arms)
        p = n1 / (n0 + n1)
        info = data_information(d0, d1)
        for prior in bayes.priors[endpoint]:
            log_hr_prior = LogHrPrior.from_table(named_prior(prior, spec.priors))
            mu, sigma = log_hr_prior.mu, log_hr_prior.sigma
            ident = {"endpoint": endpoint, "prior": prior}
            if log_hr_prior.is_mixture:  # no single sigma: the ELIR is the effective events
                information = log_hr_prior_elir(log_hr_prior, p) * p * (1 - p)
                events_at, events_balanced = (log_hr_prior_elir(log_hr_prior, a)
                                              for a in (p, 0.5))
                vague = _exact_vague_weight(cohort, spec, endpoint, log_hr_prior)
            else:
                information = 1 / sigma ** 2
                events_at, events_balanced = prior_events(sigma, p), prior_events(sigma, 0.5)
                vague = np.nan
            weights.append({
                **ident, "dist": "NormalMixture" if log_hr_prior.is_mixture else "Normal",
                "mu": mu, "sigma": sigma, **_vague_columns(log_hr_prior),
                "posterior_vague_weight": vague, "n_reference": n0, "n_treatment": n1,
                "allocation": p, "events_reference": d0, "events_treatment": d1,
                "prior_events": events_at, "prior_events_balanced": events_balanced,
                "elir_events": log_hr_prior_elir(log_hr_prior, p),
                "prior_information": information, "data_information": info,
                "data_events": info / (p * (1 - p)),
                "prior_to_data": information / info if info > 0 else np.inf,
                "prior_share": information / (information + info)})
            # stratified prior draws (quantiles at (i + 1/2) / n, per mixture component): the
            # prior predictive probabilities of a discrete statistic can nearly tie (seed OS:
            # 0.1497 vs 0.1507), and random draws would let Monte Carlo noise swap them
            check = log_hr_conflict(events, exposure, log_hr_prior.stratified(N_PRIOR))
            rise = vague_rise(log_hr_prior.vague_weight, vague)
            conflicts.append({
                **ident, "statistic": "treatment-arm events given the events per interval",
                "intervals": int(events.shape[0]), "observed_treatment_events": check.observed,
                "total_events": check.total, "p_value": check.p_value,
                "threshold": check.threshold,
                "conflict": bool(check.conflict) or rise >= VAGUE_BAYES_FACTOR,
                "tail_conflict": bool(check.conflict), "vague_weight": _vague_or_nan(
                    log_hr_prior), "posterior_vague_weight": vague, "vague_bayes_factor": rise,
                "power": check.power, "detectable_hr_below": check.detectable_below,
                "detectable_hr_above": check.detectable_above,
                "power_scaling": _power_scaling(psens, endpoint, prior)})
            calibrations += [{**ident, "hr_threshold": hr, **row} for row in design_calibration(
                data, cuts=pem.cuts_for(data), prior=log_hr_prior, thresholds=gammas, hr=hr,
                a0=pem.a0, crude_rate=pem.crude_rate, n_sim=N_CALIBRATION, rng=rng)]
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
    names = ("weight", "conflict", "calibration")

    def compute() -> dict[str, pd.DataFrame]:
        made = _compute(cohort, spec, psens)
        return {n: getattr(made, n) for n in names}

    tables = store.tables({n: store.key(kind=f"prior_weight.{n}", **parts) for n in names},
                          compute)
    return PriorWeight(*(tables[n] for n in names))
