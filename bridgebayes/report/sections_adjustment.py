"""The report's "Non-randomised comparison" section, from a results view: the target trial,
the g-computation's marginal effects (with the conditional HR apart), the propensity-score
diagnostics and IPW cross-check, and the bias analysis (blocks as in
:mod:`bridgebayes.report.sections`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bridgebayes.report.format import row_text, table_block
from bridgebayes.report.sections import figure, p, section
from bridgebayes.report.view import ResultsView
from bridgebayes.summaries.decision import label

__all__ = ["non_randomised"]

#: Marginal quantities shown, in order.
_MARGINAL = ("survival_difference", "prob_survival_difference_above", "rmst_difference",
             "prob_rmst_difference_above", "cumulative_hazard_ratio")


def _target_trial(adj: dict[str, Any]) -> list[dict[str, Any]]:
    t = adj["target_trial"]
    blocks = [{"kind": "list", "class": "", "entries": [
        f"Population: {t['population']}", f"Time zero: {t['time_zero']}",
        f"Treatment strategies: {t['strategies']}", f"Estimand: {t['estimand']}"]}]
    if t.get("selection"):
        blocks.append(p(f"Selection: {t['selection']}", "note"))
    return blocks


def _marginal_table(view: ResultsView, adj: dict[str, Any]) -> pd.DataFrame:
    d = pd.DataFrame(adj["decisions"])
    d = d[(d["analysis"] == "adjustment") & (d["family"] == adj["family"])
          & d["quantity"].isin(_MARGINAL)]
    d = d[(d["quantity"] != "prob_survival_difference_above") | (d["threshold"] == 0)]
    d = d.assign(name=[label({**r, "time_unit": view.unit}) for r in d.to_dict("records")],
                 value=[row_text(r) for r in d.to_dict("records")])
    wide = d.pivot_table(index="name", columns="estimand", values="value", aggfunc="first",
                         sort=False)
    return wide.rename(columns=str.upper).reset_index().rename(columns={"name": "quantity"})


def _families_table(view: ResultsView, adj: dict[str, Any]) -> pd.DataFrame:
    d = pd.DataFrame(adj["decisions"])
    rows = []
    for family, part in d[d["analysis"] == "adjustment"].groupby("family", sort=False):
        entry = {"model": view.family_label(family)}
        for r in part.to_dict("records"):
            if r["quantity"] == "rmst_difference":
                entry[f"RMST difference, {r['estimand'].upper()}"] = row_text(r)
            if r["quantity"] == "hr" and r["estimand"] == "conditional":
                entry["conditional HR (given the covariates)"] = row_text(r)
        rows.append(entry)
    return pd.DataFrame(rows).fillna("–")


def _propensity_blocks(view: ResultsView, adj: dict[str, Any],
                       captions: dict[str, str]) -> list[dict[str, Any]]:
    ps = adj["propensity"]
    blocks: list[dict[str, Any]] = [p(
        "Propensity scores (logistic model of the arm on the covariates): their overlap, the "
        "balance of the covariates before and after weighting (standardised mean differences; "
        "|SMD| < 0.1 is the usual mark of balance), the effective sample size of the weights, "
        f"and the {ps['weighting'].upper()}-weighted analysis — a frequentist cross-check "
        "(weighted Cox model with robust standard errors, weighted Kaplan–Meier), not a "
        "posterior.")]
    if "propensity_overlap" in captions:
        blocks.append(figure("propensity_overlap", captions))
    ipw = pd.DataFrame(ps["ipw"])
    extreme = int(ipw["n_extreme"].iloc[0])
    if extreme:
        blocks.append(p(f"Positivity: {extreme} patient(s) have a propensity score below 0.05 "
                        "or above 0.95; their weights dominate the weighted analysis.", "note"))
    shown = pd.DataFrame({
        "estimand": ipw["estimand"].str.upper(),
        "HR (robust 95% CI)": [f"{r['hr']:.2f} ({r['lower']:.2f} to {r['upper']:.2f})"
                               for r in ipw.to_dict("records")],
        f"RMST difference ({view.unit})": ipw["rmst_difference"],
        f"ESS {view.arms[0]}": ipw["ess_reference"], f"ESS {view.arms[1]}": ipw["ess_treatment"],
        "trimmed": ipw["n_trimmed"]})
    blocks.append(table_block(shown))
    balance = pd.DataFrame(ps["balance"])
    blocks.append(table_block(balance[["estimand", "covariate", "smd_unweighted",
                                       "smd_weighted"]].assign(
        estimand=balance["estimand"].str.upper()).rename(columns={
            "smd_unweighted": "SMD before", "smd_weighted": "SMD after weighting"})))
    return blocks


def _bias_blocks(view: ResultsView, adj: dict[str, Any],
                 captions: dict[str, str]) -> list[dict[str, Any]]:
    sentences = [s for s in adj["sentences"] if not s.startswith(("Marginal", "No adjustment"))]
    blocks = [p("Bias analysis for unmeasured confounding: how large a bias in favour of "
                f"{view.arms[1]} on the {view.family_label(adj['family'])} model's HR "
                f"({adj['prior']} prior) would change the conclusion, and the E-value "
                "(VanderWeele & Ding 2017).")]
    if sentences:
        blocks.append(p(sentences[0]))
    if "tipping_point" in captions:
        blocks.append(figure("tipping_point", captions))
    blocks.append({"kind": "list", "class": "", "entries": sentences[1:]})
    return blocks


def non_randomised(view: ResultsView, captions: dict[str, str]) -> dict[str, Any] | None:
    """The section, or ``None`` when the spec has no ``[adjustment]``."""
    adj = view.summary.get("adjustment")
    if adj is None:
        return None
    blocks = _target_trial(adj)
    if not adj["adjusted"]:
        blocks.append(p("No adjustment was possible: the data hold no covariates, so every "
                        "comparison in this report is unadjusted. The bias analysis below "
                        "shows how strong unmeasured confounding would have to be to change "
                        "the conclusion.", "note"))
    else:
        covs = ", ".join(adj["covariates"])
        blocks.append(p(f"Adjusted for {covs} by {adj['method']}. The marginal contrasts "
                        "(what would happen if everyone, or every treated patient, received "
                        "each strategy) and the conditional HR (the model's coefficient, "
                        "given the covariates) are different quantities: HRs are not "
                        "collapsible, so the two are never two estimates of one thing."))
        blocks.append(p(f"Marginal effects ({view.family_label(adj['family'])} model, "
                        f"{adj['prior']} prior):"))
        blocks.append(table_block(_marginal_table(view, adj)))
        blocks.append(p("Every model, side by side:"))
        blocks.append(table_block(_families_table(view, adj)))
        if adj.get("propensity"):
            blocks += _propensity_blocks(view, adj, captions)
    blocks += _bias_blocks(view, adj, captions)
    return section("non-randomised", "Non-randomised comparison", blocks)
