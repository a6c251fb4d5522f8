"""How much a prior on the log hazard ratio weighs, in events: Schoenfeld's effective number of
events, the ratio of prior to data information, and the expected local-information-ratio ESS.

* A normal prior ``N(mu, sigma^2)`` on the log HR carries the information of
  ``1 / (sigma^2 p (1 - p))`` events at allocation ``p`` (the log-rank / Cox estimate from
  ``d`` events has variance about ``1 / (d p (1 - p))``; Schoenfeld 1981, Biometrika 68:316):
  4 / sigma^2 events at 1:1.
* The data's information on the log HR with ``d_0`` and ``d_1`` events per arm is about
  ``1 / (1/d_0 + 1/d_1)`` (the inverse variance of the log rate ratio); the prior outweighs
  the data ``(1 / sigma^2) / (1 / (1/d_0 + 1/d_1))`` times.
* ELIR (Neuenschwander, Weber, Schmidli & O'Hagan 2020, Biometrics 76:578, "Predictively
  consistent prior effective sample sizes"): ``E_prior[i(theta) / i_F(theta)]`` with ``i`` the
  prior's local information ``-d^2/dtheta^2 log pi(theta)`` and ``i_F`` the Fisher information
  of one unit (here one event: ``p (1 - p)``).  For a normal prior it equals Schoenfeld's
  number; for mixtures (robust or power-prior discounts) it is the predictively consistent
  one (the mean posterior ELIR after ``n`` more units, minus ``n``).
* The posterior weight of the vague component of a robust mixture prior
  ``(1 - w) N(mu, sigma^2) + w N(mu_v, sigma_v^2)``: ``P(vague | data) = E_post[w N(b; mu_v,
  sigma_v^2) / p(b)]`` over posterior draws ``b`` of the log HR — exact, because the component
  indicator depends on the data only through ``b``.  Beside the prior weight ``w``, its rise
  is evidence of prior-data conflict (``docs/priors.md``).

Pure numpy / scipy; the run's tables are built in :mod:`bridgebayes.run.prior_weight`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from scipy import integrate
from scipy.stats import norm

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.priors import LogHrPrior

__all__ = ["data_information", "elir", "log_hr_prior_elir", "normal_mixture_elir",
           "prior_events", "vague_posterior_weight"]


def _allocation(p: float) -> float:
    if not 0.0 < float(p) < 1.0:
        raise BridgeBayesError(f"allocation: expected a fraction strictly between 0 and 1, "
                               f"got {p!r}")
    return float(p)


def prior_events(sigma: float, allocation: float = 0.5) -> float:
    """Effective number of events of a ``N(mu, sigma^2)`` prior on the log HR,
    ``1 / (sigma^2 p (1 - p))`` at allocation ``p`` (the treatment arm's share of patients).

    Examples
    --------
    >>> prior_events(1.0)
    4.0
    >>> round(prior_events(0.42, allocation=9 / 36), 1)
    30.2
    """
    if not np.isfinite(sigma) or sigma <= 0:
        raise BridgeBayesError(f"sigma: expected a positive number, got {sigma!r}")
    p = _allocation(allocation)
    return 1.0 / (sigma ** 2 * p * (1.0 - p))


def data_information(events_reference: float, events_treatment: float) -> float:
    """The data's information on the log HR, ``1 / (1/d_0 + 1/d_1)`` (0 when an arm has no
    events: the log HR is then not estimable from the data).

    Examples
    --------
    >>> round(data_information(3, 8), 3)
    2.182
    """
    d = np.array([events_reference, events_treatment], float)
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise BridgeBayesError(f"events: expected counts >= 0, got {d.tolist()}")
    if np.any(d == 0):
        return 0.0
    return float(1.0 / np.sum(1.0 / d))


def elir(density: Callable[[np.ndarray], np.ndarray],
         local_information: Callable[[np.ndarray], np.ndarray],
         unit_information: Callable[[np.ndarray], np.ndarray], *,
         lower: float, upper: float) -> float:
    """Expected local-information-ratio ESS, ``E_prior[i(theta) / i_F(theta)]``, by adaptive
    quadrature over ``(lower, upper)``.

    Parameters
    ----------
    density
        The prior density ``pi(theta)``.
    local_information
        ``-d^2/dtheta^2 log pi(theta)``.
    unit_information
        The Fisher information of one unit (observation, event) at ``theta``.
    lower, upper
        The prior's support (or a range holding all but a negligible mass).

    Examples
    --------
    A Beta(a, b) prior for a binomial probability is worth a + b observations:

    >>> from scipy.stats import beta
    >>> a, b = 5.0, 15.0
    >>> round(elir(lambda t: beta.pdf(t, a, b),
    ...            lambda t: (a - 1) / t**2 + (b - 1) / (1 - t)**2,
    ...            lambda t: 1 / (t * (1 - t)), lower=0, upper=1), 6)
    20.0
    """
    value, _ = integrate.quad(lambda t: density(t) * local_information(t) / unit_information(t),
                              lower, upper, limit=400, epsabs=1e-10, epsrel=1e-10)
    return float(value)


def normal_mixture_elir(weights: Sequence[float], means: Sequence[float],
                        sds: Sequence[float], *, unit_information: float = 1.0) -> float:
    """ELIR of a normal mixture prior with constant unit information (the log HR: one event
    at allocation ``p`` carries ``p (1 - p)``).

    ``E[-d^2 log pi] = integral of pi'^2 / pi`` (the ``pi''`` term integrates to 0), computed
    by quadrature; for one component it is ``1 / (sd^2 unit_information)``.

    Examples
    --------
    >>> round(normal_mixture_elir([1.0], [0.0], [1.0], unit_information=0.25), 6)
    4.0
    """
    w = np.asarray(weights, float)
    m = np.asarray(means, float)
    s = np.asarray(sds, float)
    if not (w.shape == m.shape == s.shape and w.ndim == 1 and w.size) or np.any(w < 0) or (
            np.any(s <= 0)) or not np.isclose(w.sum(), 1.0):
        raise BridgeBayesError(f"mixture: expected weights >= 0 summing to 1 and positive sds "
                               f"of the same length, got {w.tolist()}, {m.tolist()}, "
                               f"{s.tolist()}")
    if unit_information <= 0:
        raise BridgeBayesError(f"unit_information: expected > 0, got {unit_information!r}")

    def score_squared(t: float) -> float:
        z = (t - m) / s
        pdf = w * norm.pdf(z) / s
        total = pdf.sum()
        if total <= 0:
            return 0.0
        derivative = np.sum(-pdf * z / s)
        return derivative ** 2 / total

    # piecewise over the components' ranges so no narrow component is stepped over
    points = np.sort(np.concatenate([m - 12 * s, m, m + 12 * s]))
    value = sum(integrate.quad(score_squared, a, b, limit=200, epsabs=1e-12, epsrel=1e-10)[0]
                for a, b in itertools.pairwise(points) if b > a)
    return float(value / unit_information)


def log_hr_prior_elir(prior: LogHrPrior, allocation: float = 0.5) -> float:
    """ELIR in events of a log-HR prior (a normal or the robust mixture) at ``allocation``:
    :func:`normal_mixture_elir` of its components (Schoenfeld's number for a normal).

    Examples
    --------
    >>> round(log_hr_prior_elir(LogHrPrior(0.0, 1.0)), 6)
    4.0
    """
    p = _allocation(allocation)
    return normal_mixture_elir(*prior.components(), unit_information=p * (1.0 - p))


def vague_posterior_weight(prior: LogHrPrior, log_hr: np.ndarray) -> tuple[float, float]:
    """Posterior weight of the vague component, ``mean(w N(b; vague) / p(b))`` over the
    posterior draws ``b`` of the log HR, and its Monte Carlo standard error.

    Parameters
    ----------
    prior
        The robust mixture prior the draws were made under (a normal prior raises).
    log_hr
        Posterior draws, 1-D (independent) or ``(chain, draw)`` (MCSE by ArviZ's ESS).

    Examples
    --------
    >>> prior = LogHrPrior(0.0, 0.2, vague_weight=0.5, vague_sigma=2.0)
    >>> weight, mcse = vague_posterior_weight(prior, np.zeros(10))
    >>> round(weight, 4), mcse
    (0.0909, 0.0)
    """
    if not prior.is_mixture:
        raise BridgeBayesError("vague_posterior_weight: the prior is a normal, without a vague "
                               "component")
    draws = np.asarray(log_hr, float)
    if draws.ndim not in (1, 2) or draws.size < 2 or not np.all(np.isfinite(draws)):
        raise BridgeBayesError(f"log_hr: expected finite draws, 1-D or (chain, draw), got shape "
                               f"{draws.shape}")
    share = prior.vague_share(draws)
    estimate = float(share.mean())
    sd = float(share.std(ddof=1))
    if sd == 0.0:
        return estimate, 0.0
    if draws.ndim == 1:
        return estimate, sd / np.sqrt(share.size)
    import arviz as az

    ess = float(az.ess(share))
    return estimate, sd / np.sqrt(ess)
