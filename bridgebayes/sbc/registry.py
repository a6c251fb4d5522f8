"""The SBC models, by name: the one list the loop, the command and the report use.

Fixed prior scales: PEM crude rate 1/24 per month, Weibull mean time 24 months (prior mean
cumulative hazard 1 at 24 months, median survival about 17 months); the mixture cure model's
Weibull latency the same mean time (uncured patients' cumulative hazard at 24 months ~
Gamma(1, 1)), its cure fractions their default Beta(1, 1) and Normal(0, 1) log odds ratio;
the M-spline the PEM's crude rate, interior knots at the scenario's first two PEM cut points
and the boundary at the end of the scenario's follow-up (6 cubic basis functions).
Families without an exact posterior (the cure and spline models) are calibrated by NUTS only.
The models with several hazards use a Gamma shape ``a0 = 1``: a proper prior under which
most simulated trials have events in every cause / transition, so the composite structure
(cause-specific data, CIF integration, clock reset) is exercised by data-dominated posteriors
too.  The
piecewise-exponential illness–death model has its own cut points per transition (death after
relapse: few events, short sojourns).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import (
    MixtureCurePH,
    MSplinePH,
    PiecewiseExponentialPH,
    WeibullPH,
)
from bridgebayes.sbc.models import SCENARIOS, Scenario, TwoArmModel
from bridgebayes.sbc.multistate import CompetingModel, IllnessDeathCalibration

__all__ = ["MODELS", "get_model", "get_scenario"]


def _pem(scenario: Scenario) -> PiecewiseExponentialPH:
    return PiecewiseExponentialPH(cuts=scenario.cuts, crude_rate=1.0 / 24.0)


def _weibull(scenario: Scenario) -> WeibullPH:
    return WeibullPH(mean_time=24.0)


def _mixture_cure(scenario: Scenario) -> MixtureCurePH:
    return MixtureCurePH(mean_time=24.0)


def _mspline(scenario: Scenario) -> MSplinePH:
    return MSplinePH(knots=scenario.cuts[:2], boundary=scenario.analysis, crude_rate=1.0 / 24.0)


def _competing(scenario: Scenario) -> dict[str, PiecewiseExponentialPH]:
    return {cause: PiecewiseExponentialPH(cuts=scenario.cuts, crude_rate=rate, a0=1.0)
            for cause, rate in (("relapse", 1.0 / 24.0), ("nrm", 1.0 / 48.0))}


def _illness_death(scenario: Scenario) -> dict[str, WeibullPH]:
    return {name: WeibullPH(mean_time=scale, a0=1.0)
            for name, scale in (("relapse", 24.0), ("nrm", 48.0), ("post_relapse_death", 6.0))}


def _illness_death_pem(scenario: Scenario) -> dict[str, PiecewiseExponentialPH]:
    return {"relapse": PiecewiseExponentialPH(cuts=scenario.cuts, crude_rate=1.0 / 24.0, a0=1.0),
            "nrm": PiecewiseExponentialPH(cuts=scenario.cuts, crude_rate=1.0 / 48.0, a0=1.0),
            "post_relapse_death": PiecewiseExponentialPH(cuts=(3.0,), crude_rate=1.0 / 6.0,
                                                         a0=1.0)}


#: Every SBC model by name.
MODELS: MappingProxyType[str, Any] = MappingProxyType({
    "piecewise_exponential": TwoArmModel("piecewise_exponential", _pem),
    "weibull": TwoArmModel("weibull", _weibull),
    "mixture_cure": TwoArmModel("mixture_cure", _mixture_cure),
    "mspline": TwoArmModel("mspline", _mspline),
    "competing_risks": CompetingModel("competing_risks", _competing),
    "illness_death": IllnessDeathCalibration("illness_death", _illness_death),
    "illness_death_pem": IllnessDeathCalibration("illness_death_pem", _illness_death_pem),
})


def get_model(name: str) -> Any:
    """The SBC model called ``name`` (a key of :data:`MODELS`)."""
    if name not in MODELS:
        raise BridgeBayesError(f"model: expected one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name]


def get_scenario(name: str) -> Scenario:
    """The SBC scenario called ``name`` (``"small"`` or ``"large"``)."""
    if name not in SCENARIOS:
        raise BridgeBayesError(f"scenario: expected one of {sorted(SCENARIOS)}, got {name!r}")
    return SCENARIOS[name]
