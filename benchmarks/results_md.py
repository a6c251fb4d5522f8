"""Shared writer of ``benchmarks/RESULTS.md``: each benchmark script owns one section.

A section runs from its ``## <title>`` heading to the next ``## `` heading; re-running a
script replaces only its own section (other sections and their order are kept), and the
file is written atomically.

Usage from a benchmark script::

    from results_md import machine_line, write_section
    write_section("Sampler: PyMC vs nutpie", [machine_line("benchmarks/sampler.py"), "", table])
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bridgebayes.core.io import atomic_write_text
from bridgebayes.core.provenance import versions

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADER = "# Benchmark results\n\nEach section is written by the script it names; every figure is " \
         "a ratio against a baseline measured in the same run.\n"


def median_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time (seconds) of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_line(command: str) -> str:
    """One line naming machine, versions, git revision, date and the command."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    v = versions()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(f"{k} {v[k]}" for k in ("numpy", "pymc", "arviz", "lifelines") if k in v)
    return (f"Machine: {cpu}, {os.cpu_count()} cores, Python {v['python']}; {libs}; "
            f"git {rev}; {time.strftime('%Y-%m-%d')}. Command: `{command}`.")


def write_section(title: str, lines: list[str], path: Path = RESULTS) -> None:
    """Replace (or append) the section ``## title`` of ``path`` with ``lines``."""
    text = path.read_text() if path.exists() else HEADER
    head, sections = _split(text)
    sections[title] = "\n".join(lines).strip("\n")
    body = "\n\n".join(f"## {name}\n\n{content}" for name, content in sections.items())
    atomic_write_text(path, f"{head.rstrip()}\n\n{body}\n")


def _split(text: str) -> tuple[str, dict[str, str]]:
    head, sections, current = [], {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is None:
            head.append(line)
        else:
            sections[current].append(line)
    return "\n".join(head), {k: "\n".join(v).strip("\n") for k, v in sections.items()}
