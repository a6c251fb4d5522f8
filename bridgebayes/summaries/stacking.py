"""Model averaging by stacking, and extrapolation to a horizon: curves and decisions from the
families' draws.

The stacked posterior is the mixture of the families' posteriors with the stacking weights
(Yao et al. 2018; weights from PSIS-LOO, ``az.compare(method="stacking")``): each family
contributes ``round(w · n)`` of its draws (largest remainders, so the counts add up to
``n``), evenly spaced over its chains.  Survival curves, landmark S(t), RMST and their
differences of the mixture come from the same code as one family's
(:func:`bridgebayes.summaries.decide.survival_rows`).  An HR is not stacked: a cure model has
none.  LOO scores the observed follow-up only, so stacking weights say nothing about the
tail: every stacked or per-family quantity beyond the last observed time is marked
``extrapolated`` and its sentence says so, and :func:`spread_rows` states how far the
families disagree there.  Array maths only (the families' survival functions come in as
callables).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from bridgebayes.summaries.decide import mark_extrapolated, survival_rows
from bridgebayes.summaries.decision import Decision, new_row, table

__all__ = ["EXTRAPOLATION_CAVEAT", "horizon_decision", "mixture_counts", "mixture_rows",
           "spread_rows", "stacked_survival", "stacking_rows"]

#: survival(times, arm) -> (n_draws, n_times).
SurvivalFn = Callable[[np.ndarray, int], np.ndarray]

#: What every extrapolated stacked quantity carries.
EXTRAPOLATION_CAVEAT = ("stacking weights come from leave-one-out prediction of the observed "
                        "follow-up only, so they say nothing about which model is right beyond "
                        "it")


def mixture_counts(weights: Mapping[str, float], n: int) -> dict[str, int]:
    """Draws per model of an ``n``-draw mixture: ``w · n`` rounded by largest remainders.

    Examples
    --------
    >>> mixture_counts({"a": 0.5, "b": 0.3, "c": 0.2}, 7)
    {'a': 4, 'b': 2, 'c': 1}
    """
    w = np.clip(np.asarray(list(weights.values()), float), 0.0, None)
    if not w.sum() > 0:
        raise ValueError(f"weights: expected non-negative weights with a positive sum, got "
                         f"{dict(weights)}")
    share = w / w.sum() * n
    counts = np.floor(share).astype(int)
    for j in np.argsort(-(share - counts), kind="stable")[:n - counts.sum()]:
        counts[j] += 1
    return dict(zip(weights, counts.tolist(), strict=True))


def mixture_rows(n_draws: Mapping[str, int], weights: Mapping[str, float], n: int
                 ) -> dict[str, np.ndarray]:
    """The draws each model gives an ``n``-draw mixture: :func:`mixture_counts` of them per
    model, evenly spaced over its ``n_draws`` (so over its chains); models given none left out.

    Examples
    --------
    >>> {m: r.tolist() for m, r in mixture_rows({"a": 10, "b": 5}, {"a": 0.5, "b": 0.5},
    ...                                         4).items()}
    {'a': [0, 9], 'b': [0, 4]}
    """
    counts = mixture_counts({m: weights.get(m, 0.0) for m in n_draws}, n)
    return {m: np.linspace(0, n_draws[m] - 1, c).round().astype(int)
            for m, c in counts.items() if c}


def stacked_survival(survival: Mapping[str, SurvivalFn], n_draws: Mapping[str, int],
                     weights: Mapping[str, float], *, n: int = 4000) -> SurvivalFn:
    """The survival function of the stacked mixture (``n`` draws).

    Parameters
    ----------
    survival
        Per model, ``survival(times, arm)`` on all its draws.
    n_draws
        Per model, how many draws ``survival`` returns.
    weights
        Stacking weights by model (models with weight 0 contribute nothing).
    n
        Draws of the mixture.

    Examples
    --------
    >>> f = stacked_survival({"a": lambda t, a: np.zeros((10, t.size)),
    ...                       "b": lambda t, a: np.ones((10, t.size))}, {"a": 10, "b": 10},
    ...                      {"a": 0.25, "b": 0.75}, n=8)
    >>> f(np.array([1.0]), 0).ravel().tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    picks = mixture_rows(n_draws, {m: weights.get(m, 0.0) for m in survival}, n)

    def mixed(times: np.ndarray, arm: int) -> np.ndarray:
        return np.concatenate([survival[m](np.asarray(times, float), arm)[rows]
                               for m, rows in picks.items()])
    return mixed


def horizon_decision(survival: SurvivalFn, *, arms: tuple[str, str], horizon: float,
                     landmarks: Sequence[float], deltas: Sequence[float], ci: float,
                     chains: int, followup: Sequence[float], endpoint: str, time_unit: str,
                     model: str) -> Decision:
    """S(t) at ``landmarks``, RMST to ``horizon``, their differences and the curves up to
    ``horizon``; rows and curve points after the last observed time are ``extrapolated``
    and their sentences say so.

    ``followup`` holds the last observed time of each arm (reference, treatment): an arm's
    rows are extrapolated after its own, a difference after the earlier of the two (the
    smaller arm of a small study often stops first).

    Examples
    --------
    >>> f = lambda t, a: np.exp(-np.outer(np.full(100, 0.02 + 0.01 * a), t))
    >>> d = horizon_decision(f, arms=("A", "B"), horizon=60.0, landmarks=(60.0,),
    ...                      deltas=(0.0,), ci=0.95, chains=1, followup=(40.0, 70.0),
    ...                      endpoint="OS", time_unit="months", model="stacked")
    >>> rows = d.table[d.table["quantity"] == "survival"]
    >>> rows["extrapolated"].tolist(), d.sentences[0].startswith("Extrapolated")
    ([True, False], True)
    """
    rows, curves, sentences = survival_rows(survival, arms=arms, landmarks=landmarks,
                                            deltas=deltas, rmst_tau=horizon, horizon=horizon,
                                            ci=ci, chains=chains, endpoint=endpoint,
                                            time_unit=time_unit)
    frame = table(rows, time_unit=time_unit)
    ends = dict(zip(arms, map(float, followup), strict=True))
    earliest = min(ends.values())
    parts = [mark_extrapolated(frame[frame["arm"] == arm], ends.get(arm, earliest))
             for arm in dict.fromkeys(frame["arm"])]
    frame = pd.concat(parts).loc[frame.index]
    curves = curves.assign(extrapolated=curves["time"] > curves["arm"].map(ends))
    out = []
    for t, text in zip(landmarks, sentences, strict=True):
        if t > earliest:
            beyond = " and ".join(f"{a} {e:g}" for a, e in ends.items() if t > e)
            text = (f"Extrapolated ({model}; beyond the last observed time of {beyond} "
                    f"{time_unit}): {text}")
        out.append(text)
    return Decision(frame, curves, tuple(out))


def stacking_rows(weights: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Decision rows of the stacking weights (``component`` = model) and the sentences that
    go with them: the weights, the fragile comparisons (Pareto k > 0.7), the tail caveat.

    Parameters
    ----------
    weights
        One row per model: ``family``, ``label``, ``weight``, ``max_pareto_k``, ``fragile``.
    """
    rows = [new_row("stacking_weight", component=r["family"], estimate=float(r["weight"]))
            for r in weights.to_dict(orient="records")]
    shown = ", ".join(f"{r['label']} {100 * r['weight']:.0f}%"
                      for r in weights.to_dict(orient="records"))
    sentences = [f"Stacking weights (PSIS-LOO): {shown}; {EXTRAPOLATION_CAVEAT}."]
    fragile = weights[weights["fragile"].astype(bool)]
    if len(fragile):
        sentences.append(
            "The LOO comparison is fragile: Pareto k > 0.7 for "
            + ", ".join(f"{r['label']} (max k {r['max_pareto_k']:.2f})"
                        for r in fragile.to_dict(orient="records"))
            + "; PSIS-LOO is unreliable for those patients, so the weights are indicative "
              "only (K-fold cross-validation was not run).")
    return table(rows), sentences


def spread_rows(decisions: pd.DataFrame, *, models: Sequence[str], labels: Mapping[str, str],
                time_unit: str) -> tuple[pd.DataFrame, list[str]]:
    """How far the models' posterior medians disagree: per arm and time, the range of the
    median S(t) (``survival_spread``) and of the median RMST (``rmst_spread``) across
    ``models``; ``lower``/``upper`` the smallest and largest median, ``estimate`` their
    difference.

    Parameters
    ----------
    decisions
        Decision rows with a ``family`` column (one :func:`horizon_decision` per model).
    models
        The models compared (not the stack).
    labels
        Reader-facing model names for the sentences.
    time_unit
        For the sentences.
    """
    d = decisions[decisions["family"].isin(models)
                  & decisions["quantity"].isin(["survival", "rmst"])]
    rows, sentences = [], []
    for (quantity, arm, t), part in d.groupby(["quantity", "arm", "time"], sort=False):
        lo, hi = part.loc[part["estimate"].idxmin()], part.loc[part["estimate"].idxmax()]
        extrapolated = bool(part["extrapolated"].any())
        rows.append(new_row(f"{quantity}_spread", arm=arm, time=float(t),
                            estimate=float(hi["estimate"] - lo["estimate"]),
                            lower=float(lo["estimate"]), upper=float(hi["estimate"]),
                            extrapolated=extrapolated, time_unit=time_unit))
        what = f"S({t:g} {time_unit})" if quantity == "survival" else f"RMST({t:g} {time_unit})"
        scale, unit = (100, "%") if quantity == "survival" else (1, f" {time_unit}")
        low, high = (labels.get(r["family"], r["family"]) for r in (lo, hi))
        sentences.append(
            f"{'Extrapolated: ' if extrapolated else ''}{what} for {arm} ranges from "
            f"{scale * lo['estimate']:.0f}{unit} ({low}) to {scale * hi['estimate']:.0f}{unit} "
            f"({high}) across the models"
            + (": beyond the follow-up the model, not the data, decides it." if extrapolated
               else "."))
    return table(rows), sentences
