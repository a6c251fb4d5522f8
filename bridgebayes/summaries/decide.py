"""Decision quantities of a two-arm survival model from posterior draws.

Conventions: the treatment effect is the hazard ratio of **treatment vs reference**
(HR < 1: lower hazard with treatment).  Differences in survival and RMST are **treatment
minus reference** (positive: treatment better).  Everything here works on draws, so the
exact oracle and a NUTS fit give their decision quantities through the same code, as rows of
the one decision schema (:mod:`bridgebayes.summaries.decision`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.summaries.cure import cure_rows
from bridgebayes.summaries.decision import (
    CURVE_COLUMNS,
    Decision,
    interval_text,
    new_row,
    percent,
    table,
)
from bridgebayes.summaries.rows import credible_interval, draw_row, mcse_of_mean, probability_row

__all__ = ["Decision", "band_frame", "credible_interval", "decide", "draw_row",
           "mark_extrapolated", "mcse_of_mean", "survival_rows"]

#: survival(times, arm) -> array (n_draws, n_times) of S(t) for arm 0 (reference) or 1.
SurvivalFn = Callable[[np.ndarray, int], np.ndarray]


def band_frame(times: np.ndarray, values: np.ndarray, ci: float, **labels: str) -> pd.DataFrame:
    """Tidy pointwise band of draws ``values`` (``n_draws × n_times``): ``time``, the
    ``labels`` columns (e.g. ``arm=...``), ``median``, ``lower``, ``upper`` (equal-tailed),
    ``level``."""
    # one partition for the three quantiles (np.median is the 0.5 quantile, linear method)
    med, lo, hi = np.quantile(values, [0.5, (1 - ci) / 2, (1 + ci) / 2], axis=0)
    return pd.DataFrame({"time": times, **labels, "median": med, "lower": lo, "upper": hi,
                         "level": ci})


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
           interval_cuts: Sequence[float] | None = None, chains: int = 1,
           time_unit: str = "months", followup: float | None = None,
           hr_component: str = "", cure: Mapping[str, np.ndarray] | None = None) -> Decision:
    """Turn posterior draws into decision quantities.

    Parameters
    ----------
    log_hr
        Posterior draws of the log hazard ratio (treatment vs reference), chain-major.
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
        Times for landmark survival and its difference (in ``time_unit``).
    deltas
        Thresholds for P(S_treatment(t*) − S_reference(t*) > delta).
    rmst_tau
        Horizon of the restricted mean survival time; ``None`` to skip.
    horizon
        End of the survival-curve grid (default: the largest landmark / tau × 1.5).
    ci
        Mass of the credible intervals (equal-tailed; HDI also given for the HR).
    extra
        Further named posterior quantities to summarise (codes of
        :data:`~bridgebayes.summaries.decision.QUANTITIES` or their display names, e.g.
        the Weibull AFT factor).
    interval_log_hr
        Draws of interval-specific log HRs of a non-PH (time-varying) piecewise model,
        shape ``(n_draws, n_intervals)``, aligned with ``log_hr``; adds per interval an
        ``interval_hr`` row (component ``"a–b"``) and its P(HR < 1), plus a sentence.
    interval_cuts
        Interior cut points of those intervals, ``n_intervals − 1`` increasing values; the
        first interval starts at 0, the last is open (``"≥a"``).
    chains
        Number of chains the draws come from (for the MCSE; 1 for independent draws).
    time_unit
        Unit of every time (stored in the rows, used in the sentences).
    followup
        Last observed time of the data: rows about later times are ``extrapolated``.
    hr_component
        What ``log_hr`` is the log HR of when it is not the whole hazard (a cure model:
        ``"uncured patients"``): the HR rows carry it as ``component`` and the sentences
        name it.
    cure
        Cure-fraction draws per arm, ``posterior`` ``(n_draws, 2)`` and ``prior``
        ``(n_prior, 2)``: adds the rows of :func:`bridgebayes.summaries.cure.cure_rows`.

    Returns
    -------
    Decision

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = decide(rng.normal(-0.3, 0.2, 4000), arms=("blina", "CAR-T"), endpoint="OS")
    >>> round(float(d.get("prob_hr_below", threshold=1.0)["probability"]), 2)
    0.93
    """
    log_hr = np.asarray(log_hr, float).ravel()
    hr = np.exp(log_hr)
    ref, trt = arms
    rows = [draw_row("hr", hr, ci, chains=chains)]
    import arviz as az

    hdi = az.hdi(hr, hdi_prob=ci)
    rows.append(new_row("hr_hdi", lower=float(hdi[0]), upper=float(hdi[1]), level=ci))
    for c in hr_thresholds:
        rows.append(probability_row("prob_hr_below", hr < c, chains, threshold=float(c)))
    in_rope = (hr >= rope[0]) & (hr <= rope[1])
    rows.append(probability_row("prob_rope", in_rope, chains, threshold=float(rope[0]),
                                threshold_upper=float(rope[1])))
    for name, draws in (extra or {}).items():
        code = "aft_factor" if name.startswith("AFT factor") else name
        rows.append(draw_row(code, draws, ci, chains=chains))
    interval_rows = [] if interval_log_hr is None else _interval_rows(
        interval_log_hr, interval_cuts, n_draws=log_hr.size, ci=ci, chains=chains)
    rows += interval_rows
    p1 = float(np.mean(hr < 1))
    of = f" of the {hr_component}" if hr_component else ""
    sentences = [
        f"Under the {prior} prior, the probability that {trt} lowers the {endpoint} hazard"
        f"{of} compared with {ref} (HR < 1) is {percent(p1)}"
        + (" (this model has no HR of the whole hazard)." if hr_component else "."),
        f"Posterior median HR{of} {interval_text(rows[0])}; probability of a practically "
        f"negligible difference (HR {rope[0]:g}–{rope[1]:g}) {percent(float(in_rope.mean()))}.",
    ]
    if hr_component:
        for row in rows:
            row["component"] = row["component"] or hr_component
    if interval_rows:
        sentences.append(_interval_sentence(interval_rows, trt, ref, time_unit))
    if cure is not None:
        more, text = cure_rows(cure, arms=arms, ci=ci, chains=chains)
        rows += more
        sentences += text
    curves = pd.DataFrame(columns=list(CURVE_COLUMNS))
    if survival is not None:
        more, curves, text = survival_rows(survival, arms=arms, landmarks=landmarks,
                                           deltas=deltas, rmst_tau=rmst_tau, horizon=horizon,
                                           ci=ci, chains=chains, endpoint=endpoint,
                                           time_unit=time_unit)
        rows += more
        sentences += text
    frame = table(rows, time_unit=time_unit)
    if followup is not None:
        frame["extrapolated"] = _beyond(frame, float(followup))
    return Decision(frame, curves, tuple(sentences))


def survival_rows(survival: SurvivalFn, *, arms: tuple[str, str], landmarks: Sequence[float],
                  deltas: Sequence[float], rmst_tau: float | None, horizon: float | None,
                  ci: float, chains: int, endpoint: str, time_unit: str
                  ) -> tuple[list[dict], pd.DataFrame, list[str]]:
    """The survival part of a decision: posterior bands on a grid up to ``horizon``, landmark
    S(t) and differences, RMST to ``rmst_tau``, medians; rows, curves and sentences.

    Shared by :func:`decide` and the stacked (model-averaged) curves
    (:mod:`bridgebayes.summaries.stacking`); options as in :func:`decide`.
    """
    end = horizon or 1.5 * max([*landmarks, rmst_tau or 0.0, 1.0])
    grid = np.linspace(0.0, end, 601)
    at = np.asarray(landmarks, float)
    # every time on one array: one evaluation of S(t) per arm (S is elementwise in t, so each
    # value is the one a separate call would give), then the curve grid, the landmarks and
    # the RMST grid are slices of it
    tau_grid = np.linspace(0.0, rmst_tau, 481) if rmst_tau is not None else np.empty(0)
    joint = np.concatenate([grid, at, tau_grid])
    both = {a: survival(joint, a) for a in (0, 1)}
    surv = {a: both[a][:, :grid.size] for a in (0, 1)}
    curves = pd.concat([band_frame(grid, surv[a], ci, arm=arms[a], component="")
                        for a in (0, 1)], ignore_index=True)[list(CURVE_COLUMNS)]
    sentences: list[str] = []
    rows = _landmark_rows({a: both[a][:, grid.size:grid.size + at.size] for a in (0, 1)}, at,
                          arms, deltas, ci, chains, sentences, endpoint, time_unit)
    if rmst_tau is not None:
        rows += _rmst_rows({a: both[a][:, grid.size + at.size:] for a in (0, 1)}, tau_grid,
                           arms, ci, chains)
    for a in (0, 1):  # time: the grid end; inf = not reached by then
        rows.append(draw_row("median_survival", _median_time(surv[a], grid), ci,
                             chains=chains, arm=arms[a], time=float(end)))
    return rows, curves, sentences


def _beyond(frame: pd.DataFrame, followup: float) -> pd.Series:
    """Rows about times after the last follow-up (medians: an estimate beyond it)."""
    median = frame["quantity"] == "median_survival"
    return np.where(median, frame["estimate"] > followup, frame["time"] > followup)


def mark_extrapolated(frame: pd.DataFrame, followup: float) -> pd.DataFrame:
    """``frame`` with ``extrapolated`` set on rows about times after ``followup`` (the last
    observed time; medians: an estimate beyond it)."""
    return frame.assign(extrapolated=_beyond(frame, float(followup)).astype(bool))


def _landmark_rows(at_landmarks: dict[int, np.ndarray], at: np.ndarray,
                   arms: tuple[str, str], deltas: Sequence[float], ci: float, chains: int,
                   sentences: list[str], endpoint: str, unit: str) -> list[dict]:
    """Rows of S at the landmarks ``at`` from its draws per arm (``n_draws × len(at)``)."""
    rows = []
    s_ref, s_trt = at_landmarks[0], at_landmarks[1]
    pair = f"{arms[1]} - {arms[0]}"
    for j, t in enumerate(at):
        diff = s_trt[:, j] - s_ref[:, j]
        rows.append(draw_row("survival", s_ref[:, j], ci, chains=chains, arm=arms[0], time=t))
        rows.append(draw_row("survival", s_trt[:, j], ci, chains=chains, arm=arms[1], time=t))
        rows.append(diff_row := draw_row("survival_difference", diff, ci, chains=chains,
                                         arm=pair, time=t))
        for delta in deltas:
            rows.append(probability_row("prob_survival_difference_above", diff > delta,
                                        chains, arm=pair, time=t, threshold=float(delta)))
        sentences.append(
            f"At {t:g} {unit}, {endpoint} is {100 * np.median(s_trt[:, j]):.0f}% with "
            f"{arms[1]} vs {100 * np.median(s_ref[:, j]):.0f}% with {arms[0]} (difference "
            f"{interval_text(diff_row, scale=100, digits=0, signed=True)} points; "
            f"probability that {arms[1]} is better {percent(float(np.mean(diff > 0)))}).")
    return rows


def _rmst_rows(on_grid: dict[int, np.ndarray], grid: np.ndarray, arms: tuple[str, str],
               ci: float, chains: int) -> list[dict]:
    """RMST rows from S's draws per arm on ``grid`` (481 points from 0 to tau)."""
    # trapezoid error <= tau h^2 max|S''| / 12: with 481 points and hazards up to 1/month,
    # about 1e-4 months at tau = 24 — far below the Monte Carlo error of the draws
    tau = float(grid[-1])
    rmst = {a: np.trapezoid(on_grid[a], grid, axis=1) for a in (0, 1)}
    return [draw_row("rmst", rmst[0], ci, chains=chains, arm=arms[0], time=tau),
            draw_row("rmst", rmst[1], ci, chains=chains, arm=arms[1], time=tau),
            draw_row("rmst_difference", rmst[1] - rmst[0], ci, chains=chains,
                     arm=f"{arms[1]} - {arms[0]}", time=tau)]


def _interval_rows(log_hr: np.ndarray, cuts: Sequence[float] | None, *, n_draws: int,
                   ci: float, chains: int) -> list[dict]:
    """Per interval of a time-varying effect: HR median/interval and P(HR < 1)."""
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
        part = (f"{edges[j]:g}–{edges[j + 1]:g}" if np.isfinite(edges[j + 1])
                else f"≥{edges[j]:g}")
        rows.append(draw_row("interval_hr", np.exp(log_hr[:, j]), ci, chains=chains,
                             component=part, time=edges[j]))
        rows.append(probability_row("prob_interval_hr_below", log_hr[:, j] < 0, chains,
                                 component=part, time=edges[j], threshold=1.0))
    return rows


def _interval_sentence(rows: list[dict], trt: str, ref: str, unit: str) -> str:
    hr_rows = [r for r in rows if r["quantity"] == "interval_hr"]
    p_rows = [r for r in rows if r["quantity"] == "prob_interval_hr_below"]
    parts = [f"{h['component']} {unit} {h['estimate']:.2f} ({h['lower']:.2f} to "
             f"{h['upper']:.2f}; P(HR < 1) {percent(p['probability'])})"
             for h, p in zip(hr_rows, p_rows, strict=True)]
    level = f"{100 * float(hr_rows[0]['level']):g}%"
    return (f"Time-varying hazard ratio of {trt} vs {ref} by interval (median, {level} CrI): "
            + "; ".join(parts) + ".")
