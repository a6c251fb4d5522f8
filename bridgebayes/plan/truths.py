"""True parameters of simulated trials and their cumulative hazards (exact inversion).

A :class:`Truths` holds, for ``S`` simulated trials, a baseline (reference-arm) hazard —
piecewise exponential (``lambda`` per interval, shared cut points) or Weibull (``k``, ``lam``,
``H0(t) = lam · t^k``) — and a piecewise-constant treatment effect ``log_hr`` on pieces
separated by ``hr_cuts`` (one piece = proportional hazards; several = non-PH, e.g. a delayed
effect).  The treatment arm's cumulative hazard is ``H1(t) = Phi(H0(t))`` with ``Phi``
piecewise linear (slope ``HR_k`` between ``H0(hr_cut_{k-1})`` and ``H0(hr_cut_k)``), so both
arms are inverted exactly: ``T = H^-1(E)``, ``E ~ Exp(1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["Truths"]


@dataclass(frozen=True, eq=False)
class Truths:
    """Per-trial true parameters.

    Attributes
    ----------
    baseline : {"pem", "weibull"}
    log_hr : numpy.ndarray
        ``(S, K)``: log HR (treatment vs reference) on each of the ``K`` effect pieces.
    hr_cuts : numpy.ndarray
        ``(K - 1,)`` strictly increasing change points of the effect (months).
    lam : numpy.ndarray
        PEM: ``(S, J)`` baseline hazards per interval; Weibull: ``(S,)`` scale.
    cuts : numpy.ndarray or None
        PEM: ``(J - 1,)`` interior cut points of the baseline.
    k : numpy.ndarray or None
        Weibull: ``(S,)`` shapes.

    Examples
    --------
    >>> t = Truths("weibull", np.zeros((1, 1)), np.empty(0), np.array([0.1]), k=np.array([1.0]))
    >>> t.cumhaz(np.array([[2.0]]), np.array([1])).tolist()
    [[0.2]]
    """

    baseline: str
    log_hr: np.ndarray
    hr_cuts: np.ndarray
    lam: np.ndarray
    cuts: np.ndarray | None = None
    k: np.ndarray | None = None

    def __post_init__(self) -> None:
        log_hr, hr_cuts = np.asarray(self.log_hr, float), np.asarray(self.hr_cuts, float)
        if log_hr.ndim != 2 or hr_cuts.shape != (log_hr.shape[1] - 1,):
            raise BridgeBayesError(f"truths: log_hr must be (trials, pieces) with pieces = "
                                   f"len(hr_cuts) + 1; got {log_hr.shape} and {hr_cuts.shape}")
        if not np.all(np.isfinite(log_hr)):
            raise BridgeBayesError("truths: log_hr must be finite")
        _check_cuts("hr_cuts", hr_cuts)
        lam = np.asarray(self.lam, float)
        if self.baseline == "pem":
            cuts = np.asarray(self.cuts, float)
            _check_cuts("cuts", cuts)
            if lam.shape != (log_hr.shape[0], cuts.size + 1) or not np.all(lam > 0):
                raise BridgeBayesError(f"truths: PEM hazards must be > 0 with shape "
                                       f"{(log_hr.shape[0], cuts.size + 1)}, got {lam.shape}")
            object.__setattr__(self, "cuts", cuts)
        elif self.baseline == "weibull":
            k = np.asarray(self.k, float)
            if lam.shape != (log_hr.shape[0],) or k.shape != lam.shape or not (
                    np.all(lam > 0) and np.all(k > 0)):
                raise BridgeBayesError("truths: Weibull k and lam must be > 0, one per trial")
            object.__setattr__(self, "k", k)
        else:
            raise BridgeBayesError(f"truths: baseline must be 'pem' or 'weibull', got "
                                   f"{self.baseline!r}")
        for name, value in (("log_hr", log_hr), ("hr_cuts", hr_cuts), ("lam", lam)):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return self.log_hr.shape[0]

    # -- baseline ----------------------------------------------------------------------------
    def _edges(self) -> tuple[np.ndarray, np.ndarray]:
        return np.r_[0.0, self.cuts], np.r_[self.cuts, np.inf]

    def baseline_cumhaz(self, t: np.ndarray) -> np.ndarray:
        """``H0(t)`` for times ``t`` of shape ``(S, n)``."""
        t = np.asarray(t, float)
        if self.baseline == "weibull":
            return self.lam[:, None] * t ** self.k[:, None]
        lower, upper = self._edges()
        width = np.clip(t[..., None], lower, upper) - lower
        return np.einsum("snj,sj->sn", width, self.lam)

    def baseline_inverse(self, y: np.ndarray) -> np.ndarray:
        """``H0^-1(y)`` for cumulative hazards ``y`` of shape ``(S, n)``."""
        y = np.asarray(y, float)
        if self.baseline == "weibull":
            return (y / self.lam[:, None]) ** (1.0 / self.k[:, None])
        lower, upper = self._edges()
        at_cut = np.cumsum(self.lam[:, :-1] * (upper[:-1] - lower[:-1]), axis=1)  # H0(c_j)
        start = np.concatenate([np.zeros((len(self), 1)), at_cut], axis=1)      # (S, J)
        j = np.sum(y[..., None] > at_cut[:, None, :], axis=-1)
        h0 = np.take_along_axis(start, j, axis=1)
        rate = np.take_along_axis(self.lam, j, axis=1)
        return lower[j] + (y - h0) / rate

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
        return Truths(self.baseline, self.log_hr[index], self.hr_cuts, self.lam[index],
                      cuts=self.cuts, k=None if self.k is None else self.k[index])

    def with_log_hr(self, value: float) -> Truths:
        """The same baselines with a fixed (proportional) log HR ``value`` on every piece."""
        return Truths(self.baseline, np.full_like(self.log_hr, float(value)), self.hr_cuts,
                      self.lam, cuts=self.cuts, k=self.k)


def _check_cuts(name: str, cuts: np.ndarray) -> None:
    if cuts.ndim != 1 or not np.all(np.isfinite(cuts) & (cuts > 0)) or np.any(np.diff(cuts) <= 0):
        raise BridgeBayesError(f"truths: {name} must be strictly increasing finite values > 0, "
                               f"got {cuts}")
