"""The models and scenarios of simulation-based calibration (SBC), with fixed prior scales.

The families' baseline priors are scaled by the data (``docs/engine.md``: crude rate ``r``
for the PEM, mean observed time ``m`` for the Weibull), so they are not a fixed prior and
SBC cannot use them as they are.  Here the scale is a constant per scenario: the PEM prior
``lambda_j ~ Gamma(a0, a0 / r0)`` and the Weibull prior ``lam | k ~ Gamma(a0, a0 m0^k)``.
The same prior is used three times: to draw the true parameters, by the exact oracle
(:func:`fixed_pem_posterior`, :func:`fixed_weibull_posterior`, the quadrature of
:mod:`bridgebayes.exact` with ``r``/``m`` fixed) and by the PyMC families
(:class:`FixedScalePEM`, :class:`FixedScaleWeibull`, whose data containers hold ``r0``/``m0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit, gammaln
from scipy.stats import norm

from bridgebayes.endpoints import EndpointData
from bridgebayes.errors import BridgeBayesError
from bridgebayes.exact import ExactPosterior, _finish, _grid, _log_total, _lse
from bridgebayes.families import PiecewiseExponentialPH, SurvivalFamily, WeibullPH
from bridgebayes.families.design import check_positive
from bridgebayes.piecewise import sufficient_stats

__all__ = ["MODELS", "SCENARIOS", "FixedScalePEM", "FixedScaleWeibull", "SBCModel", "Scenario",
           "fixed_pem_posterior", "fixed_weibull_posterior", "get_model", "get_scenario"]


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


def _arrays(data: EndpointData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(data.time, float), np.asarray(data.event, int), np.asarray(data.arm, int))


def fixed_pem_posterior(data: EndpointData, *, cuts: Any, crude_rate: float, log_hr_mu: float,
                        log_hr_sigma: float, a0: float = 0.1) -> ExactPosterior:
    """Exact PEM posterior (as :func:`bridgebayes.exact.pem_posterior`) with ``r`` fixed.

    Examples
    --------
    >>> d = EndpointData("os", np.array([2.0, 5.0, 3.0, 9.0]), np.array([1, 1, 1, 0]),
    ...                  np.array([0, 0, 1, 1]), ("ref", "trt"), np.arange(4))
    >>> post = fixed_pem_posterior(d, cuts=[4.0], crude_rate=3 / 19, log_hr_mu=0.0,
    ...                            log_hr_sigma=1.0)
    >>> round(post.prob_hr_below(1.0), 3)  # r = 3/19 is this data's crude rate
    0.753
    """
    check_positive(crude_rate=crude_rate, log_hr_sigma=log_hr_sigma, a0=a0)
    time, event, arm = _arrays(data)
    mu, sigma, cuts = float(log_hr_mu), float(log_hr_sigma), np.asarray(cuts, float)
    d, e = sufficient_stats(time, event, arm, cuts)
    d1, w, b = d[:, 1].sum(), a0 + d.sum(axis=1), a0 / crude_rate
    log_c = np.log(b + e[:, 0])
    log_e1 = np.log(e[:, 1], out=np.full(w.size, -np.inf), where=e[:, 1] > 0)
    const = float(np.sum(a0 * np.log(b) + gammaln(w) - gammaln(a0)))

    def logpdf(x: np.ndarray) -> np.ndarray:
        like = x * d1 - np.sum(w * np.logaddexp(log_c, x[:, None] + log_e1), axis=1) + const
        return norm.logpdf(x, mu, sigma) + like

    (x,), g = _grid(logpdf, [(mu - 10 * sigma, mu + 10 * sigma)], n_min=3001, n_max=20001)
    dg = -(x - mu) / sigma**2 + d1 - np.sum(w * expit(x[:, None] + log_e1 - log_c), axis=1)
    return _finish([x], g, dg, family="pem", settings={
        "a0": a0, "log_hr_prior": (mu, sigma), "cuts": cuts, "r": float(crude_rate),
        "events": d, "exposure": e})


def fixed_weibull_posterior(data: EndpointData, *, mean_time: float, log_hr_mu: float,
                            log_hr_sigma: float, log_k_mu: float = 0.0, log_k_sigma: float = 1.0,
                            a0: float = 0.1) -> ExactPosterior:
    """Exact Weibull posterior (as :func:`bridgebayes.exact.weibull_posterior`) with ``m`` fixed.

    Examples
    --------
    >>> d = EndpointData("os", np.array([2.0, 5.0, 3.0, 9.0]), np.array([1, 1, 1, 0]),
    ...                  np.array([0, 0, 1, 1]), ("ref", "trt"), np.arange(4))
    >>> post = fixed_weibull_posterior(d, mean_time=4.75, log_hr_mu=0.0, log_hr_sigma=1.0)
    >>> round(post.log_hr_mean(), 3)  # m = 4.75 is this data's mean time
    -0.622
    """
    check_positive(mean_time=mean_time, log_hr_sigma=log_hr_sigma, log_k_sigma=log_k_sigma,
                   a0=a0)
    time, event, arm = _arrays(data)
    mu, sigma, kmu, ksig = float(log_hr_mu), float(log_hr_sigma), float(log_k_mu), log_k_sigma
    log_m, log_ts = np.log(mean_time), (np.log(time[arm == 0]), np.log(time[arm == 1]))
    total, d1, w = event.sum(), event[arm == 1].sum(), a0 + event.sum()
    const, sum_log_t = gammaln(w) - gammaln(a0) + a0 * np.log(a0), np.log(time[event == 1]).sum()

    def logpdf(u: np.ndarray, x: np.ndarray) -> np.ndarray:
        k = np.exp(u)
        return (norm.logpdf(u, kmu, ksig) + norm.logpdf(x, mu, sigma) + const + a0 * k * log_m
                - w * _log_total(a0, log_m, k, x, *log_ts) + total * u
                + (k - 1) * sum_log_t + x * d1)

    box = [(kmu - 10 * ksig, kmu + 10 * ksig), (mu - 10 * sigma, mu + 10 * sigma)]
    axes, g = _grid(logpdf, box, n_min=301, n_max=1201)
    u, x = np.meshgrid(*axes, indexing="ij", sparse=True)
    log_share = x + _lse(np.exp(u), log_ts[1]) - _log_total(a0, log_m, np.exp(u), x, *log_ts)
    dg = -(x - mu) / sigma**2 + d1 - w * np.exp(log_share)
    return _finish(axes, g, dg, family="weibull", _logt=log_ts, settings={
        "a0": a0, "log_hr_prior": (mu, sigma), "log_k_prior": (kmu, ksig),
        "m": float(mean_time), "events": np.array([total - d1, d1])})


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
            edges = np.r_[0.0, scenario.cuts]
            widths = np.r_[np.diff(edges), np.inf]
            lam = truth["lambda"][0]
            cum = np.r_[0.0, np.cumsum(lam[:-1] * widths[:-1])]  # H0 at the interval starts
            j = np.searchsorted(cum, target, side="right") - 1
            with np.errstate(divide="ignore"):
                event_time = edges[j] + (target - cum[j]) / lam[j]
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
            return fixed_pem_posterior(data, cuts=scenario.cuts, crude_rate=self.scale,
                                       log_hr_mu=self.log_hr_mu, log_hr_sigma=self.log_hr_sigma,
                                       a0=self.a0)
        return fixed_weibull_posterior(data, mean_time=self.scale, log_hr_mu=self.log_hr_mu,
                                       log_hr_sigma=self.log_hr_sigma, log_k_mu=self.log_k_mu,
                                       log_k_sigma=self.log_k_sigma, a0=self.a0)

    def posterior_draws(self, post: ExactPosterior, n_draws: int,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Exact posterior draws (``post.draws``).

        Without any event ``ExactPosterior.draws`` returns zero PEM hazards (for the
        data-scaled prior the crude rate is then 0); under the fixed prior they are
        ``Gamma(a0, a0 / r0 + E_j0 + exp(log_hr) E_j1)``, drawn here.
        """
        draws = post.draws(n_draws, rng=rng)
        if self.name == "pem" and post.settings["events"].sum() == 0:
            e = post.settings["exposure"]
            rate = self.a0 / self.scale + e[:, 0] + draws["hr"][:, None] * e[:, 1]
            draws["lambda"] = rng.gamma(self.a0, 1.0 / rate)
        return draws

    def family(self, scenario: Scenario) -> SurvivalFamily:
        """The PyMC family with the same fixed prior (for NUTS through ``bridgebayes.fit``)."""
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


#: Fixed prior scales: PEM crude rate 1/24 per month, Weibull mean time 24 months (prior
#: mean cumulative hazard 1 at 24 months, median survival about 17 months).
MODELS: MappingProxyType[str, SBCModel] = MappingProxyType({
    "pem": SBCModel("pem", scale=1.0 / 24.0), "weibull": SBCModel("weibull", scale=24.0)})


def get_model(name: str) -> SBCModel:
    """The SBC model called ``name`` (``"pem"`` or ``"weibull"``)."""
    if name not in MODELS:
        raise BridgeBayesError(f"model: expected one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name]


def get_scenario(name: str) -> Scenario:
    """The SBC scenario called ``name`` (``"small"`` or ``"large"``)."""
    if name not in SCENARIOS:
        raise BridgeBayesError(f"scenario: expected one of {sorted(SCENARIOS)}, got {name!r}")
    return SCENARIOS[name]
