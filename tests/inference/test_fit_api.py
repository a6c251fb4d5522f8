"""The lifelines/ArviZ-style fitting API: data as Cohort, EndpointData or DataFrame, family by
name or object, named priors; summary and plotting methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.data.cohort import load_cohort
from bridgebayes.inference.driver import SamplerSettings
from bridgebayes.inference.fit import fit
from bridgebayes.models.families import WeibullPH

SMALL = SamplerSettings(chains=2, draws=400, tune=400)
ARMS = ("blinatumomab", "CAR-T")


@pytest.fixture(scope="module")
def cohort(repo_root):
    return load_cohort(repo_root / "data" / "cao2025" / "cohort.csv", arms=ARMS)


@pytest.fixture(scope="module")
def by_name(cohort):
    return fit(cohort, "weibull", endpoint="grfs", prior="skeptical", seed=5, sampler=SMALL)


def test_names_resolve_to_the_same_model_and_draws(cohort, by_name):
    explicit = fit(cohort.endpoint("grfs"), WeibullPH(log_hr_mu=0.0, log_hr_sigma=0.42),
                   seed=5, sampler=SMALL)
    np.testing.assert_array_equal(by_name.idata.posterior["log_hr"].values,
                                  explicit.idata.posterior["log_hr"].values)
    assert by_name.family.log_hr_sigma == pytest.approx(0.42)


def test_a_lifelines_style_dataframe_is_accepted(cohort, by_name):
    data = cohort.endpoint("grfs")
    frame = pd.DataFrame({"duration": data.time, "event": data.event,
                          "arm": np.where(np.asarray(data.arm) == 1, ARMS[1], ARMS[0])})
    result = fit(frame, "weibull", endpoint="grfs", prior="skeptical", arms=ARMS, seed=5,
                 sampler=SMALL)
    np.testing.assert_array_equal(result.idata.posterior["log_hr"].values,
                                  by_name.idata.posterior["log_hr"].values)


def test_summary_and_plots(by_name):
    table = by_name.summary()
    assert {"log_hr", "hr", "k", "lam"} <= set(table.index)
    assert {"mean", "sd", "ess_bulk", "r_hat"} <= set(table.columns)
    assert table.loc["hr", "mean"] == pytest.approx(float(by_name.idata.posterior["hr"].mean()),
                                                    abs=1e-3)
    survival = by_name.plot_survival()
    texts = [t.get_text() for ax in survival.axes for t in ax.texts]
    assert isinstance(survival, Figure) and len(survival.axes) == 2  # curves + at-risk table
    assert {"9", "27"} <= set(texts)  # numbers at risk at time 0: 9 vs 27 patients
    hr = by_name.plot_hr()
    assert isinstance(hr, Figure) and hr.axes[0].get_xscale() == "log"


@pytest.mark.parametrize("kwargs, pattern", [
    ({"family": "weibull"}, r"endpoint: required when fitting a Cohort"),
    ({"family": "gompertz", "endpoint": "os"}, r"gompertz"),
    ({"family": "weibull", "endpoint": "os", "prior": "hopeful"}, r"hopeful"),
])
def test_bad_inputs_name_the_argument(cohort, kwargs, pattern):
    with pytest.raises(BridgeBayesError, match=pattern):
        fit(cohort, seed=1, sampler=SMALL, **kwargs)


def test_a_dataframe_needs_arms():
    frame = pd.DataFrame({"duration": [1.0, 2.0], "event": [1, 0], "arm": ["a", "b"]})
    with pytest.raises(BridgeBayesError, match=r"arms: required with a DataFrame"):
        fit(frame, "weibull", seed=1)
