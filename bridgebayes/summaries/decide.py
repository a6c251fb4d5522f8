"""Decision quantities from posterior draws, in one tidy table plus plain sentences.

Conventions: the treatment effect is the hazard ratio of **treatment vs reference**
(HR < 1: lower hazard with treatment, better for OS, PFS and GRFS).  Differences in
survival and RMST are **treatment minus reference** (positive: treatment better).
Everything here works on draws, so the exact oracle and a NUTS fit give their
decision quantities through the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["Decision", "band_frame", "credible_interval", "decide"]

#: survival(times, arm) -> array (n_draws, n_times) of S(t) for arm 0 (reference) or 1.
SurvivalFn = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Decision:
    """Decision quantities for one endpoint under one model and prior.

    Attributes
    ----------
    table
        Tidy table: ``quantity, arm, threshold, estimate, lower, upper, probability``.
        ``estimate`` is the posterior median, ``lower``/``upper`` the equal-tailed
        interval; ``probability`` holds posterior probabilities of the stated event.
    curves
        Per-arm survival on a time grid: ``time, arm, median, lower, upper``.
    sentences
        Plain-language statements for clinicians.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    sentences: tuple[str, ...]

    def summary(self) -> str:
        """The sentences, one per line."""
        return "\n".join(self.sentences)


def credible_interval(x: np.ndarray, ci: float) -> tuple[float, float, float]:
    # quantiles that are draws: no interpolation, so infinite draws (median never reached)
    # give infinite bounds instead of inf - inf
    method = "inverted_cdf" if np.isinf(x).any() else "linear"
    lo, med, hi = np.quantile(x, [(1 - ci) / 2, 0.5, (1 + ci) / 2], method=method)
    return float(med), float(lo), float(hi)


def band_frame(times: np.ndarray, values: np.ndarray, ci: float, **labels: str) -> pd.DataFrame:
    """Tidy pointwise band of draws ``values`` (``n_draws × n_times``): ``time``, the
    ``labels`` columns (e.g. ``arm=...``), ``median``, ``lower``, ``upper`` (equal-tailed)."""
    # one partition for the three quantiles (np.median is the 0.5 quantile, linear method)
    med, lo, hi = np.quantile(values, [0.5, (1 - ci) / 2, (1 + ci) / 2], axis=0)
    return pd.DataFrame({"time": times, **labels, "median": med, "lower": lo, "upper": hi})


def _row(quantity: str, draws: np.ndarray | None, ci: float, *, arm: str = "",
         threshold: float = np.nan, probability: float = np.nan) -> dict:
    med, lo, hi = (np.nan,) * 3 if draws is None else credible_interval(draws, ci)
    return {"quantity": quantity, "arm": arm, "threshold": threshold, "estimate": med,
            "lower": lo, "upper": hi, "probability": probability}


def _median_time(surv: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per draw, the first grid time with S <= 1/2 (linear interpolation); inf if never."""
    below = surv <= 0.5
    first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    out = np.full(surv.shape[0], np.inf)
    ok = first > 0
    j = first[ok]
    s0, s1 = surv[ok, j - 1], surv[ok, j]
    frac = np.where(s0 > s1, (s0 - 0.5) / (s0 - s1), 0.0)
    out[ok] = grid[j - 1] + frac * (grid[j] - grid[j - 1])
    out[first == 0] = grid[0]
    return out


def decide(log_hr: np.ndarray, *, survival: SurvivalFn | None = None,
           arms: tuple[str, str] = ("reference", "treatment"), endpoint: str = "event",
           prior: str = "chosen", hr_thresholds: Sequence[float] = (1.0, 0.8),
           rope: tuple[float, float] = (0.9, 1.11), landmarks: Sequence[float] = (12.0, 24.0),
           deltas: Sequence[float] = (0.0, 0.10), rmst_tau: float | None = 24.0,
           horizon: float | None = None, ci: float = 0.95,
           extra: dict[str, np.ndarray] | None = None,
           interval_log_hr: np.ndarray | None = None,
           interval_cuts: Sequence[float] | None = None) -> Decision:
    """Turn posterior draws into decision quantities.

    Parameters
    ----------
    log_hr
        Posterior draws of the log hazard ratio (treatment vs reference), any shape.
    survival
        ``survival(times, arm)`` returning S(t) per draw, shape ``(n_draws, n_times)``,
        with draws aligned with ``log_hr``; without it only HR quantities are given.
    arms
        ``(reference, treatment)`` labels used in the table and sentences.
    endpoint, prior
        Names used in the sentences.
    hr_thresholds
        ``c`` values for P(HR < c).
    rope
        Region of practical equivalence on the HR scale.
    landmarks
        Times (months) for landmark survival and its difference.
    deltas
        Thresholds for P(S_treatment(t*) − S_reference(t*) > delta).
    rmst_tau
        Horizon of the restricted mean survival time; ``None`` to skip.
    horizon
        End of the survival-curve grid (default: the largest landmark / tau × 1.5).
    ci
        Mass of the credible intervals (equal-tailed; HDI also given for the HR).
    extra
        Further named posterior quantities to summarise (e.g. the Weibull AFT factor).
    interval_log_hr
        Draws of interval-specific log HRs of a non-PH (time-varying) piecewise model,
        shape ``(n_draws, n_intervals)``, aligned with ``log_hr``; adds one row per interval,
        ``quantity = "HR (interval a–b months)"`` with the median HR and its interval, and
        ``probability`` = P(HR < 1) in that interval (``threshold`` 1.0), plus a sentence.
    interval_cuts
        Interior cut points (months) of those intervals, ``n_intervals − 1`` increasing
        values; the first interval starts at 0, the last is open (``"a–inf"``).

    Returns
    -------
    Decision

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = decide(rng.normal(-0.3, 0.2, 4000), arms=("blina", "CAR-T"), endpoint="OS")
    >>> round(float(d.table.query("quantity == 'P(HR < c)' and threshold == 1.0")
    ...       ["probability"].iloc[0]), 2)
    0.93
    """
    log_hr = np.asarray(log_hr, float).ravel()
    hr = np.exp(log_hr)
    ref, trt = arms
    rows = [_row("HR", hr, ci)]
    hdi = az.hdi(hr, hdi_prob=ci)
    rows.append({**_row("HR (HDI)", None, ci), "lower": float(hdi[0]), "upper": float(hdi[1])})
    for c in hr_thresholds:
        rows.append(_row("P(HR < c)", None, ci, threshold=c, probability=float(np.mean(hr < c))))
    p_rope = float(np.mean((hr >= rope[0]) & (hr <= rope[1])))
    rows.append(_row(f"P({rope[0]} <= HR <= {rope[1]})", None, ci, probability=p_rope))
    for name, draws in (extra or {}).items():
        rows.append(_row(name, np.asarray(draws, float).ravel(), ci))
    interval_rows = [] if interval_log_hr is None else _interval_rows(
        interval_log_hr, interval_cuts, n_draws=log_hr.size, ci=ci)
    rows += interval_rows
    med, lo, hi = credible_interval(hr, ci)
    p1 = float(np.mean(hr < 1))
    sentences = [
        f"Under the {prior} prior, the probability that {trt} lowers the {endpoint} hazard "
        f"compared with {ref} (HR < 1) is {100 * p1:.0f}%.",
        f"Posterior median HR {med:.2f} (95% credible interval {lo:.2f} to {hi:.2f}); "
        f"probability of a practically negligible difference (HR {rope[0]}–{rope[1]}) "
        f"{100 * p_rope:.0f}%.",
    ]
    if interval_rows:
        sentences.append(_interval_sentence(interval_rows, trt, ref))
    curves = pd.DataFrame(columns=["time", "arm", "median", "lower", "upper"])
    if survival is not None:
        end = horizon or 1.5 * max([*landmarks, rmst_tau or 0.0, 1.0])
        grid = np.linspace(0.0, end, 601)
        surv = {0: survival(grid, 0), 1: survival(grid, 1)}
        curves = pd.concat([band_frame(grid, surv[a], ci, arm=arms[a]) for a in (0, 1)],
                           ignore_index=True)
        rows += _landmark_rows(survival, arms, landmarks, deltas, ci, sentences, endpoint)
        if rmst_tau is not None:
            rows += _rmst_rows(survival, arms, rmst_tau, ci)
        for a in (0, 1):  # threshold: the grid end; inf = not reached by then
            rows.append(_row("median survival", _median_time(surv[a], grid), ci, arm=arms[a],
                             threshold=float(end)))
    return Decision(pd.DataFrame(rows), curves, tuple(sentences))


def _landmark_rows(survival: SurvivalFn, arms: tuple[str, str], landmarks: Sequence[float],
                   deltas: Sequence[float], ci: float, sentences: list[str],
                   endpoint: str) -> list[dict]:
    rows = []
    at = np.asarray(landmarks, float)
    s_ref, s_trt = survival(at, 0), survival(at, 1)
    for j, t in enumerate(at):
        diff = s_trt[:, j] - s_ref[:, j]
        rows.append(_row(f"S({t:g})", s_ref[:, j], ci, arm=arms[0], threshold=t))
        rows.append(_row(f"S({t:g})", s_trt[:, j], ci, arm=arms[1], threshold=t))
        rows.append(_row(f"S({t:g}) difference", diff, ci, arm=f"{arms[1]} - {arms[0]}",
                         threshold=t))
        for delta in deltas:
            rows.append(_row(f"P(S({t:g}) difference > delta)", None, ci, threshold=delta,
                             probability=float(np.mean(diff > delta))))
        med, lo, hi = credible_interval(diff, ci)
        sentences.append(
            f"At {t:g} months, {endpoint} is {100 * np.median(s_trt[:, j]):.0f}% with {arms[1]} "
            f"vs {100 * np.median(s_ref[:, j]):.0f}% with {arms[0]} (difference "
            f"{100 * med:+.0f} points, 95% CrI {100 * lo:+.0f} to {100 * hi:+.0f}; "
            f"probability that {arms[1]} is better {100 * np.mean(diff > 0):.0f}%).")
    return rows


def _rmst_rows(survival: SurvivalFn, arms: tuple[str, str], tau: float, ci: float) -> list[dict]:
    # trapezoid error <= tau h^2 max|S''| / 12: with 481 points and hazards up to 1/month,
    # about 1e-4 months at tau = 24 — far below the Monte Carlo error of the draws
    grid = np.linspace(0.0, tau, 481)
    rmst = {a: np.trapezoid(survival(grid, a), grid, axis=1) for a in (0, 1)}
    return [_row(f"RMST({tau:g})", rmst[0], ci, arm=arms[0], threshold=tau),
            _row(f"RMST({tau:g})", rmst[1], ci, arm=arms[1], threshold=tau),
            _row(f"RMST({tau:g}) difference", rmst[1] - rmst[0], ci,
                 arm=f"{arms[1]} - {arms[0]}", threshold=tau)]


def _interval_rows(log_hr: np.ndarray, cuts: Sequence[float] | None, *, n_draws: int,
                   ci: float) -> list[dict]:
    """One row per interval of a time-varying effect: HR median/interval and P(HR < 1)."""
    log_hr = np.asarray(log_hr, float)
    cuts = np.atleast_1d(np.asarray([] if cuts is None else cuts, float))
    if log_hr.ndim != 2 or log_hr.shape[0] != n_draws:
        raise BridgeBayesError(f"interval_log_hr: expected shape (n_draws={n_draws}, "
                               f"n_intervals), got {log_hr.shape}")
    if cuts.ndim != 1 or cuts.size != log_hr.shape[1] - 1 or not np.all(np.isfinite(cuts)) or (
            np.any(cuts <= 0) or np.any(np.diff(cuts) <= 0)):
        raise BridgeBayesError(f"interval_cuts: expected {log_hr.shape[1] - 1} increasing "
                               f"finite cut points > 0 (one fewer than intervals), got "
                               f"{cuts.tolist()}")
    edges = [0.0, *cuts.tolist(), np.inf]
    rows = []
    for j in range(log_hr.shape[1]):
        label = f"{edges[j]:g}–{edges[j + 1]:g}"
        rows.append(_row(f"HR (interval {label} months)", np.exp(log_hr[:, j]), ci,
                         threshold=1.0, probability=float(np.mean(log_hr[:, j] < 0))))
    return rows


def _interval_sentence(rows: list[dict], trt: str, ref: str) -> str:
    parts = [f"{row['quantity'][len('HR (interval '):-len(' months)')]} months "
             f"{row['estimate']:.2f} ({row['lower']:.2f} to {row['upper']:.2f}; "
             f"P(HR < 1) {100 * row['probability']:.0f}%)" for row in rows]
    return (f"Time-varying hazard ratio of {trt} vs {ref} by interval (median, 95% CrI): "
            + "; ".join(parts) + ".")
