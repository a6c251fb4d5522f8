"""Benchmark the main job: ``bridgebayes run models/cao2025.toml``, cold and warm.

Run:  python benchmarks/main_job.py [--repeat 3]

* cold: empty output folder and posterior cache, and empty PyTensor compile caches
  (``PYTENSOR_FLAGS=base_compiledir=<new folder>``: ``compiledir`` alone keeps PyTensor's
  numba cache, which lives under ``base_compiledir``), as on a fresh clone and machine;
* cold, compile cache kept: empty outputs but PyTensor's compiled modules reused;
* warm: the same command again (cached posteriors reused; report rebuilt).
Baseline measured in the same run: the same spec without its ``[bayes]`` section
(start-up, cohort checks, frequentist reference analysis).  Medians of ``--repeat`` runs.
Targets from issue 5: cold <= 60 s, warm <= 20 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "models" / "cao2025.toml"
SECTION = "Main job (bridgebayes run models/cao2025.toml)"

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, write_section  # noqa: E402


def _run(spec: Path, out: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bridgebayes.cli.commands", "--quiet", "run",
                           str(spec),
                           "--out", str(out)], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def _reference_only_spec(folder: Path) -> Path:
    text = SPEC.read_text()
    head = text.split("\n[bayes]")[0]
    head = head.replace('"../', f'"{ROOT}/')  # paths were relative to models/
    path = folder / "reference_only" / "cao2025.toml"  # the file name must be the id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cold, cold_cc, warm, base = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref_spec = _reference_only_spec(tmp)
        for r in range(args.repeat):
            env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp / f'compile{r}'}")
            base.append(_run(ref_spec, tmp / f"ref{r}" / "cao2025", env))
            cold.append(_run(SPEC, tmp / f"cold{r}" / "cao2025", env))
            warm.append(_run(SPEC, tmp / f"cold{r}" / "cao2025", env))
            cold_cc.append(_run(SPEC, tmp / f"cc{r}" / "cao2025", env))
    med = {k: statistics.median(v) for k, v in
           {"base": base, "cold": cold, "cold_cc": cold_cc, "warm": warm}.items()}
    lines = [
        machine_line(f"python benchmarks/main_job.py --repeat {args.repeat}"),
        "",
        f"Medians of {args.repeat} runs. Baseline: the same spec without `[bayes]` "
        f"(start-up + reference analysis) = {med['base']:.1f} s.",
        "",
        "| run | wall time | target | ratio to baseline |",
        "|---|---|---|---|",
        f"| cold (empty outputs, empty PyTensor cache) | {med['cold']:.1f} s | <= 60 s | "
        f"{med['cold'] / med['base']:.1f}x |",
        f"| cold outputs, PyTensor cache kept | {med['cold_cc']:.1f} s | - | "
        f"{med['cold_cc'] / med['base']:.1f}x |",
        f"| warm (cached posteriors) | {med['warm']:.1f} s | <= 20 s | "
        f"{med['warm'] / med['base']:.1f}x |",
        "",
        "All runs: " + ", ".join(f"{k} {', '.join(f'{x:.1f}' for x in v)} s" for k, v in
                                 {"baseline": base, "cold": cold, "cold (cache kept)": cold_cc,
                                  "warm": warm}.items()) + ".",
    ]
    write_section(SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
