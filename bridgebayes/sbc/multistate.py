"""SBC models with more than one transition: cause-specific competing risks and illness–death.

Both use the library's own posterior functions, so SBC checks what users run:

* ``competing``: relapse and NRM, each a piecewise-exponential PH hazard with the scenario's
  cut points; exact path :func:`bridgebayes.models.competing.exact_competing_risks`, NUTS path
  :func:`bridgebayes.models.competing.fit_competing_risks` (one
  :func:`bridgebayes.inference.fit.fit` per cause).
* ``illness_death``: relapse, NRM and death after relapse (clock reset), Weibull PH each;
  exact path :func:`bridgebayes.models.illness_death.exact_illness_death`, NUTS path
  :func:`bridgebayes.models.illness_death.fit_illness_death` (the joint PyMC model).

The baseline priors have fixed scales (as in :mod:`bridgebayes.sbc.models`) and shape
``a0 = 1``: a proper prior under which most simulated trials have events in every transition,
so the composite structure (cause-specific data, CIF integration, clock reset, the joint
likelihood) is exercised by data-dominated posteriors too.  Besides each transition's log HR
and baseline parameters, a derived quantity is ranked — the treatment arm's relapse CIF
(competing) or OS (illness–death) at 24 months, computed from truth and draws by the same
library code — and the total log-likelihood of the simulated data.  The ``P(HR < 1)`` check
is of the relapse log HR (the first transition).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.fit import FitWarning
from bridgebayes.models.competing import (
    CauseModel,
    CompetingRisksPosterior,
    cause_specific_data,
    exact_competing_risks,
    fit_competing_risks,
)
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.models.families.design import check_positive
from bridgebayes.models.illness_death import (
    TRANSITIONS,
    IllnessDeathData,
    IllnessDeathModel,
    exact_illness_death,
    fit_illness_death,
    state_probabilities,
    transition_data,
    transition_draws,
)
from bridgebayes.sbc.models import FixedScalePEM, Scenario, fit_diagnostics, pem_times, thin

__all__ = ["MULTISTATE_MODELS", "CompetingSBCModel", "IllnessDeathSBCModel"]

ARMS = ("reference", "treatment")
_TINY = np.finfo(float).tiny


@dataclass(frozen=True)
class CompetingSBCModel:
    """Cause-specific PEM hazards of relapse and NRM with fixed-scale Gamma baselines.

    Parameters
    ----------
    causes
        Cause labels (event codes 1, 2, ...).
    scales
        Fixed prior crude rate per cause (per month): ``lambda_cj ~ Gamma(a0, a0 / r_c)``.
    log_hr_mu, log_hr_sigma, a0
        ``log_hr_c ~ Normal(mu, sigma)``; baseline shape.
    landmark
        Time (months) of the ranked treatment-arm CIF of the first cause.
    """

    name: str = "competing"
    causes: tuple[str, ...] = ("relapse", "nrm")
    scales: tuple[float, ...] = (1.0 / 24.0, 1.0 / 48.0)
    log_hr_mu: float = 0.0
    log_hr_sigma: float = 1.0
    a0: float = 1.0
    landmark: float = 24.0

    def __post_init__(self) -> None:
        if len(self.scales) != len(self.causes):
            raise BridgeBayesError(f"scales: expected one crude rate per cause {self.causes}, "
                                   f"got {self.scales!r}")
        check_positive(a0=self.a0, log_hr_sigma=self.log_hr_sigma, landmark=self.landmark,
                       **{f"scales[{c}]": r for c, r in zip(self.causes, self.scales,
                                                             strict=True)})

    @property
    def prior_prob_hr_below_1(self) -> float:
        """Prior ``P(HR < 1)`` of the first cause."""
        return float(norm.cdf(-self.log_hr_mu / self.log_hr_sigma))

    def _cif_name(self) -> str:
        return f"cif{self.landmark:g}[{self.causes[0]}, treatment]"

    def quantities(self, scenario: Scenario) -> tuple[str, ...]:
        """Log HR and log baseline hazards per cause, the landmark CIF, ``loglik``."""
        names: list[str] = []
        for c in self.causes:
            names += [f"log_hr[{c}]",
                      *[f"log_lambda[{c}][{j}]" for j in range(len(scenario.cuts) + 1)]]
        return (*names, self._cif_name(), "loglik")

    def draw_prior(self, scenario: Scenario, rng: np.random.Generator) -> dict[str, Any]:
        """True parameters per cause (the PEM draw format)."""
        return {c: {"log_hr": np.array([rng.normal(self.log_hr_mu, self.log_hr_sigma)]),
                    "lambda": rng.gamma(self.a0, r / self.a0, len(scenario.cuts) + 1)[None, :],
                    "cuts": np.asarray(scenario.cuts, float)}
                for c, r in zip(self.causes, self.scales, strict=True)}

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> EndpointData:
        """Latent cause-specific times, the first one observed unless censored first."""
        arm = np.repeat([0, 1], scenario.n_per_arm)
        latent = np.column_stack([
            pem_times(rng.exponential(1.0, arm.size) * np.exp(-truth[c]["log_hr"][0] * arm),
                      truth[c]["lambda"][0], scenario.cuts) for c in self.causes])
        censor = scenario.censoring(rng)
        first = latent.min(axis=1)
        event = np.where(first <= censor, latent.argmin(axis=1) + 1, 0)
        time = np.maximum(np.minimum(first, censor), _TINY)
        return EndpointData(name="relapse_nrm", time=time, event=event, arm=arm, arms=ARMS,
                            ids=np.arange(arm.size), causes=self.causes)

    def _families(self, scenario: Scenario) -> dict[str, FixedScalePEM]:
        return {c: FixedScalePEM(cuts=scenario.cuts, crude_rate=r, a0=self.a0,
                                 log_hr_mu=self.log_hr_mu, log_hr_sigma=self.log_hr_sigma)
                for c, r in zip(self.causes, self.scales, strict=True)}

    def exact_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, Any], float]:
        """Exact draws per cause; P(HR < 1) of the first cause from the draws."""
        post = exact_competing_risks(
            data, family="pem", log_hr_mu=self.log_hr_mu, log_hr_sigma=self.log_hr_sigma,
            cuts=dict.fromkeys(self.causes, scenario.cuts), a0=self.a0,
            crude_rate=dict(zip(self.causes, self.scales, strict=True)), n_draws=n_draws,
            rng=rng)
        draws = {m.cause: m.draws for m in post.models}
        return draws, float(np.mean(draws[self.causes[0]]["log_hr"] < 0.0))

    def nuts_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                   rng: np.random.Generator, nuts: Any
                   ) -> tuple[dict[str, Any], float, dict[str, float]]:
        """NUTS per cause (:func:`~bridgebayes.models.competing.fit_competing_risks`), thinned."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)  # small-sample guardrails: expected
            post = fit_competing_risks(data, self._families(scenario),
                                       seed=int(rng.integers(2**31 - 2)), sampler=nuts)
        full = {m.cause: m.draws for m in post.models}
        prob = float(np.mean(full[self.causes[0]]["log_hr"] < 0.0))
        return ({c: thin(d, n_draws) for c, d in full.items()}, prob,
                fit_diagnostics(list(post.fits.values())))

    def event_counts(self, data: EndpointData) -> tuple[int, int]:
        """Events of any cause per arm."""
        return (int(np.sum(data.event[data.arm == 0] > 0)),
                int(np.sum(data.event[data.arm == 1] > 0)))

    def values(self, draws: dict[str, Any], data: EndpointData,
               scenario: Scenario) -> dict[str, np.ndarray]:
        """Ranked quantities of truth or posterior draws (same code for both)."""
        families = self._families(scenario)
        out: dict[str, np.ndarray] = {}
        loglik = 0.0
        for code, c in enumerate(self.causes, start=1):
            out[f"log_hr[{c}]"] = np.asarray(draws[c]["log_hr"], float).ravel()
            with np.errstate(divide="ignore"):
                log_lam = np.log(np.asarray(draws[c]["lambda"], float))
            out |= {f"log_lambda[{c}][{j}]": log_lam[:, j] for j in range(log_lam.shape[1])}
            loglik = loglik + families[c].log_likelihood(
                draws[c], cause_specific_data(data, code)).sum(axis=1)
        family = PiecewiseExponentialPH(cuts=scenario.cuts)
        post = CompetingRisksPosterior(tuple(CauseModel(c, family, draws[c])
                                             for c in self.causes), ARMS)
        out[self._cif_name()] = post.cumulative_incidence([self.landmark], 1)[self.causes[0]][:, 0]
        out["loglik"] = np.asarray(loglik, float)
        return out


@dataclass(frozen=True)
class IllnessDeathSBCModel:
    """Weibull PH illness–death model (clock reset) with fixed prior scales per transition.

    Parameters
    ----------
    scales
        Fixed prior scale ``m_j`` (months) per transition (:data:`TRANSITIONS` order):
        ``lam_j m_j^k_j ~ Gamma(a0, a0)``.
    log_hr_mu, log_hr_sigma, a0, log_k_mu, log_k_sigma
        Priors of :class:`~bridgebayes.models.illness_death.IllnessDeathModel`.
    landmark
        Time (months) of the ranked treatment-arm OS.
    """

    name: str = "illness_death"
    scales: tuple[float, float, float] = (24.0, 48.0, 6.0)
    log_hr_mu: float = 0.0
    log_hr_sigma: float = 1.0
    a0: float = 1.0
    log_k_mu: float = 0.0
    log_k_sigma: float = 1.0
    landmark: float = 24.0

    def __post_init__(self) -> None:
        self.analysis_model  # noqa: B018 -- checks the priors and scales
        check_positive(landmark=self.landmark)

    @property
    def analysis_model(self) -> IllnessDeathModel:
        """The :class:`~bridgebayes.models.illness_death.IllnessDeathModel` with this fixed
        prior."""
        return IllnessDeathModel(log_hr_mu=self.log_hr_mu, log_hr_sigma=self.log_hr_sigma,
                                 a0=self.a0, log_k_mu=self.log_k_mu,
                                 log_k_sigma=self.log_k_sigma, mean_time=self.scales)

    @property
    def prior_prob_hr_below_1(self) -> float:
        """Prior ``P(HR < 1)`` of the relapse transition."""
        return float(norm.cdf(-self.log_hr_mu / self.log_hr_sigma))

    def _os_name(self) -> str:
        return f"os{self.landmark:g}[treatment]"

    def quantities(self, scenario: Scenario) -> tuple[str, ...]:
        """Log HR, log k, log lam per transition, the landmark OS, ``loglik``."""
        names = [f"{p}[{t}]" for t in TRANSITIONS for p in ("log_hr", "log_k", "log_lam")]
        return (*names, self._os_name(), "loglik")

    def draw_prior(self, scenario: Scenario, rng: np.random.Generator) -> dict[str, Any]:
        """True parameters, ``(1, 3)`` arrays in the illness–death draw format."""
        per = [self.analysis_model.prior_draws(t, 1, rng) for t in TRANSITIONS]
        return {k: np.stack([p[k] for p in per], axis=1) for k in per[0]}

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> IllnessDeathData:
        """Latent transition times (inverse Weibull cumulative hazard), censored.

        The histories are built directly, without the one-day sojourn floor that
        :func:`~bridgebayes.models.illness_death.illness_death_from_times` applies to recorded
        data, so
        the simulated sojourns are exactly those of the model.
        """
        arm = np.repeat([0, 1], scenario.n_per_arm)

        def draw(j: int) -> np.ndarray:
            target = rng.exponential(1.0, arm.size) * np.exp(-truth["log_hr"][0, j] * arm)
            with np.errstate(divide="ignore", over="ignore"):  # inf: censored anyway
                t = np.exp((np.log(target) - truth["log_lam"][0, j]) / truth["k"][0, j])
            return np.maximum(t, _TINY)

        t_relapse, t_nrm, t_after = draw(0), draw(1), draw(2)
        censor = scenario.censoring(rng)
        first = np.minimum(t_relapse, t_nrm)
        first_event = np.where(first <= censor, np.where(t_relapse < t_nrm, 1, 2), 0)
        relapsed = first_event == 1
        remaining = np.maximum(censor - t_relapse, _TINY)
        sojourn = np.where(relapsed, np.maximum(np.minimum(t_after, remaining), _TINY), np.nan)
        return IllnessDeathData(
            ids=np.arange(arm.size), arm=arm, arms=ARMS,
            time=np.maximum(np.minimum(first, censor), _TINY), first_event=first_event,
            sojourn=sojourn, death_after_relapse=(relapsed & (t_after <= remaining)).astype(int))

    def exact_draws(self, data: IllnessDeathData, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, Any], float]:
        """Exact draws (:func:`~bridgebayes.models.illness_death.exact_illness_death`)."""
        post = exact_illness_death(data, self.analysis_model, n_draws=n_draws, rng=rng)
        return post.draws, float(np.mean(post.draws["log_hr"][:, 0] < 0.0))

    def nuts_draws(self, data: IllnessDeathData, scenario: Scenario, n_draws: int,
                   rng: np.random.Generator, nuts: Any
                   ) -> tuple[dict[str, Any], float, dict[str, float]]:
        """NUTS on the joint PyMC model
        (:func:`~bridgebayes.models.illness_death.fit_illness_death`)."""
        result = fit_illness_death(data, self.analysis_model, seed=int(rng.integers(2**31 - 2)),
                                   sampler=nuts)
        full = result.draws()
        return (thin(full, n_draws), float(np.mean(full["log_hr"][:, 0] < 0.0)),
                fit_diagnostics([result]))

    def event_counts(self, data: IllnessDeathData) -> tuple[int, int]:
        """Transitions (relapse, NRM, death after relapse) per arm."""
        moved = (data.first_event > 0).astype(int) + data.death_after_relapse
        return int(moved[data.arm == 0].sum()), int(moved[data.arm == 1].sum())

    def values(self, draws: dict[str, Any], data: IllnessDeathData,
               scenario: Scenario) -> dict[str, np.ndarray]:
        """Ranked quantities of truth or posterior draws (same code for both)."""
        log_hr = np.asarray(draws["log_hr"], float)
        k = np.asarray(draws["k"], float)
        log_lam = np.asarray(draws["log_lam"], float)
        out: dict[str, np.ndarray] = {}
        for j, t in enumerate(TRANSITIONS):
            out |= {f"log_hr[{t}]": log_hr[:, j], f"log_k[{t}]": np.log(k[:, j]),
                    f"log_lam[{t}]": log_lam[:, j]}
        stacked = {"log_hr": log_hr, "k": k, "lam": np.exp(log_lam), "log_lam": log_lam}
        out[self._os_name()] = state_probabilities(stacked, [self.landmark], 1)["os"][:, 0]
        loglik = np.zeros(log_hr.shape[0])
        for name, one in transition_data(data).items():
            if one.time.size:  # no relapse: death after relapse adds nothing
                loglik += WeibullPH().log_likelihood(transition_draws(stacked, name),
                                                     one).sum(axis=1)
        out["loglik"] = loglik
        return out


MULTISTATE_MODELS: MappingProxyType[str, Any] = MappingProxyType({
    "competing": CompetingSBCModel(), "illness_death": IllnessDeathSBCModel()})
