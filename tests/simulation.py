"""Simulated two-arm survival data shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridgebayes.data.endpoints import EndpointData


def simulate_endpoint(seed: int, n_per_arm: int, *, shape: float, scale: float,
                      time_ratio: float, censor: tuple[float, float]) -> EndpointData:
    """Two-arm Weibull event times (treatment times x ``time_ratio``), uniform censoring."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n_per_arm)
    t = rng.weibull(shape, arm.size) * scale * np.where(arm == 1, time_ratio, 1.0)
    c = rng.uniform(*censor, arm.size)
    return EndpointData(name="os", time=np.minimum(t, c), event=(t <= c).astype(int), arm=arm,
                        arms=("reference", "treatment"), ids=np.arange(arm.size))


def simulate_weibull_trial(seed: int, n_per_arm: int, *, shape: float, hr: float,
                           censored: float, scale: float = 20.0) -> EndpointData:
    """Two-arm Weibull PH data with hazard ratio ``hr`` and about ``censored`` censoring.

    Censoring times are uniform on ``(0, c_max)``, with ``c_max`` chosen so that the expected
    censored fraction of a pooled arm equals ``censored`` (0: no censoring); the realised
    fraction varies with the seed.
    """
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n_per_arm)
    t = rng.weibull(shape, arm.size) * scale * np.where(arm == 1, hr ** (-1 / shape), 1.0)
    if censored <= 0:
        c = np.full(arm.size, np.inf)
    else:
        c = rng.uniform(0.0, _uniform_censoring_bound(censored, shape, scale, hr), arm.size)
    return EndpointData(name="os", time=np.minimum(t, c), event=(t <= c).astype(int), arm=arm,
                        arms=("reference", "treatment"), ids=np.arange(arm.size))


def _uniform_censoring_bound(censored: float, shape: float, scale: float, hr: float) -> float:
    """``c_max`` with P(C < T) = ``censored`` for C ~ U(0, c_max), averaged over both arms."""
    from scipy.integrate import quad
    from scipy.optimize import brentq

    def fraction(c_max: float) -> float:
        surv = [lambda u, s=s: np.exp(-((u / s) ** shape))
                for s in (scale, scale * hr ** (-1 / shape))]
        return float(np.mean([quad(f, 0.0, c_max)[0] / c_max for f in surv]))

    return brentq(lambda c: fraction(c) - censored, 1e-6 * scale, 1e4 * scale)


def nuts_vs_exact(log_hr: np.ndarray, exact) -> dict[str, tuple[float, float]]:
    """Discrepancies of NUTS draws of ``log_hr`` (chain, draw) from an ``ExactPosterior``.

    Returns ``name -> (|NUTS − exact|, tolerance)`` for the posterior mean and SD (tolerance
    ``max(4 MCSE, 0.05 posterior SD)``), P(HR < 1) (``max(0.01, 4 MCSE)``) and the 5% and
    95% quantiles (``max(4 MCSE, 0.05 posterior SD)``); MCSEs from ArviZ (numpy path: the
    numba path of arviz 0.23 fails on numpy 2.4 for some methods); the MCSE of P(HR < 1)
    is ``sqrt(p (1 − p) / ESS)`` with the exact ``p`` and the ESS of the indicator.
    """
    import arviz as az

    log_hr = np.asarray(log_hr, float)
    sd = exact.log_hr_sd()
    az.Numba.disable_numba()
    try:
        mcse = {"mean": float(az.mcse(log_hr, method="mean")),
                "sd": float(az.mcse(log_hr, method="sd")),
                "ess_p": float(az.ess((log_hr < 0).astype(float), method="bulk")),
                **{q: float(az.mcse(log_hr, method="quantile", prob=q)) for q in (0.05, 0.95)}}
    finally:
        az.Numba.enable_numba()
    p_exact = exact.prob_hr_below(1.0)
    # MCSE of the NUTS frequency under the hypothesis that it estimates p_exact: with p
    # near 0 or 1 the plug-in sqrt(p_nuts (1 - p_nuts) / ESS) understates it
    mcse["p"] = float(np.sqrt(p_exact * (1 - p_exact) / mcse["ess_p"]))
    out = {"mean": (abs(log_hr.mean() - exact.log_hr_mean()), max(4 * mcse["mean"], 0.05 * sd)),
           "sd": (abs(log_hr.std() - sd), max(4 * mcse["sd"], 0.05 * sd)),
           "P(HR<1)": (abs(np.mean(log_hr < 0) - p_exact), max(0.01, 4 * mcse["p"]))}
    for q in (0.05, 0.95):
        exact_q = float(exact.log_hr_quantile(q))
        out[f"q{q:g}"] = (abs(np.quantile(log_hr, q) - exact_q), max(4 * mcse[q], 0.05 * sd))
    return {k: (float(a), float(b)) for k, (a, b) in out.items()}


def confounded_generator():
    """The synthetic confounded cohort's generator (data/examples/make_confounded_cohort.py)
    as a module: ``simulate``, ``marginal_survival``, ``truth`` and the model constants."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "data" / "examples" / "make_confounded_cohort.py"
    spec = importlib.util.spec_from_file_location("make_confounded_cohort", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
