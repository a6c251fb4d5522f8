"""The saved results of a run, read back for rendering: ``results.json`` and ``tables/``.

The report is built from a :class:`ResultsView` only — never from the spec, the cohort or the
posteriors — so everything it shows is what was computed and saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bridgebayes.core.errors import BridgeBayesError
from bridgebayes.core.readers import read_json

__all__ = ["ResultsView", "load_view"]


@dataclass(frozen=True)
class ResultsView:
    """``results.json`` (``summary``) and the tables of an output folder, by file stem."""

    folder: Path
    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """A table by name, or an empty frame if the run wrote none."""
        return self.tables.get(name, pd.DataFrame())

    @property
    def arms(self) -> tuple[str, str]:
        """``(reference, treatment)``."""
        a = self.summary["study"]["arms"]
        return a["reference"], a["treatment"]

    @property
    def unit(self) -> str:
        """The study's time unit."""
        return self.summary["study"]["time_unit"]

    @property
    def time_zero(self) -> str:
        """What time 0 is."""
        return self.summary["study"]["time_zero"]

    def endpoint_label(self, name: str) -> str:
        """The reader-facing label of an endpoint (or of an illness–death pseudo-endpoint)."""
        endpoints = self.summary["study"]["endpoints"]
        return endpoints[name]["label"] if name in endpoints else name.replace("_", "–")

    def family_label(self, name: str) -> str:
        """The reader-facing label of a model family."""
        return self.summary.get("families", {}).get(name, {}).get("label", name)

    def component_label(self, name: str) -> str:
        """Reader-facing name of a cause, transition or state quantity."""
        for endpoint in self.summary["study"]["endpoints"].values():
            if name in endpoint.get("causes", {}):
                return endpoint["causes"][name]
        return {"os": "OS", "pfs": "PFS", "relapse_cif": "relapse CIF", "nrm_cif": "NRM CIF",
                "post_relapse_death": "death after relapse", "nrm": "NRM",
                "os & nrm_cif": "OS and NRM CIF"}.get(name, name)


def load_view(folder: str | Path, *, summary: str = "results.json") -> ResultsView:
    """Read ``results.json`` (or another ``summary`` file, e.g. a plan's ``plan.json``) and
    every ``tables/*.csv`` of an output folder."""
    folder = Path(folder)
    path = folder / summary
    content = read_json(path, what="results file")  # the one input boundary
    if not isinstance(content, dict):
        raise BridgeBayesError(f"{path}: not a results file (expected a JSON object)")
    # only an empty field is missing (how the run writes NaN): a label such as "null" (the
    # planning null scenario) or "NA" stays text
    tables = {p.stem: pd.read_csv(p, keep_default_na=False, na_values=[""])
              for p in sorted((folder / "tables").glob("*.csv"))}
    for frame in tables.values():
        for column in ("arm", "component", "family", "prior", "endpoint", "role", "member"):
            if column in frame:
                frame[column] = frame[column].fillna("").astype(str)
    return ResultsView(folder, content, tables)
