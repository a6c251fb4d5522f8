"""NUTS analysis of simulated trials for models without an exact path, compiled once.

Two backends, both compiling the model once for all trials:

* ``"nutpie"`` (default): :func:`bridgebayes.inference.driver.sample`, whose compile-once cache
swaps
  the data containers of the compiled nutpie model (the package's own NUTS mechanism);
* ``"pymc"``: the family's PyMC model is built and PyMC's NUTS step compiled for the first
  trial; later trials swap the data (``family.set_data``) and reset the step's adaptation.

Chains run one after the other in this process.  Used for a few trials (e.g. a Weibull or
time-varying PEM analysis); the exact path (:mod:`bridgebayes.plan.exact_batch`) serves the
thousands.
"""

from __future__ import annotations

import numpy as np

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.plan.simulate import SimulatedTrials

__all__ = ["NutsAnalyser"]


class NutsAnalyser:
    """``P(HR < c)`` per trial by NUTS on one compiled model.

    Parameters
    ----------
    family
        A survival family (``WeibullPH(...)``, ``PiecewiseExponentialPH(cuts=...)``; PEM needs
        fixed ``cuts`` so that every trial has the same shapes).
    chains, tune, draws, target_accept
        NUTS settings per trial.
    backend
        ``"nutpie"`` or ``"pymc"`` (module docstring).

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
        if min(chains, tune, draws) < 1 or not 0.5 <= target_accept < 1:
            raise BridgeBayesError(f"NUTS settings: chains, tune, draws >= 1 and target_accept "
                                   f"in [0.5, 1); got {chains}, {tune}, {draws}, {target_accept}")
        if backend not in ("nutpie", "pymc"):
            raise BridgeBayesError(f"backend: expected 'nutpie' or 'pymc', got {backend!r}")
        self.backend = backend
        self.family, self.chains, self.tune, self.draws = family, chains, tune, draws
        self.target_accept = target_accept
        self.divergences = 0
        self._model = self._step = self._start = None

    def _prepare(self, data: EndpointData) -> None:
        import pymc as pm
        from pymc.blocking import DictToArrayBijection
        from pymc.initial_point import make_initial_point_fn
        from pymc.step_methods.hmc.quadpotential import QuadPotentialDiagAdapt

        if self._model is None:
            self._model = self.family.build_model(data)
            self._start = make_initial_point_fn(model=self._model, return_transformed=True)
            # as pm.sample's "adapt_diag" initialisation: unit variances, mean at the start
            mean = DictToArrayBijection.map(self._start(0)).data
            potential = QuadPotentialDiagAdapt(mean.size, mean, np.ones_like(mean), 10)
            with self._model:
                self._step = pm.NUTS(target_accept=self.target_accept, potential=potential)
        else:
            self.family.set_data(self._model, data)

    def log_hr_draws(self, data: EndpointData, *, seed: int) -> np.ndarray:
        """Posterior draws of ``log_hr`` (``chains × draws``) for one trial's data."""
        if self.backend == "nutpie":
            from bridgebayes.inference.driver import sample

            idata = sample(data, self.family, backend="nutpie", seed=seed, draws=self.draws,
                           tune=self.tune, chains=self.chains, cores=1,
                           target_accept=self.target_accept)
            self.divergences = int(idata.sample_stats["diverging"].sum())
            return idata.posterior["log_hr"].to_numpy().reshape(-1)
        self._prepare(data)
        step, rng = self._step, np.random.default_rng(seed)
        step.set_rng(rng)
        out, self.divergences = [], 0
        for chain in range(self.chains):
            point = self._start(int(rng.integers(2**31)) + chain)
            step.reset_tuning()
            for i in range(self.tune + self.draws):
                if i == self.tune:
                    step.stop_tuning()
                with np.errstate(over="ignore", invalid="ignore"):  # divergent trajectories
                    point, stats = step.step(point)
                if i >= self.tune:
                    out.append(float(point["log_hr"]))
                    self.divergences += int(stats[0].get("diverging", False))
        return np.asarray(out)

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
