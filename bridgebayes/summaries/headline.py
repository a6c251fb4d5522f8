"""The headline table: what the report's first screen shows, one tidy table saved by the run.

Per endpoint × family × prior of the two-arm fits, three kinds of rows:

``hr``
    posterior median HR (``value``) and its credible interval (``lower``, ``upper``,
    ``level``);
``prob_hr_below``
    P(HR < ``threshold``) for each threshold of the spec;
``prob_rope``
    P(``threshold`` ≤ HR ≤ ``threshold_upper``): a practically negligible effect;

each with how much it moves across the reconstruction ensemble (``ensemble_min``,
``ensemble_max`` over the members, by the family's exact posterior; NaN where there is no
ensemble or the family has no exact posterior), the fit's ``role`` and ``gate_passed``, and
the part of the hazard the HR concerns where it is not the whole (``component``: the uncured
patients of a cure model).
Nothing is computed here that the decision and sensitivity tables do not already hold: the
rows are selected and joined, so the figure drawn from them
(:func:`bridgebayes.plots.summary.summary_figure`) shows exactly the saved numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HEADLINE_COLUMNS", "HEADLINE_QUANTITIES", "headline_table"]

#: Columns of the headline table, in order.
HEADLINE_COLUMNS = ("endpoint", "family", "prior", "component", "role", "gate_passed",
                    "quantity",
                    "threshold", "threshold_upper", "level", "value", "lower", "upper",
                    "ensemble_min", "ensemble_max", "ensemble_members")
#: The quantities of the headline table, in display order.
HEADLINE_QUANTITIES = ("hr", "prob_hr_below", "prob_rope")
_FIT = ["endpoint", "family", "prior"]


def headline_table(decisions: pd.DataFrame, spread: pd.DataFrame | None = None, *,
                   members: int = 0) -> pd.DataFrame:
    """The first screen's numbers from the saved decision and sensitivity tables.

    Parameters
    ----------
    decisions
        Decision rows (:data:`bridgebayes.summaries.decision.COLUMNS`); only
        ``analysis == "two_arm"`` rows are used.
    spread
        The reconstruction-sensitivity spread (``endpoint, family, prior, quantity,
        threshold, min, max``: :func:`bridgebayes.run.sensitivity.ensemble_sensitivity`),
        or ``None``.
    members
        Number of ensemble members behind ``spread`` (0: no ensemble).

    Returns
    -------
    pandas.DataFrame
        :data:`HEADLINE_COLUMNS`, fits in the order of ``decisions``, within a fit ``hr``,
        then ``prob_hr_below`` by decreasing threshold, then ``prob_rope``.

    Examples
    --------
    >>> from bridgebayes.summaries.decide import decide
    >>> d = decide(np.zeros(400), hr_thresholds=(1.0,)).table.assign(
    ...     analysis="two_arm", endpoint="os", family="weibull", prior="vague", role="primary")
    >>> headline_table(d)["quantity"].tolist()
    ['hr', 'prob_hr_below', 'prob_rope']
    """
    d = decisions[(decisions["analysis"] == "two_arm")
                  & decisions["quantity"].isin(HEADLINE_QUANTITIES)]
    d = d.assign(component=d["component"].fillna(""),
                 value=d["probability"].where(d["quantity"] != "hr", d["estimate"]),
                 order=d["quantity"].map(HEADLINE_QUANTITIES.index),
                 fit=pd.factorize(pd.MultiIndex.from_frame(d[_FIT]))[0])
    d = d.sort_values(["fit", "order", "threshold"], ascending=[True, True, False],
                      kind="stable")
    out = d.assign(ensemble_min=np.nan, ensemble_max=np.nan, ensemble_members=0)
    if spread is not None and not spread.empty and members:
        s = spread[spread["quantity"].isin(HEADLINE_QUANTITIES)]
        keys = [*_FIT, "quantity"]
        s = s.assign(threshold=s["threshold"].where(s["quantity"] != "hr"))
        left = out.assign(threshold=out["threshold"].where(out["quantity"] != "hr"))
        merged = left[[*keys, "threshold"]].reset_index().merge(
            s[[*keys, "threshold", "min", "max"]], on=[*keys, "threshold"], how="left",
            validate="one_to_one").set_index("index")
        found = merged["min"].notna()
        out["ensemble_min"] = merged["min"]
        out["ensemble_max"] = merged["max"]
        out["ensemble_members"] = np.where(found, members, 0)
    return out[list(HEADLINE_COLUMNS)].reset_index(drop=True)
