"""Small cohorts for the safety tests: four hand-made patients, simulated engraftment days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bridgebayes.core.units import DAYS_PER_MONTH
from bridgebayes.data.cohort import Cohort, load_cohort

ARMS = ("blinatumomab", "CAR-T")


def seed_rows(**extra) -> pd.DataFrame:
    """Four valid patients (two per arm) plus the given extra columns."""
    frame = pd.DataFrame({
        "id": ["a", "b", "c", "d"], "arm": ["blinatumomab", "blinatumomab", "CAR-T", "CAR-T"],
        "followup": [10.0, 4.0, 12.0, 3.0], "death": [10.0, 4.0, None, 3.0],
        "relapse": [2.0, None, None, 1.0], "agvhd34": [None] * 4, "cgvhd_sys": [None] * 4})
    for key, values in extra.items():
        frame[key] = values
    return frame


def engraftment_cohort(seed: int, n: int, *, k: float, scale: tuple[float, float],
                       cure: float = 0.0, early_death: float = 0.05) -> Cohort:
    """Weibull PH engraftment days (shared k; treatment scale ``scale[1]``); a fraction
    ``early_death`` dies before day 30 and ``cure`` never engraft; follow-up 24 months."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(ARMS, n)
    code = np.repeat([0, 1], n)
    day = rng.weibull(k, 2 * n) * np.where(code == 1, scale[1], scale[0])
    day[rng.random(2 * n) < cure] = np.nan
    death_day = np.where(rng.random(2 * n) < early_death, rng.uniform(1, 30, 2 * n), np.nan)
    died_first = death_day < np.nan_to_num(day, nan=np.inf)
    day[died_first] = np.nan
    late_death = rng.uniform(1, 24, 2 * n)
    death = np.where(died_first, death_day / DAYS_PER_MONTH,
                     np.where(rng.random(2 * n) < 0.2, late_death, np.nan))
    death = np.where(~died_first & (death * DAYS_PER_MONTH <= np.nan_to_num(day, nan=0) + 1),
                     np.nan, death)
    frame = pd.DataFrame({
        "id": [f"P{i}" for i in range(2 * n)], "arm": arm,
        "followup": np.where(np.isnan(death), 24.0, death), "death": death,
        "relapse": np.nan, "agvhd34": np.nan, "cgvhd_sys": np.nan,
        "anc_engraftment_day": day})
    return load_cohort(frame, arms=ARMS)
