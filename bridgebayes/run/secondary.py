"""Secondary analyses of a spec after the ``[bayes]`` fits, each stored under its inputs.

* model checks of the fits: posterior predictive KM bands (under each endpoint's first
  prior), power-scaling sensitivity (every fit), PSIS-LOO comparison of the families;
* ``[competing]``: the competing endpoint by cause-specific hazards and, optionally, the
  illness–death model — both from their **exact** posteriors (the likelihoods factorise by
  cause / transition; agreement with the NUTS fits is tested in tests/models);
* ``[safety]`` (transplant data): Beta-binomial incidences and time to engraftment; outcomes
  the cohort does not record are reported as "not reported".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.store import Store
from bridgebayes.data.cohort import Cohort
from bridgebayes.reference.analysis import cif_at
from bridgebayes.run.fits import FitKey, FitOutcome, data_digest, version
from bridgebayes.run.spec import SafetySpec, Spec
from bridgebayes.run.spec_sections import named_prior

__all__ = ["CompetingResult", "competing_analysis", "loo_comparison", "power_scaling_table",
           "ppc_tables", "safety_analysis"]

#: Exact joint draws per cause / transition.
N_DRAWS = 4000


def ppc_tables(fits: dict[FitKey, FitOutcome], spec: Spec, store: Store, *,
               n_rep: int = 200) -> pd.DataFrame:
    """Posterior predictive KM tables of every endpoint × family under the endpoint's first
    prior (the check is about the likelihood), one table with ``endpoint, family, prior``."""
    from bridgebayes.inference.checks import posterior_predictive_km

    frames = []
    for key, outcome in fits.items():
        if key.prior != spec.bayes.priors[key.endpoint][0]:
            continue
        table = store.table(
            store.key(kind="ppc", fit=outcome.digest, n_rep=n_rep, seed=spec.bayes.seed,
                      version=version()),
            lambda o=outcome: posterior_predictive_km(o.fit, n_rep=n_rep,
                                                      rng=spec.bayes.seed).table)
        frames.append(table.assign(endpoint=key.endpoint, family=key.family, prior=key.prior))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def power_scaling_table(fits: dict[FitKey, FitOutcome], store: Store) -> pd.DataFrame:
    """Power-scaling prior/likelihood sensitivity (``az.psens``) of every fit."""
    from bridgebayes.inference.checks import prior_sensitivity

    frames = []
    for key, outcome in fits.items():
        table = store.table(store.key(kind="psens", fit=outcome.digest, version=version()),
                            lambda o=outcome: prior_sensitivity(o.fit))
        frames.append(table.rename(columns={"prior": "prior_sensitivity",
                                            "likelihood": "likelihood_sensitivity"})
                      .assign(endpoint=key.endpoint, family=key.family, prior=key.prior))
    table = pd.concat(frames, ignore_index=True)
    first = ["endpoint", "family", "prior"]
    return table[first + [c for c in table.columns if c not in first]]


def loo_comparison(fits: dict[FitKey, FitOutcome], spec: Spec, store: Store) -> pd.DataFrame:
    """PSIS-LOO comparison of the families per endpoint and prior (stacking weights); empty
    with one family."""
    from bridgebayes.inference.fit import compare

    if len(spec.bayes.families) < 2:
        return pd.DataFrame()
    tables = []
    for endpoint in spec.bayes.endpoints:
        for prior in spec.bayes.priors[endpoint]:
            chosen = {f: fits[FitKey(endpoint, f, prior)] for f in spec.bayes.families}

            def compute(chosen=chosen) -> pd.DataFrame:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Estimated shape parameter")
                    table = compare({f: o.fit for f, o in chosen.items()})
                return table.rename_axis("family").reset_index().astype(
                    {"warning": bool, "scale": str})

            table = store.table(store.key(kind="loo_compare", version=version(), fits=[
                o.digest for o in chosen.values()], families=list(chosen)), compute)
            tables.append(table.assign(endpoint=endpoint, prior=prior))
    return pd.concat(tables, ignore_index=True)


@dataclass(frozen=True)
class CompetingResult:
    """Competing-risks and illness–death results (exact posteriors), as tables.

    ``decisions`` holds the decision rows of both models (``analysis`` tells them apart),
    ``curves`` the posterior CIFs of the first family and prior (``component`` = cause),
    ``adequacy`` the posterior CIF against Aalen–Johansen, ``transitions`` the illness–death
    parameter table.
    """

    decisions: pd.DataFrame
    curves: pd.DataFrame
    sentences: list[str]
    adequacy: pd.DataFrame
    transitions: pd.DataFrame | None = None


def _competing(cohort: Cohort, spec: Spec) -> CompetingResult:
    from bridgebayes.models.competing import exact_competing_risks
    from bridgebayes.models.families import WeibullPH, get_family
    from bridgebayes.models.illness_death import (
        IllnessDeathModel,
        exact_illness_death,
        illness_death_data,
    )
    from bridgebayes.models.priors import family_prior_options

    comp, bayes = spec.competing, spec.bayes
    data = cohort.endpoint(comp.endpoint)
    horizon = max(max(bayes.landmarks), float(data.time.max()))
    followup = float(data.time.max())
    decisions, sentences, curves, adequacy = [], [], None, []
    for family_name in comp.families:
        options = bayes.family_options.get(family_name, {})
        for prior in comp.priors:
            p = named_prior(prior, spec.priors)
            family = get_family(family_name).from_options(
                {**options, **family_prior_options(p)})
            post = exact_competing_risks(data, family, n_draws=N_DRAWS, rng=bayes.seed)
            decision = post.decide(landmarks=bayes.landmarks, deltas=comp.deltas,
                                   delta_landmark=max(bayes.landmarks), ci=bayes.ci,
                                   time_unit=spec.time_unit, followup=followup,
                                   cause_labels=cohort.endpoints[comp.endpoint].cause_labels)
            decisions.append(decision.table.assign(endpoint=comp.endpoint, family=family_name,
                                                   prior=prior, role="secondary"))
            sentences += [f"[{family.label}, {prior} prior] {s}" for s in decision.sentences]
            if curves is None:
                curves = post.curves(horizon=horizon, ci=bayes.ci).assign(
                    family=family_name, prior=prior)
            if prior == comp.priors[0]:
                adequacy.append(_against_aalen_johansen(post, data, bayes.landmarks,
                                                        family_name))
    transitions = None
    if comp.illness_death:
        p = named_prior(comp.priors[0], spec.priors)
        model = IllnessDeathModel.with_family(WeibullPH(**family_prior_options(p)))
        post = exact_illness_death(illness_death_data(cohort), model, n_draws=N_DRAWS,
                                   rng=bayes.seed)
        decision = post.decide(landmarks=bayes.landmarks, joint_landmark=max(bayes.landmarks),
                               ci=bayes.ci, time_unit=spec.time_unit, followup=followup)
        decisions.append(decision.table.assign(endpoint="illness_death", family="weibull",
                                               prior=comp.priors[0], role="secondary"))
        sentences += [f"{s} ({comp.priors[0]} prior on every transition's log HR)"
                      for s in decision.sentences]
        transitions = post.transitions(ci=bayes.ci)
    return CompetingResult(pd.concat(decisions, ignore_index=True), curves, sentences,
                           pd.concat(adequacy, ignore_index=True), transitions)


def competing_analysis(cohort: Cohort, spec: Spec, store: Store) -> CompetingResult:
    """The ``[competing]`` section (exact posteriors), its tables stored under the data's
    hash and the settings used; computed once when any is missing."""
    data = cohort.endpoint(spec.competing.endpoint)
    parts = {"data": data_digest(data), "competing": repr(spec.competing),
             "bayes": repr((spec.bayes.landmarks, spec.bayes.seed, spec.bayes.ci,
                            spec.bayes.family_options)), "version": version(),
             "priors": {p: named_prior(p, spec.priors) for p in spec.competing.priors}}
    if spec.competing.illness_death:
        parts["histories"] = data_digest(cohort.endpoint("os")) + data_digest(
            cohort.endpoint("pfs"))
    names = ["decisions", "curves", "sentences", "adequacy"]
    if spec.competing.illness_death:
        names.append("transitions")

    def compute() -> dict[str, pd.DataFrame]:
        made = _competing(cohort, spec)
        return {n: pd.DataFrame({"text": v}) if isinstance(v := getattr(made, n), list) else v
                for n in names}

    tables = store.tables({n: store.key(kind=f"competing.{n}", **parts) for n in names},
                          compute)
    tables["sentences"] = tables["sentences"]["text"].astype(str).tolist()
    return CompetingResult(**tables)


def _against_aalen_johansen(post, data, landmarks, family: str) -> pd.DataFrame:
    """Posterior CIF (median, 95% band) next to the nonparametric Aalen–Johansen estimate:
    a model that cannot follow the data shows up as AJ outside the band."""
    rows = []
    arm = np.asarray(data.arm)
    for a, label in enumerate(data.arms):
        cif = post.cumulative_incidence(landmarks, a)
        for k, cause in enumerate(data.causes, start=1):
            for j, t in enumerate(landmarks):
                lo, med, hi = np.quantile(cif[cause][:, j], [0.025, 0.5, 0.975])
                aj = cif_at(np.asarray(data.time)[arm == a], np.asarray(data.event)[arm == a],
                            t, cause_of_interest=k)
                rows.append({"family": family, "component": cause, "arm": label,
                             "landmark": t, "aalen_johansen": aj, "posterior_median": med,
                             "lower": lo, "upper": hi, "inside_band": bool(lo <= aj <= hi)})
    return pd.DataFrame(rows)


def safety_analysis(cohort: Cohort, spec: Spec) -> tuple[pd.DataFrame, list[str]]:
    """Safety table and sentences (``[safety]`` settings, or their defaults)."""
    from bridgebayes.safety import safety_table

    settings = spec.safety or SafetySpec()
    seed = spec.bayes.seed if spec.bayes is not None else 1
    summary = safety_table(cohort, prior=settings.prior, deltas=settings.deltas, seed=seed,
                           engraftment_family=settings.engraftment_family)
    return summary.table, list(summary.sentences)
