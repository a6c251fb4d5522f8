"""Propensity scores, overlap diagnostics and an IPW analysis (a frequentist cross-check).

* Propensity model: logistic regression of the arm on the covariate design, fitted by
  iteratively reweighted least squares (tested against statsmodels' ``Logit``).  A covariate
  that separates the arms perfectly makes the model (and positivity) fail: an error naming it.
* Weights: inverse probability (ATE: ``a/e + (1-a)/(1-e)``; ATT: ``a + (1-a) e/(1-e)``) or
  overlap weights (``a (1-e) + (1-a) e``, Li, Morgan & Zaslavsky 2018), optionally with the
  patients whose score lies outside ``[trim, 1 - trim]`` left out (Crump et al. 2009).
* Diagnostics: the scores by arm, the effective sample size ``(sum w)^2 / sum w^2`` per arm,
  standardised mean differences before and after weighting (the denominator is the
  unweighted pooled SD in both, as cobalt does, so only the means move), and the patients
  with a score below 0.05 or above 0.95 (positivity problems are reported, not hidden).
* IPW analysis: the weighted Cox HR with robust (sandwich) standard errors (lifelines), the
  weighted Kaplan–Meier S(t) per arm and the RMST difference.  A weighted likelihood is not a
  posterior: this is a cross-check of the Bayesian g-computation, not a second answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["WEIGHTINGS", "Propensity", "balance_table", "check_design",
           "effective_sample_size", "ipw_cox", "propensity_model", "propensity_weights",
           "weighted_km", "weighted_rmst", "weighted_survival_at"]

#: Weighting schemes.
WEIGHTINGS = ("ipw", "overlap")
#: Scores outside these bounds are flagged as positivity problems.
EXTREME = (0.05, 0.95)


@dataclass(frozen=True)
class Propensity:
    """A fitted propensity model: coefficients (intercept first) and each patient's score."""

    columns: tuple[str, ...]
    coefficients: np.ndarray
    scores: np.ndarray
    iterations: int


def check_design(design: pd.DataFrame, arm: np.ndarray) -> None:
    """Raise naming a covariate that is constant or separates the arms perfectly."""
    for column in design.columns:
        x = design[column].to_numpy(float)
        if np.ptp(x) == 0:
            raise BridgeBayesError(f"propensity model: covariate {column!r} is constant; drop "
                                   "it from [bayes] covariates")
        lo_t, hi_t = x[arm == 1].min(), x[arm == 1].max()
        lo_c, hi_c = x[arm == 0].min(), x[arm == 0].max()
        if hi_c < lo_t or hi_t < lo_c:
            raise BridgeBayesError(
                f"propensity model: covariate {column!r} separates the arms perfectly "
                f"(treatment {lo_t:g} to {hi_t:g}, reference {lo_c:g} to {hi_c:g}): no "
                "overlap, so no comparison of like with like is possible (positivity fails)")


def propensity_model(design: pd.DataFrame, arm: np.ndarray, *, max_iter: int = 50,
                     tol: float = 1e-10) -> Propensity:
    """Logistic regression of ``arm`` on ``design`` (with an intercept) by IRLS.

    Examples
    --------
    >>> x = pd.DataFrame({"z": [0.0, 1.0, 2.0, 3.0, 1.5, 0.5]})
    >>> ps = propensity_model(x, np.array([0, 0, 1, 1, 0, 1]))
    >>> bool(np.all((ps.scores > 0) & (ps.scores < 1)))
    True
    """
    arm = np.asarray(arm, float)
    if not np.isin(arm, (0, 1)).all() or arm.min() == arm.max():
        raise BridgeBayesError("propensity model: both arms must be present (arm 0/1)")
    check_design(design, arm)
    x = design.to_numpy(float)
    center, scale = x.mean(axis=0), x.std(axis=0)
    X = np.column_stack([np.ones(len(arm)), (x - center) / scale])
    beta = np.zeros(X.shape[1])
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        p = 1 / (1 + np.exp(-X @ beta))
        w = np.clip(p * (1 - p), 1e-12, None)
        step = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (arm - p))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise BridgeBayesError("propensity model: IRLS did not converge (quasi-complete "
                               "separation of the arms by the covariates?)")
    scores = 1 / (1 + np.exp(-X @ beta))
    raw = beta.copy()  # back to the raw covariate scale
    raw[1:] = beta[1:] / scale
    raw[0] = beta[0] - np.sum(beta[1:] * center / scale)
    return Propensity(tuple(design.columns), raw, scores, it)


def propensity_weights(scores: np.ndarray, arm: np.ndarray, *, estimand: str = "ate",
                       weighting: str = "ipw", trim: float = 0.0) -> np.ndarray:
    """Balancing weights from propensity scores (module docstring); 0 for trimmed patients.

    Examples
    --------
    >>> propensity_weights(np.array([0.5, 0.25]), np.array([1, 0])).tolist()
    [2.0, 1.3333333333333333]
    """
    e, a = np.asarray(scores, float), np.asarray(arm, float)
    if weighting not in WEIGHTINGS:
        raise BridgeBayesError(f"weighting: expected one of {WEIGHTINGS}, got {weighting!r}")
    if weighting == "overlap":
        w = a * (1 - e) + (1 - a) * e
    elif estimand == "ate":
        w = a / e + (1 - a) / (1 - e)
    elif estimand == "att":
        w = a + (1 - a) * e / (1 - e)
    else:
        raise BridgeBayesError(f"estimand: expected 'ate' or 'att', got {estimand!r}")
    if trim > 0:
        w = np.where((e < trim) | (e > 1 - trim), 0.0, w)
    return w


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``.

    Examples
    --------
    >>> effective_sample_size(np.array([1.0, 1.0, 2.0]))
    2.6666666666666665
    """
    w = np.asarray(weights, float)
    return float(w.sum() ** 2 / np.sum(w ** 2))


def balance_table(design: pd.DataFrame, arm: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Standardised mean differences (treatment − reference) before and after weighting.

    The denominator is ``sqrt((var_t + var_c) / 2)`` of the unweighted sample (``ddof=1``)
    in both columns.

    Examples
    --------
    >>> t = balance_table(pd.DataFrame({"z": [0.0, 1.0, 2.0, 3.0]}), np.array([0, 0, 1, 1]),
    ...                   np.ones(4))
    >>> round(float(t["smd_unweighted"].iloc[0]), 4)
    2.8284
    """
    arm, w = np.asarray(arm), np.asarray(weights, float)
    rows = []
    for column in design.columns:
        x = design[column].to_numpy(float)
        t, c = arm == 1, arm == 0
        sd = np.sqrt((x[t].var(ddof=1) + x[c].var(ddof=1)) / 2)
        before = (x[t].mean() - x[c].mean()) / sd
        after = (np.average(x[t], weights=w[t]) - np.average(x[c], weights=w[c])) / sd
        rows.append({"covariate": column, "mean_treatment": float(x[t].mean()),
                     "mean_reference": float(x[c].mean()), "smd_unweighted": float(before),
                     "smd_weighted": float(after)})
    return pd.DataFrame(rows)


def weighted_km(time: np.ndarray, event: np.ndarray, weights: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Kaplan–Meier: event times and S just after each.

    Examples
    --------
    >>> t, s = weighted_km(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), np.ones(3))
    >>> t.tolist(), s.round(4).tolist()
    ([1.0, 3.0], [0.6667, 0.0])
    """
    time, event, w = (np.asarray(a, float) for a in (time, event, weights))
    times = np.unique(time[event > 0])
    at_risk = np.array([w[time >= u].sum() for u in times])
    deaths = np.array([w[(time == u) & (event > 0)].sum() for u in times])
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(at_risk > 0, 1 - deaths / at_risk, 1.0)
    return times, np.cumprod(factor)


def weighted_rmst(time: np.ndarray, event: np.ndarray, weights: np.ndarray, tau: float
                  ) -> float:
    """Area under the weighted Kaplan–Meier curve up to ``tau`` (exact for a step function)."""
    times, surv = weighted_km(time, event, weights)
    keep = times < tau
    knots = np.concatenate([[0.0], times[keep], [tau]])
    levels = np.concatenate([[1.0], surv[keep]])
    return float(np.sum(np.diff(knots) * levels))


def weighted_survival_at(time: np.ndarray, event: np.ndarray, weights: np.ndarray,
                         at: Sequence[float]) -> np.ndarray:
    """The weighted Kaplan–Meier S at ``at``."""
    times, surv = weighted_km(time, event, weights)
    index = np.searchsorted(times, np.asarray(at, float), side="right") - 1
    return np.where(index >= 0, surv[np.clip(index, 0, None)], 1.0)


def ipw_cox(time: np.ndarray, event: np.ndarray, arm: np.ndarray, weights: np.ndarray,
            *, ci: float = 0.95) -> dict[str, float]:
    """Weighted Cox model of the arm alone (lifelines, robust sandwich SE): ``hr``,
    ``lower``, ``upper``, ``se_log_hr``; patients with weight 0 left out."""
    from lifelines import CoxPHFitter
    from scipy.stats import norm

    keep = np.asarray(weights) > 0
    frame = pd.DataFrame({"T": np.asarray(time, float)[keep], "E": np.asarray(event)[keep],
                          "arm": np.asarray(arm, float)[keep], "w": np.asarray(weights)[keep]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines notes that robust SEs are used
        cph = CoxPHFitter().fit(frame, "T", "E", weights_col="w", robust=True)
    b, se = float(cph.params_["arm"]), float(cph.standard_errors_["arm"])
    z = norm.ppf((1 + ci) / 2)
    return {"hr": float(np.exp(b)), "lower": float(np.exp(b - z * se)),
            "upper": float(np.exp(b + z * se)), "se_log_hr": se}
