"""The clinician-facing decision table: the rows of ``decide()`` as labelled, formatted text.

One table per endpoint, one column per model (family), for one prior: HR with its credible
interval and HDI, P(HR < c), the probability of a negligible difference (ROPE), the Weibull
AFT factor, per-interval HRs of a time-varying PEM, P(ΔS(t) > δ) at each landmark and the
median survival per arm — "not reached by t months" when the posterior median survival lies
beyond the model horizon (``threshold`` of the ``median survival`` rows), and marked as an
extrapolation when it lies beyond the last follow-up.  A model whose fit failed the
diagnostics gate has "FAILED diagnostics — do not use" in its column header.  Landmark
survival and RMST values have their own report table.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["decision_rows", "fixed", "format_median", "format_row"]

#: Quantities shown elsewhere in the report (landmark survival and RMST table).
_ELSEWHERE = (r"^S\(\d", r"^RMST\(")


def fixed(x: float, digits: int) -> str:
    """``x`` rounded to ``digits`` decimals, without a negative zero; ``∞``/``−∞``.

    Examples
    --------
    >>> fixed(-0.001, 2), fixed(float("inf"), 1)
    ('0.00', '∞')
    """
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{round(float(x), digits) + 0.0:.{digits}f}"


def _interval(row: pd.Series, digits: int = 2) -> str:
    return (f"{fixed(row['estimate'], digits)} [{fixed(row['lower'], digits)}, "
            f"{fixed(row['upper'], digits)}]")


def _pct(p: float) -> str:
    """Percent; ``">99%"`` / ``"<1%"`` instead of rounding to certainty."""
    if p > 0.995 and p < 1.0:
        return ">99%"
    if 0.0 < p < 0.005:
        return "<1%"
    return f"{100 * p:.0f}%"


def format_median(row: pd.Series, followup: float | None = None) -> str:
    """Median survival (months) with its 95% CrI; "not reached by t months" beyond the model
    horizon ``threshold``; flagged as an extrapolation beyond the last ``followup``.

    Examples
    --------
    >>> format_median(pd.Series({"estimate": float("inf"), "lower": 20.0,
    ...                          "upper": float("inf"), "threshold": 36.0}))
    'not reached by 36 months (95% CrI lower bound 20.0)'
    >>> format_median(pd.Series({"estimate": 14.0, "lower": 9.5, "upper": float("inf"),
    ...                          "threshold": 36.0}))
    '14.0 [9.5, > 36]'
    >>> format_median(pd.Series({"estimate": 30.0, "lower": 20.0, "upper": 35.0,
    ...                          "threshold": 36.0}), followup=24.0)
    '30.0 [20.0, 35.0] (model extrapolation: last follow-up 24 months)'
    """
    horizon = row["threshold"]
    beyond = followup is not None and row["estimate"] > followup
    note = f" (model extrapolation: last follow-up {followup:g} months)" if beyond else ""
    if math.isinf(row["estimate"]):
        note = (f"; last follow-up {followup:g} months" if beyond and followup < horizon
                else "")
        if math.isinf(row["lower"]):
            return f"not reached by {horizon:g} months" + (f" ({note[2:]})" if note else "")
        return (f"not reached by {horizon:g} months (95% CrI lower bound "
                f"{fixed(row['lower'], 1)}{note})")
    upper = f"> {horizon:g}" if math.isinf(row["upper"]) else fixed(row["upper"], 1)
    return f"{fixed(row['estimate'], 1)} [{fixed(row['lower'], 1)}, {upper}]{note}"


def format_row(row: pd.Series, followup: float | None = None) -> tuple[str, str] | None:
    """``(label, text)`` of one ``decide()`` row, or ``None`` if shown elsewhere
    (``followup``: last follow-up in months, to flag extrapolated medians)."""
    q = str(row["quantity"])
    if q == "HR":
        return "HR, median [95% CrI]", _interval(row)
    if q == "HR (HDI)":
        return "HR, 95% HDI", f"[{fixed(row['lower'], 2)}, {fixed(row['upper'], 2)}]"
    if q == "P(HR < c)":
        return f"P(HR < {row['threshold']:g})", _pct(row["probability"])
    if q.startswith("P(") and "<= HR <=" in q:
        lo, hi = q[2:-1].split(" <= HR <= ")
        return f"P(negligible difference: {lo} ≤ HR ≤ {hi})", _pct(row["probability"])
    if q.startswith("P(S(") and q.endswith("difference > delta)"):
        t = q[len("P(S("):q.index(")")]
        return (f"P(Δ survival at {t} months > {100 * row['threshold']:g} points)",
                _pct(row["probability"]))
    if q == "median survival":
        return f"median survival, {row['arm']} (months)", format_median(row, followup)
    if q.startswith("HR (interval"):
        span = q[len("HR (interval "):].removesuffix(" months)").replace("–inf", " onwards")
        return f"HR in months {span}", (
            f"{_interval(row)}; P(HR < 1) {_pct(row['probability'])}")
    if pd.Series([q]).str.match("|".join(_ELSEWHERE)).iloc[0]:
        return None
    if q.startswith("AFT factor"):
        return f"{q}, > 1: longer survival with the treatment", _interval(row)
    return q, _interval(row)  # further named quantities


def decision_rows(decisions: pd.DataFrame, *, endpoint: str, prior: str,
                  families: tuple[str, ...], labels: dict[str, str],
                  failed: frozenset[str] = frozenset(),
                  followup: float | None = None) -> pd.DataFrame:
    """One endpoint's decision table: ``quantity`` and one column per family label.

    ``failed``: families whose fit failed the diagnostics gate (their header says so);
    ``followup``: the endpoint's last follow-up (months), to flag extrapolated medians.

    Examples
    --------
    >>> decision_rows(result.decisions, endpoint="os", prior="neutral",
    ...               families=("weibull",), labels={"weibull": "Weibull"})  # doctest: +SKIP
    """
    columns: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for family in families:
        part = decisions[(decisions["endpoint"] == endpoint) & (decisions["family"] == family)
                         & (decisions["prior"] == prior)]
        column: dict[str, str] = {}
        for _, row in part.iterrows():
            formatted = format_row(row, followup)
            if formatted is None:
                continue
            label, text = formatted
            column[label] = text
            if label not in order:
                order.append(label)
        header = labels.get(family, family)
        if family in failed:
            header += " — FAILED diagnostics, do not use"
        columns[header] = column
    return pd.DataFrame({"quantity": order, **{name: [col.get(q, "–") for q in order]
                                               for name, col in columns.items()}})
