"""The report's result sections (per endpoint, effects, sensitivity, checks, competing risks,
safety, reference, provenance), from a results view; blocks as in
:mod:`bridgebayes.report.sections`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bridgebayes.report.format import fixed, row_text, table_block
from bridgebayes.report.sections import figure, p, section
from bridgebayes.report.view import ResultsView
from bridgebayes.summaries.decision import QUANTITIES, label

__all__ = ["checks", "competing", "endpoints", "hazard_ratios", "provenance", "reference",
           "safety", "sensitivity"]

#: Quantities shown in the per-endpoint decision table, in order.
_SHOWN = ("hr", "hr_hdi", "prob_hr_below", "prob_rope", "aft_factor", "interval_hr",
          "prob_interval_hr_below", "survival", "survival_difference",
          "prob_survival_difference_above", "rmst", "rmst_difference", "median_survival",
          "cure_fraction", "cure_fraction_prior", "cure_fraction_narrowing",
          "cure_fraction_overlap", "uncured_survival", "cure_difference",
          "prob_cure_difference_above", "prior_prob_cure_difference_above")


def decision_table(view: ResultsView, endpoint: str, prior: str) -> pd.DataFrame:
    """One endpoint's decisions under one prior: a row per quantity, a column per model."""
    d = view.table("decisions")
    d = d[(d["analysis"] == "two_arm") & (d["endpoint"] == endpoint) & (d["prior"] == prior)]
    columns, order = {}, []
    for family, part in d.groupby("family", sort=False):
        header = view.family_label(family)
        if not bool(part["gate_passed"].iloc[0]):
            header += " — FAILED diagnostics, do not use"
        column = {}
        for row in part.to_dict(orient="records"):
            if row["quantity"] not in _SHOWN:
                continue
            single = row["arm"] in view.arms  # not a difference ("B - A") nor an effect
            name = label(row) + (f", {row['arm']}" if single else "")
            if row["component"] and "{k}" not in QUANTITIES[row["quantity"]]:
                name += f" ({row['component']})"  # e.g. the HR of the uncured patients
            if bool(row["extrapolated"]) and row["quantity"] != "median_survival":
                name += " (extrapolated)"
            column[name] = row_text(row)
            if name not in order:
                order.append(name)
        columns[header] = column
    return pd.DataFrame({"quantity": order, **{h: [c.get(q, "–") for q in order]
                                               for h, c in columns.items()}})


def endpoints(view: ResultsView, captions: dict[str, str]) -> list[dict[str, Any]]:
    """One section per endpoint: the primary model's figures, sentences, decision table; the
    other models' figures collapsed."""
    bayes = view.summary["resolved_spec"].get("bayes")
    out = []
    names = bayes["endpoints"] if bayes else list(view.summary["study"]["endpoints"])
    primary = view.summary.get("primary") or {}
    for endpoint in names:
        title = view.endpoint_label(endpoint)
        if not bayes:
            if f"km_{endpoint}" in captions:
                out.append(section(f"endpoint-{endpoint}", title,
                                   [figure(f"km_{endpoint}", captions)]))
            continue
        prior = bayes["priors"][endpoint][0]
        families = list(bayes["families"])
        lead = primary.get("family") if primary.get("family") in families else families[0]
        sentences = view.summary["sentences"][f"{endpoint}__{lead}__{prior}"]
        blocks = [figure(f"km_{endpoint}__{lead}__{prior}", captions),
                  {"kind": "columns", "left": [figure(f"hr_{endpoint}__{lead}__{prior}",
                                                      captions)],
                   "right": [{"kind": "list", "entries": sentences, "class": "note"}]}]
        more = [figure(f"{kind}_{endpoint}__{f}__{prior}", captions)
                for f in families if f != lead for kind in ("km", "hr")]
        for f in families:
            if f != lead:
                more.append({"kind": "list", "class": "note", "entries":
                             view.summary["sentences"][f"{endpoint}__{f}__{prior}"]})
        blocks.append({"kind": "details", "summary": f"Show the decision table ({prior} "
                       "prior, every model)", "blocks": [
                           p(f"Decision table under the {prior} prior (other priors: "
                             "tables/decisions.csv). Intervals are posterior median [credible "
                             f"interval]; differences are {view.arms[1]} − {view.arms[0]}.",
                             "note"),
                           table_block(decision_table(view, endpoint, prior))]})
        if more:
            blocks.append({"kind": "details", "summary": "Show the other models' figures",
                           "blocks": more})
        out.append(section(f"endpoint-{endpoint}", title, blocks))
    return out


def hazard_ratios(view: ResultsView, captions: dict[str, str]) -> dict[str, Any]:
    """Every fit's HR (forest) and the prior-sensitivity table."""
    d = view.table("decisions")
    d = d[d["analysis"] == "two_arm"]
    rows = []
    for (endpoint, family, prior), part in d.groupby(["endpoint", "family", "prior"],
                                                     sort=False):
        hr = part[part["quantity"] == "hr"].iloc[0]
        row = {"endpoint": view.endpoint_label(endpoint), "model": view.family_label(family),
               "prior": prior, "role": hr["role"], "HR [CrI]": row_text(hr)}
        for r in part[part["quantity"] == "prob_hr_below"].to_dict(orient="records"):
            row[label(r)] = row_text(r)
        rows.append(row)
    blocks = [figure("forest", captions),
              {"kind": "details", "summary": "Show the table of every fit's HR and "
               "probabilities", "blocks": [
                   p("How the answer moves with the model and the prior: the same data under "
                     "each.", "note"), table_block(pd.DataFrame(rows))]}]
    return section("hazard-ratios", "Hazard ratios across endpoints, models and priors",
                   blocks)


def checks(view: ResultsView, captions: dict[str, str]) -> dict[str, Any]:
    """Diagnostics, LOO, power scaling and the posterior predictive checks (collapsed)."""
    g = view.table("diagnostics")
    gate = view.summary["checks"]["gate"]
    shown = pd.DataFrame({"endpoint": g["endpoint"].map(view.endpoint_label),
                          "model": g["family"].map(view.family_label), "prior": g["prior"],
                          "gate": ["pass" if x else "FAIL" for x in g["passed"]],
                          "retried": g["retried"]})
    for column in ("max R-hat", "min bulk ESS", "min tail ESS", "divergences", "min E-BFMI",
                   "max_pareto_k"):
        if column in g:
            shown[column.replace("max_pareto_k", "max Pareto k")] = g[column]
    blocks = [p(f"Gate: R-hat ≤ {gate['r_hat_max']}, bulk and tail ESS ≥ "
                f"{gate['ess_bulk_min']:g}, divergences ≤ {gate['divergences_max']}, E-BFMI ≥ "
                f"{gate['bfmi_min']}. Pareto k > 0.7 marks an unreliable LOO term.", "note"),
              table_block(shown, css={"gate": lambda v: "pass" if v == "pass" else "fail"})]
    notes = sorted({n for text in g["notes"].fillna("") for n in str(text).split(" | ") if n})
    if notes:
        blocks.append({"kind": "list", "class": "note", "entries": notes})
    loo = view.table("loo_comparison")
    if not loo.empty:
        blocks += [p("PSIS-LOO expected log predictive density (higher is better), difference "
                     "from the best model with its standard error, and stacking weights.",
                     "note"),
                   table_block(loo[["endpoint", "prior", "family", "rank", "elpd_loo", "se",
                                    "elpd_diff", "dse", "p_loo", "weight"]])]
    psens = view.table("power_scaling")
    if not psens.empty:
        blocks += [p("Power-scaling sensitivity (ArviZ psens): how much each posterior moves "
                     "when the prior or the likelihood is raised to a power near 1 (both "
                     "influential: the prior weighs; the conflict flag is the prior predictive "
                     "check's, in the section on the priors' weight).", "note"),
                   table_block(psens, digits=3)]
    blocks += [figure(name, captions) for name in captions if name.startswith("ppc_")]
    return section("checks", "Model checks and diagnostics", blocks, collapsed=True)


def sensitivity(view: ResultsView) -> dict[str, Any] | None:
    """The reconstruction sensitivity spread (collapsed)."""
    spread = view.table("reconstruction_sensitivity")
    if spread.empty:
        return None
    shown = spread.assign(quantity=[label({**r, "time_unit": view.unit})
                                    for r in spread.to_dict(orient="records")])
    shown["endpoint"] = shown["endpoint"].map(view.endpoint_label)
    shown["family"] = shown["family"].map(view.family_label)
    n = len(view.summary["reconstruction_sensitivity"]["members"])
    return section("reconstruction-sensitivity", "Reconstruction sensitivity", [
        p(f"The same analysis on each of {n} plausible reconstructed cohorts (exact "
          "posteriors): the main cohort's value and the minimum, median and maximum across "
          "members.", "note"),
        table_block(shown[["endpoint", "family", "prior", "quantity", "main", "min", "median",
                           "max"]], digits=3)], collapsed=True)


def competing(view: ResultsView, captions: dict[str, str]) -> dict[str, Any] | None:
    """Competing risks and the illness–death model."""
    comp = view.summary.get("competing")
    if comp is None:
        return None
    d = view.table("competing_decisions")
    d = d.assign(quantity=[label({**r, "component": view.component_label(r["component"])})
                           for r in d.to_dict(orient="records")],
                 value=[row_text(r) for r in d.to_dict(orient="records")],
                 model=d["family"].map(view.family_label),
                 **{"cause or state": [view.component_label(c) for c in d["component"]]})
    first = comp["sentences"][0].split("]", 1)[0] + "]" if comp["sentences"] else ""
    lead = [t for t in comp["sentences"] if t.startswith(first) or not t.startswith("[")]
    rest = [t for t in comp["sentences"] if t not in lead]
    blocks = [figure(f"cif_{comp['endpoint']}", captions), {"kind": "list", "entries": lead}]
    if rest:
        blocks.append({"kind": "details", "summary": "Show the other models and priors",
                       "blocks": [{"kind": "list", "entries": rest}]})
    adequacy = view.table("competing_vs_aalen_johansen")
    outside = adequacy[~adequacy["inside_band"].astype(bool)]
    blocks.append(p("The Aalen–Johansen estimate lies inside every posterior 95% band." if
                    outside.empty else f"Model misfit warning: the Aalen–Johansen estimate "
                    f"lies outside the posterior 95% band in {len(outside)} of {len(adequacy)} "
                    "rows; read the model-based incidences of those causes with caution.",
                    "note"))
    blocks.append({"kind": "details", "summary": "Show the competing-risks tables", "blocks": [
        table_block(d[["analysis", "model", "prior", "cause or state", "quantity", "arm",
                       "value"]]),
        table_block(adequacy, digits=3)]})
    return section("competing-risks", "Competing risks", blocks)


def safety(view: ResultsView) -> dict[str, Any] | None:
    """The safety table and sentences."""
    s = view.summary.get("safety")
    if s is None:
        return None
    return section("safety", "Safety", [{"kind": "list", "entries": s["sentences"]},
                                        table_block(view.table("safety"), digits=3)],
                   collapsed=True)


def reference(view: ResultsView) -> dict[str, Any]:
    """The frequentist reference analysis."""
    r = view.summary["reference"]
    lm = pd.DataFrame(r["landmarks"])
    lm["column"] = [f"{g} at {t:g} {view.unit}" for g, t in zip(lm["group"], lm["landmark"],
                                                                 strict=True)]
    lm["value"] = ["not estimable" if pd.isna(v) else f"{100 * v:.1f}"
                   for v in lm["estimate"]]
    wide = lm.pivot_table(index=["endpoint", "measure"], columns="column", values="value",
                          aggfunc="first", sort=False).reset_index()
    wide.columns.name = None
    wide["endpoint"] = [view.endpoint_label(e) if e in view.summary["study"]["endpoints"]
                        else view.component_label(e) for e in wide["endpoint"]]
    f = r["followup"]
    return section("reference", "Frequentist reference analysis", [
        p(f"Median follow-up {fixed(f['median_reverse_km'], 1)} {view.unit} (reverse "
          f"Kaplan–Meier), range {fixed(f['min'], 1)}–{fixed(f['max'], 1)}. Kaplan–Meier "
          "survival and Aalen–Johansen cumulative incidence in percent."),
        table_block(wide), table_block(pd.DataFrame(r["tests"]), digits=4)], collapsed=True)


def provenance(view: ResultsView) -> dict[str, Any]:
    """Files, hashes, versions, seed and sampler (collapsed)."""
    prov = view.summary["provenance"]
    rows = [("analysis id", prov["spec"]["id"]), ("spec file", prov["spec"]["file"]),
            ("spec sha256", prov["spec"]["sha256"]),
            ("resolved spec sha256", prov["spec"]["resolved_sha256"])]
    rows += [(f"{k} file", f"{v['path']} (sha256 {v['sha256']})")
             for k, v in prov["files"].items()]
    if "seed" in prov:
        rows.append(("seed", str(prov["seed"])))
    rows += [(f"version: {k}", v) for k, v in prov["versions"].items()]
    return section("provenance", "Provenance", [
        table_block(pd.DataFrame(rows, columns=["item", "value"]))], collapsed=True)
