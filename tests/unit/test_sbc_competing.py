"""Simulation-based calibration of the cause-specific (competing-risks) model, exact path.

Each simulation draws both causes' PEM parameters from a fixed-scale prior, simulates a
two-arm competing-risks trial with censoring, and ranks the truth among exact posterior draws:
the cause-specific log HRs and a derived quantity, the treatment arm's relapse CIF at 24 months
(truth and draws go through the same CIF code, so this calibrates the joint posterior of both
causes as the CIF uses it; the integration itself is checked against closed forms in
``test_competing.py``).  The prior here is a proper fixed-scale Gamma(1, 24) on each baseline
hazard.  Uniform ranks (χ², 20 bins, p > 0.005) are required; a too-narrow posterior (negative
control) must fail.  Illness–death: its transitions factorise into Weibull models whose SBC is
in ``test_sbc.py``; no SBC of the joint illness–death simulation yet.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from bridgebayes.competing import (
    CauseModel,
    CompetingRisksPosterior,
    cause_specific_data,
)
from bridgebayes.endpoints import EndpointData
from bridgebayes.exact import pem_posterior
from bridgebayes.families import PiecewiseExponentialPH

CUTS = (12.0,)
RATE = 1 / 24  # fixed prior scale (per month) of every baseline hazard
A0 = 1.0  # Gamma(1, 1 / RATE): proper, not too heavy-tailed, so trials have events
N_PER_ARM, N_SIMS, N_DRAWS = 30, 300, 99
CAUSES = ("relapse", "nrm")


def _simulate(rng: np.random.Generator) -> tuple[dict, EndpointData]:
    truth = {c: {"log_hr": rng.normal(), "lambda": rng.gamma(A0, RATE / A0, size=2)}
             for c in CAUSES}
    arm = np.repeat([0, 1], N_PER_ARM)
    latent = []
    for c in CAUSES:  # invert the piecewise cumulative hazard of each cause
        rate = truth[c]["lambda"][None, :] * np.exp(truth[c]["log_hr"] * arm)[:, None]
        e = rng.exponential(size=arm.size)
        first = e / rate[:, 0]
        later = CUTS[0] + (e - rate[:, 0] * CUTS[0]) / rate[:, 1]
        latent.append(np.where(first <= CUTS[0], first, later))
    latent = np.column_stack(latent)
    censor = rng.uniform(6.0, 36.0, size=arm.size)
    t_event = latent.min(axis=1)
    event = np.where(t_event <= censor, latent.argmin(axis=1) + 1, 0)
    data = EndpointData("relapse_nrm", np.minimum(t_event, censor), event, arm,
                        ("reference", "treatment"), np.arange(arm.size).astype(str),
                        causes=CAUSES)
    return truth, data


def _posterior(draws_by_cause: dict) -> CompetingRisksPosterior:
    family = PiecewiseExponentialPH(cuts=CUTS)
    return CompetingRisksPosterior(tuple(CauseModel(c, family, draws_by_cause[c])
                                         for c in CAUSES), ("reference", "treatment"))


def _ranks(sigma_used: float) -> dict[str, np.ndarray]:
    ranks: dict[str, list[int]] = {"log_hr[relapse]": [], "log_hr[nrm]": [], "CIF24[relapse]": []}
    for i in range(N_SIMS):
        rng = np.random.default_rng(np.random.SeedSequence(2026, spawn_key=(i,)))
        truth, data = _simulate(rng)
        draws = {}
        for code, cause in enumerate(CAUSES, start=1):
            post = pem_posterior(cause_specific_data(data, code), cuts=CUTS, log_hr_mu=0.0,
                                 log_hr_sigma=sigma_used, a0=A0, crude_rate=RATE)
            draws[cause] = post.draws(N_DRAWS, rng=rng)
        true = {c: {"log_hr": np.array([truth[c]["log_hr"]]),
                    "lambda": truth[c]["lambda"][None, :]} for c in CAUSES}
        cif_post = _posterior(draws).cumulative_incidence([24.0], 1)["relapse"][:, 0]
        cif_true = _posterior(true).cumulative_incidence([24.0], 1)["relapse"][0, 0]
        for name, value, sample in (
                ("log_hr[relapse]", truth["relapse"]["log_hr"], draws["relapse"]["log_hr"]),
                ("log_hr[nrm]", truth["nrm"]["log_hr"], draws["nrm"]["log_hr"]),
                ("CIF24[relapse]", cif_true, cif_post)):
            below, ties = np.sum(sample < value), np.sum(sample == value)
            ranks[name].append(int(below + rng.integers(0, ties + 1)))
    return {k: np.asarray(v) for k, v in ranks.items()}


def _p_uniform(ranks: np.ndarray) -> float:
    counts = np.bincount(ranks * 20 // (N_DRAWS + 1), minlength=20)
    return float(chisquare(counts).pvalue)


@pytest.fixture(scope="module")
def calibrated():
    return _ranks(sigma_used=1.0)


@pytest.mark.parametrize("quantity", ["log_hr[relapse]", "log_hr[nrm]", "CIF24[relapse]"])
def test_cause_specific_posterior_is_calibrated(calibrated, quantity):
    assert _p_uniform(calibrated[quantity]) > 0.005


def test_a_too_narrow_posterior_is_detected():
    wrong = _ranks(sigma_used=0.3)  # the analysis prior is narrower than the true prior
    assert min(_p_uniform(wrong[q]) for q in ("log_hr[relapse]", "log_hr[nrm]")) < 0.005
