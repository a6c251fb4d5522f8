"""Scaling of the PEM and Weibull fits from 36 to 100,000 patients (generated data).

Run:  python benchmarks/scaling.py [--sizes 36 1000 10000 100000] [--repeats 3]
                                   [--big-repeats 3] [--out benchmarks/RESULTS.md]

Every fit goes through ``bridgebayes.inference.fit.fit`` with the package's default sampler backend
(recorded with the other ``SamplerSettings`` fields).  Per family and size, medians over
``--repeats`` repeats of

* ``cold``: wall time of a ``fit()`` with the sampler's compile cache emptied first
  (``bridgebayes.inference.driver.clear_cache``): build, compile, sample, gate and, up to
  ``fit.LOG_LIKELIHOOD_AUTO_MAX`` patients, the per-patient log-likelihood;
* ``warm``: wall time of a refit of the same model structure, which reuses the compiled model
  (no compilation);
* ``loo``: PSIS-LOO of the warm fit (``Fit.loo()``), including the per-patient
  log-likelihood where ``fit()`` left it to LOO (above ``LOG_LIKELIHOOD_AUTO_MAX``);
* ``sampling``: the sampler alone on the compiled model (``bridgebayes.inference.driver.sample``);
* ``ESS/s``: bulk ESS of ``log_hr`` per second of the warm fit;

and the ratio of each to the 36-patient fit measured in the same run (after one uncounted
warm-up).  Goals (issue 7): PEM at 100,000 patients costs at most 2x the 36-patient fit;
Weibull at 100,000 patients samples in <= 30 s.  The section "Scaling" of ``--out`` is
replaced; other sections are kept (the file is re-read just before writing).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import platform
import statistics
import subprocess
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np

from bridgebayes.core.io import atomic_write_text
from bridgebayes.core.provenance import versions
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.inference import driver as samplers
from bridgebayes.inference.fit import LOG_LIKELIHOOD_AUTO_MAX, FitWarning, SamplerSettings, fit
from bridgebayes.models.families import PiecewiseExponentialPH, WeibullPH

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Scaling: PEM and Weibull fits, 36 to 100,000 patients"
#: the default settings except 2 chains (kept from the first runs of this benchmark so the
#: table stays comparable; 4 chains run one after the other on cores=1, doubling sampling)
SETTINGS = SamplerSettings(chains=2)


def generate(n: int, seed: int) -> EndpointData:
    """``n`` patients, half per arm: Weibull(shape 1.2, scale 24 months), HR 0.7, censoring
    uniform on 12–48 months (accrual 36 months, analysis at 48)."""
    rng = np.random.default_rng(seed)
    arm = np.arange(n) % 2
    shape, scale, log_hr = 1.2, 24.0, np.log(0.7)
    t = scale * (rng.exponential(1.0, n) * np.exp(-log_hr * arm)) ** (1 / shape)
    c = rng.uniform(12.0, 48.0, n)
    return EndpointData(name="os", time=np.minimum(t, c), event=(t <= c).astype(int), arm=arm,
                        arms=("reference", "treatment"), ids=np.arange(n))


def one_fit(family, data: EndpointData, seed: int, *, cold: bool) -> dict[str, float]:
    """Wall time of one ``fit()``; ``cold``: the sampler's compile cache emptied first."""
    if cold:
        samplers.clear_cache()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = fit(data, family, seed=seed, sampler=SETTINGS)
    wall = time.perf_counter() - start
    ess = float(az.ess(result.idata, var_names=["log_hr"])["log_hr"])
    start = time.perf_counter()
    result.loo()
    loo = time.perf_counter() - start
    return {"wall": wall, "ess": ess, "retried": float(result.retried),
            "gate": float(result.gate.passed), "loo": loo}


def sampling_only(family, data: EndpointData, seed: int) -> float:
    """Wall time of the sampler alone (``samplers.sample``, compiled model reused), as in
    ``fit()`` but without its gate and per-patient log-likelihood."""
    start = time.perf_counter()
    samplers.sample(data, family, backend=SETTINGS.backend, seed=seed, draws=SETTINGS.draws,
                    tune=SETTINGS.tune, chains=SETTINGS.chains, cores=SETTINGS.cores,
                    target_accept=SETTINGS.target_accept)
    return time.perf_counter() - start


def repeat(family, data: EndpointData, seed: int) -> dict[str, float]:
    """A cold fit (compilation included), a warm refit of the same structure, the sampler."""
    cold = one_fit(family, data, seed, cold=True)
    warm = one_fit(family, data, seed + 1000, cold=False)
    sampling = sampling_only(family, data, seed + 2000)
    return {"cold": cold["wall"], "warm": warm["wall"], "sampling": sampling,
            "loo": warm["loo"], "ess_per_s": warm["ess"] / warm["wall"],
            "retried": cold["retried"] + warm["retried"],
            "gate": min(cold["gate"], warm["gate"])}


def measure(sizes: list[int], repeats: int, big_repeats: int) -> list[dict]:
    """Median measures per family and size (``big_repeats`` for 100,000 patients)."""
    rows = []
    families = {"PEM (4 pieces, sufficient statistics)":
                lambda: PiecewiseExponentialPH(cuts=(6.0, 12.0, 24.0)),
                "Weibull (per patient)": WeibullPH}
    for label, make in families.items():
        repeat(make(), generate(min(sizes), seed=99), seed=99)  # warm-up, not counted
        for n in sizes:
            reps = big_repeats if n >= 100_000 else repeats
            runs = [repeat(make(), generate(n, seed=r), seed=r) for r in range(reps)]
            row = {"family": label, "n": n, "repeats": reps,
                   **{k: statistics.median(run[k] for run in runs) for k in runs[0]},
                   "retries": sum(run["retried"] for run in runs),
                   "gate_failures": sum(1 - run["gate"] for run in runs)}
            print(row, flush=True)
            rows.append(row)
    return rows


def section(rows: list[dict], sizes: list[int], elapsed: float) -> str:
    """The markdown section."""
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    v = versions()
    lines = [SECTION, "",
             f"Machine: {platform.machine()}, {len_cpus()} cores (shared with other jobs), "
             f"Python {platform.python_version()}; "
             + ", ".join(f"{k} {v[k]}" for k in ("numpy", "pymc", "pytensor", "arviz")
                         if k in v)
             + f"; git {git}; {time.strftime('%Y-%m-%d', time.gmtime())}. Command: "
             f"`python benchmarks/scaling.py --sizes {' '.join(map(str, sizes))}` "
             f"({elapsed / 60:.0f} min).", "",
             f"Sampler: `bridgebayes.inference.fit.fit` with `SamplerSettings"
             f"({', '.join(f'{k}={v!r}' for k, v in dataclasses.asdict(SETTINGS).items())})`. "
             "Generated data: Weibull(shape 1.2, scale 24 months), HR 0.7, uniform censoring "
             "12–48 months.  `cold`: a whole `fit()` with the compile cache emptied (build, "
             "compile, sample, gate, and the per-patient log-likelihood up to "
             f"{LOG_LIKELIHOOD_AUTO_MAX:,} patients; above, `fit()` leaves it to LOO, so the "
             "10,000-patient fit includes it and the 100,000-patient fit does not); `warm`: "
             "a refit of the same model structure (compiled model reused); `sampling`: the "
             "sampler alone on the compiled model (`samplers.sample`); `LOO`: `Fit.loo()` of "
             "the warm fit, including the per-patient log-likelihood where `fit()` left it "
             "out; ESS/s: bulk ESS of log HR per second of the warm fit; ratios against the "
             "36-patient fit "
             "of the same family in the same run (after one uncounted warm-up per family); "
             "medians over the stated repeats.", "",
             "| family | patients | repeats | cold fit (s) | ratio | warm fit (s) | ratio | "
             "sampling (s) | ratio | LOO (s) | ESS/s log HR | ratio | retries |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    base = {r["family"]: r for r in rows if r["n"] == min(sizes)}
    for r in rows:
        b = base[r["family"]]
        lines.append(f"| {r['family']} | {r['n']:,} | {r['repeats']} | {r['cold']:.2f} | "
                     f"{r['cold'] / b['cold']:.2f} | {r['warm']:.2f} | "
                     f"{r['warm'] / b['warm']:.2f} | {r['sampling']:.2f} | "
                     f"{r['sampling'] / b['sampling']:.2f} | {r['loo']:.2f} | "
                     f"{r['ess_per_s']:.0f} | "
                     f"{r['ess_per_s'] / b['ess_per_s']:.2f} | {int(r['retries'])} |")
    top = max(sizes)
    pem = next(r for r in rows if r["n"] == top and r["family"].startswith("PEM"))
    wei = next(r for r in rows if r["n"] == top and r["family"].startswith("Weibull"))
    pem_cold, pem_warm, pem_sampling = (pem[k] / base[pem["family"]][k]
                                        for k in ("cold", "warm", "sampling"))
    lines += ["", f"Goals at the largest size measured ({top:,} patients): PEM costs "
              f"{pem_warm:.2f}x (warm fit) / {pem_cold:.2f}x (cold fit) / {pem_sampling:.2f}x "
              f"(sampling) the 36-patient fit (goal <= 2x: "
              f"{'met' if max(pem_warm, pem_cold) <= 2 else 'NOT met'} for the whole fit, "
              f"{'met' if pem_sampling <= 2 else 'NOT met'} for sampling); Weibull samples in "
              f"{wei['sampling']:.1f} s (goal <= 30 s: "
              f"{'met' if wei['sampling'] <= 30 else 'NOT met'}; whole fit {wei['warm']:.1f} s "
              f"warm, {wei['cold']:.1f} s cold).  PSIS-LOO at {top:,} patients, when asked "
              f"for: PEM {pem['loo']:.1f} s, Weibull {wei['loo']:.1f} s.", ""]
    return "\n".join(lines)


def len_cpus() -> int:
    import os

    return os.cpu_count() or 1


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's section of ``path`` (other sections kept); re-read first."""
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    start = old.find(SECTION)
    if start >= 0:
        end = old.find("\n## ", start + len(SECTION))
        old = old[:start] + (old[end + 1:] if end >= 0 else "")
    atomic_write_text(path, old.rstrip("\n") + "\n\n" + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 1000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-repeats", type=int, default=3, help="repeats at 100,000")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    logging.getLogger("pymc").setLevel(logging.WARNING)
    start = time.perf_counter()
    rows = measure(sorted(args.sizes), args.repeats, args.big_repeats)
    text = section(rows, sorted(args.sizes), time.perf_counter() - start)
    print(text)
    if args.out:
        write_section(Path(args.out), text)


if __name__ == "__main__":
    main()
