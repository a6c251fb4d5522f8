"""The one NUTS driver: backends, the compile-once cache, the diagnostics gate and its retry.

Every posterior the package samples goes through :func:`run_nuts` (two-arm fits, each cause of
a competing-risks model, each transition of the illness–death model, planning's NUTS path and
simulation-based calibration); prior predictive draws through :func:`sample_prior`.

nutpie (default) or PyMC's own sampler.

nutpie compiles a family's model once per *structure* and samples it in Rust; a refit of
another endpoint, named prior or simulated trial with the same structure only swaps the data
containers (``compiled.with_data``), with no recompilation; a new process loads the
compiled callbacks from the machine's numba cache (:mod:`bridgebayes.inference.compile_cache`)
instead of compiling them again.  The structure
(:func:`structure_key`) is the family's class, its options that shape the graph (not those
held in data containers, such as the log-HR prior or given cut points) and the shapes of the
data containers apart from the number of units (the compiled graph does not depend on it).
Why nutpie is the default: ``benchmarks/RESULTS.md`` ("NUTS sampler").

Both backends return the same InferenceData layout: ``posterior`` (model variables only),
``sample_stats`` in ArviZ's names (``diverging``, ``energy``, ``lp``, ``tree_depth``,
``acceptance_rate``, …) and ``constant_data`` (every data container).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.diagnostics import Gate, check
from bridgebayes.models.families import SurvivalFamily

__all__ = ["BACKENDS", "CACHE_SIZE", "CacheStats", "NutsResult", "SamplerSettings",
           "cache_stats", "check_backend", "clear_cache", "diagnose", "run_nuts", "sample",
           "sample_prior", "structure_key"]

#: Sampler backends; the first is the default.
BACKENDS = ("nutpie", "pymc")
#: Compiled structures kept (least recently used dropped first).
CACHE_SIZE = 16

#: nutpie sample-stat names -> ArviZ/PyMC names (the rest are kept as nutpie names them).
_STAT_NAMES = {"logp": "lp", "depth": "tree_depth", "mean_tree_accept": "acceptance_rate",
               "maxdepth_reached": "reached_max_treedepth"}


@dataclass
class CacheStats:
    """Counters of the compile-once cache (for tests and benchmarks)."""

    compiles: int = 0
    hits: int = 0


@dataclass(frozen=True)
class _Compiled:
    model: pm.Model  # the PyMC model; its data containers feed nutpie's initial points
    nutpie_model: Any
    value_only: tuple[str, ...]  # transformed value variables nutpie also stores


_CACHE: OrderedDict[Hashable, _Compiled] = OrderedDict()
_STATS = CacheStats()


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings, and those of the one automatic retry.

    ``backend``: ``"nutpie"`` (default, chosen by benchmark: compiled once per model
    structure and reused for refits) or ``"pymc"`` (``pm.sample``, compiled on every fit).
    ``retry``: refit once with ``retry_tune`` and ``retry_target_accept`` when the gate
    fails (``False`` for quick looks; the gate is still reported).  ``cores``: chains
    sampled at once (nutpie: threads; ``pm.sample``: processes); the draws do not depend on
    it, each chain having its own seed (a test holds this).  A bad backend name raises
    :class:`BridgeBayesError`.
    """

    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9
    retry_tune: int = 3000
    retry_target_accept: float = 0.99
    cores: int = 2
    backend: str = "nutpie"
    retry: bool = True

    def __post_init__(self) -> None:
        check_backend(self.backend)


@dataclass(frozen=True)
class NutsResult:
    """What :func:`run_nuts` returns: the draws, the gate of the final attempt, whether the
    retry was needed, and the seed of the final attempt."""

    idata: az.InferenceData
    gate: Gate
    retried: bool
    seed: int


def check_backend(backend: object) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a :class:`BridgeBayesError`."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise BridgeBayesError(f"sampler backend: expected one of {', '.join(BACKENDS)}, got "
                               f"{backend!r}")
    return backend


def cache_stats() -> CacheStats:
    """The cache counters (a copy)."""
    return dataclasses.replace(_STATS)


def clear_cache() -> None:
    """Forget every compiled model and reset the counters."""
    _CACHE.clear()
    _STATS.compiles = _STATS.hits = 0


def structure_key(family: SurvivalFamily, arrays: dict[str, np.ndarray]) -> tuple:
    """What a compiled model depends on: family class, graph options, container shapes.

    Options whose values reach the model only through data containers are left out:
    ``family.prior_fields`` and options named like a container (the PEM's ``cuts``; their
    number is in the container shapes); whether the log-HR prior is a mixture is kept.
    The number of units is left out too.

    Parameters
    ----------
    family
        The family object.
    arrays
        Its :meth:`~bridgebayes.models.families.SurvivalFamily.data_arrays` for the data.

    Examples
    --------
    >>> from bridgebayes.models.families import WeibullPH
    >>> a = {"time": np.ones(5), "mean_time": np.float64(1.0)}
    >>> b = {"time": np.ones(9), "mean_time": np.float64(2.0)}
    >>> structure_key(WeibullPH(), a) == structure_key(WeibullPH(log_hr_sigma=0.42), b)
    True
    >>> structure_key(WeibullPH(), a) == structure_key(WeibullPH(a0=0.2), a)
    False
    >>> robust = WeibullPH(log_hr_vague_weight=0.2, log_hr_vague_sigma=2.0)
    >>> structure_key(WeibullPH(), a) == structure_key(robust, a)
    False
    """
    in_containers = {*family.prior_fields, *arrays}  # e.g. PEM ``cuts``: its container
    options = tuple((f.name, getattr(family, f.name)) for f in dataclasses.fields(family)
                    if f.name not in in_containers)
    shapes = []
    for name in sorted(arrays):
        shape = list(np.shape(arrays[name]))
        for axis, dim in enumerate(family.data_dims.get(name, ())):
            if dim == "unit":
                shape[axis] = -1  # any number of units
        shapes.append((name, tuple(shape)))
    mixture = family.log_hr_prior().is_mixture  # pm.NormalMixture, not pm.Normal
    return (type(family).__module__, type(family).__qualname__, options,
            ("log_hr_mixture", mixture), tuple(shapes))


def sample(data: EndpointData, family: SurvivalFamily, *, backend: str, seed: int, draws: int,
           tune: int, chains: int, cores: int, target_accept: float) -> az.InferenceData:
    """Sample the posterior of ``family`` on ``data`` with NUTS.

    Parameters
    ----------
    data, family
        As in :func:`bridgebayes.inference.fit.fit`.
    backend
        ``"nutpie"`` (compiled once per structure, see :func:`structure_key`) or ``"pymc"``
        (``pm.sample`` on a freshly built model, compiled every time).
    seed
        Random seed; the same seed, data and settings give identical draws, whether or not
        the compiled model came from the cache.
    draws, tune, chains, cores, target_accept
        NUTS settings.

    Returns
    -------
    arviz.InferenceData
        ``posterior``, ``sample_stats``, ``constant_data``.

    Examples
    --------
    >>> idata = sample(data, WeibullPH(), backend="nutpie", seed=1, draws=1000,
    ...                tune=1000, chains=4, cores=1, target_accept=0.9)  # doctest: +SKIP
    """
    check_backend(backend)
    if backend == "pymc":
        idata = pm.sample(model=family.build_model(data), draws=draws, tune=tune,
                          chains=chains, cores=cores, target_accept=target_accept,
                          random_seed=seed, progressbar=False, compute_convergence_checks=False)
        return _complete(idata, chains=chains, draws=draws)
    import nutpie

    arrays = family.data_arrays(data)
    coords = family.coords(data, arrays)
    compiled = _compiled(family, data, arrays)
    # the PyMC model's containers feed nutpie's initial points: keep them on this data
    pm.set_data(arrays, model=compiled.model, coords={"unit": coords["unit"]})
    used = {k: v for k, v in arrays.items() if k in compiled.nutpie_model.shared_data}
    sampler = nutpie.sample(compiled.nutpie_model.with_data(**used), draws=draws, tune=tune,
                            chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                            save_warmup=False, progress_bar=False, blocking=False)
    try:
        idata = sampler.wait()
    except KeyboardInterrupt:
        sampler.cancel()  # nutpie's blocking call would return the draws made so far
        raise
    return _pymc_layout(_complete(idata, chains=chains, draws=draws), compiled, family, arrays,
                        coords)


def _complete(idata: az.InferenceData, *, chains: int, draws: int) -> az.InferenceData:
    """``idata`` if it holds every requested draw; a Ctrl-C re-raised otherwise.

    PyMC (and nutpie's blocking call) catch ``KeyboardInterrupt`` and return the draws made
    so far: a shorter posterior that would otherwise be stored as if it were the fit asked
    for.
    """
    posterior = idata.posterior
    if posterior.sizes.get("chain") != chains or posterior.sizes.get("draw") != draws:
        raise KeyboardInterrupt(
            f"sampling stopped after {dict(posterior.sizes)} of {chains} chains x {draws} draws")
    return idata


def _compiled(family: SurvivalFamily, data: EndpointData,
              arrays: dict[str, np.ndarray]) -> _Compiled:
    """The cached compiled model of this structure, compiling it on a miss."""
    from bridgebayes.inference.compile_cache import compile_model

    key = structure_key(family, arrays)
    if key in _CACHE:
        _STATS.hits += 1
        _CACHE.move_to_end(key)
        return _CACHE[key]
    model = family.build_model(data)
    value_only = tuple(v.name for v in model.value_vars
                       if v.name not in {rv.name for rv in model.free_RVs})
    compiled = _Compiled(model, compile_model(model), value_only)
    _STATS.compiles += 1
    _CACHE[key] = compiled
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def _pymc_layout(idata: az.InferenceData, compiled: _Compiled, family: SurvivalFamily,
                 arrays: dict[str, np.ndarray], coords: dict[str, Any]) -> az.InferenceData:
    """nutpie's InferenceData in the layout ``pm.sample`` gives (see the module docstring)."""
    posterior = idata.posterior.drop_vars(list(compiled.value_only))
    unused = [d for d in posterior.dims
              if not any(d in var.dims for var in posterior.data_vars.values())]
    posterior = posterior.drop_dims(unused)
    posterior = posterior.assign_coords({d: coords[d] for d in posterior.dims if d in coords})
    posterior.attrs.update({"inference_library": "nutpie",
                            "inference_library_version": _nutpie_version()})
    stats = idata.sample_stats.drop_vars([v for v in ("tuning",) if v in idata.sample_stats])
    stats = stats.rename({k: v for k, v in _STAT_NAMES.items() if k in stats})
    constant = {}
    for name, value in arrays.items():
        value = np.asarray(value, dtype=compiled.model[name].dtype)
        dims = family.data_dims.get(name, tuple(f"{name}_dim_{i}" for i in range(value.ndim)))
        constant[name] = (dims, value)
    used = {d for dims, _ in constant.values() for d in dims}
    constant = xr.Dataset(constant, coords={d: v for d, v in coords.items() if d in used})
    return az.InferenceData(posterior=posterior, sample_stats=stats, constant_data=constant)


def _nutpie_version() -> str:
    import nutpie

    return str(nutpie.__version__)


def diagnose(idata: az.InferenceData) -> Gate:
    """The diagnostics gate on the parameters and decision-relevant deterministics
    (per-unit quantities such as likelihood terms are not gated)."""
    names = [name for name, var in idata.posterior.data_vars.items() if "unit" not in var.dims]
    return check(idata, var_names=names)


def run_nuts(data: EndpointData, family: SurvivalFamily, settings: SamplerSettings, *,
             seed: int) -> NutsResult:
    """Sample ``family`` on ``data``, gate the draws, and retry once if the gate fails.

    The retry uses ``seed + 1``, ``settings.retry_tune`` and
    ``settings.retry_target_accept``; a fit that still fails is returned with its failed
    gate (never silently used: callers report it).

    Examples
    --------
    >>> result = run_nuts(data, WeibullPH(), SamplerSettings(), seed=1)  # doctest: +SKIP
    >>> result.gate.passed  # doctest: +SKIP
    True
    """
    def attempt(seed: int, tune: int, target_accept: float) -> az.InferenceData:
        return sample(data, family, backend=settings.backend, seed=seed, draws=settings.draws,
                      tune=tune, chains=settings.chains, cores=settings.cores,
                      target_accept=target_accept)

    idata = attempt(seed, settings.tune, settings.target_accept)
    gate = diagnose(idata)
    if gate.passed or not settings.retry:
        return NutsResult(idata, gate, False, seed)
    idata = attempt(seed + 1, settings.retry_tune, settings.retry_target_accept)
    return NutsResult(idata, diagnose(idata), True, seed + 1)


def sample_prior(model: pm.Model, *, draws: int, seed: int | np.random.Generator
                 ) -> az.InferenceData:
    """Prior (and prior predictive) draws of a PyMC model; the likelihood potential is
    ignored, as it should be (PyMC's warning about it is silenced)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        return pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
