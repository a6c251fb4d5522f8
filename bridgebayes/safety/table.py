"""Every safety outcome of a cohort in one table; outcomes without data say "not reported"."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bridgebayes.data.cohort import INFECTION_PREFIX, SAFETY_DAY_COLUMNS, Cohort
from bridgebayes.safety.incidence import beta_binomial
from bridgebayes.safety.prior import BetaPrior, resolve_prior
from bridgebayes.safety.summary import (
    COLUMNS,
    SAFETY_OUTCOMES,
    SafetySummary,
    check_ci,
    result_row,
)
from bridgebayes.safety.time_to_engraftment import ENGRAFTMENT_HORIZON_DAYS, engraftment

__all__ = ["safety_table"]


def _not_reported(outcome: str, label: str, missing: str) -> tuple[dict, str]:
    row = result_row(outcome, label, "", "", status="not reported",
                     note=f"no {missing} column: no counts in the source")
    return row, (f"{label}: not reported (the cohort has no {missing} column); no estimate "
                 "is made.")


def safety_table(cohort: Cohort, *, prior: BetaPrior | str = "jeffreys",
                 deltas: Sequence[float] = (0.0, 0.10), ci: float = 0.95, n_draws: int = 20000,
                 seed: int = 1, engraftment_family: str = "weibull",
                 engraftment_method: str = "exact",
                 horizon_days: float = ENGRAFTMENT_HORIZON_DAYS, log_hr_mu: float = 0.0,
                 log_hr_sigma: float = 1.0) -> SafetySummary:
    """Every safety outcome of a cohort in one tidy table; absent ones say "not reported".

    The standard outcomes are :data:`SAFETY_OUTCOMES`; every ``infection_<type>`` column is
    analysed on its own.  An outcome whose column is absent gets one row with status ``"not
    reported"`` and no numbers — the seed cohort (``data/cao2025/cohort.csv``) has none: the
    study published no safety counts.

    Parameters
    ----------
    cohort
        The cohort.
    prior, deltas, ci, n_draws, seed
        Incidences: see :meth:`Incidence.summary`; ``seed`` also seeds engraftment draws.
    engraftment_family, engraftment_method, horizon_days, log_hr_mu, log_hr_sigma
        Engraftment: ``family``, ``method``, ... of :func:`engraftment`.

    Returns
    -------
    SafetySummary

    Examples
    --------
    >>> from bridgebayes import load_cohort
    >>> seed = load_cohort("data/cao2025/cohort.csv", arms=("blinatumomab", "CAR-T"))
    >>> safety_table(seed).table["status"].unique().tolist()  # doctest: +SKIP
    ['not reported']
    """
    prior, ci = resolve_prior(prior), check_ci(ci)
    columns, rows, sentences = list(cohort.table.columns), [], []

    def add(summary: SafetySummary) -> None:
        rows.extend(summary.table.to_dict("records"))
        sentences.extend(summary.sentences)

    for outcome, label in SAFETY_OUTCOMES.items():
        if outcome == "infection":
            present = [c for c in columns if c.startswith(INFECTION_PREFIX)]
        else:
            present = [outcome] if outcome in columns else []
        if not present:
            missing = f"'{INFECTION_PREFIX}<type>'" if outcome == "infection" else repr(outcome)
            row, sentence = _not_reported(outcome, label, missing)
            rows.append(row)
            sentences.append(sentence)
            continue
        for column in present:
            if column in SAFETY_DAY_COLUMNS:
                add(engraftment(cohort, column, family=engraftment_family,
                                horizon_days=horizon_days,
                                log_hr_mu=log_hr_mu, log_hr_sigma=log_hr_sigma,
                                method=engraftment_method, n_draws=n_draws,
                                seed=seed).summary(ci=ci))
                continue
            flag, arm = cohort.table[column].to_numpy(), cohort.table["arm"].to_numpy()
            kind = column.removeprefix(INFECTION_PREFIX).replace("_", " ")
            name = label if outcome != "infection" else f"{label} ({kind})"
            inc = beta_binomial(tuple(int(flag[arm == a].sum()) for a in cohort.arms),
                                tuple(int((arm == a).sum()) for a in cohort.arms), prior=prior,
                                arms=cohort.arms, outcome=column, label=name)
            add(inc.summary(deltas=deltas, ci=ci, n_draws=n_draws, seed=seed))
    return SafetySummary(pd.DataFrame(rows, columns=list(COLUMNS)), tuple(sentences))
