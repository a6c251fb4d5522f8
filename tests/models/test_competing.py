"""Tests for :mod:`bridgebayes.models.competing` (cause-specific hazards, cumulative incidence).

References: closed forms (constant hazards; Weibull hazards of equal shape), ``scipy.integrate``
quadrature of ``h_k S`` (unequal shapes, piecewise hazards), lifelines-based Aalen–Johansen
(``reference.cif_at``) on simulated data, and the exact oracle against NUTS.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy import integrate

from bridgebayes import load_cohort
from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.multistate import fit_competing_risks
from bridgebayes.models.competing import (
    CauseModel,
    CompetingRisksPosterior,
    cause_specific_data,
    cumulative_incidence,
    exact_competing_risks,
    incidence_grid,
)
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.reference.analysis import cif_at
from bridgebayes.summaries.decision import COLUMNS, CURVE_COLUMNS

LANDMARKS = (3.0, 6.0, 12.0, 24.0)


def simulate_competing(seed: int, n_per_arm: int, *, shapes=(1.0, 1.0), scales=(30.0, 60.0),
                       hrs=(0.7, 1.4), censor=(12.0, 40.0)) -> EndpointData:
    """Two causes with Weibull cause-specific hazards ``H_k = (t / scale_k)^shape_k · hr_k^x``."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n_per_arm)
    latent = []
    for shape, scale, hr in zip(shapes, scales, hrs, strict=True):
        # H(T) ~ Exp(1): T = scale · (E / hr^x)^(1/shape)
        e = rng.exponential(size=arm.size) / np.where(arm == 1, hr, 1.0)
        latent.append(scale * e ** (1.0 / shape))
    latent = np.stack(latent)
    c = rng.uniform(*censor, arm.size)
    first = latent.min(axis=0)
    cause = latent.argmin(axis=0) + 1
    return EndpointData(name="relapse_nrm", time=np.minimum(first, c),
                        event=np.where(first <= c, cause, 0), arm=arm,
                        arms=("reference", "treatment"), ids=np.arange(arm.size),
                        causes=("relapse", "nrm"))


# --- the integrator -------------------------------------------------------------------------

def test_constant_hazards_match_closed_form():
    h = np.array([[0.02, 0.05], [0.01, 0.03]])  # (cause, draw)
    grid = incidence_grid(36.0, include=LANDMARKS)
    cif = cumulative_incidence(h[:, :, None] * grid)
    total = h.sum(axis=0)[:, None]
    expected = h[:, :, None] / total * (1 - np.exp(-total * grid))
    np.testing.assert_allclose(cif, expected, rtol=1e-10, atol=1e-15)


def test_weibull_equal_shapes_match_closed_form():
    lam, k = np.array([0.004, 0.001]), 1.6
    grid = incidence_grid(40.0)
    cif = cumulative_incidence((lam[:, None] * grid**k)[:, None, :])
    expected = lam[:, None] / lam.sum() * (1 - np.exp(-lam.sum() * grid**k))
    np.testing.assert_allclose(cif[:, 0, :], expected, rtol=1e-10, atol=1e-15)


def _weibull_cif_errors(shapes, n_linear):
    lam, k = np.array([0.05, 0.01]), np.array(shapes)
    grid = incidence_grid(36.0, include=LANDMARKS, n_linear=n_linear)
    cif = cumulative_incidence((lam[:, None] * grid ** k[:, None])[:, None, :])[:, 0, :]

    def integrand(u, j):
        return lam[j] * k[j] * u ** (k[j] - 1) * np.exp(-np.sum(lam * u**k))

    errors = []
    for t in LANDMARKS:
        for j in (0, 1):
            ref, _ = integrate.quad(integrand, 0.0, t, args=(j,), epsabs=1e-14, epsrel=1e-12,
                                    limit=200)
            errors.append(abs(cif[j, np.searchsorted(grid, t)] - ref) / ref)
    return np.array(errors)


@pytest.mark.parametrize("shapes", [(0.6, 1.8), (2.5, 0.8)])
def test_weibull_unequal_shapes_match_quadrature(shapes):
    # default grid: relative error below 1e-3, far below posterior Monte-Carlo error
    assert _weibull_cif_errors(shapes, 200).max() < 1e-3


def test_integrator_converges_with_the_grid():
    coarse, fine = _weibull_cif_errors((2.5, 0.8), 100), _weibull_cif_errors((2.5, 0.8), 400)
    assert fine.max() < coarse.max() / 6  # between first (4x) and second order (16x)


def test_piecewise_hazards_with_different_cuts_match_quadrature():
    relapse = PiecewiseExponentialPH(cuts=(4.0, 10.0))
    nrm = PiecewiseExponentialPH(cuts=(6.0,))
    draws_r = {"log_hr": np.array([-0.4]), "lambda": np.array([[0.05, 0.02, 0.01]]),
               "cuts": np.array([4.0, 10.0])}
    draws_n = {"log_hr": np.array([0.3]), "lambda": np.array([[0.01, 0.03]]),
               "cuts": np.array([6.0])}
    post = CompetingRisksPosterior((CauseModel("relapse", relapse, draws_r),
                                    CauseModel("nrm", nrm, draws_n)), ("ref", "trt"))
    cif = post.cumulative_incidence(LANDMARKS, 1)

    def hazard(family, draws, u):
        return float(family.hazard(draws, [u], 1)[0, 0])

    def surv(u):
        return float(np.exp(-post.models[0].cumhaz([u], 1) - post.models[1].cumhaz([u], 1))[0, 0])

    for j, t in enumerate(LANDMARKS):
        for model in post.models:
            ref, _ = integrate.quad(lambda u, m=model: hazard(m.family, m.draws, u) * surv(u),
                                    0.0, t, points=[4.0, 6.0, 10.0], epsabs=1e-12, limit=200)
            assert cif[model.cause][0, j] == pytest.approx(ref, rel=1e-9)


def test_cifs_sum_to_one_minus_survival_and_are_monotone():
    rng = np.random.default_rng(3)
    grid = incidence_grid(30.0)
    cumhaz = np.stack([rng.gamma(2.0, 0.01, (50, 1)) * grid**1.3,
                       rng.gamma(2.0, 0.02, (50, 1)) * grid**0.7])
    cif = cumulative_incidence(cumhaz)
    np.testing.assert_allclose(cif.sum(axis=0), 1 - np.exp(-cumhaz.sum(axis=0)), rtol=1e-12,
                               atol=1e-15)
    assert np.all(np.diff(cif, axis=-1) >= 0)


def test_integrator_rejects_bad_input():
    with pytest.raises(BridgeBayesError, match="shape"):
        cumulative_incidence(np.zeros((2, 3)))
    with pytest.raises(BridgeBayesError, match="non-decreasing"):
        cumulative_incidence(np.array([[[0.0, 1.0, 0.5]], [[0.0, 0.1, 0.2]]]))
    with pytest.raises(BridgeBayesError, match="horizon"):
        incidence_grid(0.0)


# --- data and bookkeeping -------------------------------------------------------------------

def test_cause_specific_data_censors_the_other_cause():
    data = simulate_competing(1, 20)
    for code, cause in enumerate(data.causes, start=1):
        one = cause_specific_data(data, cause)
        assert one.name == f"relapse_nrm:{cause}"
        np.testing.assert_array_equal(one.event, (data.event == code).astype(int))
        np.testing.assert_array_equal(one.time, data.time)
        assert cause_specific_data(data, code).event.tolist() == one.event.tolist()


def test_bad_inputs_name_the_problem():
    data = simulate_competing(1, 10)
    single = EndpointData("os", data.time, (data.event > 0).astype(int), data.arm, data.arms,
                          data.ids)
    with pytest.raises(BridgeBayesError, match="not competing-risks data"):
        cause_specific_data(single, 1)
    with pytest.raises(BridgeBayesError, match="unknown cause 'gvhd'"):
        cause_specific_data(data, "gvhd")
    with pytest.raises(BridgeBayesError, match=r"code 1\.\.2"):
        cause_specific_data(data, 3)
    bad = EndpointData("relapse_nrm", data.time, np.where(data.event == 2, 5, data.event),
                       data.arm, data.arms, data.ids, causes=data.causes)
    with pytest.raises(BridgeBayesError, match=r"event: .*value 5"):
        exact_competing_risks(bad, WeibullPH(), rng=1)
    with pytest.raises(BridgeBayesError, match="expected a family"):
        exact_competing_risks(data, "cox", rng=1)
    with pytest.raises(BridgeBayesError, match="unknown \\['death'\\]"):
        exact_competing_risks(data, {"relapse": WeibullPH(), "nrm": WeibullPH(),
                                     "death": WeibullPH()}, rng=1)
    with pytest.raises(BridgeBayesError, match="no exact posterior"):
        exact_competing_risks(data, PiecewiseExponentialPH(time_varying=True), rng=1)
    with pytest.raises(BridgeBayesError, match="one family per cause"):
        fit_competing_risks(data, {"relapse": WeibullPH()}, seed=1)
    a = CauseModel("relapse", WeibullPH(), {"log_hr": np.zeros(3), "k": np.ones(3),
                                            "lam": np.ones(3)})
    b = CauseModel("nrm", WeibullPH(), {"log_hr": np.zeros(4), "k": np.ones(4),
                                        "lam": np.ones(4)})
    with pytest.raises(BridgeBayesError, match="same number of draws"):
        CompetingRisksPosterior((a, b), ("ref", "trt"))


def test_decision_table_is_tidy_and_consistent():
    data = simulate_competing(4, 60)
    post = exact_competing_risks(data, WeibullPH(), n_draws=2000, rng=2)
    decision = post.decide(landmarks=(12.0, 24.0), deltas=(0.0, 0.05), delta_landmark=24.0)
    table = decision.table
    assert tuple(table.columns) == COLUMNS
    assert set(table["analysis"]) == {"competing_risks"}
    cif24 = post.cumulative_incidence([24.0], 0)["nrm"][:, 0], post.cumulative_incidence(
        [24.0], 1)["nrm"][:, 0]
    diff = cif24[1] - cif24[0]
    row = decision.get("cif_difference", component="nrm", time=24.0)
    assert row["estimate"] == pytest.approx(np.median(diff), rel=1e-12)
    assert row["level"] == 0.95
    below = decision.get("prob_cif_difference_below", component="nrm", time=24.0)
    assert below["probability"] == pytest.approx(np.mean(diff < 0), abs=1e-12)
    p = table.query("quantity == 'prob_cif_difference_above' and component == 'nrm'")
    assert p["probability"].tolist() == pytest.approx([np.mean(diff > 0), np.mean(diff > 0.05)])
    assert (p["mcse"] > 0).all()
    hr = decision.get("prob_hr_below", component="relapse")
    log_hr = post.models[0].draws["log_hr"]
    assert hr["probability"] == pytest.approx(np.mean(log_hr < 0), abs=1e-12)
    curves = decision.curves
    assert tuple(curves.columns) == CURVE_COLUMNS
    assert len(curves) == 2 * 2 * 121
    assert (curves["lower"] <= curves["median"] + 1e-15).all()
    assert len(decision.sentences) == 2 + 2 * 2


# --- cross-checks ---------------------------------------------------------------------------

AJ_LANDMARKS = (6.0, 12.0, 18.0, 24.0)


FAMILIES = {"pem": PiecewiseExponentialPH(), "weibull": WeibullPH()}


def _aj_outside_band(data: EndpointData, family: str, *, swap_arms: bool = False) -> int:
    """How many (arm, cause, landmark) AJ estimates lie outside the posterior 95% band."""
    post = exact_competing_risks(data, FAMILIES[family], n_draws=2000, rng=5)
    outside = 0
    for a in (0, 1):
        cif = post.cumulative_incidence(AJ_LANDMARKS, a)
        mask = data.arm == (1 - a if swap_arms else a)
        for code, cause in enumerate(data.causes, start=1):
            lower, upper = np.quantile(cif[cause], [0.025, 0.975], axis=0)
            aj = np.array([cif_at(data.time[mask], data.event[mask], t, cause_of_interest=code)
                           for t in AJ_LANDMARKS])
            outside += int(np.sum((aj < lower) | (aj > upper)))
    return outside


@pytest.mark.parametrize("family,shapes", [("pem", (1.0, 1.0)), ("weibull", (1.3, 0.8))])
def test_aalen_johansen_inside_the_posterior_band(family, shapes):
    """Issue 4 done-when: AJ inside the 95% band at every landmark, 200 patients per arm."""
    assert _aj_outside_band(simulate_competing(11, 200, shapes=shapes), family) == 0


@pytest.mark.slow
@pytest.mark.parametrize("family,shapes", [("pem", (1.0, 1.0)), ("weibull", (1.3, 0.8))])
def test_aalen_johansen_agreement_over_replications(family, shapes):
    # AJ is itself noisy (and noisier than the parametric fit), so on single data sets it
    # occasionally leaves the band; over 10 data sets x 16 comparisons at most 3 may
    outside = [_aj_outside_band(simulate_competing(seed, 200, shapes=shapes), family)
               for seed in range(11, 21)]
    assert sum(outside) <= 3, outside


def test_aalen_johansen_check_detects_a_wrong_model():
    # the same check against the other arm's AJ (HR 0.7 vs 1.4 per cause) must fail
    assert _aj_outside_band(simulate_competing(11, 200), "pem", swap_arms=True) >= 4


def _mcse_mean_sd(x: np.ndarray, chains: int) -> tuple[float, float]:
    ess = float(az.ess(x.reshape(chains, -1)))
    return float(np.mean(x)), float(np.std(x)) / np.sqrt(ess)


@pytest.mark.slow  # two NUTS compilations: 20-50 s on a shared machine
def test_nuts_cif_matches_the_exact_oracle():
    data = simulate_competing(7, 40)
    families = {c: PiecewiseExponentialPH(cuts=(8.0,)) for c in data.causes}
    exact = exact_competing_risks(data, families, n_draws=8000, rng=3)
    nuts = fit_competing_risks(data, families, seed=5,
                               sampler=SamplerSettings(chains=2, draws=500, tune=500,
                                                       retry_tune=500, retry_target_accept=0.9))
    assert all(m.gate_passed is not None for m in nuts.models)
    for a in (0, 1):
        e, n = exact.cumulative_incidence([6.0, 18.0], a), nuts.cumulative_incidence([6.0, 18.0],
                                                                                      a)
        for cause in data.causes:
            for j in range(2):
                mean, se = _mcse_mean_sd(n[cause][:, j], 2)
                se_exact = np.std(e[cause][:, j]) / np.sqrt(e[cause].shape[0])
                assert abs(mean - np.mean(e[cause][:, j])) < 4 * np.hypot(se, se_exact)


def test_seed_cohort_runs_end_to_end(repo_root):
    cohort = load_cohort(repo_root / "data/cao2025/cohort.csv", arms=("blinatumomab", "CAR-T"))
    post = exact_competing_risks(cohort.endpoint("relapse_nrm"), WeibullPH(log_hr_sigma=0.42),
                                 n_draws=1000, rng=1)
    table = post.decide().table
    assert table["probability"].dropna().between(0, 1).all()
    assert set(table["component"]) == {"relapse", "nrm"}


def test_sentences_use_readable_cause_names():
    from bridgebayes.models.competing import CauseModel, CompetingRisksPosterior
    from bridgebayes.models.families import PiecewiseExponentialPH

    draws = {"log_hr": np.zeros(50), "lambda": np.full((50, 1), 0.02), "cuts": np.array([])}
    post = CompetingRisksPosterior(tuple(CauseModel(c, PiecewiseExponentialPH(), draws)
                                         for c in ("relapse", "nrm")), ("blina", "CAR-T"))
    decision = post.decide(landmarks=(12.0,), cause_labels={"nrm": "NRM"})
    sentences = decision.sentences
    assert any(s.startswith("Cause-specific HR for NRM (CAR-T vs blina)") for s in sentences)
    assert any("NRM cumulative incidence" in s for s in sentences)
    assert not any(" nrm " in s for s in sentences)
    assert any(s.startswith("Cause-specific HR for relapse") for s in sentences)  # no label
    assert set(decision.table["component"]) == {"relapse", "nrm"}  # the table keeps the codes
    plain = post.decide(landmarks=(12.0,)).sentences  # default: the cause labels themselves
    assert any(s.startswith("Cause-specific HR for nrm (CAR-T vs blina)") for s in plain)
