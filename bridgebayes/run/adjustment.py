"""The non-randomised comparison of the ``[adjustment]`` section, store-backed.

For the adjustment endpoint and prior:

* **g-computation** (when ``[bayes] covariates`` are declared): for every family, the
  posterior of each arm's standardised survival over the cohort (ATE) and over the treated
  (ATT) with Bayesian-bootstrap weights (:mod:`bridgebayes.models.adjustment`); marginal
  S(t), RMST and their differences with probabilities, the marginal cumulative hazard ratio
  at the landmarks, and beside them — as a different quantity — the model's conditional HR;
* **propensity scores** (``propensity = true``): logistic model, scores and weights per
  patient, balance before and after weighting, effective sample sizes, positivity flags, and
  the IPW analysis (weighted Cox with robust SE, weighted KM) as a frequentist cross-check
  (:mod:`bridgebayes.reference.propensity`);
* **bias analysis** (always, also without covariates): the tipping-point grid of a bias on the
  log HR of ``adjustment.family``, the bias-adjusted posterior under ``bias_prior``, and the
  E-values of the HR and of its interval limit (:mod:`bridgebayes.summaries.bias`).

Every table is stored under the fits' digests and the section's settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bridgebayes.core.store import Store
from bridgebayes.run.fits import FitKey, FitOutcome, version
from bridgebayes.run.spec import Spec

__all__ = ["TABLES", "adjustment_analysis", "summary_of"]

#: Bumped when a table's shape or content changes (part of every store key).
FORMAT = 1
#: The tables written to ``tables/`` (prefixed ``adjustment_``).
TABLES = ("decisions", "curves", "propensity", "balance", "ipw", "tipping_grid",
          "tipping_points", "e_values", "sentences")
#: Points of the tipping-point grid.
N_BIAS = 61


def _marginal(spec: Spec, outcome: FitOutcome, estimand: str, seed: list[int],
              label: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from bridgebayes.models.adjustment import bootstrap_weights, marginal_survival, thin_draws
    from bridgebayes.summaries.decide import survival_rows
    from bridgebayes.summaries.decision import table
    from bridgebayes.summaries.rows import draw_row, probability_row

    a, b, fit = spec.adjustment, spec.bayes, outcome.fit
    chains = int(fit.idata.posterior.sizes["chain"])
    draws, n = thin_draws(fit.draws(), list(fit.idata.posterior.data_vars), chains=chains,
                          at_most=a.draws)
    data, family = fit.data, fit.family
    weights = bootstrap_weights(data.arm, n, estimand=estimand,
                                rng=np.random.default_rng(seed))
    design = data.covariates[list(family.covariates)].to_numpy(float)
    survival = marginal_survival(family, draws, design, weights)
    rows, curves, sentences = survival_rows(
        survival, arms=data.arms, landmarks=b.landmarks, deltas=b.deltas, rmst_tau=b.rmst_tau,
        horizon=None, ci=b.ci, chains=chains, endpoint=label, time_unit=spec.time_unit)
    rows = [r for r in rows if r["quantity"] != "median_survival"]
    pair = f"{data.arms[1]} - {data.arms[0]}"
    grid = np.linspace(0.0, b.rmst_tau, 481)
    rmst_diff = np.trapezoid(survival(grid, 1) - survival(grid, 0), grid, axis=1)
    rows.append(probability_row("prob_rmst_difference_above", rmst_diff > 0, chains,
                                arm=pair, time=b.rmst_tau, threshold=0.0))
    at = np.asarray(b.landmarks, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(survival(at, 1)) / np.log(survival(at, 0))
    for j, t in enumerate(at):
        rows.append(draw_row("cumulative_hazard_ratio", ratio[:, j], b.ci, chains=chains,
                             arm=pair, time=t))
        rows.append(probability_row("prob_cumulative_hazard_ratio_below", ratio[:, j] < 1,
                                    chains, arm=pair, time=t, threshold=1.0))
    frame = table(rows, time_unit=spec.time_unit, estimand=estimand)
    return frame, curves.assign(estimand=estimand), sentences


def _conditional(spec: Spec, outcome: FitOutcome) -> pd.DataFrame:
    d = outcome.decision
    keep = d["quantity"].isin(["hr", "prob_hr_below"]) & (d["component"] == "")
    return d[keep].assign(estimand="conditional")


def _propensity(spec: Spec, outcome: FitOutcome) -> dict[str, pd.DataFrame]:
    from bridgebayes.reference import propensity as ps

    a, b = spec.adjustment, spec.bayes
    data = outcome.fit.data
    design = data.covariates[list(outcome.fit.family.covariates)]
    arm = np.asarray(data.arm)
    time, event = np.asarray(data.time, float), np.asarray(data.event)
    model = ps.propensity_model(design, arm)
    per_patient = {"id": list(map(str, data.ids)), "arm": [data.arms[x] for x in arm],
                   "score": model.scores}
    balance, ipw = [], []
    for estimand in a.estimands:
        w = ps.propensity_weights(model.scores, arm, estimand=estimand, weighting=a.weighting,
                                  trim=a.trim)
        per_patient[f"weight_{estimand}"] = w
        balance.append(ps.balance_table(design, arm, w).assign(estimand=estimand))
        cox = ps.ipw_cox(time, event, arm, w, ci=b.ci)
        s = {x: ps.weighted_survival_at(time[arm == x], event[arm == x],
                                        w[arm == x], b.landmarks) for x in (0, 1)}
        rmst = {x: ps.weighted_rmst(time[arm == x], event[arm == x], w[arm == x],
                                    b.rmst_tau) for x in (0, 1)}
        row = {"estimand": estimand, "weighting": a.weighting, "trim": a.trim, **cox,
               "ess_reference": ps.effective_sample_size(w[arm == 0]),
               "ess_treatment": ps.effective_sample_size(w[arm == 1]),
               "n_reference": int(np.sum(arm == 0)), "n_treatment": int(np.sum(arm == 1)),
               "n_trimmed": int(np.sum(w == 0)),
               "n_extreme": int(np.sum((model.scores < ps.EXTREME[0])
                                       | (model.scores > ps.EXTREME[1]))),
               "rmst_tau": b.rmst_tau, "rmst_difference": rmst[1] - rmst[0]}
        for j, t in enumerate(b.landmarks):
            row[f"survival_difference_{t:g}"] = float(s[1][j] - s[0][j])
        ipw.append(row)
    return {"propensity": pd.DataFrame(per_patient),
            "balance": pd.concat(balance, ignore_index=True), "ipw": pd.DataFrame(ipw)}


def _bias(spec: Spec, outcome: FitOutcome) -> dict[str, object]:
    from bridgebayes.summaries import bias
    from bridgebayes.summaries.decision import table
    from bridgebayes.summaries.rows import credible_interval, probability_row

    a, b = spec.adjustment, spec.bayes
    log_hr = np.asarray(outcome.fit.draws()["log_hr"], float).ravel()
    chains = int(outcome.fit.idata.posterior.sizes["chain"])
    grid, points = bias.tipping_points(log_hr, biases=np.linspace(0, a.max_bias, N_BIAS),
                                       thresholds=a.tipping_thresholds)
    med, lo, hi = credible_interval(np.exp(log_hr), b.ci)
    e = bias.hr_e_values(med, lo, hi, common=a.common_outcome)
    e_values = pd.DataFrame([{"hr": med, "lower": lo, "upper": hi, "level": b.ci,
                              "common_outcome": a.common_outcome, **e}])
    adjusted = bias.bias_adjusted_log_hr(log_hr, mu=a.bias_mu, sd=a.bias_sigma,
                                         rng=np.random.default_rng([b.seed, 16]))
    rows = table([probability_row("prob_hr_below", log_hr < 0, chains, threshold=1.0),
                  probability_row("prob_hr_below", adjusted < 0, chains, threshold=1.0,
                                  estimand="bias-adjusted")], time_unit=spec.time_unit)
    return {"grid": grid, "points": points, "e_values": e_values, "rows": rows,
            "p_observed": float(np.mean(log_hr < 0)), "p_adjusted": float(np.mean(adjusted < 0))}


def _sentences(spec: Spec, bias_part: dict, adjusted: bool, label: str) -> list[str]:
    from bridgebayes.summaries.decision import percent

    a = spec.adjustment
    e = bias_part["e_values"].iloc[0]
    out = []
    if not adjusted:
        out.append("No adjustment was possible: the data hold no covariates, so the "
                   "comparison is unadjusted and only the bias analysis below speaks to "
                   "confounding.")
    for r in bias_part["points"].to_dict(orient="records"):
        if np.isnan(r["bias"]):
            out.append(f"No bias on the log HR up to {a.max_bias:g} brings P(HR < 1) below "
                       f"{r['threshold']:g}.")
        elif r["bias"] == 0:
            out.append(f"P(HR < 1) is below {r['threshold']:g} already without any bias.")
        else:
            out.append(
                f"An unmeasured confounder that biased the {label} HR in favour of "
                f"{spec.arms[1]} by a factor {r['bias_factor']:.2f} (log HR {r['bias']:.2f}) "
                f"would bring P(HR < 1) below {r['threshold']:g}; the weakest such confounder "
                f"is associated with both treatment and outcome by a risk ratio of "
                f"{r['confounder_strength']:.2f}.")
    out.append(f"E-value of the HR {e['hr']:.2f}: {e['e_value']:.2f} (interval limit: "
               f"{e['e_value_limit']:.2f})" + ("; the HR was converted to a risk ratio for a "
                                               "common outcome (VanderWeele 2020)."
                                               if a.common_outcome else "."))
    out.append(f"With a bias on the log HR ~ Normal({a.bias_mu:g}, {a.bias_sigma:g}), "
               f"P(HR < 1) = {percent(bias_part['p_adjusted'])} (without it "
               f"{percent(bias_part['p_observed'])}).")
    return out


def _compute(spec: Spec, fits: dict[FitKey, FitOutcome], label: str) -> dict[str, pd.DataFrame]:
    a, b = spec.adjustment, spec.bayes
    ident = {"analysis": "adjustment", "endpoint": a.endpoint, "prior": a.prior}
    adjusted = bool(b.covariates)
    decisions, curves, sentences = [], [], []
    if adjusted:
        for i, family in enumerate(b.families):
            outcome = fits[FitKey(a.endpoint, family, a.prior)]
            for j, estimand in enumerate(a.estimands):
                frame, curve, text = _marginal(spec, outcome, estimand, [b.seed, i, j], label)
                decisions.append(frame.assign(**ident, family=family))
                curves.append(curve.assign(endpoint=a.endpoint, prior=a.prior, family=family))
                if family == a.family:
                    sentences += [f"Marginal ({estimand.upper()}): {s}" for s in text]
            decisions.append(_conditional(spec, outcome).assign(**ident, family=family))
    main = fits[FitKey(a.endpoint, a.family, a.prior)]
    bias_part = _bias(spec, main)
    decisions.append(bias_part["rows"].assign(**{**ident, "analysis": "bias"}, family=a.family))
    out = {"decisions": pd.concat(decisions, ignore_index=True),
           "curves": pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(),
           "tipping_grid": bias_part["grid"], "tipping_points": bias_part["points"],
           "e_values": bias_part["e_values"]}
    empty = pd.DataFrame()
    out |= (_propensity(spec, main) if adjusted and a.propensity
            else {"propensity": empty, "balance": empty, "ipw": empty})
    sentences += _sentences(spec, bias_part, adjusted, label)
    out["sentences"] = pd.DataFrame({"text": sentences})
    return out


def adjustment_analysis(fits: dict[FitKey, FitOutcome], spec: Spec, store: Store, *,
                        label: str) -> dict[str, pd.DataFrame]:
    """Every table of the non-randomised comparison (:data:`TABLES`), each through the store.

    Parameters
    ----------
    fits
        :func:`bridgebayes.run.fits.fit_all`'s result.
    spec
        The resolved spec (with ``[adjustment]``).
    store
        The run's store.
    label
        The adjustment endpoint's reader-facing label.
    """
    keys = [FitKey(spec.adjustment.endpoint, f, spec.adjustment.prior)
            for f in spec.bayes.families]
    parts = {"fits": sorted(fits[k].digest for k in keys), "version": version(),
             "settings": repr((spec.adjustment, spec.bayes.covariates, spec.bayes.landmarks,
                               spec.bayes.deltas, spec.bayes.rmst_tau, spec.bayes.ci,
                               spec.bayes.seed, spec.arms, spec.time_unit, label)),
             "format": FORMAT}
    return store.tables({n: store.key(kind=f"adjustment.{n}", **parts) for n in TABLES},
                        lambda: _compute(spec, fits, label))


def summary_of(spec: Spec, tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The ``adjustment`` entry of ``results.json`` (the tables are saved beside it)."""
    from dataclasses import asdict

    a, b = spec.adjustment, spec.bayes

    def records(frame: pd.DataFrame) -> list[dict]:
        return frame.replace({np.nan: None}).to_dict(orient="records")

    return {
        "target_trial": asdict(a.target_trial), "endpoint": a.endpoint, "family": a.family,
        "prior": a.prior, "adjusted": bool(b.covariates), "covariates": list(b.covariates),
        "estimands": list(a.estimands),
        "method": ("Bayesian g-computation: per posterior draw, each arm's survival "
                   "standardised over the cohort (ATE) or the treated (ATT) with "
                   "Bayesian-bootstrap (Dirichlet) weights (Oganisian & Roy 2021)"
                   if b.covariates else "none possible (no covariates)"),
        "propensity": {"weighting": a.weighting, "trim": a.trim,
                       "ipw": records(tables["ipw"]), "balance": records(tables["balance"])}
        if not tables["ipw"].empty else None,
        "bias_prior": {"dist": "Normal", "mu": a.bias_mu, "sigma": a.bias_sigma},
        "e_values": records(tables["e_values"])[0],
        "tipping_points": records(tables["tipping_points"]),
        "decisions": records(tables["decisions"]),
        "sentences": list(tables["sentences"]["text"])}
