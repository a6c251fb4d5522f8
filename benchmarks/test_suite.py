"""Time the default test suite (README command 2), with a cold and a warm compile cache.

Run:  python benchmarks/test_suite.py

* cold: ``python -m pytest`` with an empty PyTensor compile cache
  (``PYTENSOR_FLAGS=base_compiledir=<new folder>``), as on a fresh clone and machine;
* warm: the same command again on that cache (a developer's second run).
Baseline in the same run: collection alone (``pytest --collect-only``: start-up and imports).
Target (issue 18): the default suite <= 8 min on 2 cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Test suite (README command 2)"

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, write_section  # noqa: E402


def _pytest(env: dict[str, str], *extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *extra], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return elapsed, proc.stdout.strip().splitlines()[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp}")
        collect, _ = _pytest(env, "--collect-only", "-n", "0")
        cold, summary = _pytest(env)
        warm, _ = _pytest(env)
    counts = re.sub(r"\s*in [\d.]+s.*$", "", summary.strip("= "))
    lines = [
        machine_line("python benchmarks/test_suite.py"),
        "",
        f"`python -m pytest` (2 xdist workers): {counts}; chromium "
        f"{'present' if Path('/usr/bin/chromium').exists() else 'absent (browser test skipped)'}.",
        "",
        "| run | wall time | target | ratio to collection |",
        "|---|---|---|---|",
        f"| collection only (`--collect-only`, baseline) | {collect:.1f} s | - | 1 |",
        f"| cold (empty PyTensor compile cache) | {cold:.0f} s | <= 480 s | "
        f"{cold / collect:.0f}x |",
        f"| warm (second run, cache kept) | {warm:.0f} s | - | {warm / collect:.0f}x |",
    ]
    write_section(SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
