"""Competing risks by cause-specific hazards: relapse vs non-relapse mortality (NRM).

Each cause ``k`` has its own proportional-hazards model (any family: PEM or Weibull) fitted
on *cause-specific* data, where the other causes censor; each has its own arm effect, the
cause-specific hazard ratio (treatment vs reference).  The cause-specific likelihood
factorises over causes, so with independent priors the joint posterior is the product of
the per-cause posteriors: per-cause NUTS fits, or the exact oracle per cause
(:mod:`bridgebayes.models.exact`), give the exact joint posterior when their draws are paired by
index.

Cumulative incidence per arm and draw, ``CIF_k(t) = ∫_0^t h_k(u) S(u) du`` with
``S = exp(−Σ_j H_j)``, is integrated on a grid by :func:`cumulative_incidence`: on a cell
``[a, b]`` the increment is ``ΔH_k / ΔH · (S(a) − S(b))``, the exact integral when the
hazards are proportional to each other within the cell (constant hazards, Weibull hazards of
equal shape, piecewise-constant hazards with the cuts on the grid) and second-order accurate
otherwise; it needs only cumulative hazards, so Weibull hazards with shape < 1 (infinite at
0) need no special care.

Conventions of differences: **treatment minus reference**; a negative ``ΔCIF`` means fewer
events of that cause with treatment.

Examples
--------
>>> cr = exact_competing_risks(cohort.endpoint("relapse_nrm"), family="weibull",
...                            rng=1)  # doctest: +SKIP
>>> cr.decide(landmarks=(12.0, 24.0), deltas=(0.0, 0.05)).table  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError, describe_offenders
from bridgebayes.core.labels import display_label
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.fit import Fit, SamplerSettings, fit
from bridgebayes.models.exact import pem_posterior, weibull_posterior
from bridgebayes.models.families import PiecewiseExponentialPH, SurvivalFamily, WeibullPH
from bridgebayes.models.families.draws import Draws
from bridgebayes.summaries.decide import band_frame, credible_interval

__all__ = [
    "CauseModel",
    "CompetingDecision",
    "CompetingRisksPosterior",
    "cause_specific_data",
    "cumulative_incidence",
    "exact_competing_risks",
    "fit_competing_risks",
    "incidence_grid",
]


def cause_specific_data(data: EndpointData, cause: int | str) -> EndpointData:
    """Single-event data for one cause: its events are events, every other cause censors.

    Parameters
    ----------
    data
        Competing-risks data (``cohort.endpoint("relapse_nrm")``): ``event`` 0 = censored,
        ``k`` = cause ``data.causes[k - 1]``.
    cause
        Cause code (1, 2, ...) or label (``"relapse"``, ``"nrm"``).

    Returns
    -------
    EndpointData
        Named ``"<name>:<cause label>"``, events 0/1.

    Examples
    --------
    >>> d = EndpointData("relapse_nrm", np.array([1.0, 2.0, 3.0]), np.array([1, 2, 0]),
    ...                  np.array([0, 1, 1]), ("A", "B"), np.arange(3), causes=("relapse", "nrm"))
    >>> cause_specific_data(d, "nrm").event.tolist()
    [0, 1, 0]
    """
    code = _cause_code(data, cause)
    return EndpointData(name=f"{data.name}:{data.causes[code - 1]}", time=np.asarray(data.time),
                        event=(np.asarray(data.event) == code).astype(int),
                        arm=np.asarray(data.arm), arms=data.arms, ids=np.asarray(data.ids),
                        covariates=data.covariates)


def _check_competing(data: EndpointData) -> None:
    if not data.causes:
        raise BridgeBayesError(f"{data.name}: not competing-risks data (no causes); use "
                               "cohort.endpoint('relapse_nrm')")
    event = np.asarray(data.event)
    bad = ~np.isin(event, np.arange(len(data.causes) + 1))
    if bad.any():
        raise BridgeBayesError(
            f"{data.name}: event: expected 0 (censored) or a cause code 1..{len(data.causes)}; "
            + describe_offenders(list(np.asarray(data.ids)[bad]), event[bad].tolist()))


def _cause_code(data: EndpointData, cause: int | str) -> int:
    _check_competing(data)
    if isinstance(cause, str):
        if cause not in data.causes:
            raise BridgeBayesError(f"cause: unknown cause {cause!r}; expected one of "
                                   f"{list(data.causes)}")
        return data.causes.index(cause) + 1
    if isinstance(cause, bool) or not isinstance(cause, int | np.integer) or not (
            1 <= cause <= len(data.causes)):
        raise BridgeBayesError(f"cause: expected a code 1..{len(data.causes)} or a label in "
                               f"{list(data.causes)}, got {cause!r}")
    return int(cause)


def incidence_grid(horizon: float, *, include: Sequence[float] = (), n_linear: int = 200,
                   n_log: int = 60) -> np.ndarray:
    """Integration grid on ``[0, horizon]``: linear points, log-spaced points near 0, ``include``.

    Examples
    --------
    >>> g = incidence_grid(24.0, include=[12.0])
    >>> g[0], g[-1], 12.0 in g
    (np.float64(0.0), np.float64(24.0), True)
    """
    horizon = float(horizon)
    if not (np.isfinite(horizon) and horizon > 0):
        raise BridgeBayesError(f"horizon: expected a finite time > 0, got {horizon}")
    extra = np.asarray(include, float).ravel()
    extra = extra[(extra >= 0) & (extra <= horizon)]
    return np.unique(np.concatenate([np.linspace(0.0, horizon, n_linear + 1),
                                     np.geomspace(horizon * 1e-6, horizon, n_log), extra]))


def cumulative_incidence(cumhaz: np.ndarray) -> np.ndarray:
    """Cumulative incidence of each cause from the causes' cumulative hazards on a grid.

    Parameters
    ----------
    cumhaz
        ``H_k(t_g)``, shape ``(n_causes, n_draws, n_grid)``, on an increasing grid that
        starts at ``t = 0`` (so ``H_k = 0`` in the first column).

    Returns
    -------
    numpy.ndarray
        ``CIF_k(t_g)``, same shape: the increment on cell ``[a, b]`` is
        ``ΔH_k / ΔH · (S(a) − S(b))``, ``S = exp(−Σ_k H_k)`` (exact for hazards
        proportional to each other within the cell).  ``Σ_k CIF_k = 1 − S`` exactly.

    Examples
    --------
    >>> t = np.array([0.0, 1.0])
    >>> cif = cumulative_incidence(np.stack([0.1 * t, 0.3 * t])[:, None, :])
    >>> cif[:, 0, 1].round(6).tolist()  # h_k / (h_1 + h_2) · (1 − exp(−0.4))
    [0.08242, 0.24726]
    """
    cumhaz = np.asarray(cumhaz, float)
    if cumhaz.ndim != 3 or cumhaz.shape[-1] < 2:
        raise BridgeBayesError(f"cumhaz: expected shape (causes, draws, grid >= 2), got "
                               f"{cumhaz.shape}")
    d_cause = np.diff(cumhaz, axis=-1)
    if np.any(d_cause < -1e-12 * np.maximum(1.0, np.abs(cumhaz[..., 1:]))):
        raise BridgeBayesError("cumhaz: cumulative hazards must be non-decreasing on the grid")
    d_cause = np.maximum(d_cause, 0.0)
    total = cumhaz.sum(axis=0)
    d_total = d_cause.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # -expm1(-x) / x -> 1 as x -> 0
        share = np.where(d_total > 0, -np.expm1(-d_total) / d_total, 1.0)
    mass = d_cause * (np.exp(-total[:, :-1]) * share)[None]
    return np.concatenate([np.zeros((*cumhaz.shape[:-1], 1)), np.cumsum(mass, axis=-1)], axis=-1)


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
class CompetingDecision:
    """Competing-risks decision quantities.

    Attributes
    ----------
    table
        ``quantity, cause, arm, threshold, estimate, lower, upper, probability`` (estimate =
        posterior median, equal-tailed interval).
    curves
        ``time, arm, cause, median, lower, upper``: posterior CIF per arm and cause.
    sentences
        Plain-language statements.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    sentences: tuple[str, ...]

    def summary(self) -> str:
        """The sentences, one per line."""
        return "\n".join(self.sentences)


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
    """

    models: tuple[CauseModel, ...]
    arms: tuple[str, str]
    fits: Mapping[str, Fit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = {m.cause: int(np.shape(m.draws["log_hr"])[0]) for m in self.models}
        if len(set(sizes.values())) != 1:
            raise BridgeBayesError(f"draws: every cause needs the same number of draws (they "
                                   f"are paired by index), got {sizes}")

    @property
    def causes(self) -> tuple[str, ...]:
        """Cause labels."""
        return tuple(m.cause for m in self.models)

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
        """Tidy posterior CIF curves: ``time, arm, cause, median, lower, upper``."""
        times = np.linspace(0.0, float(horizon), int(n_times))
        frames = []
        for a, label in enumerate(self.arms):
            for cause, cif in self.cumulative_incidence(times, a).items():
                frames.append(band_frame(times, cif, ci, arm=label, cause=cause))
        return pd.concat(frames, ignore_index=True)

    def decide(self, *, landmarks: Sequence[float] = (12.0, 24.0),
               deltas: Sequence[float] = (0.0, 0.05, 0.10), delta_landmark: float = 24.0,
               horizon: float | None = None, ci: float = 0.95) -> CompetingDecision:
        """CIF per arm at landmarks, differences, P(ΔCIF > δ), cause-specific HRs.

        Parameters
        ----------
        landmarks
            Times (months) of the CIF rows; for each cause and landmark the difference
            (treatment − reference) with ``probability`` = P(ΔCIF < 0), i.e. the
            probability that the CIF is lower with treatment.
        deltas, delta_landmark
            Rows ``P(ΔCIF(delta_landmark) > δ)`` for every cause and δ (e.g. for NRM: the
            probability that treatment adds more than δ to 24-month NRM).
        horizon
            End of the curves (default 1.5 × the largest landmark).
        ci
            Credible-interval mass.

        Returns
        -------
        CompetingDecision
        """
        ref, trt = self.arms
        pair = f"{trt} - {ref}"
        rows, sentences = [], []
        for cause, hr in self.cause_specific_hr().items():
            med, lo, hi = credible_interval(hr, ci)
            p = float(np.mean(hr < 1))
            rows.append(_row("cause-specific HR", cause, "", 1.0, hr, ci, p))
            sentences.append(f"Cause-specific HR for {display_label(cause)} ({trt} vs {ref}): "
                             f"{med:.2f} "
                             f"({100 * ci:.0f}% CrI {lo:.2f} to {hi:.2f}); P(HR < 1) = "
                             f"{100 * p:.0f}%.")
        at = np.unique(np.r_[np.asarray(landmarks, float), float(delta_landmark)])
        cif = [self.cumulative_incidence(at, a) for a in (0, 1)]
        for cause in self.causes:
            for j, t in enumerate(at):
                diff = cif[1][cause][:, j] - cif[0][cause][:, j]
                if t in np.asarray(landmarks, float):
                    rows.append(_row(f"CIF({t:g})", cause, ref, t, cif[0][cause][:, j], ci))
                    rows.append(_row(f"CIF({t:g})", cause, trt, t, cif[1][cause][:, j], ci))
                    p_lower = float(np.mean(diff < 0))
                    rows.append(_row(f"CIF({t:g}) difference", cause, pair, t, diff, ci, p_lower))
                    med, lo, hi = credible_interval(diff, ci)
                    sentences.append(
                        f"At {t:g} months, {display_label(cause)} cumulative incidence is "
                        f"{100 * np.median(cif[1][cause][:, j]):.0f}% with {trt} vs "
                        f"{100 * np.median(cif[0][cause][:, j]):.0f}% with {ref} (difference "
                        f"{100 * med:+.0f} points, {100 * ci:.0f}% CrI {100 * lo:+.0f} to "
                        f"{100 * hi:+.0f}); probability that it is lower with {trt} "
                        f"{100 * p_lower:.0f}%.")
                if t == float(delta_landmark):
                    for delta in deltas:
                        rows.append(_row(f"P(CIF({t:g}) difference > delta)", cause, pair,
                                         float(delta), None, ci, float(np.mean(diff > delta))))
        end = horizon or 1.5 * float(np.max(at))
        return CompetingDecision(pd.DataFrame(rows), self.curves(horizon=end, ci=ci),
                                 tuple(sentences))


def _row(quantity: str, cause: str, arm: str, threshold: float, draws: np.ndarray | None,
         ci: float, probability: float = np.nan) -> dict:
    med, lo, hi = ((np.nan,) * 3 if draws is None
                   else credible_interval(np.asarray(draws, float), ci))
    return {"quantity": quantity, "cause": cause, "arm": arm, "threshold": threshold,
            "estimate": med, "lower": lo, "upper": hi, "probability": probability}


def exact_competing_risks(data: EndpointData, *, family: str = "pem",
                          log_hr_mu: float = 0.0, log_hr_sigma: float = 1.0,
                          cuts: Mapping[str, Sequence[float]] | None = None,
                          a0: float = 0.1,
                          crude_rate: Mapping[str, float] | None = None,
                          mean_time: Mapping[str, float] | None = None,
                          n_draws: int = 4000,
                          rng: np.random.Generator | int | None) -> CompetingRisksPosterior:
    """Exact joint posterior of the cause-specific models, by the quadrature oracle per cause.

    Parameters
    ----------
    data
        Competing-risks data (``cohort.endpoint("relapse_nrm")``).
    family
        ``"pem"`` (piecewise exponential, Gamma baseline) or ``"weibull"``, for every cause.
    log_hr_mu, log_hr_sigma
        Prior ``Normal(mu, sigma)`` of each cause-specific log HR (other priors: the
        families' defaults, ``docs/engine.md``).
    cuts
        PEM interior cut points per cause label; default: quartiles of that cause's event
        times (``piecewise.default_cuts``).
    a0
        Baseline prior shape (``docs/engine.md``).
    crude_rate, mean_time
        Fixed baseline prior scales per cause label instead of the data's, as in
        :func:`bridgebayes.models.exact.pem_posterior` (``crude_rate``, events per month; PEM only)
        and :func:`~bridgebayes.models.exact.weibull_posterior` (``mean_time``, months; Weibull
        only): a prior that does not depend on the data (simulation-based calibration).
        The returned causes' ``family`` evaluates hazards and CIFs only; it does not carry
        this prior.
    n_draws
        Exact joint draws per cause (paired by index: the posterior factorises).
    rng
        Seed or generator.

    Returns
    -------
    CompetingRisksPosterior

    Examples
    --------
    >>> cr = exact_competing_risks(cohort.endpoint("relapse_nrm"), rng=1)  # doctest: +SKIP
    """
    if family not in ("pem", "weibull"):
        raise BridgeBayesError(f"family: expected 'pem' or 'weibull', got {family!r}")
    _check_competing(data)
    wrong = ("mean_time", mean_time) if family == "pem" else ("crude_rate", crude_rate)
    if wrong[1] is not None:
        raise BridgeBayesError(f"{wrong[0]}: not a prior scale of family {family!r} (use "
                               f"{'crude_rate' if family == 'pem' else 'mean_time'})")
    scales = crude_rate if family == "pem" else mean_time
    for key, given in (("cuts", cuts), ("crude_rate", crude_rate), ("mean_time", mean_time)):
        unknown = set(given or {}) - set(data.causes)
        if unknown:
            raise BridgeBayesError(f"{key}: unknown cause(s) {sorted(unknown)}; expected "
                                   f"labels in {list(data.causes)}")
    rng = np.random.default_rng(rng)
    models = []
    for code, cause in enumerate(data.causes, start=1):
        one = cause_specific_data(data, code)
        scale = (scales or {}).get(cause)
        if family == "pem":
            post = pem_posterior(one, cuts=(cuts or {}).get(cause), log_hr_mu=log_hr_mu,
                                 log_hr_sigma=log_hr_sigma, a0=a0, crude_rate=scale)
            model: SurvivalFamily = PiecewiseExponentialPH(log_hr_mu=log_hr_mu,
                                                           log_hr_sigma=log_hr_sigma, a0=a0)
        else:
            post = weibull_posterior(one, log_hr_mu=log_hr_mu, log_hr_sigma=log_hr_sigma,
                                     a0=a0, mean_time=scale)
            model = WeibullPH(log_hr_mu=log_hr_mu, log_hr_sigma=log_hr_sigma, a0=a0)
        models.append(CauseModel(cause, model, post.draws(n_draws, rng=rng)))
    return CompetingRisksPosterior(tuple(models), data.arms)


def fit_competing_risks(data: EndpointData,
                        families: SurvivalFamily | Mapping[str, SurvivalFamily], *, seed: int,
                        sampler: SamplerSettings | None = None) -> CompetingRisksPosterior:
    """Fit each cause-specific hazard with NUTS (``bridgebayes.inference.fit.fit``), one fit per
    cause.

    Parameters
    ----------
    data
        Competing-risks data (``cohort.endpoint("relapse_nrm")``).
    families
        One family for every cause, or cause label -> family (e.g. PEM for relapse,
        Weibull for NRM).
    seed
        Seed of the first cause; cause ``k`` uses ``seed + k - 1``.
    sampler
        ``bridgebayes.inference.fit.SamplerSettings``; every cause needs the same number of draws.

    Returns
    -------
    CompetingRisksPosterior
        With ``fits`` (cause -> ``Fit``) and each cause's gate in ``models[k].gate_passed``.

    Examples
    --------
    >>> cr = fit_competing_risks(cohort.endpoint("relapse_nrm"), WeibullPH(),
    ...                          seed=1)  # doctest: +SKIP
    """
    _check_competing(data)
    if isinstance(families, SurvivalFamily):
        families = dict.fromkeys(data.causes, families)
    missing = [c for c in data.causes if c not in families]
    unknown = sorted(set(families) - set(data.causes))
    if missing or unknown:
        raise BridgeBayesError(f"families: need one family per cause {list(data.causes)}; "
                               f"missing {missing}, unknown {unknown}")
    models, fits = [], {}
    for code, cause in enumerate(data.causes, start=1):
        result = fit(cause_specific_data(data, code), families[cause], seed=seed + code - 1,
                     sampler=sampler)
        fits[cause] = result
        models.append(CauseModel(cause, families[cause], result.draws(), result.gate.passed))
    return CompetingRisksPosterior(tuple(models), data.arms, fits)
