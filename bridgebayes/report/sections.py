"""The report's first screen, study and methods sections, from a results view.

Each section function returns ``{"anchor", "title", "blocks"}``; a block is a dict with a
``kind`` (``p``, ``list``, ``figure``, ``table``, ``details``, ``box``, ``columns``: two
blocks side by side, stacked on a narrow screen and in print) that the template
(``templates/report.html.j2``) renders.  Wording comes from the saved results (arms, unit,
time zero, endpoint labels, family descriptions, prior meanings): no HSCT word appears
unless the study is one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bridgebayes.report.format import fixed, log_hr_prior_text, pct, table_block
from bridgebayes.report.view import ResultsView

__all__ = ["answer", "methods", "p", "section", "study"]


def p(text: str, css: str = "") -> dict[str, Any]:
    """A paragraph block."""
    return {"kind": "p", "text": text, "class": css}


def section(anchor: str, title: str, blocks: list[dict], *, collapsed: bool = False
            ) -> dict[str, Any]:
    """A section; ``collapsed`` wraps its blocks in ``<details>`` (expanded for print)."""
    if collapsed:
        blocks = [{"kind": "details", "summary": f"Show {title.lower()}", "blocks": blocks}]
    return {"anchor": anchor, "title": title, "blocks": blocks}


def figure(name: str, captions: dict[str, str]) -> dict[str, Any]:
    """A figure block (its caption is also its alt text)."""
    return {"kind": "figure", "name": name, "caption": captions[name]}


def caveats(view: ResultsView) -> list[str]:
    """What the reader must know before any number: reconstructed data, non-randomised (short:
    the study section says more)."""
    study, out = view.summary["study"], []
    if study["reconstructed"]:
        out.append("Reconstructed pseudo-patient data: the patients analysed were rebuilt from "
                   "the paper's published figures, not taken from the study's records; every "
                   "estimate inherits the uncertainty of that reconstruction.")
    if not study["randomised"]:
        text = ("Non-randomised comparison: the arms may differ in who received which "
                "treatment (confounding), not only in the treatments.")
        if study["format"] == "hsct":
            text += (" Time zero is the transplant: only patients whose bridging led to a "
                     "transplant are compared (selection).")
        if not study.get("covariates"):
            text += " No covariates were available, so no adjustment was possible."
        out.append(text)
    return out


def _primary_box(view: ResultsView) -> dict[str, Any] | None:
    primary = view.summary.get("primary")
    if primary is None:
        return None
    ref, trt = view.arms
    hr = primary["hr"]
    rule = ""
    if primary["decision_probability"] is not None:
        rule = (f" Pre-specified decision rule: {trt} is called better if P(HR < "
                f"{primary['hr_threshold']:g}) exceeds {pct(primary['decision_probability'])}"
                f" — {primary['decision'].upper()}.")
    failed = "" if primary["gate_passed"] else " The fit FAILED its diagnostics: do not use."
    return {"kind": "box", "class": "primary", "title": "Pre-specified primary analysis",
            "text": (f"{view.endpoint_label(primary['endpoint'])}, "
                     f"{view.family_label(primary['family'])} model, {primary['prior']} "
                     f"prior: posterior median HR {fixed(hr['estimate'], 2)} "
                     f"({100 * hr['level']:g}% credible interval {fixed(hr['lower'], 2)} to "
                     f"{fixed(hr['upper'], 2)}); probability that {trt} lowers the hazard "
                     f"compared with {ref}, P(HR < {primary['hr_threshold']:g}) = "
                     f"{pct(primary['probability'])}.{rule}{failed}")}


def plain_answer(view: ResultsView) -> str:
    """One plain-language paragraph from the saved headline table."""
    h = view.table("headline")
    ref, trt = view.arms
    if h.empty:
        return ("No Bayesian analysis in this spec; the frequentist reference analysis "
                "follows.")
    h = h[(h["quantity"] == "prob_hr_below") & (h["threshold"] == 1.0)]
    parts, moves = [], False
    for endpoint, part in h.groupby("endpoint", sort=False):
        lo, hi = part["value"].min(), part["value"].max()
        span = pct(lo) if pct(lo) == pct(hi) else f"{pct(lo)} to {pct(hi)}"
        parts.append(f"{view.endpoint_label(endpoint)} {span}")
        moves |= hi - lo >= 0.10
    fits = len(h.drop_duplicates(["family", "prior"]))
    text = (f"Across the {'models and priors' if fits > 1 else 'model'}, the probability that "
            f"{trt} lowers the hazard compared with {ref} is: " + "; ".join(parts) + ". ")
    n = view.summary["study"]["n_per_arm"]
    text += f"Based on {n[trt]} vs {n[ref]} patients"
    text += (": the answer depends on the model and the prior, so read the range, not one "
             "number." if moves else ".")
    return text


def figure_key(view: ResultsView) -> str:
    """What the summary figure's row labels mean: abbreviated model names spelled out, and
    each prior on log HR as its distribution (details: Methods)."""
    families = view.summary.get("families", {})
    def letters(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalpha())

    spelled = [f"{f['label']} = {name.replace('_', ' ')}" for name, f in families.items()
               if letters(f["label"]) != letters(name)]
    used = set(view.table("headline").get("prior", pd.Series(dtype=str)))
    priors = [f"{r['name']} {log_hr_prior_text(r)}"
              for r in view.summary.get("priors", []) if r["name"] in used]
    parts = []
    if spelled:
        parts.append("Models: " + ", ".join(spelled) + ".")
    if priors:
        parts.append("Priors on log HR: " + ", ".join(priors) + ".")
    return " ".join([*parts, "Each figure row is one model · one prior; see Methods."]) \
        if parts else ""


def answer(view: ResultsView, captions: dict[str, str]) -> dict[str, Any]:
    """The first screen: question, caveats, primary analysis and plain answer beside the
    summary figure."""
    blocks: list[dict] = []
    question = view.summary["study"].get("question")
    if question:
        blocks.append(p(f"Question: {question}", "question"))
    blocks += [{"kind": "box", "class": "caveat", "title": "Read this first", "text": c}
               for c in caveats(view)]
    if (box := _primary_box(view)) is not None:
        blocks.append(box)
    blocks.append(p(plain_answer(view), "answer"))
    if (key := figure_key(view)) and "summary" in captions:
        blocks.append(p(key, "note key"))
    if "summary" in captions:
        blocks = [{"kind": "columns", "left": blocks, "right": [figure("summary", captions)]}]
    return section("answer", "The answer in brief", blocks)


def study(view: ResultsView) -> dict[str, Any]:
    """Arms, patients, endpoints, follow-up; the reconstruction's fidelity (collapsed)."""
    s, ref_arm = view.summary["study"], view.arms
    followup = view.summary["reference"]["followup"]
    rows = [{"item": "arms (reference / treatment)", "value": f"{ref_arm[0]} / {ref_arm[1]}"},
            {"item": "patients", "value": ", ".join(f"{a}: {s['n_per_arm'][a]}"
                                                    for a in view.arms)},
            {"item": "time zero; unit", "value": f"{s['time_zero']}; {s['time_unit']}"},
            {"item": "median follow-up (reverse Kaplan–Meier)",
             "value": f"{fixed(followup['median_reverse_km'], 1)} {s['time_unit']} (range "
                      f"{fixed(followup['min'], 1)}–{fixed(followup['max'], 1)})"},
            {"item": "randomised", "value": "yes" if s["randomised"] else "no"},
            {"item": "reconstructed pseudo-patient data",
             "value": "yes" if s["reconstructed"] else "no"}]
    endpoints = pd.DataFrame([{"endpoint": e["label"], "what counts as an event":
                               e.get("description", "")} for e in s["endpoints"].values()])
    blocks = [table_block(pd.DataFrame(rows)), table_block(endpoints)]
    fidelity = view.table("fidelity")
    if not fidelity.empty:
        bad = int((~fidelity["matched"].astype(bool)).sum())
        shown = fidelity[[c for c in ("figure", "unit", "target", "reconstructed", "abs_error",
                                      "tolerance", "required", "matched", "status")
                          if c in fidelity]]
        blocks += [p(f"Published vs reconstructed figures: each published figure recomputed "
                     f"from the reconstructed cohort; {len(fidelity) - bad} of {len(fidelity)}"
                     " within tolerance."),
                   {"kind": "details", "summary": "Show the fidelity table",
                    "blocks": [table_block(shown, digits=3, css={"matched": lambda v:
                                                                 "pass" if v else "fail"})]}]
    return section("study", "Study and data", blocks)


def methods(view: ResultsView) -> dict[str, Any]:
    """Methods written from the saved settings (families, priors, sampler, checks)."""
    s, ref, trt = view.summary, *view.arms
    spec = s["resolved_spec"]
    unit = s["study"]["time_unit"]
    blocks = [p(f"Time zero is the {s['study']['time_zero']}; times are in {unit}. The "
                f"treatment effect is the hazard ratio (HR) of {trt} vs {ref}; HR < 1 "
                f"favours {trt}. Frequentist reference: Kaplan–Meier estimates and log-rank "
                "tests (Aalen–Johansen cumulative incidence with Gray's test for competing "
                "causes) and the reverse Kaplan–Meier median follow-up.")]
    bayes = spec.get("bayes")
    if bayes:
        sampler, checks = s["provenance"]["sampler"], s["checks"]
        gate = checks["gate"]
        models = "; ".join(f"{f['label']}: {f['description']}" for f in s["families"].values())
        blocks.append(p(
            f"Bayesian analysis of {', '.join(view.endpoint_label(e) for e in bayes['endpoints'])}"
            f" with each model ({models}) under each prior on log HR listed below, by the "
            f"No-U-Turn sampler ({sampler['backend']}; {sampler['chains']} chains, "
            f"{sampler['draws']} draws after {sampler['tune']} tuning steps, target acceptance "
            f"{sampler['target_accept']}, seed {s['provenance']['seed']}). A fit failing the "
            f"diagnostics gate (R-hat ≤ {gate['r_hat_max']}, bulk and tail ESS ≥ "
            f"{gate['ess_bulk_min']:g}, at most {gate['divergences_max']} divergent "
            f"transitions, E-BFMI ≥ {gate['bfmi_min']}) was refitted once with "
            f"{sampler['retry_tune']} tuning steps and target acceptance "
            f"{sampler['retry_target_accept']}, and is flagged if it still fails."))
        blocks.append(p(
            f"Reported: posterior median HR with {100 * bayes['ci']:g}% equal-tailed credible "
            f"interval and HDI; P(HR < c) for c in "
            f"{', '.join(f'{c:g}' for c in bayes['hr_thresholds'])}; the probability of a "
            f"practically negligible effect (HR in {bayes['rope'][0]:g}–{bayes['rope'][1]:g}); "
            f"survival at {', '.join(f'{t:g}' for t in bayes['landmarks'])} {unit} and its "
            f"difference ({trt} − {ref}); restricted mean survival time to "
            f"{bayes['rmst_tau']:g} {unit}; every Monte Carlo estimate with its MCSE. Models "
            "are compared by PSIS-LOO with stacking weights. Checks: censoring-aware posterior "
            "predictive Kaplan–Meier bands, power-scaling sensitivity (ArviZ psens) and "
            f"small-sample warnings (an arm with fewer than {checks['few_events']} events, or "
            f"a posterior SD of log HR above {100 * checks['prior_dominance']:g}% of the prior "
            "SD)."))
        priors = pd.DataFrame([{"prior": r["name"], "log HR ~": log_hr_prior_text(r),
                                "worth (events at 1:1)":
                                fixed(r["effective_events_balanced"], 1),
                                "meaning": r["meaning"],
                                "source": r["source"]} for r in s["priors"]])
        blocks += [p("Priors on the log hazard ratio:"), table_block(priors)]
        primary = spec.get("primary")
        if primary:
            blocks.append(p("Pre-specified primary analysis: "
                            f"{view.endpoint_label(primary['endpoint'])}, "
                            f"{view.family_label(primary['family'])} model, {primary['prior']} "
                            "prior; every other fit is labelled secondary (other endpoints) or "
                            "sensitivity (the primary endpoint under another model or prior)."))
    return section("methods", "Methods", blocks)
