"""Cure-fraction decision quantities: each arm's cure fraction, prior against posterior.

A cure fraction ``pi`` (the share of patients who never have the event: the plateau of
``S(t)``) is identified by the data only when follow-up extends past the survival times of the
uncured patients (Maller & Zhou 1996, *Survival Analysis with Long-Term Survivors*); otherwise
it comes from the parametric form and the prior.  So every cure-fraction row has its prior
beside it: the prior's median and interval (``cure_fraction_prior``), how much narrower the
posterior interval is (``cure_fraction_narrowing``: ``1 − width_post / width_prior``) and
the overlap of the two densities (``cure_fraction_overlap``: ``∫ min(p_prior, p_post)``,
1 = the data changed nothing).  Array maths on draws only (the families give the draws).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bridgebayes.summaries.decision import interval_text, new_row, percent
from bridgebayes.summaries.rows import draw_row, probability_row

__all__ = ["OVERLAP_BINS", "PRIOR_DOMINATED_OVERLAP", "UNCURED_AT_FOLLOWUP", "cure_rows",
           "narrowing", "overlap"]

#: Histogram bins on [0, 1] for the prior–posterior overlap.
OVERLAP_BINS = 40
#: Overlap at or above which a cure fraction counts as prior-dominated (guardrail).
PRIOR_DOMINATED_OVERLAP = 0.7
#: Posterior median survival of the uncured at the end of an arm's follow-up above which
#: follow-up does not extend past the uncured patients' survival times (guardrail).
UNCURED_AT_FOLLOWUP = 0.1


def overlap(prior: np.ndarray, posterior: np.ndarray, *, bins: int = OVERLAP_BINS) -> float:
    """Overlap coefficient ``∫ min(p, q)`` of two distributions on [0, 1] from draws
    (histograms on ``bins`` equal bins).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> round(overlap(rng.uniform(size=100_000), rng.uniform(size=100_000)), 2)
    0.99
    >>> overlap(np.full(10, 0.1), np.full(10, 0.9))
    0.0
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    p = np.histogram(np.clip(prior, 0.0, 1.0), edges)[0] / np.size(prior)
    q = np.histogram(np.clip(posterior, 0.0, 1.0), edges)[0] / np.size(posterior)
    return float(np.minimum(p, q).sum())


def narrowing(prior: np.ndarray, posterior: np.ndarray, *, ci: float = 0.95) -> float:
    """``1 − width_post / width_prior`` of the equal-tailed ``ci`` intervals (0: the data
    did not narrow the interval; 1: a point).

    Examples
    --------
    >>> narrowing(np.linspace(0, 1, 1001), np.linspace(0.25, 0.75, 1001))
    0.5
    """
    q = [(1 - ci) / 2, (1 + ci) / 2]
    lo, hi = np.quantile(prior, q)
    plo, phi = np.quantile(posterior, q)
    return float(round(1.0 - (phi - plo) / (hi - lo), 12)) if hi > lo else 0.0


def cure_rows(cure: Mapping[str, np.ndarray], *, arms: tuple[str, str], ci: float,
              chains: int = 1) -> tuple[list[dict], list[str]]:
    """Decision rows and sentences of the cure fractions.

    Parameters
    ----------
    cure
        ``posterior``: draws ``(n_draws, 2)`` of the cure fraction per arm (reference,
        treatment), chain-major; ``prior``: independent prior draws ``(n_prior, 2)``;
        optionally ``uncured_survival`` ``(n_draws, 2)``, the uncured patients' survival at
        the end of each arm's follow-up ``followup`` ``(2,)`` (Maller & Zhou's condition for
        an identified cure fraction: close to 0).
    arms
        ``(reference, treatment)`` labels.
    ci
        Credible mass.
    chains
        Chains of the posterior draws (MCSE).

    Returns
    -------
    rows, sentences
        Rows ``cure_fraction``, ``cure_fraction_prior``, ``cure_fraction_narrowing``,
        ``cure_fraction_overlap`` per arm; ``cure_difference`` and
        ``prob_cure_difference_above`` (P(pi_treatment > pi_reference)) with
        ``prior_prob_cure_difference_above`` beside it; ``uncured_survival`` per arm if
        given.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> post = np.column_stack([rng.beta(40, 60, 4000), rng.beta(60, 40, 4000)])
    >>> rows, text = cure_rows({"posterior": post, "prior": rng.uniform(size=(4000, 2))},
    ...                        arms=("A", "B"), ci=0.95)
    >>> [r["quantity"] for r in rows][:4]
    ['cure_fraction', 'cure_fraction_prior', 'cure_fraction_narrowing', 'cure_fraction_overlap']
    """
    post, prior = (np.asarray(cure[k], float).reshape(-1, 2) for k in ("posterior", "prior"))
    rows, parts, identified = [], [], []
    for a, arm in enumerate(arms):
        rows.append(row := draw_row("cure_fraction", post[:, a], ci, chains=chains, arm=arm))
        rows.append(draw_row("cure_fraction_prior", prior[:, a], ci, arm=arm))
        shrink, shared = narrowing(prior[:, a], post[:, a], ci=ci), overlap(prior[:, a],
                                                                            post[:, a])
        rows.append(new_row("cure_fraction_narrowing", estimate=shrink, level=ci, arm=arm))
        rows.append(new_row("cure_fraction_overlap", estimate=shared, arm=arm))
        parts.append(f"{arm} {interval_text(row, scale=100, digits=0)}%")
        identified.append(f"{arm} {100 * shrink:.0f}% narrower than the prior's (prior–"
                          f"posterior overlap {100 * shared:.0f}%)")
    if "uncured_survival" in cure:
        tail = np.asarray(cure["uncured_survival"], float).reshape(-1, 2)
        for a, arm in enumerate(arms):
            rows.append(draw_row("uncured_survival", tail[:, a], ci, chains=chains, arm=arm,
                                 time=float(np.asarray(cure["followup"], float)[a])))
    pair = f"{arms[1]} - {arms[0]}"
    diff, prior_diff = post[:, 1] - post[:, 0], prior[:, 1] - prior[:, 0]
    rows.append(diff_row := draw_row("cure_difference", diff, ci, chains=chains, arm=pair))
    rows.append(probability_row("prob_cure_difference_above", diff > 0, chains, arm=pair,
                                threshold=0.0))
    prior_p = float(np.mean(prior_diff > 0))
    rows.append(new_row("prior_prob_cure_difference_above", probability=prior_p, arm=pair,
                        threshold=0.0))
    sentences = [
        "Cure fraction (the share of patients who never have the event; median, "
        f"{100 * ci:g}% CrI): " + "; ".join(parts) + f". Difference {arms[1]} − {arms[0]} "
        f"{interval_text(diff_row, scale=100, digits=0, signed=True)} points; probability "
        f"that {arms[1]} cures more patients {percent(float(np.mean(diff > 0)))} (prior "
        f"probability {percent(prior_p)}).",
        "How much the data say about the cure fractions: the posterior interval is "
        + "; ".join(identified) + ". A cure fraction is identified by the data only where "
        "follow-up extends past the uncured patients' survival times; otherwise it rests on "
        "the latency model and the prior."]
    return rows, sentences
