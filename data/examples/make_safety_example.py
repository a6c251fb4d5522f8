"""Write the SYNTHETIC safety example cohort (``synthetic_safety_cohort.csv``).

SYNTHETIC — NOT STUDY DATA.  Every patient in the output is simulated from the rates below
(literature-informed or labelled ASSUMPTION); nothing comes from the patients of Cao et al.
2025, who published no safety counts.  The file exists to demonstrate and test
``bridgebayes.safety``.  See ``README.md`` in this folder for the sources.

Usage::

    python3 data/examples/make_safety_example.py [--out PATH] [--seed N]

The same seed and numpy version give the same bytes (checked by tests/safety/test_table.py).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

SEED = 20251124
DAYS_PER_MONTH = 365.25 / 12
#: Arm sizes as in the seed study (Cao et al. 2025): 9 blinatumomab, 27 CAR-T.
N = {"blinatumomab": 9, "CAR-T": 27}

#: Per-arm rates.  ``pfs24``/``nrm24``: 2-year PFS and NRM of Cao et al. 2025 (abstract) — used
#: only to set the simulated hazards; relapse incidence = 1 - PFS - NRM.
#: ``agvhd24``: grade II-IV aGVHD; ``agvhd34``: grade III-IV; ``cgvhd``: any chronic GVHD.
RATES = {
    "CAR-T": {
        "pfs24": 0.5903, "nrm24": 0.0852,   # Cao 2025
        "agvhd24": 0.481,                   # Zhao 2021, CAR-T -> HSCT, grade II-IV
        "agvhd34": 0.111,                   # Zhao 2021, grade III-IV
        "cgvhd": 0.36,                      # Xu 2021 pooled (19 studies, 690 patients)
    },
    "blinatumomab": {
        "pfs24": 0.4444, "nrm24": 0.1111,   # Cao 2025
        "agvhd24": 0.256,                   # ASSUMPTION: Zhao 2021 chemo -> HSCT arm as proxy
        "agvhd34": 0.099,                   # Badar 2021 (blinatumomab -> alloHCT), grade III-IV
        "cgvhd": 0.344,                     # ASSUMPTION: Badar 2021 moderate-severe cGVHD as proxy
    },
}
#: ASSUMPTIONS shared by both arms (no source in the project's literature list).
POST_RELAPSE_DEATH_RATE = 0.06        # per month after relapse (median survival ~11.6 months)
FOLLOWUP_RANGE = (20.0, 92.0)         # months: accrual 2017-2023, cut-off late 2024
AGVHD_ONSET = (0.3, 3.3)              # months after HSCT (about day 10 to day 100)
CGVHD_ONSET = (3.3, 18.0)             # months after HSCT
CGVHD_SYSTEMIC = 0.5                  # share of chronic GVHD needing systemic therapy
ANC_DAYS = (14.0, 0.21, 0.02)         # median day, log-sd, never engrafted (typical day 12-16)
PLT_DAYS = (17.0, 0.27, 0.05)         # median day, log-sd, never engrafted (typical day 14-20)
INFECTIONS = {"infection_bacterial": 0.30, "infection_cmv": 0.40}

COLUMNS = ("id", "arm", "followup", "death", "relapse", "agvhd34", "cgvhd_sys",
           "anc_engraftment_day", "plt_engraftment_day", "agvhd24", "cgvhd",
           *INFECTIONS)


def _months(x: float) -> str:
    return "" if math.isnan(x) else f"{max(round(x, 2), 0.01):.2f}"


def _day(x: float) -> str:
    return "" if math.isnan(x) else str(int(x))


def _engraftment(rng: np.random.Generator, spec: tuple[float, float, float],
                 followup_days: float) -> float:
    median, log_sd, never = spec
    day = max(7.0, float(np.rint(median * math.exp(log_sd * rng.standard_normal()))))
    fails = rng.random() < never
    return math.nan if fails or day > math.floor(followup_days) - 1 else day


def simulate_patient(rng: np.random.Generator, arm: str) -> dict[str, str]:
    """One synthetic patient: survival history (months) and safety columns."""
    r = RATES[arm]
    hazard = -math.log(r["pfs24"]) / 24.0
    relapse_share = (1.0 - r["pfs24"] - r["nrm24"]) / (1.0 - r["pfs24"])
    relapse_or_nrm = rng.exponential(1.0 / hazard)
    is_relapse = rng.random() < relapse_share
    censor = rng.uniform(*FOLLOWUP_RANGE)
    relapse = relapse_or_nrm if is_relapse else math.inf
    death = (relapse + rng.exponential(1.0 / POST_RELAPSE_DEATH_RATE) if is_relapse
             else relapse_or_nrm)
    followup = min(death, censor)
    death = death if death <= censor else math.nan
    relapse = relapse if relapse <= followup else math.nan

    agvhd_onset, grade2_4 = rng.uniform(*AGVHD_ONSET), rng.random() < r["agvhd24"]
    grade3_4 = rng.random() < r["agvhd34"] / r["agvhd24"]
    agvhd24 = grade2_4 and agvhd_onset < followup
    cgvhd_onset, any_cgvhd = rng.uniform(*CGVHD_ONSET), rng.random() < r["cgvhd"]
    systemic = rng.random() < CGVHD_SYSTEMIC
    cgvhd = any_cgvhd and cgvhd_onset < followup
    followup_days = followup * DAYS_PER_MONTH
    row = {
        "arm": arm, "followup": _months(followup), "death": _months(death),
        "relapse": _months(relapse),
        "agvhd34": _months(agvhd_onset if agvhd24 and grade3_4 else math.nan),
        "cgvhd_sys": _months(cgvhd_onset if cgvhd and systemic else math.nan),
        "anc_engraftment_day": _day(_engraftment(rng, ANC_DAYS, followup_days)),
        "plt_engraftment_day": _day(_engraftment(rng, PLT_DAYS, followup_days)),
        "agvhd24": str(int(agvhd24)), "cgvhd": str(int(cgvhd)),
    }
    for column, p in INFECTIONS.items():
        row[column] = str(int(rng.random() < p))
    return row


def make_cohort(seed: int = SEED) -> str:
    """The CSV text of the synthetic cohort (ids SYN001...; blinatumomab rows first)."""
    rng = np.random.default_rng(seed)
    lines = [",".join(COLUMNS)]
    k = 0
    for arm, n in N.items():
        for _ in range(n):
            k += 1
            row = {"id": f"SYN{k:03d}"} | simulate_patient(rng, arm)
            lines.append(",".join(row[c] for c in COLUMNS))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Path:
    """Write the cohort and check that ``bridgebayes.load_cohort`` accepts it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name("synthetic_safety_cohort.csv"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(make_cohort(args.seed).encode("utf-8"))
    from bridgebayes.data.cohort import load_cohort

    cohort = load_cohort(args.out, arms=("blinatumomab", "CAR-T"))
    print(f"wrote {args.out} (SYNTHETIC): {cohort.n_per_arm}")
    return args.out


if __name__ == "__main__":
    main()
