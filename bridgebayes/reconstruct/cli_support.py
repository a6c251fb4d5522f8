"""The ``bridgebayes reconstruct`` command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bridgebayes.core.io import check_output_file, check_output_folder
from bridgebayes.reconstruct.outputs import write_ensemble, write_single
from bridgebayes.reconstruct.published import load_published
from bridgebayes.reconstruct.search import SearchSettings

__all__ = ["reconstruct_command"]


def reconstruct_command(args: argparse.Namespace,
                        say: Callable[[argparse.Namespace, str], None]) -> int:
    """Run ``bridgebayes reconstruct``; exit 3 when a required figure was not reproduced."""
    out = Path(args.out)
    if args.ensemble is None:
        check_output_file(out)
    else:
        check_output_folder(out, replace=False)  # members are added to it, not replaced
    summary = load_published(args.published)
    settings = SearchSettings()
    if args.ensemble is None:
        result = write_single(summary, out, seed=args.seed, settings=settings)
        say(args, f"{result.summary()}\nWritten: {out}")
        return 0 if result.converged else 3
    table = write_ensemble(summary, out, seed=args.seed, k=args.ensemble, workers=args.workers,
                           settings=settings, force=args.force,
                           progress=lambda text: say(args, text))
    n_ok = int(table["required_matched"].sum())
    say(args, f"{n_ok} of {len(table)} members reproduce every required figure. Written: {out}/")
    return 0 if n_ok == len(table) else 3
