"""Checks and data arrays shared by every survival family: options, outcome, covariates."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError, describe_offenders
from bridgebayes.data.endpoints import EndpointData

__all__ = ["check_covariate_names", "check_finite", "check_positive", "check_survival_data",
           "covariate_arrays"]


def check_finite(**values: float) -> None:
    """Raise unless every keyword value is a finite number.

    Examples
    --------
    >>> check_finite(log_hr_mu=-0.2)
    """
    for name, value in values.items():
        if isinstance(value, bool) or not (isinstance(value, Real) and np.isfinite(value)):
            raise BridgeBayesError(f"{name}: expected a finite number, got {value!r}")


def check_positive(**values: float) -> None:
    """Raise unless every keyword value is a finite number > 0.

    Examples
    --------
    >>> check_positive(a0=0.1, sigma=1.0)
    """
    for name, value in values.items():
        check_finite(**{name: value})
        if not value > 0:
            raise BridgeBayesError(f"{name}: expected a finite number > 0, got {value!r}")


def check_covariate_names(names: Sequence[str]) -> None:
    """Raise unless ``names`` are distinct strings.

    Examples
    --------
    >>> check_covariate_names(("age", "karnofsky"))
    """
    if not all(isinstance(c, str) for c in names) or len(set(names)) < len(names):
        raise BridgeBayesError(f"covariates: expected distinct column names, got {names}")


def check_survival_data(data: EndpointData) -> None:
    """Check that ``data`` is a single-event, two-arm survival data set.

    Times must be finite and > 0, events 0/1 (competing-risks codes are refused: these
    families model one event), arms 0/1, and all arrays the same length.

    Examples
    --------
    >>> d = EndpointData("os", np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 1]),
    ...                  ("A", "B"), np.array(["p1", "p2"]))
    >>> check_survival_data(d)
    """
    time, event, arm, ids = (np.asarray(a) for a in (data.time, data.event, data.arm, data.ids))
    n = time.size
    if n == 0 or event.size != n or arm.size != n or ids.size != n:
        raise BridgeBayesError(
            f"{data.name}: time, event, arm and ids must have the same positive length, got "
            f"{n}, {event.size}, {arm.size}, {ids.size}")
    checks = [("time", ~(np.isfinite(time) & (time > 0)), time,
               "times must be finite and > 0 (months)"),
              ("event", ~np.isin(event, (0, 1)), event,
               "events must be 0/1; competing-risks codes need a single-event endpoint"),
              ("arm", ~np.isin(arm, (0, 1)), arm, "arms must be 0 (reference) or 1 (treatment)")]
    for column, bad, values, hint in checks:
        if bad.any():
            raise BridgeBayesError(f"{data.name}: {column}: {hint}; "
                                   + describe_offenders(list(ids[bad]), list(values[bad])))


def covariate_arrays(data: EndpointData, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Standardised design matrix of numeric covariates (empty dict without covariates).

    Parameters
    ----------
    data
        Endpoint data whose ``covariates`` frame holds the columns.
    names
        Covariate columns, in the order of the coefficients ``beta``.

    Returns
    -------
    dict
        ``covariates = (values - covariate_center) / covariate_scale``, shape ``(n,
        len(names))``, with the column means and standard deviations (``ddof=0``).

    Examples
    --------
    >>> d = EndpointData("os", np.ones(3), np.ones(3, int), np.array([0, 1, 1]), ("A", "B"),
    ...                  np.arange(3), covariates=pd.DataFrame({"age": [40.0, 50.0, 60.0]}))
    >>> arrays = covariate_arrays(d, ["age"])
    >>> arrays["covariates"].ravel().round(3).tolist(), arrays["covariate_center"].tolist()
    ([-1.225, 0.0, 1.225], [50.0])
    """
    if not names:
        return {}
    missing = [c for c in names if c not in data.covariates.columns]
    if missing:
        raise BridgeBayesError(f"{data.name}: covariates {missing} not found; available: "
                               f"{list(data.covariates.columns)}")
    if len(data.covariates) != np.asarray(data.time).size:
        raise BridgeBayesError(f"{data.name}: the covariate table has {len(data.covariates)} "
                               f"rows for {np.asarray(data.time).size} patients")
    for column in names:
        values = data.covariates[column]
        if not pd.api.types.is_numeric_dtype(values):
            raise BridgeBayesError(f"{data.name}: covariate {column!r} must be numeric (code "
                                   f"categories as 0/1 columns), got dtype {values.dtype}")
        bad = ~np.isfinite(values.to_numpy(float))
        if bad.any():
            raise BridgeBayesError(f"{data.name}: covariate {column!r} has missing or infinite "
                                   "values; impute or drop them first: "
                                   + describe_offenders(list(np.asarray(data.ids)[bad])))
    values = data.covariates[list(names)].to_numpy(float)
    center, scale = values.mean(axis=0), values.std(axis=0)
    if np.any(scale == 0):
        constant = [c for c, s in zip(names, scale, strict=True) if s == 0]
        raise BridgeBayesError(f"{data.name}: covariates {constant} are constant; drop them")
    return {"covariates": (values - center) / scale, "covariate_center": center,
            "covariate_scale": scale}
