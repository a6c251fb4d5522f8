"""The shared base of the survival families ("write the math, inherit the rest").

A family writes its baseline priors (``_parameters``) and ``_log_cumhaz``/``_log_hazard``
(and ``_family_arrays``/``_loglik`` if its likelihood is not per patient); the base does the
rest.  Optional hooks, each with a default: ``exact_posterior`` (an independent oracle),
``decision_options`` (family-specific decision quantities), ``baseline_inverse`` (closed-form
inversion for simulation), ``prior_draws`` and ``calibration_values`` (simulation-based
calibration).  Conventions and how to add a family: ``docs/engine.md``, ``docs/families.md``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bridgebayes.core.errors import BridgeBayesError, SpecError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families.design import (
    check_covariate_names,
    check_finite,
    check_positive,
    check_survival_data,
    covariate_arrays,
)
from bridgebayes.models.families.draws import Draws, evaluation_inputs
from bridgebayes.models.families.inversion import invert_log_cumhaz
from bridgebayes.models.log_hr_prior import LogHrPrior

if TYPE_CHECKING:  # PyMC is imported where a model is built: evaluating draws needs only numpy
    import pymc as pm

__all__ = ["SurvivalFamily"]


@dataclass(frozen=True, kw_only=True)
class SurvivalFamily(ABC):
    """A proportional-hazards survival model for two arms, optional numeric covariates.

    Hazard of a unit with arm ``x`` and standardised covariates ``z``:
    ``h(t) = h0(t) · exp(log_hr · x + z · beta)``; ``h0`` is written by the family.

    Parameters
    ----------
    log_hr_mu, log_hr_sigma
        Prior ``log_hr ~ Normal(log_hr_mu, log_hr_sigma)`` (treatment vs reference).
    log_hr_vague_weight, log_hr_vague_mu, log_hr_vague_sigma
        ``w > 0``: the robust mixture ``(1 - w) Normal(log_hr_mu, log_hr_sigma) + w Normal(
        log_hr_vague_mu, log_hr_vague_sigma)`` (``pm.NormalMixture``; vague sigma > sigma).
    covariates
        Numeric columns of ``EndpointData.covariates`` to adjust for.  Each is
        standardised with the data's mean and SD (stored as ``covariate_center`` /
        ``covariate_scale``) and gets a coefficient in ``beta`` (dim ``covariate``).
    beta_sigma
        Prior ``beta ~ Normal(0, beta_sigma)`` per standardised covariate.

    Notes
    -----
    Every data-dependent array, and the log-HR prior's ``mu``/``sigma`` (data
    ``log_hr_prior_mu``/``log_hr_prior_sigma``, see :meth:`prior_arrays`), is a ``pm.Data``
    container, so :meth:`set_data` refits new data of the same shape, or the same model
    under another named prior, without recompiling.  A *unit* (dim ``unit``) is a likelihood
    row: a patient, or an arm for arm-only piecewise-exponential models.  The likelihood
    is the ``pm.Potential`` ``loglik`` (dim ``unit``); per-patient values for LOO come
    from :meth:`log_likelihood`.  Variables: ``log_hr``, ``hr``, ``beta`` + the family's.
    """

    #: canonical name: the registry key, used in specs, file names, results and reports
    name: ClassVar[str]
    #: short reader-facing label (tables, figures)
    label: ClassVar[str]
    #: one methods sentence, formatted with the family's options (``str.format``)
    description: ClassVar[str]
    #: dims of the data containers (a family adds its own)
    data_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "arm": ("unit",), "time": ("unit",), "event": ("unit",),
        "covariates": ("unit", "covariate"), "covariate_center": ("covariate",),
        "covariate_scale": ("covariate",)}

    #: options whose values live in data containers (:meth:`prior_arrays`), not in the graph
    prior_fields: ClassVar[tuple[str, ...]] = (
        "log_hr_mu", "log_hr_sigma", "log_hr_vague_weight", "log_hr_vague_mu", "log_hr_vague_sigma")

    log_hr_mu: float = 0.0
    log_hr_sigma: float = 1.0
    log_hr_vague_weight: float = 0.0
    log_hr_vague_mu: float = 0.0
    log_hr_vague_sigma: float | None = None
    covariates: tuple[str, ...] = ()
    beta_sigma: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        check_finite(log_hr_mu=self.log_hr_mu)
        check_positive(log_hr_sigma=self.log_hr_sigma, beta_sigma=self.beta_sigma)
        check_covariate_names(self.covariates)
        self.log_hr_prior()  # the vague component's checks

    def log_hr_prior(self) -> LogHrPrior:
        """The prior on ``log_hr`` (a normal or the robust mixture) as one object."""
        return LogHrPrior(self.log_hr_mu, self.log_hr_sigma,
                          vague_weight=self.log_hr_vague_weight,
                          vague_mu=self.log_hr_vague_mu, vague_sigma=self.log_hr_vague_sigma)

    def _log_hr_options(self) -> dict[str, Any]:
        """The log-HR prior's options by name (for the oracles and sub-models)."""
        return {name: getattr(self, name) for name in SurvivalFamily.prior_fields}

    def build_model(self, data: EndpointData) -> pm.Model:
        """Build the PyMC model of ``data``.

        Examples
        --------
        >>> model = WeibullPH().build_model(data)  # doctest: +SKIP
        """
        import pymc as pm
        import pytensor.tensor as pt
        arrays = self.data_arrays(data)
        with pm.Model(coords=self.coords(data, arrays)) as model:
            box = {name: pm.Data(name, value, dims=self.data_dims.get(name))
                   for name, value in arrays.items()}
            log_hr = self.log_hr_prior().create(box)
            pm.Deterministic("hr", pt.exp(log_hr))
            eta_cov = pt.as_tensor(0.0)
            if self.covariates:
                beta = pm.Normal("beta", mu=0.0, sigma=self.beta_sigma, dims="covariate")
                eta_cov = pt.dot(box["covariates"], beta)
            params = {"log_hr": log_hr, **self._parameters(box, log_hr)}
            pm.Potential("loglik", self._loglik(params, box, eta_cov), dims="unit")
        return model

    def set_data(self, model: pm.Model, data: EndpointData) -> None:
        """Put new data into a model built by :meth:`build_model`, in place.

        Compiled functions (logp, NUTS) see the new data without recompiling.  Data-driven
        prior constants are recomputed from ``data`` and the log-HR prior is this family's;
        piecewise cut points are kept.

        Examples
        --------
        >>> family.set_data(model, new_data); logp(point)  # doctest: +SKIP
        """
        import pymc as pm
        arrays = self.data_arrays(data, model=model)
        names = {v.name for v in model.data_vars}  # a normal vs a mixture prior differ too
        if unknown := set(arrays) ^ (names & set(arrays) | {n for n in names if "hr_prior" in n}):
            raise BridgeBayesError(f"set_data: the model's data differ in {sorted(unknown)}; "
                                   f"was it built by this {type(self).__name__}?")
        pm.set_data(arrays, model=model, coords={"unit": self._unit_labels(data)})

    def data_arrays(self, data: EndpointData, *,
                    model: pm.Model | None = None) -> dict[str, np.ndarray]:
        """The values of every data container for ``data`` (``model``: keep its cut points)."""
        check_survival_data(data)
        arrays = {"arm": np.asarray(data.arm, float), **covariate_arrays(data, self.covariates)}
        return arrays | self._family_arrays(data, model) | self.prior_arrays()

    def prior_arrays(self) -> dict[str, np.ndarray]:
        """The prior constants held in data containers (they differ between named priors).

        One compiled model then serves every prior: a refit under another prior only
        changes these values (:meth:`set_data` or a compiled model's ``with_data``).

        Examples
        --------
        >>> from bridgebayes.models.families import WeibullPH
        >>> {k: float(v) for k, v in WeibullPH(log_hr_sigma=0.42).prior_arrays().items()}
        {'log_hr_prior_mu': 0.0, 'log_hr_prior_sigma': 0.42}
        """
        return self.log_hr_prior().arrays()

    def coords(self, data: EndpointData, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """Coordinates of the model's dims (``unit``, ``covariate``, the family's own).

        ``arrays`` are :meth:`data_arrays` of ``data`` (they fix e.g. the interval labels).
        """
        return {"unit": self._unit_labels(data), "covariate": list(self.covariates),
                **self._coords(arrays)}

    def _family_arrays(self, data: EndpointData, model: pm.Model | None) -> dict[str, Any]:
        return {"time": np.asarray(data.time, float), "event": np.asarray(data.event, float)}

    def _unit_labels(self, data: EndpointData) -> np.ndarray:
        return np.asarray(data.ids)

    def _coords(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {}  # extra coords (e.g. intervals)

    def _loglik(self, params: dict, box: dict, eta_cov: Any) -> Any:
        """Per-patient ``event · log h(t) − H(t)``, from the family's math."""
        import pytensor.tensor as pt
        t, x = box["time"], box["arm"]
        log_h = self._log_hazard(params, t, x, eta_cov, xp=pt)
        return box["event"] * log_h - pt.exp(self._log_cumhaz(params, t, x, eta_cov, xp=pt))

    @abstractmethod
    def _parameters(self, box: dict, log_hr: Any) -> dict[str, Any]:
        """Create the baseline variables (inside the model); return those the math uses."""

    @abstractmethod
    def _log_cumhaz(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        """log H(t); numpy shapes: ``p`` values ``(S, 1, …)``, ``t``/``x`` ``(1, T)``."""

    @abstractmethod
    def _log_hazard(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        """log h(t), same shapes as :meth:`_log_cumhaz`."""

    @abstractmethod
    def _draw_vars(self) -> tuple[str, ...]:
        """Posterior variables the numpy functions read (besides ``log_hr`` and ``beta``)."""

    # -- optional hooks (defaults below; a family overrides what it can do better) ----------
    def describe(self) -> str:
        """The methods sentence of this family with its options filled in.

        Examples
        --------
        >>> from bridgebayes.models.families import WeibullPH
        >>> WeibullPH().describe().startswith("Weibull")
        True
        """
        return self.description.format(**dataclasses.asdict(self))

    def options(self) -> dict[str, Any]:
        """The options as a TOML-ready table (tuples as lists, ``None`` left out); the
        inverse of :meth:`from_options`.

        Examples
        --------
        >>> from bridgebayes.models.families import WeibullPH
        >>> WeibullPH.from_options(WeibullPH(a0=0.5).options()) == WeibullPH(a0=0.5)
        True
        """
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_options(cls, table: Mapping[str, Any], *, where: str = "family") -> SurvivalFamily:
        """The family with the options of a spec table; unknown keys raise :class:`SpecError`
        naming ``where``."""
        known = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(table) - known):
            raise SpecError(f"{where}: unknown option(s) {unknown} of family {cls.name!r}; "
                            f"allowed: {sorted(known)}")
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})
        except BridgeBayesError as exc:
            raise SpecError(f"{where}: {exc}") from None

    def has_exact_posterior(self) -> bool:
        """Whether :meth:`exact_posterior` covers these options."""
        return False

    def exact_posterior(self, data: EndpointData) -> Any:
        """The exact posterior of this model of ``data`` (an independent oracle), as an
        :class:`~bridgebayes.models.exact.ExactPosterior`; families without one raise."""
        raise BridgeBayesError(f"family {self.name!r}: no exact posterior for these options "
                               f"({type(self).__name__})")

    def decision_options(self, draws: Draws) -> dict[str, Any]:
        """Family-specific keyword arguments of :func:`bridgebayes.summaries.decide.decide`
        for these draws (e.g. the Weibull AFT factor as an ``extra`` quantity)."""
        return {}

    def baseline_inverse(self, draws: Draws, target: np.ndarray) -> np.ndarray:
        """Times at which the reference-arm cumulative hazard (no covariates) reaches
        ``target``, shape ``(n_draws, n)``; ``inf`` where it never does.

        The default inverts :meth:`log_cumhaz` numerically (bisection in log time); families
        with a closed form override it.
        """
        return invert_log_cumhaz(lambda t: self.log_cumhaz(draws, t, 0), target)

    def event_times(self, draws: Draws, unit_exp: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Event times of units with arm ``x`` from standard exponential variates
        ``unit_exp`` (``H(T) = E``): for PH families ``H0(T) = E / HR^x``; otherwise each
        arm's own cumulative hazard is inverted (``inf`` where it stays below ``E``: cured).

        ``draws`` hold one draw (leading axis 1); returns shape ``(n,)``.
        """
        unit_exp, x = np.asarray(unit_exp, float), np.asarray(x, float)
        if not self.hazard_ratio_effect():
            out = np.empty(unit_exp.shape)
            for arm in np.unique(x):
                members = x == arm
                out[members] = invert_log_cumhaz(lambda t, a=arm: self.log_cumhaz(draws, t, a),
                                                 unit_exp[members][None, :])[0]
            return out
        target = unit_exp * np.exp(-np.ravel(draws["log_hr"])[0] * x)
        return self.baseline_inverse(draws, target[None, :])[0]

    def hazard_ratio_effect(self) -> bool:
        """Whether the treatment arm's hazard is the reference hazard times the
        piecewise-constant HR of :meth:`effect_pieces` (PH families: one piece).  ``False``
        for models whose effect is not a hazard ratio on the whole hazard (a cure fraction
        per arm, a non-PH spline): planning then approximates them on a time grid, and the
        ``hr`` decision rows name the part of the model the HR is about (their
        ``component``, from :meth:`decision_options`).
        """
        return True

    def guardrail_notes(self, draws: Draws, data: EndpointData) -> tuple[str, ...]:
        """Family-specific small-sample warnings for a fit of ``data`` (e.g. a cure fraction
        the data cannot identify); :func:`bridgebayes.inference.fit.fit` adds them to the
        general ones (few events, prior-dominated log HR).  Default: none."""
        return ()

    def prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` draws of the parameters from the prior (the posterior-draw format).

        Only for priors that do not depend on the data (fixed baseline scales): the truths of
        simulation-based calibration.  ``log_hr`` is drawn first, then the baseline.
        """
        log_hr = self.log_hr_prior().sample(rng, n)
        return {"log_hr": log_hr, "hr": np.exp(log_hr), **self._baseline_prior_draws(n, rng)}

    def _baseline_prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise BridgeBayesError(f"family {self.name!r}: prior draws need a prior that does not "
                               "depend on the data (fixed baseline scale)")

    def calibration_values(self, draws: Draws) -> dict[str, np.ndarray]:
        """The unconstrained parameters ranked by simulation-based calibration, one value per
        draw (``log_hr`` and the family's baseline parameters)."""
        return {"log_hr": np.asarray(draws["log_hr"], float).ravel(),
                **self._baseline_calibration_values(draws)}

    def _baseline_calibration_values(self, draws: Draws) -> dict[str, np.ndarray]:
        return {}

    def baseline_variables(self) -> tuple[str, ...]:
        """Names of the baseline parameters in the draws (besides ``log_hr`` and ``beta``)."""
        return self._draw_vars()

    def with_constants(self, draws: Draws) -> SurvivalFamily:
        """This family with the constants stored beside the draws fixed as options (e.g. the
        PEM cut points a fit chose from its data), so that the family evaluates the draws
        without them."""
        return self

    def effect_pieces(self, draws: Draws) -> tuple[np.ndarray, np.ndarray]:
        """The treatment effect as piecewise-constant log HRs ``(n_draws, K)`` and their
        ``K - 1`` change points (proportional hazards: one piece).  Families whose effect is
        not a hazard ratio (:meth:`hazard_ratio_effect`) raise."""
        if not self.hazard_ratio_effect():
            raise BridgeBayesError(f"family {self.name!r}: the treatment effect is not a hazard "
                                   "ratio on the whole hazard; approximate the arms' hazards "
                                   "on a time grid instead (as planning does: "
                                   "bridgebayes.plan.design_prior.piecewise_design_prior)")
        return np.asarray(draws["log_hr"], float).reshape(-1, 1), np.empty(0)

    def cumhaz_rows(self, draws: Draws, t: np.ndarray) -> np.ndarray:
        """Reference-arm cumulative hazard (no covariates) at per-draw times ``t`` of shape
        ``(n_draws, n)`` (draw ``s`` at ``t[s]``): for simulating many trials at once."""
        p, _, _, _ = self._prepare(draws, [1.0], 0, None)
        t = np.asarray(t, float)
        with np.errstate(divide="ignore"):
            return np.exp(self._log_cumhaz(p, t, np.zeros_like(t), np.zeros((1, 1))))

    def parameter_draws(self, draws: Draws) -> dict[str, np.ndarray]:
        """The family's own parameters (besides ``log_hr``) one value per draw, by name
        (vector parameters one entry per element, ``"lambda[0]"``): for parameter tables."""
        out = {}
        for name in self.baseline_variables():
            values = np.asarray(draws[name], float)
            if values.ndim == 1:
                out[name] = values
            else:
                out |= {f"{name}[{j}]": values[:, j] for j in range(values.shape[1])}
        return out

    def log_cumhaz(self, draws: Draws, t: Any, x: Any, *, covariates: Any = None) -> np.ndarray:
        """Log cumulative hazard, shape ``(n_draws, n_times)``.

        Parameters
        ----------
        draws
            Posterior draws (``posterior_draws(idata)`` or the exact oracle's).
        t, x
            Times (months, >= 0; scalar or 1-D) and arm (0 = reference, 1 = treatment;
            scalar or one per time).
        covariates
            Raw covariate values, ``(n_covariates,)`` or one row per time; default the
            data mean (``covariate_center``).

        Examples
        --------
        >>> from bridgebayes.models.families import WeibullPH
        >>> WeibullPH().log_cumhaz({"log_hr": [0.0], "k": [1.0], "lam": [1.0]}, [2.0], 0)
        array([[0.69314718]])
        """
        with np.errstate(divide="ignore"):
            return self._log_cumhaz(*self._prepare(draws, t, x, covariates))

    def survival(self, draws: Draws, t: Any, x: Any, *, covariates: Any = None) -> np.ndarray:
        """Survival ``S(t) = exp(−H(t))``, shape ``(n_draws, n_times)``; see :meth:`log_cumhaz`."""
        return np.exp(-np.exp(self.log_cumhaz(draws, t, x, covariates=covariates)))

    def hazard(self, draws: Draws, t: Any, x: Any, *, covariates: Any = None) -> np.ndarray:
        """Hazard ``h(t)``, shape ``(n_draws, n_times)``; see :meth:`log_cumhaz`."""
        with np.errstate(divide="ignore"):
            return np.exp(self._log_hazard(*self._prepare(draws, t, x, covariates)))

    def log_likelihood(self, draws: Draws, data: EndpointData) -> np.ndarray:
        """Per-patient log-likelihood ``event · log h(t) − H(t)``, shape ``(n_draws, n)``."""
        check_survival_data(data)
        raw = data.covariates[list(self.covariates)].to_numpy(float) if self.covariates else None
        args = self._prepare(draws, data.time, data.arm, raw)
        with np.errstate(divide="ignore"):
            log_h, log_cumhaz = self._log_hazard(*args), self._log_cumhaz(*args)
        return np.where(np.asarray(data.event) > 0, log_h, 0.0) - np.exp(log_cumhaz)

    def _prepare(self, draws: Draws, t: Any, x: Any, covariates: Any) -> tuple:
        per_draw = ("log_hr", *self._draw_vars(), *(("beta",) if self.covariates else ()))
        return evaluation_inputs(draws, t, x, covariates, per_draw=per_draw,
                                 adjusted=bool(self.covariates))
