"""Exact posterior "oracle" by quadrature for the PEM and Weibull PH families (docs/engine.md).

Baseline hazards are integrated analytically, ``log_hr`` (and ``log k``) on adaptive grids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, gammaln
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError, describe_offenders
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.models.piecewise import default_cuts, sufficient_stats
from bridgebayes.models.priors import LogHrPrior

__all__ = ["ExactPosterior", "pem_posterior", "weibull_posterior"]

_DROP = 46.0  # log density at the grid edges is at least this far below its maximum


@dataclass(frozen=True, eq=False)
class ExactPosterior:
    """Exact grid posterior from :func:`pem_posterior` or :func:`weibull_posterior`.

    Attributes
    ----------
    log_hr, density, slope, cdf, log_evidence
        ``log_hr`` grid, normalised marginal density, its derivative, CDF at the grid points;
        log marginal likelihood (densities per unit of the data's time).
    settings : dict
        For reports: ``a0``, ``log_hr_prior`` ``(mu, sigma)``, for a robust mixture prior
        ``log_hr_vague`` ``(weight, mu, sigma)`` of its vague component; PEM: ``cuts``,
        crude rate ``r``, ``events``/``exposure`` (interval, arm); Weibull: ``log_k_prior``,
        mean time ``m``, ``events`` per arm.  ``log_k``, ``joint``: Weibull grid, density
        (log_k, log_hr).
    conditional
        Draws of the baseline parameters given draws of ``log_hr`` (the model's conditional
        posterior, exact): ``conditional(post, log_hr, rng) -> dict``.
    """

    log_hr: np.ndarray
    density: np.ndarray
    slope: np.ndarray
    cdf: np.ndarray
    log_evidence: float
    settings: dict[str, Any]
    conditional: Callable[[ExactPosterior, np.ndarray, np.random.Generator],
                          dict[str, np.ndarray]]
    log_k: np.ndarray | None = None
    joint: np.ndarray | None = None
    _logt: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def log_hr_mean(self) -> float:
        """Posterior mean of ``log_hr``."""
        return float(np.trapezoid(self.log_hr * self.density, self.log_hr))

    def log_hr_prior(self) -> LogHrPrior:
        """The prior on ``log_hr`` the posterior was computed with."""
        mu, sigma = self.settings["log_hr_prior"]
        if "log_hr_vague" not in self.settings:
            return LogHrPrior(mu, sigma)
        w, vmu, vsigma = self.settings["log_hr_vague"]
        return LogHrPrior(mu, sigma, vague_weight=w, vague_mu=vmu, vague_sigma=vsigma)

    def vague_weight(self) -> float:
        """Posterior weight of the vague component of a robust mixture prior,
        ``E[w N(log_hr; vague) / p(log_hr) | data]`` on the grid (0 for a normal prior)."""
        share = self.log_hr_prior().vague_share(self.log_hr)
        return float(np.trapezoid(share * self.density, self.log_hr))

    def log_hr_sd(self) -> float:
        """Posterior standard deviation of ``log_hr``."""
        dev2 = (self.log_hr - self.log_hr_mean()) ** 2 * self.density
        return float(np.sqrt(np.trapezoid(dev2, self.log_hr)))

    def _cell(self, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g, i = self.log_hr, np.clip(np.searchsorted(self.log_hr, x) - 1, 0, self.log_hr.size - 2)
        return i, g[i + 1] - g[i], np.clip((np.asarray(x, float) - g[i]) / (g[i + 1] - g[i]), 0, 1)

    def _hermite(self, x: Any) -> tuple[np.ndarray, np.ndarray]:  # CDF, pdf: cubic Hermite
        (i, h, t), p, s = self._cell(x), self.density, self.slope
        part = (p[i] * (t**4 / 2 - t**3 + t) + h * s[i] * (t**4 / 4 - 2 * t**3 / 3 + t**2 / 2)
                + p[i + 1] * (t**3 - t**4 / 2) + h * s[i + 1] * (t**4 / 4 - t**3 / 3))
        return np.clip(self.cdf[i] + h * part, 0.0, 1.0), (
            p[i] * (2 * t**3 - 3 * t**2 + 1) + h * s[i] * (t**3 - 2 * t**2 + t)
            + p[i + 1] * (3 * t**2 - 2 * t**3) + h * s[i + 1] * (t**3 - t**2))

    def prob_hr_below(self, c: float = 1.0) -> float:
        """Posterior probability ``P(HR < c)``, e.g. ``post.prob_hr_below(0.8)``."""
        return float(self._hermite(np.log(_number("c", c, positive=True)))[0])

    def log_hr_quantile(self, q: Any) -> Any:
        """Posterior quantile(s) of ``log_hr``, e.g. ``post.log_hr_quantile([0.025, 0.975])``."""
        if not np.all((0 <= (q := np.asarray(q, float))) & (q <= 1)):
            raise BridgeBayesError(f"q: expected probabilities in [0, 1], got {q}")
        x = np.interp(q, self.cdf, self.log_hr)
        for _ in range(5):  # Newton steps on the Hermite CDF
            cdf, pdf = self._hermite(x)
            x = np.clip(x - (cdf - q) / np.where(pdf > 0, pdf, np.inf), *self.log_hr[[0, -1]])
        return float(x) if x.ndim == 0 else x

    def hdi(self, mass: float = 0.95) -> tuple[float, float]:
        """Highest-density (shortest) interval of ``log_hr``, e.g. ``post.hdi(0.95)``."""
        if not 0 < (mass := float(mass)) < 1:
            raise BridgeBayesError(f"mass: expected a probability in (0, 1), got {mass}")
        width = lambda a: self.log_hr_quantile(a + mass) - self.log_hr_quantile(a)  # noqa: E731
        i = np.argmin(width(p := np.linspace(0.0, 1.0 - mass, 801)))
        res = minimize_scalar(width, bounds=(p[max(i - 1, 0)], p[min(i + 1, 800)]),
                              method="bounded", options={"xatol": 1e-12})
        return self.log_hr_quantile(res.x), self.log_hr_quantile(res.x + mass)

    def draws(self, n: int, *, rng: np.random.Generator | int | None) -> dict[str, np.ndarray]:
        """Exact joint draws, e.g. ``post.draws(4000, rng=1)["log_hr"]``.

        ``log_hr``, ``hr`` by inverse CDF (linear within cells); then the baseline from its
        conditional posterior given ``log_hr`` (``conditional``: PEM ``lambda`` ``(n, J)``
        from the conditional Gammas, and ``cuts``; Weibull ``k`` from the grid, then ``lam``
        and ``log_lam`` from the conditional Gamma).
        """
        rng = np.random.default_rng(rng)
        beta = np.interp(rng.random(int(n)), self.cdf, self.log_hr)
        return {"log_hr": beta, "hr": np.exp(beta)} | self.conditional(self, beta, rng)

    def _log_k_given(self, beta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        (i, _, t), du, rows = self._cell(beta), np.diff(self.log_k), np.arange(beta.size)
        w = (1 - t)[:, None] * self.joint[:, i].T + t[:, None] * self.joint[:, i + 1].T
        c = np.cumsum(np.pad((w[:, 1:] + w[:, :-1]) / 2 * du, ((0, 0), (1, 0))), axis=1)
        target = rng.random(beta.size) * c[:, -1]
        j = np.clip((c < target[:, None]).sum(axis=1) - 1, 0, du.size - 1)
        step = c[rows, j + 1] - c[rows, j]
        frac = np.clip((target - c[rows, j]) / np.where(step > 0, step, 1.0), 0.0, 1.0)
        return self.log_k[j] + frac * du[j]


def _pem_conditional(post: ExactPosterior, beta: np.ndarray,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """PEM hazards given ``log_hr``: independent conditional Gammas (and the cut points)."""
    a0, d, e = (post.settings[k] for k in ("a0", "events", "exposure"))
    out = {"cuts": post.settings["cuts"]}  # constant, as the families' functions expect
    if post.settings["r"] == 0:  # data-scaled prior without events: point mass at 0
        return out | {"lambda": np.zeros((beta.size, d.shape[0]))}
    rate = a0 / post.settings["r"] + e[:, 0] + np.exp(beta)[:, None] * e[:, 1]
    return out | {"lambda": rng.gamma(a0 + d.sum(axis=1), 1.0 / rate)}


def _weibull_conditional(post: ExactPosterior, beta: np.ndarray,
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Weibull shape from the grid given ``log_hr``, then the scale's conditional Gamma."""
    a0, d = post.settings["a0"], post.settings["events"]
    chunks = np.split(beta, range(4096, beta.size, 4096))
    k = np.exp(np.concatenate([post._log_k_given(b, rng) for b in chunks]))
    log_t = _log_total(a0, np.log(post.settings["m"]), k[:, None], beta[:, None], *post._logt)
    with np.errstate(divide="ignore", over="ignore"):  # lam = inf beyond float range
        log_lam = np.log(rng.gamma(a0 + d.sum(), size=beta.size)) - log_t[:, 0]
        return {"k": k, "lam": np.exp(log_lam), "log_lam": log_lam}


def _number(name: str, value: Any, *, positive: bool = False) -> float:
    v = float(value) if isinstance(value, int | float | np.number) else np.nan
    if not np.isfinite(v) or (positive and v <= 0):
        raise BridgeBayesError(f"{name}: expected a finite number{' > 0' * positive}, got {value}")
    return v


def _check(data: EndpointData, **priors: float) -> tuple[np.ndarray, ...]:
    time, event, arm = (np.asarray(getattr(data, a)) for a in ("time", "event", "arm"))
    if time.ndim != 1 or time.size == 0 or not time.shape == event.shape == arm.shape:
        raise BridgeBayesError(f"data: no patients or unequal lengths (time, event, arm: "
                               f"{time.size}, {event.size}, {arm.size})")
    ids, time = np.asarray(getattr(data, "ids", np.arange(time.size))), time.astype(float)
    for name, values, ok, want in (("time", time, np.isfinite(time) & (time > 0), "> 0"),
                                   ("event", event, np.isin(event, (0, 1)), "0/1 (one cause)"),
                                   ("arm", arm, np.isin(arm, (0, 1)), "0/1")):
        if not ok.all():
            raise BridgeBayesError(f"data.{name}: expected {want}; "
                                   + describe_offenders(list(ids[~ok]), list(values[~ok])))
    checked = [_number(k, v, positive=k.endswith(("sigma", "a0"))) for k, v in priors.items()]
    return time, event.astype(int), arm.astype(int), *checked


def _grid(logpdf: Callable[..., np.ndarray], box: list[tuple[float, float]], *, n_min: int,
          n_max: int, h_max: float = 0.25) -> tuple[list[np.ndarray], np.ndarray]:
    """Adapt a tensor grid until its edges are ``_DROP`` below the maximum and it resolves it."""
    box, n = [list(b) for b in box], [n_min] * len(box)
    for _ in range(80):
        axes = [np.linspace(lo, hi, size) for (lo, hi), size in zip(box, n, strict=True)]
        g = logpdf(*np.meshgrid(*axes, indexing="ij", sparse=True))
        top = np.unravel_index(np.argmax(g), g.shape)
        keep, done = g >= g[top] - _DROP, True
        for d, ax in enumerate(axes):
            idx = np.flatnonzero(keep.any(axis=tuple(a for a in range(g.ndim) if a != d)))
            lo, hi, width, h = idx[0], idx[-1], ax[-1] - ax[0], ax[1] - ax[0]
            new = [ax[max(lo - 1, 0)] - width * (lo == 0),
                   ax[min(hi + 1, ax.size - 1)] + width * (hi == ax.size - 1)]
            if lo == 0 or hi == ax.size - 1 or new[1] - new[0] < 0.8 * width:
                box[d], done = new, False  # expand a touched edge, or shrink to the mass
                continue
            line, i = g[tuple(slice(None) if a == d else top[a] for a in range(g.ndim))], top[d]
            curv = -(line[i + 1] - 2 * line[i] + line[i - 1]) / h**2 if 0 < i < ax.size - 1 else 0
            need = int(np.ceil(width / min(h_max, 0.25 / np.sqrt(max(curv, 1e-300))))) + 1
            if need > n[d] and n[d] < n_max:  # refine: spacing <= sd / 4 at the mode
                n[d], done = min(need, n_max), False
        if done:
            return axes, g
    raise BridgeBayesError("could not locate the posterior mass on a grid")


def _finish(axes: list[np.ndarray], g: np.ndarray, dg: np.ndarray, **kw: Any) -> ExactPosterior:
    """Normalise; marginal density of ``log_hr`` and its slope (``dg`` = d log joint / d log_hr)."""
    top, x, log_k = g.max(), axes[-1], axes[0] if len(axes) == 2 else None
    e = np.exp(g - top)
    z = np.trapezoid(e, x) if log_k is None else np.trapezoid(np.trapezoid(e, x), log_k)
    joint = None if log_k is None else e / z
    p, slope = (e / z, e / z * dg) if log_k is None else (
        np.trapezoid(joint, log_k, axis=0), np.trapezoid(joint * dg, log_k, axis=0))
    h = np.diff(x)  # cell masses of the Hermite interpolant (Euler-Maclaurin corrected)
    cell = np.maximum(h * (p[:-1] + p[1:]) / 2 + h**2 * (slope[:-1] - slope[1:]) / 12, 0.0)
    cdf = np.concatenate([[0.0], np.cumsum(cell)])
    return ExactPosterior(log_hr=x, density=p, slope=slope, cdf=cdf / cdf[-1], log_k=log_k,
                          joint=joint, log_evidence=float(top + np.log(z)), **kw)


def _log_hr_prior(mu: float, sigma: float, weight: float, vague_mu: float,
                  vague_sigma: float | None) -> LogHrPrior:
    try:
        return LogHrPrior(mu, sigma, vague_weight=float(weight), vague_mu=float(vague_mu),
                          vague_sigma=None if vague_sigma is None else float(vague_sigma))
    except (TypeError, ValueError) as exc:
        raise BridgeBayesError(str(exc)) from None


def _prior_settings(prior: LogHrPrior) -> dict[str, tuple[float, ...]]:
    out = {"log_hr_prior": (prior.mu, prior.sigma)}
    if prior.is_mixture:
        out["log_hr_vague"] = (prior.vague_weight, prior.vague_mu, prior.vague_sigma)
    return out


def _lse(k: np.ndarray, log_t: np.ndarray) -> np.ndarray:
    """``log sum_i t_i^k`` (log-sum-exp over the last axis; ``-inf`` for no times)."""
    if log_t.size == 0:
        return np.full(np.shape(k), -np.inf)
    z = k[..., None] * log_t
    top = z.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[..., 0]


def _log_total(a0: float, log_m: float, k: Any, beta: Any, *log_ts: np.ndarray) -> np.ndarray:
    """``log(a0 m^k + sum_i t_i^k exp(log_hr x_i))``; ``log_ts`` = log times per arm."""
    inner = np.logaddexp(_lse(k, log_ts[0]), beta + _lse(k, log_ts[1]))
    return np.logaddexp(np.log(a0) + k * log_m, inner)


def pem_posterior(data: EndpointData, *, cuts: Any, log_hr_mu: float, log_hr_sigma: float,
                  a0: float = 0.1, crude_rate: float | None = None,
                  log_hr_vague_weight: float = 0.0, log_hr_vague_mu: float = 0.0,
                  log_hr_vague_sigma: float | None = None) -> ExactPosterior:
    """Exact posterior of the piecewise-exponential PH model (1-D grid over ``log_hr``).

    Parameters
    ----------
    data : EndpointData
        Time, event 0/1, arm 0 = reference / 1 = treatment.
    cuts : array_like or None
        Interior cut points (unit of ``data.time``); ``None``: ``piecewise.default_cuts``.
    log_hr_mu, log_hr_sigma, a0 : float
        ``log_hr ~ Normal(mu, sigma)``; ``lambda_j ~ Gamma(a0, rate=a0 / r)``, ``r`` = crude
        rate.  Without events ``r = 0``: hazards are 0, the posterior of ``log_hr`` its prior.
    crude_rate : float > 0 or None
        ``None``: ``r`` = total events / total exposure of ``data``; a number fixes ``r`` (a
        prior that does not depend on the data, e.g. for simulation-based calibration; proper
        also without events).
    log_hr_vague_weight, log_hr_vague_mu, log_hr_vague_sigma : float
        A robust mixture prior on ``log_hr`` when the weight is > 0
        (:class:`~bridgebayes.models.priors.LogHrPrior`).

    Examples
    --------
    >>> d = EndpointData("os", np.array([2.0, 5.0, 3.0, 9.0]), np.array([1, 1, 1, 0]),
    ...                  np.array([0, 0, 1, 1]), ("ref", "trt"), np.arange(4))
    >>> post = pem_posterior(d, cuts=[4.0], log_hr_mu=0.0, log_hr_sigma=1.0)
    >>> round(post.prob_hr_below(1.0), 3), post.draws(5, rng=1)["lambda"].shape
    (0.753, (5, 2))
    """
    time, event, arm, mu, sigma, a0 = _check(data, log_hr_mu=log_hr_mu,
                                             log_hr_sigma=log_hr_sigma, a0=a0)
    prior = _log_hr_prior(mu, sigma, log_hr_vague_weight, log_hr_vague_mu, log_hr_vague_sigma)
    cuts = default_cuts(time, event) if cuts is None else np.atleast_1d(np.asarray(cuts, float))
    if cuts.ndim != 1 or not np.all(np.isfinite(cuts)):  # order is checked by sufficient_stats
        raise BridgeBayesError(f"cuts: expected finite values, got {cuts}")
    d, e = sufficient_stats(time, event, arm, cuts)
    d1, w = d[:, 1].sum(), a0 + d.sum(axis=1)
    r = d.sum() / e.sum() if crude_rate is None else _number("crude_rate", crude_rate,
                                                               positive=True)
    proper = r > 0  # r = 0 (no events, data-scaled): b = inf, the likelihood is constant
    b = a0 / r if proper else np.inf
    log_c = np.log(b + e[:, 0])
    log_e1 = np.log(e[:, 1], out=np.full(w.size, -np.inf), where=e[:, 1] > 0)
    const = float(np.sum(a0 * np.log(b) + gammaln(w) - gammaln(a0))) if proper else 0.0

    def logpdf(x: np.ndarray) -> np.ndarray:
        like = x * d1 - np.sum(w * np.logaddexp(log_c, x[:, None] + log_e1), axis=1) + const
        return prior.logpdf(x) + (like if proper else 0.0)

    (x,), g = _grid(logpdf, [prior.span(10.0)], n_min=3001, n_max=20001)
    slope = d1 - np.sum(w * expit(x[:, None] + log_e1 - log_c), axis=1)
    dg = prior.dlogpdf(x) + (slope if proper else 0.0)
    return _finish([x], g, dg, conditional=_pem_conditional, settings={
        "a0": a0, **_prior_settings(prior), "cuts": cuts, "r": float(r), "events": d,
        "exposure": e})


def weibull_posterior(data: EndpointData, *, log_hr_mu: float, log_hr_sigma: float,
                      log_k_mu: float = 0.0, log_k_sigma: float = 1.0, a0: float = 0.1,
                      mean_time: float | None = None, log_hr_vague_weight: float = 0.0,
                      log_hr_vague_mu: float = 0.0,
                      log_hr_vague_sigma: float | None = None) -> ExactPosterior:
    """Exact posterior of the Weibull PH model (>= 301 x 301 grid over ``(log k, log_hr)``).

    Parameters
    ----------
    data : EndpointData
        Time, event 0/1, arm 0 = reference / 1 = treatment (times 1e-6 .. 1e5 are fine).
    log_hr_mu, log_hr_sigma, log_k_mu, log_k_sigma, a0 : float
        Normal priors on ``log_hr`` and ``log k``; ``lam | k ~ Gamma(a0, rate=a0 m^k)``,
        ``m`` = mean observed time (``lam`` is integrated analytically).
    mean_time : float > 0 or None
        ``None``: ``m`` = mean observed time of ``data``; a number fixes ``m`` (a prior that
        does not depend on the data, e.g. for simulation-based calibration).
    log_hr_vague_weight, log_hr_vague_mu, log_hr_vague_sigma : float
        A robust mixture prior on ``log_hr`` when the weight is > 0
        (:class:`~bridgebayes.models.priors.LogHrPrior`).

    Examples
    --------
    >>> d = EndpointData("os", np.array([2.0, 5.0, 3.0, 9.0]), np.array([1, 1, 1, 0]),
    ...                  np.array([0, 0, 1, 1]), ("ref", "trt"), np.arange(4))
    >>> post = weibull_posterior(d, log_hr_mu=0.0, log_hr_sigma=1.0)
    >>> round(post.log_hr_mean(), 3), sorted(post.draws(5, rng=1))
    (-0.622, ['hr', 'k', 'lam', 'log_hr', 'log_lam'])
    """
    time, event, arm, mu, sigma, kmu, ksig, a0 = _check(
        data, log_hr_mu=log_hr_mu, log_hr_sigma=log_hr_sigma, log_k_mu=log_k_mu,
        log_k_sigma=log_k_sigma, a0=a0)
    prior = _log_hr_prior(mu, sigma, log_hr_vague_weight, log_hr_vague_mu, log_hr_vague_sigma)
    m = float(time.mean()) if mean_time is None else _number("mean_time", mean_time,
                                                             positive=True)
    log_ts = np.log(time[arm == 0]), np.log(time[arm == 1])
    total, d1, w = event.sum(), event[arm == 1].sum(), a0 + event.sum()
    const, sum_log_t = gammaln(w) - gammaln(a0) + a0 * np.log(a0), np.log(time[event == 1]).sum()

    def logpdf(u: np.ndarray, x: np.ndarray) -> np.ndarray:
        k = np.exp(u)
        return (norm.logpdf(u, kmu, ksig) + prior.logpdf(x) + const + a0 * k * np.log(m)
                - w * _log_total(a0, np.log(m), k, x, *log_ts) + total * u
                + (k - 1) * sum_log_t + x * d1)

    box = [(kmu - 10 * ksig, kmu + 10 * ksig), prior.span(10.0)]
    axes, g = _grid(logpdf, box, n_min=301, n_max=1201)
    u, x = np.meshgrid(*axes, indexing="ij", sparse=True)
    log_share = x + _lse(np.exp(u), log_ts[1]) - _log_total(a0, np.log(m), np.exp(u), x, *log_ts)
    dg = prior.dlogpdf(x) + d1 - w * np.exp(log_share)
    return _finish(axes, g, dg, conditional=_weibull_conditional, _logt=log_ts, settings={
        "a0": a0, **_prior_settings(prior), "log_k_prior": (kmu, ksig), "m": m,
        "events": np.array([total - d1, d1])})
