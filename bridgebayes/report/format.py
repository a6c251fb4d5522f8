"""Number formatting and decision rows as text, for the report (formatting only)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bridgebayes.summaries.decision import label, percent

__all__ = ["cell", "fixed", "interval", "log_hr_prior_text", "median_text", "pct", "row_text",
           "table_block"]


def fixed(x: float, digits: int) -> str:
    """``x`` rounded to ``digits`` decimals, without a negative zero; ``∞``/``−∞``; ``–``
    for a missing value.

    Examples
    --------
    >>> fixed(-0.001, 2), fixed(float("inf"), 1), fixed(float("nan"), 1)
    ('0.00', '∞', '–')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{round(float(x), digits) + 0.0:.{digits}f}"


def pct(p: float) -> str:
    """A probability in whole percent, ``>99%``/``<1%`` instead of certainty (see
    :func:`bridgebayes.summaries.decision.percent`)."""
    return percent(float(p)) if p is not None else "–"


def interval(row: Mapping[str, Any], digits: int = 2, scale: float = 1.0) -> str:
    """``"0.61 [0.30, 1.20]"`` from a decision row."""
    return (f"{fixed(scale * row['estimate'], digits)} [{fixed(scale * row['lower'], digits)}, "
            f"{fixed(scale * row['upper'], digits)}]")


def median_text(row: Mapping[str, Any], unit: str) -> str:
    """Median survival with its interval; "not reached by t" beyond the model horizon
    (``time`` of the row); flagged as an extrapolation when the row says so.

    Examples
    --------
    >>> median_text({"estimate": float("inf"), "lower": 20.0, "upper": float("inf"),
    ...              "time": 36.0, "level": 0.95, "extrapolated": True}, "months")
    'not reached by 36 months (95% CrI lower bound 20.0; model extrapolation)'
    """
    horizon, level = float(row["time"]), f"{100 * float(row['level']):g}%"
    note = "model extrapolation" if bool(row.get("extrapolated")) else ""
    if math.isinf(row["estimate"]):
        if math.isinf(row["lower"]):
            return f"not reached by {horizon:g} {unit}" + (f" ({note})" if note else "")
        tail = f"; {note}" if note else ""
        return (f"not reached by {horizon:g} {unit} ({level} CrI lower bound "
                f"{fixed(row['lower'], 1)}{tail})")
    upper = f"> {horizon:g}" if math.isinf(row["upper"]) else fixed(row["upper"], 1)
    text = f"{fixed(row['estimate'], 1)} [{fixed(row['lower'], 1)}, {upper}]"
    return text + (f" ({note})" if note else "")


def row_text(row: Mapping[str, Any]) -> str:
    """The value of one decision row as text (probabilities in percent; intervals)."""
    q = str(row["quantity"])
    if q.startswith(("prob", "prior_prob")):
        return pct(row["probability"])
    if q in ("cure_fraction_narrowing", "cure_fraction_overlap", "stacking_weight"):
        return f"{fixed(100 * row['estimate'], 0)} %"
    if q == "survival_spread":
        return (f"{fixed(100 * row['estimate'], 0)} points ({fixed(100 * row['lower'], 0)} % "
                f"to {fixed(100 * row['upper'], 0)} %)")
    if q == "rmst_spread":
        return (f"{fixed(row['estimate'], 1)} {row['time_unit']} ({fixed(row['lower'], 1)} to "
                f"{fixed(row['upper'], 1)})")
    if q in ("cure_fraction", "cure_fraction_prior", "cure_difference", "uncured_survival"):
        return interval(row, 0, 100.0) + " %"
    if q == "hr_hdi":
        return f"[{fixed(row['lower'], 2)}, {fixed(row['upper'], 2)}]"
    if q == "median_survival":
        return median_text(row, str(row["time_unit"]))
    if q in ("survival", "survival_difference", "cif", "cif_difference", "state_probability",
             "state_difference"):
        return interval(row, 0, 100.0) + " %"
    if q.startswith("rmst"):
        return interval(row, 1) + f" {row['time_unit']}"
    return interval(row)


def cell(value: Any, digits: int = 2) -> str:
    """A table cell: numbers fixed, booleans yes/no, missing as ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fixed(value, digits)
    return str(value)


def table_block(frame: pd.DataFrame, *, digits: int = 2, css: Mapping[str, Any] = (),
                columns: Sequence[str] | None = None) -> dict[str, Any]:
    """A table block for the template: header and rows of cells (``css`` maps a column to a
    function value -> CSS class)."""
    css = dict(css)
    columns = list(columns or frame.columns)
    rows = []
    for record in frame[columns].to_dict(orient="records"):
        cells = []
        for column in columns:
            value = record[column]
            klass = css[column](value) if column in css else ""
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append({"text": cell(value, digits),
                          "class": " ".join(c for c in (klass, "num" if numeric else "") if c)})
        rows.append(cells)
    return {"kind": "table", "header": columns, "rows": rows}


def decision_label(row: Mapping[str, Any]) -> str:
    """The label of a decision row (quantity, time, unit, threshold)."""
    return label(row)


def log_hr_prior_text(row: dict) -> str:
    """A saved log-HR prior (``mu``, ``sigma`` and, for ``dist = "NormalMixture"``, its vague
    component) as text: ``Normal(0.00, 0.42)`` or ``0.80 Normal(…) + 0.20 Normal(…)``."""
    from bridgebayes.models.priors import LogHrPrior

    if row.get("dist") != "NormalMixture":
        return LogHrPrior(row["mu"], row["sigma"]).describe()
    return LogHrPrior(row["mu"], row["sigma"], vague_weight=row["vague_weight"],
                      vague_mu=row.get("vague_mu", 0.0),
                      vague_sigma=row["vague_sigma"]).describe()
