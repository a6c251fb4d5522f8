"""Benchmark the reconstruction from published summaries.

Run:  python benchmarks/reconstruction.py [--members 20] [--out benchmarks/RESULTS.md]

Every figure is reported with the baseline measured in the same run:
* objective evaluation: the search's fast statistics vs the same figures computed with the
  lifelines reference (why the search has its own fast path);
* one reconstruction of the seed study (median of 3 seeds): the baseline for
* an ensemble of K members on 2 worker processes, reported as wall time and as the ratio
  to K x one reconstruction (parallel efficiency on this machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bridgebayes.reconstruct.outputs import write_ensemble
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.search import Objective, SearchSettings, anneal
from bridgebayes.reconstruct.summaries import _cohort_from_table, fidelity_table

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Reconstruction from published summaries (seed study)"

sys.path.insert(0, str(Path(__file__).parent))
from results_md import machine_line, median_time, write_section  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    summary = load_published(ROOT / "data" / "cao2025" / "published.toml")

    histories, _, _ = anneal(summary, rng=np.random.default_rng(1))
    objective = Objective(summary)
    cohort = _cohort_from_table(histories.to_table(summary.arms), summary.arms)
    fast = median_time(lambda: [objective.values(histories) for _ in range(200)], 3) / 200
    slow = median_time(lambda: fidelity_table(cohort, summary), 3)

    from bridgebayes.reconstruct.summaries import reconstruct_from_summaries

    single = statistics.median(
        median_time(lambda s=s: reconstruct_from_summaries(summary, seed=s), 1) for s in (1, 2, 3))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        table = write_ensemble(summary, Path(tmp), seed=7, k=args.members, workers=2,
                               settings=SearchSettings(), progress=lambda _: None)
        ensemble = time.perf_counter() - start
    ok = int(table["required_matched"].sum())

    table_lines = [
        machine_line("python benchmarks/reconstruction.py"),
        "",
        "| measure | value | baseline (same run) | ratio |",
        "|---|---|---|---|",
        f"| all 19 figures, search fast path | {fast * 1e3:.3f} ms | lifelines reference "
        f"{slow * 1e3:.1f} ms | {slow / fast:.0f}x faster |",
        f"| one reconstruction, median of 3 seeds | {single:.1f} s | - | - |",
        f"| ensemble of {args.members}, 2 workers | {ensemble:.1f} s ({ok}/{args.members} meet "
        f"every required figure) | {args.members} x one reconstruction = "
        f"{args.members * single:.1f} s | {ensemble / (args.members * single):.2f} |",
    ]
    write_section(SECTION, table_lines, Path(args.out))
    print("\n".join(table_lines))


if __name__ == "__main__":
    main()
