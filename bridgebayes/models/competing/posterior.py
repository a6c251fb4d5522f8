"""The joint posterior of cause-specific hazard models and its decision quantities.

Each cause ``k`` has its own survival family (any registered family) fitted on
*cause-specific* data, where the other causes censor, with its own arm effect: the
cause-specific hazard ratio (treatment vs reference).  The cause-specific likelihood
factorises over causes, so with independent priors the joint posterior is the product of
the per-cause posteriors: per-cause NUTS fits (:func:`bridgebayes.inference.multistate.
fit_competing_risks`) or the per-cause exact oracles (:func:`exact_competing_risks`) give
joint draws when paired by index.

Conventions of differences: **treatment minus reference**; a negative ``ΔCIF`` means fewer
events of that cause with treatment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.competing.data import cause_specific_data, check_competing
from bridgebayes.models.competing.incidence import cumulative_incidence, incidence_grid
from bridgebayes.models.families import SurvivalFamily
from bridgebayes.models.families.draws import Draws
from bridgebayes.summaries.decide import band_frame
from bridgebayes.summaries.decision import (
    CURVE_COLUMNS,
    Decision,
    interval_text,
    new_row,
    percent,
    table,
)
from bridgebayes.summaries.rows import draw_row, mcse_of_mean

__all__ = ["CauseModel", "CompetingRisksPosterior", "exact_competing_risks",
           "families_per_cause"]


@dataclass(frozen=True)
class CauseModel:
    """Posterior of one cause's hazard model.

    Attributes
    ----------
    cause
        Cause label (``"relapse"``, ``"nrm"``).
    family
        The family whose numpy functions evaluate the draws.
    draws
        Posterior draws (``Fit.draws()`` or ``ExactPosterior.draws``).
    gate_passed
        Diagnostics gate of a NUTS fit; ``None`` for exact draws.
    """

    cause: str
    family: SurvivalFamily
    draws: Draws
    gate_passed: bool | None = None

    def cumhaz(self, times: np.ndarray, arm: int) -> np.ndarray:
        """``H(t)`` per draw, ``(n_draws, n_times)``; ``H(0) = 0``."""
        times = np.asarray(times, float)
        out = np.zeros((np.shape(self.draws["log_hr"])[0], times.size))
        positive = times > 0
        if positive.any():
            out[:, positive] = np.exp(self.family.log_cumhaz(self.draws, times[positive], arm))
        return out


@dataclass(frozen=True)
class CompetingRisksPosterior:
    """Joint posterior of the cause-specific hazard models (draws paired by index).

    Attributes
    ----------
    models
        One :class:`CauseModel` per cause, in cause-code order.
    arms
        ``(reference, treatment)`` labels.
    fits
        The NUTS fits by cause label (empty for exact draws).
    chains
        Chains the draws come from (1 for exact, independent draws): for the MCSE.
    """

    models: tuple[CauseModel, ...]
    arms: tuple[str, str]
    fits: Mapping[str, Any] = field(default_factory=dict)
    chains: int = 1

    def __post_init__(self) -> None:
        sizes = {m.cause: int(np.shape(m.draws["log_hr"])[0]) for m in self.models}
        if len(set(sizes.values())) != 1:
            raise BridgeBayesError(f"draws: every cause needs the same number of draws (they "
                                   f"are paired by index), got {sizes}")

    @property
    def causes(self) -> tuple[str, ...]:
        """Cause labels."""
        return tuple(m.cause for m in self.models)

    @property
    def gate_passed(self) -> bool:
        """Whether every cause's fit passed its diagnostics gate (exact draws: True)."""
        return all(m.gate_passed is not False for m in self.models)

    def cumulative_incidence(self, times: Sequence[float], arm: int, *,
                             grid_points: int = 200) -> dict[str, np.ndarray]:
        """Posterior CIF of every cause at ``times`` for ``arm`` (0 reference, 1 treatment).

        Returns
        -------
        dict
            cause label -> ``(n_draws, n_times)``.

        Examples
        --------
        >>> cr.cumulative_incidence([12.0, 24.0], 1)["nrm"].shape  # doctest: +SKIP
        (4000, 2)
        """
        times = np.atleast_1d(np.asarray(times, float))
        if times.ndim != 1 or not np.all(np.isfinite(times) & (times >= 0)):
            raise BridgeBayesError(f"times: expected finite times >= 0, got {times}")
        if arm not in (0, 1):
            raise BridgeBayesError(f"arm: expected 0 (reference) or 1 (treatment), got {arm!r}")
        cuts = [np.ravel(m.draws.get("cuts", [])) for m in self.models]
        grid = incidence_grid(max(times.max(), 1e-9), include=np.concatenate([times, *cuts]),
                              n_linear=grid_points)
        cif = cumulative_incidence(np.stack([m.cumhaz(grid, arm) for m in self.models]))
        at = np.searchsorted(grid, times)
        return {m.cause: cif[k][:, at] for k, m in enumerate(self.models)}

    def cause_specific_hr(self) -> dict[str, np.ndarray]:
        """Draws of each cause's hazard ratio (treatment vs reference)."""
        return {m.cause: np.exp(np.asarray(m.draws["log_hr"], float)) for m in self.models}

    def curves(self, *, horizon: float, n_times: int = 121, ci: float = 0.95) -> pd.DataFrame:
        """Tidy posterior CIF curves (:data:`~bridgebayes.summaries.decision.CURVE_COLUMNS`,
        ``component`` = cause)."""
        times = np.linspace(0.0, float(horizon), int(n_times))
        frames = []
        for a, label in enumerate(self.arms):
            for cause, cif in self.cumulative_incidence(times, a).items():
                frames.append(band_frame(times, cif, ci, arm=label, component=cause))
        return pd.concat(frames, ignore_index=True)[list(CURVE_COLUMNS)]

    def decide(self, *, landmarks: Sequence[float] = (12.0, 24.0),
               deltas: Sequence[float] = (0.0, 0.05, 0.10), delta_landmark: float = 24.0,
               horizon: float | None = None, ci: float = 0.95, time_unit: str = "months",
               followup: float | None = None,
               cause_labels: Mapping[str, str] | None = None) -> Decision:
        """CIF per arm at landmarks, differences, P(ΔCIF > δ), cause-specific HRs.

        Parameters
        ----------
        landmarks
            Times of the CIF rows; for each cause and landmark the difference (treatment −
            reference) and P(ΔCIF < 0), the probability that the CIF is lower with treatment.
        deltas, delta_landmark
            Rows P(ΔCIF(delta_landmark) > δ) for every cause and δ (e.g. for NRM: the
            probability that treatment adds more than δ to 24-month NRM).
        horizon
            End of the curves (default 1.5 × the largest landmark).
        ci
            Credible-interval mass.
        time_unit, followup
            Unit of the times; last observed time (later rows are ``extrapolated``).
        cause_labels
            Reader-facing cause names for the sentences (default: the cause labels).

        Returns
        -------
        Decision
            ``analysis = "competing_risks"``, ``component`` = cause.
        """
        ref, trt = self.arms
        pair, chains = f"{trt} - {ref}", self.chains
        names = dict(cause_labels or {})

        def display_label(cause: str) -> str:
            return names.get(cause, cause)

        rows, sentences = [], []
        for cause, hr in self.cause_specific_hr().items():
            rows.append(hr_row := draw_row("hr", hr, ci, chains=chains, component=cause))
            p = float(np.mean(hr < 1))
            rows.append(new_row("prob_hr_below", component=cause, threshold=1.0, probability=p,
                                mcse=mcse_of_mean(hr < 1, chains)))
            sentences.append(f"Cause-specific HR for {display_label(cause)} ({trt} vs {ref}): "
                             f"{interval_text(hr_row)}; P(HR < 1) = {percent(p)}.")
        marks = np.asarray(landmarks, float)
        at = np.unique(np.r_[marks, float(delta_landmark)])
        cif = [self.cumulative_incidence(at, a) for a in (0, 1)]
        for cause in self.causes:
            for j, t in enumerate(at):
                diff = cif[1][cause][:, j] - cif[0][cause][:, j]
                if t in marks:
                    rows += [draw_row("cif", cif[a][cause][:, j], ci, chains=chains,
                                      component=cause, arm=self.arms[a], time=t) for a in (0, 1)]
                    rows.append(d_row := draw_row("cif_difference", diff, ci, chains=chains,
                                                  component=cause, arm=pair, time=t))
                    p_lower = float(np.mean(diff < 0))
                    rows.append(new_row("prob_cif_difference_below", component=cause, arm=pair,
                                        time=t, threshold=0.0, probability=p_lower,
                                        mcse=mcse_of_mean(diff < 0, chains)))
                    sentences.append(
                        f"At {t:g} {time_unit}, {display_label(cause)} cumulative incidence is "
                        f"{100 * np.median(cif[1][cause][:, j]):.0f}% with {trt} vs "
                        f"{100 * np.median(cif[0][cause][:, j]):.0f}% with {ref} (difference "
                        f"{interval_text(d_row, scale=100, digits=0, signed=True)} points); "
                        f"probability that it is lower with {trt} {percent(p_lower)}.")
                if t == float(delta_landmark):
                    for delta in deltas:
                        rows.append(new_row("prob_cif_difference_above", component=cause,
                                            arm=pair, time=t, threshold=float(delta),
                                            probability=float(np.mean(diff > delta)),
                                            mcse=mcse_of_mean(diff > delta, chains)))
        frame = table(rows, analysis="competing_risks", time_unit=time_unit,
                      gate_passed=self.gate_passed)
        if followup is not None:
            frame["extrapolated"] = frame["time"] > float(followup)
        end = horizon or 1.5 * float(np.max(at))
        return Decision(frame, self.curves(horizon=end, ci=ci), tuple(sentences))


def families_per_cause(data: EndpointData,
                       families: SurvivalFamily | Mapping[str, SurvivalFamily]
                       ) -> dict[str, SurvivalFamily]:
    """One family per cause label of ``data``: the same family for every cause, or a
    mapping cause label -> family that must name every cause and nothing else."""
    check_competing(data)
    if isinstance(families, SurvivalFamily):
        return dict.fromkeys(data.causes, families)
    if not isinstance(families, Mapping):
        raise BridgeBayesError(f"families: expected a family or a mapping cause -> family, "
                               f"got {families!r}")
    missing = [c for c in data.causes if c not in families]
    unknown = sorted(set(families) - set(data.causes))
    if missing or unknown:
        raise BridgeBayesError(f"families: need one family per cause {list(data.causes)}; "
                               f"missing {missing}, unknown {unknown}")
    return {cause: families[cause] for cause in data.causes}


def exact_competing_risks(data: EndpointData,
                          families: SurvivalFamily | Mapping[str, SurvivalFamily], *,
                          n_draws: int = 4000,
                          rng: np.random.Generator | int | None) -> CompetingRisksPosterior:
    """Exact joint posterior of the cause-specific models, by each family's exact oracle.

    Parameters
    ----------
    data
        Competing-risks data (``cohort.endpoint("relapse_nrm")``).
    families
        One family for every cause, or cause label -> family, each with an exact
        posterior (:meth:`~bridgebayes.models.families.SurvivalFamily.exact_posterior`);
        their options carry the priors (e.g. ``PiecewiseExponentialPH(n_intervals=4,
        log_hr_sigma=0.42)``, cut points from each cause's event times unless given, or
        fixed baseline scales ``crude_rate`` / ``mean_time``).
    n_draws
        Exact joint draws per cause (paired by index: the posterior factorises).
    rng
        Seed or generator; causes draw from it in cause-code order.

    Returns
    -------
    CompetingRisksPosterior

    Examples
    --------
    >>> cr = exact_competing_risks(cohort.endpoint("relapse_nrm"), WeibullPH(),
    ...                            rng=1)  # doctest: +SKIP
    """
    per_cause = families_per_cause(data, families)
    rng = np.random.default_rng(rng)
    models = []
    for code, (cause, family) in enumerate(per_cause.items(), start=1):
        post = family.exact_posterior(cause_specific_data(data, code))
        models.append(CauseModel(cause, family, post.draws(n_draws, rng=rng)))
    return CompetingRisksPosterior(tuple(models), data.arms)
