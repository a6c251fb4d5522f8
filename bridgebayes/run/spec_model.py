"""The validated spec as data: one frozen dataclass per section (:mod:`bridgebayes.run.spec`)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ESTIMANDS", "FORMATS", "AdjustmentSpec", "BayesSpec", "CompetingSpec", "DataSpec",
           "PrimarySpec", "SafetySpec", "Spec", "TargetTrial"]

#: Data formats: the transplant preset, a patient table with declared endpoints, and the
#: one-endpoint table.
FORMATS = ("hsct", "patient_table", "survival_table")


@dataclass(frozen=True)
class DataSpec:
    """The ``[data]`` section (paths resolved relative to the spec)."""

    format: str
    file: Path
    time_unit: str
    time_zero: str
    published: Path | None = None
    reconstructed: bool = False
    randomised: bool = False
    ensemble: tuple[Path, ...] = ()
    followup: str = "followup"
    terminal: tuple[str, ...] = ()
    followup_endpoint: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    endpoint: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BayesSpec:
    """The ``[bayes]`` section: which models to fit and which decisions to report.

    ``priors`` maps each endpoint to its priors (a list in the spec applies to every
    endpoint); ``landmarks`` and ``rmst_tau`` are ``None`` until resolved from the data;
    ``extrapolation_horizon`` (default 60 months in the data's unit) and
    ``extrapolation_landmarks`` (default the horizon) drive the model averaging and
    extrapolation (:mod:`bridgebayes.run.averaging`).
    """

    endpoints: tuple[str, ...]
    families: tuple[str, ...]
    priors: dict[str, tuple[str, ...]]
    covariates: tuple[str, ...] = ()
    hr_thresholds: tuple[float, ...] = (1.0, 0.8)
    rope: tuple[float, float] = (0.9, 1.11)
    landmarks: tuple[float, ...] | None = None
    deltas: tuple[float, ...] = (0.0, 0.10)
    rmst_tau: float | None = None
    ci: float = 0.95
    seed: int = 1
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9
    family_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: end of the extrapolated curves and of the RMST of the model averaging (data's unit;
    #: 60 months by default) and the times of its S(t) rows (default: the horizon)
    extrapolation_horizon: float | None = None
    extrapolation_landmarks: tuple[float, ...] | None = None

    def combinations(self) -> list[tuple[str, str, str]]:
        """``(endpoint, family, prior)`` in fitting order."""
        return [(e, f, p) for e in self.endpoints for f in self.families
                for p in self.priors[e]]


@dataclass(frozen=True)
class PrimarySpec:
    """The ``[primary]`` section: the one pre-specified primary analysis."""

    endpoint: str
    family: str
    prior: str
    hr_threshold: float = 1.0
    decision_probability: float | None = None


@dataclass(frozen=True)
class CompetingSpec:
    """The ``[competing]`` section: cause-specific hazards (exact posterior per cause) and,
    optionally, the illness–death model (transplant data); landmarks and seed from
    ``[bayes]``."""

    endpoint: str
    families: tuple[str, ...] = ("piecewise_exponential", "weibull")
    priors: tuple[str, ...] = ("neutral",)
    deltas: tuple[float, ...] = (0.0, 0.05, 0.10)
    illness_death: bool = False


@dataclass(frozen=True)
class SafetySpec:
    """The ``[safety]`` section (transplant data): Beta-binomial incidences and time to
    engraftment."""

    prior: str = "jeffreys"
    deltas: tuple[float, ...] = (0.0, 0.10)
    engraftment_family: str = "weibull"


#: Population estimands of the g-computation (as :data:`bridgebayes.models.adjustment.ESTIMANDS`,
#: kept here so that reading a spec imports no model code).
ESTIMANDS = ("ate", "att")


@dataclass(frozen=True)
class TargetTrial:
    """The target-trial statement: who, from when, which strategies, which contrast, and how
    the data fall short of it (``selection``)."""

    population: str
    time_zero: str
    strategies: str
    estimand: str
    selection: str = ""


@dataclass(frozen=True)
class AdjustmentSpec:
    """The ``[adjustment]`` section with its defaults resolved."""

    target_trial: TargetTrial
    endpoint: str
    family: str
    prior: str
    estimands: tuple[str, ...] = ESTIMANDS
    propensity: bool = True
    weighting: str = "ipw"
    trim: float = 0.0
    bias_mu: float = 0.0
    bias_sigma: float = 0.2
    tipping_thresholds: tuple[float, ...] = (0.8, 0.5)
    max_bias: float = 1.5
    draws: int = 1000
    common_outcome: bool = True


@dataclass(frozen=True)
class Spec:
    """A validated analysis specification."""

    path: Path
    sha256: str
    id: str
    title: str
    question: str
    data: DataSpec
    arms: tuple[str, str]
    endpoints: dict[str, dict[str, Any]]
    covariates: dict[str, dict[str, Any]]
    priors: dict[str, dict[str, Any]]
    landmarks: tuple[float, ...] | None
    bayes: BayesSpec | None = None
    primary: PrimarySpec | None = None
    competing: CompetingSpec | None = None
    safety: SafetySpec | None = None
    adjustment: AdjustmentSpec | None = None

    @property
    def time_unit(self) -> str:
        """The data's (and every result's) time unit."""
        return self.data.time_unit

    def resolved(self) -> dict[str, Any]:
        """Every setting with its defaults, JSON-ready, paths relative to the spec."""
        out = asdict(self)
        out.pop("path"), out.pop("sha256")
        base = self.path.parent

        def rel(value: Any) -> Any:
            if isinstance(value, Path):
                return os.path.relpath(value, base)
            if isinstance(value, dict):
                return {k: rel(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [rel(v) for v in value]
            return value
        return rel(out)

    def resolved_sha256(self) -> str:
        """SHA-256 of :meth:`resolved` (canonical JSON): the spec part of every result key."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
