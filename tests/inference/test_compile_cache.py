"""The compiled-sampler cache across processes (bridgebayes.inference.compile_cache): a new
process loads the C callbacks instead of compiling them, the draws are bit-identical cold and
warm (and to nutpie's own wrappers), a refit with other data still works, and a damaged entry
is rebuilt rather than crashed on.  Each case runs in a fresh process on its own PyTensor
cache folder (``base_compiledir``), as a second ``bridgebayes run`` would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import hashlib, json, sys, warnings
import numpy as np
import nutpie
import pymc as pm
from bridgebayes.inference.compile_cache import compile_model

with pm.Model() as model:
    y = pm.Data("y", np.array([0.3, -1.2, 0.8, 2.1, 0.4]))
    mu = pm.Normal("mu", 0.0, 2.0)
    sigma = pm.HalfNormal("sigma", 1.0)
    pm.Potential("loglik", pm.logp(pm.Normal.dist(mu, sigma), y).sum())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    compiled = (nutpie.compile_pymc_model(model) if sys.argv[1] == "nutpie"
                else compile_model(model))

def digest(c):
    post = nutpie.sample(c, draws=100, tune=100, chains=2, cores=1, seed=7,
                         progress_bar=False).posterior
    return hashlib.sha256(post["mu"].values.tobytes() + post["sigma"].values.tobytes()
                          ).hexdigest()

print(json.dumps({
    "draws": digest(compiled),
    "refit": digest(compiled.with_data(y=np.array([1.0, 2.0, 0.5, 1.5, 3.0]))),
    "hits": compiled.compiled_logp_func._cache_hits + compiled.compiled_expand_func._cache_hits,
    "warnings": [str(w.message) for w in caught if "damaged" in str(w.message)]}))
"""


def _probe(base: Path, how: str = "ours") -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={base}")
    proc = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True,
                          env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_second_process_loads_the_compiled_callbacks_and_draws_the_same(tmp_path):
    base = tmp_path / "pytensor"
    cold = _probe(base)
    warm = _probe(base)
    assert cold["hits"] == 0 and warm["hits"] == 2  # both callbacks loaded, none compiled
    assert warm["draws"] == cold["draws"] and warm["refit"] == cold["refit"]
    assert cold["refit"] != cold["draws"]  # with_data reached the cached callbacks
    # nutpie's own (uncached) wrappers call the same function on the same values
    own = _probe(base, "nutpie")
    assert (own["draws"], own["refit"]) == (cold["draws"], cold["refit"])
    entries = sorted((base / "numba").glob("string.bridgebayes_*"))
    assert {p.name.split("-")[0] for p in entries} == {"string.bridgebayes_logp",
                                                        "string.bridgebayes_expand"}
    for path in entries:  # damaged: truncated object code and index
        path.write_bytes(path.read_bytes()[:40])
    again = _probe(base)
    assert again["warnings"] and "damaged or stale entries removed" in again["warnings"][0]
    assert (again["draws"], again["refit"]) == (cold["draws"], cold["refit"])
    assert _probe(base)["hits"] == 2  # rebuilt and stored again
