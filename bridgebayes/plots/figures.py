"""Figures of the report, built from tidy tables and posterior draws.

Every function returns a :class:`matplotlib.figure.Figure` made without ``pyplot``
(no global figure state, Agg canvas), so figures can be built in any thread or test
and saved with :func:`figure_png`.  Conventions: time in months; the hazard ratio is
treatment vs reference and "HR < 1 favours <treatment>"; arm colours are fixed
(reference blue, treatment vermillion, Okabe–Ito palette).  Artists carry a ``gid``
(``"km:<arm>"``, ``"posterior:<arm>"``, ``"band:<arm>"``, ...) so tests and readers
can find them.

Examples
--------
>>> import numpy as np
>>> fig = hr_density_figure(np.random.default_rng(1).normal(-0.3, 0.3, 2000),
...                         arms=("blinatumomab", "CAR-T"), endpoint="GRFS")
>>> fig.axes[0].get_xscale()
'log'
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator
from scipy.stats import gaussian_kde

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.labels import display_label, family_label
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.reference.analysis import cif_at

__all__ = [
    "ARM_COLOURS",
    "PlotError",
    "aalen_johansen_curves",
    "at_risk_times",
    "cif_figure",
    "family_label",
    "figure_png",
    "forest_figure",
    "hr_density_figure",
    "km_posterior_figure",
    "number_at_risk",
    "ppc_figure",
]

#: Colours of the reference and the treatment arm (Okabe–Ito blue and vermillion).
ARM_COLOURS = ("#0072B2", "#D55E00")
_THRESHOLD_COLOURS = ("#56B4E9", "#009E73", "#CC79A7")
_PRIOR_COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
_HR_TICKS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)


class PlotError(BridgeBayesError):
    """A plotting input is malformed (missing columns, unknown arms, no draws)."""


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PlotError(f"{what}: missing column(s) {missing}; got {list(table.columns)}")


def _check_arms(table: pd.DataFrame, arms: tuple[str, str], what: str) -> None:
    unknown = sorted(set(table["arm"].astype(str)) - set(arms))
    if unknown:
        raise PlotError(f"{what}: column 'arm' has label(s) {unknown} not in the arms {arms}")


def figure_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes.

    Examples
    --------
    >>> figure_png(forest_figure(pd.DataFrame({"endpoint": ["os"], "family": ["weibull"],
    ...     "prior": ["neutral"], "median": [0.8], "lower": [0.5], "upper": [1.3]}),
    ...     arms=("a", "b")))[:4]
    b'\\x89PNG'
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _direction(arms: tuple[str, str]) -> str:
    return f"HR < 1 favours {arms[1]}"


def _log_hr_axis(ax, lo: float, hi: float) -> None:
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in _HR_TICKS if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


# ---------------------------------------------------------------- Kaplan–Meier + posterior

def number_at_risk(time: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Patients still at risk just after each of ``times`` (lifelines' and R's convention).

    ``n(t) = #{T_i > t}`` for ``t > 0`` and all patients at ``t = 0``: the count
    lifelines' ``add_at_risk_counts`` shows (its event table's ``at_risk - removed`` at
    the last time at or before ``t``).

    Examples
    --------
    >>> number_at_risk(np.array([1.0, 2.0, 2.0, 5.0]), [0, 2, 4, 6]).tolist()
    [4, 1, 1, 0]
    """
    time = np.asarray(time, float)
    at = np.asarray(times, float)
    counts = (time[None, :] > at[:, None]).sum(axis=1)
    return np.where(at <= 0, time.size, counts)


def at_risk_times(horizon: float) -> np.ndarray:
    """Tick times for the number-at-risk table: 0 to ``horizon`` in steps of 3, 6 or 12 months.

    Examples
    --------
    >>> at_risk_times(36.0).tolist()
    [0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0]
    """
    step = 3.0 if horizon <= 18 else 6.0 if horizon <= 48 else 12.0
    return np.arange(0.0, horizon + 1e-9, step)


def km_posterior_figure(data: EndpointData, curves: pd.DataFrame | None = None, *,
                        title: str | None = None, horizon: float | None = None,
                        ci: float = 0.95) -> Figure:
    """Kaplan–Meier curves per arm, posterior survival (median and band), numbers at risk.

    Parameters
    ----------
    data
        Endpoint data (time in months, 0/1 events).
    curves
        Posterior survival per arm on a time grid, columns ``time, arm, median, lower,
        upper`` (:attr:`bridgebayes.summaries.decide.Decision.curves`); ``None`` for KM only.
    title
        Figure title (default: the endpoint name).
    horizon
        Right end of the time axis, months (default: the curves' last time, else the
        largest observed time).
    ci
        Mass of the band, for the legend.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: survival (top) and the number-at-risk table (bottom).
    """
    if curves is not None:
        _require(curves, ["time", "arm", "median", "lower", "upper"], "posterior curves")
        _check_arms(curves, data.arms, "posterior curves")
    end = float(horizon if horizon is not None else
                curves["time"].max() if curves is not None and len(curves)
                else np.max(data.time))
    fig = _new_figure(9.5, 5.6)
    grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 1.0])
    ax = fig.add_subplot(grid[0])
    table_ax = fig.add_subplot(grid[1], sharex=ax)
    for code, arm in enumerate(data.arms):
        colour = ARM_COLOURS[code]
        mask = data.arm == code
        if curves is not None:
            arm_curves = curves[curves["arm"].astype(str) == arm]
            ax.fill_between(arm_curves["time"], arm_curves["lower"], arm_curves["upper"],
                            color=colour, alpha=0.18, linewidth=0, gid=f"band:{arm}",
                            label=f"{arm}: posterior {100 * ci:g}% band")
            ax.plot(arm_curves["time"], arm_curves["median"], color=colour, linestyle="--",
                    linewidth=1.6, gid=f"posterior:{arm}", label=f"{arm}: posterior median")
        if not mask.any():
            continue
        kmf = KaplanMeierFitter().fit(data.time[mask], data.event[mask])
        sf = kmf.survival_function_.iloc[:, 0]
        ax.step(sf.index, sf.to_numpy(), where="post", color=colour, linewidth=2.0,
                gid=f"km:{arm}", label=f"{arm}: Kaplan–Meier (n = {int(mask.sum())})")
        censored = data.time[mask & (data.event == 0)]
        ax.plot(censored, kmf.survival_function_at_times(censored).to_numpy(), linestyle="none",
                marker="|", markersize=8, color=colour, gid=f"censor:{arm}")
    ax.set_xlim(0.0, end)
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel(f"{data.name.upper()} probability")
    ax.set_title(title or f"{data.name.upper()}: Kaplan–Meier and posterior survival")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.tick_params(labelbottom=False)
    _at_risk_table(table_ax, data, at_risk_times(end))
    return fig


def _at_risk_table(ax, data: EndpointData, ticks: np.ndarray) -> None:
    ax.set_ylim(-0.5, 1.5)
    for code, arm in enumerate(data.arms):
        counts = number_at_risk(data.time[data.arm == code], ticks)
        row = 1 - code
        for t, n in zip(ticks, counts, strict=True):
            ax.text(t, row, str(int(n)), ha="center", va="center", fontsize=8,
                    color=ARM_COLOURS[code], gid=f"at_risk:{arm}")
    ax.set_yticks([1, 0], labels=list(data.arms), fontsize=8)
    for code, label in enumerate(ax.get_yticklabels()):
        label.set_color(ARM_COLOURS[code])
    ax.set_xticks(ticks)
    ax.set_xlabel("Months since transplant")
    ax.set_title("Number at risk", fontsize=9, loc="left")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=14)


# ---------------------------------------------------------------- HR posterior density

def hr_density_figure(log_hr: np.ndarray, *, arms: tuple[str, str], endpoint: str,
                      thresholds: Sequence[float] = (1.0, 0.8), title: str | None = None
                      ) -> Figure:
    """Posterior density of the hazard ratio on a log axis, P(HR < c) shaded and annotated.

    The density is a Gaussian KDE of the log-HR draws (the density of log HR drawn
    against HR on a log axis); the probabilities are the fractions of draws below
    each threshold, not areas of the KDE.

    Parameters
    ----------
    log_hr
        Posterior draws of the log hazard ratio (treatment vs reference).
    arms
        ``(reference, treatment)`` labels.
    endpoint
        Endpoint name for the title.
    thresholds
        ``c`` values for P(HR < c), shaded from the left edge.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    draws = np.asarray(log_hr, float).ravel()
    if draws.size < 2 or not np.all(np.isfinite(draws)) or np.ptp(draws) == 0:
        raise PlotError(f"hr_density_figure: need at least 2 distinct finite log-HR draws, "
                        f"got {draws.size} draw(s) (first: {draws[:3].tolist()})")
    lo, hi = np.quantile(draws, [0.0005, 0.9995])
    pad = 0.15 * (hi - lo)
    x = np.linspace(lo - pad, hi + pad, 512)
    density = gaussian_kde(draws)(x)
    hr = np.exp(x)
    fig = _new_figure(6.5, 3.8)
    ax = fig.add_subplot()
    ax.plot(hr, density, color="black", linewidth=1.5, gid="density")
    lines = []
    for k, c in enumerate(sorted(thresholds, reverse=True)):
        below = hr <= c
        p = float(np.mean(draws < np.log(c)))
        ax.fill_between(hr[below], 0, density[below], color=_THRESHOLD_COLOURS[k % 3],
                        alpha=0.45, linewidth=0, gid=f"p_below:{c:g}",
                        label=f"P(HR < {c:g}) = {100 * p:.0f}%")
        lines.append(f"P(HR < {c:g}) = {100 * p:.1f}%")
    ax.axvline(1.0, color="grey", linewidth=1, linestyle=":")
    median = float(np.exp(np.median(draws)))
    ax.axvline(median, color="black", linewidth=1, linestyle="--", gid="median",
               label=f"posterior median HR {median:.2f}")
    ax.text(0.98, 0.95, "\n".join(lines), transform=ax.transAxes, ha="right", va="top",
            fontsize=9, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "grey"},
            gid="probabilities")
    _log_hr_axis(ax, hr[0], hr[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"Hazard ratio, {arms[1]} vs {arms[0]} (log scale; {_direction(arms)})")
    ax.set_ylabel("Posterior density of log HR")
    ax.set_title(title or f"{endpoint}: posterior of the hazard ratio")
    ax.legend(loc="upper left", fontsize=8)
    return fig


# ---------------------------------------------------------------- forest plot

def forest_figure(table: pd.DataFrame, *, arms: tuple[str, str], title: str | None = None,
                  ci: float = 0.95) -> Figure:
    """Forest plot of the posterior HR (median and credible interval) per row of ``table``.

    Parameters
    ----------
    table
        Columns ``endpoint, family, prior, median, lower, upper`` (HR scale), one row per
        fitted combination, drawn top to bottom in the given order.
    arms
        ``(reference, treatment)`` labels.
    title
        Figure title.
    ci
        Mass of the intervals, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(table, ["endpoint", "family", "prior", "median", "lower", "upper"], "forest table")
    if table.empty:
        raise PlotError("forest_figure: the table has no rows")
    values = table[["median", "lower", "upper"]].to_numpy(float)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise PlotError("forest_figure: columns median/lower/upper must be positive finite HRs")
    n = len(table)
    fig = _new_figure(8.5, 1.2 + 0.32 * n)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    ax.hlines(y, values[:, 1], values[:, 2], color="black", linewidth=1.4, gid="intervals")
    priors = list(pd.unique(table["prior"].astype(str)))
    for k, prior in enumerate(priors):
        mine = (table["prior"].astype(str) == prior).to_numpy()
        ax.plot(values[mine, 0], y[mine], linestyle="none", marker="s", markersize=6,
                color=_PRIOR_COLOURS[k % len(_PRIOR_COLOURS)], gid=f"medians:{prior}",
                label=f"{prior} prior")
    labels = [f"{r.endpoint.upper()} · {family_label(r.family)} · {r.prior}"
              for r in table.itertuples()]
    ax.set_yticks(y, labels=labels, fontsize=8)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    lo = min(0.8 * float(values[:, 1].min()), 0.5)
    hi = max(1.25 * float(values[:, 2].max()), 2.0)
    _log_hr_axis(ax, lo, hi)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"Hazard ratio, {arms[1]} vs {arms[0]}: posterior median and "
                  f"{100 * ci:g}% credible interval\n(log scale; {_direction(arms)})")
    ax.set_title(title or "Posterior hazard ratios across endpoints, models and priors")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="posterior median", title_fontsize=8)
    return fig


# ---------------------------------------------------------------- competing risks

def aalen_johansen_curves(data: EndpointData) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence per arm and cause, as steps at every event time.

    Uses :func:`bridgebayes.reference.analysis.cif_at` (exact with tied times).

    Returns
    -------
    pandas.DataFrame
        ``time, arm, cause, estimate``, starting at time 0 with incidence 0.

    Examples
    --------
    >>> d = EndpointData("cr", np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 2, 0, 1]),
    ...                  np.array([0, 0, 1, 1]), ("a", "b"), np.arange(4), ("x", "y"))
    >>> aalen_johansen_curves(d).query("arm == 'a' and cause == 'y'")["estimate"].tolist()
    [0.0, 0.0, 0.5]
    """
    if not data.causes:
        raise PlotError(f"aalen_johansen_curves: endpoint {data.name!r} is not a "
                        "competing-risks endpoint (no causes)")
    rows = []
    for code, arm in enumerate(data.arms):
        mask = data.arm == code
        time, event = data.time[mask], data.event[mask]
        steps = np.concatenate([[0.0], np.unique(time[event > 0])])
        for k, cause in enumerate(data.causes, start=1):
            for t in steps:
                rows.append((float(t), arm, cause,
                             cif_at(time, event, t, cause_of_interest=k) if time.size else 0.0))
    return pd.DataFrame(rows, columns=["time", "arm", "cause", "estimate"])


def cif_figure(aalen_johansen: pd.DataFrame, posterior: pd.DataFrame | None = None, *,
               arms: tuple[str, str], causes: Sequence[str] | None = None,
               horizon: float | None = None, ci: float = 0.95) -> Figure:
    """Cumulative incidence per cause (one panel each): Aalen–Johansen steps and posterior bands.

    Parameters
    ----------
    aalen_johansen
        ``time, arm, cause, estimate`` (e.g. :func:`aalen_johansen_curves`).
    posterior
        Posterior cumulative incidence ``time, arm, cause, median, lower, upper``, or ``None``.
    arms
        ``(reference, treatment)`` labels.
    causes
        Causes to draw, in order (default: as they appear in ``aalen_johansen``).
    horizon
        Right end of the time axis, months.
    ci
        Mass of the bands, for the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(aalen_johansen, ["time", "arm", "cause", "estimate"], "Aalen–Johansen table")
    _check_arms(aalen_johansen, arms, "Aalen–Johansen table")
    if posterior is not None:
        _require(posterior, ["time", "arm", "cause", "median", "lower", "upper"],
                 "posterior CIF table")
        _check_arms(posterior, arms, "posterior CIF table")
    causes = list(causes) if causes is not None else list(pd.unique(aalen_johansen["cause"]))
    if not causes:
        raise PlotError("cif_figure: no causes to draw")
    end = float(horizon if horizon is not None else max(
        aalen_johansen["time"].max(), posterior["time"].max() if posterior is not None else 0))
    fig = _new_figure(5.0 * len(causes), 4.2)
    axes = fig.subplots(1, len(causes), squeeze=False)[0]
    for ax, cause in zip(axes, causes, strict=True):
        for code, arm in enumerate(arms):
            colour = ARM_COLOURS[code]
            if posterior is not None:
                part = posterior[(posterior["cause"] == cause) & (posterior["arm"] == arm)]
                ax.fill_between(part["time"], part["lower"], part["upper"], color=colour,
                                alpha=0.18, linewidth=0, gid=f"band:{arm}:{cause}",
                                label=f"{arm}: posterior {100 * ci:g}% band")
                ax.plot(part["time"], part["median"], color=colour, linestyle="--",
                        gid=f"posterior:{arm}:{cause}", label=f"{arm}: posterior median")
            part = aalen_johansen[(aalen_johansen["cause"] == cause)
                                  & (aalen_johansen["arm"] == arm)].sort_values("time")
            times = np.append(part["time"].to_numpy(float), end)
            values = np.append(part["estimate"].to_numpy(float), part["estimate"].iloc[-1]
                               if len(part) else 0.0)
            ax.step(times, values, where="post", color=colour, linewidth=2,
                    gid=f"aj:{arm}:{cause}", label=f"{arm}: Aalen–Johansen")
        ax.set_xlim(0, end)
        ax.set_ylim(0, 1)
        ax.set_xlabel("Months since transplant")
        ax.set_ylabel(f"Cumulative incidence of {display_label(cause)}")
        ax.set_title(display_label(cause))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("Competing risks: cumulative incidence per arm")
    return fig


# ---------------------------------------------------------------- posterior predictive check

def ppc_figure(table: pd.DataFrame, *, arms: tuple[str, str], endpoint: str,
               ci: float = 0.95) -> Figure:
    """Posterior predictive check: observed KM vs the band of replicated KM curves, per arm.

    Parameters
    ----------
    table
        ``time, arm, observed, lower, median, upper`` on a time grid: the observed KM
        and pointwise quantiles of KM curves of replicated data sets.
    arms
        ``(reference, treatment)`` labels.
    endpoint
        Endpoint name for the title.
    ci
        Mass of the bands, for the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(table, ["time", "arm", "observed", "lower", "median", "upper"], "PPC table")
    _check_arms(table, arms, "PPC table")
    fig = _new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    for code, arm in enumerate(arms):
        part = table[table["arm"] == arm].sort_values("time")
        colour = ARM_COLOURS[code]
        ax.fill_between(part["time"], part["lower"], part["upper"], step="post", color=colour,
                        alpha=0.18, linewidth=0, gid=f"band:{arm}",
                        label=f"{arm}: replicated KM, {100 * ci:g}% band")
        ax.step(part["time"], part["median"], where="post", color=colour, linestyle="--",
                linewidth=1, gid=f"replicated:{arm}", label=f"{arm}: replicated KM, median")
        ax.step(part["time"], part["observed"], where="post", color=colour, linewidth=2,
                gid=f"observed:{arm}", label=f"{arm}: observed KM")
    ax.set_xlim(0, float(table["time"].max()))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Months since transplant")
    ax.set_ylabel("Survival probability")
    ax.set_title(f"{endpoint}: observed vs replicated KM")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return fig
