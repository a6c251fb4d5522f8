"""Command-line interface: ``bridgebayes --help``.

Exit codes: 0 success; 2 bad input (nothing written); 3 results written but a
check failed (a required published figure not reproduced).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bridgebayes.errors import BridgeBayesError

EXIT_OK, EXIT_BAD_INPUT, EXIT_CHECK_FAILED = 0, 2, 3


def _print(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _clean(value):
    """JSON has no NaN or infinity: NaN -> null, ±inf -> "inf"/"-inf"."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def _json(data: dict) -> str:
    return json.dumps(_clean(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from bridgebayes.reconstruct import cli_support

    return cli_support.reconstruct_command(args, _print)


def _cmd_reference(args: argparse.Namespace) -> int:
    from bridgebayes.cohort import load_cohort
    from bridgebayes.reference import reference_analysis

    arms = tuple(args.arms.split(","))
    if len(arms) != 2:
        raise BridgeBayesError(f"--arms: expected 'reference,treatment', got {args.arms!r}")
    cohort = load_cohort(args.cohort, arms=arms, time_unit=args.time_unit)
    result = reference_analysis(cohort, landmarks=tuple(args.landmarks))
    _print(args, _format_reference(result))
    if args.out:
        with _staging(Path(args.out)) as tmp:
            result.landmarks.to_csv(tmp / "landmarks.csv", index=False)
            result.tests.to_csv(tmp / "tests.csv", index=False)
            (tmp / "followup.json").write_text(_json(result.followup))
    return EXIT_OK


def _format_reference(result) -> str:
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        table = result.landmarks.pivot_table(index=["endpoint", "landmark"], columns="group",
                                             values="estimate", sort=False)
        return (f"Landmark estimates (KM survival; cumulative incidence for relapse/NRM)\n"
                f"{(100 * table).round(2)}\n\nTests\n{result.tests.round(4)}\n\n"
                f"Follow-up (months): median {result.followup['median_reverse_km']:.2f} "
                f"(reverse KM), range {result.followup['min']:.2f}-{result.followup['max']:.2f}")


class _staging:
    """Write into a temporary sibling folder, then rename it over ``target`` at the end."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            self.target.rename(old)
        self.tmp.rename(self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bridgebayes import provenance
    from bridgebayes.cohort import load_cohort
    from bridgebayes.endpoints import COMPETING_RISKS
    from bridgebayes.reconstruct.published import load_published
    from bridgebayes.reconstruct.summaries import fidelity_table
    from bridgebayes.reference import reference_analysis
    from bridgebayes.report import CompetingRisksInput, build_report
    from bridgebayes.spec import load_spec

    spec = load_spec(args.spec)
    cohort = load_cohort(spec.cohort, arms=spec.arms, time_unit=spec.time_unit)
    result = reference_analysis(cohort, landmarks=spec.landmarks)
    out = Path(args.out) if args.out else Path("reports") / spec.id
    fidelity = None
    if spec.published is not None:
        fidelity = fidelity_table(cohort, load_published(spec.published))
    bayes = None
    if spec.bayes is not None:
        from bridgebayes.analysis import run_bayes

        logging.getLogger("pymc").setLevel(logging.WARNING)  # our own progress lines instead
        cache = out.parent / f".{out.name}.posteriors"
        quiet = getattr(args, "quiet", False)
        bayes = run_bayes(spec, cohort, cache=cache, force=args.force, bar=not quiet,
                          progress=lambda line: None if quiet else tqdm.write(line))
    with _staging(out) as tmp:  # everything, report included, appears at once or not at all
        (tmp / "tables").mkdir()
        result.landmarks.to_csv(tmp / "tables" / "reference_landmarks.csv", index=False)
        result.tests.to_csv(tmp / "tables" / "reference_tests.csv", index=False)
        if fidelity is not None:
            fidelity.to_csv(tmp / "tables" / "fidelity.csv", index=False)
        results = {
            "spec": {"id": spec.id, "path": str(spec.path), "sha256": spec.sha256},
            "data": {"cohort": str(spec.cohort), "sha256": provenance.file_sha256(spec.cohort),
                     "reconstructed_pseudo_data": spec.reconstructed},
            "versions": provenance.versions(),
            "reference": {
                "landmarks": result.landmarks.to_dict(orient="records"),
                "tests": result.tests.to_dict(orient="records"),
                "followup": result.followup,
            },
        }
        if bayes is not None:
            bayes.decisions.to_csv(tmp / "tables" / "decisions.csv", index=False)
            bayes.gates.to_csv(tmp / "tables" / "diagnostics.csv", index=False)
            if not bayes.comparison.empty:
                bayes.comparison.to_csv(tmp / "tables" / "loo_comparison.csv", index=False)
            (tmp / "posteriors").mkdir()
            for key, path in bayes.posteriors.items():
                shutil.copyfile(path, tmp / "posteriors" / f"{key}.nc")
            results["bayes"] = {
                "decisions": bayes.decisions.to_dict(orient="records"),
                "diagnostics": bayes.gates.to_dict(orient="records"),
                "sentences": bayes.sentences,
                "loo_comparison": bayes.comparison.to_dict(orient="records"),
            }
        (tmp / "results.json").write_text(_json(results))
        build_report(spec=spec, cohort=cohort, reference=result, bayes=bayes, fidelity=fidelity,
                     competing=CompetingRisksInput(next(iter(COMPETING_RISKS)))).write(tmp)
    flag = ("\nNOTE: the cohort is RECONSTRUCTED pseudo-patient data, not the study's "
            "patients.\n" if spec.reconstructed else "\n")
    text = f"{spec.title}{flag}\n{_format_reference(result)}"
    if bayes is not None:
        text += "\n\nBayesian reanalysis\n" + "\n".join(
            f"- [{key}] {line}" for key, lines in bayes.sentences.items() for line in lines[:1])
    _print(args, f"{text}\n\nWritten: {out}/")
    if bayes is not None and not bayes.gates["passed"].all():
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from bridgebayes.cohort import load_cohort
    from bridgebayes.spec import load_spec

    spec = load_spec(args.spec)
    load_cohort(spec.cohort, arms=spec.arms, time_unit=spec.time_unit)
    _print(args, f"{args.spec}: valid (sha256 {spec.sha256[:12]})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="bridgebayes",
        description="Bayesian comparative-effectiveness analysis of small survival studies.",
        epilog="Exit codes: 0 success; 2 bad input (nothing written); 3 results written but "
               "a check failed (diagnostics gate, or a published figure not reproduced).")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("reconstruct", help="pseudo-patient data from published summary figures")
    p.add_argument("published", help="published-summary TOML (see data/cao2025/published.toml)")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--out", required=True,
                   help="cohort CSV to write; with --ensemble, a folder")
    p.add_argument("--ensemble", type=int, default=None, metavar="K",
                   help="write K distinct cohorts (for reconstruction-uncertainty analyses)")
    p.add_argument("--workers", type=int, default=2, help="processes for --ensemble")
    p.add_argument("--force", action="store_true",
                   help="with --ensemble: discard members made with other settings")
    p.set_defaults(func=_cmd_reconstruct)

    p = sub.add_parser("reference", help="frequentist reference analysis of a cohort")
    p.add_argument("cohort", help="patient-level cohort CSV")
    p.add_argument("--arms", required=True, help="'reference,treatment' labels")
    p.add_argument("--time-unit", default="months")
    p.add_argument("--landmarks", type=float, nargs="+", default=[12.0, 24.0])
    p.add_argument("--out", help="folder for landmarks.csv, tests.csv, followup.json")
    p.set_defaults(func=_cmd_reference)

    p = sub.add_parser("validate", help="validate a spec and its data without computing")
    p.add_argument("spec")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="run a pre-specified analysis (models/<id>.toml)")
    p.add_argument("spec")
    p.add_argument("--out", help="output folder (default reports/<id>)")
    p.add_argument("--force", action="store_true", help="refit even if cached posteriors match")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bridgebayes`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BridgeBayesError as exc:
        print(f"bridgebayes: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
