"""The exact PEM-Gamma posterior of ``log_hr`` (``docs/engine.md``), vectorised across trials.

The same marginal posterior as :func:`bridgebayes.models.exact.pem_posterior` (baseline hazards
integrated analytically, ``lambda_j ~ Gamma(a0, a0 / r)`` with ``r`` the trial's crude rate),
with a Normal or Normal-mixture prior on ``log_hr``.  For every trial at once: the region
holding the mass (log density within ``DROP`` of the maximum) is bracketed by repeated
33-point grids (valid for unimodal posteriors: PEM likelihoods are log-concave in ``log_hr``,
so this holds for Normal priors; a mixture of far-apart components may not be unimodal), then
integrated by Gauss-Legendre quadrature on the segments between the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import logsumexp

from bridgebayes.core.errors import BridgeBayesError

__all__ = ["NormalMixture", "pem_prob_below", "pem_stats"]

DROP = 40.0
_GRID = 33
_NODES, _WEIGHTS = leggauss(32)


@dataclass(frozen=True)
class NormalMixture:
    """Prior on ``log_hr``: ``sum_k w_k Normal(mu_k, sigma_k)`` (one component: Normal).

    Examples
    --------
    >>> NormalMixture((1.0,), (0.0,), (1.0,)).logpdf(np.array([0.0])).round(4).tolist()
    [-0.9189]
    """

    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]

    def __post_init__(self) -> None:
        w, m, s = (np.asarray(v, float) for v in (self.weights, self.means, self.sds))
        if not (w.ndim == 1 and w.size and w.shape == m.shape == s.shape and np.all(w >= 0)
                and np.all(np.isfinite(m)) and np.all(s > 0) and np.all(np.isfinite(s))
                and abs(w.sum() - 1) < 1e-9):
            raise BridgeBayesError(f"prior: expected weights >= 0 summing to 1, finite means, "
                                   f"sds > 0, all the same length; got {self}")

    @classmethod
    def normal(cls, mu: float, sigma: float) -> NormalMixture:
        """``Normal(mu, sigma)``."""
        return cls((1.0,), (float(mu),), (float(sigma),))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x`` (any shape)."""
        x = np.asarray(x, float)
        if len(self.weights) == 1:
            z = (x - self.means[0]) / self.sds[0]
            return -0.5 * z * z - np.log(self.sds[0] * np.sqrt(2 * np.pi))
        w, m, s = (np.asarray(v, float) for v in (self.weights, self.means, self.sds))
        with np.errstate(divide="ignore"):
            z = (x[..., None] - m) / s
            return logsumexp(np.log(w) - 0.5 * z**2 - np.log(s) - 0.5 * np.log(2 * np.pi),
                             axis=-1)

    def box(self) -> tuple[float, float]:
        """An interval holding all prior mass (means ± 12 SD)."""
        m, s = np.asarray(self.means), np.asarray(self.sds)
        return float(np.min(m - 12 * s)), float(np.max(m + 12 * s))


def pem_stats(time: np.ndarray, event: np.ndarray, arm: np.ndarray, include: np.ndarray,
              cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events and exposure per trial, interval and arm, ``(S, J, 2)`` each.

    Same convention as :func:`bridgebayes.models.piecewise.sufficient_stats` (intervals
    ``(c_{j-1}, c_j]``), for ``(S, N)`` arrays.
    """
    cuts, time = np.asarray(cuts, float), np.asarray(time, float)
    lower, upper = np.r_[0.0, cuts], np.r_[cuts, np.inf]
    inc = np.asarray(include, bool)
    interval = np.searchsorted(cuts, time, side="left")
    hit = (np.asarray(event) > 0) & inc
    events = np.empty((time.shape[0], lower.size, 2))
    exposure = np.empty_like(events)
    for a in (0, 1):
        cols = np.flatnonzero(np.asarray(arm) == a)
        t, h, i = time[:, cols], hit[:, cols], interval[:, cols]
        t = np.where(inc[:, cols], t, 0.0)
        for j in range(lower.size):
            exposure[:, j, a] = np.minimum(np.maximum(t - lower[j], 0.0),
                                           upper[j] - lower[j]).sum(axis=1)
            events[:, j, a] = (h & (i == j)).sum(axis=1)
    return events, exposure


def pem_prob_below(events: np.ndarray, exposure: np.ndarray, prior: NormalMixture, *,
                   thresholds: tuple[float, ...] = (1.0,), a0: float = 0.1,
                   crude_rate: float | None = None) -> np.ndarray:
    """Posterior ``P(HR < c | trial)`` for every trial and threshold ``c``.

    Parameters
    ----------
    events, exposure : ``(S, J, 2)``
        Sufficient statistics (:func:`pem_stats`).
    prior
        Prior of ``log_hr``.
    thresholds
        HR thresholds ``c``.
    a0
        Shape of the Gamma baseline prior (0.1, as the PEM family and the oracle).
    crude_rate
        ``None``: the baseline prior's rate is scaled by each trial's crude event rate (as
        the PEM family by default); a number fixes it (the family's ``crude_rate``).

    Returns
    -------
    numpy.ndarray
        ``(S, len(thresholds))``.

    Examples
    --------
    >>> d = np.array([[[3.0, 1.0]]]); e = np.array([[[30.0, 30.0]]])
    >>> pem_prob_below(d, e, NormalMixture.normal(0.0, 1.0)).round(4).tolist()
    [[0.7656]]
    """
    d, e = np.asarray(events, float), np.asarray(exposure, float)
    if d.ndim != 3 or d.shape != e.shape or d.shape[2] != 2:
        raise BridgeBayesError(f"events/exposure: expected equal (trials, intervals, 2) shapes, "
                               f"got {d.shape}, {e.shape}")
    c = np.log(np.asarray(thresholds, float))
    if c.ndim != 1 or not np.all(np.isfinite(c)) or np.any(np.diff(c) <= 0):
        raise BridgeBayesError(f"thresholds: expected increasing values > 0, got {thresholds}")
    total, exp_total = d.sum(axis=(1, 2)), e.sum(axis=(1, 2))
    if crude_rate is None:  # data-scaled: without events the hazards are 0, log HR its prior
        has = total > 0
        b = np.where(has, a0 * exp_total / np.where(has, total, 1.0), 1.0)
    else:
        has, b = np.ones(d.shape[0], bool), np.full(d.shape[0], a0 / float(crude_rate))
    w = a0 + d.sum(axis=2)                                                   # (S, J)
    d1 = d[:, :, 1].sum(axis=1)
    c0, e1 = b[:, None, None] + e[:, None, :, 0], e[:, None, :, 1]

    def logpdf(x: np.ndarray) -> np.ndarray:  # x (S, G); exp overflow far out gives -inf
        with np.errstate(over="ignore"):
            inner = np.log(c0 + np.exp(x)[..., None] * e1)
        like = x * d1[:, None] - np.einsum("sj,sgj->sg", w, inner)
        return prior.logpdf(x) + np.where(has[:, None], like, 0.0)

    lo, hi = np.full(d.shape[0], prior.box()[0]), np.full(d.shape[0], prior.box()[1])
    top = np.full(d.shape[0], -np.inf)
    for _ in range(12):
        x = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, _GRID)
        g = logpdf(x)
        top = np.maximum(top, g.max(axis=1))
        keep = g >= top[:, None] - DROP
        first, last = np.argmax(keep, axis=1), _GRID - 1 - np.argmax(keep[:, ::-1], axis=1)
        rows = np.arange(d.shape[0])
        new_lo, new_hi = x[rows, np.maximum(first - 1, 0)], x[rows, np.minimum(last + 1, _GRID - 1)]
        shrunk = (new_hi - new_lo) < 0.8 * (hi - lo)
        lo, hi = new_lo, new_hi
        if not shrunk.any():
            break
    edges = np.concatenate([lo[:, None], np.clip(c[None, :], lo[:, None], hi[:, None]),
                            hi[:, None]], axis=1)
    mass = np.stack([_segment(logpdf, edges[:, i], edges[:, i + 1], top)
                     for i in range(c.size + 1)], axis=1)
    cdf = np.cumsum(mass, axis=1)
    return cdf[:, :-1] / cdf[:, -1:]


def _segment(logpdf, lo: np.ndarray, hi: np.ndarray, top: np.ndarray) -> np.ndarray:
    """``∫ exp(logpdf − top)`` over ``[lo, hi]``: 2 Gauss-Legendre panels of 32 nodes."""
    half = (hi - lo)[:, None] / 4
    mids = np.stack([lo + (hi - lo) / 4, lo + 3 * (hi - lo) / 4], axis=1)    # (S, 2)
    x = (mids[:, :, None] + half[:, :, None] * _NODES).reshape(lo.size, -1)
    f = np.exp(logpdf(x) - top[:, None])
    return (f * np.tile(_WEIGHTS, 2)).sum(axis=1) * half[:, 0]
