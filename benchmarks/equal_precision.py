"""The main job's fits at equal precision: bridgebayes's NUTS driver vs a plain PyMC script.

Run:  python benchmarks/equal_precision.py [--target 0.005]

Every ``[bayes]`` fit of ``models/cao2025.toml`` (endpoint x family x prior, 28 fits) is drawn
until the Monte Carlo standard error of P(HR < 1) is at most ``--target`` for that fit, so
that drawing fewer samples cannot win: each fit starts at the spec's 1000 draws per chain and,
while its MCSE (ArviZ, of the indicator log HR < 0) is above the target, is refitted with
``draws * (mcse / target)^2 * 1.2`` draws.  Two sides, each in a new process:

* **bridgebayes**: ``bridgebayes.inference.driver.run_nuts`` with the spec's settings (nutpie,
  4 chains, compiled once per model structure, the diagnostics gate and its retry);
* **PyMC script**: the same models (the families' ``build_model``, so the same
  parametrisation: this favours the script) sampled by ``pm.sample`` with its defaults
  (on this machine: 2 chains; a new model compile per fit).

Each side runs twice: cold (an empty PyTensor compile cache, ``base_compiledir``) and with
the cache its cold run filled (warm, a new process).  Times are of the fits alone (data and
model set-up included, imports and start-up not); the baseline in the same run is the PyMC
script.  Peak resident memory is that of the process, the largest of its child processes
(PyMC's samplers, compilers) reported apart.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "models" / "cao2025.toml"
SECTION = "Main job's fits at equal precision: bridgebayes vs a plain PyMC script"

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, write_section  # noqa: E402


def _mcse_p(log_hr) -> tuple[float, float]:
    """P(HR < 1) and its MCSE from draws shaped (chain, draw)."""
    import arviz as az
    import numpy as np

    below = (np.asarray(log_hr) < 0).astype(float)
    return float(below.mean()), float(np.ravel(az.mcse(below, method="mean"))[0])


def _side(which: str, target: float) -> dict:
    """Fit every combination on one side; runs in the child process."""
    import numpy as np

    from bridgebayes.run.fits import FitKey, family_for, sampler_for
    from bridgebayes.run.spec import load_spec
    from bridgebayes.run.study import load_study, resolve

    spec = load_spec(SPEC)
    cohort = load_study(spec)
    spec = resolve(spec, cohort)
    settings = sampler_for(spec)
    seed = spec.bayes.seed
    rows, total = [], 0.0
    for combo in spec.bayes.combinations():
        key = FitKey(*combo)
        draws, elapsed, attempts = settings.draws, 0.0, 0
        while True:
            attempts += 1
            start = time.perf_counter()
            data = cohort.endpoint(key.endpoint)
            family = family_for(spec, cohort, key)
            if which == "bridgebayes":
                import dataclasses

                from bridgebayes.inference.driver import run_nuts

                result = run_nuts(data, family, dataclasses.replace(settings, draws=draws),
                                  seed=seed)
                log_hr = result.idata.posterior["log_hr"].values
            else:
                import pymc as pm

                with family.build_model(data):
                    idata = pm.sample(draws=draws, random_seed=seed, progressbar=False,
                                      compute_convergence_checks=False)
                log_hr = idata.posterior["log_hr"].values
            elapsed += time.perf_counter() - start
            p, mcse = _mcse_p(log_hr)
            if mcse <= target or attempts == 4:
                break
            draws = math.ceil(draws * (mcse / target) ** 2 * 1.2)
        total += elapsed
        rows.append({"fit": str(key), "draws": draws, "chains": int(np.shape(log_hr)[0]),
                     "attempts": attempts, "seconds": elapsed, "p_hr_below_1": p,
                     "mcse": mcse, "met": mcse <= target})
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rows": rows, "total": total, "rss_mb": self_rss, "child_rss_mb": child_rss}


def _run_side(which: str, target: float, compiledir: Path) -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}")
    proc = subprocess.run([sys.executable, __file__, "--child", which, "--target", str(target)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{which} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_rows(side: dict) -> str:
    worst = max(r["mcse"] for r in side["rows"])
    unmet = sum(not r["met"] for r in side["rows"])
    draws = sum(r["draws"] * r["chains"] for r in side["rows"])
    return (f"{side['total']:.1f} s | {worst:.4f} | {unmet} | {draws:,} | "
            f"{side['rss_mb']:.0f} MB" + (f" (+ child processes {side['child_rss_mb']:.0f} MB)"
                                         if side["child_rss_mb"] > 1 else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=float, default=0.005)
    parser.add_argument("--child", choices=["bridgebayes", "pymc"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_side(args.child, args.target)))
        return
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("pymc", "bridgebayes"):
            folder = Path(tmp) / which
            runs[which, "cold"] = _run_side(which, args.target, folder)
            runs[which, "warm"] = _run_side(which, args.target, folder)
    n = len(runs["pymc", "cold"]["rows"])
    lines = [
        machine_line(f"python benchmarks/equal_precision.py --target {args.target}"),
        "",
        f"{n} fits (every `[bayes]` endpoint x family x prior of `models/cao2025.toml`), each "
        f"drawn until the MCSE of P(HR < 1) is <= {args.target} (at most 4 attempts). "
        "Baseline: the PyMC script in the same run (the families' own models, `pm.sample` "
        "defaults). Fit times only (imports and start-up excluded).",
        "",
        "| side | fits, total | worst MCSE | fits above target | draws, all chains | "
        "peak RSS | ratio PyMC script / it |",
        "|---|---|---|---|---|---|---|",
    ]
    for state in ("cold", "warm"):
        base = runs["pymc", state]["total"]
        for which, name in (("pymc", "PyMC script"), ("bridgebayes", "bridgebayes")):
            side = runs[which, state]
            lines.append(f"| {name}, {state} compile cache | {_fmt_rows(side)} | "
                         f"{base / side['total']:.2f} |")
    lines += ["", "Per fit (cold): seconds, bridgebayes / PyMC script; draws per chain.", "",
              "| fit | bridgebayes s | draws | PyMC script s | draws | P(HR < 1) bb / pymc |",
              "|---|---|---|---|---|---|"]
    for b, p in zip(runs["bridgebayes", "cold"]["rows"], runs["pymc", "cold"]["rows"],
                    strict=True):
        lines.append(f"| {b['fit']} | {b['seconds']:.2f} | {b['draws']} | {p['seconds']:.2f} | "
                     f"{p['draws']} | {b['p_hr_below_1']:.3f} / {p['p_hr_below_1']:.3f} |")
    write_section(SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
