"""The first-screen figure: every endpoint, model and prior at a glance, from the headline
table (:func:`bridgebayes.summaries.headline.headline_table`).

One row per fit, grouped by endpoint; columns of panels: the posterior HR (median and
credible interval, log axis), then each P(HR < c) and the ROPE share on a 0–100% axis with
the value printed beside it.  Where a reconstruction ensemble was analysed, a light bar
behind each marker spans the range across its members.  The pre-specified primary analysis
is drawn bold on a shaded band; a fit that failed its diagnostics gate is labelled.  Drawn
at its display size (1 image pixel = 1 CSS pixel at the default resolution) so its text is
as large in the page as in the file.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator

from bridgebayes.core.numbers import percent
from bridgebayes.plots.base import PlotError, log_hr_axis, new_figure, require

__all__ = ["summary_figure"]

_ENSEMBLE = "#9ACBEA"  # light Okabe-Ito sky blue: light grey in greyscale
_PRIMARY_BAND = "#FBE3C8"
_PRIMARY = "#D55E00"
_ROW_PX, _FRAME_PX, _DPI = 17.0, 130.0, 110.0
_TICKS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)


def _fits(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """One row per fit (endpoint order of ``order``, then as saved) with its values."""
    keys = ["endpoint", "family", "prior"]
    fits = table.drop_duplicates(keys)[[*keys, "component", "role", "gate_passed"]].copy()
    fits["rank"] = fits["endpoint"].map({e: k for k, e in enumerate(order)})
    fits["seq"] = np.arange(len(fits))
    return fits.sort_values(["rank", "seq"]).reset_index(drop=True)


def _columns(table: pd.DataFrame) -> list[tuple[str, float | None, str]]:
    """The probability panels: ``(quantity, threshold, title)``."""
    out = []
    below = table[table["quantity"] == "prob_hr_below"]
    for c in sorted(set(below["threshold"].astype(float)), reverse=True):
        out.append(("prob_hr_below", c, f"P(HR < {c:g})"))
    rope = table[table["quantity"] == "prob_rope"]
    if len(rope):
        r = rope.iloc[0]
        out.append(("prob_rope", None, f"P(negligible)\n{r['threshold']:g} ≤ HR ≤ "
                                       f"{r['threshold_upper']:g}"))
    return out


def _value(table: pd.DataFrame, fit: pd.Series, quantity: str, threshold: float | None
           ) -> pd.Series | None:
    rows = table[(table["endpoint"] == fit["endpoint"]) & (table["family"] == fit["family"])
                 & (table["prior"] == fit["prior"]) & (table["quantity"] == quantity)]
    if threshold is not None:
        rows = rows[np.isclose(rows["threshold"].astype(float), threshold)]
    return rows.iloc[0] if len(rows) else None


def _layout(fits: pd.DataFrame) -> tuple[list[float], list[tuple[float, str]], float]:
    """y of every fit and of every endpoint header, top to bottom; the total height."""
    y, headers, pos = [], [], 0.0
    for _, part in fits.groupby("rank", sort=True):
        headers.append((pos, str(part["endpoint"].iloc[0])))
        pos += 1.0
        for _ in range(len(part)):
            y.append(pos)
            pos += 1.0
        pos += 0.25
    return y, headers, pos - 0.25


def summary_figure(table: pd.DataFrame, *, arms: tuple[str, str],
                   endpoint_labels: Mapping[str, str] | None = None,
                   family_labels: Mapping[str, str] | None = None,
                   width_px: float = 760.0) -> Figure:
    """Posterior HR, P(HR < c) and the ROPE share of every fit, with the ensemble's range.

    Parameters
    ----------
    table
        The headline table (:data:`bridgebayes.summaries.headline.HEADLINE_COLUMNS`).
    arms
        ``(reference, treatment)`` labels.
    endpoint_labels, family_labels
        Reader-facing names by canonical name (default: the names).
    width_px
        Width of the figure in pixels at the default resolution (110 dpi).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from bridgebayes.summaries.decide import decide
    >>> from bridgebayes.summaries.headline import headline_table
    >>> d = decide(np.zeros(400)).table.assign(analysis="two_arm", endpoint="os",
    ...     family="weibull", prior="vague", role="primary", gate_passed=True)
    >>> len(summary_figure(headline_table(d), arms=("a", "b")).axes)
    4
    """
    require(table, ["endpoint", "family", "prior", "role", "gate_passed", "quantity",
                    "threshold", "threshold_upper", "level", "value", "lower", "upper",
                    "ensemble_min", "ensemble_max", "ensemble_members"], "headline table")
    hr = table[table["quantity"] == "hr"]
    if hr.empty:
        raise PlotError("summary_figure: the headline table has no 'hr' rows")
    endpoint_labels = dict(endpoint_labels or {})
    family_labels = dict(family_labels or {})
    order = list(dict.fromkeys(table.loc[table["role"] == "primary", "endpoint"]))
    order += [e for e in dict.fromkeys(table["endpoint"]) if e not in order]
    fits = _fits(table, order)
    columns = _columns(table)
    y, headers, height = _layout(fits)
    members = int(table["ensemble_members"].max())
    fig = new_figure(width_px / _DPI, (_FRAME_PX + _ROW_PX * (height + 1)) / _DPI)
    grid = fig.add_gridspec(1, 1 + len(columns), width_ratios=[1.7] + [1.0] * len(columns),
                            wspace=0.03)
    axes = [fig.add_subplot(grid[0])]
    axes += [fig.add_subplot(grid[k + 1], sharey=axes[0]) for k in range(len(columns))]
    level = float(hr["level"].iloc[0])
    primary = (fits["role"] == "primary").to_numpy()
    for ax in axes:
        for yy, is_primary in zip(y, primary, strict=True):
            if is_primary:
                ax.axhspan(yy - 0.5, yy + 0.5, color=_PRIMARY_BAND, zorder=0, gid="primary_band")
        ax.set_ylim(height + 0.2, -0.8)
        ax.tick_params(axis="both", labelsize=8, length=2)
        ax.grid(axis="x", alpha=0.35, linewidth=0.6)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)

    hr_ax = axes[0]
    lows, highs = [], []
    for yy, (_, fit), is_primary in zip(y, fits.iterrows(), primary, strict=True):
        r = _value(table, fit, "hr", None)
        colour = _PRIMARY if is_primary else "black"
        if members and np.isfinite(r["ensemble_min"]):
            hr_ax.plot([r["ensemble_min"], r["ensemble_max"]], [yy, yy], color=_ENSEMBLE,
                       linewidth=6, solid_capstyle="butt", zorder=1, gid="ensemble:hr")
        hr_ax.plot([r["lower"], r["upper"]], [yy, yy], color=colour, linewidth=1.4, zorder=2,
                   gid="interval")
        hr_ax.plot([r["value"]], [yy], marker="D" if is_primary else "s", color=colour,
                   markersize=6 if is_primary else 4.5, zorder=3, gid="median")
        lows.append(float(r["lower"]))
        highs.append(float(r["upper"]))
    lo = min(0.8 * min(lows), 0.5)
    hi = max(1.25 * max(highs), 2.0)
    hr_ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    log_hr_axis(hr_ax, lo, hi)
    hr_ax.xaxis.set_major_locator(FixedLocator([t for t in _TICKS if lo <= t <= hi]))
    hr_ax.set_title(f"Hazard ratio\nmedian, {100 * level:g}% CrI", fontsize=8.5)
    hr_ax.set_xlabel(f"HR < 1 favours {arms[1]}\n(log scale)", fontsize=8)
    labels = []
    for (_, fit) in fits.iterrows():
        text = family_labels.get(fit["family"], fit["family"])
        if fit["component"]:
            text += "*"
        text += f" · {fit['prior']}"
        if fit["role"] == "primary":
            text = "PRIMARY: " + text
        if not bool(fit["gate_passed"]):
            text += " (FAILED diagnostics)"
        labels.append(text)
    ticks = [h for h, _ in headers] + y
    names = [endpoint_labels.get(e, e) for _, e in headers] + labels
    hr_ax.set_yticks(ticks, labels=names)
    for tick, k in zip(hr_ax.get_yticklabels(), range(len(ticks)), strict=True):
        is_header = k < len(headers)
        is_primary = not is_header and primary[k - len(headers)]
        tick.set_fontweight("bold" if is_header or is_primary else "normal")
        tick.set_fontsize(8.5 if is_header else 8)
        if is_primary:
            tick.set_color(_PRIMARY)

    for ax, (quantity, threshold, title) in zip(axes[1:], columns, strict=True):
        for yy, (_, fit), is_primary in zip(y, fits.iterrows(), primary, strict=True):
            r = _value(table, fit, quantity, threshold)
            if r is None:
                continue
            colour = _PRIMARY if is_primary else "black"
            if members and np.isfinite(r["ensemble_min"]):
                ax.plot([r["ensemble_min"], r["ensemble_max"]], [yy, yy], color=_ENSEMBLE,
                        linewidth=6, solid_capstyle="butt", zorder=1,
                        gid=f"ensemble:{quantity}:{threshold}")
            ax.plot([r["value"]], [yy], marker="o", color=colour,
                    markersize=5.5 if is_primary else 4.5, zorder=3,
                    gid=f"value:{quantity}:{threshold}")
            ax.text(1.47, yy, percent(float(r["value"])), ha="right", va="center",
                    fontsize=8, fontweight="bold" if is_primary else "normal", color=colour,
                    gid=f"text:{quantity}:{threshold}")
        ax.set_xlim(-0.04, 1.49)
        ax.set_xticks([0, 0.5, 1.0], labels=["0", "50", "100"])
        ax.axvline(1.1, color="#dddddd", linewidth=0.8)
        ax.tick_params(axis="y", left=False, labelleft=False)
        ax.set_title(title, fontsize=8.5)
        ax.set_xlabel("posterior\nprobability, %", fontsize=8)

    handles = [Line2D([], [], color="black", marker="s", markersize=4.5, linewidth=1.4,
                      label=f"median, {100 * level:g}% interval")]
    if primary.any():
        handles.append(Patch(facecolor=_PRIMARY_BAND, edgecolor=_PRIMARY,
                             label="pre-specified primary"))
    if members:
        handles.append(Line2D([], [], color=_ENSEMBLE, linewidth=6,
                              label=f"range over {members} reconstructions"))
    components = sorted(set(fits["component"]) - {""})
    if components:
        handles.append(Patch(visible=False, label="* HR of the " + ", ".join(components)))
    fig.legend(handles=handles, loc="outside lower center",
               ncol=len(handles) if len(handles) < 4 else 2, fontsize=8, frameon=False,
               handlelength=1.6, columnspacing=1.2)
    return fig
