"""The models and scenarios of simulation-based calibration (SBC), with fixed prior scales.

The families' baseline priors are scaled by the data (``docs/engine.md``: crude rate ``r``
for the PEM, mean observed time ``m`` for the Weibull), so they are not a fixed prior and
SBC cannot use them as they are.  Here the scale is a constant per scenario: the PEM prior
``lambda_j ~ Gamma(a0, a0 / r0)`` and the Weibull prior ``lam | k ~ Gamma(a0, a0 m0^k)``.
The same prior is used three times: to draw the true parameters, by the exact oracle
(:func:`bridgebayes.models.exact.pem_posterior` /
:func:`~bridgebayes.models.exact.weibull_posterior` with
``crude_rate=r0`` / ``mean_time=m0``) and by the PyMC families (:class:`FixedScalePEM`,
:class:`FixedScaleWeibull`, whose data containers hold ``r0``/``m0``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

import numpy as np
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import ExactPosterior, pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, SurvivalFamily, WeibullPH
from bridgebayes.models.families.design import check_positive
from bridgebayes.models.piecewise import sufficient_stats

__all__ = ["MODELS", "SCENARIOS", "CalibratedModel", "FixedScalePEM", "FixedScaleWeibull",
           "SBCModel", "Scenario", "all_models", "fit_diagnostics", "get_model", "get_scenario",
           "pem_times", "quiet_fit", "thin"]


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


@dataclass(frozen=True, kw_only=True)
class FixedScalePEM(PiecewiseExponentialPH):
    """Piecewise-exponential family whose baseline prior uses a fixed ``crude_rate``.

    Data without events are allowed (the prior no longer needs them).
    """

    crude_rate: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(crude_rate=self.crude_rate)
        if self.baseline != "gamma" or self.covariates or self.cuts is None:
            raise BridgeBayesError("FixedScalePEM: expected a Gamma baseline, given cuts and "
                                   "no covariates")

    def _family_arrays(self, data: EndpointData, model: Any) -> dict[str, Any]:
        cuts = np.asarray(self.cuts, float)
        events, exposure = sufficient_stats(data.time, data.event, data.arm, cuts)
        return {"cuts": cuts, "events": events, "exposure": exposure,
                "crude_rate": self.crude_rate, "arm": np.array([0.0, 1.0])}


@dataclass(frozen=True, kw_only=True)
class FixedScaleWeibull(WeibullPH):
    """Weibull family whose prior ``lam | k ~ Gamma(a0, a0 m^k)`` uses a fixed ``mean_time``."""

    mean_time: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(mean_time=self.mean_time)

    def _family_arrays(self, data: EndpointData, model: Any) -> dict[str, Any]:
        return super()._family_arrays(data, model) | {"mean_time": self.mean_time}


@dataclass(frozen=True)
class SBCModel:
    """One SBC model: fixed prior, simulator, exact posterior, PyMC family, ranked quantities.

    Parameters
    ----------
    name
        ``"pem"`` or ``"weibull"``.
    scale
        The fixed prior scale: crude rate ``r0`` (per month, PEM) or mean time ``m0``
        (months, Weibull).
    log_hr_mu, log_hr_sigma, a0, log_k_mu, log_k_sigma
        Priors as in the families (their defaults).
    """

    name: str
    scale: float
    log_hr_mu: float = 0.0
    log_hr_sigma: float = 1.0
    a0: float = 0.1
    log_k_mu: float = 0.0
    log_k_sigma: float = 1.0
    names: ClassVar[tuple[str, ...]] = ("pem", "weibull")

    def __post_init__(self) -> None:
        if self.name not in self.names:
            raise BridgeBayesError(f"model: expected one of {self.names}, got {self.name!r}")
        check_positive(scale=self.scale, log_hr_sigma=self.log_hr_sigma, a0=self.a0,
                       log_k_sigma=self.log_k_sigma)

    @property
    def prior_prob_hr_below_1(self) -> float:
        """Prior ``P(HR < 1) = Φ(−mu / sigma)``."""
        return float(norm.cdf(-self.log_hr_mu / self.log_hr_sigma))

    def quantities(self, scenario: Scenario) -> tuple[str, ...]:
        """Names of the ranked quantities (``loglik``: total log-likelihood of the data)."""
        base = ([f"log_lambda[{j}]" for j in range(len(scenario.cuts) + 1)]
                if self.name == "pem" else ["log_k", "log_lam"])
        return ("log_hr", *base, "loglik")

    def draw_prior(self, scenario: Scenario, rng: np.random.Generator) -> dict[str, Any]:
        """True parameters drawn from the prior (the families' draw format)."""
        log_hr = rng.normal(self.log_hr_mu, self.log_hr_sigma)
        if self.name == "pem":
            lam = rng.gamma(self.a0, self.scale / self.a0, len(scenario.cuts) + 1)
            return {"log_hr": np.array([log_hr]), "lambda": lam[None, :],
                    "cuts": np.asarray(scenario.cuts, float)}
        log_k = rng.normal(self.log_k_mu, self.log_k_sigma)
        k = np.exp(log_k)
        log_lam = np.log(rng.gamma(self.a0, 1.0 / self.a0)) - k * np.log(self.scale)
        return {"log_hr": np.array([log_hr]), "k": np.array([k]),
                "lam": np.exp([log_lam]), "log_lam": np.array([log_lam])}

    def simulate(self, truth: dict[str, Any], scenario: Scenario,
                 rng: np.random.Generator) -> EndpointData:
        """Event times from ``truth`` (inverse cumulative hazard), censored by the scenario."""
        arm = np.repeat([0, 1], scenario.n_per_arm)
        target = rng.exponential(1.0, arm.size) * np.exp(-truth["log_hr"][0] * arm)
        if self.name == "pem":
            event_time = pem_times(target, truth["lambda"][0], scenario.cuts)
        else:
            with np.errstate(divide="ignore", over="ignore"):  # inf: censored anyway
                event_time = np.exp((np.log(target) - truth["log_lam"][0]) / truth["k"][0])
        censor = scenario.censoring(rng)
        time = np.minimum(event_time, censor)
        time = np.maximum(time, np.finfo(float).tiny)  # an event time below float range
        return EndpointData(name="sim", time=time, event=(event_time <= censor).astype(int),
                            arm=arm, arms=("reference", "treatment"), ids=np.arange(arm.size))

    def posterior(self, data: EndpointData, scenario: Scenario) -> ExactPosterior:
        """Exact posterior under the same fixed prior."""
        if self.name == "pem":
            return pem_posterior(data, cuts=scenario.cuts, crude_rate=self.scale,
                                 log_hr_mu=self.log_hr_mu, log_hr_sigma=self.log_hr_sigma,
                                 a0=self.a0)
        return weibull_posterior(data, mean_time=self.scale, log_hr_mu=self.log_hr_mu,
                                 log_hr_sigma=self.log_hr_sigma, log_k_mu=self.log_k_mu,
                                 log_k_sigma=self.log_k_sigma, a0=self.a0)

    def posterior_draws(self, post: ExactPosterior, n_draws: int,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Exact posterior draws (``post.draws``; proper hazards also without events)."""
        return post.draws(n_draws, rng=rng)

    def exact_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                    rng: np.random.Generator) -> tuple[dict[str, np.ndarray], float]:
        """Exact posterior draws and the exact ``P(HR < 1 | data)``."""
        post = self.posterior(data, scenario)
        return self.posterior_draws(post, n_draws, rng), post.prob_hr_below(1.0)

    def nuts_draws(self, data: EndpointData, scenario: Scenario, n_draws: int,
                   rng: np.random.Generator, nuts: Any
                   ) -> tuple[dict[str, np.ndarray], float, dict[str, float]]:
        """NUTS draws (:func:`bridgebayes.inference.fit.fit`) thinned to ``n_draws``, P(HR < 1),
        diagnostics."""
        result = quiet_fit(data, self.family(scenario), rng, nuts)
        return (thin(result.draws(), n_draws), float(np.mean(result.draws()["log_hr"] < 0.0)),
                fit_diagnostics([result]))

    def event_counts(self, data: EndpointData) -> tuple[int, int]:
        """Events in the reference and treatment arms."""
        return int(data.event[data.arm == 0].sum()), int(data.event[data.arm == 1].sum())

    def family(self, scenario: Scenario) -> SurvivalFamily:
        """The PyMC family with the same fixed prior (for NUTS through
        ``bridgebayes.inference.fit``)."""
        if self.name == "pem":
            return FixedScalePEM(cuts=scenario.cuts, crude_rate=self.scale, a0=self.a0,
                                 log_hr_mu=self.log_hr_mu, log_hr_sigma=self.log_hr_sigma)
        return FixedScaleWeibull(mean_time=self.scale, a0=self.a0, log_k_mu=self.log_k_mu,
                                 log_k_sigma=self.log_k_sigma, log_hr_mu=self.log_hr_mu,
                                 log_hr_sigma=self.log_hr_sigma)

    def values(self, draws: dict[str, Any], data: EndpointData,
               scenario: Scenario) -> dict[str, np.ndarray]:
        """The ranked quantities of parameter draws (true parameters or posterior draws)."""
        out = {"log_hr": np.asarray(draws["log_hr"], float).ravel()}
        if self.name == "pem":
            with np.errstate(divide="ignore"):
                log_lam = np.log(np.asarray(draws["lambda"], float))
            out |= {f"log_lambda[{j}]": log_lam[:, j] for j in range(log_lam.shape[1])}
        else:
            k = np.asarray(draws["k"], float).ravel()
            log_lam = draws["log_lam"] if "log_lam" in draws else np.log(draws["lam"])
            out |= {"log_k": np.log(k), "log_lam": np.asarray(log_lam, float).ravel()}
        family = self.family(scenario)
        out["loglik"] = family.log_likelihood(draws, data).sum(axis=1)
        return out


def pem_times(target: np.ndarray, lam: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Times at which the piecewise-constant cumulative hazard reaches ``target``.

    ``lam`` holds the hazards of the ``len(cuts) + 1`` intervals; ``inf`` where a zero last
    hazard never reaches the target.

    Examples
    --------
    >>> pem_times(np.array([0.5, 2.0]), np.array([0.1, 1.0]), (10.0,)).tolist()
    [5.0, 11.0]
    """
    edges = np.r_[0.0, cuts]
    widths = np.r_[np.diff(edges), np.inf]
    cum = np.r_[0.0, np.cumsum(lam[:-1] * widths[:-1])]  # H0 at the interval starts
    j = np.searchsorted(cum, target, side="right") - 1
    with np.errstate(divide="ignore"):
        return edges[j] + (target - cum[j]) / lam[j]


def quiet_fit(data: EndpointData, family: SurvivalFamily, rng: np.random.Generator,
              nuts: Any) -> Any:
    """:func:`bridgebayes.inference.fit.fit` seeded from ``rng``, small-sample warnings silenced."""
    from bridgebayes.inference.fit import FitWarning, fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # small-sample guardrails: expected here
        return fit(data, family, seed=int(rng.integers(2**31 - 1)), sampler=nuts)


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
    """Smallest bulk ESS of the free parameters, whether every gate passed, any retry."""
    import arviz as az

    ess_min = np.inf
    for result in results:
        free = [v for v in result.idata.posterior.data_vars
                if v in ("log_hr", "log_k", "cumhaz_mean_time", "lambda")]
        ess = az.ess(result.idata, var_names=free)
        ess_min = min(ess_min, min(float(ess[v].min()) for v in free))
    return {"ess_bulk_min": float(ess_min),
            "gate_passed": float(all(r.gate.passed for r in results)),
            "retried": float(any(r.retried for r in results))}


#: Fixed prior scales: PEM crude rate 1/24 per month, Weibull mean time 24 months (prior
#: mean cumulative hazard 1 at 24 months, median survival about 17 months).
MODELS: MappingProxyType[str, SBCModel] = MappingProxyType({
    "pem": SBCModel("pem", scale=1.0 / 24.0), "weibull": SBCModel("weibull", scale=24.0)})


def all_models() -> dict[str, Any]:
    """Every SBC model by name: PEM, Weibull, competing risks and illness–death."""
    from bridgebayes.sbc.multistate import MULTISTATE_MODELS

    return dict(MODELS) | dict(MULTISTATE_MODELS)


def get_model(name: str) -> Any:
    """The SBC model called ``name`` (``pem``, ``weibull``, ``competing``, ``illness_death``)."""
    models = all_models()
    if name not in models:
        raise BridgeBayesError(f"model: expected one of {sorted(models)}, got {name!r}")
    return models[name]


def get_scenario(name: str) -> Scenario:
    """The SBC scenario called ``name`` (``"small"`` or ``"large"``)."""
    if name not in SCENARIOS:
        raise BridgeBayesError(f"scenario: expected one of {sorted(SCENARIOS)}, got {name!r}")
    return SCENARIOS[name]
