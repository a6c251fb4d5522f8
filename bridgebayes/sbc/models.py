"""The models and scenarios of simulation-based calibration (SBC), with fixed prior scales.

The families' default baseline priors are scaled by the data (``docs/engine.md``: crude rate
``r`` for the PEM, mean observed time ``m`` for the Weibull), so they are not a fixed prior and
SBC cannot use them as they are.  Every SBC model uses a family with a fixed scale instead
(``crude_rate``, ``mean_time``: family options), so the same prior is used three times: to
draw the true parameters (:meth:`~bridgebayes.models.families.SurvivalFamily.prior_draws`),
by the family's exact oracle and by its PyMC model.  :class:`TwoArmModel` calibrates any
registered family through these hooks; :mod:`bridgebayes.sbc.multistate` the models with
several hazards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families import SurvivalFamily

__all__ = ["ARMS", "SCENARIOS", "CalibratedModel", "Scenario", "TwoArmModel",
           "fit_diagnostics", "thin", "tiny_times"]

ARMS = ("reference", "treatment")
_TINY = np.finfo(float).tiny


@dataclass(frozen=True)
class Scenario:
    """A simulated trial: arm size, cut points and censoring.

    Patients enter uniformly over ``accrual`` months and are followed to the analysis at
    ``analysis`` months (administrative cut), so the censoring time is uniform on
    ``(analysis − accrual, analysis)``.
    """

    name: str
    n_per_arm: int
    accrual: float
    analysis: float
    cuts: tuple[float, ...]

    def censoring(self, rng: np.random.Generator) -> np.ndarray:
        """Censoring times of both arms (``2 · n_per_arm``)."""
        entry = rng.uniform(0.0, self.accrual, 2 * self.n_per_arm)
        return self.analysis - entry


#: 15 per arm with heavy censoring (follow-up 0–24 months); 60 per arm, follow-up 24–48.
SCENARIOS: MappingProxyType[str, Scenario] = MappingProxyType({
    "small": Scenario("small", 15, accrual=24.0, analysis=24.0, cuts=(6.0, 12.0)),
    "large": Scenario("large", 60, accrual=24.0, analysis=48.0, cuts=(6.0, 12.0, 24.0)),
})


class CalibratedModel(Protocol):
    """What the SBC loop (:func:`bridgebayes.sbc.loop.run_sbc`) needs of a model.

    ``draw_prior`` and the posterior draws share one format, which ``values`` turns into the
    ranked quantities (``quantities``); ``prior_prob_hr_below_1`` is the target of the
    data-averaged ``P(HR < 1)`` check (of the model's primary log HR).
    """

    name: str

    @property
    def has_exact(self) -> bool: ...

    @property
    def prior_prob_hr_below_1(self) -> float: ...

    def quantities(self, scenario: Scenario) -> tuple[str, ...]: ...

    def draw_prior(self, scenario: Scenario, rng: np.random.Generator) -> dict[str, Any]: ...

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> Any: ...

    def exact_draws(self, data: Any, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, Any], float]: ...

    def nuts_draws(self, data: Any, scenario: Scenario, n_draws: int, rng: np.random.Generator,
                   nuts: Any) -> tuple[dict[str, Any], float, dict[str, float]]: ...

    def event_counts(self, data: Any) -> tuple[int, int]: ...

    def values(self, draws: dict[str, Any], data: Any,
               scenario: Scenario) -> dict[str, np.ndarray]: ...

    def settings(self) -> dict[str, Any]: ...


def tiny_times(times: np.ndarray) -> np.ndarray:
    """Times floored at the smallest positive float (an event time below float range)."""
    return np.maximum(times, _TINY)


@dataclass(frozen=True)
class TwoArmModel:
    """SBC of one two-arm survival family with a fixed prior, through its registry hooks.

    Parameters
    ----------
    name
        Name of the calibration (the family's canonical name).
    family
        ``family(scenario)``: the family with a prior that does not depend on the data
        (fixed baseline scale; e.g. the scenario's cut points for a PEM).
    """

    name: str
    family: Callable[[Scenario], SurvivalFamily]

    def settings(self) -> dict[str, Any]:
        """What the results depend on (stored with resumable results)."""
        return {"name": self.name, "family": self.family(SCENARIOS["small"]).options()}

    @property
    def has_exact(self) -> bool:
        """Whether the family has an exact posterior (the exact SBC path); families without
        one are calibrated by NUTS."""
        return self.family(SCENARIOS["small"]).has_exact_posterior()

    @property
    def prior_prob_hr_below_1(self) -> float:
        """Prior ``P(HR < 1)`` (``Φ(−mu / sigma)`` for a normal log-HR prior)."""
        return float(self.family(SCENARIOS["small"]).log_hr_prior().cdf(0.0))

    def quantities(self, scenario: Scenario) -> tuple[str, ...]:
        """Names of the ranked quantities (``loglik``: total log-likelihood of the data)."""
        family = self.family(scenario)
        return (*family.calibration_values(family.prior_draws(1, np.random.default_rng(0))),
                "loglik")

    def draw_prior(self, scenario: Scenario, rng: np.random.Generator) -> dict[str, Any]:
        """True parameters drawn from the prior (the families' draw format)."""
        return self.family(scenario).prior_draws(1, rng)

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> EndpointData:
        """Event times from ``truth`` (inverse cumulative hazard), censored by the scenario."""
        arm = np.repeat([0, 1], scenario.n_per_arm)
        event_time = self.family(scenario).event_times(truth, rng.exponential(1.0, arm.size),
                                                      arm)
        censor = scenario.censoring(rng)
        return EndpointData(name="sim", time=tiny_times(np.minimum(event_time, censor)),
                            event=(event_time <= censor).astype(int), arm=arm, arms=ARMS,
                            ids=np.arange(arm.size))

    def exact_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, np.ndarray], float]:
        """Exact posterior draws and the exact ``P(HR < 1 | data)``."""
        post = self.family(scenario).exact_posterior(data)
        return post.draws(n_draws, rng=rng), post.prob_hr_below(1.0)

    def nuts_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                   rng: np.random.Generator, nuts: Any
                   ) -> tuple[dict[str, np.ndarray], float, dict[str, float]]:
        """NUTS draws (the one driver, through :func:`bridgebayes.inference.fit.fit`) thinned
        to ``n_draws``, P(HR < 1), diagnostics."""
        from bridgebayes.inference.multistate import quiet_fit

        result = quiet_fit(data, self.family(scenario), seed=int(rng.integers(2**31 - 1)),
                           sampler=nuts)
        draws = result.draws()
        return (thin(draws, n_draws), float(np.mean(draws["log_hr"] < 0.0)),
                fit_diagnostics([result]))

    def event_counts(self, data: EndpointData) -> tuple[int, int]:
        """Events in the reference and treatment arms."""
        return int(data.event[data.arm == 0].sum()), int(data.event[data.arm == 1].sum())

    def values(self, draws: dict[str, Any], data: EndpointData,
               scenario: Scenario) -> dict[str, np.ndarray]:
        """The ranked quantities of parameter draws (true parameters or posterior draws)."""
        family = self.family(scenario)
        return {**family.calibration_values(draws),
                "loglik": family.log_likelihood(draws, data).sum(axis=1)}


def thin(draws: dict[str, Any], n_draws: int) -> dict[str, Any]:
    """``n_draws`` evenly spaced draws of every per-draw array (constants such as ``cuts`` kept).
    """
    total = np.shape(draws["log_hr"])[0]
    if total < n_draws:
        raise BridgeBayesError(f"nuts: {total} draws cannot be thinned to n_draws={n_draws}")
    keep = np.arange(n_draws) * (total // n_draws)
    return {k: (v[keep] if np.ndim(v) and np.shape(v)[0] == total and k != "cuts" else v)
            for k, v in draws.items()}


def fit_diagnostics(results: list[Any]) -> dict[str, float]:
    """Smallest bulk ESS over the gated parameters of the fits, whether every gate passed,
    any retry."""
    ess_min = min(float(r.gate.per_variable["ess_bulk"].min()) for r in results)
    return {"ess_bulk_min": ess_min,
            "gate_passed": float(all(r.gate.passed for r in results)),
            "retried": float(any(r.retried for r in results))}
