"""Operating characteristics from per-trial results: assurance, power, type I error, gamma.

Every proportion comes with its Monte Carlo standard error ``sqrt(p (1 − p) / n)``.  Rules:
``"logrank"`` (one-sided ``alpha``) and ``"post_<prior>"`` (``P(HR < c) > gamma``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["assurance_figure", "calibrate_gamma", "operating_table", "proportion",
           "sample_size_for", "success"]


def proportion(hits: np.ndarray) -> tuple[float, float]:
    """Proportion of ``True`` and its Monte Carlo SE, e.g. ``proportion(z < -1.96)``."""
    hits = np.asarray(hits, bool)
    if hits.size == 0:
        raise BridgeBayesError("proportion: no simulations")
    p = float(hits.mean())
    return p, float(np.sqrt(p * (1 - p) / hits.size))


def success(table: pd.DataFrame, rule: str, *, alpha: float = 0.025,
            gamma: float | Mapping[int, float] = 0.975) -> np.ndarray:
    """Per-trial success under ``rule``.

    Parameters
    ----------
    table
        Per-trial rows (``run_job(...).table``).
    rule
        ``"logrank"``: ``logrank_z < −z_{1−alpha}``; ``"post_<prior>"``: that column ``>
        gamma``.
    gamma
        A threshold, or one per ``n_total`` (column ``n_total`` then required), e.g. the
        calibrated thresholds of :func:`calibrate_gamma`.

    Examples
    --------
    >>> success(pd.DataFrame({"logrank_z": [-2.5, -1.0]}), "logrank").tolist()
    [True, False]
    """
    if rule == "logrank":
        return (table["logrank_z"] < -norm.ppf(1 - alpha)).to_numpy()
    if rule not in table.columns or not rule.startswith("post_"):
        raise BridgeBayesError(f"rule: expected 'logrank' or one of "
                               f"{[c for c in table.columns if c.startswith('post_')]}, got "
                               f"{rule!r}")
    if isinstance(gamma, Mapping):
        threshold = table["n_total"].map(gamma).to_numpy(float)
    else:
        threshold = float(gamma)
    return (table[rule].to_numpy() > threshold)


def calibrate_gamma(null_probabilities: np.ndarray, *, alpha: float = 0.025) -> float:
    """Smallest ``gamma`` among the simulated values with ``mean(P > gamma) <= alpha``.

    ``gamma`` is the ``(floor(alpha n) + 1)``-th largest null posterior probability, so at
    most ``floor(alpha n)`` of the ``n`` null trials succeed (in-sample type I <= alpha;
    check it out of sample with fresh simulations).

    Examples
    --------
    >>> round(calibrate_gamma(np.linspace(0, 1, 101), alpha=0.05), 6)
    0.95
    """
    p = np.sort(np.asarray(null_probabilities, float))[::-1]
    if p.size == 0 or not np.all(np.isfinite(p)) or not 0 < alpha < 1:
        raise BridgeBayesError("calibrate_gamma: need finite probabilities and 0 < alpha < 1")
    return float(p[min(int(np.floor(alpha * p.size)), p.size - 1)])


def operating_table(table: pd.DataFrame, scenarios: pd.DataFrame, *, rules: Sequence[str],
                    alpha: float = 0.025, gamma: float | Mapping[int, float] = 0.975
                    ) -> pd.DataFrame:
    """One row per scenario: expected events/duration and success probability per rule.

    Parameters
    ----------
    table
        Per-trial rows with a ``scenario`` column.
    scenarios
        One row per scenario index: ``scenario``, ``name``, ``n_total``, ``hr`` (NaN: drawn
        from the design prior).
    rules, alpha, gamma
        See :func:`success`.

    Returns
    -------
    pandas.DataFrame
        ``scenario, name, n_total, hr, n_sims, expected_events, expected_duration,
        reached`` and ``<rule>``, ``<rule>_mcse`` per rule.
    """
    merged = table.merge(scenarios[["scenario", "n_total"]], on="scenario", how="left")
    rows = []
    for _, sc in scenarios.iterrows():
        part = merged[merged["scenario"] == sc["scenario"]]
        if part.empty:
            continue
        row = {"scenario": int(sc["scenario"]), "name": sc["name"],
               "n_total": int(sc["n_total"]), "hr": sc["hr"], "n_sims": len(part),
               "expected_events": part["events"].mean(),
               "expected_duration": part["duration"].mean(), "reached": part["reached"].mean()}
        for rule in rules:
            row[rule], row[f"{rule}_mcse"] = proportion(success(part, rule, alpha=alpha,
                                                                gamma=gamma))
        rows.append(row)
    return pd.DataFrame(rows)


def sample_size_for(assurance: pd.DataFrame, rule: str, target: float) -> int | None:
    """Smallest ``n_total`` whose ``rule`` column reaches ``target`` (``None``: none does).

    Examples
    --------
    >>> sample_size_for(pd.DataFrame({"n_total": [50, 100], "logrank": [0.5, 0.82]}),
    ...                 "logrank", 0.8)
    100
    """
    ok = assurance.sort_values("n_total")
    ok = ok[ok[rule] >= target]
    return None if ok.empty else int(ok["n_total"].iloc[0])


def assurance_figure(assurance: pd.DataFrame, *, rules: Sequence[str],
                     target: float | None = None, title: str = "",
                     ylabel: str = "assurance (probability of success)") -> Figure:
    """Assurance (or, for a fixed-HR scenario, power) vs total sample size with ±2 MCSE
    bars, one line per rule.

    Examples
    --------
    >>> fig = assurance_figure(table, rules=["logrank"], target=0.8)  # doctest: +SKIP
    >>> fig.savefig("assurance.png")  # doctest: +SKIP
    """
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    data = assurance.sort_values("n_total")
    for rule in rules:
        ax.errorbar(data["n_total"], data[rule], yerr=2 * data[f"{rule}_mcse"], marker="o",
                    capsize=3, label=rule.removeprefix("post_").replace("logrank",
                                                                       "log-rank"))
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    ax.set(xlabel="total sample size N", ylabel=ylabel, ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
