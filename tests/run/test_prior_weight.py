"""The run's prior weight, conflict and calibration tables on the shipped seed spec (no fits
needed): the issue's hand numbers, the events and exposures from the cohort itself, the one
conflict flag beside the power-scaling diagnosis, stored once and reused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bridgebayes.run.prior_weight as module
from bridgebayes.core.store import Store
from bridgebayes.run.validate import prepare


@pytest.fixture(scope="module")
def seed(repo_root):
    prepared = prepare(repo_root / "models" / "cao2025.toml")
    return prepared.spec, prepared.cohort


@pytest.fixture(scope="module")
def computed(seed):
    spec, cohort = seed
    psens = pd.DataFrame([
        {"endpoint": "os", "family": f, "prior": "skeptical", "parameter": "log_hr",
         "diagnosis": d} for f, d in (("weibull", "prior and likelihood both influential"),
                                      ("piecewise_exponential", "-"))])
    return module._compute(cohort, spec, psens)


def test_the_seed_os_numbers_are_the_issues(computed, seed):
    spec, _ = seed
    w = computed.weight.set_index(["endpoint", "prior"])
    row = w.loc[("os", "skeptical")]
    assert (row["events_reference"], row["events_treatment"]) == (3, 8)
    assert (row["n_reference"], row["n_treatment"]) == (9, 27)
    assert row["prior_events_balanced"] == pytest.approx(4 / 0.42 ** 2)
    assert row["prior_events"] == pytest.approx(1 / (0.42 ** 2 * 0.75 * 0.25))
    assert row["elir_events"] == pytest.approx(row["prior_events"], rel=1e-6)
    assert row["prior_to_data"] == pytest.approx(2.598, abs=1e-3)
    assert w.loc[("os", "neutral"), "prior_to_data"] == pytest.approx(11 / 24)
    sentences = computed.sentences({"os": "OS"})
    assert "outweighs the data 2.6 times" in sentences["os__skeptical"][0]
    assert "data outweigh the prior 2.2 times" in sentences["os__neutral"][0]
    assert set(computed.weight["endpoint"] + "/" + computed.weight["prior"]) == {
        f"{e}/{p}" for e in spec.bayes.endpoints for p in spec.bayes.priors[e]}


def test_events_and_exposure_are_the_cohorts(seed):
    spec, cohort = seed
    for endpoint in spec.bayes.endpoints:
        data = cohort.endpoint(endpoint)
        events, exposure = module._stats(cohort, spec, endpoint)
        arm, time, event = np.asarray(data.arm), np.asarray(data.time), np.asarray(data.event)
        for a in (0, 1):
            assert events[:, a].sum() == (event[arm == a] > 0).sum()
            assert exposure[:, a].sum() == pytest.approx(time[arm == a].sum())
        assert events.shape[0] >= 2  # the PEM family's cut points (4 intervals asked)


def test_one_conflict_flag_read_beside_the_power_scaling_diagnosis(computed):
    c = computed.conflict.set_index(["endpoint", "prior"])
    assert (c["conflict"] == (c["p_value"] <= c["threshold"])).all()
    assert (c["threshold"] == 0.05).all()
    assert "influential in 1 of 2 fitted models" in c.loc[("os", "skeptical"), "power_scaling"]
    assert "not by itself a conflict" in c.loc[("os", "skeptical"), "power_scaling"]
    assert c.loc[("os", "neutral"), "power_scaling"] == ""  # no power-scaling rows given
    assert c.loc[("os", "skeptical"), "total_events"] == 11
    text = computed.sentences({})["os__skeptical"][1]
    assert text.startswith("Prior predictive check: tail probability")


def test_calibration_rows_cover_the_primary_rule_and_the_headline_thresholds(computed, seed):
    spec, _ = seed
    cal = computed.calibration
    assert set(cal["threshold"]) == {0.8, 0.9, 0.95, 0.975}
    assert set(cal["scenario"]) == {"HR = 1", "posterior"}
    assert (cal["hr_threshold"] == spec.primary.hr_threshold).all()
    null = cal[cal["scenario"] == "HR = 1"]
    for (_, prior), part in null.groupby(["endpoint", "prior"]):
        rates = part.sort_values("threshold")["rate"].to_numpy()
        assert np.all(np.diff(rates) <= 0)
        # a neutral prior rarely crosses 0.8 without an effect; the enthusiastic one mostly
        assert rates[0] < 0.3 if prior == "neutral" else True
    enthusiastic = null[(null["prior"] == "enthusiastic") & (null["threshold"] == 0.8)]
    assert enthusiastic["rate"].iloc[0] > 0.5


def test_stored_once_and_reused(seed, computed, tmp_path, monkeypatch):
    spec, cohort = seed
    calls = []
    monkeypatch.setattr(module, "_compute", lambda c, s, p: calls.append(1) or computed)
    store = Store(tmp_path / "store")
    first = module.prior_weight(cohort, spec, store)
    second = module.prior_weight(cohort, spec, store)
    assert calls == [1]
    for name in ("weight", "conflict", "calibration"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(computed, name))
        pd.testing.assert_frame_equal(getattr(second, name), getattr(computed, name))


def test_the_same_seed_gives_the_same_numbers(seed, computed):
    spec, cohort = seed
    psens = None
    again = module._compute(cohort, spec, psens)
    pd.testing.assert_frame_equal(again.weight, computed.weight)
    pd.testing.assert_series_equal(again.conflict["p_value"], computed.conflict["p_value"])
    pd.testing.assert_frame_equal(again.calibration, computed.calibration)


@pytest.fixture(scope="module")
def robust(repo_root, tmp_path_factory):
    """The seed spec with its enthusiastic OS prior made a robust mixture."""
    data = repo_root / "data" / "cao2025"
    text = (repo_root / "models" / "cao2025.toml").read_text().replace(
        "../data/cao2025/", f"{data}/").replace(
        'dist = "Normal"\nmu = -0.6698', 'dist = "NormalMixture"\nvague_weight = 0.2\n'
        'vague_sigma = 2.0\nmu = -0.6698', 1)
    path = tmp_path_factory.mktemp("robust") / "cao2025.toml"
    path.write_text(text)
    prepared = prepare(path)
    return prepared.spec, prepared.cohort, module._compute(prepared.cohort, prepared.spec, None)


def test_a_robust_mixture_prior_weighs_by_its_elir_and_reports_its_vague_weight(robust):
    from bridgebayes.inference.prior_weight import normal_mixture_elir
    from bridgebayes.models.exact import pem_posterior
    from bridgebayes.models.families import get_family

    spec, cohort, computed = robust
    row = computed.weight.set_index(["endpoint", "prior"]).loc[("os", "enthusiastic")]
    assert row["dist"] == "NormalMixture" and row["vague_weight"] == 0.2
    p = row["allocation"]
    elir = normal_mixture_elir([0.8, 0.2], [row["mu"], 0.0], [0.42, 2.0],
                               unit_information=p * (1 - p))
    assert row["prior_events"] == pytest.approx(elir, rel=1e-9)
    assert row["prior_events"] < 1 / (0.42 ** 2 * p * (1 - p))  # the vague part discounts
    data = cohort.endpoint("os")
    pem = get_family("piecewise_exponential").from_options(
        spec.bayes.family_options.get("piecewise_exponential", {}))
    exact = pem_posterior(data, cuts=pem.cuts_for(data), log_hr_mu=row["mu"], log_hr_sigma=0.42,
                          a0=pem.a0, log_hr_vague_weight=0.2, log_hr_vague_sigma=2.0)
    assert row["posterior_vague_weight"] == pytest.approx(exact.vague_weight(), rel=1e-9)
    c = computed.conflict.set_index(["endpoint", "prior"]).loc[("os", "enthusiastic")]
    rise = module.vague_rise(0.2, exact.vague_weight())
    assert c["vague_bayes_factor"] == pytest.approx(rise)
    assert c["conflict"] == (c["tail_conflict"] or rise >= module.VAGUE_BAYES_FACTOR)
    normal = computed.weight.set_index(["endpoint", "prior"]).loc[("os", "neutral")]
    assert np.isnan(normal["posterior_vague_weight"]) and normal["dist"] == "Normal"
    sentences = computed.sentences({"os": "OS"})["os__enthusiastic"]
    assert "0.80 Normal(-0.67, 0.42) + 0.20 Normal(0.00, 2.00)" in sentences[0]
    assert f"posterior weight of the vague component is {exact.vague_weight():.2f}" in (
        sentences[1])


def test_the_report_shows_the_vague_weight_beside_w(robust):
    from bridgebayes.report.sections_priors import prior_weight as section
    from bridgebayes.report.view import ResultsView
    from bridgebayes.run.results import _prior_weight

    _, cohort, computed = robust
    vague = pd.DataFrame([{"endpoint": "os", "family": "weibull", "prior": "enthusiastic",
                           "vague_weight": 0.2, "posterior_vague_weight": 0.4, "mcse": 0.01,
                           "vague_bayes_factor": module.vague_rise(0.2, 0.4)}])
    weight = module.PriorWeight(computed.weight, computed.conflict, computed.calibration, vague)

    from types import SimpleNamespace

    results = SimpleNamespace(tables={}, summary={})
    _prior_weight(results, weight, cohort)
    assert results.summary["prior_weight"]["vague_component"]["fits"][0][
        "posterior_vague_weight"] == 0.4
    summary = {"prior_weight": results.summary["prior_weight"],
               "study": {"endpoints": {"os": {"label": "OS"}, "pfs": {"label": "PFS"},
                                       "grfs": {"label": "GRFS"}}}}
    text = repr(section(ResultsView(folder=None, summary=summary, tables=results.tables)))
    assert "posterior weight of the vague component" in text and "vague weight w" in text
    assert "0.80 Normal(-0.67, 0.42) + 0.20 Normal(0.00, 2.00)" in text
