"""Tests for :mod:`bridgebayes.plan.run_priors`: the stacked design prior and the bias prior
read from a run's saved results.  References: the weights written to ``results.json``; each
family's survival in closed form (Weibull ``exp(-lam t^k HR^a)``, the mixture cure
``pi_a + (1 - pi_a) exp(-lam t^k HR^a)``, the PEM's piecewise sum), mixed by the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
from posterior_files import weight_rows, write_posterior, write_run

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.plan.design_prior import PIECEWISE_GRID
from bridgebayes.plan.run_priors import read_run, stacked_design_prior

WEIGHTS = {"weibull": 0.5, "mixture_cure": 0.3, "piecewise_exponential": 0.2, "mspline": 0.0}
PEM_CUTS = np.array([6.0, 24.0])


def _posteriors(rng: np.random.Generator, n: int = 1000) -> dict[str, tuple[dict, dict]]:
    """Family options and draws ``(2, n)`` of three families with very different curves."""
    weibull = {"log_hr": rng.normal(-0.6, 0.2, (2, n)), "k": rng.gamma(50, 0.02, (2, n)),
               "lam": rng.gamma(50, 0.002, (2, n))}                       # high hazard
    cure = {"log_hr": rng.normal(-0.2, 0.2, (2, n)), "k": rng.gamma(30, 0.04, (2, n)),
            "lam": rng.gamma(30, 0.001, (2, n)), "cure_reference": rng.beta(30, 30, (2, n)),
            "cure_log_or": rng.normal(0.5, 0.2, (2, n))}                  # plateau near 0.5
    pem = {"log_hr": rng.normal(0.1, 0.2, (2, n)),
           "lambda": rng.gamma(40, 0.0005, (2, n, 3))}                    # low hazard
    return {"weibull": ({"name": "weibull", "covariates": []}, weibull),
            "mixture_cure": ({"name": "mixture_cure", "covariates": [], "mean_time": 24.0},
                             cure),
            "piecewise_exponential": ({"name": "piecewise_exponential", "covariates": []},
                                      pem)}


def _closed_survival(family: str, post: dict, t: np.ndarray, arm: int) -> np.ndarray:
    p = {k: v.reshape(v.shape[0] * v.shape[1], *v.shape[2:]) for k, v in post.items()}
    hr = np.exp(arm * p["log_hr"])[:, None]
    if family == "piecewise_exponential":
        edges = np.concatenate([[0.0], PEM_CUTS, [np.inf]])
        exposure = np.clip(t[None, :, None] - edges[None, None, :-1], 0, np.diff(edges))
        return np.exp(-hr * np.sum(p["lambda"][:, None, :] * exposure, axis=-1))
    latency = np.exp(-p["lam"][:, None] * t ** p["k"][:, None] * hr)
    if family == "weibull":
        return latency
    pi0 = p["cure_reference"]
    pi = pi0 if arm == 0 else 1 / (1 + np.exp(-(np.log(pi0 / (1 - pi0)) + p["cure_log_or"])))
    return pi[:, None] + (1 - pi[:, None]) * latency


@pytest.fixture
def run(tmp_path):
    posteriors = _posteriors(np.random.default_rng(11))
    folder = write_run(tmp_path / "cao2025", {
        "study": {"time_unit": "months"},
        "model_averaging": {"weights": weight_rows("grfs", "neutral", WEIGHTS)
                            + weight_rows("os", "neutral", {"weibull": 1.0, "mspline": 0.0})},
        "adjustment": {"endpoint": "os", "family": "weibull", "prior": "neutral",
                       "bias_prior": {"dist": "Normal", "mu": 0.1, "sigma": 0.25}}})
    for name, (family, post) in posteriors.items():  # no mspline file: its weight is 0
        write_posterior(folder / "posteriors" / f"grfs__{name}__neutral.nc", family, post,
                        {"cuts": PEM_CUTS} if name == "piecewise_exponential" else None,
                        time_unit="months")
    return folder, posteriors


def test_the_weights_read_are_the_saved_ones(run):
    folder, _ = run
    saved = read_run(folder)
    assert saved.stacking_weights("grfs", "neutral") == WEIGHTS
    assert saved.stacking_weights("os", "neutral") == {"weibull": 1.0, "mspline": 0.0}
    prior = stacked_design_prior(folder, endpoint="grfs", prior="neutral")
    assert prior.components == WEIGHTS
    for family, weight in WEIGHTS.items():  # the run's labels (weight_rows: "<name> model")
        assert f"{family} model {100 * weight:.0f}%" in prior.source
    assert "grfs × neutral" in prior.source
    assert saved.bias_prior() == (0.1, 0.25) and "endpoint os" in saved.bias_source()


def test_the_stacked_survival_is_the_weight_mixture_of_the_families(run):
    """Mean S(t) at every grid point of the simulated truths = sum_f w_f mean_f S_f(t) (closed
    forms of the draws written), within 4 Monte Carlo SE."""
    folder, posteriors = run
    prior = stacked_design_prior(folder, endpoint="grfs", prior="neutral")
    grid = np.asarray(PIECEWISE_GRID["months"])
    assert prior.family.name == "piecewise_exponential" and prior.family.cuts == tuple(grid)
    assert prior.hr_cuts.tolist() == grid.tolist() and prior.draws["log_hr"].shape == (
        4000, grid.size + 1)
    n = 20_000
    truths = prior.sample(n, np.random.default_rng(12))
    t = np.broadcast_to(grid, (n, grid.size))
    for arm in (0, 1):
        simulated = np.exp(-truths.cumhaz(t, np.full(grid.size, arm)))
        per_family = {f: _closed_survival(f, post, grid, arm) for f, (_, post) in
                      posteriors.items()}
        expected = sum(WEIGHTS[f] * s.mean(axis=0) for f, s in per_family.items())
        # sampling the 4,000-draw mixture (n trials) and the mixture's own subsample of each
        # family's 2,000 draws
        mcse = simulated.std(axis=0) * np.sqrt(1 / n + 1 / 4000)
        np.testing.assert_array_less(np.abs(simulated.mean(axis=0) - expected), 4 * mcse)
        # the weights matter: equal weights would be far off at 2 years
        equal = sum(s.mean(axis=0) for s in per_family.values()) / 3
        j = int(np.flatnonzero(grid == 24)[0])
        assert abs(equal[j] - expected[j]) > 10 * mcse[j]


def test_discounts_apply_to_the_stacked_prior(run):
    folder, _ = run
    prior = stacked_design_prior(folder, endpoint="grfs", prior="neutral")
    _, plain = prior.log_hr_draws(50_000, np.random.default_rng(1))
    _, wide = prior.discounted(a0=0.25).log_hr_draws(50_000, np.random.default_rng(1))
    np.testing.assert_allclose(wide.std(axis=0), 2 * plain.std(axis=0), rtol=0.05)


def test_errors_name_the_file_and_what_is_missing(run, tmp_path):
    folder, _ = run
    with pytest.raises(BridgeBayesError, match="run folder not found"):
        read_run(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BridgeBayesError, match=r"results\.json"):
        read_run(empty)
    with pytest.raises(BridgeBayesError, match=r"no stacking weights for endpoint 'pfs'.*"
                                               r"\['grfs/neutral', 'os/neutral'\]"):
        stacked_design_prior(folder, endpoint="pfs", prior="neutral")
    with pytest.raises(BridgeBayesError, match="prior 'skeptical'"):
        stacked_design_prior(folder, endpoint="grfs", prior="skeptical")
    (folder / "posteriors" / "grfs__mixture_cure__neutral.nc").unlink()
    with pytest.raises(BridgeBayesError, match=r"grfs__mixture_cure__neutral\.nc: posterior "
                                               r"file not found"):
        stacked_design_prior(folder, endpoint="grfs", prior="neutral")
    single = write_run(tmp_path / "single", {"model_averaging": {"weights": []}})
    with pytest.raises(BridgeBayesError, match="saved no stacking weights"):
        stacked_design_prior(single, endpoint="grfs", prior="neutral")
    with pytest.raises(BridgeBayesError, match=r"no 'adjustment' entry.*bias = \{ mu"):
        read_run(single).bias_prior()


def _plan(folder, prior_table: str) -> str:
    return f"""[analysis]
id = "p"
[arms]
reference = "A"
treatment = "B"
[plan.design_prior]
{prior_table}
[plan.design]
n_total = [40]
accrual_rate = 4.0
min_followup = 12.0
"""


def test_the_plan_spec_takes_a_stacked_prior_and_a_bias(run, tmp_path):
    from bridgebayes.core.errors import SpecError
    from bridgebayes.plan.cli_support import design_prior_of
    from bridgebayes.plan.spec import load_plan_spec

    folder, _ = run
    spec_file = tmp_path / "p.toml"

    def load(table: str):
        spec_file.write_text(_plan(folder, table))
        return load_plan_spec(spec_file)

    spec = load(f'stacked = "{folder.name}"\nendpoint = "grfs"\nprior = "neutral"\n'
                'bias = "adjustment"\na0 = 0.5')
    prior = design_prior_of(spec)
    assert prior.components == WEIGHTS and (prior.bias_mu, prior.bias_sigma) == (0.1, 0.25)
    assert prior.a0 == 0.5 and "bias analysis of run cao2025" in prior.describe()
    explicit = load('log_hr_mu = -0.2\nlog_hr_sigma = 0.3\nfamily = "weibull"\n'
                    'bias = { mu = 0.0, sigma = 0.2 }\n[plan.design_prior.baseline]\n'
                    'k = 1.0\nlam = 0.02')
    assert design_prior_of(explicit).bias_sigma == 0.2
    bad = {'stacked = "nowhere"\nendpoint = "grfs"\nprior = "neutral"': "run folder not found",
           f'stacked = "{folder.name}"\nendpoint = "pfs"\nprior = "neutral"': "endpoint 'pfs'",
           f'stacked = "{folder.name}"\nposterior = "x.nc"\nendpoint = "grfs"\n'
           'prior = "neutral"': "exactly one of",
           f'stacked = "{folder.name}"\nendpoint = "grfs"\nprior = "neutral"\n'
           'bias = { mu = 0.0 }': "plan.design_prior.bias",
           'log_hr_mu = 0.0\nlog_hr_sigma = 0.3\nfamily = "weibull"\nbias = "adjustment"\n'
           '[plan.design_prior.baseline]\nk = 1.0\nlam = 0.02': "only with 'posterior'"}
    for table, message in bad.items():
        with pytest.raises(SpecError, match=message):
            load(table)
    single = write_run(tmp_path / "single", {"model_averaging": {"weights": weight_rows(
        "grfs", "neutral", {"weibull": 1.0})}})
    (folder / "posteriors" / "grfs__weibull__neutral.nc").rename(
        single / "posteriors" / "grfs__weibull__neutral.nc")
    with pytest.raises(SpecError, match=r"bias = 'adjustment'.*no 'adjustment' entry"):
        load('stacked = "single"\nendpoint = "grfs"\nprior = "neutral"\nbias = "adjustment"')
    with pytest.raises(SpecError, match=r"grfs__weibull__neutral\.nc: posterior file not found"):
        load(f'stacked = "{folder.name}"\nendpoint = "grfs"\nprior = "neutral"')


def test_the_planning_page_states_the_bias_discount():
    from bridgebayes.report.plan_page import _design_prior_text

    doc = {"design_prior": {"source": "posterior x.nc", "log_hr_mean": -0.3, "log_hr_sd": 0.4,
                            "a0": 1.0, "vague_weight": 0.0,
                            "bias": {"mu": 0.0, "sigma": 0.2, "source": "bias analysis of run r",
                                     "equivalent_a0": 0.5}}}
    text = _design_prior_text(doc)
    assert "Normal(0, 0.2)" in text and "bias analysis of run r" in text and "a0 = 0.5" in text
