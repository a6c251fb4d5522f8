"""Warm fits of every family on the seed endpoints (issue 15: each new family under 10 s).

Run:  python benchmarks/families_warm.py

For each family of ``models/cao2025.toml``'s ``[bayes]``: one uncounted fit compiles its model
structure (or loads it from the machine's compile cache); then every endpoint x prior of the
spec is fitted with the spec's sampler settings (``bridgebayes.inference.fit.fit``: NUTS,
gate, retry, per-patient log-likelihood), timed one by one.  Baseline in the same run: the
piecewise-exponential family, the package's primary model.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Families on the seed endpoints, warm"

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, write_section  # noqa: E402


def main() -> None:
    from bridgebayes.inference.fit import FitWarning, fit
    from bridgebayes.run.fits import FitKey, family_for, sampler_for
    from bridgebayes.run.validate import prepare

    prepared = prepare(ROOT / "models" / "cao2025.toml")
    spec, cohort = prepared.spec, prepared.cohort
    settings, seed = sampler_for(spec), spec.bayes.seed
    times: dict[str, list[float]] = {}
    warnings.simplefilter("ignore", FitWarning)
    for family in spec.bayes.families:
        combos = [FitKey(*c) for c in spec.bayes.combinations() if c[1] == family]
        first = combos[0]
        fit(cohort.endpoint(first.endpoint), family_for(spec, cohort, first), seed=seed,
            sampler=settings)  # compile (or load) the structure: not counted
        for key in combos:
            start = time.perf_counter()
            fit(cohort.endpoint(key.endpoint), family_for(spec, cohort, key), seed=seed,
                sampler=settings)
            times.setdefault(family, []).append(time.perf_counter() - start)
    base = statistics.median(times["piecewise_exponential"])
    lines = [
        machine_line("python benchmarks/families_warm.py"),
        "",
        f"Sampler: {settings.chains} chains x ({settings.tune} + {settings.draws}), "
        f"{settings.backend}, {settings.cores} cores. Every endpoint x prior of the spec "
        "(os: 3 priors, pfs and grfs: 2), after one uncounted compile per family.",
        "",
        "| family | fits | median fit | slowest fit | target | median ratio to PEM |",
        "|---|---|---|---|---|---|",
        *(f"| {family} | {len(v)} | {statistics.median(v):.2f} s | {max(v):.2f} s | "
          f"< 10 s | {statistics.median(v) / base:.2f} |" for family, v in times.items()),
    ]
    write_section(SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
