"""SBC models with more than one hazard: cause-specific competing risks and illness–death.

Both use the library's own posterior functions, so SBC checks what users run, and any
registered family per cause / transition (through its hooks, as :class:`~bridgebayes.sbc.
models.TwoArmModel`):

* :class:`CompetingModel`: one family per cause; exact path
  :func:`~bridgebayes.models.competing.exact_competing_risks`, NUTS path
  :func:`~bridgebayes.inference.multistate.fit_competing_risks` (one fit per cause).
* :class:`IllnessDeathCalibration`: relapse, NRM and death after relapse (clock reset), one
  family per transition; exact path :func:`~bridgebayes.models.illness_death.
  exact_illness_death`, NUTS path :func:`~bridgebayes.inference.multistate.
  fit_illness_death` (one fit per transition).

Besides each hazard's log HR and baseline parameters, a derived quantity is ranked — the
treatment arm's CIF of the first cause (competing) or OS (illness–death) at the landmark,
computed from truth and draws by the same library code — and the total log-likelihood of the
simulated data.  The ``P(HR < 1)`` check is of the first cause / transition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.competing import (
    CauseModel,
    CompetingRisksPosterior,
    cause_specific_data,
    exact_competing_risks,
)
from bridgebayes.models.families import SurvivalFamily
from bridgebayes.models.illness_death import (
    TRANSITIONS,
    IllnessDeathData,
    IllnessDeathModel,
    exact_illness_death,
    state_probabilities,
    transition_data,
)
from bridgebayes.sbc.models import ARMS, SCENARIOS, Scenario, fit_diagnostics, thin, tiny_times

__all__ = ["CompetingModel", "IllnessDeathCalibration"]

#: ``families(scenario)`` -> component (cause or transition) -> family with a fixed prior.
Families = Callable[[Scenario], Mapping[str, SurvivalFamily]]


def _named(values: dict[str, np.ndarray], component: str) -> dict[str, np.ndarray]:
    """``log_lambda[0]`` of component ``c`` -> ``log_lambda[c][0]``; ``log_hr`` -> ``log_hr[c]``."""
    out = {}
    for name, value in values.items():
        base, bracket, rest = name.partition("[")
        out[f"{base}[{component}]{bracket}{rest}"] = value
    return out


@dataclass(frozen=True)
class _Components:
    name: str
    families: Families
    landmark: float = 24.0

    def settings(self) -> dict[str, Any]:
        """What the results depend on (stored with resumable results)."""
        small = self.families(SCENARIOS["small"])  # as TwoArmModel: the real cut points
        return {"name": self.name, "landmark": self.landmark,
                "families": {c: f.options() | {"family": f.name} for c, f in small.items()}}

    @property
    def has_exact(self) -> bool:
        """Whether every component has an exact posterior (the exact SBC path)."""
        small = self.families(SCENARIOS["small"])
        return all(f.has_exact_posterior() for f in small.values())

    @property
    def prior_prob_hr_below_1(self) -> float:
        """Prior ``P(HR < 1)`` of the first component."""
        first = next(iter(self.families(SCENARIOS["small"]).values()))
        return float(first.log_hr_prior().cdf(0.0))

    def _truth_names(self, scenario: Scenario) -> list[str]:
        rng = np.random.default_rng(0)
        names: list[str] = []
        for c, f in self.families(scenario).items():
            names += list(_named(f.calibration_values(f.prior_draws(1, rng)), c))
        return names

    def draw_prior(self, scenario: Scenario, rng: np.random.Generator) -> dict[str, Any]:
        """True parameters per component (each in its family's draw format)."""
        return {c: f.prior_draws(1, rng) for c, f in self.families(scenario).items()}

    def _parameter_values(self, draws: dict[str, Any], scenario: Scenario
                          ) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for c, f in self.families(scenario).items():
            out |= _named(f.calibration_values(draws[c]), c)
        return out


@dataclass(frozen=True)
class CompetingModel(_Components):
    """Cause-specific hazards (event codes 1, 2, ... in the order of ``families``)."""

    def quantities(self, scenario: Scenario) -> tuple[str, ...]:
        """Log HR and baseline parameters per cause, the landmark CIF, ``loglik``."""
        return (*self._truth_names(scenario), self._cif_name(scenario), "loglik")

    def _cif_name(self, scenario: Scenario) -> str:
        first = next(iter(self.families(scenario)))
        return f"cif{self.landmark:g}[{first}, treatment]"

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> EndpointData:
        """Latent cause-specific times, the first one observed unless censored first."""
        arm = np.repeat([0, 1], scenario.n_per_arm)
        families = self.families(scenario)
        latent = np.column_stack([f.event_times(truth[c], rng.exponential(1.0, arm.size), arm)
                                  for c, f in families.items()])
        censor = scenario.censoring(rng)
        first = latent.min(axis=1)
        event = np.where(first <= censor, latent.argmin(axis=1) + 1, 0)
        return EndpointData(name="competing", time=tiny_times(np.minimum(first, censor)),
                            event=event, arm=arm, arms=ARMS, ids=np.arange(arm.size),
                            causes=tuple(families))

    def exact_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, Any], float]:
        """Exact draws per cause; P(HR < 1) of the first cause from the draws."""
        post = exact_competing_risks(data, dict(self.families(scenario)), n_draws=n_draws,
                                     rng=rng)
        draws = {m.cause: m.draws for m in post.models}
        return draws, float(np.mean(draws[post.causes[0]]["log_hr"] < 0.0))

    def nuts_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                   rng: np.random.Generator, nuts: Any
                   ) -> tuple[dict[str, Any], float, dict[str, float]]:
        """NUTS per cause, thinned."""
        from bridgebayes.inference.multistate import fit_competing_risks

        post = fit_competing_risks(data, dict(self.families(scenario)),
                                   seed=int(rng.integers(2**31 - 2)), sampler=nuts)
        full = {m.cause: m.draws for m in post.models}
        prob = float(np.mean(full[post.causes[0]]["log_hr"] < 0.0))
        return ({c: thin(d, n_draws) for c, d in full.items()}, prob,
                fit_diagnostics(list(post.fits.values())))

    def event_counts(self, data: EndpointData) -> tuple[int, int]:
        """Events of any cause per arm."""
        return (int(np.sum(data.event[data.arm == 0] > 0)),
                int(np.sum(data.event[data.arm == 1] > 0)))

    def values(self, draws: dict[str, Any], data: EndpointData,
               scenario: Scenario) -> dict[str, np.ndarray]:
        """Ranked quantities of truth or posterior draws (same code for both)."""
        families = self.families(scenario)
        out = self._parameter_values(draws, scenario)
        loglik = 0.0
        for code, (c, f) in enumerate(families.items(), start=1):
            loglik = loglik + f.log_likelihood(draws[c], cause_specific_data(data, code)
                                               ).sum(axis=1)
        post = CompetingRisksPosterior(tuple(CauseModel(c, f, draws[c])
                                             for c, f in families.items()), ARMS)
        first = next(iter(families))
        out[self._cif_name(scenario)] = post.cumulative_incidence([self.landmark], 1)[first][:, 0]
        out["loglik"] = np.asarray(loglik, float)
        return out


@dataclass(frozen=True)
class IllnessDeathCalibration(_Components):
    """The illness–death model, one family per transition (clock reset)."""

    def _model(self, scenario: Scenario) -> IllnessDeathModel:
        families = self.families(scenario)
        if tuple(families) != TRANSITIONS:
            raise BridgeBayesError(f"families: expected the transitions {TRANSITIONS}, got "
                                   f"{tuple(families)}")
        return IllnessDeathModel(**families)

    def _os_name(self) -> str:
        return f"os{self.landmark:g}[treatment]"

    def quantities(self, scenario: Scenario) -> tuple[str, ...]:
        """Log HR and baseline parameters per transition, the landmark OS, ``loglik``."""
        return (*self._truth_names(scenario), self._os_name(), "loglik")

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> IllnessDeathData:
        """Latent transition times (inverse cumulative hazards), censored.

        The histories are built directly, without the one-day sojourn floor that
        :func:`~bridgebayes.models.illness_death.illness_death_from_times` applies to recorded
        data, so the simulated sojourns are exactly those of the model.
        """
        arm = np.repeat([0, 1], scenario.n_per_arm)
        families = self.families(scenario)
        t_relapse, t_nrm, t_after = (
            tiny_times(families[name].event_times(truth[name], rng.exponential(1.0, arm.size),
                                                  arm)) for name in TRANSITIONS)
        censor = scenario.censoring(rng)
        first = np.minimum(t_relapse, t_nrm)
        first_event = np.where(first <= censor, np.where(t_relapse < t_nrm, 1, 2), 0)
        relapsed = first_event == 1
        remaining = tiny_times(censor - t_relapse)
        sojourn = np.where(relapsed, tiny_times(np.minimum(t_after, remaining)), np.nan)
        return IllnessDeathData(
            ids=np.arange(arm.size), arm=arm, arms=ARMS,
            time=tiny_times(np.minimum(first, censor)), first_event=first_event,
            sojourn=sojourn, death_after_relapse=(relapsed & (t_after <= remaining)).astype(int))

    def exact_draws(self, data: IllnessDeathData, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, Any], float]:
        """Exact draws per transition."""
        post = exact_illness_death(data, self._model(scenario), n_draws=n_draws, rng=rng)
        return dict(post.draws), float(np.mean(post.draws["relapse"]["log_hr"] < 0.0))

    def nuts_draws(self, data: IllnessDeathData, scenario: Scenario, n_draws: int,
                   rng: np.random.Generator, nuts: Any
                   ) -> tuple[dict[str, Any], float, dict[str, float]]:
        """NUTS per transition, thinned."""
        from bridgebayes.inference.multistate import fit_illness_death

        post = fit_illness_death(data, self._model(scenario),
                                 seed=int(rng.integers(2**31 - 2)), sampler=nuts)
        return ({c: thin(d, n_draws) for c, d in post.draws.items()},
                float(np.mean(post.draws["relapse"]["log_hr"] < 0.0)),
                fit_diagnostics(list(post.fits.values())))

    def event_counts(self, data: IllnessDeathData) -> tuple[int, int]:
        """Transitions (relapse, NRM, death after relapse) per arm."""
        moved = (data.first_event > 0).astype(int) + data.death_after_relapse
        return int(moved[data.arm == 0].sum()), int(moved[data.arm == 1].sum())

    def values(self, draws: dict[str, Any], data: IllnessDeathData,
               scenario: Scenario) -> dict[str, np.ndarray]:
        """Ranked quantities of truth or posterior draws (same code for both)."""
        families = self.families(scenario)
        out = self._parameter_values(draws, scenario)
        out[self._os_name()] = state_probabilities(families, draws, [self.landmark],
                                                   1)["os"][:, 0]
        loglik = np.zeros(np.shape(draws["relapse"]["log_hr"])[0])
        for name, one in transition_data(data).items():
            if one.time.size:  # no relapse: death after relapse adds nothing
                loglik += families[name].log_likelihood(draws[name], one).sum(axis=1)
        out["loglik"] = loglik
        return out
