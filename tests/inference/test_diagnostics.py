"""The diagnostics gate on constructed chains with known properties."""

from __future__ import annotations

import arviz as az
import numpy as np

from bridgebayes.inference.diagnostics import check


def idata(posterior: dict, *, diverging=None, energy=None) -> az.InferenceData:
    stats = {}
    if diverging is not None:
        stats["diverging"] = diverging
    if energy is not None:
        stats["energy"] = energy
    return az.from_dict(posterior=posterior, sample_stats=stats or None)


def good(rng, shape=(4, 1000)):
    return rng.normal(size=shape)


def test_independent_chains_pass():
    rng = np.random.default_rng(1)
    gate = check(idata({"log_hr": good(rng)}, diverging=np.zeros((4, 1000), bool),
                       energy=good(rng)))
    assert gate.passed, gate.failures()
    assert set(gate.checks["check"]) == {"max R-hat", "min bulk ESS", "min tail ESS",
                                         "divergences", "min E-BFMI"}


def test_shifted_chain_fails_r_hat():
    rng = np.random.default_rng(2)
    x = good(rng)
    x[0] += 1.0
    gate = check(idata({"log_hr": x}))
    assert not gate.passed
    assert any(f.startswith("max R-hat") for f in gate.failures())


def test_autocorrelated_chains_fail_ess():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=(4, 1000)), axis=1) * 0.05 + rng.normal(size=(4, 1))
    gate = check(idata({"log_hr": x}))
    failed = " ".join(gate.failures())
    assert "min bulk ESS" in failed and "min tail ESS" in failed


def test_one_divergence_fails():
    rng = np.random.default_rng(4)
    diverging = np.zeros((4, 1000), bool)
    diverging[2, 10] = True
    gate = check(idata({"log_hr": good(rng)}, diverging=diverging, energy=good(rng)))
    assert gate.failures() == ["divergences = 1 (threshold 0)"]


def test_low_bfmi_fails():
    rng = np.random.default_rng(5)
    energy = np.cumsum(rng.normal(size=(4, 1000)), axis=1)  # slowly moving energy: BFMI ~ 0
    gate = check(idata({"log_hr": good(rng)}, energy=energy))
    assert any(f.startswith("min E-BFMI") for f in gate.failures())
