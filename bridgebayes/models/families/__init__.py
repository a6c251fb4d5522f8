"""Survival model families: one file per likelihood, on a shared base.

The registry is closed: a spec names a family by its key in :data:`FAMILIES`.
Conventions (variable and dim names, priors): ``docs/engine.md``.

Examples
--------
>>> family = get_family("weibull")(log_hr_sigma=0.5)
>>> family.name
'weibull'
"""

from __future__ import annotations

from types import MappingProxyType

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families.base import Draws, SurvivalFamily
from bridgebayes.models.families.draws import posterior_draws
from bridgebayes.models.families.mixture_cure import MixtureCurePH
from bridgebayes.models.families.mspline import MSplinePH
from bridgebayes.models.families.piecewise_exponential import PiecewiseExponentialPH
from bridgebayes.models.families.weibull import WeibullPH

__all__ = [
    "FAMILIES",
    "Draws",
    "MSplinePH",
    "MixtureCurePH",
    "PiecewiseExponentialPH",
    "SurvivalFamily",
    "WeibullPH",
    "get_family",
    "posterior_draws",
]

#: Family name -> class.
FAMILIES: MappingProxyType[str, type[SurvivalFamily]] = MappingProxyType({
    cls.name: cls for cls in (PiecewiseExponentialPH, WeibullPH, MixtureCurePH,
                                        MSplinePH)})


def get_family(name: str) -> type[SurvivalFamily]:
    """The family class registered as ``name``.

    Parameters
    ----------
    name
        A key of :data:`FAMILIES`: ``"piecewise_exponential"``, ``"weibull"``,
        ``"mixture_cure"``, ``"mspline"``.

    Returns
    -------
    type[SurvivalFamily]
        The class; instantiate it with its keyword-only options.

    Examples
    --------
    >>> get_family("piecewise_exponential").__name__
    'PiecewiseExponentialPH'
    """
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise BridgeBayesError(f"family: unknown family {name!r}; expected one of "
                               f"{sorted(FAMILIES)}") from None
