"""Design priors from a run's saved results: the stacked posterior and the bias prior.

Read through the saved results only (``results.json`` and ``posteriors/`` of a
``bridgebayes run`` output folder, by :mod:`bridgebayes.core.readers`), never by refitting:

* **stacked**: the run's stacking weights of an endpoint × prior (``model_averaging.weights``
  of ``results.json``, also ``tables/stacking_weights.csv``) mix the families' posteriors.
  The families do not share one HR (a cure model has none), so each family's draws are first
  turned into piecewise-constant hazards per arm on one common grid
  (:func:`~bridgebayes.plan.design_prior.piecewise_design_prior` on
  :data:`~bridgebayes.plan.design_prior.PIECEWISE_GRID`: exact survival at every cut, PH
  families included); then each family gives ``round(w · n)`` of its draws (largest
  remainders, evenly spaced over its chains: :func:`bridgebayes.summaries.stacking.
  mixture_rows`, the allocation of the run's own stacked posterior, ``n`` = its 4,000);
* **bias**: the ``adjustment.bias_prior`` ``Normal(mu, sigma)`` of the run's bias analysis
  (``docs/adjustment.md``): the bias of the log HR (true = observed + bias).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.plan.design_prior import (
    PIECEWISE_GRID,
    DesignPrior,
    piecewise_design_prior,
    read_posterior,
)

__all__ = ["SavedRun", "read_run", "stacked_design_prior"]

#: Draws of the stacked design prior: those of the run's stacked posterior.
N_STACKED = 4000


@dataclass(frozen=True)
class SavedRun:
    """The saved results of a run that planning reads: its folder and ``results.json``."""

    folder: Path
    summary: dict[str, Any]

    @property
    def results_file(self) -> Path:
        """``<folder>/results.json``."""
        return self.folder / "results.json"

    def stacked(self) -> list[dict[str, Any]]:
        """The saved stacking-weight rows (endpoint, prior, family, label, weight, ...)."""
        rows = (self.summary.get("model_averaging") or {}).get("weights") or []
        if not rows:
            raise BridgeBayesError(f"{self.results_file}: the run saved no stacking weights "
                                   "(model_averaging.weights is empty: one family per endpoint, "
                                   "or a run without [bayes]); stack at least two families")
        return rows

    def stacking_weights(self, endpoint: str, prior: str) -> dict[str, float]:
        """Family -> stacking weight of ``endpoint`` × ``prior``, as the run saved them."""
        rows = self.stacked()
        weights = {r["family"]: float(r["weight"]) for r in rows
                   if r.get("endpoint") == endpoint and r.get("prior") == prior}
        if not weights:
            pairs = sorted({f"{r.get('endpoint')}/{r.get('prior')}" for r in rows})
            raise BridgeBayesError(f"{self.results_file}: no stacking weights for endpoint "
                                   f"{endpoint!r} and prior {prior!r}; the run stacked "
                                   f"{pairs} (endpoint/prior)")
        if not (all(np.isfinite(w) and w >= 0 for w in weights.values())
                and sum(weights.values()) > 0):
            raise BridgeBayesError(f"{self.results_file}: stacking weights of {endpoint}/"
                                   f"{prior} must be >= 0 with a positive sum, got {weights}")
        return weights

    def posterior_file(self, endpoint: str, family: str, prior: str) -> Path:
        """``posteriors/<endpoint>__<family>__<prior>.nc`` (the run's file name)."""
        from bridgebayes.run.fits import FitKey

        return self.folder / "posteriors" / f"{FitKey(endpoint, family, prior)}.nc"

    def missing_posteriors(self, endpoint: str, prior: str) -> list[Path]:
        """Posterior files of the families with a positive weight that are not there."""
        return [p for f, w in self.stacking_weights(endpoint, prior).items()
                if w > 0 and not (p := self.posterior_file(endpoint, f, prior)).is_file()]

    def bias_prior(self) -> tuple[float, float]:
        """``(mu, sigma)`` of the run's ``[adjustment] bias_prior`` (bias of the log HR)."""
        entry = self.summary.get("adjustment")
        if not isinstance(entry, dict):
            raise BridgeBayesError(f"{self.results_file}: no 'adjustment' entry (the run's spec "
                                   "has no [adjustment] section, so it ran no bias analysis); "
                                   "give the bias explicitly, bias = { mu = 0.0, sigma = 0.2 }")
        try:
            bias = entry["bias_prior"]
            mu, sigma = float(bias["mu"]), float(bias["sigma"])
        except (KeyError, TypeError, ValueError):
            raise BridgeBayesError(f"{self.results_file}: adjustment.bias_prior: expected "
                                   f"{{mu, sigma}}, got {entry.get('bias_prior')!r}") from None
        if not (np.isfinite(mu) and np.isfinite(sigma) and sigma >= 0):
            raise BridgeBayesError(f"{self.results_file}: adjustment.bias_prior: expected a "
                                   f"finite mu and sigma >= 0, got mu={mu}, sigma={sigma}")
        return mu, sigma

    def bias_source(self) -> str:
        """Where the bias prior comes from, for reports."""
        entry = self.summary.get("adjustment") or {}
        return (f"bias analysis of run {self.folder.name} (endpoint {entry.get('endpoint')}, "
                f"{entry.get('family')}, {entry.get('prior')} prior)")


def read_run(folder: str | os.PathLike[str]) -> SavedRun:
    """The saved results of the run in ``folder`` (``reports/<id>``); nothing is fitted.

    Examples
    --------
    >>> run = read_run("reports/cao2025")  # doctest: +SKIP
    >>> run.stacking_weights("grfs", "neutral")  # doctest: +SKIP
    {'piecewise_exponential': 0.2, 'weibull': 0.1, 'mixture_cure': 0.6, 'mspline': 0.1}
    """
    from bridgebayes.core.readers import read_json

    folder = Path(folder)
    if not folder.is_dir():
        raise BridgeBayesError(f"{folder}: run folder not found; run the analysis that writes "
                               "it first (e.g. `bridgebayes run models/cao2025.toml`)")
    summary = read_json(folder / "results.json", what="run results")
    if not isinstance(summary, dict):
        raise BridgeBayesError(f"{folder / 'results.json'}: not the results of a run (expected "
                               "a JSON object)")
    return SavedRun(folder, summary)


def stacked_design_prior(run: SavedRun | str | os.PathLike[str], *, endpoint: str, prior: str,
                         n: int = N_STACKED) -> DesignPrior:
    """The design prior of a run's stacked posterior of ``endpoint`` × ``prior`` (module
    docstring): a PEM with a time-varying log HR on the common grid, ``n`` draws.

    Examples
    --------
    >>> prior = stacked_design_prior("reports/cao2025", endpoint="grfs",
    ...                              prior="neutral").discounted(a0=0.5)  # doctest: +SKIP
    """
    from bridgebayes.summaries.stacking import mixture_rows

    run = run if isinstance(run, SavedRun) else read_run(run)
    weights = run.stacking_weights(endpoint, prior)
    if missing := run.missing_posteriors(endpoint, prior):
        raise BridgeBayesError(f"{missing[0]}: posterior file not found (its family has "
                               f"stacking weight > 0 in {run.results_file})")
    kept = {f: w for f, w in weights.items() if w > 0}
    posteriors = {f: read_posterior(run.posterior_file(endpoint, f, prior)) for f in kept}
    if len(units := {unit for _, _, unit in posteriors.values()}) > 1:
        raise BridgeBayesError(f"{run.folder}: the posteriors of {endpoint}/{prior} have "
                               f"different time units {sorted(units)}")
    grid = PIECEWISE_GRID[units.pop()]
    pieces = {f: piecewise_design_prior(family, draws, grid=grid)
              for f, (family, draws, _) in posteriors.items()}
    labels = {r["family"]: r.get("label") or r["family"] for r in run.stacked()
              if (r.get("endpoint"), r.get("prior")) == (endpoint, prior)}
    rows = mixture_rows({f: p.draws["log_hr"].shape[0] for f, p in pieces.items()}, kept, n)
    first = next(iter(pieces.values()))
    draws = {k: np.concatenate([pieces[f].draws[k][r] for f, r in rows.items()])
             for k in first.draws}
    shown = ", ".join(f"{labels[f]} {100 * w:.0f}%" for f, w in weights.items())
    source = (f"stacked posterior of run {run.folder.name}, {endpoint} × {prior} prior "
              f"({n} draws; the run's stacking weights: {shown}), each family approximated by "
              f"piecewise-constant hazards per arm on {first.hr_cuts.size + 1} pieces")
    return DesignPrior(first.family, draws, hr_cuts=first.hr_cuts, source=source,
                       components=dict(weights))
