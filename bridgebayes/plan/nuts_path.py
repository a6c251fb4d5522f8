"""NUTS analysis of simulated trials for models without an exact path, compiled once.

Every trial goes through the package's one NUTS driver (:func:`bridgebayes.inference.driver.
sample`): with the default nutpie backend the model of the first trial is compiled once and
later trials only swap its data containers.  Used for a few trials (e.g. a Weibull or
time-varying PEM analysis); the exact path (:mod:`bridgebayes.models.exact_batch`) serves the
thousands.
"""

from __future__ import annotations

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.plan.simulate import SimulatedTrials

__all__ = ["NutsAnalyser"]


class NutsAnalyser:
    """``P(HR < c)`` per trial by NUTS, one compiled model for all trials.

    Parameters
    ----------
    family
        A survival family (``WeibullPH(...)``, ``PiecewiseExponentialPH(cuts=...)``; PEM needs
        fixed ``cuts`` so that every trial has the same shapes).
    chains, tune, draws, target_accept
        NUTS settings per trial.
    backend
        A backend of :data:`bridgebayes.inference.driver.BACKENDS` (``"nutpie"``: compiled
        once; ``"pymc"``: ``pm.sample``, compiled for every trial).

    Attributes
    ----------
    divergences
        Divergent transitions of the last trial.

    Examples
    --------
    >>> from bridgebayes.models.families import WeibullPH
    >>> nuts = NutsAnalyser(WeibullPH(log_hr_sigma=10.0))  # doctest: +SKIP
    >>> nuts.analyse(trials, seed=1)  # doctest: +SKIP
    """

    def __init__(self, family, *, chains: int = 2, tune: int = 500, draws: int = 500,
                 target_accept: float = 0.9, backend: str = "nutpie") -> None:
        from bridgebayes.inference.driver import check_backend

        if min(chains, tune, draws) < 1 or not 0.5 <= target_accept < 1:
            raise BridgeBayesError(f"NUTS settings: chains, tune, draws >= 1 and target_accept "
                                   f"in [0.5, 1); got {chains}, {tune}, {draws}, {target_accept}")
        self.backend = check_backend(backend)
        self.family, self.chains, self.tune, self.draws = family, chains, tune, draws
        self.target_accept = target_accept
        self.divergences = 0

    def log_hr_draws(self, data: EndpointData, *, seed: int) -> np.ndarray:
        """Posterior draws of ``log_hr`` (``chains × draws``) for one trial's data."""
        from bridgebayes.inference.driver import sample

        idata = sample(data, self.family, backend=self.backend, seed=seed, draws=self.draws,
                       tune=self.tune, chains=self.chains, cores=1,
                       target_accept=self.target_accept)
        self.divergences = int(idata.sample_stats["diverging"].sum())
        return idata.posterior["log_hr"].to_numpy().reshape(-1)

    def analyse(self, trials: SimulatedTrials, *, threshold: float = 1.0,
                seed: int = 0) -> np.ndarray:
        """``P(HR < threshold)`` for each trial, ``(S,)``; trial ``i`` uses seed ``seed + i``."""
        probs = np.empty(len(trials))
        for i in range(len(trials)):
            keep = trials.enrolled[i]
            data = EndpointData("trial", trials.time[i][keep], trials.event[i][keep].astype(int),
                                trials.arm[keep], ("reference", "treatment"),
                                np.arange(int(keep.sum())))
            probs[i] = np.mean(self.log_hr_draws(data, seed=seed + i) < np.log(threshold))
        return probs
