"""M-spline proportional hazards, survextrap style (``docs/engine.md``, "M-spline").

``h0(t) = eta · sum_k p_k M_k(t)``: ``M_k`` a cubic M-spline basis (B-splines normalised to
integrate to 1; Ramsay 1988) on ``[0, b]``, coefficients ``p`` on the simplex, so the
cumulative hazard is ``eta · sum_k p_k I_k(t)`` with the integrated basis ``I_k`` (exact, no
quadrature) and ``eta = H0(b)``.  Beyond the boundary knot ``b`` the hazard is constant,
``h0(b)`` (survextrap's convention: an explicit assumption, not the polynomials' tails).
Smoothness prior as in survextrap (Jackson 2023, BMC Med Res Methodol 23:282):
``log(p_k / p_1) = mu_k + sigma · z_k``, ``z_k ~ Normal(0, 1)``, ``mu`` the coefficients of a
constant hazard, ``sigma ~ Gamma(smooth_shape, smooth_rate)``.  The likelihood uses the basis
at the data's times (data containers ``mbasis``/``ibasis``), so PyTensor only sees dot
products; numpy evaluates the basis at any time from the stored knots.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.interpolate import BSpline
from scipy.special import softmax

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families.base import SurvivalFamily
from bridgebayes.models.families.design import check_positive
from bridgebayes.models.families.draws import Draws

if TYPE_CHECKING:  # PyMC is imported where a model is built: evaluating draws needs only numpy
    import pymc as pm

__all__ = ["MSplinePH", "constant_coefficients", "mspline_basis"]


def _full_knots(knots: np.ndarray, boundary: float, degree: int) -> np.ndarray:
    return np.r_[np.zeros(degree + 1), knots, np.full(degree + 1, boundary)]


def mspline_basis(t: np.ndarray, knots: np.ndarray, boundary: float, degree: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """M-spline basis ``M`` and its integral ``I`` at times ``t``, each ``(len(t), K)``,
    ``K = len(knots) + degree + 1``; beyond ``boundary`` the hazard basis is constant
    (``M(b)``) and ``I`` grows linearly (``I(b) + M(b) (t − b)``, ``I(b) = 1``).

    Examples
    --------
    >>> m, i = mspline_basis(np.array([0.0, 10.0, 20.0]), np.array([10.0]), 20.0, 0)
    >>> m.tolist(), i.round(6).tolist()
    ([[0.1, 0.0], [0.0, 0.1], [0.0, 0.1]], [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    """
    t = np.asarray(t, float)
    full = _full_knots(np.asarray(knots, float), float(boundary), degree)
    n_basis = full.size - degree - 1
    scale = (degree + 1) / (full[degree + 1:degree + 1 + n_basis] - full[:n_basis])
    spline = BSpline(full, np.eye(n_basis), degree, extrapolate=False)
    inside = np.clip(t, 0.0, boundary)
    m = np.nan_to_num(spline(inside)) * scale
    i = np.nan_to_num(spline.antiderivative()(inside)) * scale
    m_end = spline(np.array([float(boundary)]))[0] * scale
    i = i + np.maximum(t - boundary, 0.0)[:, None] * m_end[None, :]
    return m, i


def constant_coefficients(knots: np.ndarray, boundary: float, degree: int) -> np.ndarray:
    """The coefficients ``p`` (summing to 1) for which ``sum_k p_k M_k(t) = 1 / b`` on
    ``[0, b]``: ``p_k = (t_{k+d+1} − t_k) / ((d + 1) b)`` (the B-splines sum to 1).

    Examples
    --------
    >>> constant_coefficients(np.array([5.0]), 10.0, 0).tolist()
    [0.5, 0.5]
    """
    full = _full_knots(np.asarray(knots, float), float(boundary), degree)
    n_basis = full.size - degree - 1
    return (full[degree + 1:degree + 1 + n_basis] - full[:n_basis]) / ((degree + 1) * boundary)


@dataclass(frozen=True, kw_only=True)
class MSplinePH(SurvivalFamily):
    """M-spline baseline hazard with a smoothness prior; PH, or an optional shrunk non-PH
    interaction.

    Parameters
    ----------
    n_basis
        Number of basis functions ``K`` (interior knots: ``K − degree − 1`` at equally spaced
        quantiles of the event times, survextrap's rule).
    degree
        Spline degree: 3 (cubic, default); 0 gives a piecewise-constant hazard (a PEM).
    knots, boundary
        Interior knots and the boundary knot ``b`` (data's time unit) instead of the data's
        quantiles and its largest observed time.  Refits with ``set_data`` keep them.
    smooth_shape, smooth_rate
        ``sigma ~ Gamma(smooth_shape, smooth_rate)`` (survextrap's default Gamma(2, 1)):
        ``sigma`` near 0 forces a constant hazard, about 1 lets the data shape it.
    log_scale_sigma
        ``log eta ~ Normal(log(r · b), log_scale_sigma)``, ``r`` the crude event rate (data
        ``crude_rate``): the prior median cumulative hazard at ``b`` is that of a constant
        hazard at the crude rate; the default SD 2 spans a factor of about 50 either way.
    crude_rate
        Fixed prior rate ``r`` instead of the data's (a prior that does not depend on the
        data: simulation-based calibration).
    nonph, nonph_scale
        Non-proportional hazards: the treatment arm's coefficients are
        ``softmax(log p + tau · w)``, ``w_k ~ Normal(0, 1)``, ``tau ~ HalfNormal(nonph_scale)``
        (shrunk towards PH).  ``log_hr`` is then the log ratio of the cumulative hazards at
        ``b``.
    log_hr_mu, log_hr_sigma, covariates, beta_sigma
        See :class:`~bridgebayes.models.families.base.SurvivalFamily`.

    Notes
    -----
    Variables: ``log_scale`` (``log eta``), ``scale``, ``smooth_sigma``, ``coef_offset``
    (dim ``basis_free``, the ``z_k``), ``coefs`` (dim ``basis``), with ``nonph`` also
    ``nonph_sigma``, ``nonph_offset`` and ``coefs_treatment``; constants ``knots``,
    ``boundary``.

    Examples
    --------
    >>> family = MSplinePH(knots=(10.0,), boundary=20.0, degree=0)
    >>> draws = {"log_hr": np.array([0.0]), "scale": np.array([2.0]),
    ...          "coefs": np.array([[0.5, 0.5]])}
    >>> family.hazard(draws, [5.0, 15.0, 40.0], 0).tolist()
    [[0.1, 0.1, 0.1]]
    """

    name: ClassVar[str] = "mspline"
    label: ClassVar[str] = "M-spline"
    description: ClassVar[str] = (
        "M-spline proportional-hazards model (survextrap style: {n_basis} degree-{degree} "
        "basis functions with knots at event-time quantiles unless given, constant hazard "
        "beyond the last follow-up; smoothness SD ~ Gamma({smooth_shape}, {smooth_rate}) "
        "around a constant hazard; log cumulative hazard at the boundary ~ Normal(log of the "
        "crude rate x boundary, {log_scale_sigma}))")
    data_dims: ClassVar[dict[str, tuple[str, ...]]] = SurvivalFamily.data_dims | {
        "mbasis": ("unit", "basis"), "ibasis": ("unit", "basis"),
        "coef_mean": ("basis_free",)}

    n_basis: int = 6
    degree: int = 3
    knots: tuple[float, ...] | None = None
    boundary: float | None = None
    smooth_shape: float = 2.0
    smooth_rate: float = 1.0
    log_scale_sigma: float = 2.0
    crude_rate: float | None = None
    nonph: bool = False
    nonph_scale: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(smooth_shape=self.smooth_shape, smooth_rate=self.smooth_rate,
                       log_scale_sigma=self.log_scale_sigma, nonph_scale=self.nonph_scale)
        for name in ("crude_rate", "boundary"):
            if getattr(self, name) is not None:
                check_positive(**{name: getattr(self, name)})
        if self.degree not in (0, 1, 2, 3) or isinstance(self.degree, bool):
            raise BridgeBayesError(f"degree: expected 0, 1, 2 or 3, got {self.degree!r}")
        if isinstance(self.n_basis, bool) or not isinstance(self.n_basis, int) or (
                self.n_basis < self.degree + 2):
            raise BridgeBayesError(f"n_basis: expected an integer >= degree + 2 = "
                                   f"{self.degree + 2}, got {self.n_basis!r}")
        if self.knots is not None:
            knots = np.atleast_1d(np.asarray(self.knots, float))
            if knots.ndim != 1 or not np.all(np.isfinite(knots) & (knots > 0)) or np.any(
                    np.diff(knots) <= 0) or (self.boundary is not None and knots.size
                                             and knots[-1] >= self.boundary):
                raise BridgeBayesError(f"knots: expected strictly increasing finite values > 0 "
                                       f"below the boundary, got {self.knots}")
            object.__setattr__(self, "knots", tuple(knots.tolist()))
        if not isinstance(self.nonph, bool):
            raise BridgeBayesError(f"nonph: expected True or False, got {self.nonph!r}")

    # -- data ---------------------------------------------------------------------------
    def knots_for(self, data: EndpointData) -> tuple[np.ndarray, float]:
        """Interior knots and boundary for ``data``: the given ones, else quantiles of its
        event times and its largest observed time."""
        boundary = float(np.max(data.time)) if self.boundary is None else self.boundary
        if self.knots is not None:
            return np.asarray(self.knots, float), boundary
        events = np.asarray(data.time, float)[np.asarray(data.event) > 0]
        n_interior = self.n_basis - self.degree - 1
        if events.size == 0 or n_interior == 0:
            return np.linspace(0, boundary, n_interior + 2)[1:-1], boundary
        knots = np.unique(np.quantile(events, np.linspace(0, 1, n_interior + 2)[1:-1]))
        return knots[(knots > 0) & (knots < boundary)], boundary

    def _family_arrays(self, data: EndpointData, model: pm.Model | None) -> dict[str, Any]:
        if model is not None:
            knots, boundary = model["knots"].get_value(), float(model["boundary"].get_value())
        else:
            knots, boundary = self.knots_for(data)
        events, exposure = float(np.sum(data.event)), float(np.sum(data.time))
        if self.crude_rate is None and events == 0:
            raise BridgeBayesError(f"{data.name}: no events; the scale prior is centred on the "
                                   "crude event rate, which needs at least one event (or give "
                                   "a fixed crude_rate)")
        rate = events / exposure if self.crude_rate is None else self.crude_rate
        m, i = mspline_basis(data.time, knots, boundary, self.degree)
        mean = np.log(constant_coefficients(knots, boundary, self.degree))
        return super()._family_arrays(data, model) | {
            "knots": knots, "boundary": np.float64(boundary), "crude_rate": np.float64(rate),
            "mbasis": m, "ibasis": i, "coef_mean": mean[1:] - mean[0]}

    def _coords(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        n = arrays["mbasis"].shape[1]
        return {"basis": list(range(n)), "basis_free": list(range(1, n))}

    # -- model --------------------------------------------------------------------------
    def _parameters(self, box: dict, log_hr: Any) -> dict[str, Any]:
        import pymc as pm
        import pytensor.tensor as pt

        log_scale = pm.Normal("log_scale", mu=pt.log(box["crude_rate"] * box["boundary"]),
                              sigma=self.log_scale_sigma)
        scale = pm.Deterministic("scale", pt.exp(log_scale))
        sigma = pm.Gamma("smooth_sigma", alpha=self.smooth_shape, beta=self.smooth_rate)
        z = pm.Normal("coef_offset", 0.0, 1.0, dims="basis_free")
        gamma = box["coef_mean"] + sigma * z
        coefs = pm.Deterministic("coefs", _simplex(gamma), dims="basis")
        params = {"scale": scale, "coefs": coefs}
        if self.nonph:
            tau = pm.HalfNormal("nonph_sigma", sigma=self.nonph_scale)
            w = pm.Normal("nonph_offset", 0.0, 1.0, dims="basis_free")
            params["coefs_treatment"] = pm.Deterministic("coefs_treatment",
                                                         _simplex(gamma + tau * w), dims="basis")
        return params

    def _loglik(self, params: dict, box: dict, eta_cov: Any) -> Any:
        """Per patient ``event · log h(t) − H(t)`` from the basis at the data's times."""
        import pytensor.tensor as pt

        x = box["arm"]
        coefs = params["coefs"][None, :]
        if self.nonph:
            coefs = coefs * (1.0 - x)[:, None] + params["coefs_treatment"][None, :] * x[:, None]
        lin = params["log_hr"] * x + eta_cov
        hazard = params["scale"] * pt.sum(box["mbasis"] * coefs, axis=1)
        cumhaz = params["scale"] * pt.sum(box["ibasis"] * coefs, axis=1)
        return box["event"] * (pt.log(hazard) + lin) - cumhaz * pt.exp(lin)

    def _draw_vars(self) -> tuple[str, ...]:
        return ("scale", "coefs", "coefs_treatment") if self.nonph else ("scale", "coefs")

    def _knots_of(self, p: Draws) -> tuple[np.ndarray, float]:
        knots = p.get("knots", self.knots)
        boundary = p.get("boundary", self.boundary)
        if knots is None or boundary is None:
            raise BridgeBayesError("draws: no 'knots'/'boundary' (use posterior_draws(idata), "
                                   "or give knots and boundary to the family)")
        return np.atleast_1d(np.asarray(knots, float)), float(boundary)

    def _combination(self, p: dict, basis: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``sum_k p_k basis_k(t)`` per draw and time, ``(S, T)``."""
        value = np.einsum("sok,tk->st", p["coefs"], basis)
        if self.nonph:
            treated = np.einsum("sok,tk->st", p["coefs_treatment"], basis)
            value = np.where(x > 0, treated, value)
        return value

    def _log_cumhaz(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        _, i = mspline_basis(t[0], *self._knots_of(p), self.degree)
        return (np.log(p["scale"]) + np.log(self._combination(p, i, x)) + p["log_hr"] * x
                + eta_cov)

    def _log_hazard(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        m, _ = mspline_basis(t[0], *self._knots_of(p), self.degree)
        return (np.log(p["scale"]) + np.log(self._combination(p, m, x)) + p["log_hr"] * x
                + eta_cov)

    # -- optional hooks -------------------------------------------------------------------
    def hazard_ratio_effect(self) -> bool:
        return not self.nonph

    def decision_options(self, draws: Draws) -> dict[str, Any]:
        if not self.nonph:
            return {}
        _, boundary = self._knots_of(draws)
        return {"hr_component": f"cumulative hazard to {boundary:g} (non-PH spline)"}

    def baseline_variables(self) -> tuple[str, ...]:
        return ("scale", "coefs")

    def with_constants(self, draws: Draws) -> MSplinePH:
        if "knots" not in draws:
            return self
        return dataclasses.replace(self, knots=tuple(np.atleast_1d(draws["knots"]).tolist()),
                                   boundary=float(draws["boundary"]))

    def _baseline_prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if self.crude_rate is None or self.knots is None or self.boundary is None or self.nonph:
            return super()._baseline_prior_draws(n, rng)
        knots = np.asarray(self.knots, float)
        mean = np.log(constant_coefficients(knots, self.boundary, self.degree))
        log_scale = rng.normal(np.log(self.crude_rate * self.boundary), self.log_scale_sigma, n)
        sigma = rng.gamma(self.smooth_shape, 1.0 / self.smooth_rate, n)
        z = rng.normal(size=(n, mean.size - 1))
        gamma = np.column_stack([np.zeros(n), (mean[1:] - mean[0]) + sigma[:, None] * z])
        return {"scale": np.exp(log_scale), "log_scale": log_scale, "smooth_sigma": sigma,
                "coefs": softmax(gamma, axis=1), "knots": knots,
                "boundary": np.float64(self.boundary)}

    def _baseline_calibration_values(self, draws: Draws) -> dict[str, np.ndarray]:
        log_coefs = np.log(np.asarray(draws["coefs"], float))
        out = {"log_scale": np.log(np.asarray(draws["scale"], float)).ravel()}
        if "smooth_sigma" in draws:
            out["log_smooth_sigma"] = np.log(np.asarray(draws["smooth_sigma"], float)).ravel()
        return out | {f"log_coef_ratio[{k}]": log_coefs[:, k] - log_coefs[:, 0]
                      for k in range(1, log_coefs.shape[1])}


def _simplex(gamma: Any) -> Any:
    """``softmax((0, gamma))``: coefficients on the simplex, the first as reference."""
    import pytensor.tensor as pt

    full = pt.concatenate([pt.zeros(1), gamma])
    return pt.special.softmax(full)
