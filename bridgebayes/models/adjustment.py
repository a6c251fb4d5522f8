"""Bayesian g-computation: standardised (marginal) survival of each arm from any family.

For posterior draw ``s`` the marginal survival of arm ``a`` over a population of covariate
patterns ``z_1 … z_n`` is ``S_a^(s)(t) = sum_i w_i^(s) S(t | a, z_i, theta^(s))``: the model's
conditional survival of every patient set to arm ``a``, averaged with Bayesian-bootstrap
weights ``w^(s) ~ Dirichlet(1, …, 1)`` drawn afresh for each posterior draw, so that the
uncertainty about the covariate distribution enters the posterior of the population estimand
(Oganisian & Roy 2021, Stat Med 40:518; Rubin 1981).  The ATE averages over the whole
cohort, the ATT over the treated only.  Family-agnostic: only the registry's
:meth:`~bridgebayes.models.families.SurvivalFamily.survival` is used.

The conditional HR (the model's ``log_hr``) and any marginal contrast are different
quantities (the HR is not collapsible): they are never presented as two estimates of one
thing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.models.families.base import SurvivalFamily
from bridgebayes.models.families.draws import Draws

__all__ = ["ESTIMANDS", "bootstrap_weights", "marginal_survival", "thin_draws"]

#: Population estimands: the whole cohort (ATE) or the treated only (ATT).
ESTIMANDS = ("ate", "att")
#: Patients evaluated per block (memory: draws x block x times floats).
_BLOCK = 32


def bootstrap_weights(arm: np.ndarray, n_draws: int, *, estimand: str,
                      rng: np.random.Generator) -> np.ndarray:
    """Bayesian-bootstrap weights over the population of ``estimand``, ``(n_draws, n)``.

    Parameters
    ----------
    arm
        Arm per patient (0 reference, 1 treatment).
    n_draws
        One weight vector per posterior draw.
    estimand
        ``"ate"``: Dirichlet(1, …, 1) over every patient; ``"att"``: over the treated only
        (the others weigh 0).
    rng
        Random generator (seeded by the caller).

    Examples
    --------
    >>> w = bootstrap_weights(np.array([0, 1, 1]), 4, estimand="att",
    ...                       rng=np.random.default_rng(1))
    >>> w.shape, bool(np.allclose(w.sum(axis=1), 1.0)), float(w[:, 0].max())
    ((4, 3), True, 0.0)
    """
    if estimand not in ESTIMANDS:
        raise BridgeBayesError(f"estimand: expected one of {ESTIMANDS}, got {estimand!r}")
    arm = np.asarray(arm)
    members = np.ones(arm.size, bool) if estimand == "ate" else arm == 1
    if not members.any():
        raise BridgeBayesError(f"estimand {estimand!r}: no patient in its population")
    out = np.zeros((n_draws, arm.size))
    out[:, members] = rng.dirichlet(np.ones(int(members.sum())), size=n_draws)
    return out


def thin_draws(draws: Draws, names: Collection[str], *, chains: int,
               at_most: int) -> tuple[dict, int]:
    """Every ``k``-th draw of each chain of the posterior variables ``names`` so that at
    most ``at_most`` remain (chain-major order kept: MCSE by chain still works); the other
    entries (constant data) unchanged.

    Returns the thinned draws and their number.

    Examples
    --------
    >>> d, n = thin_draws({"log_hr": np.arange(8.0), "cuts": np.arange(8.0)}, ["log_hr"],
    ...                   chains=2, at_most=4)
    >>> d["log_hr"].tolist(), d["cuts"].size, n
    ([0.0, 2.0, 4.0, 6.0], 8, 4)
    """
    n = int(np.shape(draws["log_hr"])[0])
    step = max(1, int(np.ceil(n / at_most)))
    per_chain = n // chains
    index = (np.arange(chains)[:, None] * per_chain + np.arange(0, per_chain, step)).ravel()
    out = {k: np.asarray(v)[index] if k in names else v for k, v in draws.items()}
    return out, int(index.size)


def marginal_survival(family: SurvivalFamily, draws: Draws, design: np.ndarray,
                      weights: np.ndarray) -> Callable[[np.ndarray, int], np.ndarray]:
    """The standardised survival function ``(times, arm) -> (n_draws, n_times)``.

    Parameters
    ----------
    family
        Any registered family fitted with covariates (``family.covariates``).
    draws
        Its posterior draws (with ``covariate_center`` / ``covariate_scale``).
    design
        Raw covariate design of the population, ``(n, len(family.covariates))``, in the
        order of ``family.covariates``.
    weights
        :func:`bootstrap_weights`, ``(n_draws, n)``.

    Returns
    -------
    callable
        ``survival(t, a)``: ``sum_i w_i S(t | a, z_i)`` per draw, the shape that
        :func:`bridgebayes.summaries.decide.survival_rows` expects; results are memoised
        per call arguments.

    Examples
    --------
    >>> from bridgebayes.models.families import WeibullPH
    >>> f = WeibullPH(covariates=("z",))
    >>> d = {"log_hr": np.zeros(1), "k": np.ones(1), "lam": np.ones(1),
    ...      "beta": np.array([[np.log(2.0)]]), "covariate_center": np.zeros(1),
    ...      "covariate_scale": np.ones(1)}
    >>> s = marginal_survival(f, d, np.array([[0.0], [1.0]]), np.array([[0.5, 0.5]]))
    >>> round(float(s(np.array([1.0]), 0)[0, 0]), 6)  # (exp(-1) + exp(-2)) / 2
    0.251607
    """
    if not family.covariates:
        raise BridgeBayesError(f"family {family.name!r}: g-computation needs a model fitted "
                               "with covariates")
    design = np.asarray(design, float)
    n_draws = int(np.shape(draws["log_hr"])[0])
    if design.ndim != 2 or design.shape[1] != len(family.covariates):
        raise BridgeBayesError(f"design: expected shape (n, {len(family.covariates)}), got "
                               f"{design.shape}")
    if weights.shape != (n_draws, design.shape[0]):
        raise BridgeBayesError(f"weights: expected shape {(n_draws, design.shape[0])}, got "
                               f"{weights.shape}")
    memo: dict[tuple, np.ndarray] = {}

    def survival(times: np.ndarray, arm: int) -> np.ndarray:
        times = np.atleast_1d(np.asarray(times, float))
        key = (times.tobytes(), int(arm))
        if key not in memo:
            out = np.zeros((n_draws, times.size))
            used = np.flatnonzero(weights.any(axis=0))
            for start in range(0, used.size, _BLOCK):
                block = used[start:start + _BLOCK]
                rows = np.repeat(design[block], times.size, axis=0)
                s = family.survival(draws, np.tile(times, block.size), arm, covariates=rows)
                out += np.einsum("sbt,sb->st", s.reshape(n_draws, block.size, times.size),
                                 weights[:, block])
            memo[key] = out
        return memo[key]

    return survival
