"""Compiled samplers kept across processes: nutpie's model with C callbacks numba can cache.

nutpie compiles a PyMC model in two steps: PyTensor turns the log-density graph and its
gradient into a numba function (cached on disk by PyTensor, under
``<base_compiledir>/numba``), and nutpie wraps it in two C callbacks (log density + gradient,
and the expansion to the stored variables) with ``numba.cfunc``.  nutpie's wrappers close over
the data arrays, which numba refuses to cache ("uses dynamic globals"), so every new process
compiled them again — and compiling a wrapper links and re-optimises the whole cached graph
function: 80-90% of a model's compile time in a second process (``benchmarks/RESULTS.md``,
"Compile cache").

:func:`compile_model` builds the same model with wrappers written out as source per model
structure: the same statements as nutpie's, reading the data through the same ``user_data``
record (so ``with_data`` refits keep working), but with no closure over arrays.  They are
registered with PyTensor's numba cache locator under a key made of their source, the cache
key of the graph function they call and the nutpie version, so numba stores them next to
PyTensor's entries and a new process loads them instead of compiling.  The draws are those of
nutpie's own wrappers: the same function is called on the same values.

The shared arrays are rebuilt before the ``try`` block, not inside it as in nutpie's
wrappers: numba splits a ``try`` body into one block per call, and its SSA liveness pass is
quadratic in blocks x variables, so a model with a dozen data containers took a minute to
compile there (``benchmarks/RESULTS.md``, "Compile cache"); rebuilding a view of an array
cannot raise.

A damaged cache entry (truncated, emptied, or written by another version) is removed and the
model compiled again; it never stops a fit.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CACHE_PREFIX", "cache_folder", "compile_model"]

#: File-name prefix of this module's entries in numba's cache folder.
CACHE_PREFIX = "string.bridgebayes_"

_LOGP = '''
def bridgebayes_logp(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    shared = numba.carray(user_data_, (), RECORD)["shared"]
{arrays}
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x{args})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
'''

_EXPAND = '''
def bridgebayes_expand(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    shared = numba.carray(user_data_, (), RECORD)["shared"]
{arrays}
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = inner(x{args})
        out[...] = values
    except Exception:
        return -2
    return 0
'''


def cache_folder() -> Path:
    """numba's cache folder used by PyTensor (and this module): ``<base_compiledir>/numba``."""
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    return Path(NUMBA_CACHE_PATH)


def _array_lines(names: Sequence[str], shared_data: dict[str, np.ndarray]
                 ) -> tuple[str, str, dict[str, Any]]:
    """Statements rebuilding each shared array from ``user_data`` (as nutpie's
    ``extract_array``), the call's extra arguments and the dtypes they name."""
    lines, env = [], {}
    for k, name in enumerate(names):
        value = shared_data[name]
        env[f"DTYPE_{k}"] = np.dtype(value.dtype)
        shape = "".join(f"int(shared['shape'][{name!r}][{i}]), " for i in range(value.ndim))
        lines.append(
            f"    a{k} = numba.carray(address_as_void_pointer(shared['data'][{name!r}][()]), "
            f"int(shared['size'][{name!r}][()]), DTYPE_{k}).reshape(({shape}))")
    return "\n".join(lines), "".join(f", a{k}" for k in range(len(names))), env


def _cacheable(template: str, name: str, inner: Any, names: Sequence[str],
               shared_data: dict[str, np.ndarray], record: np.dtype,
               **sizes: int) -> Callable | None:
    """The wrapper's Python function, registered for numba's cache; ``None`` if the graph
    function it calls is not cached by PyTensor (then nothing would be gained)."""
    import numba
    import nutpie
    from nutpie.compile_pymc import address_as_void_pointer
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    if inner_key is None:
        return None
    arrays, args, dtypes = _array_lines(names, shared_data)
    source = template.format(arrays=arrays, args=args, **sizes)
    key = hashlib.sha256("\n".join([source, inner_key, str(record.descr), nutpie.__version__,
                                    *(str(d) for d in dtypes.values())]).encode()).hexdigest()
    return compile_numba_function_src(
        source, name, global_env={"__name__": __name__,  # numba rebuilds a cached entry's
                                  # environment from this importable module
                                  "numba": numba, "np": np, "RECORD": record, "inner": inner,
                                  "address_as_void_pointer": address_as_void_pointer,
                                  **dtypes}, cache_key=key)


def _patched_wrappers():
    """nutpie's two wrapper factories replaced by cacheable ones (for one compile): each
    returns nutpie's C signature with our function, or nutpie's own pair when the graph
    function is not cached."""
    import nutpie.compile_pymc as cp

    nutpie_logp, nutpie_expand = cp._make_c_logp_func, cp._make_c_expand_func

    def logp(n_dim, logp_fn, user_data, shared_logp, shared_data):
        own, c_sig = nutpie_logp(n_dim, logp_fn, user_data, shared_logp, shared_data)
        fn = _cacheable(_LOGP, "bridgebayes_logp", logp_fn, shared_logp, shared_data,
                        user_data.dtype, n_dim=n_dim)
        return (own if fn is None else fn), c_sig

    def expand(n_dim, n_expanded, expand_fn, user_data, shared_vars, shared_data):
        own, c_sig = nutpie_expand(n_dim, n_expanded, expand_fn, user_data, shared_vars,
                                   shared_data)
        fn = _cacheable(_EXPAND, "bridgebayes_expand", expand_fn, shared_vars, shared_data,
                        user_data.dtype, n_dim=n_dim, n_expanded=n_expanded)
        return (own if fn is None else fn), c_sig

    return cp, {"_make_c_logp_func": logp, "_make_c_expand_func": expand}


def _compile(model: Any) -> Any:
    import nutpie
    from numba.core.errors import NumbaPerformanceWarning

    cp, patch = _patched_wrappers()
    saved = {name: getattr(cp, name) for name in patch}
    try:
        for name, fn in patch.items():
            setattr(cp, name, fn)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Cannot cache compiled function")
            # numba's hint on PyTensor's generated code (np.dot on a transposed view in a
            # covariate design): nothing a user can act on, and not a problem of the fit
            warnings.simplefilter("ignore", NumbaPerformanceWarning)
            return nutpie.compile_pymc_model(model, cache=True)
    finally:
        for name, fn in saved.items():
            setattr(cp, name, fn)


def compile_model(model: Any) -> Any:
    """``nutpie.compile_pymc_model(model)`` whose C callbacks are kept in numba's on-disk
    cache: a new process with the same model structure loads them.

    A damaged entry of this module (unreadable index or object code) is deleted and the
    model compiled again.

    Examples
    --------
    >>> compiled = compile_model(WeibullPH().build_model(data))  # doctest: +SKIP
    """
    try:
        return _compile(model)
    except Exception:  # a damaged entry raises whatever unpickling it raises
        removed = [p for p in cache_folder().glob(f"{CACHE_PREFIX}*") if p.is_file()]
        if not removed:
            raise
        for path in removed:
            path.unlink(missing_ok=True)
        warnings.warn(f"compiled-sampler cache in {cache_folder()}: {len(removed)} damaged "
                      "or stale entries removed; compiling again", RuntimeWarning, stacklevel=2)
        return _compile(model)
