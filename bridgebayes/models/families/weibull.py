"""Weibull proportional hazards (``docs/engine.md``, "Weibull PH").

``H(t | x) = lam · t^k · exp(eta)``, written in log space so that it stays finite for
``t`` in ``[1e-6, 1e5]`` and ``k`` in ``[0.05, 50]``:
``log H = log lam + k log t + eta``, ``log h = log lam + log k + (k − 1) log t + eta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import ExactPosterior, weibull_posterior
from bridgebayes.models.families.base import SurvivalFamily
from bridgebayes.models.families.design import check_finite, check_positive
from bridgebayes.models.families.draws import Draws

if TYPE_CHECKING:  # PyMC is imported where a model is built: evaluating draws needs only numpy
    import pymc as pm

__all__ = ["WeibullPH"]


@dataclass(frozen=True, kw_only=True)
class WeibullPH(SurvivalFamily):
    """Weibull PH model with data-driven weak priors.

    Parameters
    ----------
    a0
        Prior shape of ``lam | k ~ Gamma(a0, a0 · m^k)``; ``m`` = mean observed time (a
        data container, ``mean_time``), so the prior mean ``m^-k`` rescales with the unit.
    log_k_mu, log_k_sigma
        Prior ``log k ~ Normal(log_k_mu, log_k_sigma)``.
    mean_time
        Fixed prior scale ``m`` (in the data's time unit) instead of the mean observed time:
        a prior that does not depend on the data (simulation-based calibration, or a scale
        fixed before seeing the data).
    log_hr_mu, log_hr_sigma, covariates, beta_sigma
        See :class:`~bridgebayes.models.families.base.SurvivalFamily`.

    Notes
    -----
    Variables: ``log_k``, ``k``, ``lam``, ``log_hr``, ``hr`` and ``aft_factor =
    exp(−log_hr / k)`` (acceleration factor = ratio of medians, treatment / reference).
    NUTS samples ``cumhaz_mean_time = lam · m^k ~ Gamma(a0, a0)`` (the reference-arm
    cumulative hazard at ``m``) and sets ``lam = cumhaz_mean_time · m^-k``: the same prior
    (by the Gamma scaling property; in log space the change of variables has Jacobian 1),
    but without the strong prior dependence of ``log lam`` on ``k``.  The numpy functions
    use ``draws["log_lam"]`` when present (the exact oracle's), else ``log(draws["lam"])``.

    Examples
    --------
    >>> family = WeibullPH(log_hr_mu=0.0, log_hr_sigma=1.0)
    >>> draws = {"log_hr": np.array([0.0]), "k": np.array([2.0]), "lam": np.array([0.01])}
    >>> family.survival(draws, [10.0], 1).round(4).tolist()
    [[0.3679]]
    """

    name: ClassVar[str] = "weibull"
    label: ClassVar[str] = "Weibull"
    description: ClassVar[str] = (
        "Weibull proportional-hazards model (log shape ~ Normal({log_k_mu}, {log_k_sigma}); "
        "Gamma(a0 = {a0}) prior on the scale, centred on the mean observed time unless fixed)")

    a0: float = 0.1
    log_k_mu: float = 0.0
    log_k_sigma: float = 1.0
    mean_time: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_finite(log_k_mu=self.log_k_mu)
        check_positive(a0=self.a0, log_k_sigma=self.log_k_sigma)
        if self.mean_time is not None:
            check_positive(mean_time=self.mean_time)

    def _family_arrays(self, data: EndpointData, model: pm.Model | None) -> dict[str, Any]:
        scale = np.mean(data.time) if self.mean_time is None else self.mean_time
        return super()._family_arrays(data, model) | {"mean_time": scale}

    def _parameters(self, box: dict, log_hr: Any) -> dict[str, Any]:
        import pymc as pm
        import pytensor.tensor as pt
        log_k = pm.Normal("log_k", mu=self.log_k_mu, sigma=self.log_k_sigma)
        k = pm.Deterministic("k", pt.exp(log_k))
        cumhaz_m = pm.Gamma("cumhaz_mean_time", alpha=self.a0, beta=self.a0)
        lam = pm.Deterministic("lam", pt.exp(pt.log(cumhaz_m) - k * pt.log(box["mean_time"])))
        pm.Deterministic("aft_factor", pt.exp(-log_hr / k))
        return {"k": k, "lam": lam}

    def _draw_vars(self) -> tuple[str, ...]:
        return ("k", "lam")

    def _log_cumhaz(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        return _log_lam(p, xp) + p["k"] * xp.log(t) + p["log_hr"] * x + eta_cov

    def _log_hazard(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        return (_log_lam(p, xp) + xp.log(p["k"]) + (p["k"] - 1.0) * xp.log(t)
                + p["log_hr"] * x + eta_cov)


    # -- optional hooks -----------------------------------------------------------------
    def decision_options(self, draws: Draws) -> dict[str, Any]:
        aft = draws["aft_factor"] if "aft_factor" in draws else np.exp(
            -np.asarray(draws["log_hr"], float) / np.asarray(draws["k"], float))
        return {"extra": {"AFT factor (ratio of medians)": aft}}

    def has_exact_posterior(self) -> bool:
        return not self.covariates

    def exact_posterior(self, data: EndpointData) -> ExactPosterior:
        """Exact posterior by quadrature (:func:`~bridgebayes.models.exact.weibull_posterior`)
        with this family's priors."""
        if not self.has_exact_posterior():
            return super().exact_posterior(data)
        return weibull_posterior(data, **self._log_hr_options(),
                                 log_k_mu=self.log_k_mu, log_k_sigma=self.log_k_sigma,
                                 a0=self.a0, mean_time=self.mean_time)

    def baseline_inverse(self, draws: Draws, target: np.ndarray) -> np.ndarray:
        """Closed form: ``t = (target / lam)^(1 / k)`` (in log space)."""
        k = np.reshape(np.asarray(draws["k"], float), (-1, 1))
        log_lam = np.reshape(_log_lam(draws, np), (-1, 1))
        with np.errstate(divide="ignore", over="ignore"):  # inf: beyond float range
            return np.exp((np.log(target) - log_lam) / k)

    def _baseline_prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if self.mean_time is None:
            return super()._baseline_prior_draws(n, rng)
        k = np.exp(rng.normal(self.log_k_mu, self.log_k_sigma, n))
        log_lam = np.log(rng.gamma(self.a0, 1.0 / self.a0, n)) - k * np.log(self.mean_time)
        return {"k": k, "lam": np.exp(log_lam), "log_lam": log_lam}

    def _baseline_calibration_values(self, draws: Draws) -> dict[str, np.ndarray]:
        return {"log_k": np.log(np.asarray(draws["k"], float)).ravel(),
                "log_lam": np.asarray(_log_lam(draws, np), float).ravel()}


def _log_lam(p: dict, xp: ModuleType) -> Any:
    """log lam; from draws' ``log_lam`` when given (the exact oracle's: lam may overflow)."""
    if xp is np and "log_lam" in p:
        return np.reshape(p["log_lam"], np.shape(p["k"]))
    return xp.log(p["lam"])
