"""The worked example of docs/families.md is a working family (one file of math)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from bridgebayes.data.endpoints import EndpointData

DOC = (Path(__file__).resolve().parents[2] / "docs" / "families.md").read_text("utf-8")


@pytest.fixture(scope="module")
def family_class():
    code = re.search(r"```python\n(.*?)```", DOC, flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/families.md", "exec"), namespace)
    return namespace["ExponentialPH"]


def test_the_documented_family_meets_the_likelihood_contract(family_class):
    family = family_class(log_hr_sigma=0.5)
    draws = {"log_hr": np.array([-0.3]), "lam": np.array([0.05])}
    data = EndpointData("x", np.array([2.0, 9.0, 20.0]), np.array([1, 0, 1]),
                        np.array([0, 1, 1]), ("a", "b"), np.arange(3))
    ours = family.log_likelihood(draws, data)[0]
    for i, (t, d, x) in enumerate(zip(data.time, data.event, data.arm, strict=True)):
        cumhaz, _ = integrate.quad(lambda u, x=x: float(family.hazard(draws, [u], x)[0, 0]),
                                   0.0, t)
        expected = (np.log(family.hazard(draws, [t], x)[0, 0]) if d else 0.0) - cumhaz
        assert ours[i] == pytest.approx(expected, rel=1e-9)
    assert family.describe().startswith("exponential proportional-hazards model")
    assert family_class.from_options(family.options()) == family


def test_the_documented_family_builds_a_pymc_model(family_class):
    data = EndpointData("x", np.array([2.0, 9.0, 20.0, 4.0]), np.array([1, 0, 1, 1]),
                        np.array([0, 1, 1, 0]), ("a", "b"), np.arange(4))
    model = family_class().build_model(data)
    assert {"log_hr", "lam", "loglik"} <= set(model.named_vars)
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))
