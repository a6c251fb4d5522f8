"""Design priors: where the true parameters of simulated future trials come from.

A design prior is either the joint posterior of a fitted run (baseline hazard and log HR
drawn together, from the run's NetCDF), or an explicit prior for users without data.  The
log HR of a posterior can be discounted:

* power prior ``a0`` in (0, 1]: under a normal approximation of the log HR the power prior
  ``p(theta | data)^a0`` inflates the variance by ``1 / a0``; the draws are stretched
  about their mean, ``m + (log_hr - m) / sqrt(a0)``, which keeps each draw's pairing with
  its baseline hazards (the baseline itself is not discounted);
* bias of unmeasured confounding (the bias analysis of ``docs/adjustment.md``): the true log
  HR is the observed one plus a bias ``delta ~ Normal(bias_mu, bias_sigma)`` drawn once per
  simulated trial (``delta > 0``: the data favoured the treatment), additive on the log-HR
  scale and independent of the baseline: mean ``m + bias_mu``, variance
  ``s^2 / a0 + bias_sigma^2``.  The power prior with the same variance has
  ``a0 = s^2 / (s^2 + bias_sigma^2)`` (:func:`equivalent_a0`);
* robust mixture: with probability ``w`` a draw's log HR is replaced by one from the vague
  component ``Normal(vague_mean, vague_sd)`` (neither stretched nor biased).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import SurvivalFamily, get_family
from bridgebayes.models.truths import Truths

__all__ = ["PIECEWISE_GRID", "DesignPrior", "equivalent_a0", "explicit_prior",
           "piecewise_design_prior", "posterior_design_prior", "read_posterior"]


@dataclass(frozen=True, eq=False)
class DesignPrior:
    """Joint draws of baseline and effect, and how the effect is discounted.

    Attributes
    ----------
    family : SurvivalFamily
        The baseline's family (with its constants, e.g. PEM cut points, as options).
    draws : dict
        ``log_hr`` ``(M,)`` or ``(M, K)`` and the family's baseline parameters, one row per
        draw.  Explicit priors hold one row (fixed baseline) and draw the log HR.
    hr_cuts : numpy.ndarray
        Effect change points (empty: proportional hazards).
    a0, vague_weight, vague_mean, vague_sd : float
        Discounting (module docstring).  ``a0 = 1`` and ``vague_weight = 0``: none.
    bias_mu, bias_sigma : float
        Bias of the log HR ``delta ~ Normal(bias_mu, bias_sigma)`` (module docstring);
        ``0, 0``: none.
    bias_source : str
        Where the bias prior comes from (reports), e.g. the run's bias analysis.
    components : dict
        A mixture's components and their weights (a stacked posterior: family -> stacking
        weight), else empty.
    explicit : tuple or None
        ``(mu, sigma)`` of the explicit Normal prior on log HR, else ``None``.
    source : str
        Where the draws come from (reports).
    """

    family: SurvivalFamily
    draws: dict[str, np.ndarray]
    hr_cuts: np.ndarray = field(default_factory=lambda: np.empty(0))
    a0: float = 1.0
    vague_weight: float = 0.0
    vague_mean: float = 0.0
    vague_sd: float = 2.0
    explicit: tuple[float, float] | None = None
    source: str = ""
    bias_mu: float = 0.0
    bias_sigma: float = 0.0
    bias_source: str = ""
    components: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_positive(a0=self.a0, vague_sd=self.vague_sd)
        _check_finite(vague_mean=self.vague_mean, vague_weight=self.vague_weight,
                      bias_mu=self.bias_mu, bias_sigma=self.bias_sigma)
        if self.bias_sigma < 0:
            raise BridgeBayesError(f"bias_sigma: expected a finite number >= 0, got "
                                   f"{self.bias_sigma!r}")
        if not (0 < self.a0 <= 1 and 0 <= self.vague_weight <= 1):
            raise BridgeBayesError(f"design prior: expected 0 < a0 <= 1 and 0 <= vague_weight "
                                   f"<= 1, got a0={self.a0}, vague_weight={self.vague_weight}")

    def discounted(self, *, a0: float = 1.0, vague_weight: float = 0.0,
                   vague_mean: float = 0.0, vague_sd: float = 2.0, bias_mu: float = 0.0,
                   bias_sigma: float = 0.0, bias_source: str = "") -> DesignPrior:
        """The same prior with its log HR discounted (module docstring).

        Examples
        --------
        >>> prior.discounted(a0=0.5, vague_weight=0.2)  # doctest: +SKIP
        >>> prior.discounted(bias_mu=0.0, bias_sigma=0.2, bias_source="explicit")  # doctest: +SKIP
        """
        return replace(self, a0=a0, vague_weight=vague_weight, vague_mean=vague_mean,
                       vague_sd=vague_sd, bias_mu=bias_mu, bias_sigma=bias_sigma,
                       bias_source=bias_source)

    @property
    def biased(self) -> bool:
        """Whether a bias of the log HR is drawn per trial."""
        return bool(self.bias_mu or self.bias_sigma)

    def log_hr_draws(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Row indices into ``draws`` and the (discounted) log HR ``(n, K)`` of ``n`` trials."""
        rows = rng.integers(0, self.draws["log_hr"].shape[0], size=n)
        pieces = self.hr_cuts.size + 1
        if self.explicit is not None:
            mu, sigma = self.explicit
            log_hr = np.repeat(rng.normal(mu, sigma, size=(n, 1)), pieces, axis=1)
        else:
            all_draws = self.draws["log_hr"].reshape(self.draws["log_hr"].shape[0], -1)
            centre = all_draws.mean(axis=0)
            log_hr = centre + (all_draws[rows] - centre) / np.sqrt(self.a0)
            log_hr = np.broadcast_to(log_hr, (n, pieces)).copy()
        vague = rng.random(n) < self.vague_weight
        replacement = rng.normal(self.vague_mean, self.vague_sd, size=n)
        if self.biased:  # drawn last: without a bias the stream is the one it always was
            log_hr += rng.normal(self.bias_mu, self.bias_sigma, size=(n, 1))
        log_hr[vague] = replacement[vague][:, None]
        return rows, log_hr

    def sample(self, n: int, rng: np.random.Generator) -> Truths:
        """Truths of ``n`` trials, e.g. ``prior.sample(1000, np.random.default_rng(1))``."""
        rows, log_hr = self.log_hr_draws(n, rng)
        return Truths(self.family, log_hr, self.hr_cuts,
                      {k: self.draws[k][rows] for k in self.family.baseline_variables()})

    def log_hr_summary(self) -> tuple[float, float]:
        """Mean and SD of the (discounted, mixed) design log HR, from 200,000 draws."""
        _, log_hr = self.log_hr_draws(200_000, np.random.default_rng(0))
        return float(log_hr[:, 0].mean()), float(log_hr[:, 0].std())

    def log_hr_variance(self) -> float:
        """Variance of the undiscounted log HR (the posterior's draws or the explicit prior's
        ``sigma^2``; the first effect piece, as :meth:`log_hr_summary`)."""
        if self.explicit is not None:
            return float(self.explicit[1]) ** 2
        log_hr = self.draws["log_hr"].reshape(self.draws["log_hr"].shape[0], -1)[:, 0]
        return float(np.var(log_hr))

    def bias_summary(self) -> dict[str, object] | None:
        """The bias prior and its equivalent power priors (``plan.json``), ``None`` without
        one: ``equivalent_a0`` the bias alone, ``equivalent_a0_total`` with ``a0``."""
        if not self.biased:
            return None
        variance = self.log_hr_variance()
        return {"dist": "Normal", "mu": self.bias_mu, "sigma": self.bias_sigma,
                "source": self.bias_source, "scale": "log HR (true = observed + bias)",
                "equivalent_a0": equivalent_a0(variance, self.bias_sigma),
                "equivalent_a0_total": equivalent_a0(variance, self.bias_sigma, a0=self.a0)}

    def describe(self) -> str:
        """:attr:`source` and the bias discount, for reports and the command's output."""
        b = self.bias_summary()
        if b is None:
            return self.source
        return (f"{self.source}; bias of the log HR Normal({b['mu']:g}, {b['sigma']:g}) per "
                f"trial ({b['source'] or 'explicit'}), as a power prior a0 = "
                f"{b['equivalent_a0']:.3g}")


def equivalent_a0(variance: float, bias_sigma: float, *, a0: float = 1.0) -> float:
    """The power-prior ``a0`` giving the variance of a biased design log HR: a posterior
    variance ``s^2`` stretched by ``1 / a0`` plus a bias ``Normal(., bias_sigma)`` has variance
    ``s^2 / a0 + bias_sigma^2 = s^2 / a0_equivalent``.  (The bias's mean shifts the log HR; no
    power prior does that.)

    Examples
    --------
    >>> equivalent_a0(0.25, 0.5)  # var(post) / (var(post) + sigma^2) = 0.25 / 0.5
    0.5
    """
    _check_positive(variance=variance, a0=a0)
    _check_finite(bias_sigma=bias_sigma)
    return float(variance / (variance / a0 + bias_sigma ** 2))


def _check_finite(**values: float) -> None:
    """Raise unless every keyword value is a finite number (not a bool)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not (
                np.isfinite(value)):
            raise BridgeBayesError(f"{name}: expected a finite number, got {value!r}")


def _check_positive(**values: float) -> None:
    """Raise unless every keyword value is a finite number > 0."""
    _check_finite(**values)
    for name, value in values.items():
        if not value > 0:
            raise BridgeBayesError(f"{name}: expected a finite number > 0, got {value!r}")


def posterior_design_prior(path: str | os.PathLike[str], *, n_max: int | None = None
                           ) -> DesignPrior:
    """Design prior from the NetCDF of a fit (``reports/<id>/posteriors/<e>__<f>__<p>.nc``).

    Parameters
    ----------
    path
        NetCDF written by ``bridgebayes run`` (or ``Fit.to_netcdf``) of a registered family
        without covariates.  A non-PH fit (e.g. a time-varying PEM) gives non-PH truths (its
        :meth:`~bridgebayes.models.families.SurvivalFamily.effect_pieces`).
    n_max
        Keep at most this many draws (the first ones); ``None``: all.

    Examples
    --------
    >>> prior = posterior_design_prior("reports/cao2025/posteriors/grfs__piecewise_exponential"
    ...                                "__neutral.nc").discounted(a0=0.5)  # doctest: +SKIP
    """
    path = Path(path)
    family, draws, unit = read_posterior(path, n_max=n_max)
    if not family.hazard_ratio_effect():
        return piecewise_design_prior(family, draws, grid=PIECEWISE_GRID[unit],
                                      source=f"posterior {path.name}")
    log_hr, hr_cuts = family.effect_pieces(draws)
    source = f"posterior {path.name} ({log_hr.shape[0]} draws)"
    if hr_cuts.size:
        source += ", time-varying effect"
    kept = {k: draws[k] for k in family.baseline_variables()}
    return DesignPrior(family, {"log_hr": log_hr if hr_cuts.size else log_hr[:, 0], **kept},
                       hr_cuts=hr_cuts, source=source)


def read_posterior(path: str | os.PathLike[str], *, n_max: int | None = None
                   ) -> tuple[SurvivalFamily, dict[str, np.ndarray], str]:
    """The family (with its constants), the draws (chains flattened, at most ``n_max``) and
    the time unit of a run's posterior NetCDF without covariates.

    Examples
    --------
    >>> family, draws, unit = read_posterior("reports/cao2025/posteriors/"
    ...                                      "grfs__weibull__neutral.nc")  # doctest: +SKIP
    """
    from bridgebayes.core.readers import open_netcdf  # arviz: workers that only simulate
    from bridgebayes.models.families.draws import posterior_draws

    path = Path(path)
    if not path.is_file():
        raise BridgeBayesError(f"{path}: posterior file not found; run the analysis that writes "
                               "it first (e.g. `bridgebayes run models/cao2025.toml`)")
    idata = open_netcdf(path)
    try:
        options = json.loads(idata.attrs["family"])
        family = get_family(options.pop("name")).from_options(options, where=str(path))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise BridgeBayesError(f"{path}: not a bridgebayes posterior NetCDF ({exc})") from None
    if family.covariates:
        raise BridgeBayesError(f"{path}: design priors need a fit without covariates; got "
                               f"covariates {list(family.covariates)}")
    draws = {k: np.asarray(v)[:n_max] if np.ndim(v) and k != "cuts" else np.asarray(v)
             for k, v in posterior_draws(idata).items()}
    return family.with_constants(draws), draws, str(idata.attrs.get("time_unit", "months"))


#: Cut points of the piecewise-exponential approximation of a non-PH posterior, per unit:
#: fine where events are frequent, out to 10 years (beyond, the last piece's rates go on).
PIECEWISE_GRID = {
    "days": (30, 60, 90, 180, 270, 365, 540, 730, 1095, 1461, 1826, 2557, 3652),
    "weeks": (4, 8, 13, 26, 39, 52, 78, 104, 156, 208, 260, 365, 521),
    "months": (1, 2, 3, 6, 9, 12, 18, 24, 36, 48, 60, 84, 120),
    "years": (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7, 10),
}


def piecewise_design_prior(family: SurvivalFamily, draws: dict[str, np.ndarray], *,
                           grid: tuple[float, ...], source: str = "") -> DesignPrior:
    """A design prior for a family whose effect is not one hazard ratio (e.g. a mixture cure
    model): per draw, each arm's cumulative hazard ``H_a = -log S_a`` on ``grid`` gives
    piecewise-constant hazards ``ΔH_a / Δt`` (exact averages over each piece), the
    reference arm's as the PEM baseline and ``log(ΔH_1 / ΔH_0)`` as a time-varying log HR on
    the same cut points; the open last piece keeps the rates of the piece before it.  So the
    simulated trials have each draw's survival curves at every cut point (a cure plateau
    included, up to the last cut).

    Examples
    --------
    >>> prior = piecewise_design_prior(cure, draws, grid=(6.0, 12.0, 24.0))  # doctest: +SKIP
    """
    cuts = np.asarray(grid, float)
    edges = np.concatenate([[0.0], cuts])
    widths = np.diff(edges)
    rates = []
    for arm in (0, 1):
        survival = np.asarray(family.survival(draws, cuts, arm), float)    # (M, K)
        with np.errstate(divide="ignore"):
            cumhaz = -np.log(np.clip(survival, 1e-300, 1.0))
        steps = np.diff(np.concatenate([np.zeros((cumhaz.shape[0], 1)), cumhaz], axis=1),
                        axis=1)
        rate = np.maximum(steps, 0.0) / widths                              # (M, K)
        rate = np.concatenate([rate, rate[:, -1:]], axis=1)                # open last piece
        rates.append(np.maximum(rate, 1e-12))  # a plateau: a negligible, not a zero, hazard
    pem = get_family("piecewise_exponential").from_options({"cuts": [float(c) for c in cuts]})
    log_hr = np.log(rates[1] / rates[0])
    return DesignPrior(pem, {"log_hr": log_hr, "lambda": rates[0]}, hr_cuts=cuts,
                       source=f"{source} ({log_hr.shape[0]} draws), {family.label} "
                              f"approximated by piecewise-constant hazards on {len(cuts) + 1} "
                              "pieces per arm")


def explicit_prior(*, log_hr_mu: float, log_hr_sigma: float,
                   family: SurvivalFamily | str = "piecewise_exponential",
                   baseline: dict[str, object], hr_cuts: tuple[float, ...] = ()) -> DesignPrior:
    """Explicit design prior: ``log_hr ~ Normal(mu, sigma)`` with a known baseline.

    Parameters
    ----------
    log_hr_mu, log_hr_sigma
        Normal prior of the log HR (``log_hr_sigma = 0`` is not allowed: use a tiny value or
        fixed-HR scenarios for conditional power).
    family
        The baseline's family (a registered name, or an object whose options carry the
        constants, e.g. ``PiecewiseExponentialPH(cuts=(12.0,))``).
    baseline
        The family's baseline parameters (:meth:`~bridgebayes.models.families.
        SurvivalFamily.baseline_variables`): PEM ``{"lambda": [0.05, 0.03]}`` (per unit
        time, one per interval: a list); Weibull ``{"k": 1.2, "lam": 0.03}`` (``H0 = lam ·
        t^k``; scalars).
    hr_cuts
        Change points of the effect; the same log HR applies to every piece.

    Examples
    --------
    >>> from bridgebayes.models.families import PiecewiseExponentialPH
    >>> p = explicit_prior(log_hr_mu=-0.36, log_hr_sigma=0.2,
    ...                    family=PiecewiseExponentialPH(cuts=()), baseline={"lambda": [0.03]})
    >>> p.sample(2, np.random.default_rng(1)).baseline["lambda"].tolist()
    [[0.03], [0.03]]
    """
    _check_finite(log_hr_mu=log_hr_mu)
    _check_positive(log_hr_sigma=log_hr_sigma)
    if isinstance(family, str):
        family = get_family(family)()
    try:
        if sorted(baseline) != sorted(names := family.baseline_variables()):
            raise BridgeBayesError(f"expected the parameters {sorted(names)}, got "
                                   f"{sorted(baseline)}")
        rows = {k: np.asarray(v, float)[None] for k, v in baseline.items()}  # one row
        prior = DesignPrior(family, {"log_hr": np.zeros(1), **rows},
                            hr_cuts=np.asarray(hr_cuts, float),
                            explicit=(float(log_hr_mu), float(log_hr_sigma)), source="explicit")
        truths = prior.sample(1, np.random.default_rng(0))  # validates through Truths
        truths.baseline_inverse(truths.baseline_cumhaz(np.ones((1, 1))))
    except (BridgeBayesError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise BridgeBayesError(f"explicit prior: baseline {baseline} does not fit family "
                               f"{family.name!r} ({exc})") from None
    return prior
