"""Benchmark the compiled-sampler cache across processes, and the unchanged rerun.

Run:  python benchmarks/compile_cache.py [--families piecewise_exponential weibull]

Per family (the OS model of ``models/cao2025.toml``), each in a new process on one fresh
PyTensor cache folder (``PYTENSOR_FLAGS=base_compiledir=<new folder>``):

* cold: empty cache (PyTensor's graph function and the C callbacks compiled);
* nutpie, warm graph: ``nutpie.compile_pymc_model`` with PyTensor's numba cache warm — what a
  second process paid before :mod:`bridgebayes.inference.compile_cache` (nutpie's callbacks
  cannot be cached, and compiling them links and re-optimises the graph function);
* bridgebayes, warm: the driver's compile with everything cached (a second process now).

Ratios are to the cold compile of the same family in the same run.  Then the unchanged rerun
of a small spec (``bridgebayes run`` on an up-to-date output folder), against the same run's
start-up baseline (``bridgebayes --help``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Compile cache across processes; unchanged rerun"

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, write_section  # noqa: E402

PROBE = r"""
import sys, time
from bridgebayes.run.validate import prepare
from bridgebayes.run.fits import FitKey, family_for
p = prepare(sys.argv[1])
family = family_for(p.spec, p.cohort, FitKey("os", sys.argv[2], p.spec.bayes.priors["os"][0]))
model = family.build_model(p.cohort.endpoint("os"))
if sys.argv[3] == "nutpie":
    import nutpie
    compile_fn = nutpie.compile_pymc_model
else:
    from bridgebayes.inference.compile_cache import compile_model as compile_fn
start = time.perf_counter()
compile_fn(model)
print(time.perf_counter() - start)
"""


def _compile(family: str, how: str, base: Path) -> float:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={base}")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "models" / "cao2025.toml"),
                           family, how], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return float(proc.stdout.splitlines()[-1])


def _wall(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bridgebayes.cli.commands", *args],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise RuntimeError(proc.stderr[-3000:])
    return elapsed


def _rerun(folder: Path) -> tuple[float, float, float]:
    """(``--help``, first run, unchanged rerun) of the test suite's small seed spec."""
    sys.path.insert(0, str(ROOT / "tests"))
    from specs import small_seed_spec

    spec = small_seed_spec(ROOT, folder)
    out = folder / "report"
    first = _wall(["--quiet", "run", str(spec), "--out", str(out)])
    again = sorted(_wall(["--quiet", "run", str(spec), "--out", str(out)]) for _ in range(3))[1]
    help_time = sorted(_wall(["--help"]) for _ in range(3))[1]
    return help_time, first, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", nargs="*", default=["piecewise_exponential", "weibull"],
                        help="families whose compile is measured (none: only the rerun)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families:
            base = Path(tmp) / family
            cold = _compile(family, "ours", base)
            nutpie_warm = _compile(family, "nutpie", base)
            warm = _compile(family, "ours", base)
            rows.append(f"| {family} | {cold:.1f} s | {nutpie_warm:.1f} s "
                        f"({nutpie_warm / cold:.2f}) | {warm:.1f} s ({warm / cold:.2f}) |")
        help_time, first, again = _rerun(Path(tmp) / "study")
    lines = [
        machine_line("python benchmarks/compile_cache.py --families " + " ".join(args.families)),
        "",
        *(["Compile time of one model structure in a new process (ratio to the cold compile of "
           "the same run). Compare ratios, not seconds: the machine's 2 cores "
           "may be shared with other jobs.", ""] if rows else []),
        *(["| family | cold (empty caches) | second process, nutpie's wrappers (PyTensor cache "
           "warm) | second process, bridgebayes (`compile_cache`) |", "|---|---|---|---|", *rows,
           ""] if rows else []),
        "| run (small seed spec, new process) | wall time | ratio to `bridgebayes --help` |",
        "|---|---|---|",
        f"| `bridgebayes --help` (start-up baseline) | {help_time:.2f} s | 1 |",
        f"| first run (one NUTS fit, report) | {first:.1f} s | {first / help_time:.0f}x |",
        f"| unchanged rerun (up to date, no PyMC imported) | {again:.2f} s | "
        f"{again / help_time:.1f}x |",
    ]
    write_section(SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
