"""One coherent illness–death model from transplant: relapse, NRM, death after relapse.

States: 0 = alive in remission after transplant, 1 = relapsed, 2 = dead.  Transitions
(dim ``transition``): ``relapse`` (0→1), ``nrm`` (0→2, death without relapse) and
``post_relapse_death`` (1→2).  Each is a Weibull PH hazard with its own arm log HR and the
priors of :class:`~bridgebayes.models.families.WeibullPH` (``docs/engine.md``):
``H_j(t | x) = lam_j t^k_j exp(log_hr_j x)``, ``log k_j ~ Normal(0, 1)``,
``lam_j m_j^k_j ~ Gamma(a0, a0)`` with ``m_j`` the mean observed time of transition ``j``,
``log_hr_j ~ Normal(mu, sigma)``.

**Clock reset** (semi-Markov): the 1→2 hazard runs on time since relapse.  Death after an
ALL relapse is driven by the relapse and its salvage treatment, not by the time since
transplant, so time since relapse is the natural clock (Putter, Fiocco & Geskus, Stat Med
2007;26:2389); with few relapses it also avoids a left-truncated likelihood.  A death
recorded at the relapse time gets a sojourn of :data:`SOJOURN_FLOOR` (one day).

Likelihood (one ``pm.Potential``, dim ``patient``): for each patient the state-0 terms
``d01 log h01(T) + d02 log h02(T) − H01(T) − H02(T)`` at the first event or censoring time
``T``, plus for relapsed patients ``d12 log h12(s) − H12(s)`` at the sojourn ``s``.

From the same draws, per arm (:func:`state_probabilities`):
``PFS(t) = exp(−H01(t) − H02(t))``; relapse and NRM cumulative incidences
``∫ h0j PFS`` (:func:`bridgebayes.models.competing.cumulative_incidence`);
``P(relapsed and alive at t) = ∫_0^t h01(u) PFS(u) S12(t − u) du`` (cell masses of the relapse
CIF times ``S12`` at the cell mid-point); ``OS = PFS + P(relapsed and alive)``, so
``OS ≥ PFS`` holds draw by draw by construction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bridgebayes.core import provenance
from bridgebayes.core.errors import BridgeBayesError, describe_offenders
from bridgebayes.data.cohort import Cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.diagnostics import Gate, check
from bridgebayes.inference.fit import SamplerSettings
from bridgebayes.models.competing import cumulative_incidence, incidence_grid
from bridgebayes.models.exact import weibull_posterior
from bridgebayes.models.families import WeibullPH
from bridgebayes.models.families.design import check_finite, check_positive
from bridgebayes.summaries.decide import band_frame, credible_interval

__all__ = [
    "QUANTITIES",
    "SOJOURN_FLOOR",
    "TRANSITIONS",
    "IllnessDeathData",
    "IllnessDeathFit",
    "IllnessDeathModel",
    "IllnessDeathPosterior",
    "exact_illness_death",
    "fit_illness_death",
    "illness_death_data",
    "illness_death_from_times",
    "simulate_illness_death",
    "state_probabilities",
    "transition_data",
]

#: Transition names (dim ``transition``): 0→1, 0→2, 1→2.
TRANSITIONS = ("relapse", "nrm", "post_relapse_death")
#: Quantities of :func:`state_probabilities`.
QUANTITIES = ("os", "pfs", "relapse_cif", "nrm_cif", "relapsed_alive")
#: Sojourn (months) given to a death recorded at the relapse time: one day.
SOJOURN_FLOOR = 1.0 / 30.4375
_PARAMETERS = ("log_k", "cumhaz_mean_time", "log_hr", "k", "lam", "hr")


@dataclass(frozen=True)
class IllnessDeathData:
    """Per-patient illness–death histories (months from transplant).

    Attributes
    ----------
    ids, arm, arms
        Patient ids; arm 0 = reference, 1 = treatment; ``(reference, treatment)`` labels.
    time
        Time of leaving state 0 (relapse or death without relapse) or of censoring in it.
    first_event
        0 = censored in remission, 1 = relapse, 2 = death without relapse.
    sojourn
        Time from relapse to death or censoring (relapsed patients; NaN otherwise).
    death_after_relapse
        1 if a relapsed patient died, else 0.
    """

    ids: np.ndarray
    arm: np.ndarray
    arms: tuple[str, str]
    time: np.ndarray
    first_event: np.ndarray
    sojourn: np.ndarray
    death_after_relapse: np.ndarray

    @property
    def relapsed(self) -> np.ndarray:
        """Boolean mask of relapsed patients."""
        return self.first_event == 1

    def counts(self) -> pd.DataFrame:
        """Events per transition and arm: ``transition, arm, events, at_risk``."""
        rows = []
        for code, label in enumerate(self.arms):
            mask = self.arm == code
            rows += [("relapse", label, int(np.sum(self.first_event[mask] == 1)), int(mask.sum())),
                     ("nrm", label, int(np.sum(self.first_event[mask] == 2)), int(mask.sum())),
                     ("post_relapse_death", label,
                      int(np.sum(self.death_after_relapse[mask & self.relapsed])),
                      int(np.sum(mask & self.relapsed)))]
        return pd.DataFrame(rows, columns=["transition", "arm", "events", "at_risk"])


def illness_death_from_times(*, arm: Sequence[int], relapse: Sequence[float],
                             death: Sequence[float], followup: Sequence[float],
                             arms: tuple[str, str] = ("reference", "treatment"),
                             ids: Sequence[object] | None = None) -> IllnessDeathData:
    """Illness–death histories from relapse, death and follow-up times (NaN = no event).

    Parameters
    ----------
    arm
        0 = reference, 1 = treatment.
    relapse, death
        Event times (months from transplant), NaN if the event did not happen.
    followup
        Last follow-up (the death time for patients who died).
    arms, ids
        Arm labels; patient ids (default ``0..n-1``).

    Returns
    -------
    IllnessDeathData

    Examples
    --------
    >>> d = illness_death_from_times(arm=[0, 1], relapse=[3.0, np.nan], death=[7.0, np.nan],
    ...                              followup=[7.0, 12.0])
    >>> d.first_event.tolist(), d.sojourn.tolist(), d.death_after_relapse.tolist()
    ([1, 0], [4.0, nan], [1, 0])
    """
    arm_a = np.asarray(arm)
    relapse_a, death_a, follow = (np.asarray(a, float) for a in (relapse, death, followup))
    n = arm_a.size
    ids_a = np.arange(n) if ids is None else np.asarray(ids)
    if not all(a.shape == (n,) for a in (relapse_a, death_a, follow, ids_a)) or n == 0:
        raise BridgeBayesError("illness-death data: arm, relapse, death, followup and ids must "
                               "be 1-D and of the same positive length")
    checks = [
        ("arm", ~np.isin(arm_a, (0, 1)), arm_a, "expected 0 (reference) or 1 (treatment)"),
        ("followup", ~(np.isfinite(follow) & (follow > 0)), follow, "expected a time > 0"),
        ("relapse", ~np.isnan(relapse_a) & ~((relapse_a > 0) & (relapse_a <= follow)),
         relapse_a, "expected blank or a time in (0, followup]"),
        ("death", ~np.isnan(death_a) & ~(np.abs(death_a - follow) <= 1e-9 * follow),
         death_a, "expected blank or the follow-up time"),
    ]
    for column, bad, values, hint in checks:
        if bad.any():
            raise BridgeBayesError(f"{column}: {hint}; "
                                   + describe_offenders(list(ids_a[bad]), values[bad].tolist()))
    relapsed, died = ~np.isnan(relapse_a), ~np.isnan(death_a)
    time = np.where(relapsed, relapse_a, follow)
    first = np.where(relapsed, 1, np.where(died, 2, 0))
    sojourn = np.where(relapsed, np.maximum(follow - np.nan_to_num(relapse_a), SOJOURN_FLOOR),
                       np.nan)
    return IllnessDeathData(ids=ids_a, arm=arm_a.astype(int), arms=(arms[0], arms[1]), time=time,
                            first_event=first.astype(int), sojourn=sojourn,
                            death_after_relapse=(relapsed & died).astype(int))


def illness_death_data(cohort: Cohort) -> IllnessDeathData:
    """Illness–death histories of a :class:`~bridgebayes.data.cohort.Cohort` (columns ``followup,
    death, relapse``).

    Examples
    --------
    >>> data = illness_death_data(load_cohort(path, arms=("blina", "CAR-T")))  # doctest: +SKIP
    """
    table = cohort.table
    return illness_death_from_times(
        arm=(table["arm"].to_numpy() == cohort.arms[1]).astype(int),
        relapse=table["relapse"].to_numpy(float), death=table["death"].to_numpy(float),
        followup=table["followup"].to_numpy(float), arms=cohort.arms, ids=table["id"].to_numpy())


@dataclass(frozen=True, kw_only=True)
class IllnessDeathModel:
    """Weibull PH illness–death model (clock reset after relapse); see the module docstring.

    Parameters
    ----------
    log_hr_mu, log_hr_sigma
        Prior ``log_hr_j ~ Normal(mu, sigma)`` of every transition's arm effect.
    a0, log_k_mu, log_k_sigma
        Baseline priors as in :class:`~bridgebayes.models.families.WeibullPH`.
    mean_time
        Fixed prior scales ``m_j`` (months, one per transition) instead of the data's mean
        observed times: a prior that does not depend on the data (simulation-based
        calibration, or a prior fixed before the data are seen).  With fixed scales, data
        without any relapse are allowed: the ``post_relapse_death`` posterior is its prior.

    Examples
    --------
    >>> model = IllnessDeathModel(log_hr_sigma=0.42).build_model(data)  # doctest: +SKIP
    """

    log_hr_mu: float = 0.0
    log_hr_sigma: float = 1.0
    a0: float = 0.1
    log_k_mu: float = 0.0
    log_k_sigma: float = 1.0
    mean_time: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        check_finite(log_hr_mu=self.log_hr_mu, log_k_mu=self.log_k_mu)
        check_positive(log_hr_sigma=self.log_hr_sigma, a0=self.a0, log_k_sigma=self.log_k_sigma)
        if self.mean_time is not None:
            values = tuple(self.mean_time)
            if len(values) != len(TRANSITIONS):
                raise BridgeBayesError(f"mean_time: expected one value per transition "
                                       f"{TRANSITIONS}, got {self.mean_time!r}")
            check_positive(**{f"mean_time[{t}]": v for t, v in zip(TRANSITIONS, values,
                                                                   strict=True)})
            object.__setattr__(self, "mean_time", tuple(float(v) for v in values))

    def scales(self, data: IllnessDeathData) -> np.ndarray:
        """The prior scales ``m_j``: fixed (``mean_time``) or the data's mean observed times.

        Raises
        ------
        BridgeBayesError
            Data-derived scales and no relapse (``post_relapse_death`` has no scale).
        """
        if self.mean_time is not None:
            return np.asarray(self.mean_time, float)
        relapsed = data.relapsed
        if not relapsed.any():
            raise BridgeBayesError("illness-death data: no relapse, so death after relapse "
                                   "cannot be modelled; use bridgebayes.models.competing instead "
                                   "(or "
                                   "fixed prior scales, IllnessDeathModel(mean_time=...))")
        return np.array([data.time.mean(), data.time.mean(), data.sojourn[relapsed].mean()])

    def prior_draws(self, transition: str, n: int, rng: np.random.Generator
                    ) -> dict[str, np.ndarray]:
        """Draws of one transition's prior (fixed scales only): its posterior without data."""
        if self.mean_time is None:
            raise BridgeBayesError("prior_draws: needs fixed prior scales (mean_time)")
        m = self.mean_time[TRANSITIONS.index(transition)]
        log_hr = rng.normal(self.log_hr_mu, self.log_hr_sigma, n)
        k = np.exp(rng.normal(self.log_k_mu, self.log_k_sigma, n))
        log_lam = np.log(rng.gamma(self.a0, 1.0 / self.a0, n)) - k * np.log(m)
        return {"log_hr": log_hr, "hr": np.exp(log_hr), "k": k, "lam": np.exp(log_lam),
                "log_lam": log_lam}

    def build_model(self, data: IllnessDeathData) -> pm.Model:
        """The PyMC model (variables ``log_k, k, cumhaz_mean_time, lam, log_hr, hr``, dim
        ``transition``; likelihood ``loglik``, dim ``patient``)."""
        relapsed = data.relapsed
        mean_time = self.scales(data)
        coords = {"transition": list(TRANSITIONS), "patient": np.asarray(data.ids),
                  "relapsed_patient": np.asarray(data.ids)[relapsed]}
        with pm.Model(coords=coords) as model:
            arm = pm.Data("arm", data.arm.astype(float), dims="patient")
            time = pm.Data("time", data.time, dims="patient")
            d01 = pm.Data("relapse_event", (data.first_event == 1).astype(float), dims="patient")
            d02 = pm.Data("nrm_event", (data.first_event == 2).astype(float), dims="patient")
            m = pm.Data("mean_time", mean_time, dims="transition")
            log_k = pm.Normal("log_k", mu=self.log_k_mu, sigma=self.log_k_sigma, dims="transition")
            k = pm.Deterministic("k", pt.exp(log_k), dims="transition")
            cumhaz_m = pm.Gamma("cumhaz_mean_time", alpha=self.a0, beta=self.a0,
                                dims="transition")
            log_lam = pt.log(cumhaz_m) - k * pt.log(m)
            pm.Deterministic("lam", pt.exp(log_lam), dims="transition")
            log_hr = pm.Normal("log_hr", mu=self.log_hr_mu, sigma=self.log_hr_sigma,
                               dims="transition")
            pm.Deterministic("hr", pt.exp(log_hr), dims="transition")

            def term(j: int, t: pt.TensorVariable, x: pt.TensorVariable,
                     d: pt.TensorVariable) -> pt.TensorVariable:
                # where: no 0 · (−inf) for censored rows when lam underflows to 0
                eta, log_t = log_lam[j] + log_hr[j] * x, pt.log(t)
                log_h = eta + log_k[j] + (k[j] - 1) * log_t
                # log H is capped at 50 (H = 5e21: probability 0 of surviving), which keeps
                # NUTS' gradients and energies finite in far-out proposals during tuning
                return pt.where(d > 0, log_h, 0.0) - pt.exp(pt.minimum(eta + k[j] * log_t, 50.0))

            state0 = term(0, time, arm, d01) + term(1, time, arm, d02)
            if relapsed.any():  # else (fixed scales only) 1→2 has no data
                soj = pm.Data("sojourn", data.sojourn[relapsed], dims="relapsed_patient")
                d12 = pm.Data("sojourn_event", data.death_after_relapse[relapsed].astype(float),
                              dims="relapsed_patient")
                where = pm.Data("relapsed_index", np.flatnonzero(relapsed),
                                dims="relapsed_patient").astype("int64")
                state0 = pt.inc_subtensor(state0[where], term(2, soj, arm[where], d12))
            pm.Potential("loglik", state0, dims="patient")
        return model


def transition_draws(draws: dict[str, np.ndarray], transition: str) -> dict[str, np.ndarray]:
    """The draws of one transition in :class:`~bridgebayes.models.families.WeibullPH` form."""
    j = TRANSITIONS.index(transition)
    return {name: draws[name][:, j] for name in ("log_hr", "k", "lam", "log_lam") if name in draws}


def state_probabilities(draws: dict[str, np.ndarray], times: Sequence[float], arm: int, *,
                        n_grid: int = 200) -> dict[str, np.ndarray]:
    """OS, PFS, relapse and NRM cumulative incidence, P(relapsed and alive), per draw.

    Parameters
    ----------
    draws
        ``log_hr``, ``k``, ``lam`` with shape ``(n_draws, 3)`` (transitions in
        :data:`TRANSITIONS` order), e.g. ``IllnessDeathFit.draws()``.
    times
        Times (months, >= 0).
    arm
        0 = reference, 1 = treatment.
    n_grid
        Linear points of the integration grid on ``[0, t]`` for each ``t`` (plus log-spaced
        points near 0; second-order accurate, see :mod:`bridgebayes.models.competing`).

    Returns
    -------
    dict
        Each of :data:`QUANTITIES` -> ``(n_draws, n_times)``.

    Examples
    --------
    >>> draws = {"log_hr": np.zeros((1, 3)), "k": np.ones((1, 3)),
    ...          "lam": np.array([[0.02, 0.01, 0.1]])}
    >>> p = state_probabilities(draws, [12.0], 0)
    >>> bool(p["os"][0, 0] >= p["pfs"][0, 0])
    True
    """
    times = np.atleast_1d(np.asarray(times, float))
    if times.ndim != 1 or not np.all(np.isfinite(times) & (times >= 0)):
        raise BridgeBayesError(f"times: expected finite times >= 0, got {times}")
    if arm not in (0, 1):
        raise BridgeBayesError(f"arm: expected 0 (reference) or 1 (treatment), got {arm!r}")
    family = WeibullPH()
    per = {name: transition_draws(draws, name) for name in TRANSITIONS}
    n_draws = np.shape(draws["log_hr"])[0]
    out = {q: np.zeros((n_draws, times.size)) for q in QUANTITIES}
    base = incidence_grid(1.0, n_linear=n_grid, n_log=40)
    for i, t in enumerate(times):
        if t == 0:
            out["os"][:, i] = out["pfs"][:, i] = 1.0
            continue
        u = t * base
        cumhaz = np.zeros((2, n_draws, u.size))
        for j, name in enumerate(("relapse", "nrm")):
            cumhaz[j, :, 1:] = np.exp(family.log_cumhaz(per[name], u[1:], arm))
        cif = cumulative_incidence(cumhaz)
        mass = np.diff(cif[0], axis=-1)  # relapse probability per cell
        survive = family.survival(per["post_relapse_death"], t - (u[:-1] + u[1:]) / 2, arm)
        out["relapse_cif"][:, i], out["nrm_cif"][:, i] = cif[0, :, -1], cif[1, :, -1]
        out["pfs"][:, i] = np.exp(-cumhaz[:, :, -1].sum(axis=0))
        out["relapsed_alive"][:, i] = np.sum(mass * survive, axis=-1)
    out["os"] = out["pfs"] + out["relapsed_alive"]
    return out


@dataclass(frozen=True)
class IllnessDeathPosterior:
    """Posterior draws of the three transitions and what follows from them.

    Attributes
    ----------
    draws
        ``log_hr``, ``hr``, ``k``, ``lam`` (and, from the exact oracle, ``log_lam``), each
        ``(n_draws, 3)`` in :data:`TRANSITIONS` order.
    arms
        ``(reference, treatment)`` labels.

    Examples
    --------
    >>> post = exact_illness_death(illness_death_data(cohort), rng=1)  # doctest: +SKIP
    >>> post.decide(landmarks=(12.0, 24.0))  # doctest: +SKIP
    """

    draws: dict[str, np.ndarray]
    arms: tuple[str, str]

    def state_probabilities(self, times: Sequence[float], arm: int) -> dict[str, np.ndarray]:
        """:func:`state_probabilities` of these draws."""
        return state_probabilities(self.draws, times, arm)

    def transitions(self, *, ci: float = 0.95) -> pd.DataFrame:
        """Per transition: ``transition, parameter, estimate, lower, upper, probability``
        (``probability`` = P(HR < 1) on the ``hr`` rows)."""
        draws, rows = self.draws, []
        for j, name in enumerate(TRANSITIONS):
            for parameter in ("hr", "k", "lam"):
                med, lo, hi = credible_interval(draws[parameter][:, j], ci)
                p = float(np.mean(draws["hr"][:, j] < 1)) if parameter == "hr" else np.nan
                rows.append((name, parameter, med, lo, hi, p))
        return pd.DataFrame(rows, columns=["transition", "parameter", "estimate", "lower",
                                           "upper", "probability"])

    def curves(self, *, horizon: float, n_times: int = 61, ci: float = 0.95) -> pd.DataFrame:
        """Tidy curves: ``time, arm, quantity, median, lower, upper`` for :data:`QUANTITIES`."""
        times = np.linspace(0.0, float(horizon), int(n_times))
        frames = []
        for a, label in enumerate(self.arms):
            for quantity, values in self.state_probabilities(times, a).items():
                frames.append(band_frame(times, values, ci, arm=label, quantity=quantity))
        return pd.concat(frames, ignore_index=True)

    def decide(self, *, landmarks: Sequence[float] = (12.0, 24.0), nrm_delta: float = 0.05,
               joint_landmark: float = 24.0, ci: float = 0.95) -> pd.DataFrame:
        """Landmark table and joint statements from the same draws.

        Rows ``quantity, measure, arm, threshold, estimate, lower, upper, probability``:
        per quantity (OS, PFS, relapse/NRM CIF) and landmark, each arm and the difference
        (treatment − reference) with ``probability`` = P(treatment better): P(difference > 0)
        for OS and PFS, P(difference < 0) for the relapse and NRM CIFs; the cumulative
        hazard ratio of OS at ``joint_landmark``, ``log OS_trt / log OS_ref`` (OS is not PH
        under this model: this ratio equals the HR only if it were), with P(ratio < 1) =
        P(ΔOS > 0); and the joint probability P(ΔOS(t*) > 0 and ΔNRM(t*) < nrm_delta).
        """
        ref, trt = self.arms
        pair = f"{trt} - {ref}"
        at = np.unique(np.r_[np.asarray(landmarks, float), float(joint_landmark)])
        probs = [self.state_probabilities(at, a) for a in (0, 1)]
        rows = []
        for quantity in ("os", "pfs", "relapse_cif", "nrm_cif"):
            for j, t in enumerate(at):
                if t not in np.asarray(landmarks, float):
                    continue
                diff = probs[1][quantity][:, j] - probs[0][quantity][:, j]
                for label, values in ((ref, probs[0][quantity][:, j]),
                                      (trt, probs[1][quantity][:, j])):
                    rows.append(_row(quantity, "probability", label, t, values, ci))
                better = diff > 0 if quantity in ("os", "pfs") else diff < 0
                rows.append(_row(quantity, "difference", pair, t, diff, ci,
                                 float(np.mean(better))))
        j = int(np.searchsorted(at, joint_landmark))
        os_ref, os_trt = probs[0]["os"][:, j], probs[1]["os"][:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            cum_hr = np.log(os_trt) / np.log(os_ref)
        d_os = os_trt - os_ref
        d_nrm = probs[1]["nrm_cif"][:, j] - probs[0]["nrm_cif"][:, j]
        rows.append(_row("os", "cumulative hazard ratio", f"{trt} / {ref}", joint_landmark,
                         cum_hr, ci,
                         float(np.mean(cum_hr < 1))))
        rows.append(_row("os & nrm_cif", f"P(OS difference > 0 and NRM difference < {nrm_delta:g})",
                         pair, joint_landmark, None, ci,
                         float(np.mean((d_os > 0) & (d_nrm < nrm_delta)))))
        return pd.DataFrame(rows)



@dataclass(frozen=True)
class IllnessDeathFit:
    """A fitted illness–death model.

    Attributes
    ----------
    idata
        Posterior and sample stats; ``attrs`` carry seed, sampler, model settings, versions.
    model
        The :class:`IllnessDeathModel`.
    data
        The histories.
    gate
        Diagnostics gate (:func:`bridgebayes.inference.diagnostics.check`) of the final attempt.
    retried
        Whether the automatic retry was needed.
    """

    idata: az.InferenceData
    model: IllnessDeathModel
    data: IllnessDeathData
    gate: Gate
    retried: bool

    def draws(self) -> dict[str, np.ndarray]:
        """``log_hr``, ``hr``, ``k``, ``lam``, ``log_lam`` as ``(n_draws, 3)`` arrays (chains
        flattened; ``log_lam`` from the sampled scale, finite where ``lam`` underflows)."""
        post = self.idata.posterior
        out = {name: post[name].stack(sample=("chain", "draw")).transpose(
            "sample", "transition").to_numpy() for name in ("log_hr", "hr", "k", "lam",
                                                            "cumhaz_mean_time")}
        m = self.idata.constant_data["mean_time"].to_numpy()
        out["log_lam"] = np.log(out.pop("cumhaz_mean_time")) - out["k"] * np.log(m)[None, :]
        return out

    def posterior(self) -> IllnessDeathPosterior:
        """The draws with the quantities derived from them (OS, PFS, CIFs, decisions)."""
        return IllnessDeathPosterior(self.draws(), self.data.arms)

    def state_probabilities(self, times: Sequence[float], arm: int) -> dict[str, np.ndarray]:
        """See :meth:`IllnessDeathPosterior.state_probabilities`."""
        return self.posterior().state_probabilities(times, arm)

    def transitions(self, *, ci: float = 0.95) -> pd.DataFrame:
        """See :meth:`IllnessDeathPosterior.transitions`."""
        return self.posterior().transitions(ci=ci)

    def curves(self, *, horizon: float, n_times: int = 61, ci: float = 0.95) -> pd.DataFrame:
        """See :meth:`IllnessDeathPosterior.curves`."""
        return self.posterior().curves(horizon=horizon, n_times=n_times, ci=ci)

    def decide(self, *, landmarks: Sequence[float] = (12.0, 24.0), nrm_delta: float = 0.05,
               joint_landmark: float = 24.0, ci: float = 0.95) -> pd.DataFrame:
        """See :meth:`IllnessDeathPosterior.decide`."""
        return self.posterior().decide(landmarks=landmarks, nrm_delta=nrm_delta,
                                       joint_landmark=joint_landmark, ci=ci)


def transition_data(data: IllnessDeathData) -> dict[str, EndpointData]:
    """Single-event data per transition: the likelihood factorises over these three.

    ``relapse`` and ``nrm``: time in state 0 with the other exit censoring (cause-specific);
    ``post_relapse_death``: the relapsed patients' sojourns (clock reset).
    """
    r = data.relapsed
    base = {"arm": data.arm, "arms": data.arms, "ids": data.ids}
    return {
        "relapse": EndpointData(name="relapse", time=data.time,
                                event=(data.first_event == 1).astype(int), **base),
        "nrm": EndpointData(name="nrm", time=data.time, event=(data.first_event == 2).astype(int),
                            **base),
        "post_relapse_death": EndpointData(
            name="post_relapse_death", time=data.sojourn[r], event=data.death_after_relapse[r],
            arm=data.arm[r], arms=data.arms, ids=data.ids[r])}


def exact_illness_death(data: IllnessDeathData, model: IllnessDeathModel | None = None, *,
                        n_draws: int = 4000,
                        rng: np.random.Generator | int | None) -> IllnessDeathPosterior:
    """Exact posterior of the illness–death model, by the Weibull quadrature oracle per transition.

    The likelihood factorises over the transitions (:func:`transition_data`) and the priors
    are independent, with each transition's ``m_j`` equal to the oracle's mean observed time
    (or the model's fixed ``mean_time``), so the three exact Weibull posteriors
    (:func:`bridgebayes.models.exact.weibull_posterior`) form the exact joint posterior of
    :class:`IllnessDeathModel`: the test oracle of the NUTS fit and a fast path (no sampling,
    no diagnostics needed).

    Examples
    --------
    >>> post = exact_illness_death(illness_death_data(cohort), rng=1)  # doctest: +SKIP
    >>> bool(np.all(post.state_probabilities([24.0], 1)["os"] >= 0))  # doctest: +SKIP
    True
    """
    model = model or IllnessDeathModel()
    scales = model.scales(data)
    rng = np.random.default_rng(rng)
    per = []
    for j, (name, one) in enumerate(transition_data(data).items()):
        if one.time.size == 0:  # no relapse (fixed scales): the posterior is the prior
            per.append(model.prior_draws(name, n_draws, rng))
            continue
        post = weibull_posterior(one, log_hr_mu=model.log_hr_mu, log_hr_sigma=model.log_hr_sigma,
                                 log_k_mu=model.log_k_mu, log_k_sigma=model.log_k_sigma,
                                 a0=model.a0, mean_time=float(scales[j]))
        per.append(post.draws(n_draws, rng=rng))
    draws = {name: np.stack([p[name] for p in per], axis=1)
             for name in ("log_hr", "hr", "k", "lam", "log_lam")}
    return IllnessDeathPosterior(draws, data.arms)


def _row(quantity: str, measure: str, arm: str, threshold: float, draws: np.ndarray | None,
         ci: float, probability: float = np.nan) -> dict:
    med, lo, hi = ((np.nan,) * 3 if draws is None
                   else credible_interval(np.asarray(draws, float), ci))
    return {"quantity": quantity, "measure": measure, "arm": arm, "threshold": threshold,
            "estimate": med, "lower": lo, "upper": hi, "probability": probability}


def _sample(model: pm.Model, sampler: SamplerSettings, seed: int, *, tune: int,
            target_accept: float) -> az.InferenceData:
    return pm.sample(model=model, draws=sampler.draws, tune=tune, chains=sampler.chains,
                     cores=sampler.cores, target_accept=target_accept, random_seed=seed,
                     progressbar=False, compute_convergence_checks=False)


def fit_illness_death(data: IllnessDeathData, model: IllnessDeathModel | None = None, *,
                      seed: int, sampler: SamplerSettings | None = None,
                      retry: bool = True) -> IllnessDeathFit:
    """Fit the illness–death model with NUTS; gate it; retry once like
    ``bridgebayes.inference.fit``.

    Parameters
    ----------
    data
        Histories (:func:`illness_death_data` of a cohort).
    model
        Priors (default :class:`IllnessDeathModel()`).
    seed
        Random seed (the retry uses ``seed + 1``).
    sampler
        NUTS settings.
    retry
        Whether a fit failing the gate is retried once with ``sampler.retry_tune`` and
        ``sampler.retry_target_accept`` (``False``: quick looks; the gate is still reported).

    Returns
    -------
    IllnessDeathFit

    Examples
    --------
    >>> result = fit_illness_death(illness_death_data(cohort), seed=1)  # doctest: +SKIP
    >>> result.decide(landmarks=(12.0, 24.0))  # doctest: +SKIP
    """
    model = model or IllnessDeathModel()
    sampler = sampler or SamplerSettings()
    pm_model = model.build_model(data)
    idata = _sample(pm_model, sampler, seed, tune=sampler.tune,
                    target_accept=sampler.target_accept)
    gate, retried = check(idata, var_names=_PARAMETERS), False
    if retry and not gate.passed:
        retried = True
        idata = _sample(pm_model, sampler, seed + 1, tune=sampler.retry_tune,
                        target_accept=sampler.retry_target_accept)
        gate = check(idata, var_names=_PARAMETERS)
    idata.attrs.update({
        "seed": seed, "retried": int(retried), "gate_passed": int(gate.passed),
        "sampler": json.dumps(dataclasses.asdict(sampler)),
        "model": json.dumps({"name": "illness_death_weibull", "clock": "reset",
                             **dataclasses.asdict(model)}),
        "versions": json.dumps(provenance.versions()), "arms": json.dumps(list(data.arms))})
    return IllnessDeathFit(idata=idata, model=model, data=data, gate=gate, retried=retried)


def simulate_illness_death(*, n_per_arm: int, lam: Sequence[float], k: Sequence[float],
                           hr: Sequence[float], censor: tuple[float, float],
                           rng: np.random.Generator | int | None,
                           arms: tuple[str, str] = ("reference", "treatment")
                           ) -> IllnessDeathData:
    """Simulate the illness–death process (Weibull PH transitions, clock reset).

    Parameters
    ----------
    n_per_arm
        Patients per arm.
    lam, k, hr
        Per transition (:data:`TRANSITIONS` order): ``H_j(t | x) = lam_j t^k_j hr_j^x``.
    censor
        Uniform administrative censoring times ``(low, high)`` from transplant.
    rng
        Seed or generator.

    Returns
    -------
    IllnessDeathData

    Examples
    --------
    >>> d = simulate_illness_death(n_per_arm=5, lam=[0.02, 0.01, 0.1], k=[1, 1, 1],
    ...                            hr=[0.7, 1.0, 1.0], censor=(12, 36), rng=1)
    >>> d.arm.size
    10
    """
    rng = np.random.default_rng(rng)
    lam_a, k_a, hr_a = (np.asarray(v, float) for v in (lam, k, hr))
    if not all(v.shape == (3,) and np.all(np.isfinite(v) & (v > 0)) for v in (lam_a, k_a, hr_a)):
        raise BridgeBayesError("lam, k, hr: expected 3 positive values each (one per transition)")
    arm = np.repeat([0, 1], int(n_per_arm))

    def draw(j: int) -> np.ndarray:  # H_j(T) ~ Exp(1)
        rate = lam_a[j] * hr_a[j] ** arm
        return (rng.exponential(size=arm.size) / rate) ** (1.0 / k_a[j])

    t_relapse, t_nrm, t_after = draw(0), draw(1), draw(2)
    c = rng.uniform(*censor, arm.size)
    relapse = np.where((t_relapse < t_nrm) & (t_relapse <= c), t_relapse, np.nan)
    death_time = np.where(np.isnan(relapse), t_nrm, relapse + t_after)
    death = np.where(death_time <= c, death_time, np.nan)
    followup = np.where(np.isnan(death), c, death)
    return illness_death_from_times(arm=arm, relapse=relapse, death=death, followup=followup,
                                    arms=arms)
