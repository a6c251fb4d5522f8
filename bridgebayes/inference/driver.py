"""NUTS backends and the compile-once cache: nutpie (default) or PyMC's own sampler.

nutpie compiles a family's model once per *structure* and samples it in Rust; a refit of
another endpoint, named prior or simulated trial with the same structure only swaps the data
containers (``compiled.with_data``), with no recompilation.  The structure
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
from bridgebayes.models.families import SurvivalFamily

__all__ = ["BACKENDS", "CACHE_SIZE", "CacheStats", "cache_stats", "check_backend",
           "clear_cache", "sample", "structure_key"]

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
    number is in the container shapes).  The number of units is left out too.

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
    return (type(family).__module__, type(family).__qualname__, options, tuple(shapes))


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
        return pm.sample(model=family.build_model(data), draws=draws, tune=tune, chains=chains,
                         cores=cores, target_accept=target_accept, random_seed=seed,
                         progressbar=False, compute_convergence_checks=False)
    import nutpie

    arrays = family.data_arrays(data)
    coords = family.coords(data, arrays)
    compiled = _compiled(family, data, arrays)
    # the PyMC model's containers feed nutpie's initial points: keep them on this data
    pm.set_data(arrays, model=compiled.model, coords={"unit": coords["unit"]})
    used = {k: v for k, v in arrays.items() if k in compiled.nutpie_model.shared_data}
    idata = nutpie.sample(compiled.nutpie_model.with_data(**used), draws=draws, tune=tune,
                          chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                          save_warmup=False, progress_bar=False)
    return _pymc_layout(idata, compiled, family, arrays, coords)


def _compiled(family: SurvivalFamily, data: EndpointData,
              arrays: dict[str, np.ndarray]) -> _Compiled:
    """The cached compiled model of this structure, compiling it on a miss."""
    import nutpie

    key = structure_key(family, arrays)
    if key in _CACHE:
        _STATS.hits += 1
        _CACHE.move_to_end(key)
        return _CACHE[key]
    model = family.build_model(data)
    value_only = tuple(v.name for v in model.value_vars
                       if v.name not in {rv.name for rv in model.free_RVs})
    compiled = _Compiled(model, nutpie.compile_pymc_model(model), value_only)
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
