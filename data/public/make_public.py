"""Write the public example data sets from the copies that ship with lifelines.

``python3 data/public/make_public.py`` regenerates ``freireich.csv`` and ``gbsg2.csv`` from
``lifelines.datasets`` (lifelines is a dependency of bridgebayes, so nothing is downloaded);
the same lifelines version gives the same bytes (checked by ``tests/run/test_examples.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from lifelines.datasets import load_gbsg2, load_leukemia

HERE = Path(__file__).resolve().parent


def freireich() -> pd.DataFrame:
    """Freireich et al. 1963: 6-MP vs placebo, remission duration in weeks (Rx 0 = 6-MP)."""
    frame = load_leukemia()
    return pd.DataFrame({"id": [f"F{i:02d}" for i in range(1, len(frame) + 1)],
                         "arm": frame["Rx"].map({0: "6-MP", 1: "placebo"}),
                         "weeks": frame["t"], "relapse": frame["status"],
                         "sex": frame["sex"], "log_wbc": frame["logWBC"]})


def gbsg2() -> pd.DataFrame:
    """German Breast Cancer Study Group 2: hormone therapy (not randomised) and
    recurrence-free survival in days, with the prognostic covariates."""
    frame = load_gbsg2()
    return pd.DataFrame({"id": [f"G{i:03d}" for i in range(1, len(frame) + 1)],
                         "arm": frame["horTh"].map({"no": "no hormone therapy",
                                                    "yes": "hormone therapy"}),
                         "days": frame["time"], "event": frame["cens"], "age": frame["age"],
                         "menostat": frame["menostat"], "tsize": frame["tsize"],
                         "tgrade": frame["tgrade"], "pnodes": frame["pnodes"],
                         "progrec": frame["progrec"], "estrec": frame["estrec"]})


def main(folder: Path = HERE) -> None:
    """Write both files into ``folder``."""
    for name, make in (("freireich", freireich), ("gbsg2", gbsg2)):
        (folder / f"{name}.csv").write_text(make().to_csv(index=False, lineterminator="\n"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
