"""Ctrl-C inside NUTS: both backends catch ``KeyboardInterrupt`` and return the draws made so
far; the driver turns a short posterior back into the interrupt, so no truncated fit is ever
returned (and stored) as if it were the one asked for."""

from __future__ import annotations

import nutpie
import pymc as pm
import pytest

from bridgebayes.inference import driver
from bridgebayes.models.families import WeibullPH

SETTINGS = {"seed": 1, "draws": 100, "tune": 100, "chains": 2, "cores": 1,
            "target_accept": 0.9}


@pytest.fixture(scope="module")
def data(simulate):
    return simulate(1, 10, shape=1.2, scale=12.0, time_ratio=1.5, censor=(6.0, 30.0))


def test_a_pymc_run_cut_short_is_an_interrupt(data, monkeypatch):
    real = pm.sample

    def interrupted(**options):  # what pm.sample returns after Ctrl-C at draw 40
        return real(**(options | {"draws": 40}))

    monkeypatch.setattr(pm, "sample", interrupted)
    with pytest.raises(KeyboardInterrupt, match="of 2 chains x 100 draws"):
        driver.sample(data, WeibullPH(), backend="pymc", **SETTINGS)


def test_a_nutpie_interrupt_cancels_the_sampler_and_propagates(data, monkeypatch):
    complete = driver.sample(data, WeibullPH(), backend="nutpie", **SETTINGS)  # compiles
    assert (complete.posterior.sizes["chain"], complete.posterior.sizes["draw"]) == (2, 100)
    cancelled = []

    class Interrupted:
        def wait(self):
            raise KeyboardInterrupt

        def cancel(self):
            cancelled.append(True)

    def sample(model, **options):
        assert options["blocking"] is False  # a blocking call would swallow the interrupt
        return Interrupted()

    monkeypatch.setattr(nutpie, "sample", sample)
    with pytest.raises(KeyboardInterrupt):
        driver.sample(data, WeibullPH(), backend="nutpie", **SETTINGS)
    assert cancelled == [True]
