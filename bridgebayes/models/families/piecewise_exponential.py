"""Piecewise-exponential proportional hazards (``docs/engine.md``, "Piecewise exponential").

Baseline hazard ``lambda_j`` on interval ``j`` (dim ``interval``); the likelihood uses the
sufficient statistics of :mod:`bridgebayes.models.piecewise` (events and exposure per interval ×
unit), so for arm-only designs its cost does not grow with the number of patients.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from itertools import pairwise
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.exact import ExactPosterior, pem_posterior
from bridgebayes.models.families.base import SurvivalFamily
from bridgebayes.models.families.design import check_positive
from bridgebayes.models.families.draws import Draws
from bridgebayes.models.piecewise import default_cuts, sufficient_stats

if TYPE_CHECKING:  # PyMC is imported where a model is built: evaluating draws needs only numpy
    import pymc as pm

__all__ = ["PiecewiseExponentialPH"]

BASELINES = ("gamma", "random_walk")


@dataclass(frozen=True, kw_only=True)
class PiecewiseExponentialPH(SurvivalFamily):
    """Piecewise-exponential model, PH or with a time-varying treatment effect.

    Parameters
    ----------
    cuts
        Interior cut points (months); default ``default_cuts(time, event,
        n_intervals=n_intervals)`` of the data given to ``build_model``.  Refits with
        ``set_data`` keep the model's cut points (stored as data ``cuts``).
    n_intervals
        Number of intervals for the default cut points.
    baseline
        ``"gamma"``: independent ``lambda_j ~ Gamma(a0, a0 / r)``, ``r`` = crude rate
        (total events / total exposure, data ``crude_rate``).  ``"random_walk"``: Gaussian
        random walk on ``log lambda``, ``log lambda_1 ~ Normal(log r, rw_init_sigma)`` and
        ``log lambda_j − log lambda_{j−1} ~ Normal(0, rw_sigma)``; with the default
        ``rw_sigma = 0.5`` neighbouring hazards differ by a factor of about ``exp(±0.5) ≈
        0.6–1.65`` (one SD).  Sampled non-centred (``log_lambda_offset``).
    a0
        Prior shape of the Gamma baseline (weak: 0.1).
    rw_sigma, rw_init_sigma
        Scales of the random-walk baseline.
    time_varying
        If True, ``log_hr_interval_j = log_hr + tau · z_j``, ``z_j ~ Normal(0, 1)``
        (``log_hr_interval_offset``), ``tau ~ HalfNormal(tau_scale)``: non-proportional
        hazards shrunk towards a common ``log_hr``.
    crude_rate
        Fixed baseline prior scale ``r`` (events per unit time) instead of the data's crude
        rate: a prior that does not depend on the data (simulation-based calibration, or a
        rate fixed before seeing the data).  Data without events are then allowed.
    tau_scale
        Scale of ``tau``; the default 0.5 has prior median ``tau`` ≈ 0.34, i.e. interval
        HRs typically within a factor ``exp(±0.34) ≈ 0.7–1.4`` of ``hr``.
    log_hr_mu, log_hr_sigma, covariates, beta_sigma
        See :class:`~bridgebayes.models.families.base.SurvivalFamily`.  With covariates each
        patient is a unit (statistics per interval × patient).

    Examples
    --------
    >>> family = PiecewiseExponentialPH(cuts=(6.0,), baseline="random_walk")
    >>> draws = {"log_hr": np.array([0.0]), "lambda": np.array([[0.1, 0.05]])}
    >>> family.survival(draws, [6.0, 10.0], 0).round(4).tolist()
    [[0.5488, 0.4493]]
    """

    name: ClassVar[str] = "piecewise_exponential"
    label: ClassVar[str] = "PEM"
    description: ClassVar[str] = (
        "piecewise-exponential proportional-hazards model ({n_intervals} intervals with cut "
        "points at event-time quantiles unless given; {baseline} baseline prior, Gamma shape "
        "a0 = {a0} scaled by the crude event rate unless fixed)")
    data_dims: ClassVar[dict[str, tuple[str, ...]]] = SurvivalFamily.data_dims | {
        "events": ("interval", "unit"), "exposure": ("interval", "unit")}

    cuts: tuple[float, ...] | None = None
    n_intervals: int = 4
    baseline: str = "gamma"
    a0: float = 0.1
    rw_sigma: float = 0.5
    rw_init_sigma: float = 2.0
    time_varying: bool = False
    tau_scale: float = 0.5
    crude_rate: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(a0=self.a0, rw_sigma=self.rw_sigma, rw_init_sigma=self.rw_init_sigma,
                       tau_scale=self.tau_scale)
        if self.crude_rate is not None:
            check_positive(crude_rate=self.crude_rate)
        if self.cuts is not None:
            cuts = np.atleast_1d(np.asarray(self.cuts, float))
            if cuts.ndim != 1 or not np.all(np.isfinite(cuts) & (cuts > 0)) or np.any(
                    np.diff(cuts) <= 0):
                raise BridgeBayesError(f"cuts: expected strictly increasing finite values > 0, "
                                       f"got {self.cuts}")
            object.__setattr__(self, "cuts", tuple(cuts.tolist()))
        if isinstance(self.n_intervals, bool) or not isinstance(self.n_intervals, int) or (
                self.n_intervals < 1):
            raise BridgeBayesError(f"n_intervals: expected an integer >= 1, got "
                                   f"{self.n_intervals!r}")
        if self.baseline not in BASELINES:
            raise BridgeBayesError(f"baseline: expected one of {BASELINES}, got "
                                   f"{self.baseline!r}")
        if not isinstance(self.time_varying, bool):
            raise BridgeBayesError(f"time_varying: expected True or False, got "
                                   f"{self.time_varying!r}")

    def _family_arrays(self, data: EndpointData, model: pm.Model | None) -> dict[str, Any]:
        cuts = model["cuts"].get_value() if model is not None else self.cuts_for(data)
        arm = np.asarray(data.arm, int)
        arm_only = not self.covariates
        group = arm if arm_only else np.arange(arm.size)
        events, exposure = sufficient_stats(data.time, data.event, group, cuts,
                                            n_groups=2 if arm_only else arm.size)
        if self.crude_rate is None and events.sum() == 0:
            raise BridgeBayesError(f"{data.name}: no events; the baseline prior is scaled by "
                                   "the crude event rate, which needs at least one event "
                                   "(or give a fixed crude_rate)")
        rate = events.sum() / exposure.sum() if self.crude_rate is None else self.crude_rate
        arrays = {"cuts": cuts, "events": events, "exposure": exposure, "crude_rate": rate}
        if arm_only:  # one unit per arm: the hazard of unit g has arm indicator g
            arrays["arm"] = np.array([0.0, 1.0])
        return arrays

    def cuts_for(self, data: EndpointData) -> np.ndarray:
        """The interior cut points used for ``data``: the given ``cuts``, else quantiles of
        its event times (``n_intervals`` intervals, fewer when event times tie)."""
        if self.cuts is not None:
            return np.asarray(self.cuts, float)
        return default_cuts(data.time, data.event, n_intervals=self.n_intervals)

    def _unit_labels(self, data: EndpointData) -> np.ndarray:
        return np.asarray(data.ids) if self.covariates else np.asarray(data.arms)

    def _coords(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        edges = [0.0, *arrays["cuts"].tolist(), np.inf]
        return {"interval": [f"({lo:g}, {hi:g}]" if np.isfinite(hi) else f"({lo:g}, inf)"
                             for lo, hi in pairwise(edges)]}

    def _parameters(self, box: dict, log_hr: Any) -> dict[str, Any]:
        import pymc as pm
        import pytensor.tensor as pt
        rate = box["crude_rate"]
        if self.baseline == "gamma":
            lam = pm.Gamma("lambda", alpha=self.a0, beta=self.a0 / rate, dims="interval")
        else:
            n_intervals = box["cuts"].get_value().size + 1
            steps = np.r_[self.rw_init_sigma, np.full(n_intervals - 1, self.rw_sigma)]
            offset = pm.Normal("log_lambda_offset", mu=0.0, sigma=1.0, dims="interval")
            lam = pm.Deterministic("lambda", pt.exp(pt.log(rate) + pt.cumsum(steps * offset)),
                                   dims="interval")
        params = {"lambda": lam}
        if self.time_varying:
            tau = pm.HalfNormal("tau", sigma=self.tau_scale)
            z = pm.Normal("log_hr_interval_offset", mu=0.0, sigma=1.0, dims="interval")
            params["log_hr_interval"] = pm.Deterministic("log_hr_interval", log_hr + tau * z,
                                                         dims="interval")
        return params

    def _loglik(self, params: dict, box: dict, eta_cov: Any) -> Any:
        """Per unit: ``sum_j d_j (log lambda_j + eta_j) − lambda_j exp(eta_j) E_j``."""
        import pytensor.tensor as pt
        effect = params.get("log_hr_interval", params["log_hr"])
        eta = (effect[:, None] if self.time_varying else effect) * box["arm"] + eta_cov
        lam = params["lambda"][:, None]
        terms = box["events"] * (pt.log(lam) + eta) - lam * pt.exp(eta) * box["exposure"]
        return terms.sum(axis=0)

    def _draw_vars(self) -> tuple[str, ...]:
        return ("lambda", "log_hr_interval") if self.time_varying else ("lambda",)

    def _log_rates(self, p: dict, x: np.ndarray, eta_cov: np.ndarray) -> np.ndarray:
        """log(lambda_j · exp(eta_j)), shape (draws, times, intervals)."""
        effect = p["log_hr_interval"] if self.time_varying else p["log_hr"][..., None]
        return np.log(p["lambda"]) + effect * x[..., None] + eta_cov[..., None]

    def _cuts_of(self, p: dict) -> np.ndarray:
        cuts = p.get("cuts", self.cuts)
        if cuts is None:
            raise BridgeBayesError("draws: no 'cuts' (use posterior_draws(idata), or give cuts "
                                   "to the family)")
        return np.atleast_1d(np.asarray(cuts, float))

    def _log_cumhaz(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        cuts = self._cuts_of(p)
        lower, upper = np.r_[0.0, cuts], np.r_[cuts, np.inf]
        exposure = np.clip(t[..., None], lower, upper) - lower
        lam = np.asarray(p["lambda"])
        if not self.time_varying and exposure.shape[0] == 1 and lam.ndim == 3 and \
                lam.shape[1] == 1:  # PH: H = (sum_j lambda_j E_j(t)) exp(eta), one matmul
            return np.log(lam[:, 0, :] @ exposure[0].T) + p["log_hr"] * x + eta_cov
        return np.log(np.sum(np.exp(self._log_rates(p, x, eta_cov)) * exposure, axis=-1))

    def _log_hazard(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        interval = np.searchsorted(self._cuts_of(p), t[0], side="left")  # (c_{j-1}, c_j]
        lam = np.asarray(p["lambda"])
        if not self.time_varying and np.shape(t)[0] == 1 and lam.ndim == 3 and lam.shape[1] == 1:
            return np.log(lam[:, 0, interval]) + p["log_hr"] * x + eta_cov  # PH: no 3-D array
        rates = self._log_rates(p, x, eta_cov)
        return np.take_along_axis(rates, interval[None, :, None], axis=-1)[..., 0]

    # -- optional hooks -----------------------------------------------------------------
    def baseline_variables(self) -> tuple[str, ...]:
        return ("lambda",)

    def with_constants(self, draws: Draws) -> PiecewiseExponentialPH:
        if "cuts" not in draws:
            return self
        return dataclasses.replace(self, cuts=tuple(np.atleast_1d(draws["cuts"]).tolist()))

    def effect_pieces(self, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
        if not self.time_varying:
            return super().effect_pieces(draws)
        return np.asarray(draws["log_hr_interval"], float), self._cuts_of(draws)

    def decision_options(self, draws: Draws) -> dict[str, Any]:
        if not self.time_varying:
            return {}
        return {"interval_log_hr": draws["log_hr_interval"], "interval_cuts": draws["cuts"]}

    def has_exact_posterior(self) -> bool:
        return self.baseline == "gamma" and not self.time_varying and not self.covariates

    def exact_posterior(self, data: EndpointData) -> ExactPosterior:
        """Exact posterior by quadrature (:func:`~bridgebayes.models.exact.pem_posterior`)
        with this family's priors and cut points (those the PyMC model uses)."""
        if not self.has_exact_posterior():
            return super().exact_posterior(data)
        return pem_posterior(data, cuts=self.cuts_for(data),
                             a0=self.a0, crude_rate=self.crude_rate, **self._log_hr_options())

    def baseline_inverse(self, draws: Draws, target: np.ndarray) -> np.ndarray:
        """Closed form: the piecewise-linear cumulative hazard inverted within the interval
        where it reaches ``target`` (``inf`` where a zero last hazard never does)."""
        lam = np.asarray(draws["lambda"], float).reshape(-1, len(self._cuts_of(draws)) + 1)
        target = np.asarray(target, float)
        edges = np.r_[0.0, self._cuts_of(draws)]
        widths = np.diff(edges)
        start = np.concatenate([np.zeros((lam.shape[0], 1)),
                                np.cumsum(lam[:, :-1] * widths, axis=1)], axis=1)  # H0(edge)
        j = np.sum(start[:, None, :] <= target[..., None], axis=-1) - 1
        at = np.take_along_axis(start, j, axis=1)
        with np.errstate(divide="ignore"):
            return edges[j] + (target - at) / np.take_along_axis(lam, j, axis=1)

    def _baseline_prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if self.crude_rate is None or self.cuts is None or self.baseline != "gamma":
            return super()._baseline_prior_draws(n, rng)
        lam = rng.gamma(self.a0, self.crude_rate / self.a0, (n, len(self.cuts) + 1))
        return {"lambda": lam, "cuts": np.asarray(self.cuts, float)}

    def _baseline_calibration_values(self, draws: Draws) -> dict[str, np.ndarray]:
        with np.errstate(divide="ignore"):
            log_lam = np.log(np.asarray(draws["lambda"], float))
        return {f"log_lambda[{j}]": log_lam[:, j] for j in range(log_lam.shape[1])}
