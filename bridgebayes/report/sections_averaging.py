"""The report's model-averaging, extrapolation and cure-fraction sections, from a results
view (blocks as in :mod:`bridgebayes.report.sections`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bridgebayes.report.format import row_text, table_block
from bridgebayes.report.sections import figure, p, section
from bridgebayes.report.view import ResultsView
from bridgebayes.summaries.decision import label

__all__ = ["cure_fractions", "model_averaging"]

#: Cure-fraction rows in the prior-vs-posterior table, in order.
_CURE = ("cure_fraction", "cure_fraction_prior", "cure_fraction_narrowing",
         "cure_fraction_overlap", "uncured_survival", "cure_difference",
         "prob_cure_difference_above", "prior_prob_cure_difference_above")


def _named(view: ResultsView, rows: pd.DataFrame) -> list[str]:
    names = []
    for r in rows.to_dict(orient="records"):
        name = label({**r, "time_unit": view.unit})
        if r["arm"]:
            name += f", {r['arm']}"
        if bool(r["extrapolated"]):
            name += " (extrapolated)"
        names.append(name)
    return names


def _extrapolation_table(view: ResultsView, endpoint: str, prior: str) -> pd.DataFrame:
    """S(t) and RMST at the extrapolation landmarks and horizon: a row per quantity, a
    column per model (the stack last), then the spread across the models."""
    d = view.table("extrapolation_decisions")
    d = d[(d["endpoint"] == endpoint) & (d["prior"] == prior)]
    shown = d[d["quantity"].isin(["survival", "survival_difference", "rmst",
                                  "rmst_difference"])]
    shown = shown.assign(name=_named(view, shown), value=[row_text(r) for r in
                                                          shown.to_dict(orient="records")])
    wide = shown.pivot_table(index="name", columns="family", values="value", aggfunc="first",
                             sort=False)
    order = [f for f in dict.fromkeys(shown["family"]) if f != "stacked"]
    order += ["stacked"] if "stacked" in wide.columns else []
    wide = wide[order].rename(columns=lambda f: "stacked" if f == "stacked"
                              else view.family_label(f))
    spread = d[d["quantity"].isin(["survival_spread", "rmst_spread"])]
    out = wide.reset_index().rename(columns={"name": "quantity"})
    if len(spread):
        out["spread across the models"] = out["quantity"].map(dict(zip(
            _named(view, spread.assign(quantity=spread["quantity"].str.replace("_spread", ""))),
            [row_text(r) for r in spread.to_dict(orient="records")], strict=True))).fillna("–")
    return out.fillna("–")


def model_averaging(view: ResultsView, captions: dict[str, str]) -> dict[str, Any] | None:
    """Stacking weights, the stacked posterior and the extrapolation of every model."""
    averaging = view.summary.get("model_averaging")
    if averaging is None:
        return None
    bayes = view.summary["resolved_spec"]["bayes"]
    families = [view.family_label(f) for f in bayes["families"]]
    if len(families) > 1:
        opening = (f"Every endpoint is fitted with every model ({', '.join(families)}); the "
                   "stacked posterior mixes their posteriors with the stacking weights "
                   "(PSIS-LOO). No hazard ratio is stacked: an HR is a parameter of one model, "
                   "and the models' HRs need not describe the same quantity. Caveat: "
                   f"{averaging['caveat']}.")
    else:
        opening = (f"Every endpoint is fitted with one model ({families[0]}), so nothing is "
                   "stacked: beyond the follow-up the curves below are that model's "
                   "assumption alone, which the data cannot check; fitting other families "
                   "(bayes.families) shows how much the answer depends on it.")
    blocks = [p(f"{opening} Quantities after an arm's last observed time (a difference: after "
                "either arm's) are marked “extrapolated” in every table and sentence.", "note")]
    weights = view.table("stacking_weights")
    which = "every model" if len(families) > 1 else "the model"
    primary = (view.summary.get("primary") or {}).get("endpoint")
    lead = primary if primary in bayes["endpoints"] else bayes["endpoints"][0]
    for endpoint in bayes["endpoints"]:
        prior = bayes["priors"][endpoint][0]
        title = view.endpoint_label(endpoint)
        ends = averaging["followup"][endpoint]
        mine = [{"kind": "p", "text": f"{title} ({prior} prior; last observed time "
                 f"{ends['reference']:g} {view.unit} with {view.arms[0]}, "
                 f"{ends['treatment']:g} with {view.arms[1]}).", "class": ""}]
        if f"fan_{endpoint}__{prior}" in captions:
            mine.append(figure(f"fan_{endpoint}__{prior}", captions))
        mine.append({"kind": "list", "class": "note",
                     "entries": averaging["sentences"][f"{endpoint}__{prior}"]})
        table = table_block(_extrapolation_table(view, endpoint, prior))
        if endpoint == lead:  # the primary (or first) endpoint open, the others collapsed
            blocks += [*mine, {"kind": "details", "summary": f"Show {title}: S(t) and RMST "
                               f"of {which} to the horizon", "blocks": [table]}]
        else:
            blocks.append({"kind": "details", "summary": f"Show {title}: extrapolation of "
                           f"{which}", "blocks": [*mine, table]})
    if not weights.empty:
        shown = weights.assign(endpoint=weights["endpoint"].map(view.endpoint_label),
                               model=weights["label"],
                               fragile=["yes (Pareto k > 0.7)" if f else "no"
                                        for f in weights["fragile"].astype(bool)])
        blocks.append({"kind": "details", "summary": "Show the stacking weights of every "
                       "endpoint and prior", "blocks": [table_block(shown[[
                           "endpoint", "prior", "model", "weight", "elpd_loo", "se",
                           "max_pareto_k", "fragile"]], digits=3)]})
    title = "Model averaging and extrapolation" if len(families) > 1 else "Extrapolation"
    return section("model-averaging", title, blocks)


def cure_fractions(view: ResultsView) -> dict[str, Any] | None:
    """Each arm's cure fraction, prior beside posterior, for every cure-model fit."""
    d = view.table("decisions")
    if d.empty or not d["quantity"].isin(_CURE).any():
        return None
    d = d[d["quantity"].isin(_CURE)]
    rows = []
    for (endpoint, family, prior), part in d.groupby(["endpoint", "family", "prior"],
                                                     sort=False):
        record = {"endpoint": view.endpoint_label(endpoint), "model": view.family_label(family),
                  "prior": prior}
        for r in part.to_dict(orient="records"):
            record[label({**r, "time_unit": view.unit}).replace(
                f" at {r['time']:g} {view.unit}", "") + (f", {r['arm']}" if r["arm"] in
                                                         view.arms else "")] = row_text(r)
        rows.append(record)
    return section("cure-fractions", "Cure fractions: prior against posterior", [
        p("The cure fraction is the share of patients who never have the event (the plateau "
          "of the survival curve). The data identify it only where follow-up extends past the "
          "uncured patients' survival times (Maller & Zhou 1996): the “survival of the uncured "
          "at the end of follow-up” should then be near 0. Otherwise the cure fraction comes "
          "from the latency model and the prior, which is why every posterior stands next to "
          "its prior, with how much narrower its interval is and how much of its mass it "
          "shares with the prior (overlap; 100% = the data changed nothing). The HR of the "
          "cure model concerns the uncured patients only.", "note"),
        {"kind": "details", "summary": "Show each arm's cure fraction, prior and posterior, "
         "for every fit", "blocks": [table_block(pd.DataFrame(rows).fillna("–"))]}])
