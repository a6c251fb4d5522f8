"""Model averaging and extrapolation of the ``[bayes]`` fits, store-backed.

Per endpoint and prior: the stacking weights of the families (PSIS-LOO, the table of
:func:`bridgebayes.run.secondary.loo_comparison`, with each fit's largest Pareto k and a
``fragile`` flag above 0.7), the stacked posterior's S(t), RMST and differences at the spec's
landmarks (no HR: a cure model has none), and the extrapolation of every family and of the
stack to ``bayes.extrapolation_horizon``: S(t) at ``bayes.extrapolation_landmarks``, RMST to
the horizon, curves for the fan figure, and how far the families disagree.  Every row or curve
point after the last observed time of its arm (a difference: of either arm) is
``extrapolated``; sentences say so (:mod:`bridgebayes.summaries.stacking`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.store import Store
from bridgebayes.run.fits import FitKey, FitOutcome, version
from bridgebayes.run.spec import Spec
from bridgebayes.run.spec_sections import EXTRAPOLATION_DEFAULT

__all__ = ["PARETO_K_MAX", "STACKED", "AveragingResult", "model_averaging"]

#: Family column of the stacked posterior's rows.
STACKED = "stacked"
#: Pareto k above which PSIS-LOO is unreliable (Vehtari et al. 2017, 2024).
PARETO_K_MAX = 0.7
#: Draws of the stacked mixture.
N_STACKED = 4000
#: Bumped when the tables' shape or content changes (part of every store key).
FORMAT = 2


@dataclass(frozen=True)
class AveragingResult:
    """The model-averaging tables.

    ``weights``: endpoint, prior, family, label, weight, elpd_loo, se, max_pareto_k, fragile;
    ``stacked``: decision rows of the stacked posterior (``analysis = "stacked"``) and of the
    weights; ``extrapolation``: decision rows (``analysis = "extrapolation"``) of every family
    and the stack at the extrapolation landmarks and horizon, and the spread rows;
    ``curves``: survival bands to the horizon by endpoint, prior, family (``extrapolated``
    marks points after the arm's follow-up); ``sentences``: text by endpoint and prior, with
    each arm's last observed time (``followup_reference``, ``followup_treatment``) and the
    ``horizon``.
    """

    weights: pd.DataFrame
    stacked: pd.DataFrame
    extrapolation: pd.DataFrame
    curves: pd.DataFrame
    sentences: pd.DataFrame


def _horizon(spec: Spec) -> tuple[float, tuple[float, ...]]:
    b = spec.bayes
    horizon = b.extrapolation_horizon or EXTRAPOLATION_DEFAULT[spec.time_unit]
    return horizon, b.extrapolation_landmarks or (horizon,)


def _weights(loo: pd.DataFrame, fits: dict[FitKey, FitOutcome], endpoint: str, prior: str
             ) -> pd.DataFrame:
    if loo is None or loo.empty:
        return pd.DataFrame()
    part = loo[(loo["endpoint"] == endpoint) & (loo["prior"] == prior)]
    rows = []
    for r in part.to_dict(orient="records"):
        outcome = fits[FitKey(endpoint, r["family"], prior)]
        k = float(outcome.diagnostics.get("max_pareto_k", np.nan))
        rows.append({"endpoint": endpoint, "prior": prior, "family": r["family"],
                     "label": outcome.fit.family.label, "weight": float(r["weight"]),
                     "elpd_loo": float(r["elpd_loo"]), "se": float(r["se"]),
                     "max_pareto_k": k, "fragile": bool(k > PARETO_K_MAX)})
    return pd.DataFrame(rows)


def _one(spec: Spec, fits: dict[FitKey, FitOutcome], endpoint: str, prior: str,
         loo: pd.DataFrame, label: str) -> dict[str, object]:
    from bridgebayes.summaries import stacking

    b = spec.bayes
    horizon, marks = _horizon(spec)
    outcomes = {f: fits[FitKey(endpoint, f, prior)] for f in b.families}
    data = next(iter(outcomes.values())).fit.data
    time, arm = np.asarray(data.time, float), np.asarray(data.arm)
    followup = tuple(float(time[arm == a].max()) if np.any(arm == a) else 0.0 for a in (0, 1))
    survival, n_draws, labels = {}, {}, {}
    for name, outcome in outcomes.items():
        draws, family = outcome.fit.draws(), outcome.fit.family
        survival[name] = lambda t, a, d=draws, f=family: f.survival(d, t, a)
        n_draws[name], labels[name] = int(np.shape(draws["log_hr"])[0]), family.label
    ident = {"endpoint": endpoint, "prior": prior}
    common = {"arms": data.arms, "ci": b.ci, "followup": followup, "endpoint": label,
              "time_unit": spec.time_unit}
    models = dict(survival)
    weights = _weights(loo, fits, endpoint, prior)
    stacked, sentences = [], []
    if not weights.empty:
        models[STACKED] = stacking.stacked_survival(
            survival, n_draws, dict(zip(weights["family"], weights["weight"], strict=True)),
            n=N_STACKED)
        labels[STACKED] = "stacked"
        w_rows, w_text = stacking.stacking_rows(weights)
        main = stacking.horizon_decision(models[STACKED], horizon=b.rmst_tau or max(b.landmarks),
                                         landmarks=b.landmarks, deltas=b.deltas, chains=1,
                                         model="stacked", **common)
        stacked = [main.table.assign(analysis="stacked", family=STACKED),
                   w_rows.assign(analysis="stacked", time_unit=spec.time_unit)]
        sentences += w_text + [f"Stacked posterior: {s}" for s in main.sentences]
        if not all(o.fit.family.hazard_ratio_effect() for o in outcomes.values()):
            sentences.append("No HR is stacked: the HR of a cure (or non-PH) model concerns "
                             "only part of the hazard, so the stack is summarised by survival "
                             "and RMST.")
    rows, curves = [], []
    for name, fn in models.items():
        chains = 1 if name == STACKED else int(
            outcomes[name].fit.idata.posterior.sizes["chain"])
        d = stacking.horizon_decision(fn, horizon=horizon, landmarks=marks, deltas=b.deltas,
                                      chains=chains, model=labels[name], **common)
        rows.append(d.table.assign(analysis="extrapolation", family=name))
        curves.append(d.curves.assign(family=name))
        if name == STACKED or len(survival) == 1:  # the answer: the stack, or the one model
            who = "Stacked posterior" if name == STACKED else labels[name]
            sentences += [f"{who}: {s} Note: {stacking.EXTRAPOLATION_CAVEAT}."
                          if s.startswith("Extrapolated") and name == STACKED
                          else f"{who}: {s}" for s in d.sentences]
    extrapolation = pd.concat(rows, ignore_index=True)
    spread = pd.DataFrame()
    if len(survival) > 1:  # a spread across one model says nothing
        spread, spread_text = stacking.spread_rows(extrapolation, models=list(survival),
                                                   labels=labels, time_unit=spec.time_unit)
        sentences += spread_text
    return {"weights": weights,
            "stacked": pd.concat(stacked, ignore_index=True).assign(**ident) if stacked
            else pd.DataFrame(),
            "extrapolation": pd.concat([extrapolation, spread.assign(
                analysis="extrapolation", family="")], ignore_index=True).assign(**ident),
            "curves": pd.concat(curves, ignore_index=True).assign(**ident),
            "sentences": pd.DataFrame({"endpoint": endpoint, "prior": prior,
                                       "followup_reference": followup[0],
                                       "followup_treatment": followup[1], "horizon": horizon,
                                       "text": sentences})}


def model_averaging(fits: dict[FitKey, FitOutcome], spec: Spec, store: Store, *,
                    loo: pd.DataFrame | None, labels: dict[str, str] | None = None
                    ) -> AveragingResult:
    """Stacking and extrapolation of every endpoint × prior of ``[bayes]`` (module
    docstring), each table stored under the fits' digests and the settings used.

    Parameters
    ----------
    fits
        :func:`bridgebayes.run.fits.fit_all`'s result.
    spec
        The resolved spec.
    store
        The run's store.
    loo
        The LOO comparison table (:func:`bridgebayes.run.secondary.loo_comparison`; empty
        with one family: no stacking, extrapolation of each family only).
    labels
        Endpoint name -> reader-facing label (sentences).
    """
    b, labels = spec.bayes, labels or {}
    settings = repr((b.landmarks, b.deltas, b.rmst_tau, b.ci, _horizon(spec), spec.time_unit,
                     labels))
    names = ("weights", "stacked", "extrapolation", "curves", "sentences")
    pieces = []
    for endpoint in b.endpoints:  # one stored group per endpoint x prior: a changed prior
        for prior in b.priors[endpoint]:  # recomputes its own group only
            mine = (pd.DataFrame() if loo is None or loo.empty else
                    loo[(loo["endpoint"] == endpoint) & (loo["prior"] == prior)])
            parts = {"group": [endpoint, prior], "version": version(),
                     "fits": [fits[FitKey(endpoint, f, prior)].digest for f in b.families],
                     "loo": None if mine.empty else mine.to_csv(index=False),
                     "settings": settings, "n": N_STACKED, "format": FORMAT}
            pieces.append(store.tables(
                {n: store.key(kind=f"averaging.{n}", **parts) for n in names},
                lambda e=endpoint, p=prior: _one(spec, fits, e, p, loo,
                                                 labels.get(e, e.upper()))))
    return AveragingResult(**{n: pd.concat([piece[n] for piece in pieces], ignore_index=True)
                              for n in names})
