"""Benchmark the main job: ``bridgebayes run models/cao2025.toml``, cold, warm and reruns.

Run:  python benchmarks/main_job.py [--repeat 3]

* cold: empty output folder and posterior cache, and empty PyTensor compile caches
  (``PYTENSOR_FLAGS=base_compiledir=<new folder>``: ``compiledir`` alone keeps PyTensor's
  numba cache, which lives under ``base_compiledir``), as on a fresh clone and machine;
* unchanged rerun: the same command again (the output folder is up to date);
* one prior changed: the enthusiastic prior's sigma 0.42 -> 0.43, same output folder;
* cold, compile cache kept: empty outputs but PyTensor's compiled modules reused.
Baseline measured in the same run: the same spec without its ``[bayes]`` section
(start-up, cohort checks, frequentist reference analysis).  Medians of ``--repeat`` runs;
peak resident memory of each run's process (``wait4``), the largest over the repeats.
Targets (issue 18): cold <= 40 s, compile cache warm <= 20 s, unchanged rerun <= 1.5 s, one
prior changed <= 8 s, peak RSS <= 2 GB.
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

PEAK_MB: dict[str, float] = {}


def _run(spec: Path, out: Path, env: dict[str, str], label: str = "") -> float:
    """Wall time of one run in a new process; its peak RSS is kept in ``PEAK_MB[label]``."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bridgebayes.cli.commands", "--quiet",
                                 "run", str(spec), "--out", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 3):
            err.seek(0)
            raise RuntimeError(f"run failed ({proc.returncode}):\n{err.read()[-3000:]}")
    PEAK_MB[label] = max(PEAK_MB.get(label, 0.0), usage.ru_maxrss / 1024)
    return elapsed


def _reference_only_spec(folder: Path) -> Path:
    text = SPEC.read_text()
    head = text.split("\n[bayes]")[0]
    head = head.replace('"../', f'"{ROOT}/')  # paths were relative to models/
    path = folder / "reference_only" / "cao2025.toml"  # the file name must be the id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head)
    return path


def _one_prior_changed_spec(folder: Path) -> Path:
    text = SPEC.read_text().replace('"../', f'"{ROOT}/')
    old = "sigma = 0.42\nmeaning"
    assert text.count(old) == 1, "the enthusiastic prior's sigma moved"
    path = folder / "changed" / "cao2025.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(old, "sigma = 0.43\nmeaning"))
    return path


#: (label, description, target) of each measured run, in table order.
RUNS = (("base", "baseline: spec without `[bayes]` (start-up + reference analysis)", "-"),
        ("cold", "cold (empty outputs, empty PyTensor cache)", "<= 40 s"),
        ("rerun", "unchanged rerun (same output folder)", "<= 1.5 s"),
        ("prior", "one prior changed (same output folder)", "<= 8 s"),
        ("cold_cc", "new output folder, PyTensor cache kept", "<= 20 s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref_spec = _reference_only_spec(tmp)
        changed = _one_prior_changed_spec(tmp)
        for r in range(args.repeat):
            env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp / f'compile{r}'}")
            out = tmp / f"cold{r}" / "cao2025"
            for label, spec, folder in (("base", ref_spec, tmp / f"ref{r}" / "cao2025"),
                                        ("cold", SPEC, out), ("rerun", SPEC, out),
                                        ("prior", changed, out),
                                        ("cold_cc", SPEC, tmp / f"cc{r}" / "cao2025")):
                times[label].append(_run(spec, folder, env, label))
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        machine_line(f"python benchmarks/main_job.py --repeat {args.repeat}"),
        "",
        f"Medians of {args.repeat} runs; peak RSS: the largest of the run's process.",
        "",
        "| run | wall time | target | ratio to baseline | peak RSS |",
        "|---|---|---|---|---|",
        *(f"| {text} | {med[label]:.1f} s | {target} | {med[label] / med['base']:.2f}x | "
          f"{PEAK_MB[label]:.0f} MB |" for label, text, target in RUNS),
        "",
        "All runs: " + ", ".join(f"{label} {', '.join(f'{x:.1f}' for x in times[label])} s"
                                 for label, _, _ in RUNS) + ".",
    ]
    write_section(SECTION, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
