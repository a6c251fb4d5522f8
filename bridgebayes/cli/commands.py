"""Command-line interface: ``bridgebayes --help``.

Exit codes: 0 success; 2 bad input (a message, nothing written); 3 results written but a
check failed (a diagnostics gate, or a required published figure not reproduced); 130
interrupted (Ctrl-C: one line, finished work kept, nothing half-written).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

from bridgebayes.core.errors import BridgeBayesError

EXIT_OK, EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_INTERRUPTED = 0, 2, 3, 130
#: Largest ``--ensemble``: members are small cohorts, but each takes a search.
MAX_ENSEMBLE = 1000


class Interrupted(BaseException):
    """Ctrl-C, raised by the commands' SIGINT handler instead of ``KeyboardInterrupt``.

    nutpie and PyMC turn a ``KeyboardInterrupt`` during sampling into the draws made so
    far; this exception passes through them, so an interrupted fit is never kept.
    """


_CTRL_C = {"seen": False, "pid": 0}


def _on_ctrl_c(signum, frame) -> None:
    if os.getpid() != _CTRL_C["pid"]:  # a forked worker: the main process cleans up
        os._exit(EXIT_INTERRUPTED)
    _CTRL_C["seen"] = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut the cleanup
    raise Interrupted


def _interrupted(args: argparse.Namespace) -> str:
    """The one line printed after Ctrl-C."""
    if args.command != "run":
        return "interrupted; rerun to continue"
    from bridgebayes.core.io import STORE_FOLDER

    out = Path(args.out) if args.out else Path("reports") / Path(args.spec).stem
    n = len(list((out / STORE_FOLDER).glob("*.nc")))
    return f"interrupted; {n} finished fit{'' if n == 1 else 's'} kept, rerun to continue"


def _integer(low: int, high: int | None = None):
    """An argparse type: a plain integer in ``[low, high]``."""
    def parse(text: str) -> int:
        if not re.fullmatch(r"\s*\+?[0-9]{1,30}\s*", text) or not (
                low <= int(text) and (high is None or int(text) <= high)):
            bounds = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {text!r}")
        return int(text)
    return parse


def _landmark(text: str) -> float:
    """An argparse type: a time (in the data's unit), a plain number > 0."""
    from bridgebayes.core.readers import parse_number

    try:
        value = parse_number(text, where="landmark")
    except BridgeBayesError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"landmark times must be > 0, got {text!r}")
    return value


def _print(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from bridgebayes.reconstruct import cli_support

    return cli_support.reconstruct_command(args, _print)


def _cmd_reference(args: argparse.Namespace) -> int:
    from bridgebayes.core.io import check_output_folder, json_text, staged_folder
    from bridgebayes.data.cohort import load_cohort
    from bridgebayes.reference.analysis import check_landmarks, reference_analysis

    arms = tuple(label.strip() for label in args.arms.split(","))
    if len(arms) != 2:
        raise BridgeBayesError(f"--arms: expected 'reference,treatment', got {args.arms!r}")
    landmarks = check_landmarks(args.landmarks, where="--landmarks")
    if args.out:
        check_output_folder(args.out)
    cohort = load_cohort(args.cohort, arms=arms, time_unit=args.time_unit)
    result = reference_analysis(cohort, landmarks=landmarks)
    _print(args, _format_reference(result))
    if args.out:
        with staged_folder(Path(args.out)) as tmp:
            result.landmarks.to_csv(tmp / "landmarks.csv", index=False)
            result.tests.to_csv(tmp / "tests.csv", index=False)
            (tmp / "followup.json").write_text(json_text(result.followup))
    return EXIT_OK


def _format_reference(result) -> str:
    import pandas as pd

    lm = result.landmarks.assign(shown=[
        "not estimable" if note else f"{100 * x:.2f}"
        for x, note in zip(result.landmarks["estimate"], result.landmarks["note"], strict=True)])
    beyond: dict[str, dict[str, str]] = {}  # endpoint -> group -> note
    for row in lm[lm["note"] != ""].itertuples():
        beyond.setdefault(row.endpoint, {})[row.group] = row.note
    notes = [f"- {endpoint}: " + "; ".join(f"{group} {note}" for group, note in groups.items())
             for endpoint, groups in beyond.items()]
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        table = lm.pivot_table(index=["endpoint", "landmark"], columns="group", values="shown",
                               aggfunc="first", sort=False)
        table.columns.name = None
        return (f"Landmark estimates, % (KM survival; cumulative incidence for relapse/NRM)\n"
                f"{table}\n" + "".join(f"{n}\n" for n in notes)
                + f"\nTests\n{result.tests.round(4)}\n\n"
                f"Follow-up ({result.time_unit}): median "
                f"{result.followup['median_reverse_km']:.2f} "
                f"(reverse KM), range {result.followup['min']:.2f}-{result.followup['max']:.2f}")


def _cmd_run(args: argparse.Namespace) -> int:
    from bridgebayes.run.pipeline import run

    quiet = getattr(args, "quiet", False)

    def say(line: str) -> None:
        if not quiet:
            from tqdm import tqdm  # beside the progress bar; imported on the first line

            tqdm.write(line)

    result = run(args.spec, out=args.out, force=args.force, bar=not quiet, say=say)
    _print(args, _run_text(result.summary) + f"\n\nWritten: {result.out}/ (report.html)")
    return EXIT_OK if result.gates_passed else EXIT_CHECK_FAILED


def _run_text(summary: dict) -> str:
    """What ``run`` prints: the title, the data caveat and the primary analysis."""
    from bridgebayes.summaries.decision import percent

    study = summary["study"]
    lines = [study["title"]]
    if study["reconstructed"]:
        lines.append("NOTE: the cohort is RECONSTRUCTED pseudo-patient data, not the study's "
                     "patients.")
    primary = summary.get("primary")
    if primary:
        label = study["endpoints"][primary["endpoint"]]["label"]
        hr = primary["hr"]
        family = summary["families"][primary["family"]]["label"]
        lines.append(f"Primary analysis ({label}, {family} model, {primary['prior']} "
                     f"prior): HR {hr['estimate']:.2f} ({100 * hr['level']:g}% CrI "
                     f"{hr['lower']:.2f} to {hr['upper']:.2f}); P(HR < "
                     f"{primary['hr_threshold']:g}): {percent(primary['probability'])}"
                     + (f"; decision rule {primary['decision']}" if primary["decision"]
                        else ""))
    return "\n".join(lines)


def _cmd_validate(args: argparse.Namespace) -> int:
    from bridgebayes.core.readers import read_toml

    try:
        is_plan = "plan" in read_toml(args.spec)[1]
    except BridgeBayesError:
        is_plan = False  # load_spec reports the problem with the file and key
    if is_plan:
        from bridgebayes.plan.spec import load_plan_spec

        load_plan_spec(args.spec)
        _print(args, f"{args.spec}: valid planning spec")
        return EXIT_OK
    from bridgebayes.run.validate import prepare

    prepared = prepare(args.spec)
    for note in prepared.notes:
        _print(args, f"note: {note}")
    _print(args, f"{args.spec}: valid (sha256 {prepared.spec.sha256[:12]})")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    from bridgebayes.plan.cli_support import run_plan

    return run_plan(args.spec, out=args.out, scheduler=args.scheduler,
                    quiet=getattr(args, "quiet", False))


def _cmd_sbc(args: argparse.Namespace) -> int:
    from bridgebayes.sbc.command import ALL_MODELS, sbc_command

    return sbc_command(models=args.models or ALL_MODELS, scenarios=args.scenarios,
                       n_sims=args.n_sims, nuts_sims=args.nuts_sims, seed=args.seed, out=args.out,
                       report=args.report,
                       echo=(lambda _: None) if getattr(args, "quiet", False) else print)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="bridgebayes",
        description="Bayesian comparative-effectiveness analysis of small survival studies.",
        epilog="Exit codes: 0 success; 2 bad input (nothing written); 3 results written but "
               "a check failed (diagnostics gate, or a published figure not reproduced); 130 "
               "interrupted (finished work kept, nothing half-written).")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("reconstruct", help="pseudo-patient data from published summary figures")
    p.add_argument("published", help="published-summary TOML (see data/cao2025/published.toml)")
    p.add_argument("--seed", type=_integer(0, 2**63 - 1), required=True, help="random seed")
    p.add_argument("--out", required=True,
                   help="cohort CSV to write; with --ensemble, a folder")
    p.add_argument("--ensemble", type=_integer(1, MAX_ENSEMBLE), default=None, metavar="K",
                   help="write K distinct cohorts (for reconstruction-uncertainty analyses)")
    p.add_argument("--workers", type=_integer(1), default=2, help="processes for --ensemble")
    p.add_argument("--force", action="store_true",
                   help="with --ensemble: discard members made with other settings")
    p.set_defaults(func=_cmd_reconstruct)

    p = sub.add_parser("reference", help="frequentist reference analysis of a cohort")
    p.add_argument("cohort", help="patient-level cohort CSV")
    p.add_argument("--arms", required=True, help="'reference,treatment' labels")
    p.add_argument("--time-unit", default="months")
    p.add_argument("--landmarks", type=_landmark, nargs="+", default=[12.0, 24.0],
                   help="in the cohort's time unit (distinct, > 0); beyond the last follow-up "
                        "of a group the "
                        "estimate is 'not estimable'")
    p.add_argument("--out", help="folder for landmarks.csv, tests.csv, followup.json")
    p.set_defaults(func=_cmd_reference)

    p = sub.add_parser("validate", help="validate a spec and its data without computing")
    p.add_argument("spec")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="run a pre-specified analysis (models/<id>.toml)")
    p.add_argument("spec")
    p.add_argument("--out", help="output folder (default reports/<id>)")
    p.add_argument("--force", action="store_true",
                   help="recompute everything (refit, re-render) even if stored results match")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("plan", help="plan a future trial from a run's posterior: assurance, "
                                    "sample size, operating characteristics (docs/plan.md)")
    p.add_argument("spec", help="planning spec with a [plan] section (models/cao2025_plan.toml)")
    p.add_argument("--out", help="output folder (default reports/<id>/plan)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler "
                                       "(default: a local cluster)")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("sbc", help="simulation-based calibration of the models (release run: "
                                   "1000 simulations per model and scenario; docs/validation.md)")
    p.add_argument("--models", nargs="+", default=None,
                   help="models to calibrate (default: all of bridgebayes.sbc.registry.MODELS)")
    p.add_argument("--scenarios", nargs="+", default=["small", "large"],
                   choices=["small", "large"])
    p.add_argument("--n-sims", type=_integer(1), default=1000,
                   help="simulations on the exact path")
    p.add_argument("--nuts-sims", type=_integer(0), default=0,
                   help="simulations refitted with NUTS (small scenario)")
    p.add_argument("--seed", type=_integer(0, 2**63 - 1), default=20261124)
    p.add_argument("--out", default="sbc", help="folder for results (resumable chunks)")
    p.add_argument("--report", default=None, help="write the markdown report here "
                                                  "(e.g. docs/sbc.md)")
    p.set_defaults(func=_cmd_sbc)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bridgebayes`` command; returns the exit code.

    Bad input is one message on standard error and exit code 2; Ctrl-C is the line
    "bridgebayes: interrupted; ... rerun to continue" and exit code 130, never a traceback.
    """
    # a performance note of PyTensor's C backend (the samplers do not use BLAS), not a result
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message printed by argparse)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    previous = None
    if threading.current_thread() is threading.main_thread():
        _CTRL_C.update(seen=False, pid=os.getpid())
        previous = signal.signal(signal.SIGINT, _on_ctrl_c)
    try:
        return args.func(args)
    except BridgeBayesError as exc:
        print(f"bridgebayes: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BaseException as exc:  # after Ctrl-C, whatever it caused (e.g. a broken pool)
        if not (_CTRL_C["seen"] or isinstance(exc, KeyboardInterrupt)):
            raise
        print(f"bridgebayes: {_interrupted(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
