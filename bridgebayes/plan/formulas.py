"""Closed-form references for planning: Schoenfeld's events and O'Hagan–Stevens–Campbell assurance.

Both use the large-sample approximation of the log-rank test: the estimated log HR after
``D`` events with a fraction ``p`` of patients on treatment is ``Normal(theta, 1 / (p (1 − p)
D))`` (Schoenfeld, Biometrika 1981;68:316-319).  Success = one-sided test at level ``alpha``
in favour of the treatment (``HR < 1``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["ohagan_assurance", "schoenfeld_events"]


def _fraction(allocation: float) -> float:
    if not (np.isfinite(allocation) and allocation > 0):
        raise BridgeBayesError(f"allocation: expected a number > 0, got {allocation!r}")
    return allocation / (1.0 + allocation)


def schoenfeld_events(hr: float, *, alpha: float = 0.025, power: float = 0.8,
                      allocation: float = 1.0) -> float:
    """Events needed: ``(z_{1−alpha} + z_power)² / (p (1 − p) log(hr)²)``.

    Examples
    --------
    >>> round(schoenfeld_events(0.7), 1)  # two-sided 0.05 = one-sided 0.025, 80% power
    246.8
    """
    if not (0 < hr and hr != 1 and 0 < alpha < 0.5 and 0 < power < 1):
        raise BridgeBayesError(f"schoenfeld_events: need hr > 0, != 1, 0 < alpha < 0.5, "
                               f"0 < power < 1; got {hr}, {alpha}, {power}")
    p = _fraction(allocation)
    return float((norm.ppf(1 - alpha) + norm.ppf(power)) ** 2 / (p * (1 - p) * np.log(hr) ** 2))


def ohagan_assurance(mu: float, sigma: float, events: float, *, alpha: float = 0.025,
                     allocation: float = 1.0) -> float:
    """Assurance with a ``Normal(mu, sigma)`` prior on the log HR (O'Hagan, Stevens & Campbell,
    Pharm Stat 2005;4:187-201): ``Phi((−z_{1−alpha} s − mu) / sqrt(s² + sigma²))``,
    ``s² = 1 / (p (1 − p) D)``.  ``sigma = 0`` gives the power at ``HR = exp(mu)``.

    Examples
    --------
    >>> round(ohagan_assurance(np.log(0.7), 0.0, 246.8), 3)
    0.8
    """
    if not (sigma >= 0 and events > 0 and 0 < alpha < 0.5):
        raise BridgeBayesError(f"ohagan_assurance: need sigma >= 0, events > 0, 0 < alpha < 0.5;"
                               f" got {sigma}, {events}, {alpha}")
    p = _fraction(allocation)
    s2 = 1.0 / (p * (1 - p) * events)
    return float(norm.cdf((-norm.ppf(1 - alpha) * np.sqrt(s2) - mu) / np.sqrt(s2 + sigma**2)))
