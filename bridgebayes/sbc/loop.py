"""Simulation-based calibration (Talts et al. 2018; Modrák et al. 2023) of the models.

Each simulation draws the parameters from the prior, simulates a censored two-arm trial
(:mod:`bridgebayes.sbc.models`), computes the posterior — exact oracle draws (``"exact"``,
independent) or NUTS through :func:`bridgebayes.inference.fit.fit` (``"nuts"``, thinned to
``n_draws`` evenly spaced draws) — and records the rank of every true quantity among its
``n_draws`` posterior values (``log_hr``, log baseline hazards, ``log k``, ``log lam``, and
the total log-likelihood of the simulated data), whether the 50/90/95% central intervals
cover it, and ``P(HR < 1 | data)``.

For a correct posterior the ranks are uniform on ``0 .. n_draws`` (χ² test on 20 bins and
ECDF simultaneous bands, :mod:`bridgebayes.sbc.report`).  ``P(HR < 1)`` is a posterior
probability, not a parameter: it is checked by the data-averaged posterior identity
``E_data[P(HR < 1 | data)] = P_prior(HR < 1)`` (a z-test over simulations); the rank of
``log_hr`` already checks the whole posterior distribution of the HR.

Simulation ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``, so results do not depend on
chunking, and the exact and NUTS paths see the same simulated trials.  Results are written
per chunk atomically (:mod:`bridgebayes.core.io`); a rerun with the same settings reuses them.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chisquare, norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.io import atomic_write_text
from bridgebayes.sbc.models import CalibratedModel, Scenario
from bridgebayes.sbc.registry import get_model, get_scenario
from bridgebayes.sbc.uniformity import BINS, check_draws, ecdf_inside_band, rank_counts

__all__ = ["BINS", "COVERAGE", "METHODS", "SBCResult", "run_sbc"]

COVERAGE = (0.5, 0.9, 0.95)
METHODS = ("exact", "nuts")
CHUNK = 50
#: pass threshold of every χ² uniformity test and of the P(HR < 1) check
ALPHA = 0.005

DrawTransform = Callable[[dict[str, np.ndarray], np.random.Generator], dict[str, np.ndarray]]


@dataclass(frozen=True)
class SBCResult:
    """Ranks and coverage of one model × scenario × method.

    Attributes
    ----------
    model, scenario, method
        What was calibrated.
    n_draws
        Posterior draws per simulation (ranks run from 0 to ``n_draws``).
    sims
        One row per simulation: ``sim``, events per arm, ``prob_hr_below_1``, NUTS
        diagnostics (``ess_bulk_min``, ``gate_passed``; NaN on the exact path).
    ranks
        Tidy: ``sim, quantity, rank, cover50, cover90, cover95``.
    prior_prob_hr_below_1
        The prior ``P(HR < 1)``, the target of the data-averaged posterior check.
    """

    model: str
    scenario: str
    method: str
    n_draws: int
    sims: pd.DataFrame
    ranks: pd.DataFrame
    prior_prob_hr_below_1: float

    @property
    def n_sims(self) -> int:
        """Number of simulations."""
        return len(self.sims)

    def summary(self) -> pd.DataFrame:
        """Per quantity: χ² statistic and p-value (20 bins), ECDF inside its 95% band, coverage.

        Examples
        --------
        >>> run_sbc("weibull", "small", n_sims=100, seed=1).summary()  # doctest: +SKIP
        """
        rows = []
        for quantity, group in self.ranks.groupby("quantity", sort=False):
            counts = rank_counts(group["rank"].to_numpy(), self.n_draws)
            stat, p = chisquare(counts)
            rows.append({"quantity": quantity, "chi2": float(stat), "p_value": float(p),
                         "ecdf_in_band": ecdf_inside_band(group["rank"].to_numpy(),
                                                          self.n_draws),
                         **{f"coverage{round(100 * c)}": float(group[f"cover{round(100 * c)}"]
                                                               .mean()) for c in COVERAGE}})
        frame = pd.DataFrame(rows)
        frame.insert(0, "method", self.method)
        frame.insert(0, "scenario", self.scenario)
        frame.insert(0, "model", self.model)
        return frame

    def prob_check(self) -> dict[str, float]:
        """Data-averaged ``P(HR < 1 | data)`` against the prior ``P(HR < 1)`` (z-test)."""
        prior_prob = self.prior_prob_hr_below_1
        values = self.sims["prob_hr_below_1"].to_numpy(float)
        mean, se = values.mean(), values.std(ddof=1) / np.sqrt(values.size)
        z = (mean - prior_prob) / se if se > 0 else 0.0
        return {"mean": float(mean), "prior": float(prior_prob), "se": float(se),
                "z": float(z), "p_value": float(2 * norm.sf(abs(z)))}

    def passed(self, *, alpha: float = ALPHA) -> bool:
        """Every χ² p-value and the P(HR < 1) check above ``alpha``."""
        return bool((self.summary()["p_value"] > alpha).all()
                    and self.prob_check()["p_value"] > alpha)


def rank_of(truth: float, draws: np.ndarray, rng: np.random.Generator) -> int:
    """Number of draws below ``truth``, ties broken uniformly at random (0 .. len(draws)).

    Examples
    --------
    >>> rank_of(0.5, np.array([0.1, 0.9, 0.3]), np.random.default_rng(0))
    2
    """
    below, ties = int(np.sum(draws < truth)), int(np.sum(draws == truth))
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def _posterior_draws(model: CalibratedModel, scenario: Scenario, data: Any, method: str,
                     n_draws: int, rng: np.random.Generator, nuts: Any
                     ) -> tuple[dict[str, Any], float, dict[str, float]]:
    """Posterior draws, P(HR < 1), diagnostics (empty on the exact path)."""
    if method == "exact":
        draws, prob = model.exact_draws(data, scenario, n_draws, rng)
        return draws, prob, {}
    return model.nuts_draws(data, scenario, n_draws, rng, nuts)


def simulate_one(model: CalibratedModel, scenario: Scenario, *, seed: int, sim: int, method: str,
                 n_draws: int, nuts: Any = None,
                 transform_draws: DrawTransform | None = None) -> dict[str, Any]:
    """One SBC simulation → a flat record (ranks and coverage flags per quantity)."""
    data_seed, post_seed = np.random.SeedSequence(seed, spawn_key=(sim,)).spawn(2)
    rng = np.random.default_rng(data_seed)
    truth = model.draw_prior(scenario, rng)
    data = model.simulate(truth, scenario, rng)
    post_rng = np.random.default_rng(post_seed)
    draws, prob, diag = _posterior_draws(model, scenario, data, method, n_draws, post_rng, nuts)
    if transform_draws is not None:
        draws = transform_draws(draws, post_rng)
    true_values = model.values(truth, data, scenario)
    post_values = model.values(draws, data, scenario)
    events = model.event_counts(data)
    record: dict[str, Any] = {
        "sim": sim, "events_reference": events[0], "events_treatment": events[1],
        "prob_hr_below_1": prob,
        "ess_bulk_min": diag.get("ess_bulk_min", np.nan),
        "gate_passed": diag.get("gate_passed", np.nan), "retried": diag.get("retried", np.nan)}
    for name, values in post_values.items():
        value = float(true_values[name][0])
        record[f"rank:{name}"] = rank_of(value, values, post_rng)
        for c in COVERAGE:
            lo, hi = np.quantile(values, [(1 - c) / 2, (1 + c) / 2])
            record[f"cover{round(100 * c)}:{name}"] = int(lo <= value <= hi)
    return record


def _settings(model: CalibratedModel, scenario: Scenario, method: str, seed: int, n_draws: int,
              nuts: Any) -> dict[str, Any]:
    return {"model": model.settings(), "scenario": asdict(scenario), "method": method,
            "seed": seed, "n_draws": n_draws, "chunk": CHUNK,
            "nuts": None if nuts is None else asdict(nuts)}


def _load_or_run_chunk(path: Path | None, run: Callable[[], pd.DataFrame],
                       sims: range) -> pd.DataFrame:
    """A finished chunk read back, or computed and written atomically.  A chunk file that
    cannot be read or does not hold exactly simulations ``sims`` (damaged, or from elsewhere)
    is discarded with a warning and recomputed."""
    if path is not None and path.exists():
        try:
            frame = pd.read_csv(path)
            if "sim" in frame and list(frame["sim"]) == list(sims):
                return frame
            problem = f"it holds simulations other than {sims.start}-{sims.stop - 1}"
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            problem = f"it cannot be read ({type(exc).__name__})"
        warnings.warn(f"{path}: discarded and recomputed: {problem}", stacklevel=3)
    frame = run()
    if path is not None:
        atomic_write_text(path, frame.to_csv(index=False))
    return frame


def run_sbc(model: str | CalibratedModel, scenario: str | Scenario, *, n_sims: int, seed: int,
            method: str = "exact", n_draws: int | None = None, out: str | Path | None = None,
            nuts: Any = None, transform_draws: DrawTransform | None = None) -> SBCResult:
    """Run simulation-based calibration of one model in one scenario.

    Parameters
    ----------
    model, scenario
        A name of :data:`bridgebayes.sbc.registry.MODELS` and ``"small"``/``"large"``
        (or the objects).
    n_sims
        Number of simulations.
    seed
        Root seed (simulation ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``).
    method
        ``"exact"`` (oracle draws) or ``"nuts"`` (:func:`bridgebayes.inference.fit.fit`).
    n_draws
        Posterior draws ranked per simulation; default 199 (exact), 99 (NUTS, thinned from
        ``chains × draws`` of ``nuts``).  ``n_draws + 1`` must be divisible by 20.
    out
        Folder for resumable results (chunks of 50 simulations, written atomically); a
        rerun with the same settings reuses finished chunks.  ``None``: nothing written.
    nuts
        :class:`bridgebayes.inference.fit.SamplerSettings` for ``method="nuts"`` (default 2 chains ×
        1000 draws after 1000 tuning steps, thinned by 20 to 99 draws; the record keeps the
        smallest bulk ESS of the free parameters, ``ess_bulk_min``).
    transform_draws
        For negative controls only: ``f(draws, rng) -> draws`` applied to the posterior
        draws before ranking (e.g. a deliberately shifted posterior).

    Returns
    -------
    SBCResult

    Examples
    --------
    >>> result = run_sbc("weibull", "small", n_sims=100, seed=1)  # doctest: +SKIP
    >>> result.summary()[["quantity", "p_value"]]  # doctest: +SKIP
    """
    model = get_model(model) if isinstance(model, str) else model
    scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
    if method not in METHODS:
        raise BridgeBayesError(f"method: expected one of {METHODS}, got {method!r}")
    if method == "exact" and not model.has_exact:
        raise BridgeBayesError(f"method: model {model.name!r} has no exact posterior; use "
                               "method='nuts'")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 1:
        raise BridgeBayesError(f"n_sims: expected a positive integer, got {n_sims!r}")
    n_draws = n_draws if n_draws is not None else (199 if method == "exact" else 99)
    check_draws(n_draws)
    if method == "nuts" and nuts is None:
        from bridgebayes.inference.driver import SamplerSettings

        nuts = SamplerSettings(chains=2, draws=1000, tune=1000)
    folder = None
    if out is not None:
        folder = Path(out) / f"{model.name}-{scenario.name}-{method}"
        settings = json.dumps(_settings(model, scenario, method, seed, n_draws, nuts),
                              sort_keys=True, indent=1)
        meta = folder / "settings.json"
        if meta.exists() and meta.read_text() != settings:
            raise BridgeBayesError(f"out: {folder} holds SBC results with other settings; "
                                   "use another folder or delete it")
        if transform_draws is not None:
            raise BridgeBayesError("transform_draws: negative controls are not written to out")
        atomic_write_text(meta, settings)
    frames = []
    logger, level = logging.getLogger("pymc"), logging.getLogger("pymc").level
    logger.setLevel(logging.WARNING)
    try:
        for start in range(0, n_sims, CHUNK):
            stop = min(start + CHUNK, n_sims)
            path = None if folder is None else folder / f"sims-{start:06d}-{stop:06d}.csv"
            frames.append(_load_or_run_chunk(path, lambda a=start, b=stop: pd.DataFrame([
                simulate_one(model, scenario, seed=seed, sim=i, method=method,
                             n_draws=n_draws, nuts=nuts, transform_draws=transform_draws)
                for i in range(a, b)]), range(start, stop)))
    finally:
        logger.setLevel(level)
    return _result(model, scenario, method, n_draws, pd.concat(frames, ignore_index=True))


def _result(model: CalibratedModel, scenario: Scenario, method: str, n_draws: int,
            wide: pd.DataFrame) -> SBCResult:
    flags = [c for c in wide.columns if ":" in c]
    sims = wide.drop(columns=flags)
    long = wide.melt(id_vars="sim", value_vars=flags)
    long[["field", "quantity"]] = long["variable"].str.split(":", n=1, expand=True)
    ranks = long.pivot_table(index=["sim", "quantity"], columns="field", values="value",
                             sort=False).reset_index()
    order = {q: i for i, q in enumerate(model.quantities(scenario))}
    ranks = ranks.sort_values(["quantity", "sim"], key=lambda s: s.map(order)
                              if s.name == "quantity" else s, kind="stable")
    ranks = ranks[["sim", "quantity", "rank", *[f"cover{round(100 * c)}" for c in COVERAGE]]]
    ranks = ranks.astype({"rank": int, **{f"cover{round(100 * c)}": int for c in COVERAGE}})
    return SBCResult(model=model.name, scenario=scenario.name, method=method, n_draws=n_draws,
                     sims=sims, ranks=ranks.reset_index(drop=True),
                     prior_prob_hr_below_1=model.prior_prob_hr_below_1)


def results_csv(results: list[SBCResult]) -> str:
    """All summaries as one CSV (one row per quantity, plus the P(HR < 1) check)."""
    frames = []
    for r in results:
        check = r.prob_check()
        prob = pd.DataFrame([{"model": r.model, "scenario": r.scenario, "method": r.method,
                              "quantity": "P(HR<1) data-averaged", "p_value": check["p_value"],
                              "chi2": np.nan}])
        frames += [r.summary().assign(n_sims=r.n_sims), prob.assign(n_sims=r.n_sims)]
    buffer = StringIO()
    pd.concat(frames, ignore_index=True).to_csv(buffer, index=False)
    return buffer.getvalue()
