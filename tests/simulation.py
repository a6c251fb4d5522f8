"""Simulated two-arm survival data shared by the integration tests."""

from __future__ import annotations

import numpy as np

from bridgebayes.endpoints import EndpointData


def simulate_endpoint(seed: int, n_per_arm: int, *, shape: float, scale: float,
                      time_ratio: float, censor: tuple[float, float]) -> EndpointData:
    """Two-arm Weibull event times (treatment times x ``time_ratio``), uniform censoring."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n_per_arm)
    t = rng.weibull(shape, arm.size) * scale * np.where(arm == 1, time_ratio, 1.0)
    c = rng.uniform(*censor, arm.size)
    return EndpointData(name="os", time=np.minimum(t, c), event=(t <= c).astype(int), arm=arm,
                        arms=("reference", "treatment"), ids=np.arange(arm.size))
