"""The censoring model of the reconstruction: accrual, data cut-off, loss to follow-up.

Transplant dates ``U`` (months after the start of accrual) follow a density
proportional to ``u**(shape - 1)`` on the accrual window ``[0, window]`` (``shape > 1``: the
therapy was used more and more over time); the data cut-off is ``cutoff`` months after the
start, so administrative censoring is at ``cutoff - U``; loss to follow-up is exponential with
hazard ``loss_rate`` per month (0 allowed).  A patient alive at last contact is censored at
``C = min(cutoff - U, loss)``, so ``P(C > t) = P(U < cutoff - t) * exp(-loss_rate * t)``.

:func:`fit_censoring` fits the model to a published follow-up: the cut-off is the longest
follow-up (a patient transplanted at the start of accrual and alive at the cut-off), the loss
rate solves ``P(C > median) = 1/2`` for the reverse Kaplan–Meier median, which estimates the
median of ``C``.

Event times are not modelled here yet (see ``docs/reconstruction.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from bridgebayes.core.errors import PublishedSummaryError

__all__ = ["CensoringModel", "fit_censoring"]


@dataclass(frozen=True)
class CensoringModel:
    """Administrative censoring from accrual and cut-off, plus loss to follow-up.

    Attributes
    ----------
    window
        Length of the accrual window, months.
    shape
        Accrual density ``∝ u**(shape - 1)`` on ``[0, window]`` (1 = uniform).
    cutoff
        Data cut-off, months after the start of accrual (``>= window``).
    loss_rate
        Hazard of loss to follow-up per month (0 = none).
    """

    window: float
    shape: float
    cutoff: float
    loss_rate: float

    @property
    def loss_per_year(self) -> float:
        """Probability of being lost to follow-up within a year."""
        return 1.0 - math.exp(-12.0 * self.loss_rate)

    @property
    def shortest_administrative(self) -> float:
        """Follow-up of a patient transplanted at the end of accrual."""
        return self.cutoff - self.window

    def admin_survival(self, t: np.ndarray | float) -> np.ndarray:
        """``P(cutoff - U > t)``."""
        frac = np.clip((self.cutoff - np.asarray(t, float)) / self.window, 0.0, 1.0)
        return frac ** self.shape

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        """``P(C > t)`` of the censoring time ``C``."""
        t = np.asarray(t, float)
        return self.admin_survival(t) * np.exp(-self.loss_rate * t)

    def density(self, t: np.ndarray) -> np.ndarray:
        """Density of ``C`` (its administrative part is zero below the shortest follow-up)."""
        t = np.asarray(t, float)
        inside = (t > self.shortest_administrative) & (t < self.cutoff)
        frac = np.clip((self.cutoff - t) / self.window, 0.0, 1.0)
        admin_density = np.where(inside, self.shape * frac ** (self.shape - 1) / self.window, 0)
        return np.exp(-self.loss_rate * t) * (self.loss_rate * self.admin_survival(t)
                                              + admin_density)

    def median(self) -> float:
        """Median of ``C``."""
        return float(brentq(lambda t: float(self.survival(t)) - 0.5, 0.0, self.cutoff))


def fit_censoring(*, window: float, shape: float, followup: dict[str, float],
                  cutoff: float | None = None, where: str = "censoring") -> CensoringModel:
    """Fit the loss rate (and, unless given, the cut-off) to a published follow-up: median by
    reverse Kaplan–Meier, longest follow-up.

    Raises
    ------
    PublishedSummaryError
        When no loss rate >= 0 gives the median (administrative censoring alone already
        makes it shorter).
    """
    cutoff = followup["max"] if cutoff is None else cutoff
    if cutoff < window:
        raise PublishedSummaryError(
            f"{where}: the longest follow-up {cutoff:g} months is shorter than the accrual "
            f"window {window:g}: the cut-off cannot be fitted")
    model = CensoringModel(window, shape, cutoff, 0.0)
    median = followup["median"]
    admin = float(model.admin_survival(median))
    if admin < 0.5:
        raise PublishedSummaryError(
            f"{where}: with accrual shape {shape:g} the median follow-up without loss to "
            f"follow-up is already {model.median():.2f} months, shorter than the published "
            f"{median:g}: no loss rate fits; use a smaller accrual shape")
    rate = math.log(admin / 0.5) / median
    return CensoringModel(window, shape, cutoff, rate)
