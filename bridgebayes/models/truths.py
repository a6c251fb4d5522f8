"""True parameters of simulated trials and their cumulative hazards (exact inversion).

A :class:`Truths` holds, for ``S`` simulated trials, a baseline (reference-arm) hazard — the
baseline parameters of any registered survival family, one row per trial (e.g. PEM
``lambda`` per interval with the family's cut points, or Weibull ``k``, ``lam``) — and a
piecewise-constant treatment effect ``log_hr`` on pieces separated by ``hr_cuts`` (one piece =
proportional hazards; several = non-PH, e.g. a delayed effect).  The treatment arm's
cumulative hazard is ``H1(t) = Phi(H0(t))`` with ``Phi`` piecewise linear (slope ``HR_k``
between ``H0(hr_cut_{k-1})`` and ``H0(hr_cut_k)``), so both arms are inverted exactly with the
family's baseline inverse: ``T = H^-1(E)``, ``E ~ Exp(1)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families import SurvivalFamily

__all__ = ["Truths"]


@dataclass(frozen=True, eq=False)
class Truths:
    """Per-trial true parameters.

    Attributes
    ----------
    family : SurvivalFamily
        The baseline's family (its options hold constants such as PEM cut points).
    log_hr : numpy.ndarray
        ``(S, K)``: log HR (treatment vs reference) on each of the ``K`` effect pieces.
    hr_cuts : numpy.ndarray
        ``(K - 1,)`` strictly increasing change points of the effect.
    baseline : dict
        The family's baseline parameters (:meth:`~bridgebayes.models.families.
        SurvivalFamily.baseline_variables`), each with one row per trial.

    Examples
    --------
    >>> from bridgebayes.models.families import WeibullPH
    >>> t = Truths(WeibullPH(), np.zeros((1, 1)), np.empty(0),
    ...            {"k": np.array([1.0]), "lam": np.array([0.1])})
    >>> t.cumhaz(np.array([[2.0]]), np.array([1])).round(12).tolist()
    [[0.2]]
    """

    family: SurvivalFamily
    log_hr: np.ndarray
    hr_cuts: np.ndarray
    baseline: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        log_hr, hr_cuts = np.asarray(self.log_hr, float), np.asarray(self.hr_cuts, float)
        if log_hr.ndim != 2 or hr_cuts.shape != (log_hr.shape[1] - 1,):
            raise BridgeBayesError(f"truths: log_hr must be (trials, pieces) with pieces = "
                                   f"len(hr_cuts) + 1; got {log_hr.shape} and {hr_cuts.shape}")
        if not np.all(np.isfinite(log_hr)):
            raise BridgeBayesError("truths: log_hr must be finite")
        _check_cuts("hr_cuts", hr_cuts)
        if not isinstance(self.family, SurvivalFamily):
            raise BridgeBayesError(f"truths: family must be a survival family, got "
                                   f"{self.family!r}")
        names = self.family.baseline_variables()
        if set(self.baseline) != set(names):
            raise BridgeBayesError(f"truths: baseline must hold {list(names)} of family "
                                   f"{self.family.name!r}, got {sorted(self.baseline)}")
        baseline = {k: np.asarray(v, float) for k, v in self.baseline.items()}
        for name, value in baseline.items():
            if value.shape[:1] != (log_hr.shape[0],) or not np.all(np.isfinite(value) &
                                                                    (value > 0)):
                raise BridgeBayesError(f"truths: {name} must be > 0 with one row per trial "
                                       f"({log_hr.shape[0]}), got shape {value.shape}")
        object.__setattr__(self, "log_hr", log_hr)
        object.__setattr__(self, "hr_cuts", hr_cuts)
        object.__setattr__(self, "baseline", baseline)

    def __len__(self) -> int:
        return self.log_hr.shape[0]

    # -- baseline ----------------------------------------------------------------------------
    def _draws(self) -> dict[str, np.ndarray]:
        return {"log_hr": np.zeros(len(self)), **self.baseline}

    def baseline_cumhaz(self, t: np.ndarray) -> np.ndarray:
        """``H0(t)`` for times ``t`` of shape ``(S, n)``."""
        return self.family.cumhaz_rows(self._draws(), np.asarray(t, float))

    def baseline_inverse(self, y: np.ndarray) -> np.ndarray:
        """``H0^-1(y)`` for cumulative hazards ``y`` of shape ``(S, n)``."""
        return self.family.baseline_inverse(self._draws(), np.asarray(y, float))

    # -- effect ------------------------------------------------------------------------------
    def _pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """``Phi`` knots: ``u_k = H0(hr_cut_k)`` and ``A_k = Phi(u_k)``, both ``(S, K)``."""
        s = len(self)
        cut_t = np.broadcast_to(self.hr_cuts, (s, self.hr_cuts.size))
        u = np.concatenate([np.zeros((s, 1)), self.baseline_cumhaz(cut_t)], axis=1)
        hr = np.exp(self.log_hr)
        a = np.concatenate([np.zeros((s, 1)), np.cumsum(hr[:, :-1] * np.diff(u, axis=1),
                                                        axis=1)], axis=1)
        return u, a

    def cumhaz(self, t: np.ndarray, arm: np.ndarray) -> np.ndarray:
        """Cumulative hazard of arm ``arm`` (``(n,)`` 0/1) at times ``t`` ``(S, n)``."""
        h0 = self.baseline_cumhaz(t)
        u, a = self._pieces()
        k = np.sum(h0[..., None] > u[:, None, 1:], axis=-1)
        h1 = (np.take_along_axis(a, k, axis=1)
              + np.exp(np.take_along_axis(self.log_hr, k, axis=1))
              * (h0 - np.take_along_axis(u, k, axis=1)))
        return np.where(np.asarray(arm)[None, :] == 1, h1, h0)

    def inverse_cumhaz(self, y: np.ndarray, arm: np.ndarray) -> np.ndarray:
        """Time at which arm ``arm`` reaches cumulative hazard ``y`` ``(S, n)``."""
        y = np.asarray(y, float)
        u, a = self._pieces()
        k = np.sum(y[..., None] > a[:, None, 1:], axis=-1)
        h0 = (np.take_along_axis(u, k, axis=1)
              + (y - np.take_along_axis(a, k, axis=1))
              / np.exp(np.take_along_axis(self.log_hr, k, axis=1)))
        return self.baseline_inverse(np.where(np.asarray(arm)[None, :] == 1, h0, y))

    def take(self, index: np.ndarray) -> Truths:
        """The truths of the trials ``index``."""
        return Truths(self.family, self.log_hr[index], self.hr_cuts,
                      {k: v[index] for k, v in self.baseline.items()})

    def with_log_hr(self, value: float) -> Truths:
        """The same baselines with a fixed (proportional) log HR ``value`` on every piece."""
        return Truths(self.family, np.full_like(self.log_hr, float(value)), self.hr_cuts,
                      self.baseline)


def _check_cuts(name: str, cuts: np.ndarray) -> None:
    if cuts.ndim != 1 or not np.all(np.isfinite(cuts) & (cuts > 0)) or np.any(np.diff(cuts) <= 0):
        raise BridgeBayesError(f"truths: {name} must be strictly increasing finite values > 0, "
                               f"got {cuts}")
