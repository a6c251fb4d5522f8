"""The diagnostics gate applied to every fit (ArviZ computes every statistic).

Thresholds: R-hat ≤ 1.01, bulk and tail ESS ≥ 400, no divergent transition,
E-BFMI ≥ 0.3 in every chain (Vehtari et al. 2021; Betancourt 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

__all__ = ["GATE", "Gate", "check"]

GATE = {"r_hat_max": 1.01, "ess_bulk_min": 400.0, "ess_tail_min": 400.0, "divergences_max": 0,
        "bfmi_min": 0.3}


@dataclass(frozen=True)
class Gate:
    """Outcome of the diagnostics gate.

    Attributes
    ----------
    passed
        True when every check passes.
    checks
        One row per check: ``check, value, threshold, passed``.
    per_variable
        R-hat, bulk and tail ESS per scalar parameter.
    """

    passed: bool
    checks: pd.DataFrame
    per_variable: pd.DataFrame

    def failures(self) -> list[str]:
        """Human-readable failed checks."""
        bad = self.checks[~self.checks["passed"]]
        return [f"{r.check} = {r.value:.4g} (threshold {r.threshold:g})" for r in bad.itertuples()]

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {"passed": self.passed, "checks": self.checks.to_dict(orient="records")}


def check(idata: az.InferenceData, *, var_names: Sequence[str] | None = None) -> Gate:
    """Apply the gate to the posterior of ``idata``.

    Parameters
    ----------
    idata
        InferenceData with ``posterior`` and, for NUTS, ``sample_stats`` (``diverging``,
        ``energy``).
    var_names
        Parameters to check (default: every posterior variable).

    Returns
    -------
    Gate
    """
    summary = az.summary(idata, var_names=list(var_names) if var_names else None,
                         kind="diagnostics")
    per_variable = summary[["r_hat", "ess_bulk", "ess_tail"]]
    stats = getattr(idata, "sample_stats", None)
    divergences = int(stats["diverging"].sum()) if stats is not None and \
        "diverging" in stats else 0
    bfmi = float(np.min(az.bfmi(idata))) if stats is not None and "energy" in stats else np.inf
    rows = [
        ("max R-hat", float(per_variable["r_hat"].max()), GATE["r_hat_max"],
         float(per_variable["r_hat"].max()) <= GATE["r_hat_max"]),
        ("min bulk ESS", float(per_variable["ess_bulk"].min()), GATE["ess_bulk_min"],
         float(per_variable["ess_bulk"].min()) >= GATE["ess_bulk_min"]),
        ("min tail ESS", float(per_variable["ess_tail"].min()), GATE["ess_tail_min"],
         float(per_variable["ess_tail"].min()) >= GATE["ess_tail_min"]),
        ("divergences", float(divergences), GATE["divergences_max"],
         divergences <= GATE["divergences_max"]),
        ("min E-BFMI", bfmi, GATE["bfmi_min"], bfmi >= GATE["bfmi_min"]),
    ]
    checks = pd.DataFrame(rows, columns=["check", "value", "threshold", "passed"])
    return Gate(bool(checks["passed"].all()), checks, per_variable)
