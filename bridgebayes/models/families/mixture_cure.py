"""Mixture cure model with a Weibull PH latency (``docs/engine.md``, "Mixture cure").

``S(t | x) = pi_x + (1 − pi_x) · S_u(t | x)``: a share ``pi_x`` of arm ``x`` is cured (never
has the event), the others follow the latency survival ``S_u = exp(−lam · t^k · HR^x)``.
The cure fraction has its own treatment effect on the logit scale,
``logit pi_1 = logit pi_0 + cure_log_or``.  In cumulative-hazard form, written once for
PyTensor and numpy:

    H(t) = −log1p(−(1 − pi) · (−expm1(−H_u(t))))
    log h(t) = log(1 − pi) + log h_u(t) − H_u(t) + H(t)

(``H`` is bounded by ``−log pi``: the cured never reach larger cumulative hazards, so
simulated event times are ``inf`` for them).  The latency is the package's Weibull family
(:class:`~bridgebayes.models.families.weibull.WeibullPH`, the same math and priors).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.special import expit

from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.families.base import SurvivalFamily
from bridgebayes.models.families.design import check_finite, check_positive
from bridgebayes.models.families.draws import Draws

if TYPE_CHECKING:  # PyMC is imported where a model is built: evaluating draws needs only numpy
    import pymc as pm
from bridgebayes.models.families.weibull import WeibullPH
from bridgebayes.summaries.cure import (
    PRIOR_DOMINATED_OVERLAP,
    UNCURED_AT_FOLLOWUP,
    narrowing,
    overlap,
)

__all__ = ["MixtureCurePH"]

#: Prior draws behind the prior columns of the cure-fraction decisions (fixed seed).
N_PRIOR_DRAWS = 20_000


@dataclass(frozen=True, kw_only=True)
class MixtureCurePH(SurvivalFamily):
    """Mixture cure model: a cure fraction per arm and a Weibull PH latency.

    Parameters
    ----------
    cure_a, cure_b
        Prior of the reference arm's cure fraction, ``pi_0 ~ Beta(cure_a, cure_b)``; the
        default ``Beta(1, 1)`` is uniform: no prior opinion on the cured share.
    cure_log_or_mu, cure_log_or_sigma
        Prior of the log odds ratio of cure (treatment vs reference),
        ``cure_log_or ~ Normal(mu, sigma)``; the default ``Normal(0, 1)`` is neutral (prior
        P(pi_1 > pi_0) = 1/2) and puts 95% of the odds ratio between 0.14 and 7.1.
    a0, log_k_mu, log_k_sigma, mean_time
        The latency's Weibull priors, as in :class:`~bridgebayes.models.families.weibull.
        WeibullPH`: ``log k ~ Normal(log_k_mu, log_k_sigma)`` and the uncured patients'
        reference-arm cumulative hazard at ``m`` (mean observed time, or ``mean_time``)
        ``~ Gamma(a0, a0)``.  The default ``a0 = 1`` (prior mean 1, an exponential prior)
        is less vague than the Weibull family's 0.1: with a cure fraction in the model, a
        latency prior that allows almost no events makes "cured" and "not yet failed"
        indistinguishable.
    log_hr_mu, log_hr_sigma
        Prior of the **latency** log HR (the uncured patients' hazard, treatment vs
        reference): the named log-HR sets apply to it.  A cure model has no HR of the whole
        hazard; the decision rows say so (component ``"uncured patients"``).
    covariates, beta_sigma
        Covariates act on the latency hazard (PH); the cure fractions depend on the arm only.

    Notes
    -----
    Variables: ``cure_reference`` (``pi_0``), ``cure_log_or``, ``cure_treatment`` (``pi_1``),
    the latency's ``log_k``, ``k``, ``cumhaz_mean_time``, ``lam``, ``aft_factor`` (of the
    latency), ``log_hr``, ``hr``.  The cure fraction is identified by the data only when
    follow-up extends past the uncured patients' survival times (Maller & Zhou 1996); the
    fit warns when its posterior is close to its prior (:meth:`guardrail_notes`).

    Examples
    --------
    >>> family = MixtureCurePH()
    >>> draws = {"log_hr": np.array([0.0]), "k": np.array([1.0]), "lam": np.array([0.1]),
    ...          "cure_reference": np.array([0.4]), "cure_log_or": np.array([0.0])}
    >>> family.survival(draws, [0.0, 1e4], 0).round(6).tolist()
    [[1.0, 0.4]]
    """

    name: ClassVar[str] = "mixture_cure"
    label: ClassVar[str] = "Mixture cure"
    description: ClassVar[str] = (
        "mixture cure model, S(t) = pi + (1 − pi) S_u(t) per arm (cure fraction of the "
        "reference arm ~ Beta({cure_a}, {cure_b}), log odds ratio of cure ~ Normal("
        "{cure_log_or_mu}, {cure_log_or_sigma})), with a Weibull proportional-hazards "
        "latency for the uncured (log shape ~ Normal({log_k_mu}, {log_k_sigma}); Gamma(a0 = "
        "{a0}) prior on their cumulative hazard at the mean observed time unless fixed)")

    cure_a: float = 1.0
    cure_b: float = 1.0
    cure_log_or_mu: float = 0.0
    cure_log_or_sigma: float = 1.0
    a0: float = 1.0
    log_k_mu: float = 0.0
    log_k_sigma: float = 1.0
    mean_time: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_finite(cure_log_or_mu=self.cure_log_or_mu)
        check_positive(cure_a=self.cure_a, cure_b=self.cure_b,
                       cure_log_or_sigma=self.cure_log_or_sigma)
        self.latency()  # validates the latency options

    def latency(self) -> WeibullPH:
        """The Weibull PH model of the uncured patients (same priors and covariates)."""
        return WeibullPH(a0=self.a0, log_k_mu=self.log_k_mu, log_k_sigma=self.log_k_sigma,
                         mean_time=self.mean_time, **self._log_hr_options(),
                         covariates=self.covariates,
                         beta_sigma=self.beta_sigma)

    def _family_arrays(self, data: EndpointData, model: pm.Model | None) -> dict[str, Any]:
        return self.latency()._family_arrays(data, model)

    def _parameters(self, box: dict, log_hr: Any) -> dict[str, Any]:
        import pymc as pm
        import pytensor.tensor as pt

        params = self.latency()._parameters(box, log_hr)
        pi0 = pm.Beta("cure_reference", alpha=self.cure_a, beta=self.cure_b)
        log_or = pm.Normal("cure_log_or", mu=self.cure_log_or_mu, sigma=self.cure_log_or_sigma)
        pm.Deterministic("cure_treatment", pt.sigmoid(pt.log(pi0) - pt.log1p(-pi0) + log_or))
        return params | {"cure_reference": pi0, "cure_log_or": log_or}

    def _draw_vars(self) -> tuple[str, ...]:
        return ("k", "lam", "cure_reference", "cure_log_or")

    def _log_cumhaz(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        cumhaz_u = xp.exp(self.latency()._log_cumhaz(p, t, x, eta_cov, xp=xp))
        return xp.log(-xp.log1p(-_uncured(p, x, xp) * -xp.expm1(-cumhaz_u)))

    def _log_hazard(self, p: dict, t: Any, x: Any, eta_cov: Any, *, xp: ModuleType = np) -> Any:
        latency = self.latency()
        cumhaz_u = xp.exp(latency._log_cumhaz(p, t, x, eta_cov, xp=xp))
        uncured = _uncured(p, x, xp)
        cumhaz = -xp.log1p(-uncured * -xp.expm1(-cumhaz_u))
        return (xp.log(uncured) + latency._log_hazard(p, t, x, eta_cov, xp=xp) - cumhaz_u
                + cumhaz)

    # -- optional hooks -----------------------------------------------------------------
    def hazard_ratio_effect(self) -> bool:
        return False

    def cure_fractions(self, draws: Draws) -> np.ndarray:
        """The cure fraction of each arm per draw, ``(n_draws, 2)`` (reference, treatment)."""
        pi0 = np.asarray(draws["cure_reference"], float).ravel()
        log_or = np.asarray(draws["cure_log_or"], float).ravel()
        return np.column_stack([pi0, expit(np.log(pi0) - np.log1p(-pi0) + log_or)])

    def prior_cure_fractions(self, n: int = N_PRIOR_DRAWS, *, seed: int = 0) -> np.ndarray:
        """``n`` draws of both arms' cure fractions from their prior, ``(n, 2)``."""
        rng = np.random.default_rng(seed)
        return self.cure_fractions(self._cure_prior_draws(n, rng))

    def uncured_survival(self, draws: Draws, followup: np.ndarray) -> np.ndarray:
        """Survival of the uncured patients of each arm at that arm's end of follow-up,
        ``(n_draws, 2)``: near 0 when follow-up extends past their survival times (the
        condition under which the data identify the cure fraction, Maller & Zhou 1996)."""
        latency = self.latency()
        return np.column_stack([latency.survival(draws, [followup[a]], a)[:, 0]
                                for a in (0, 1)])

    def decision_options(self, draws: Draws) -> dict[str, Any]:
        cure = {"posterior": self.cure_fractions(draws), "prior": self.prior_cure_fractions()}
        if {"time", "arm"} <= set(draws) and not self.covariates:  # the fit's data containers
            followup = _followup(draws["time"], draws["arm"])
            cure |= {"uncured_survival": self.uncured_survival(draws, followup),
                     "followup": followup}
        return {"cure": cure, "hr_component": "uncured patients"}

    def guardrail_notes(self, draws: Draws, data: EndpointData) -> tuple[str, ...]:
        """A note per arm whose cure fraction the data cannot identify: its posterior is
        close to its prior (overlap at least :data:`~bridgebayes.summaries.cure.
        PRIOR_DOMINATED_OVERLAP`), or the uncured patients are still event-free at the end
        of follow-up (posterior median survival above :data:`~bridgebayes.summaries.cure.
        UNCURED_AT_FOLLOWUP`), with the follow-up facts behind it."""
        post, prior = self.cure_fractions(draws), self.prior_cure_fractions()
        followup = _followup(data.time, data.arm)
        tail = (np.median(self.uncured_survival(draws, followup), axis=0)
                if not self.covariates else np.zeros(2))
        notes = []
        for a, arm in enumerate(data.arms):
            shared = overlap(prior[:, a], post[:, a])
            time = np.asarray(data.time)[np.asarray(data.arm) == a]
            if time.size == 0 or (shared < PRIOR_DOMINATED_OVERLAP
                                  and tail[a] <= UNCURED_AT_FOLLOWUP):
                continue
            event = np.asarray(data.event)[np.asarray(data.arm) == a] > 0
            last = float(time[event].max()) if event.any() else 0.0
            notes.append(
                f"{data.name}: the data cannot identify the cure fraction of arm {arm!r}: "
                f"its posterior shares {100 * shared:.0f}% of its mass with the prior "
                f"(interval {100 * narrowing(prior[:, a], post[:, a]):.0f}% narrower), and "
                f"an uncured patient is still event-free at the end of follow-up "
                f"({followup[a]:g} {data.time_unit}) with posterior median probability "
                f"{100 * tail[a]:.0f}%; last event at {last:g}, {int(np.sum(time > last))} "
                "patient(s) followed beyond it.  Without a plateau after the uncured "
                "patients' events (Maller & Zhou 1996) the cure fraction comes from the "
                "Weibull latency and the prior")
        return tuple(notes)

    def baseline_inverse(self, draws: Draws, target: np.ndarray) -> np.ndarray:
        """Closed form: the latency cumulative hazard ``H_u = −log1p(expm1(−target) /
        (1 − pi_0))`` inverted by the Weibull's; ``inf`` where ``target ≥ −log pi_0``
        (the cured)."""
        pi0 = np.reshape(np.asarray(draws["cure_reference"], float), (-1, 1))
        return self.latency().baseline_inverse(draws, _latency_target(target, pi0))

    def event_times(self, draws: Draws, unit_exp: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Closed form per arm: ``H_u(T) = −log1p(expm1(−E) / (1 − pi_x))`` on the latency's
        PH scale; ``inf`` for the cured."""
        x = np.asarray(x, float)
        uncured = 1.0 - self.cure_fractions(draws)[0][x.astype(int)]
        cumhaz_u = _latency_target(np.asarray(unit_exp, float), 1.0 - uncured)
        target = cumhaz_u * np.exp(-np.ravel(draws["log_hr"])[0] * x)
        return self.latency().baseline_inverse(draws, target[None, :])[0]

    def _cure_prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"cure_reference": rng.beta(self.cure_a, self.cure_b, n),
                "cure_log_or": rng.normal(self.cure_log_or_mu, self.cure_log_or_sigma, n)}

    def _baseline_prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.latency()._baseline_prior_draws(n, rng) | self._cure_prior_draws(n, rng)

    def _baseline_calibration_values(self, draws: Draws) -> dict[str, np.ndarray]:
        pi0 = np.asarray(draws["cure_reference"], float).ravel()
        return self.latency()._baseline_calibration_values(draws) | {
            "logit_cure_reference": np.log(pi0) - np.log1p(-pi0),
            "cure_log_or": np.asarray(draws["cure_log_or"], float).ravel()}


def _uncured(p: dict, x: Any, xp: ModuleType) -> Any:
    """``1 − pi_x`` from ``cure_reference`` and ``cure_log_or`` (logistic, stable)."""
    pi0 = p["cure_reference"]
    log_odds = xp.log(pi0) - xp.log1p(-pi0) + p["cure_log_or"] * x
    return expit(-log_odds) if xp is np else xp.sigmoid(-log_odds)


def _followup(time: np.ndarray, arm: np.ndarray) -> np.ndarray:
    """The last observed time of each arm, ``(2,)``."""
    time, arm = np.asarray(time, float), np.asarray(arm)
    return np.array([time[arm == a].max() if np.any(arm == a) else 0.0 for a in (0, 1)])


def _latency_target(target: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Latency cumulative hazard at which the mixture reaches ``target``; ``inf`` beyond
    the plateau ``−log pi``."""
    ratio = np.expm1(-np.asarray(target, float)) / (1.0 - pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ratio > -1.0, -np.log1p(np.maximum(ratio, -1.0)), np.inf)
