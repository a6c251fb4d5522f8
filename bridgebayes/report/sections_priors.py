"""The report's section on the priors: how much each weighs against the data, whether it
conflicts with them, and what the decision thresholds mean at this study's events — from
``results.json``'s ``prior_weight`` and its tables; blocks as in
:mod:`bridgebayes.report.sections`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bridgebayes.report.format import log_hr_prior_text, table_block
from bridgebayes.report.sections import p, section
from bridgebayes.report.view import ResultsView

__all__ = ["prior_weight"]


def prior_weight(view: ResultsView) -> dict[str, Any] | None:
    """Sentences per endpoint and prior; the weight, conflict and calibration tables."""
    saved = view.summary.get("prior_weight")
    if not saved:
        return None
    weight, conflict = view.table("prior_weight"), view.table("prior_data_conflict")
    blocks: list[dict] = [p(saved["method"], "note")]
    entries = [f"{view.endpoint_label(key.split('__')[0])}: {text}"
               for key, texts in saved["sentences"].items() for text in texts]
    blocks.append({"kind": "list", "entries": entries})
    if not weight.empty:
        mixture = _is_mixture(weight)
        shown = pd.DataFrame({
            "endpoint": weight["endpoint"].map(view.endpoint_label), "prior": weight["prior"],
            "log HR ~": [log_hr_prior_text(row) for row in weight.to_dict(orient="records")],
            "events (ref / trt)": [f"{a} / {b}" for a, b in zip(
                weight["events_reference"], weight["events_treatment"], strict=True)],
            "prior events, 1:1": weight["prior_events_balanced"],
            "prior events, this allocation": weight["prior_events"],
            "ELIR (events)": weight["elir_events"],
            "data (events)": weight["data_events"],
            "prior ÷ data": weight["prior_to_data"]})
        if mixture.any():  # the vague component's weight, prior and posterior, side by side
            shown.insert(3, "vague weight w", _mixture_only(weight, "vague_weight", mixture))
            shown.insert(4, "posterior weight of the vague component",
                         _mixture_only(weight, "posterior_vague_weight", mixture))
        blocks.append(table_block(shown, digits=1 if not mixture.any() else 2))
    if not conflict.empty:
        shown = pd.DataFrame({
            "endpoint": conflict["endpoint"].map(view.endpoint_label),
            "prior": conflict["prior"], "tail probability": conflict["p_value"],
            "conflict": conflict["conflict"].astype(bool),
            "flags HR below": conflict["detectable_hr_below"],
            "flags HR above": conflict["detectable_hr_above"]})
        blocks += [p(f"Prior predictive conflict check: conflict when the tail probability is "
                     f"at most {saved['conflict_threshold']:g}; the last two columns are the "
                     f"true HRs it flags with probability {saved['detection_power']:.0%} at "
                     "these events (– : none between 0.01 and 150).", "note"),
                   table_block(shown, css={"conflict": lambda v: "fail" if v else "pass"})]
    vague = view.table("vague_weight")
    if not vague.empty:
        rule = saved.get("vague_component", {}).get("bayes_factor_threshold")
        shown = pd.DataFrame({
            "endpoint": vague["endpoint"].map(view.endpoint_label), "family": vague["family"],
            "prior": vague["prior"], "vague weight w": vague["vague_weight"],
            "posterior weight of the vague component": vague["posterior_vague_weight"],
            "MCSE": vague["mcse"], "odds raised ×": vague["vague_bayes_factor"]})
        blocks += [p("Robust mixture priors, every fit: the posterior weight of the vague "
                     "component (the mean over the fit's draws of its share of the prior "
                     "density) beside its prior weight w; the data favour the vague component "
                     "when they raise its odds, and the conflict flag above is raised when "
                     f"the exact PEM posterior raises them at least {rule:g} times.", "note"),
                   table_block(shown, digits=3)]
    calibration = view.table("calibration")
    if not calibration.empty:
        wide = calibration.pivot_table(index=["endpoint", "prior", "threshold"],
                                       columns="scenario", values="rate", sort=False
                                       ).reset_index()
        wide["endpoint"] = wide["endpoint"].map(view.endpoint_label)
        c = float(calibration["hr_threshold"].iloc[0])
        wide = wide.rename(columns={"threshold": f"P(HR < {c:g}) above",
                                    "HR = 1": "how often, when HR = 1",
                                    "posterior": "how often, true HR from the posterior"})
        blocks += [p(f"Calibration at this study's design: how often the posterior probability "
                     f"P(HR < {c:g}) would exceed each threshold if the study were repeated "
                     "with its arm sizes and follow-up (censoring from each arm's reverse "
                     "Kaplan-Meier estimate, piecewise-exponential event times, the number of "
                     "events varying as it would), when there is no effect and when the true "
                     "HR is drawn from the posterior (Monte Carlo standard errors and the mean "
                     "number of events in tables/calibration.csv).", "note"),
                   {"kind": "details", "summary": "Show the calibration table",
                    "blocks": [table_block(wide, digits=3)]}]
    return section("prior-weight", "How much the priors weigh; prior-data conflict", blocks)


def _is_mixture(weight: pd.DataFrame) -> pd.Series:
    if "dist" not in weight:  # results written before robust mixture priors
        return pd.Series(False, index=weight.index)
    return weight["dist"] == "NormalMixture"


def _mixture_only(weight: pd.DataFrame, column: str, mixture: pd.Series) -> list:
    return [float(v) if m else "–" for v, m in zip(weight[column], mixture, strict=True)]
