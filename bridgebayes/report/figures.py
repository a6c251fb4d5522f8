"""The report's figures, drawn from the saved tables of a run (a view: nothing is computed).

:func:`figure_specs` lists every figure of a results view with its caption (also its alt
text) and the table slices it draws; :func:`render` draws them, through an optional cache
keyed by those slices, so a rerun re-renders only figures whose inputs changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bridgebayes.plots import (
    cif_figure,
    extrapolation_fan_figure,
    figure_png,
    forest_figure,
    hr_density_figure,
    km_posterior_figure,
    ppc_figure,
    summary_figure,
)
from bridgebayes.report.view import ResultsView

__all__ = ["FigureSpec", "adjustment_figures", "averaging_figures", "figure_specs", "render"]

#: Bumped when a figure's drawing changes (part of the cache key).
FIGURES_VERSION = 2


@dataclass(frozen=True)
class FigureSpec:
    """One figure: file stem, caption (= alt text), its input tables, and how to draw it."""

    name: str
    caption: str
    inputs: tuple[pd.DataFrame, ...]
    draw: Callable[[], object]
    section: str

    def digest(self) -> str:
        """SHA-256 of the inputs (CSV text) and the drawing version."""
        h = hashlib.sha256(f"{self.name}|{FIGURES_VERSION}".encode())
        for frame in self.inputs:
            h.update(frame.to_csv(index=False).encode())
        return h.hexdigest()


def _where(frame: pd.DataFrame, **match) -> pd.DataFrame:
    for column, value in match.items():
        frame = frame[frame[column] == value]
    return frame


def _two_arm(view: ResultsView) -> pd.DataFrame:
    d = view.table("decisions")
    return d[d["analysis"] == "two_arm"] if not d.empty else d


def _summary_figure(view: ResultsView) -> FigureSpec | None:
    """The first-screen figure, drawn from the saved headline table."""
    headline = view.table("headline")
    if headline.empty:
        return None
    members = int(headline["ensemble_members"].max())
    ensemble = ""
    if members:
        without = sorted({view.family_label(f) for f, n in zip(
            headline["family"], headline["ensemble_members"], strict=True) if not n})
        ensemble = (f" Light bars: the range of each value over the {members} reconstructed "
                    "cohorts of the reconstruction ensemble (exact posteriors)"
                    + (f"; not repeated for {', '.join(without)} (no exact posterior)"
                       if without else "") + ".")
    rope = headline[headline["quantity"] == "prob_rope"]
    negligible = (f" P({rope['threshold'].iloc[0]:g} ≤ HR ≤ "
                  f"{rope['threshold_upper'].iloc[0]:g}) is the probability of a practically "
                  "negligible difference." if len(rope) else "")
    endpoints = {e: view.endpoint_label(e) for e in dict.fromkeys(headline["endpoint"])}
    families = {f: view.family_label(f) for f in dict.fromkeys(headline["family"])}
    return FigureSpec(
        "summary", "Every endpoint, model and prior at a glance: the posterior hazard ratio "
        f"of {view.arms[1]} vs {view.arms[0]} (median and credible interval; HR < 1 favours "
        f"{view.arms[1]}) and the posterior probabilities that it is below each threshold."
        f"{negligible} The pre-specified primary analysis is shaded and marked PRIMARY."
        f"{ensemble}", (headline,),
        lambda: summary_figure(headline, arms=view.arms, endpoint_labels=endpoints,
                               family_labels=families), "answer")


def _endpoint_figures(view: ResultsView) -> list[FigureSpec]:
    specs = []
    km, at_risk = view.table("km"), view.table("at_risk")
    curves, density, d = view.table("posterior_curves"), view.table("hr_density"), _two_arm(view)
    bayes = view.summary.get("resolved_spec", {}).get("bayes")
    endpoints = bayes["endpoints"] if bayes else sorted(set(km["endpoint"]))
    for endpoint in endpoints:
        label = view.endpoint_label(endpoint)
        k, r = _where(km, endpoint=endpoint), _where(at_risk, endpoint=endpoint)
        if not bayes:
            specs.append(FigureSpec(
                f"km_{endpoint}", f"{label}: Kaplan–Meier curves per arm (| = censored) with "
                "numbers at risk.", (k, r), lambda k=k, r=r, label=label: km_posterior_figure(
                    k, r, arms=view.arms, endpoint=label, time_unit=view.unit,
                    time_zero=view.time_zero), f"endpoint-{endpoint}"))
            continue
        prior = bayes["priors"][endpoint][0]
        for family in bayes["families"]:
            fam = view.family_label(family)
            c = _where(curves, endpoint=endpoint, family=family, prior=prior)
            stem = f"{endpoint}__{family}__{prior}"
            level = float(c["level"].iloc[0]) if len(c) else 0.95
            specs.append(FigureSpec(
                f"km_{stem}", f"{label}: Kaplan–Meier curves (| = censored) with the posterior "
                f"median survival (dotted) and {100 * level:g}% credible band of the {fam} "
                f"model under the {prior} prior; numbers at risk below.", (k, r, c),
                lambda k=k, r=r, c=c, label=label, fam=fam, prior=prior: km_posterior_figure(
                    k, r, c, arms=view.arms, endpoint=label, time_unit=view.unit,
                    time_zero=view.time_zero,
                    title=f"{label}: Kaplan–Meier and posterior survival ({fam}, {prior} "
                          "prior)"), f"endpoint-{endpoint}"))
            dens = _where(density, endpoint=endpoint, family=family, prior=prior)
            rows = _where(d, endpoint=endpoint, family=family, prior=prior)
            probs = rows[rows["quantity"] == "prob_hr_below"]
            median = float(rows[rows["quantity"] == "hr"]["estimate"].iloc[0])
            specs.append(FigureSpec(
                f"hr_{stem}", f"{label}: posterior density of the HR ({fam}, {prior} prior); "
                "shaded areas are P(HR < c), annotated in percent.", (dens, probs),
                lambda dens=dens, probs=probs, median=median, label=label, fam=fam,
                prior=prior: hr_density_figure(
                    dens, dict(zip(probs["threshold"], probs["probability"], strict=True)),
                    median=median, arms=view.arms, endpoint=label,
                    title=f"{label}: posterior HR ({fam}, {prior} prior)"),
                f"endpoint-{endpoint}"))
    return specs


def averaging_figures(view: ResultsView) -> list[FigureSpec]:
    """The extrapolation fan of every endpoint (its first prior): every model and the stack
    to the horizon, the end of follow-up marked."""
    averaging = view.summary.get("model_averaging")
    curves = view.table("extrapolation_curves")
    if averaging is None or curves.empty:
        return []
    bayes = view.summary["resolved_spec"]["bayes"]
    km, specs = view.table("km"), []
    for endpoint in bayes["endpoints"]:
        prior = bayes["priors"][endpoint][0]
        c = _where(curves, endpoint=endpoint, prior=prior)
        models = [m for m in dict.fromkeys(c["family"]) if m != "stacked"]
        stacked = "stacked" if "stacked" in set(c["family"]) else None
        labels = {m: view.family_label(m) for m in models} | {"stacked": "stacked, all models"}
        label = view.endpoint_label(endpoint)
        followup = tuple(averaging["followup"][endpoint][k] for k in ("reference", "treatment"))
        k = _where(km, endpoint=endpoint)
        specs.append(FigureSpec(
            f"fan_{endpoint}__{prior}", f"{label}: posterior median survival of "
            + ("every model " if len(models) > 1 else f"the {labels[models[0]]} model ")
            + f"to {averaging['horizon']:g} {view.unit} ({prior} prior)"
            + (", the stacked posterior bold with its credible band" if stacked else "")
            + f", Kaplan–Meier in grey; the dashed line marks each arm's last observed time "
            f"({followup[0]:g} and {followup[1]:g} {view.unit}); the shaded region beyond it "
            "is extrapolated: there the model" + ("s" if len(models) > 1 else "")
            + ", not the data, decide" + ("" if len(models) > 1 else "s") + " the curves.", (c, k),
            lambda c=c, k=k, models=models, stacked=stacked, labels=labels, label=label,
            followup=followup: extrapolation_fan_figure(
                c, arms=view.arms, followup=followup, models=models + ([stacked] if stacked
                                                                        else []),
                labels=labels, endpoint=label, time_unit=view.unit, time_zero=view.time_zero,
                km=k, stacked=stacked), "model-averaging"))
    return specs


def figure_specs(view: ResultsView) -> list[FigureSpec]:
    """Every figure of the report, in page order."""
    specs = []
    d = _two_arm(view)
    if (summary := _summary_figure(view)) is not None:
        specs.append(summary)
    specs += _endpoint_figures(view)
    specs += averaging_figures(view)
    specs += adjustment_figures(view)
    if not d.empty:
        hr = d[d["quantity"] == "hr"]
        forest = pd.DataFrame({"label": [f"{view.endpoint_label(e)} · {view.family_label(f)}"
                                         for e, f in zip(hr["endpoint"], hr["family"],
                                                         strict=True)],
                               "prior": hr["prior"], "median": hr["estimate"],
                               "lower": hr["lower"], "upper": hr["upper"]})
        specs.append(FigureSpec(
            "forest", f"Posterior median HR and credible interval of every fit; HR < 1 favours "
            f"{view.arms[1]}.", (forest,), lambda f=forest: forest_figure(f, arms=view.arms),
            "hazard-ratios"))
    comp = view.summary.get("competing")
    if comp is not None:
        endpoint = comp["endpoint"]
        aj = _where(view.table("aalen_johansen"), endpoint=endpoint)
        post = view.table("competing_curves")
        causes = view.summary["study"]["endpoints"][endpoint].get("causes", {})
        model = (f" ({view.family_label(post['family'].iloc[0])} model, "
                 f"{post['prior'].iloc[0]} prior)" if len(post) else "")
        specs.append(FigureSpec(
            f"cif_{endpoint}", f"Cumulative incidence of {' and '.join(causes.values())} per "
            f"arm: Aalen–Johansen steps with posterior median and 95% bands{model}.",
            (aj, post), lambda aj=aj, post=post: cif_figure(
                aj, post if len(post) else None, arms=view.arms, causes=list(causes),
                cause_labels=causes, time_unit=view.unit, time_zero=view.time_zero),
            "competing-risks"))
    ppc = view.table("ppc")
    if not ppc.empty:
        for (endpoint, family, prior), part in ppc.groupby(["endpoint", "family", "prior"],
                                                           sort=False):
            title = (f"{view.endpoint_label(endpoint)} — {view.family_label(family)} "
                     f"({prior} prior)")
            specs.append(FigureSpec(
                f"ppc_{endpoint}__{family}__{prior}", f"Posterior predictive check: {title}: "
                "observed Kaplan–Meier against the band of replicated ones.", (part,),
                lambda part=part, title=title: ppc_figure(
                    part, arms=view.arms, title=title, time_unit=view.unit,
                    time_zero=view.time_zero), "checks"))
    return specs


def adjustment_figures(view: ResultsView) -> list[FigureSpec]:
    """The bias analysis's tipping-point curve and, with covariates, the propensity-score
    overlap of the non-randomised comparison."""
    from bridgebayes.plots.adjustment import overlap_figure, tipping_figure

    if view.summary.get("adjustment") is None:
        return []
    grid, points = view.table("adjustment_tipping_grid"), view.table("adjustment_tipping_points")
    specs = [FigureSpec(
        "tipping_point", "Bias analysis: posterior probability that the HR is below 1 after "
        f"removing a bias in favour of {view.arms[1]} of the size on the horizontal axis (a "
        "factor on the HR); dashed lines mark where it falls below the thresholds, with the "
        "strength of the weakest confounder that could cause that bias.", (grid, points),
        lambda: tipping_figure(grid, points, treatment=view.arms[1]), "non-randomised")]
    scores = view.table("adjustment_propensity")
    if not scores.empty:
        specs.append(FigureSpec(
            "propensity_overlap", "Propensity scores by arm (logistic model of the arm on the "
            "covariates); dotted lines at 0.05 and 0.95, beyond which weights become extreme.",
            (scores,), lambda: overlap_figure(scores, arms=view.arms), "non-randomised"))
    return specs


def render(specs: list[FigureSpec], *, cache: Callable[[dict, Callable[[], bytes]], bytes]
           | None = None) -> dict[str, bytes]:
    """PNG bytes of every figure, by name (through ``cache(key, make)`` when given)."""
    out = {}
    for spec in specs:
        def make(spec=spec) -> bytes:
            return figure_png(spec.draw())
        out[spec.name] = make() if cache is None else cache({"figure": spec.name,
                                                             "digest": spec.digest()}, make)
    return out
