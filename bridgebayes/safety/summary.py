"""The common shape of safety results: outcome labels, the tidy table and its rows.

Conventions as in :mod:`bridgebayes.summaries.decide`: contrasts are **treatment minus reference**
(difference) or **treatment over reference** (ratio); ``estimate`` is the posterior median,
``lower``/``upper`` the equal-tailed credible interval.  Every safety result, whatever its
model, is a :class:`SafetySummary` whose table has the columns :data:`COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["COLUMNS", "SAFETY_OUTCOMES", "SafetySummary", "check_ci", "result_row"]

#: Standard safety outcomes: name -> label.  ``infection`` stands for every
#: ``infection_<type>`` column; the day columns are times to engraftment, the rest flags.
SAFETY_OUTCOMES: Mapping[str, str] = MappingProxyType({
    "anc_engraftment_day": "Neutrophil engraftment",
    "plt_engraftment_day": "Platelet engraftment",
    "agvhd24": "Grade II–IV acute GVHD",
    "cgvhd": "Chronic GVHD (any)",
    "infection": "Infection",
})
#: Columns of every safety table, in order.
COLUMNS = ("outcome", "label", "status", "model", "quantity", "arm", "threshold", "events",
           "n", "estimate", "lower", "upper", "probability", "note")


@dataclass(frozen=True)
class SafetySummary:
    """Safety results as one tidy table plus plain sentences.

    Attributes
    ----------
    table
        Columns ``outcome, label, status, model, quantity, arm, threshold, events, n,
        estimate, lower, upper, probability``; ``status`` is ``"estimated"`` or
        ``"not reported"`` (then every number is missing); ``note`` carries caveats.
    sentences
        One or more plain-language statements per outcome.
    """

    table: pd.DataFrame
    sentences: tuple[str, ...]

    def summary(self) -> str:
        """The sentences, one per line."""
        return "\n".join(self.sentences)


def result_row(outcome: str, label: str, model: str, quantity: str, *, arm: str = "",
               draws: np.ndarray | None = None, ci: float = 0.95,
               **values: float | str) -> dict:
    """One table row (status ``"estimated"``, numbers missing unless given).

    ``draws`` fill ``estimate``/``lower``/``upper`` with their median and equal-tailed
    ``ci`` interval; ``values`` set (or override) any other column.
    """
    row = dict.fromkeys(COLUMNS, np.nan) | {
        "outcome": outcome, "label": label, "status": "estimated", "model": model,
        "quantity": quantity, "arm": arm, "note": ""}
    if draws is not None:
        lo, med, hi = np.quantile(draws, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
        row |= {"estimate": float(med), "lower": float(lo), "upper": float(hi)}
    return row | values


def check_ci(ci: float) -> float:
    """``ci`` as a float in (0, 1), else :class:`~bridgebayes.core.errors.BridgeBayesError`."""
    if not isinstance(ci, float | int) or not 0 < float(ci) < 1:
        raise BridgeBayesError(f"ci: expected a probability in (0, 1), got {ci!r}")
    return float(ci)
