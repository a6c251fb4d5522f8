"""The illness–death model: one survival family per transition, and what follows from it.

Each transition ``j`` has its own proportional-hazards family from the registry (Weibull, PEM
with its own cut points, ...) with its own arm log HR, fitted to that transition's data
(:func:`~bridgebayes.models.illness_death.data.transition_data`).  The likelihood factorises
over the transitions and the priors are independent, so the joint posterior is the product of
the three posteriors: the exact oracle per transition (:func:`exact_illness_death`) or one
NUTS fit per transition (:func:`bridgebayes.inference.multistate.fit_illness_death`), with
draws paired by index.

From the same draws, per arm (:func:`state_probabilities`): ``PFS(t) = exp(−H01(t) − H02(t))``;
relapse and NRM cumulative incidences ``∫ h0j PFS``
(:func:`bridgebayes.models.competing.cumulative_incidence`);
``P(relapsed and alive at t) = ∫_0^t h01(u) PFS(u) S12(t − u) du`` (cell masses of the relapse
CIF times ``S12`` at the cell mid-point); ``OS = PFS + P(relapsed and alive)``, so ``OS ≥ PFS``
holds draw by draw by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.competing.incidence import cumulative_incidence, incidence_grid
from bridgebayes.models.families import SurvivalFamily, WeibullPH
from bridgebayes.models.families.draws import Draws
from bridgebayes.models.illness_death.data import (
    TRANSITIONS,
    IllnessDeathData,
    transition_data,
)
from bridgebayes.summaries.decide import band_frame
from bridgebayes.summaries.decision import CURVE_COLUMNS, Decision, new_row, table
from bridgebayes.summaries.rows import credible_interval, draw_row, mcse_of_mean

__all__ = ["QUANTITIES", "IllnessDeathModel", "IllnessDeathPosterior", "exact_illness_death",
           "state_probabilities"]

#: Quantities of :func:`state_probabilities`.
QUANTITIES = ("os", "pfs", "relapse_cif", "nrm_cif", "relapsed_alive")


@dataclass(frozen=True)
class IllnessDeathModel:
    """One survival family per transition (priors and options in each family).

    Examples
    --------
    >>> from bridgebayes.models.families import PiecewiseExponentialPH
    >>> model = IllnessDeathModel.with_family(PiecewiseExponentialPH(n_intervals=2))
    >>> sorted(model.families())
    ['nrm', 'post_relapse_death', 'relapse']
    """

    relapse: SurvivalFamily = field(default_factory=WeibullPH)
    nrm: SurvivalFamily = field(default_factory=WeibullPH)
    post_relapse_death: SurvivalFamily = field(default_factory=WeibullPH)

    def __post_init__(self) -> None:
        for name, family in self.families().items():
            if not isinstance(family, SurvivalFamily):
                raise BridgeBayesError(f"illness-death model: {name}: expected a survival "
                                       f"family, got {family!r}")

    @classmethod
    def with_family(cls, family: SurvivalFamily) -> IllnessDeathModel:
        """The same family (and priors) for every transition."""
        return cls(relapse=family, nrm=family, post_relapse_death=family)

    def families(self) -> dict[str, SurvivalFamily]:
        """Transition name -> family, in :data:`TRANSITIONS` order."""
        return {name: getattr(self, name) for name in TRANSITIONS}

    def describe(self) -> str:
        """Which families model the transitions, for methods text."""
        labels = {f.label for f in self.families().values()}
        if len(labels) == 1:
            return f"{labels.pop()} transitions"
        return ", ".join(f"{name}: {f.label}" for name, f in self.families().items())


def state_probabilities(families: Mapping[str, SurvivalFamily], draws: Mapping[str, Draws],
                        times: Sequence[float], arm: int, *,
                        n_grid: int = 200) -> dict[str, np.ndarray]:
    """OS, PFS, relapse and NRM cumulative incidence, P(relapsed and alive), per draw.

    Parameters
    ----------
    families, draws
        Per transition (:data:`TRANSITIONS`): the family and its posterior draws (paired by
        index across transitions).
    times
        Times (>= 0).
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
    >>> w = WeibullPH()
    >>> one = lambda lam: {"log_hr": np.zeros(1), "k": np.ones(1), "lam": np.array([lam])}
    >>> p = state_probabilities(dict.fromkeys(TRANSITIONS, w),
    ...                         {"relapse": one(0.02), "nrm": one(0.01),
    ...                          "post_relapse_death": one(0.1)}, [12.0], 0)
    >>> bool(p["os"][0, 0] >= p["pfs"][0, 0])
    True
    """
    times = np.atleast_1d(np.asarray(times, float))
    if times.ndim != 1 or not np.all(np.isfinite(times) & (times >= 0)):
        raise BridgeBayesError(f"times: expected finite times >= 0, got {times}")
    if arm not in (0, 1):
        raise BridgeBayesError(f"arm: expected 0 (reference) or 1 (treatment), got {arm!r}")
    n_draws = np.shape(draws["relapse"]["log_hr"])[0]
    out = {q: np.zeros((n_draws, times.size)) for q in QUANTITIES}
    base = incidence_grid(1.0, n_linear=n_grid, n_log=40)
    for i, t in enumerate(times):
        if t == 0:
            out["os"][:, i] = out["pfs"][:, i] = 1.0
            continue
        u = t * base
        cumhaz = np.zeros((2, n_draws, u.size))
        for j, name in enumerate(("relapse", "nrm")):
            cumhaz[j, :, 1:] = np.exp(families[name].log_cumhaz(draws[name], u[1:], arm))
        cif = cumulative_incidence(cumhaz)
        mass = np.diff(cif[0], axis=-1)  # relapse probability per cell
        survive = families["post_relapse_death"].survival(draws["post_relapse_death"],
                                                          t - (u[:-1] + u[1:]) / 2, arm)
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
    model
        The families of the transitions.
    draws
        Transition name -> posterior draws of its family (paired by index).
    arms
        ``(reference, treatment)`` labels.
    chains
        Chains the draws come from (1 for exact, independent draws): for the MCSE.
    gate_passed
        Whether every NUTS fit passed its diagnostics gate (exact: True).
    fits
        The NUTS fits by transition (empty for exact draws).

    Examples
    --------
    >>> post = exact_illness_death(illness_death_data(cohort), rng=1)  # doctest: +SKIP
    >>> post.decide(landmarks=(12.0, 24.0))  # doctest: +SKIP
    """

    model: IllnessDeathModel
    draws: Mapping[str, Draws]
    arms: tuple[str, str]
    chains: int = 1
    gate_passed: bool = True
    fits: Mapping[str, Any] = field(default_factory=dict)

    def state_probabilities(self, times: Sequence[float], arm: int) -> dict[str, np.ndarray]:
        """:func:`state_probabilities` of these draws."""
        return state_probabilities(self.model.families(), self.draws, times, arm)

    def transitions(self, *, ci: float = 0.95) -> pd.DataFrame:
        """Parameter summary per transition: ``transition, parameter, estimate, lower, upper,
        probability`` (``probability`` = P(HR < 1) on the ``hr`` rows)."""
        rows = []
        for name, family in self.model.families().items():
            draws = self.draws[name]
            hr = np.exp(np.asarray(draws["log_hr"], float))
            rows.append((name, "hr", *credible_interval(hr, ci), float(np.mean(hr < 1))))
            for parameter, values in family.parameter_draws(draws).items():
                rows.append((name, parameter, *credible_interval(values, ci), np.nan))
        return pd.DataFrame(rows, columns=["transition", "parameter", "estimate", "lower",
                                           "upper", "probability"])

    def curves(self, *, horizon: float, n_times: int = 61, ci: float = 0.95) -> pd.DataFrame:
        """Tidy curves (:data:`~bridgebayes.summaries.decision.CURVE_COLUMNS`, ``component``
        one of :data:`QUANTITIES`)."""
        times = np.linspace(0.0, float(horizon), int(n_times))
        frames = []
        for a, label in enumerate(self.arms):
            for quantity, values in self.state_probabilities(times, a).items():
                frames.append(band_frame(times, values, ci, arm=label, component=quantity))
        return pd.concat(frames, ignore_index=True)[list(CURVE_COLUMNS)]

    def decide(self, *, landmarks: Sequence[float] = (12.0, 24.0), nrm_delta: float = 0.05,
               joint_landmark: float = 24.0, ci: float = 0.95, time_unit: str = "months",
               followup: float | None = None) -> Decision:
        """Landmark rows and joint statements from the same draws.

        Per quantity (OS, PFS, relapse/NRM CIF; ``component``) and landmark: each arm
        (``state_probability``), the difference treatment − reference
        (``state_difference``) and P(treatment better) (``prob_state_better``: difference
        > 0 for OS and PFS, < 0 for the relapse and NRM CIFs); the cumulative hazard ratio of
        OS at ``joint_landmark``, ``log OS_trt / log OS_ref`` (OS is not PH under this
        model: this ratio equals the HR only if it were), with P(ratio < 1) = P(ΔOS > 0); and
        the joint probability P(ΔOS(t*) > 0 and ΔNRM(t*) < nrm_delta) (``prob_joint``).
        """
        ref, trt = self.arms
        pair, chains = f"{trt} - {ref}", self.chains
        marks = np.asarray(landmarks, float)
        at = np.unique(np.r_[marks, float(joint_landmark)])
        probs = [self.state_probabilities(at, a) for a in (0, 1)]
        rows = []
        for quantity in ("os", "pfs", "relapse_cif", "nrm_cif"):
            for j, t in enumerate(at):
                if t not in marks:
                    continue
                for a in (0, 1):
                    rows.append(draw_row("state_probability", probs[a][quantity][:, j], ci,
                                         chains=chains, component=quantity, arm=self.arms[a],
                                         time=t))
                diff = probs[1][quantity][:, j] - probs[0][quantity][:, j]
                rows.append(draw_row("state_difference", diff, ci, chains=chains,
                                     component=quantity, arm=pair, time=t))
                better = diff > 0 if quantity in ("os", "pfs") else diff < 0
                rows.append(new_row("prob_state_better", component=quantity, arm=pair, time=t,
                                    threshold=0.0, probability=float(np.mean(better)),
                                    mcse=mcse_of_mean(better, chains)))
        j = int(np.searchsorted(at, joint_landmark))
        os_ref, os_trt = probs[0]["os"][:, j], probs[1]["os"][:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            cum_hr = np.log(os_trt) / np.log(os_ref)
        d_os = os_trt - os_ref
        d_nrm = probs[1]["nrm_cif"][:, j] - probs[0]["nrm_cif"][:, j]
        t_star = float(joint_landmark)
        rows.append(draw_row("cumulative_hazard_ratio", cum_hr, ci, chains=chains,
                             component="os", arm=f"{trt} / {ref}", time=t_star))
        rows.append(new_row("prob_cumulative_hazard_ratio_below", component="os",
                            arm=f"{trt} / {ref}", time=t_star, threshold=1.0,
                            probability=float(np.mean(cum_hr < 1)),
                            mcse=mcse_of_mean(cum_hr < 1, chains)))
        joint = (d_os > 0) & (d_nrm < nrm_delta)
        rows.append(new_row("prob_joint", component="os & nrm_cif", arm=pair, time=t_star,
                            threshold=float(nrm_delta), probability=float(np.mean(joint)),
                            mcse=mcse_of_mean(joint, chains)))
        frame = table(rows, analysis="illness_death", time_unit=time_unit,
                      gate_passed=self.gate_passed)
        if followup is not None:
            frame["extrapolated"] = frame["time"] > float(followup)
        sentence = (f"Illness–death model ({self.model.describe()}, clock reset after relapse): "
                    "OS, PFS, relapse and NRM come from the same posterior draws, so OS >= PFS "
                    "in every draw.")
        return Decision(frame, sentences=(sentence,))


def exact_illness_death(data: IllnessDeathData, model: IllnessDeathModel | None = None, *,
                        n_draws: int = 4000,
                        rng: np.random.Generator | int | None) -> IllnessDeathPosterior:
    """Exact posterior of the illness–death model, by each transition family's exact oracle.

    The likelihood factorises over the transitions and the priors are independent, so the
    three exact posteriors form the exact joint posterior: the test oracle of the NUTS fits
    and a fast path (no sampling, no diagnostics needed).  A transition without data (no
    relapse) has its prior as posterior, which needs a prior that does not depend on the
    data (a fixed baseline scale in its family).

    Examples
    --------
    >>> post = exact_illness_death(illness_death_data(cohort), rng=1)  # doctest: +SKIP
    >>> bool(np.all(post.state_probabilities([24.0], 1)["os"] >= 0))  # doctest: +SKIP
    True
    """
    model = model or IllnessDeathModel()
    rng = np.random.default_rng(rng)
    draws = {}
    for name, one in transition_data(data).items():
        family = getattr(model, name)
        draws[name] = (family.exact_posterior(one).draws(n_draws, rng=rng) if one.time.size
                       else prior_for_empty(family, name, n_draws, rng))
    return IllnessDeathPosterior(model, draws, data.arms)


def prior_for_empty(family: SurvivalFamily, name: str, n: int,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Prior draws of a transition without data (its posterior), or a clear error."""
    try:
        return family.prior_draws(n, rng)
    except BridgeBayesError:
        raise BridgeBayesError(
            f"illness-death data: no patients at risk for {name!r} (no relapse), so its "
            "posterior is its prior, which needs a fixed baseline scale (e.g. "
            "WeibullPH(mean_time=...)); or use bridgebayes.models.competing instead") from None
