"""What :func:`bridgebayes.inference.fit.fit` accepts, resolved to ``EndpointData`` and a family
object.

Data: ``EndpointData``; a :class:`~bridgebayes.data.cohort.Cohort` with ``endpoint=``; or a
lifelines-style ``DataFrame`` (``duration, event, arm``) with ``arms=``.  Family: an object or
a registered name (``"weibull"``, ``"piecewise_exponential"``).  Prior: a named log-HR prior
(``"neutral"``, ``"skeptical-strong"``; :func:`bridgebayes.models.priors.log_hr_prior`) that
replaces the family's ``log_hr_mu`` / ``log_hr_sigma``.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import Cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.data.survival_table import load_survival_table
from bridgebayes.models.families import SurvivalFamily, get_family
from bridgebayes.models.priors import log_hr_normal

__all__ = ["resolve_data", "resolve_family"]


def resolve_data(data: EndpointData | Cohort | pd.DataFrame, *, endpoint: str | None,
                 arms: tuple[str, str] | None) -> EndpointData:
    """``EndpointData`` from any accepted data input (see the module docstring)."""
    if isinstance(data, EndpointData):
        if endpoint is not None and endpoint != data.name:
            raise BridgeBayesError(f"endpoint: the data are {data.name!r}, got {endpoint!r}")
        return data
    if isinstance(data, Cohort):
        if endpoint is None:
            raise BridgeBayesError("endpoint: required when fitting a Cohort, e.g. "
                                   "endpoint='os'")
        return data.endpoint(endpoint)
    if isinstance(data, pd.DataFrame):
        if arms is None:
            raise BridgeBayesError("arms: required with a DataFrame, e.g. "
                                   "arms=('blinatumomab', 'CAR-T') (reference, treatment)")
        return load_survival_table(data, arms=arms, endpoint=endpoint or "endpoint")
    raise BridgeBayesError(f"data: expected EndpointData, a Cohort or a DataFrame, got "
                           f"{type(data).__name__}")


def resolve_family(family: SurvivalFamily | str, prior: str | None) -> SurvivalFamily:
    """A family object, with the named log-HR prior applied if ``prior`` is given."""
    if isinstance(family, str):
        family = get_family(family)()
    if not isinstance(family, SurvivalFamily):
        raise BridgeBayesError(f"family: expected a family object or name, got {family!r}")
    if prior is None:
        return family
    mu, sigma = log_hr_normal(prior)  # the named prior replaces all of the family's (a normal)
    return dataclasses.replace(family, log_hr_mu=mu, log_hr_sigma=sigma, log_hr_vague_weight=0.0,
                               log_hr_vague_mu=0.0, log_hr_vague_sigma=None)
