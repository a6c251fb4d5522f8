"""The one decision schema: a tidy table of decision quantities, its curves and sentences.

Every posterior summary of the package — two-arm fits, competing risks, the illness–death
model, the reconstruction ensemble, planning — is a :class:`Decision` whose ``table`` has the
columns :data:`COLUMNS`, one row per quantity:

``analysis``
    What produced the row: ``two_arm``, ``competing_risks``, ``illness_death``, ...
``endpoint``, ``family``, ``prior``
    The model the row belongs to (canonical names; the report shows labels).
``quantity``, ``component``, ``arm``, ``time``
    What the row is (a code of :data:`QUANTITIES`), for which cause / transition / state
    (``component``, ``""`` for a two-arm endpoint), arm (a label, ``"B - A"`` for a
    difference, ``""`` for an effect) and time (landmark, horizon; NaN if none).
``estimate``, ``lower``, ``upper``, ``level``
    Posterior median and the equal-tailed interval of mass ``level`` (HDI rows: the
    highest-density interval).
``threshold``, ``threshold_upper``, ``probability``
    A posterior probability and the threshold(s) of its event (the event is named by the
    quantity: ``prob_hr_below`` is P(HR < threshold)).
``mcse``
    Monte Carlo standard error of ``probability`` (probability rows) or of ``estimate``.
``gate_passed``
    Diagnostics gate of the fit (``True`` for exact posteriors).
``estimand``, ``time_unit``, ``extrapolated``, ``member``, ``role``
    Conditional or marginal effect; unit of ``time`` and of time-valued estimates;
    whether the row concerns times beyond the last observed follow-up; ensemble member
    (``""``: the main cohort); ``primary`` / ``secondary`` / ``sensitivity``.

Sentences are written from the rows (:func:`interval_text`), so the credible level they
state is the level that was computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a table is made: `percent` and labels need none
    import pandas as pd

from bridgebayes.core.numbers import percent

__all__ = ["COLUMNS", "CURVE_COLUMNS", "QUANTITIES", "Decision", "interval_text", "label",
           "new_row", "percent", "table"]

#: Columns of every decision table, in this order.
COLUMNS = ("analysis", "endpoint", "family", "prior", "quantity", "component", "arm", "time",
           "estimate", "lower", "upper", "level", "threshold", "threshold_upper",
           "probability", "mcse", "gate_passed", "estimand", "time_unit", "extrapolated",
           "member", "role")
#: Columns of every curve table (posterior bands on a time grid).
CURVE_COLUMNS = ("time", "arm", "component", "median", "lower", "upper", "level")

#: Quantity codes and their display templates (``{t}`` time, ``{c}`` threshold,
#: ``{c2}`` upper threshold, ``{u}`` unit, ``{k}`` component).
QUANTITIES = {
    "hr": "HR",
    "hr_hdi": "HR (HDI)",
    "prob_hr_below": "P(HR < {c})",
    "prob_rope": "P({c} ≤ HR ≤ {c2})",
    "interval_hr": "HR ({k} {u})",
    "prob_interval_hr_below": "P(HR < {c}, {k} {u})",
    "aft_factor": "AFT factor (ratio of medians)",
    "survival": "S({t} {u})",
    "survival_difference": "S({t} {u}) difference",
    "prob_survival_difference_above": "P(S({t} {u}) difference > {c})",
    "rmst": "RMST({t} {u})",
    "rmst_difference": "RMST({t} {u}) difference",
    "prob_rmst_difference_above": "P(RMST({t} {u}) difference > {c})",
    "median_survival": "median survival",
    "cif": "CIF({t} {u})",
    "cif_difference": "CIF({t} {u}) difference",
    "prob_cif_difference_below": "P(CIF({t} {u}) difference < {c})",
    "prob_cif_difference_above": "P(CIF({t} {u}) difference > {c})",
    "state_probability": "P({k} at {t} {u})",
    "state_difference": "{k}({t} {u}) difference",
    "prob_state_better": "P(treatment better on {k} at {t} {u})",
    "cumulative_hazard_ratio": "cumulative hazard ratio at {t} {u}",
    "prob_cumulative_hazard_ratio_below": "P(cumulative hazard ratio at {t} {u} < {c})",
    "prob_joint": "P(OS difference > 0 and NRM difference < {c} at {t} {u})",
    "prob_survival_between": "P({c} < S({t} {u}) < {c2})",
    "cure_fraction": "cure fraction",
    "cure_fraction_prior": "cure fraction, prior",
    "cure_fraction_narrowing": "cure fraction: interval narrower than the prior's by",
    "cure_fraction_overlap": "cure fraction: prior–posterior overlap",
    "cure_difference": "cure fraction difference",
    "uncured_survival": "survival of the uncured at {t} {u} (end of follow-up)",
    "prob_cure_difference_above": "P(cure fraction difference > {c})",
    "prior_prob_cure_difference_above": "prior P(cure fraction difference > {c})",
    "stacking_weight": "stacking weight",
    "survival_spread": "S({t} {u}): spread of the models' medians",
    "rmst_spread": "RMST({t} {u}): spread of the models' medians",
}

_DEFAULTS = {"analysis": "two_arm", "endpoint": "", "family": "", "prior": "", "component": "",
             "arm": "", "time": np.nan, "estimate": np.nan, "lower": np.nan, "upper": np.nan,
             "level": np.nan, "threshold": np.nan, "threshold_upper": np.nan,
             "probability": np.nan, "mcse": np.nan, "gate_passed": True,
             "estimand": "conditional", "time_unit": "months", "extrapolated": False,
             "member": "", "role": ""}


def new_row(quantity: str, **values: object) -> dict[str, object]:
    """One decision row with every column (defaults for those not given).

    Examples
    --------
    >>> row = new_row("prob_hr_below", threshold=1.0, probability=0.9)
    >>> row["quantity"], row["threshold"], row["gate_passed"]
    ('prob_hr_below', 1.0, True)
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"unknown decision quantity {quantity!r}")
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown decision columns {sorted(unknown)}")
    return {column: values.get(column, _DEFAULTS.get(column, quantity))
            for column in COLUMNS}


def table(rows: Iterable[Mapping[str, object]], **columns: object) -> pd.DataFrame:
    """Rows as a decision table with :data:`COLUMNS` in order; ``columns`` set on every row."""
    import pandas as pd

    frame = pd.DataFrame([new_row(str(r["quantity"]), **{k: v for k, v in r.items()
                                                         if k != "quantity"}) for r in rows],
                         columns=list(COLUMNS))
    for name, value in columns.items():
        frame[name] = value
    return frame.astype({"extrapolated": bool, "gate_passed": bool})


def label(row: Mapping[str, object]) -> str:
    """Reader-facing name of a decision row (its quantity with time, unit and thresholds).

    Examples
    --------
    >>> label(new_row("survival", time=24.0, time_unit="months"))
    'S(24 months)'
    >>> label(new_row("prob_hr_below", threshold=0.8))
    'P(HR < 0.8)'
    """
    def g(value: object) -> str:
        return "" if value is None or (isinstance(value, float) and np.isnan(value)) \
            else f"{float(value):g}"
    return QUANTITIES[str(row["quantity"])].format(
        t=g(row.get("time")), c=g(row.get("threshold")), c2=g(row.get("threshold_upper")),
        u=row.get("time_unit", ""), k=row.get("component", ""))


def interval_text(row: Mapping[str, object], *, scale: float = 1.0, digits: int = 2,
                  signed: bool = False) -> str:
    """``"0.61 (95% CrI 0.30 to 1.20)"`` from a row, its level taken from the row.

    Examples
    --------
    >>> interval_text(new_row("hr", estimate=0.6, lower=0.3, upper=1.2, level=0.9))
    '0.60 (90% CrI 0.30 to 1.20)'
    """
    fmt = f"{{:{'+' if signed else ''}.{digits}f}}"
    est, lo, hi = (fmt.format(scale * float(row[k])) for k in ("estimate", "lower", "upper"))
    return f"{est} ({100 * float(row['level']):g}% CrI {lo} to {hi})"


@dataclass(frozen=True)
class Decision:
    """Decision quantities of one analysis (one model and prior, or a multi-state model).

    Attributes
    ----------
    table
        A decision table (:data:`COLUMNS`).
    curves
        Posterior bands on a time grid (:data:`CURVE_COLUMNS`).
    sentences
        Plain-language statements written from the table's rows.
    """

    table: pd.DataFrame
    curves: pd.DataFrame = field(default_factory=lambda: _empty_curves())
    sentences: tuple[str, ...] = ()

    def summary(self) -> str:
        """The sentences, one per line."""
        return "\n".join(self.sentences)

    def get(self, quantity: str, **where: object) -> pd.Series:
        """The one row of ``quantity`` matching ``where`` (e.g. ``threshold=1.0``).

        Examples
        --------
        >>> d = Decision(table([new_row("prob_hr_below", threshold=1.0, probability=0.9)]))
        >>> float(d.get("prob_hr_below", threshold=1.0)["probability"])
        0.9
        """
        rows = self.table[self.table["quantity"] == quantity]
        for column, value in where.items():
            rows = rows[np.isclose(rows[column], value)] if isinstance(value, float) \
                else rows[rows[column] == value]
        if len(rows) != 1:
            raise KeyError(f"{len(rows)} rows of {quantity!r} with {where}")
        return rows.iloc[0]


def _empty_curves() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=list(CURVE_COLUMNS))
