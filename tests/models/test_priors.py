"""Tests for :mod:`bridgebayes.models.priors`: round trips (dict, TOML), agreement with PyMC's logp
and
closed-form cdfs, strict validation naming where a prior came from, and the named log-HR sets
with their probabilities computed from the prior objects."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import tomllib

import numpy as np
import pymc as pm
import pytest
import tomli_w
from scipy import special, stats

from bridgebayes.core.errors import SpecError
from bridgebayes.models.priors import (
    DISTRIBUTIONS,
    LOG_HR_PRIORS,
    STRENGTHS,
    NamedPrior,
    Prior,
    describe,
    log_hr_prior,
    prior_to_toml,
)

# Parameters that float32 holds exactly (2.5, 0.5, ...) on purpose: they catch PyTensor's
# float32 constants, which would make PyMC's logp differ from the exact density by ~1e-6.
CASES = {
    "Normal": {"mu": 0.5, "sigma": 2.5},
    "StudentT": {"nu": 3.5, "mu": -0.25, "sigma": 0.75},
    "HalfNormal": {"sigma": 2.5},
    "LogNormal": {"mu": 0.5, "sigma": 0.5},
    "Gamma": {"alpha": 2.5, "beta": 0.5},
    "Exponential": {"lam": 1.5},
}
POSITIVE_SUPPORT = {"HalfNormal", "LogNormal", "Gamma", "Exponential"}
WHERE = "priors.log_hr"


def _grid(dist: str) -> np.ndarray:
    return np.linspace(0.01, 12.0, 97) if dist in POSITIVE_SUPPORT else np.linspace(-8, 8, 97)


def _closed_form_cdf(dist: str, kw: dict[str, float], x: np.ndarray) -> np.ndarray:
    if dist == "Normal":
        return 0.5 * special.erfc(-(x - kw["mu"]) / (kw["sigma"] * math.sqrt(2)))
    if dist == "StudentT":
        t = (x - kw["mu"]) / kw["sigma"]
        tail = 0.5 * special.betainc(kw["nu"] / 2, 0.5, kw["nu"] / (kw["nu"] + t**2))
        return np.where(t > 0, 1 - tail, tail)
    if dist == "HalfNormal":
        return special.erf(x / (kw["sigma"] * math.sqrt(2)))
    if dist == "LogNormal":
        return 0.5 * special.erfc(-(np.log(x) - kw["mu"]) / (kw["sigma"] * math.sqrt(2)))
    if dist == "Gamma":
        return special.gammainc(kw["alpha"], kw["beta"] * x)
    return -np.expm1(-kw["lam"] * x)


def _closed_form_mean_sd(dist: str, kw: dict[str, float]) -> tuple[float, float]:
    if dist == "Normal":
        return kw["mu"], kw["sigma"]
    if dist == "StudentT":
        return kw["mu"], kw["sigma"] * math.sqrt(kw["nu"] / (kw["nu"] - 2))
    if dist == "HalfNormal":
        return kw["sigma"] * math.sqrt(2 / math.pi), kw["sigma"] * math.sqrt(1 - 2 / math.pi)
    if dist == "LogNormal":
        m, s2 = kw["mu"], kw["sigma"] ** 2
        return math.exp(m + s2 / 2), math.sqrt(math.expm1(s2) * math.exp(2 * m + s2))
    if dist == "Gamma":
        return kw["alpha"] / kw["beta"], math.sqrt(kw["alpha"]) / kw["beta"]
    return 1 / kw["lam"], 1 / kw["lam"]


def test_cases_cover_the_whole_registry():
    assert set(CASES) == set(DISTRIBUTIONS)


# --- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("dist", CASES)
def test_dict_round_trip(dist):
    prior = Prior(dist, CASES[dist], where=WHERE)
    table = prior.to_dict()
    assert table == {"dist": dist, "kwargs": CASES[dist]}
    assert all(type(v) is float for v in table["kwargs"].values())
    again = Prior.from_dict(table, where=WHERE)
    assert again == prior and hash(again) == hash(prior)


@pytest.mark.parametrize("dist", CASES)
def test_toml_round_trip(dist):
    prior = Prior(dist, CASES[dist])
    assert Prior.from_dict(tomllib.loads(prior_to_toml(prior)), where=WHERE) == prior
    # nested inside an analysis file, as a spec would hold it
    doc = tomllib.loads(tomli_w.dumps({"priors": {"log_hr": prior.to_dict()}}))
    assert Prior.from_dict(doc["priors"]["log_hr"], where=WHERE) == prior


def test_toml_integers_are_accepted_as_floats():
    table = tomllib.loads('dist = "Normal"\n[kwargs]\nmu = 0\nsigma = 1\n')
    prior = Prior.from_dict(table, where=WHERE)
    assert prior.to_dict() == {"dist": "Normal", "kwargs": {"mu": 0.0, "sigma": 1.0}}
    assert type(prior.kwargs["sigma"]) is float


def test_prior_is_immutable_hashable_picklable_and_where_is_not_part_of_identity():
    source = {"mu": 0.0, "sigma": 1.0}
    prior = Prior("Normal", source, where="a")
    source["sigma"] = 99.0
    assert prior.kwargs["sigma"] == 1.0
    with pytest.raises(TypeError):
        prior.kwargs["sigma"] = 2.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        prior.dist = "StudentT"  # type: ignore[misc]
    assert prior == Prior("Normal", {"mu": 0, "sigma": 1}, where="b")
    assert len({prior, Prior("Normal", {"mu": 0, "sigma": 1})}) == 1
    for clone in (pickle.loads(pickle.dumps(prior)), copy.deepcopy(prior)):
        assert clone == prior and clone.where == "a"


# --- densities, cdfs, moments, sampling ----------------------------------------------------

@pytest.mark.parametrize("dist", CASES)
def test_logpdf_equals_pymc_logp(dist):
    kw = CASES[dist]
    grid = _grid(dist)
    expected = pm.logp(getattr(pm, dist).dist(**{k: np.float64(v) for k, v in kw.items()}),
                       grid).eval()
    np.testing.assert_allclose(Prior(dist, kw).logpdf(grid), expected, rtol=1e-10)


@pytest.mark.parametrize("dist", CASES)
def test_created_variable_has_the_same_logp(dist):
    prior = Prior(dist, CASES[dist])
    grid = _grid(dist)
    with pm.Model():
        rv = prior.create("x")
    np.testing.assert_allclose(pm.logp(rv, grid).eval(), prior.logpdf(grid), rtol=1e-10)


@pytest.mark.parametrize("dist", sorted(POSITIVE_SUPPORT))
def test_logpdf_is_minus_inf_outside_the_support(dist):
    prior = Prior(dist, CASES[dist])
    with pm.Model():
        rv = prior.create("x")
    assert prior.logpdf(-1.0) == -np.inf == pm.logp(rv, -1.0).eval()


@pytest.mark.parametrize("dist", CASES)
def test_cdf_matches_closed_form(dist):
    grid = _grid(dist)
    expected = _closed_form_cdf(dist, CASES[dist], grid)
    np.testing.assert_allclose(Prior(dist, CASES[dist]).cdf(grid), expected, rtol=1e-10,
                               atol=1e-300)


@pytest.mark.parametrize("dist", CASES)
def test_mean_and_sd_match_closed_form(dist):
    prior = Prior(dist, CASES[dist])
    mean, sd = _closed_form_mean_sd(dist, CASES[dist])
    assert prior.mean() == pytest.approx(mean, rel=1e-12, abs=1e-15)
    assert prior.sd() == pytest.approx(sd, rel=1e-12)


@pytest.mark.parametrize("dist", CASES)
def test_sample_is_seeded_and_centred_on_the_mean(dist):
    prior = Prior(dist, CASES[dist])
    draws = prior.sample(np.random.default_rng(20250101), 20_000)
    assert draws.shape == (20_000,)
    np.testing.assert_array_equal(draws, prior.sample(20250101, 20_000))
    # tolerance in Monte Carlo standard errors
    assert abs(draws.mean() - prior.mean()) < 5 * prior.sd() / math.sqrt(draws.size)
    if dist in POSITIVE_SUPPORT:
        assert draws.min() >= 0


def test_sample_accepts_a_shape():
    assert Prior("Normal", {"mu": 0, "sigma": 1}).sample(1, (2, 3)).shape == (2, 3)


# --- validation ------------------------------------------------------------------------------

NORMAL = {"dist": "Normal", "kwargs": {"mu": 0.0, "sigma": 1.0}}
MALFORMED = {
    "unknown dist": ({"dist": "Normall", "kwargs": {"mu": 0, "sigma": 1}},
                     ["'Normall'", "allowed: Normal, StudentT"]),
    "dist not a string": ({"dist": 3, "kwargs": {"mu": 0, "sigma": 1}}, ["dist", "3"]),
    "misspelled parameter": ({"dist": "Normal", "kwargs": {"mu": 0, "sigam": 1}},
                             ["unknown 'sigam'", "did you mean 'sigma'", "missing 'sigma'"]),
    "missing parameter": ({"dist": "Normal", "kwargs": {"mu": 0}}, ["missing 'sigma'"]),
    "extra parameter": ({"dist": "Normal", "kwargs": {"mu": 0, "sigma": 1, "tau": 2}},
                        ["unknown 'tau'", "Normal takes mu, sigma"]),
    "sigma zero": ({"dist": "Normal", "kwargs": {"mu": 0, "sigma": 0}},
                   ["kwargs.sigma", "> 0", "0.0"]),
    "sigma negative": ({"dist": "Normal", "kwargs": {"mu": 0, "sigma": -0.42}},
                       ["kwargs.sigma", "-0.42"]),
    "mu nan": ({"dist": "Normal", "kwargs": {"mu": math.nan, "sigma": 1}},
               ["kwargs.mu", "finite", "nan"]),
    "sigma inf": ({"dist": "Normal", "kwargs": {"mu": 0, "sigma": math.inf}},
                  ["kwargs.sigma", "inf"]),
    "lam minus inf": ({"dist": "Exponential", "kwargs": {"lam": -math.inf}},
                      ["kwargs.lam", "-inf"]),
    "bool value": ({"dist": "Normal", "kwargs": {"mu": 0, "sigma": True}},
                   ["kwargs.sigma", "must be a number", "True"]),
    "string value": ({"dist": "Normal", "kwargs": {"mu": 0, "sigma": "1.0"}},
                     ["kwargs.sigma", "'1.0'"]),
    "Gamma alpha negative": ({"dist": "Gamma", "kwargs": {"alpha": -2, "beta": 1}},
                             ["kwargs.alpha", "Gamma", "-2.0"]),
    "StudentT nu zero": ({"dist": "StudentT", "kwargs": {"nu": 0, "mu": 0, "sigma": 1}},
                         ["kwargs.nu", "0.0"]),
    "kwargs not a table": ({"dist": "Normal", "kwargs": 1.0}, ["kwargs", "table", "1.0"]),
    "kwargs a list": ({"dist": "Normal", "kwargs": [0, 1]}, ["kwargs", "[0, 1]"]),
    "kwargs missing": ({"dist": "Normal"}, ["dist and kwargs", "{'dist': 'Normal'}"]),
    "extra top-level key": ({**NORMAL, "dims": "arm"}, ["dist and kwargs", "'dims'"]),
    "not a table": ("Normal(0, 1)", ["'Normal(0, 1)'"]),
}


@pytest.mark.parametrize(("table", "fragments"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_tables_raise_spec_error_naming_where_and_value(table, fragments):
    with pytest.raises(SpecError) as info:
        Prior.from_dict(table, where=WHERE)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    for fragment in [WHERE, *fragments]:
        assert fragment in message, (fragment, message)


def test_direct_construction_validates_and_names_where():
    with pytest.raises(SpecError, match=r"^models/x\.toml:priors\.tau\.kwargs\.sigma .*-1\.0"):
        Prior("HalfNormal", {"sigma": -1}, where="models/x.toml:priors.tau")
    with pytest.raises(SpecError, match="must be a number"):
        Prior("HalfNormal", {"sigma": np.bool_(True)})


# --- PyMC variables --------------------------------------------------------------------------

def test_create_gives_the_named_variable_with_dims():
    prior = Prior("Normal", {"mu": 0, "sigma": 0.42})
    with pm.Model(coords={"interval": ["0-6", "6-12", "12+"]}) as model:
        scalar = prior.create("log_hr")
        vector = prior.create("log_hr_interval", dims="interval")
    assert scalar.name == "log_hr" and model["log_hr"] is scalar
    assert model.named_vars_to_dims.get("log_hr") in (None, ())
    assert vector.name == "log_hr_interval"
    assert model.named_vars_to_dims["log_hr_interval"] == ("interval",)
    assert pm.draw(vector, random_seed=1).shape == (3,)


# --- named log-HR priors -----------------------------------------------------------------------

def test_skeptical_prior_puts_five_percent_below_half():
    named = LOG_HR_PRIORS["skeptical"]
    assert named.prior == Prior("Normal", {"mu": 0.0, "sigma": 0.42})
    p = float(named.prior.cdf(math.log(0.5)))
    assert p == pytest.approx(0.05, abs=0.002)
    assert p == pytest.approx(stats.norm.cdf(math.log(0.5), 0, 0.42), rel=1e-12)
    assert named.meaning.startswith("Sceptical") and f"{100 * p:.2g}%" in named.meaning
    assert "Zampieri" in named.source and "Goligher" in named.source


def test_no_built_in_prior_favours_an_arm():
    # a prior that favours one arm belongs to its study (the seed study's enthusiastic prior is
    # declared in models/cao2025.toml), not to the package's defaults
    assert all(named.prior.kwargs["mu"] == 0.0 for named in LOG_HR_PRIORS.values())
    with pytest.raises(SpecError, match="'enthusiastic'"):
        log_hr_prior("enthusiastic")


def test_neutral_prior_95_percent_interval():
    named = LOG_HR_PRIORS["neutral"]
    assert named.prior == Prior("Normal", {"mu": 0.0, "sigma": 1.0})
    lo, hi = np.exp(stats.norm.ppf([0.025, 0.975]))
    assert (lo, hi) == pytest.approx((0.14, 7.1), abs=0.01)
    assert "between 0.14 and 7.1" in named.meaning


@pytest.mark.parametrize("kind", ["neutral", "skeptical"])
@pytest.mark.parametrize("strength", list(STRENGTHS))
def test_strengths_scale_the_sd_and_the_meaning_is_computed(kind, strength):
    named = log_hr_prior(kind, strength=strength)
    base = LOG_HR_PRIORS[kind].prior
    assert isinstance(named, NamedPrior)
    assert named.name == (kind if strength == "moderate" else f"{kind}-{strength}")
    assert named.prior.kwargs["mu"] == base.kwargs["mu"]
    assert named.prior.kwargs["sigma"] == pytest.approx(base.kwargs["sigma"] * STRENGTHS[strength])
    assert f"({strength})" in named.meaning
    if kind == "skeptical":
        assert f"{100 * named.prior.cdf(math.log(0.5)):.2g}% prior" in named.meaning


def test_stronger_skeptical_priors_give_less_mass_to_large_benefit():
    p = [float(log_hr_prior("skeptical", strength=s).prior.cdf(math.log(0.5)))
         for s in ("weak", "moderate", "strong")]
    assert p[0] > p[1] > p[2]


@pytest.mark.parametrize(("kind", "strength", "bad"), [("optimistic", "moderate", "optimistic"),
                                                       ("skeptical", "extreme", "extreme")])
def test_unknown_kind_or_strength(kind, strength, bad):
    with pytest.raises(SpecError, match=f"'{bad}'"):
        log_hr_prior(kind, strength=strength)


def test_named_priors_mapping_is_read_only_and_keyed_by_name():
    assert list(LOG_HR_PRIORS) == ["neutral", "skeptical"]
    assert all(named.name == key for key, named in LOG_HR_PRIORS.items())
    with pytest.raises(TypeError):
        LOG_HR_PRIORS["flat"] = LOG_HR_PRIORS["neutral"]  # type: ignore[index]


def test_describe_has_one_row_per_named_prior_and_probabilities_from_cdf():
    table = describe()
    assert list(table.columns) == ["name", "dist", "kwargs", "P(HR<1)", "P(HR<0.8)",
                                   "P(HR<0.5)", "meaning", "source"]
    assert table["name"].tolist() == list(LOG_HR_PRIORS)
    for row in table.itertuples(index=False):
        prior = LOG_HR_PRIORS[row.name].prior
        assert row.dist == prior.dist and row.kwargs == dict(prior.kwargs)
        expected = prior.cdf(np.log([1.0, 0.8, 0.5]))
        np.testing.assert_allclose(row[3:6], expected, rtol=1e-12)
        assert row.meaning == LOG_HR_PRIORS[row.name].meaning
    assert table.loc[0, "P(HR<1)"] == pytest.approx(0.5, rel=1e-12)  # neutral


def test_describe_all_strengths():
    every = {n.name: n for n in (log_hr_prior(k, strength=s)
                                 for k in LOG_HR_PRIORS for s in STRENGTHS)}
    table = describe(every)
    assert len(table) == 6 and table["name"].is_unique
