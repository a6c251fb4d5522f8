"""The self-contained HTML report of a run (``report.html`` plus ``figures/*.png``).

One page a clinician can read and a statistician can audit: a banner when the data are
reconstructed pseudo-patient data, provenance, the fidelity of the reconstruction, an
auto-written methods paragraph, a plain-language summary, and per endpoint the
Kaplan–Meier curves with posterior survival and the posterior of the hazard ratio, then
the forest plot and the decision, sensitivity, model-comparison and diagnostics tables.
Optional sections (reconstruction sensitivity, competing risks, posterior predictive
checks, safety) appear only when their data are given.

The page has no external resource: figures are base64-embedded PNGs, CSS is inline and
there is no script.  Every piece of text is escaped with :func:`html.escape`.

Examples
--------
>>> report = build_report(spec=spec, cohort=cohort, reference=reference,
...                       bayes=bayes, fidelity=fidelity)  # doctest: +SKIP
>>> report.write("reports/cao2025")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bridgebayes.core import provenance
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import Cohort
from bridgebayes.data.endpoints import ENDPOINTS
from bridgebayes.inference.diagnostics import GATE
from bridgebayes.models.priors import named_log_hr_prior
from bridgebayes.plots import figures as plots
from bridgebayes.reference.analysis import ReferenceAnalysis
from bridgebayes.report.decision_table import decision_rows, fixed

if TYPE_CHECKING:  # analysis imports PyMC; the report itself does not need it
    from bridgebayes.run.bayes import BayesResult
    from bridgebayes.run.spec import Spec

__all__ = ["SENSITIVITY_COLUMNS", "CompetingRisksInput", "Report", "ReportError",
           "build_report"]

#: Columns of the reconstruction-sensitivity table.
SENSITIVITY_COLUMNS = ("endpoint", "family", "prior", "quantity", "main", "min", "median", "max")

_FAMILY_TEXT = {
    "piecewise_exponential": "piecewise-exponential proportional-hazards model ({n} intervals "
                             "with cut points at event-time quantiles; independent weak "
                             "Gamma(0.1, 0.1/r) priors on the baseline hazards, r the crude "
                             "event rate)",
    "weibull": "Weibull proportional-hazards model (log shape ~ Normal(0, 1); weak Gamma(0.1) "
               "prior on the scale centred on the mean observed time)",
}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
color:#1a1a1a;background:#fff;line-height:1.45}
main{max-width:1050px;margin:0 auto;padding:1.5rem 2rem 4rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2.4rem}h3{margin-top:1.6rem}
.subtitle{color:#555;margin-top:0}
.banner{background:#fff3cd;border:2px solid #d39e00;border-radius:6px;padding:.8rem 1rem;
font-weight:600;margin:1rem 0}
.summary{background:#eef6fb;border-left:5px solid #0072B2;padding:.6rem 1rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.86rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#146c2e;font-weight:600}.fail{color:#b00020;font-weight:700}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88rem;color:#444}
nav ul{columns:2;font-size:.9rem}.note{font-size:.88rem;color:#444}
code{background:#f5f5f5;padding:0 .2rem}
.wide{overflow-x:auto}.wide td{white-space:nowrap}
"""


class ReportError(BridgeBayesError):
    """A report input is malformed (e.g. a sensitivity table without its columns)."""


@dataclass(frozen=True)
class CompetingRisksInput:
    """What the competing-risks section shows.

    Attributes
    ----------
    endpoint
        The competing-risks endpoint of the cohort (Aalen–Johansen curves are computed
        from it).
    posterior
        Optional posterior cumulative incidence ``time, arm, cause, median, lower, upper``.
    summary
        Optional table shown under the figure (e.g. posterior CIF differences).
    illness_death
        Optional landmark table of the illness–death model (OS, PFS, CIFs, joint statements).
    sentences
        Plain-language statements shown above the tables.
    model
        What the posterior bands come from (family and prior), for the caption.
    adequacy
        Optional posterior CIF vs Aalen–Johansen table (``inside_band`` per row).
    """

    endpoint: str = "relapse_nrm"
    posterior: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    illness_death: pd.DataFrame | None = None
    sentences: tuple[str, ...] = ()
    model: str = ""
    adequacy: pd.DataFrame | None = None


@dataclass(frozen=True)
class Report:
    """A built report: the HTML page and its figures (PNG bytes by file stem)."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)

    def write(self, folder: str | Path) -> Path:
        """Write ``figures/<name>.png`` and then ``report.html`` into ``folder``.

        Each file is written to a temporary name and renamed, the page last, so a
        ``report.html`` never refers to a figure that is not there yet.  Returns the page.
        """
        folder = Path(folder)
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        for name, png in self.figures.items():
            _replace(folder / "figures" / f"{name}.png", png)
        return _replace(folder / "report.html", self.html.encode("utf-8"))


def _replace(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- HTML primitives

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "∞" if math.isinf(value) else f"{value:.{digits}f}"
    return str(value)


def _pct(p: float) -> str:
    return "–" if p is None or math.isnan(p) else f"{100 * p:.0f}%"


def _table(frame: pd.DataFrame, *, digits: int = 2, classes: Mapping[str, Callable] = ()) -> str:
    """An escaped HTML table; ``classes`` maps a column to a function value -> CSS class."""
    classes = dict(classes)
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            css = classes[column](value) if column in classes else ""
            if isinstance(value, int | float | np.number) and not isinstance(value, bool):
                css = (css + " num").strip()
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{_e(_num(value, digits))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><thead><tr>{head}</tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _figure(name: str, png: bytes, caption: str, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{_e(name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>')


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def _sampler_name(backend: str) -> str:
    """The sampler as a methods section names it (models are written in PyMC either way)."""
    v = provenance.versions()
    if backend == "nutpie":
        return (f"the No-U-Turn sampler of nutpie {v.get('nutpie', '')} (models written in "
                f"PyMC {v.get('pymc', '')})")
    return f"the No-U-Turn sampler of PyMC {v.get('pymc', '')}"


def _p(text: str, css: str = "") -> str:
    return f'<p class="{css}">{_e(text)}</p>' if css else f"<p>{_e(text)}</p>"


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Endpoint names in capitals, short family labels, readable cause/transition/quantity
    names (``plots.display_label``), for display."""
    out = frame.copy()
    if "endpoint" in out:
        out["endpoint"] = out["endpoint"].astype(str).str.upper()
    if "family" in out:
        out["family"] = out["family"].map(plots.family_label)
    for column in ("cause", "transition", "quantity"):
        if column in out:
            out[column] = out[column].map(lambda v: plots.display_label(v)
                                          if isinstance(v, str) else v)
    return out


# ---------------------------------------------------------------- the builder

class _Builder:
    """Collects figures and sections; one method per section."""

    def __init__(self, spec: Spec, cohort: Cohort, reference: ReferenceAnalysis,
                 bayes: BayesResult | None) -> None:
        self.spec, self.cohort, self.reference, self.bayes = spec, cohort, reference, bayes
        self.arms: tuple[str, str] = tuple(spec.arms)
        self.figures: dict[str, bytes] = {}
        self.toc: list[tuple[str, str]] = []

    def figure(self, name: str, fig, caption: str) -> str:
        png = plots.figure_png(fig)
        self.figures[name] = png
        return _figure(name, png, caption, alt=caption)

    def section(self, anchor: str, title: str, body: str) -> str:
        self.toc.append((anchor, title))
        return _section(anchor, title, body)

    # -- helpers on the Bayesian results
    @property
    def primary_prior(self) -> str:
        return self.spec.bayes.priors[0]

    def hr_rows(self) -> pd.DataFrame:
        d = self.bayes.decisions
        hr = d[d["quantity"] == "HR"][["endpoint", "family", "prior", "estimate", "lower",
                                       "upper"]]
        return hr.rename(columns={"estimate": "median"}).reset_index(drop=True)

    def gate_passed(self, endpoint: str, family: str, prior: str) -> bool:
        g = self.bayes.gates
        row = g[(g["endpoint"] == endpoint) & (g["family"] == family) & (g["prior"] == prior)]
        return bool(row["passed"].all())

    def probability(self, endpoint: str, family: str, prior: str, c: float) -> float:
        d = self.bayes.decisions
        row = d[(d["quantity"] == "P(HR < c)") & (d["threshold"] == c) & (d["endpoint"] == endpoint)
                & (d["family"] == family) & (d["prior"] == prior)]
        return float(row["probability"].iloc[0]) if len(row) else float("nan")

    # -- sections
    def banner(self) -> str:
        if not self.spec.reconstructed:
            return ""
        return ('<div class="banner" id="reconstructed-banner">' + _e(
            "Reconstructed pseudo-patient data: the cohort analysed here was rebuilt from the "
            "paper's published summary figures; it is not the study's patient-level data. "
            "Every estimate inherits the uncertainty of that reconstruction (see the fidelity "
            "table) and must not be read as a re-analysis of the real patients.") + "</div>")

    def summary(self) -> str:
        ref, trt = self.arms
        items = []
        if self.bayes is not None:
            for endpoint in self.spec.bayes.endpoints:
                label = ENDPOINTS[endpoint].label if endpoint in ENDPOINTS else endpoint
                for prior in self.spec.bayes.priors:
                    parts = []
                    for family in self.spec.bayes.families:
                        key = f"{endpoint}__{family}__{prior}"
                        p = float(np.mean(np.asarray(self.bayes.log_hr[key]) < 0))
                        failed = "" if self.gate_passed(endpoint, family, prior) else \
                            ", diagnostics FAILED: do not use"
                        parts.append(f"{_pct(p)} ({plots.family_label(family)} model{failed})")
                    article = "an" if prior[:1] in "aeiou" else "a"
                    items.append(
                        f"Under {article} {prior} prior, the probability that {trt} lowers the "
                        f"{label} ({endpoint.upper()}) hazard compared with {ref} is "
                        + " / ".join(parts) + ".")
        priors = list(self.spec.bayes.priors) if self.bayes is not None else []
        named = ", ".join(priors[:-1]) + f" and {priors[-1]}" if len(priors) > 1 else \
            "".join(priors)
        caveat = (f"Small study ({int((self.cohort.endpoint('os').arm == 1).sum())} {trt} vs "
                  f"{int((self.cohort.endpoint('os').arm == 0).sum())} {ref} patients): "
                  "probabilities depend visibly on the prior"
                  + (f"; compare the {named} rows before drawing conclusions." if len(priors) > 1
                     else "."))
        if self.bayes is not None:
            notes = sorted({n for text in self.bayes.gates["notes"].fillna("")
                            for n in str(text).split(" | ") if n})
            if notes:
                caveat += (" Small-sample warnings (the answer rests largely on the prior): "
                           + "; ".join(notes) + ".")
        if self.spec.reconstructed:
            caveat += " The data are reconstructed pseudo-patient data (see the banner)."
        body = "<ul>" + "".join(f"<li>{_e(t)}</li>" for t in items) + "</ul>" if items else \
            _p("No Bayesian analysis in this spec; the frequentist reference analysis follows.")
        return self.section("summary", "Summary for clinicians",
                            f'<div class="summary">{body}{_p(caveat, "note")}</div>')

    def provenance(self, fidelity: pd.DataFrame | None) -> str:
        spec = self.spec
        rows = [("analysis id", spec.id), ("spec file", spec.path.name),
                ("spec sha256", spec.sha256), ("cohort file", spec.cohort.name),
                ("cohort sha256", provenance.file_sha256(spec.cohort)),
                ("reconstructed pseudo-patient data", "yes" if spec.reconstructed else "no"),
                ("arms (reference / treatment)", f"{self.arms[0]} / {self.arms[1]}")]
        if spec.published is not None:
            rows.append(("published summary sha256", provenance.file_sha256(spec.published)))
        if self.bayes is not None:
            s = self.bayes.sampler
            rows += [("seed", spec.bayes.seed),
                     ("sampler", f"{_sampler_name(s.backend)}, {s.chains} chains × {s.draws} "
                                 f"draws after "
                                 f"{s.tune} tuning steps, target acceptance {s.target_accept}")]
        rows += [(f"version: {k}", v) for k, v in provenance.versions().items()]
        body = _table(pd.DataFrame(rows, columns=["item", "value"]))
        if fidelity is not None and not fidelity.empty:
            shown = fidelity[["figure", "unit", "target", "reconstructed", "abs_error",
                              "tolerance", "required", "matched"]]
            n_bad = int((~fidelity["matched"].astype(bool)).sum())
            body += ("<h3>Published vs reconstructed figures</h3>"
                     + _p(f"Each published figure recomputed from the reconstructed cohort; "
                          f"{len(fidelity) - n_bad} of {len(fidelity)} within tolerance.")
                     + _table(shown, digits=3, classes={"matched": lambda v:
                                                        "pass" if v else "fail"}))
        return self.section("provenance", "Provenance and data fidelity", body)

    def methods(self) -> str:
        ref, trt = self.arms
        text = [f"Time zero is the transplant; times are in months. The treatment effect is the "
                f"hazard ratio (HR) of {trt} vs {ref}; HR < 1 favours {trt}."]
        text.append("Frequentist reference: Kaplan–Meier estimates, log-rank tests, "
                    "Aalen–Johansen cumulative incidence with Gray's test for relapse vs "
                    "non-relapse mortality, and reverse Kaplan–Meier median follow-up.")
        priors_html = ""
        if self.bayes is not None:
            b = self.spec.bayes
            models = "; ".join(_FAMILY_TEXT.get(f, f).format(n=b.n_intervals) for f in b.families)
            s = self.bayes.sampler
            text.append(
                f"Bayesian reanalysis of {', '.join(e.upper() for e in b.endpoints)} with each "
                f"of: {models}. Each model was fitted under each prior on log HR listed below "
                f"with {_sampler_name(s.backend)} ({s.chains} chains, {s.draws} draws after "
                f"{s.tune} tuning steps, target acceptance {s.target_accept}, seed {b.seed}). "
                f"A fit failing the diagnostics gate (R-hat ≤ {GATE['r_hat_max']}, bulk and "
                f"tail ESS ≥ {GATE['ess_bulk_min']:g}, {GATE['divergences_max']} divergent "
                f"transitions, E-BFMI ≥ {GATE['bfmi_min']} in every chain) was refitted once "
                f"with {s.retry_tune} tuning steps and target acceptance "
                f"{s.retry_target_accept}, and is flagged if it still fails.")
            text.append(
                f"Reported: posterior median HR with 95% equal-tailed credible interval; "
                f"P(HR < c) for c in {', '.join(f'{c:g}' for c in b.hr_thresholds)}; the "
                f"probability of a practically negligible effect (HR in {b.rope[0]:g}–"
                f"{b.rope[1]:g}); survival at {', '.join(f'{t:g}' for t in b.landmarks)} months "
                f"and its difference ({trt} − {ref}); restricted mean survival time to "
                f"{b.rmst_tau:g} months. Models are compared by PSIS-LOO with stacking weights.")
            text.append(
                "Model checks: a censoring-aware posterior predictive check (Kaplan–Meier curves "
                "of data sets replicated from the posterior, censored at each patient's observed "
                "censoring time or a draw from the reverse-KM distribution, against the observed "
                "curve) under the first prior; power-scaling sensitivity (ArviZ psens) of every "
                "fit to the prior and the likelihood; small-sample warnings when an arm has fewer "
                "than 5 events or the posterior SD of log HR exceeds 80% of the prior SD.")
            extra = []
            if self.spec.ensemble:
                extra.append(f"the same decisions on each of the {len(self.spec.ensemble)} "
                             "reconstruction-ensemble cohorts, from the exact posterior by "
                             "quadrature (same priors and cut-point rule)")
            if self.spec.competing is not None:
                c = self.spec.competing
                extra.append(
                    "relapse vs non-relapse mortality by cause-specific hazards ("
                    + ", ".join(plots.family_label(f) for f in c.families) + "; priors "
                    + ", ".join(c.priors) + "), the cumulative incidence by numerical "
                    "integration, from the exact posterior per cause (the likelihood "
                    "factorises), checked against Aalen–Johansen"
                    + ("; and an illness–death model (Weibull transitions, clock reset after "
                       "relapse; first prior) giving OS, PFS and both incidences from one "
                       "posterior" if c.illness_death else ""))
            extra.append("safety outcomes by Beta-binomial models (incidences) and Weibull/PEM "
                         "models (time to engraftment) where the cohort records them")
            text.append("Secondary analyses: " + "; ".join(extra) + ".")
            rows = []
            for name in b.priors:
                named = named_log_hr_prior(name)
                rows.append({"prior": name, "log HR ~": f"Normal({named.prior.kwargs['mu']:.2f}, "
                             f"{named.prior.kwargs['sigma']:.2f})", "meaning": named.meaning,
                             "source": named.source})
            priors_html = "<h3>Priors on the log hazard ratio</h3>" + _table(pd.DataFrame(rows))
        return self.section("methods", "Methods",
                            "".join(_p(t) for t in text) + priors_html)

    def endpoints(self) -> str:
        parts = []
        for endpoint in (self.spec.bayes.endpoints if self.bayes is not None else ENDPOINTS):
            data = self.cohort.endpoint(endpoint)
            label = ENDPOINTS[endpoint].label if endpoint in ENDPOINTS else endpoint
            parts.append(f'<h3 id="endpoint-{_e(endpoint)}">{_e(label)} '
                         f'({_e(endpoint.upper())})</h3>')
            if self.bayes is None:
                parts.append(self.figure(f"km_{endpoint}", plots.km_posterior_figure(data),
                                         f"{endpoint.upper()}: Kaplan–Meier curves per arm "
                                         "with numbers at risk."))
                continue
            prior = self.primary_prior
            for family in self.spec.bayes.families:
                key = f"{endpoint}__{family}__{prior}"
                c = self.bayes.curves
                curves = c[(c["endpoint"] == endpoint) & (c["family"] == family)
                           & (c["prior"] == prior)].drop(columns=["endpoint", "family", "prior"])
                fam = plots.family_label(family)
                parts.append(self.figure(
                    f"km_{key}", plots.km_posterior_figure(
                        data, curves, title=f"{endpoint.upper()}: Kaplan–Meier and posterior "
                                            f"survival ({fam}, {prior} prior)"),
                    f"{endpoint.upper()}: Kaplan–Meier curves (steps, | = censored) with the "
                    f"posterior median survival (dashed) and 95% credible band of the {fam} "
                    f"model under the {prior} prior; numbers at risk below."))
                parts.append(self.figure(
                    f"hr_{key}", plots.hr_density_figure(
                        self.bayes.log_hr[key], arms=self.arms, endpoint=endpoint.upper(),
                        thresholds=self.spec.bayes.hr_thresholds,
                        title=f"{endpoint.upper()}: posterior HR ({fam}, {prior} prior)"),
                    f"{endpoint.upper()}: posterior density of the HR ({fam}, {prior} prior); "
                    f"shaded areas are P(HR < c), annotated in percent."))
                lines = "".join(f"<li>{_e(line)}</li>" for line in self.bayes.sentences[key])
                parts.append(f'<p class="note">In words ({_e(fam)} model, {_e(prior)} prior):'
                             f'</p><ul class="note">{lines}</ul>')
        return self.section("endpoints", "Results per endpoint", "".join(parts))

    def forest(self) -> str:
        rows = self.hr_rows()
        fig = plots.forest_figure(rows, arms=self.arms)
        return self.section("forest", "Hazard ratios across endpoints, models and priors",
                            self.figure("forest", fig, "Posterior median HR and 95% credible "
                                        f"interval; HR < 1 favours {self.arms[1]}."))

    def landmarks(self) -> str:
        ref, trt = self.arms
        d = self.bayes.decisions
        part = d[d["quantity"].str.match(r"^(S|RMST)\(")].copy()
        digits = np.where(part["quantity"].str.startswith("S("), 0, 1)
        scale = np.where(digits == 0, 100.0, 1.0)
        part["value"] = [f"{fixed(m * k, n)} [{fixed(lo * k, n)}, {fixed(hi * k, n)}]"
                         for m, lo, hi, k, n in zip(part["estimate"], part["lower"],
                                                    part["upper"], scale, digits, strict=True)]
        part["column"] = [q.replace(" difference", "") if q.endswith("difference") else q
                          for q in part["quantity"]]
        part["column"] = [("Δ " + c) if q.endswith("difference") else f"{c} {a}"
                          for c, q, a in zip(part["column"], part["quantity"], part["arm"],
                                             strict=True)]
        table = part.pivot_table(index=["endpoint", "family", "prior"], columns="column",
                                 values="value", aggfunc="first", sort=False).reset_index()
        table.columns.name = None
        table["endpoint"] = table["endpoint"].str.upper()
        table["family"] = table["family"].map(plots.family_label)
        note = _p("Posterior median [95% credible interval]. S(t): survival at t months, in "
                  "percent; RMST(τ): restricted mean survival time to τ months, in months; "
                  f"Δ: {trt} − {ref} (positive favours {trt}).", "note")
        return self.section("landmarks", "Landmark survival and RMST",
                            note + '<div class="wide">' + _table(table) + "</div>")

    def decision_tables(self) -> str:
        ref, trt = self.arms
        prior = self.primary_prior
        families = tuple(self.spec.bayes.families)
        labels = {f: plots.family_label(f) for f in families}
        parts = [_p(f"Under the {prior} prior, per endpoint and model.  HR: {trt} vs {ref} "
                    f"(HR < 1 favours {trt}); CrI: equal-tailed credible interval; HDI: highest "
                    f"density interval; Δ survival: {trt} − {ref} in percentage points; the "
                    f"AFT factor (Weibull) is the ratio of median survival times, {trt} / "
                    f"{ref}; median survival is 'not reached by t months' when the posterior "
                    "median survival curve stays above 50% up to t, the horizon of the model "
                    "curves, and is marked as a model extrapolation where it lies beyond the "
                    "last follow-up.  Other priors: tables/decisions.csv.", "note")]
        for endpoint in self.spec.bayes.endpoints:
            label = ENDPOINTS[endpoint].label if endpoint in ENDPOINTS else endpoint
            failed = frozenset(f for f in families
                               if not self.gate_passed(endpoint, f, prior))
            table = decision_rows(self.bayes.decisions, endpoint=endpoint, prior=prior,
                                  families=families, labels=labels, failed=failed,
                                  followup=float(np.max(self.cohort.endpoint(endpoint).time)))
            parts.append(f"<h3>{_e(label)} ({_e(endpoint.upper())})</h3>" + _table(table))
        return self.section("decisions", "Decision table", "".join(parts))

    def prior_sensitivity(self, power_scaling: pd.DataFrame | None = None) -> str:
        rows = []
        hr = self.hr_rows()
        for (endpoint, family), _ in hr.groupby(["endpoint", "family"], sort=False):
            for prior in self.spec.bayes.priors:
                r = hr[(hr["endpoint"] == endpoint) & (hr["family"] == family)
                       & (hr["prior"] == prior)].iloc[0]
                row = {"endpoint": endpoint.upper(), "family": plots.family_label(family),
                       "prior": prior, "HR median": r["median"],
                       "95% CrI": f"{r['lower']:.2f} to {r['upper']:.2f}"}
                for c in self.spec.bayes.hr_thresholds:
                    row[f"P(HR < {c:g})"] = _pct(self.probability(endpoint, family, prior, c))
                rows.append(row)
        body = (_p("How the answer moves with the prior: the same data and model under each "
                   "prior.", "note") + _table(pd.DataFrame(rows)))
        if power_scaling is not None and not power_scaling.empty:
            body += (_p("Power-scaling sensitivity (ArviZ psens; Kallioinen et al. 2023): how "
                        "much each posterior moves when the prior or the likelihood is raised "
                        "to a power near 1. Values above 0.05 are flagged: 'prior-data "
                        "conflict' when both are sensitive, 'strong prior / weak likelihood' "
                        "when only the prior is.", "note")
                     + '<div class="wide">' + _table(_labelled(power_scaling), digits=3)
                     + "</div>")
        return self.section("prior-sensitivity", "Prior sensitivity", body)

    def loo(self) -> str:
        cmp = self.bayes.comparison
        if cmp.empty:
            body = _p("Only one model family was fitted; no comparison.", "note")
        else:
            table = cmp[["endpoint", "prior", "family", "rank", "elpd_loo", "se", "elpd_diff",
                         "dse", "p_loo", "weight"]]
            body = _p("PSIS-LOO expected log predictive density (higher is better), its "
                      "difference from the best model with standard error, and stacking "
                      "weights.", "note") + _table(_labelled(table))
        return self.section("loo", "Model comparison (LOO)", body)

    def diagnostics(self) -> str:
        g = _labelled(self.bayes.gates)
        shown = pd.DataFrame({"endpoint": g["endpoint"], "family": g["family"],
                              "prior": g["prior"],
                              "gate": np.where(g["passed"].astype(bool), "pass", "FAIL"),
                              "retried": g["retried"].map({True: "yes", False: "no"})})
        formats = {"max R-hat": "{:.3f}", "min bulk ESS": "{:.0f}", "min tail ESS": "{:.0f}",
                   "divergences": "{:.0f}", "min E-BFMI": "{:.2f}", "max_pareto_k": "{:.2f}"}
        for column, fmt in formats.items():
            if column in g.columns:
                shown[column.replace("max_pareto_k", "max Pareto k")] = [
                    fmt.format(v) for v in g[column].astype(float)]
        body = _p(f"Gate: R-hat ≤ {GATE['r_hat_max']}, bulk and tail ESS ≥ "
                  f"{GATE['ess_bulk_min']:g}, divergences ≤ {GATE['divergences_max']}, E-BFMI ≥ "
                  f"{GATE['bfmi_min']}. Pareto k > 0.7 marks an unreliable LOO term.", "note")
        body += _table(shown, classes={"gate": lambda v: "pass" if v == "pass" else "fail"})
        notes: dict[str, list[str]] = {}
        for row in g.itertuples():
            for note in filter(None, str(row.notes or "").split(" | ")):
                notes.setdefault(note, []).append(f"{row.family} · {row.prior}")
        if notes:
            body += ("<h3>Small-sample notes</h3><ul>" + "".join(
                f"<li>{_e(n)} ({_e(', '.join(where))})</li>" for n, where in notes.items())
                     + "</ul>")
        return self.section("diagnostics", "Sampler diagnostics", body)

    def reference_section(self) -> str:
        r = self.reference
        lm = r.landmarks.assign(column=lambda x: x["group"] + " at " + x["landmark"].map(
            "{:g} mo".format), value=lambda x: [f"{100 * v:.1f}" for v in x["estimate"]])
        lm = lm.pivot_table(index=["endpoint", "measure"], columns="column", values="value",
                            aggfunc="first", sort=False).reset_index()
        lm.columns.name = None
        lm["endpoint"] = lm["endpoint"].str.upper()
        f = r.followup
        body = (_p(f"Median follow-up {f['median_reverse_km']:.1f} months (reverse Kaplan–Meier)"
                   f", range {f['min']:.1f}–{f['max']:.1f}. Kaplan–Meier survival and "
                   "Aalen–Johansen cumulative incidence in percent.")
                + '<div class="wide">' + _table(lm) + "</div>" + _table(r.tests, digits=4))
        return self.section("reference", "Frequentist reference analysis", body)

    def sensitivity(self, table: pd.DataFrame) -> str:
        return self.section("reconstruction-sensitivity", "Reconstruction sensitivity",
                            _p("The same analysis repeated on each member of the ensemble of "
                               "plausible reconstructed cohorts: the main cohort's value and "
                               "the minimum, median and maximum across members.", "note")
                            + _table(_labelled(table[list(SENSITIVITY_COLUMNS)]), digits=3))

    def competing(self, spec: CompetingRisksInput) -> str:
        data = self.cohort.endpoint(spec.endpoint)
        aj = plots.aalen_johansen_curves(data)
        fig = plots.cif_figure(aj, spec.posterior, arms=self.arms, causes=data.causes)
        what = ("with posterior median and 95% bands" + (f" ({spec.model})" if spec.model else "")
                if spec.posterior is not None else "")
        body = self.figure(f"cif_{spec.endpoint}", fig,
                           f"Cumulative incidence of "
                           f"{' and '.join(map(plots.display_label, data.causes))} per arm "
                           f"(Aalen–Johansen steps) {what}".strip() + ".")
        tests = self.reference.tests[self.reference.tests["test"] == "gray"]
        if not tests.empty:
            body += _p("Gray's test per cause:", "note") + _table(tests, digits=4)
        if spec.sentences:
            body += "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in spec.sentences) + "</ul>"
        if spec.summary is not None:
            body += _p("Cause-specific hazards, exact posterior per cause (the likelihood "
                       "factorises by cause). 'probability': P(HR < 1) on HR rows, P(CIF lower "
                       "with the treatment) on difference rows, P(difference > delta) on the "
                       "delta rows (there: the probability of harm).", "note") \
                + _table(_labelled(spec.summary), digits=3)
        if spec.adequacy is not None and not spec.adequacy.empty:
            outside = spec.adequacy[~spec.adequacy["inside_band"].astype(bool)]
            verdict = ("The Aalen–Johansen estimate lies inside every posterior 95% band." if
                       outside.empty else
                       f"Model misfit warning: the Aalen–Johansen estimate lies outside the "
                       f"posterior 95% band in {len(outside)} of {len(spec.adequacy)} rows "
                       "(see the table); read the model-based CIFs of those causes with "
                       "caution. (An Aalen–Johansen estimate of 0 — no event yet — always lies "
                       "below a model's band.)")
            body += (_p("Does the cause-specific model follow the data? Posterior CIF against "
                        "the nonparametric Aalen–Johansen estimate at each landmark. " + verdict,
                        "note") + _table(_labelled(spec.adequacy), digits=3))
        if spec.illness_death is not None:
            body += (_p("Illness–death model (relapse, NRM, death after relapse; one posterior "
                        "for OS, PFS and both CIFs). 'probability' on difference rows: P(the "
                        "treatment is better), i.e. higher OS/PFS or lower relapse/NRM "
                        "incidence.", "note")
                     + _table(_labelled(spec.illness_death), digits=3))
        return self.section("competing-risks", "Competing risks", body)

    def ppc(self, tables: Mapping[str, pd.DataFrame]) -> str:
        body = [_p("Observed Kaplan–Meier curve against the pointwise band of Kaplan–Meier "
                   "curves of data sets replicated from the posterior (with censoring); an "
                   "observed curve leaving the band points to misfit.", "note")]
        for label, table in tables.items():
            name = "ppc_" + "_".join(re.findall(r"[a-z0-9]+", label.lower()))
            body.append(self.figure(name, plots.ppc_figure(table, arms=self.arms,
                                                           endpoint=label),
                                    f"Posterior predictive check: {label}."))
        return self.section("ppc", "Posterior predictive checks", "".join(body))

    def safety(self, safety: pd.DataFrame | str) -> str:
        body = _table(safety, digits=3) if isinstance(safety, pd.DataFrame) else _p(safety)
        return self.section("safety", "Safety", body)

    def page(self, body: str) -> str:
        spec = self.spec
        toc = "".join(f'<li><a href="#{_e(a)}">{_e(t)}</a></li>' for a, t in self.toc)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{_e(spec.title)}</title><style>{_CSS}</style></head><body><main>"
                f"<h1>{_e(spec.title)}</h1><p class=\"subtitle\">bridgebayes report · analysis "
                f"<code>{_e(spec.id)}</code> · {_e(self.arms[1])} (treatment) vs "
                f"{_e(self.arms[0])} (reference)</p>"
                f"{self.banner()}<nav><h2>Contents</h2><ul>{toc}</ul></nav>{body}"
                f"<p class=\"note\">Generated by bridgebayes "
                f"{_e(provenance.versions()['bridgebayes'])}.</p></main></body></html>\n")


def build_report(*, spec: Spec, cohort: Cohort, reference: ReferenceAnalysis,
                 bayes: BayesResult | None = None,
                 fidelity: pd.DataFrame | None = None, sensitivity: pd.DataFrame | None = None,
                 competing: CompetingRisksInput | None = None,
                 ppc: Mapping[str, pd.DataFrame] | None = None,
                 safety: pd.DataFrame | str | None = None,
                 power_scaling: pd.DataFrame | None = None) -> Report:
    """Build the HTML report and its figures.

    Parameters
    ----------
    spec
        The validated :class:`bridgebayes.run.spec.Spec`.
    cohort
        The cohort analysed.
    reference
        Its frequentist reference analysis.
    bayes
        The :class:`bridgebayes.run.bayes.BayesResult`, or ``None`` when the spec has no
        ``[bayes]`` section.
    fidelity
        Published-vs-reconstructed table (``fidelity_table``), or ``None``.
    sensitivity
        Reconstruction sensitivity, columns :data:`SENSITIVITY_COLUMNS`; section omitted
        when ``None``.
    competing
        Competing-risks section input; omitted when ``None``.
    ppc
        Posterior-predictive-check tables (``time, arm, observed, lower, median, upper``)
        by label; omitted when ``None`` or empty.
    safety
        Safety table, or a text (e.g. "not reported"); omitted when ``None``.
    power_scaling
        Power-scaling sensitivity per fit (``bridgebayes.inference.checks.prior_sensitivity`` with
        ``endpoint, family, prior`` columns), shown in the prior-sensitivity section.

    Returns
    -------
    Report
    """
    if sensitivity is not None:  # checked before any figure is drawn
        missing = [c for c in SENSITIVITY_COLUMNS if c not in sensitivity.columns]
        if missing:
            raise ReportError(f"reconstruction sensitivity table: missing column(s) {missing}; "
                              f"expected {list(SENSITIVITY_COLUMNS)}")
    b = _Builder(spec, cohort, reference, bayes)
    sections = [b.summary(), b.provenance(fidelity), b.methods(), b.endpoints()]
    if bayes is not None:
        sections += [b.forest(), b.landmarks(), b.decision_tables(),
                     b.prior_sensitivity(power_scaling), b.loo(),
                     b.diagnostics()]
    sections.append(b.reference_section())
    if sensitivity is not None:
        sections.append(b.sensitivity(sensitivity))
    if competing is not None:
        sections.append(b.competing(competing))
    if ppc:
        sections.append(b.ppc(ppc))
    if safety is not None:
        sections.append(b.safety(safety))
    return Report(html=b.page("".join(sections)), figures=b.figures)
