"""Quantitative bias analysis for unmeasured confounding of a hazard ratio.

Two views, usable without any measured covariate:

* **Bias parameter on the log HR.**  ``log HR_true = log HR_observed + delta``: a confounder
  that made the treatment look better (``delta > 0``) is removed by adding ``delta``.  The
  tipping-point grid gives ``P(HR_true < 1)`` for each fixed ``delta`` and the smallest
  ``delta`` bringing it below each threshold (0.8, 0.5); a prior ``delta ~ Normal(mu, sd)``
  gives the bias-adjusted posterior (one bias draw per posterior draw).
* **E-values** (VanderWeele & Ding 2017, Ann Intern Med 167:268): the minimum strength of
  association, on the risk-ratio scale, that an unmeasured confounder would need with both
  treatment and outcome to explain away the estimate (``E = RR + sqrt(RR (RR - 1))`` for
  ``RR >= 1``; ``1/RR`` first for protective effects) and the interval limit nearer the
  null.  A hazard ratio of a common outcome is converted first (VanderWeele 2020, Biometrics
  76:746): ``RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``.

A bias ``delta`` is a bias factor ``B = exp(delta)``; the weakest confounder (equal
associations ``RR_EU = RR_UD = E``) producing it has ``E = B + sqrt(B (B - 1))``
(Ding & VanderWeele 2016, Epidemiology 27:368): that links the tipping points to E-values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "bias_adjusted_log_hr",
    "confounder_strength",
    "e_value",
    "hr_e_values",
    "hr_to_rr",
    "tipping_points",
]


def hr_to_rr(hr: float | np.ndarray, *, common: bool = True) -> float | np.ndarray:
    """Risk ratio approximating a hazard ratio (common outcome: VanderWeele 2020; rare
    outcome: the HR itself).

    Examples
    --------
    >>> round(float(hr_to_rr(1.0)), 6), round(float(hr_to_rr(0.5, common=False)), 6)
    (1.0, 0.5)
    """
    hr = np.asarray(hr, float)
    if not common:
        return hr if hr.ndim else float(hr)
    out = (1 - 0.5 ** np.sqrt(hr)) / (1 - 0.5 ** np.sqrt(1 / hr))
    return out if out.ndim else float(out)


def e_value(rr: float) -> float:
    """E-value of a risk ratio (1 at the null; protective ratios are inverted first).

    Examples
    --------
    >>> round(e_value(3.9), 2)  # VanderWeele & Ding 2017, worked example
    7.26
    """
    rr = float(rr)
    if not (np.isfinite(rr) and rr > 0):
        return float("nan")
    rr = 1 / rr if rr < 1 else rr
    return float(rr + np.sqrt(rr * (rr - 1)))


def hr_e_values(hr: float, lower: float, upper: float, *, common: bool = True
                ) -> dict[str, float]:
    """E-values of a hazard ratio estimate and of its interval limit nearer the null (1 if
    the interval includes 1).

    Returns ``rr``, ``rr_limit`` (the converted values), ``e_value``, ``e_value_limit``.

    Examples
    --------
    >>> out = hr_e_values(0.5, 0.3, 0.9, common=False)
    >>> round(out["e_value"], 3), round(out["e_value_limit"], 3)
    (3.414, 1.462)
    """
    rr = hr_to_rr(hr, common=common)
    limit = upper if hr < 1 else lower
    crosses = lower <= 1 <= upper
    rr_limit = 1.0 if crosses else hr_to_rr(limit, common=common)
    return {"rr": float(rr), "rr_limit": float(rr_limit), "e_value": e_value(rr),
            "e_value_limit": 1.0 if crosses else e_value(rr_limit)}


def confounder_strength(bias: float | np.ndarray) -> np.ndarray:
    """The equal treatment- and outcome-association (risk ratios) of the weakest confounder
    that can shift a log ratio by ``bias``: ``E = B + sqrt(B (B - 1))`` with ``B = exp(|bias|)``.

    Examples
    --------
    >>> round(float(confounder_strength(np.log(3.9))), 2)
    7.26
    """
    b = np.exp(np.abs(np.asarray(bias, float)))
    return b + np.sqrt(b * (b - 1))


def tipping_points(log_hr: np.ndarray, *, biases: Sequence[float],
                   thresholds: Sequence[float] = (0.8, 0.5)) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame]:
    """``P(HR_true < 1)`` for each bias on the log HR, and the tipping points.

    Parameters
    ----------
    log_hr
        Posterior draws of the observed (confounded) log HR.
    biases
        Grid of ``delta`` (``log HR_true = log HR + delta``), increasing.
    thresholds
        Probabilities whose crossing is reported.

    Returns
    -------
    grid, points
        ``grid``: ``bias``, ``bias_factor`` (``exp(delta)``), ``confounder_strength``,
        ``prob_hr_below_1``; ``points``: per threshold the smallest grid ``bias`` at which the
        probability is below it (linear interpolation between grid points; ``nan`` when the
        grid never reaches it; 0 when it is below already), its bias factor and confounder
        strength.

    Examples
    --------
    >>> grid, points = tipping_points(np.full(100, np.log(0.5)), biases=np.linspace(0, 1, 11),
    ...                               thresholds=(0.5,))
    >>> round(float(points["bias"].iloc[0]), 3)  # P drops from 1 to 0 between 0.6 and 0.7
    0.65
    """
    log_hr = np.asarray(log_hr, float).ravel()
    biases = np.asarray(biases, float)
    prob = np.array([np.mean(log_hr + b < 0) for b in biases])
    grid = pd.DataFrame({"bias": biases, "bias_factor": np.exp(biases),
                         "confounder_strength": confounder_strength(biases),
                         "prob_hr_below_1": prob})
    rows = []
    for c in thresholds:
        below = np.flatnonzero(prob < c)
        if below.size == 0:
            at = float("nan")
        elif below[0] == 0:
            at = 0.0
        else:
            j = below[0]
            p0, p1 = prob[j - 1], prob[j]
            at = float(biases[j - 1] + (p0 - c) / (p0 - p1) * (biases[j] - biases[j - 1]))
        rows.append({"threshold": float(c), "bias": at, "bias_factor": float(np.exp(at)),
                     "confounder_strength": float(confounder_strength(at))})
    return grid, pd.DataFrame(rows)


def bias_adjusted_log_hr(log_hr: np.ndarray, *, mu: float, sd: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Draws of ``log HR + delta`` with ``delta ~ Normal(mu, sd)`` drawn once per posterior
    draw (the bias parameter with its own prior; the data say nothing about it).

    Examples
    --------
    >>> x = bias_adjusted_log_hr(np.zeros(4000), mu=0.1, sd=0.2, rng=np.random.default_rng(0))
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (0.1, 0.2)
    """
    log_hr = np.asarray(log_hr, float).ravel()
    return log_hr + rng.normal(mu, sd, log_hr.size)
