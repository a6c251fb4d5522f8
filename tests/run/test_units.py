"""Units end to end: the same data in days and in months give the same exact posterior, and
the spec's times follow the data's unit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bridgebayes.core.units import convert
from bridgebayes.data.survival_table import load_survival_cohort
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH
from bridgebayes.run.spec_values import time_value

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("family", [PiecewiseExponentialPH(n_intervals=4), WeibullPH()])
def test_days_and_months_give_the_same_exact_posterior(family):
    frame = pd.read_csv(ROOT / "data" / "public" / "gbsg2.csv")[["days", "event", "arm"]]
    arms = ("no hormone therapy", "hormone therapy")
    days = load_survival_cohort(frame, arms=arms, duration_col="days", time_unit="days")
    months = load_survival_cohort(frame.assign(days=frame["days"] / (365.25 / 12)), arms=arms,
                                  duration_col="days", time_unit="months")
    a = family.exact_posterior(days.endpoint("endpoint"))
    b = family.exact_posterior(months.endpoint("endpoint"))
    assert a.prob_hr_below(1.0) == pytest.approx(b.prob_hr_below(1.0), abs=1e-9)
    assert a.log_hr_mean() == pytest.approx(b.log_hr_mean(), abs=1e-9)
    assert a.log_hr_sd() == pytest.approx(b.log_hr_sd(), rel=1e-8)
    # survival at the same calendar time, from the same draws' uniforms
    s_days = family.survival(a.draws(2000, rng=1), [365.25], 1)
    s_months = family.survival(b.draws(2000, rng=1), [12.0], 1)
    np.testing.assert_allclose(s_days, s_months, rtol=1e-6)


def test_spec_times_with_units_are_converted_to_the_data_unit():
    spec = Path("spec.toml")
    assert time_value(spec, "k", "1 years", "days") == 365.25
    assert time_value(spec, "k", 30, "days") == 30.0
    assert time_value(spec, "k", "6 months", "weeks") == pytest.approx(
        convert(6.0, source="months", target="weeks"))
    with pytest.raises(ValueError, match="'k'"):
        time_value(spec, "k", "6 fortnights", "days")
    with pytest.raises(ValueError, match="finite time > 0"):
        time_value(spec, "k", -1, "days")
