"""Write the SYNTHETIC confounded cohort (``confounded_cohort.csv``) and its true marginal
effects (``confounded_truth.json``).

SYNTHETIC — NOT STUDY DATA.  A two-arm survival table with strong confounding by indication:
sicker patients (higher ``severity``, ``high_risk = yes``) are more likely to be treated *and*
die sooner, so an unadjusted comparison makes the treatment look worse than it is.

Model (months): ``severity ~ Normal(0, 1)``, ``high_risk ~ Bernoulli(0.4)``;
``P(treated) = logistic(-0.3 + 1.2 severity + 1.0 high_risk)``; Weibull PH with shape 1.2,
baseline median 15 months and log hazard ``-0.5 treated + 0.8 severity + 0.9 high_risk``;
administrative censoring uniform on 12 to 36 months.  The true marginal S(t) of each arm is
``E_Z[S(t | a, Z)]`` over the covariate distribution (ATE) or over the treated (ATT, weighted
by the propensity), by Gauss–Hermite quadrature in ``severity`` and a sum over ``high_risk``;
RMST by Gauss–Legendre quadrature in time.

Usage::

    python3 data/examples/make_confounded_cohort.py [--out-dir DIR] [--seed N] [--n N]

The same seed and numpy version give the same bytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SEED = 20261203
N = 400
SHAPE = 1.2
MEDIAN = 15.0
LOG_HR = -0.5
GAMMA = {"severity": 0.8, "high_risk": 0.9}
PS = {"intercept": -0.3, "severity": 1.2, "high_risk": 1.0}
P_HIGH_RISK = 0.4
CENSOR = (12.0, 36.0)
TAU = 24.0
LANDMARKS = (12.0, 24.0)
ARMS = ("control", "treated")


def _lam() -> float:
    return float(np.log(2) / MEDIAN ** SHAPE)


def simulate(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One cohort: severity, high_risk (0/1), arm (0/1), time, event."""
    severity = rng.normal(size=n)
    high = (rng.random(n) < P_HIGH_RISK).astype(int)
    ps = 1 / (1 + np.exp(-(PS["intercept"] + PS["severity"] * severity
                           + PS["high_risk"] * high)))
    arm = (rng.random(n) < ps).astype(int)
    eta = LOG_HR * arm + GAMMA["severity"] * severity + GAMMA["high_risk"] * high
    t = (rng.exponential(size=n) / (_lam() * np.exp(eta))) ** (1 / SHAPE)
    c = rng.uniform(*CENSOR, size=n)
    return {"severity": severity, "high_risk": high, "arm": arm,
            "time": np.minimum(t, c), "event": (t <= c).astype(int)}


def marginal_survival(times: np.ndarray, arm: int, estimand: str = "ate") -> np.ndarray:
    """True standardised S(t) of ``arm`` over the population of ``estimand``."""
    nodes, wts = np.polynomial.hermite_e.hermegauss(80)  # E over N(0, 1)
    wts = wts / wts.sum()
    times = np.asarray(times, float)
    total, mass = np.zeros(times.shape), 0.0
    for high, p_high in ((0, 1 - P_HIGH_RISK), (1, P_HIGH_RISK)):
        w = wts * p_high
        if estimand == "att":
            w = w / (1 + np.exp(-(PS["intercept"] + PS["severity"] * nodes
                                  + PS["high_risk"] * high)))
        eta = LOG_HR * arm + GAMMA["severity"] * nodes + GAMMA["high_risk"] * high
        s = np.exp(-_lam() * np.exp(eta)[:, None] * times[None, :] ** SHAPE)
        total += w @ s
        mass += w.sum()
    return total / mass


def truth() -> dict[str, dict[str, float]]:
    """True marginal S(t) differences at the landmarks and RMST(tau) difference."""
    x, w = np.polynomial.legendre.leggauss(200)
    grid, gw = TAU / 2 * (x + 1), TAU / 2 * w
    out = {}
    for estimand in ("ate", "att"):
        s = {a: marginal_survival(np.asarray(LANDMARKS), a, estimand) for a in (0, 1)}
        rmst = {a: float(gw @ marginal_survival(grid, a, estimand)) for a in (0, 1)}
        out[estimand] = {
            **{f"survival_{t:g}_{ARMS[a]}": float(s[a][j]) for a in (0, 1)
               for j, t in enumerate(LANDMARKS)},
            **{f"survival_difference_{t:g}": float(s[1][j] - s[0][j])
               for j, t in enumerate(LANDMARKS)},
            f"rmst_{TAU:g}_control": rmst[0], f"rmst_{TAU:g}_treated": rmst[1],
            f"rmst_difference_{TAU:g}": rmst[1] - rmst[0]}
    out["conditional"] = {"log_hr": LOG_HR, "hr": float(np.exp(LOG_HR))}
    return out


def csv_text(cohort: dict[str, np.ndarray]) -> str:
    lines = ["id,arm,months,event,severity,high_risk"]
    for i in range(cohort["arm"].size):
        lines.append(f"C{i + 1:03d},{ARMS[cohort['arm'][i]]},{cohort['time'][i]:.3f},"
                     f"{cohort['event'][i]},{cohort['severity'][i]:.4f},"
                     f"{'yes' if cohort['high_risk'][i] else 'no'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--n", type=int, default=N)
    args = parser.parse_args()
    cohort = simulate(args.n, np.random.default_rng(args.seed))
    (args.out_dir / "confounded_cohort.csv").write_text(csv_text(cohort), encoding="utf-8")
    meta = {"seed": args.seed, "n": args.n, "tau": TAU, "landmarks": list(LANDMARKS),
            "truth": truth()}
    (args.out_dir / "confounded_truth.json").write_text(json.dumps(meta, indent=2) + "\n",
                                                       encoding="utf-8")


if __name__ == "__main__":
    main()
