"""Prior objects (closed registry, TOML round trip, PyMC + scipy twins) and named priors on
``log_hr``, the log hazard ratio of treatment (CAR-T) vs reference (blinatumomab): HR < 1
favours treatment. Built-in named sets: neutral / skeptical, weak / moderate / strong; a study's
own informative priors (e.g. an enthusiastic one) are declared in its spec."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import tomli_w

from bridgebayes.core.errors import SpecError
from bridgebayes.models.log_hr_prior import LogHrPrior, family_prior_options

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DISTRIBUTIONS", "LOG_HR_PRIORS", "STRENGTHS", "LogHrPrior", "NamedPrior", "Prior",
           "describe", "family_prior_options", "log_hr_normal", "log_hr_prior",
           "named_log_hr_prior", "prior_to_toml"]


# The closed registry: name -> (PyMC parameter names, those that must be > 0, scipy twin).
DISTRIBUTIONS: Mapping[str, tuple[str, str, Callable[..., Any]]] = MappingProxyType({
    "Normal": ("mu sigma", "sigma", lambda mu, sigma: _stats().norm(mu, sigma)),
    "StudentT": ("nu mu sigma", "nu sigma", lambda nu, mu, sigma: _stats().t(nu, mu, sigma)),
    "HalfNormal": ("sigma", "sigma", lambda sigma: _stats().halfnorm(scale=sigma)),
    "LogNormal": ("mu sigma", "sigma",
                  lambda mu, sigma: _stats().lognorm(sigma, scale=np.exp(mu))),
    "Gamma": ("alpha beta", "alpha beta",
              lambda alpha, beta: _stats().gamma(alpha, scale=1 / beta)),
    "Exponential": ("lam", "lam", lambda lam: _stats().expon(scale=1 / lam)),
})


def _stats():
    """``scipy.stats``, imported when a scipy twin is first made (it takes a second to
    import; reading and checking a spec does not need it)."""
    from scipy import stats

    return stats


def _check_kwargs(dist: str, kwargs: object, where: str) -> dict[str, float]:
    if not isinstance(kwargs, Mapping):
        raise SpecError(f"{where}.kwargs must be a table of parameters, got {kwargs!r}")
    params = DISTRIBUTIONS[dist][0].split()
    problems = [f"missing {p!r}" for p in params if p not in kwargs]
    for key in (k for k in kwargs if k not in params):
        close = difflib.get_close_matches(str(key), params, n=1)
        problems.append(f"unknown {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if problems:
        raise SpecError(f"{where}.kwargs: {'; '.join(problems)}; {dist} takes {', '.join(params)}")
    out = {}
    for key in params:
        value = kwargs[key]
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise SpecError(f"{where}.kwargs.{key} must be a number, got {value!r}")
        value = float(value)
        positive = key in DISTRIBUTIONS[dist][1].split()
        if not math.isfinite(value) or (positive and value <= 0):
            need = "finite and > 0" if positive else "finite"
            raise SpecError(f"{where}.kwargs.{key} must be {need} for {dist}, got {value!r}")
        out[key] = value
    return out


@dataclass(frozen=True)
class Prior:
    """A prior from a closed registry; bad dist/parameters/values raise SpecError at once.

    Parameters
    ----------
    dist
        A key of :data:`DISTRIBUTIONS`; parameters as PyMC (Gamma: alpha shape, beta rate).
    kwargs
        Parameters by PyMC name; stored as a read-only mapping of floats.
    where
        Where the prior came from (e.g. ``"priors.log_hr"``), named in every SpecError.

    Examples
    --------
    >>> p = Prior("Normal", {"mu": 0, "sigma": 0.42}, where="priors.log_hr")
    >>> p.to_dict()
    {'dist': 'Normal', 'kwargs': {'mu': 0.0, 'sigma': 0.42}}
    >>> Prior.from_dict(p.to_dict(), where="priors.log_hr") == p
    True
    >>> round(float(p.cdf(math.log(0.5))), 4), p.sample(1, 3).shape, p.sd()
    (0.0494, (3,), 0.42)
    >>> import pymc as pm
    >>> with pm.Model(coords={"interval": [0, 1, 2]}):
    ...     p.create("log_hr_interval", dims="interval").name
    'log_hr_interval'
    """

    dist: str
    kwargs: Mapping[str, float]
    where: str = field(default="prior", kw_only=True, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dist, str) or self.dist not in DISTRIBUTIONS:
            raise SpecError(f"{self.where}.dist: unknown distribution {self.dist!r}; "
                            f"allowed: {', '.join(DISTRIBUTIONS)}")
        checked = _check_kwargs(self.dist, self.kwargs, self.where)
        object.__setattr__(self, "kwargs", MappingProxyType(checked))

    def __hash__(self) -> int:
        return hash((self.dist, tuple(self.kwargs.items())))

    def __reduce__(self) -> tuple[Any, ...]:  # a mappingproxy cannot be pickled or deep-copied
        return (partial(Prior, where=self.where), (self.dist, dict(self.kwargs)))

    def to_dict(self) -> dict[str, Any]:
        """The prior as ``{"dist": ..., "kwargs": {...}}`` (plain dicts, TOML-ready)."""
        return {"dist": self.dist, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, table: object, *, where: str) -> Prior:
        """Inverse of :meth:`to_dict`, strict: exactly the keys ``dist`` and ``kwargs``."""
        if not isinstance(table, Mapping) or set(table) != {"dist", "kwargs"}:
            raise SpecError(f"{where} must be a table of just dist and kwargs, got {table!r}")
        return cls(table["dist"], table["kwargs"], where=where)

    def create(self, name: str, *, dims: str | tuple[str, ...] | None = None) -> Any:
        """Create the PyMC random variable ``name`` inside the active ``pm.Model``."""
        import pymc as pm
        # float64, not float: PyTensor keeps e.g. 2.5 as float32 and its logp then errs ~1e-6
        params = {key: np.float64(value) for key, value in self.kwargs.items()}
        return getattr(pm, self.dist)(name, **params, dims=dims)

    def scipy(self) -> Any:
        """The equivalent frozen ``scipy.stats`` distribution (one mechanism for the maths)."""
        *_, twin = DISTRIBUTIONS[self.dist]
        return twin(**self.kwargs)

    def logpdf(self, x: Any) -> np.ndarray:
        """Log density at ``x``; equals PyMC's ``pm.logp`` (``-inf`` outside the support)."""
        return self.scipy().logpdf(x)

    def cdf(self, x: Any) -> np.ndarray:
        """Cumulative distribution function at ``x``."""
        return self.scipy().cdf(x)

    def sample(self, rng: np.random.Generator | int, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw ``size`` values with scipy from ``rng`` (a Generator or an integer seed)."""
        return self.scipy().rvs(size=size, random_state=np.random.default_rng(rng))

    def mean(self) -> float:
        """Prior mean (``nan``/``inf`` where undefined, e.g. StudentT with nu <= 1)."""
        return float(self.scipy().mean())

    def sd(self) -> float:
        """Prior standard deviation (``nan``/``inf`` where undefined)."""
        return float(self.scipy().std())


def prior_to_toml(prior: Prior) -> str:
    """The prior as a TOML document; ``tomllib`` + :meth:`Prior.from_dict` read it back.

    Examples
    --------
    >>> import tomllib
    >>> text = prior_to_toml(prior := Prior("Gamma", {"alpha": 2, "beta": 0.5}))
    >>> text.splitlines()
    ['dist = "Gamma"', '', '[kwargs]', 'alpha = 2.0', 'beta = 0.5']
    >>> Prior.from_dict(tomllib.loads(text), where="priors.lam") == prior
    True
    """
    return tomli_w.dumps(prior.to_dict())


@dataclass(frozen=True)
class NamedPrior:
    """A prior on ``log_hr`` with a name, a one-sentence meaning and its source."""

    name: str
    prior: Prior
    meaning: str
    source: str


STRENGTHS: Mapping[str, float] = MappingProxyType({"weak": 2.0, "moderate": 1.0, "strong": 0.5})
_CONVENTIONS = ("Zampieri FG et al., Am J Respir Crit Care Med 2021;203:543-552; "
                "Goligher EC et al., JAMA 2018;320:2251-2259")
_KINDS = {  # kind -> (mu, sd at moderate strength, source)
    "neutral": (0.0, 1.0, "Weakly informative default; strengths after " + _CONVENTIONS),
    "skeptical": (0.0, 0.42, _CONVENTIONS),
}


def _meaning(kind: str, strength: str, prior: Prior) -> str:
    if kind == "neutral":
        lo, hi = np.exp(prior.scipy().ppf([0.025, 0.975]))
        return (f"Neutral ({strength}): no difference is the most likely value, and the HR has "
                f"95% prior probability of lying between {lo:.2g} and {hi:.2g}.")
    return (f"Sceptical ({strength}): centred on no difference, with "
            f"{100 * prior.cdf(math.log(0.5)):.2g}% prior probability that the HR is below 0.5 "
            "(a halving of the hazard).")


def log_hr_prior(kind: str, *, strength: str = "moderate") -> NamedPrior:
    """A built-in Normal prior on ``log_hr``: ``kind`` neutral or skeptical.

    Moderate: *neutral* Normal(0, 1) is weakly informative — 95% prior mass for HR in
    [0.14, 7.1], wider than any plausible effect of a bridging therapy, so the data dominate
    while absurd HRs (< 0.1, > 10) are discounted; *skeptical* Normal(0, 0.42): P(HR < 0.5)
    = 4.9%. Both are centred on no difference, so they suit any study; a prior that favours
    one arm belongs to the study and is declared in its spec (``[priors.<name>]``; the seed
    study's enthusiastic prior is in ``models/cao2025.toml``). ``strength`` scales the sd by
    :data:`STRENGTHS` (x2, x1, x0.5). :data:`LOG_HR_PRIORS` holds the two moderate priors.

    Examples
    --------
    >>> p = log_hr_prior("skeptical", strength="strong")
    >>> p.name, p.prior.kwargs["sigma"], "0.048% prior probability that the HR is" in p.meaning
    ('skeptical-strong', 0.21, True)
    """
    if kind not in _KINDS or strength not in STRENGTHS:
        raise SpecError(f"log_hr_prior: got kind={kind!r}, strength={strength!r}; allowed kinds "
                        f"{', '.join(_KINDS)}; strengths {', '.join(STRENGTHS)}")
    mu, sd, source = _KINDS[kind]
    name = kind if strength == "moderate" else f"{kind}-{strength}"
    prior = Prior("Normal", {"mu": mu, "sigma": sd * STRENGTHS[strength]}, where=name)
    return NamedPrior(name, prior, _meaning(kind, strength, prior), source)


def named_log_hr_prior(name: str) -> NamedPrior:
    """The prior a spec names: ``"kind"`` or ``"kind-strength"`` (e.g. ``"skeptical-weak"``).

    Examples
    --------
    >>> named_log_hr_prior("skeptical-strong").prior.kwargs["sigma"]
    0.21
    """
    kind, _, strength = str(name).partition("-")
    return log_hr_prior(kind, strength=strength or "moderate")


def log_hr_normal(name: str) -> tuple[float, float]:
    """``(mu, sigma)`` of the Normal log-HR prior ``name`` (see :func:`named_log_hr_prior`)."""
    kwargs = named_log_hr_prior(name).prior.kwargs
    return float(kwargs["mu"]), float(kwargs["sigma"])


LOG_HR_PRIORS: Mapping[str, NamedPrior] = MappingProxyType({k: log_hr_prior(k) for k in _KINDS})


def describe(named: Mapping[str, NamedPrior] | None = None) -> pd.DataFrame:
    """Table of named priors with P(HR<1), P(HR<0.8), P(HR<0.5) computed from each prior.

    Parameters
    ----------
    named
        The priors to describe, by name; default :data:`LOG_HR_PRIORS`.

    Examples
    --------
    >>> table = describe()
    >>> table["name"].tolist(), round(float(table.loc[1, "P(HR<0.5)"]), 4)
    (['neutral', 'skeptical'], 0.0494)
    """
    import pandas as pd

    rows = []
    for item in (LOG_HR_PRIORS if named is None else named).values():
        p = {f"P(HR<{c:g})": float(item.prior.cdf(math.log(c))) for c in (1.0, 0.8, 0.5)}
        rows.append({"name": item.name, "dist": item.prior.dist, "kwargs": dict(item.prior.kwargs),
                     **p, "meaning": item.meaning, "source": item.source})
    return pd.DataFrame(rows)
