"""Secondary analyses of a spec, after the ``[bayes]`` fits: tidy tables for the report.

* posterior predictive checks (censoring-aware KM bands) of every endpoint × family under
  the first prior of ``[bayes]``, and power-scaling sensitivity of every fit;
* ``[competing]``: relapse vs NRM by cause-specific hazards and, optionally, the
  illness–death model — both from their **exact** posteriors (the likelihoods factorise by
  cause / transition, so the quadrature oracle per cause is the exact joint posterior;
  agreement with the PyMC models is tested in ``tests/models/test_competing.py`` and
  ``tests/models/test_illness_death.py``);
* ``[safety]`` (or its defaults): Beta-binomial incidences and time to engraftment;
  outcomes the cohort does not record are reported as "not reported".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bridgebayes.core.labels import family_label
from bridgebayes.data.cohort import Cohort
from bridgebayes.inference.checks import posterior_predictive_km, prior_sensitivity
from bridgebayes.models.competing import cause_specific_data, exact_competing_risks
from bridgebayes.models.illness_death import (
    IllnessDeathModel,
    exact_illness_death,
    illness_death_data,
)
from bridgebayes.models.piecewise import default_cuts
from bridgebayes.models.priors import log_hr_normal
from bridgebayes.reference.analysis import cif_at
from bridgebayes.run.bayes import BayesResult
from bridgebayes.run.cache import cached_table
from bridgebayes.run.spec import SafetySpec, Spec
from bridgebayes.safety import safety_table

__all__ = ["CompetingResult", "cached_competing_analysis", "competing_analysis",
           "power_scaling_table", "ppc_tables", "safety_analysis"]

#: Family names of the spec → names of the exact competing-risks path.
_EXACT_FAMILY = {"piecewise_exponential": "pem", "weibull": "weibull"}
#: Exact joint draws per cause / transition.
N_DRAWS = 4000


def ppc_tables(bayes: BayesResult, spec: Spec, *, n_rep: int = 200,
               cache: Path | None = None) -> dict[str, pd.DataFrame]:
    """Posterior predictive KM tables by label ``"<ENDPOINT> — <family> (<prior> prior)"``.

    Only the first prior of ``[bayes]``: the check is about the likelihood, and the priors
    barely move the fitted curves' shape.
    """
    prior = spec.bayes.priors[0]
    tables = {}
    for endpoint in spec.bayes.endpoints:
        for family in spec.bayes.families:
            key = f"{endpoint}__{family}__{prior}"
            fit = bayes.fits[key]
            label = f"{endpoint.upper()} — {family_label(family)} ({prior} prior)"
            tables[label] = cached_table(
                cache, f"{key}.ppc", [bayes.posteriors[key], f"n_rep={n_rep}",
                                      f"seed={spec.bayes.seed}"],
                lambda fit=fit: posterior_predictive_km(fit, n_rep=n_rep,
                                                        rng=spec.bayes.seed).table)
    return tables


def power_scaling_table(bayes: BayesResult, *, cache: Path | None = None) -> pd.DataFrame:
    """Power-scaling prior/likelihood sensitivity (``az.psens``) of every fit, one table
    (stored in ``cache`` beside each posterior and reused while the posterior is unchanged)."""
    frames = []
    for key, fit in bayes.fits.items():
        endpoint, family, prior = key.split("__")
        table = cached_table(cache, f"{key}.psens", [bayes.posteriors[key]],
                             lambda fit=fit: prior_sensitivity(fit)).rename(columns={
            "prior": "prior_sensitivity", "likelihood": "likelihood_sensitivity"})
        frames.append(table.assign(endpoint=endpoint, family=family, prior=prior))
    # rounded: psens sums in an order that depends on the arrays' memory layout, so a fresh
    # fit and its cached copy differ at 1e-13 — a re-run must give identical outputs
    table = pd.concat(frames, ignore_index=True).round(8)
    first = ["endpoint", "family", "prior"]
    return table[first + [c for c in table.columns if c not in first]]


@dataclass(frozen=True)
class CompetingResult:
    """Competing-risks and illness–death results (exact posteriors)."""

    decisions: pd.DataFrame
    curves: pd.DataFrame
    sentences: list[str]
    illness_death: pd.DataFrame | None = None
    transitions: pd.DataFrame | None = None
    illness_death_sentences: list[str] = field(default_factory=list)
    #: posterior CIF vs Aalen–Johansen per family (first prior), cause, arm and landmark
    adequacy: pd.DataFrame | None = None


def competing_analysis(cohort: Cohort, spec: Spec) -> CompetingResult:
    """The ``[competing]`` section: every family × prior by cause-specific hazards.

    ``curves`` holds the posterior CIFs of the first family and prior (for the figure);
    ``decisions`` every combination, with ``family`` and ``prior`` columns.
    """
    comp, bayes = spec.competing, spec.bayes
    data = cohort.endpoint(comp.endpoint)
    horizon = max(max(bayes.landmarks), float(data.time.max()))
    cuts = {}  # PEM cut points per cause: the [bayes] rule (event-time quantiles)
    for cause in data.causes:
        one = cause_specific_data(data, cause)
        cuts[cause] = tuple(default_cuts(one.time, one.event, n_intervals=bayes.n_intervals))
    tables, sentences, curves, adequacy = [], [], None, []
    for family in comp.families:
        for prior in comp.priors:
            mu, sigma = log_hr_normal(prior)
            post = exact_competing_risks(data, family=_EXACT_FAMILY[family], log_hr_mu=mu,
                                         log_hr_sigma=sigma, cuts=cuts, n_draws=N_DRAWS,
                                         rng=bayes.seed)
            decision = post.decide(landmarks=bayes.landmarks, deltas=comp.deltas,
                                   delta_landmark=max(bayes.landmarks))
            tables.append(decision.table.assign(family=family, prior=prior))
            sentences += [f"[{family_label(family)}, {prior} prior] {s}"
                          for s in decision.sentences]
            if curves is None:
                curves = post.curves(horizon=horizon)
            if prior == comp.priors[0]:
                adequacy.append(_against_aalen_johansen(post, data, bayes.landmarks, family))
    result = {"decisions": pd.concat(tables, ignore_index=True), "curves": curves,
              "sentences": sentences, "adequacy": pd.concat(adequacy, ignore_index=True)}
    if comp.illness_death:
        mu, sigma = log_hr_normal(comp.priors[0])
        post = exact_illness_death(illness_death_data(cohort),
                                   IllnessDeathModel(log_hr_mu=mu, log_hr_sigma=sigma),
                                   n_draws=N_DRAWS, rng=bayes.seed)
        result["illness_death"] = post.decide(landmarks=bayes.landmarks,
                                              joint_landmark=max(bayes.landmarks))
        result["transitions"] = post.transitions()
        result["illness_death_sentences"] = [
            f"Illness–death model (Weibull transitions, clock reset after relapse; "
            f"{comp.priors[0]} prior on every transition's log HR): OS, PFS, relapse and NRM "
            "come from the same posterior draws, so OS >= PFS in every draw."]
    return CompetingResult(**result)


def cached_competing_analysis(cohort: Cohort, spec: Spec, *,
                              cache: Path | None) -> CompetingResult:
    """:func:`competing_analysis`, its tables stored in ``cache`` (Parquet, keyed by the spec
    and cohort files' bytes and the ``[bayes]``/``[competing]`` settings) and reused on a warm
    run; computed once when any is missing."""
    # the spec file's bytes and the settings actually used (a spec object changed in
    # memory must not be served another spec's tables)
    depends = [Path(spec.path), Path(spec.cohort), "competing", repr(spec.bayes),
               repr(spec.competing)]
    computed: list[CompetingResult] = []

    def part(field: str) -> Callable[[], pd.DataFrame]:
        def compute() -> pd.DataFrame:
            if not computed:
                computed.append(competing_analysis(cohort, spec))
            value = getattr(computed[0], field)
            return pd.DataFrame({"text": value}) if isinstance(value, list) else value
        return compute

    fields = ["decisions", "curves", "sentences", "adequacy"]
    if spec.competing.illness_death:
        fields += ["illness_death", "transitions", "illness_death_sentences"]
    tables = {f: cached_table(cache, f"competing.{f}", depends, part(f)) for f in fields}
    for f in ("sentences", "illness_death_sentences"):
        if f in tables:
            tables[f] = tables[f]["text"].astype(str).tolist()
    return CompetingResult(**tables)


def _against_aalen_johansen(post, data, landmarks, family: str) -> pd.DataFrame:
    """Posterior CIF (median, 95% band) next to the nonparametric Aalen–Johansen estimate:
    a model that cannot follow the data (e.g. PH cause-specific hazards against clustered
    events) shows up as AJ outside the band."""
    rows = []
    arm = np.asarray(data.arm)
    for a, label in enumerate(data.arms):
        cif = post.cumulative_incidence(landmarks, a)
        for k, cause in enumerate(data.causes, start=1):
            for j, t in enumerate(landmarks):
                draws = cif[cause][:, j]
                lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975])
                aj = cif_at(np.asarray(data.time)[arm == a], np.asarray(data.event)[arm == a],
                            t, cause_of_interest=k)
                rows.append({"family": family, "cause": cause, "arm": label, "landmark": t,
                             "aalen_johansen": aj, "posterior_median": med, "lower": lo,
                             "upper": hi, "inside_band": bool(lo <= aj <= hi)})
    return pd.DataFrame(rows)


def safety_analysis(cohort: Cohort, spec: Spec) -> tuple[pd.DataFrame, list[str]]:
    """Safety table and sentences (``[safety]`` settings, or their defaults)."""
    settings = spec.safety or SafetySpec()
    seed = spec.bayes.seed if spec.bayes is not None else 1
    summary = safety_table(cohort, prior=settings.prior, deltas=settings.deltas, seed=seed,
                           engraftment_family=_EXACT_FAMILY[settings.engraftment_family])
    return summary.table, list(summary.sentences)
