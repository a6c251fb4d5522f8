"""Decision rows from draws: median and equal-tailed interval, probabilities, their MCSE.

The building blocks every decision table uses (:mod:`bridgebayes.summaries.decide`,
:mod:`bridgebayes.summaries.cure`, :mod:`bridgebayes.summaries.stacking`, the multi-state
models), so that a row means the same wherever it comes from.
"""

from __future__ import annotations

import numpy as np

from bridgebayes.summaries.decision import new_row

__all__ = ["credible_interval", "draw_row", "mcse_of_mean", "probability_row"]


def credible_interval(x: np.ndarray, ci: float) -> tuple[float, float, float]:
    """``(median, lower, upper)`` of draws, equal-tailed interval of mass ``ci``."""
    # quantiles that are draws: no interpolation, so infinite draws (median never reached)
    # give infinite bounds instead of inf - inf
    method = "inverted_cdf" if np.isinf(x).any() else "linear"
    lo, med, hi = np.quantile(x, [(1 - ci) / 2, 0.5, (1 + ci) / 2], method=method)
    return float(med), float(lo), float(hi)


def mcse_of_mean(values: np.ndarray, chains: int) -> float:
    """Monte Carlo standard error of the mean of draws (chain-major order), from ArviZ's
    effective sample size; 0 for a constant."""
    values = np.asarray(values, float).reshape(chains, -1)
    if np.ptp(values) == 0:
        return 0.0
    import arviz as az  # imported here: the CLI's light paths import decisions without ArviZ

    return float(np.ravel(az.mcse(values, method="mean"))[0])


def draw_row(quantity: str, draws: np.ndarray | None, ci: float, *, chains: int = 1,
             **values: object) -> dict[str, object]:
    """A decision row summarising ``draws`` (median, equal-tailed interval, MCSE of the
    median), or a row of ``values`` only when ``draws`` is ``None``."""
    row = new_row(quantity, level=ci, **values)
    if draws is not None:
        draws = np.asarray(draws, float).ravel()
        row["estimate"], row["lower"], row["upper"] = credible_interval(draws, ci)
        if np.isfinite(draws).all() and np.ptp(draws) > 0:
            import arviz as az

            row["mcse"] = float(np.ravel(az.mcse(draws.reshape(chains, -1),
                                                 method="median"))[0])
    return row


def probability_row(quantity: str, event: np.ndarray, chains: int, **values: object) -> dict:
    """A probability row: the mean of the event indicator draws and its MCSE."""
    event = np.asarray(event, float)
    return new_row(quantity, probability=float(event.mean()),
                   mcse=mcse_of_mean(event, chains), **values)
