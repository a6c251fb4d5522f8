"""``plan.html``: the page of a planning output folder, a view of what ``bridgebayes plan``
saved (``plan.json``, ``tables/*.csv``, ``figures/*.png``), through the report's one template.

First screen: the question, the design prior (discounted as planned), the sample size each
success rule needs for the target assurance, and the assurance curves.  Then the power curves,
the operating characteristics with their Monte Carlo standard errors, the calibrated
thresholds, the design prior beside the analysis priors, and the provenance (collapsed).
Nothing is simulated or recomputed here.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bridgebayes.report.format import fixed, table_block
from bridgebayes.report.page import render_page
from bridgebayes.report.sections import p, section
from bridgebayes.report.view import ResultsView

__all__ = ["plan_page", "plan_sections"]


def _rule(rule: str) -> str:
    """``"logrank"`` → ``"log-rank test"``, ``"post_vague"`` → ``"vague prior"``."""
    return "log-rank test" if rule == "logrank" else f"{rule.removeprefix('post_')} prior"


def _rules(oc: pd.DataFrame) -> list[str]:
    return [c for c in oc.columns if (c == "logrank" or c.startswith("post_"))
            and not c.endswith("_mcse")]


def _with_mcse(value: float, mcse: float) -> str:
    return f"{fixed(value, 3)} ± {fixed(mcse, 3)}"


def _figure(name: str, caption: str) -> dict[str, Any]:
    return {"kind": "figure", "name": name, "caption": caption}


def _design_prior_text(doc: dict) -> str:
    d = doc["design_prior"]
    mean, sd = d["log_hr_mean"], d["log_hr_sd"]
    text = (f"What the future trial's true effect may be (source: {d['source']}): "
            f"log HR mean {fixed(mean, 2)} (HR {fixed(math.exp(mean), 2)}), SD "
            f"{fixed(sd, 2)}")
    discounts = []
    if d.get("a0") is not None and d["a0"] != 1:
        discounts.append(f"power prior a0 = {d['a0']:g}")
    if d.get("vague_weight"):
        discounts.append(f"{100 * d['vague_weight']:g}% weight on a vague component")
    if bias := d.get("bias"):
        discounts.append(f"a bias of the log HR Normal({bias['mu']:g}, {bias['sigma']:g}) per "
                         f"trial from the {bias['source']}, as a power prior a0 = "
                         f"{bias['equivalent_a0']:.2g}")
    return text + (f", discounted ({'; '.join(discounts)})." if discounts else ".")


def _answer(view: ResultsView, figures: dict[str, bytes]) -> dict[str, Any]:
    doc, oc = view.summary, view.table("operating_characteristics")
    ref, trt = doc["arms"]["reference"], doc["arms"]["treatment"]
    target = doc["target_assurance"]
    sizes = view.table("sample_size")
    largest = int(oc["n_total"].max())
    parts = []
    for row in sizes.to_dict(orient="records"):
        n = row["n_total"]
        parts.append(f"{_rule(row['rule'])}: N = {int(n)}" if pd.notna(n)
                     else f"{_rule(row['rule'])}: not reached up to N = {largest}")
    left = [p(f"Question: how many patients would a future trial of {trt} vs {ref} need, and "
              "how often would it succeed?", "question"),
            {"kind": "box", "class": "primary", "title": "Design prior",
             "text": _design_prior_text(doc)},
            p(f"Smallest total sample size reaching an assurance (probability of success, "
              f"averaged over the design prior) of at least {target:g}: " + "; ".join(parts)
              + f". Success: one-sided log-rank at alpha = {doc['alpha']:g}, or posterior "
              f"P(HR < {doc.get('threshold', 1.0):g}) > {doc['gamma']:g} under each analysis "
              f"prior. {doc.get('n_sims', '')} simulated trials per scenario.", "answer")]
    blocks: list[dict] = left
    if "assurance" in figures:
        blocks = [{"kind": "columns", "left": left, "right": [_figure(
            "assurance", f"Assurance vs total sample size N per success rule, with ±2 Monte "
            f"Carlo standard errors; the dashed line is the target {target:g}.")]}]
    return section("answer", "The answer in brief", blocks)


def _power(view: ResultsView, figures: dict[str, bytes]) -> dict[str, Any] | None:
    names = [n for n in figures if n.startswith("power_hr")]
    if not names:
        return None
    blocks = [_figure(n, f"Power vs total sample size N at a true HR of "
                         f"{n.removeprefix('power_hr')} (the design prior's baselines), per "
                         "success rule, with ±2 Monte Carlo standard errors.") for n in names]
    return section("power", "Power at fixed hazard ratios", blocks)


def _operating(view: ResultsView) -> dict[str, Any]:
    oc = view.table("operating_characteristics")
    rules = _rules(oc)
    shown = pd.DataFrame({
        "scenario": [("HR from the design prior" if n == "assurance" else
                      "HR = 1 (type I error)" if n == "null" else n.replace("hr=", "HR = "))
                     for n in oc["name"]],
        "N": oc["n_total"], "trials": oc["n_sims"],
        "expected events": [fixed(v, 1) for v in oc["expected_events"]],
        "expected duration": [fixed(v, 1) for v in oc["expected_duration"]]})
    for rule in rules:
        shown[f"P(success), {_rule(rule)}"] = [_with_mcse(v, m) for v, m in
                                              zip(oc[rule], oc[f"{rule}_mcse"], strict=True)]
    return section("operating-characteristics", "Operating characteristics", [
        p("Probability of success per scenario and rule, ± its Monte Carlo standard error "
          "sqrt(p (1 − p) / trials). Under HR = 1 it is the type I error.", "note"),
        table_block(shown)])


def _calibration(view: ResultsView) -> dict[str, Any] | None:
    cal = view.table("calibration")
    if cal.empty:
        return None
    doc = view.summary
    shown = pd.DataFrame({
        "N": cal["n_total"], "rule": [_rule(r) for r in cal["rule"]],
        f"type I at gamma = {doc['gamma']:g}": [_with_mcse(v, m) for v, m in zip(
            cal["type1"], cal["type1_mcse"], strict=True)],
        "calibrated gamma": [fixed(v, 4) for v in cal["gamma_calibrated"]],
        "type I, calibrated": [_with_mcse(v, m) for v, m in zip(
            cal["type1_calibrated"], cal["type1_calibrated_mcse"], strict=True)],
        "assurance, calibrated": [_with_mcse(v, m) for v, m in zip(
            cal["assurance_calibrated"], cal["assurance_calibrated_mcse"], strict=True)]})
    return section("calibration", "Calibrated thresholds", [
        p(f"The posterior threshold gamma that keeps the simulated one-sided type I error at "
          f"or below alpha = {doc['alpha']:g} at each N (in-sample: the same null trials), and "
          "the assurance with it.", "note"), table_block(shown)])


def _priors(view: ResultsView) -> dict[str, Any]:
    doc = view.summary
    d = doc["design_prior"]
    rows = [{"prior": "design prior (truth of the simulated trials)", "source": d["source"],
             "components (weight: mean, SD of log HR)":
                 f"1: {fixed(d['log_hr_mean'], 2)}, {fixed(d['log_hr_sd'], 2)} (summary)"}]
    for name, prior in doc["analysis_priors"].items():
        parts = [f"{fixed(w, 2)}: {fixed(m, 2)}, {fixed(s, 2)}"
                 for w, m, s in zip(prior["weights"], prior["means"], prior["sds"],
                                    strict=True)]
        rows.append({"prior": f"analysis prior “{name}”", "source": "plan.analysis",
                     "components (weight: mean, SD of log HR)": "; ".join(parts)})
    return section("priors", "Design prior and analysis priors", [
        p("The design prior generates the simulated trials' true effects; each analysis prior "
          "is what the future trial's analysis would use. Borrowing more than the design "
          "prior justifies shows up as type I error above alpha.", "note"),
        table_block(pd.DataFrame(rows))])


def _provenance(view: ResultsView) -> dict[str, Any]:
    doc = view.summary
    rows = [("plan id", doc["spec"]["id"]), ("spec sha256", doc["spec"]["sha256"]),
            ("seed", str(doc["seed"])), ("job fingerprint", str(doc["fingerprint"]))]
    rows += [(f"run: {k}", str(v)) for k, v in doc.get("run", {}).items()]
    rows += [(f"design: {k}", str(v)) for k, v in doc.get("design", {}).items()]
    rows += [(f"version: {k}", v) for k, v in doc["versions"].items()]
    return section("provenance", "Provenance", [
        table_block(pd.DataFrame(rows, columns=["item", "value"]))], collapsed=True)


def plan_sections(view: ResultsView, figures: dict[str, bytes]) -> list[dict[str, Any]]:
    """The plan page's sections, in page order."""
    out = [_answer(view, figures), _power(view, figures), _operating(view),
           _calibration(view), _priors(view), _provenance(view)]
    return [s for s in out if s is not None]


def plan_page(view: ResultsView) -> str:
    """The HTML of a planning output folder's page (figures read from ``figures/``)."""
    figures = {f.stem: f.read_bytes() for f in sorted((view.folder / "figures").glob("*.png"))}
    doc = view.summary
    ref, trt = doc["arms"]["reference"], doc["arms"]["treatment"]
    version = doc["versions"].get("bridgebayes", "")
    return render_page(
        title=doc.get("title") or f"Trial planning: {doc['spec']['id']}",
        subtitle=f"bridgebayes plan · {doc['spec']['id']} · {trt} (treatment) vs {ref} "
                 "(reference)", sections=plan_sections(view, figures), figures=figures,
        footer=f"Generated by bridgebayes {version} from the saved planning results in this "
               "folder (plan.json, tables/).")
