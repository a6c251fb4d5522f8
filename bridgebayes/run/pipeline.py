"""The main job: a spec in, a complete output folder out (``bridgebayes run``).

Order: validate the spec and the cohort; reference analysis; ``[bayes]`` fits (cached,
resumable); secondary analyses (model checks, reconstruction sensitivity, competing risks,
safety); then every output — tables, posteriors, ``results.json``, figures and
``report.html`` — is written into a staging folder renamed over ``reports/<id>/`` at the
end, so an interrupted run never leaves an output that looks complete.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bridgebayes.core import provenance
from bridgebayes.core.io import check_output_folder, json_text, staged_folder
from bridgebayes.core.labels import family_label
from bridgebayes.data.cohort import load_cohort
from bridgebayes.data.endpoints import COMPETING_RISKS
from bridgebayes.reference.analysis import ReferenceAnalysis, reference_analysis
from bridgebayes.run.cache import cached_table
from bridgebayes.run.spec import Spec, load_spec

__all__ = ["RunResult", "run"]


@dataclass(frozen=True)
class RunResult:
    """What a run produced (everything is also written under ``out``)."""

    spec: Spec
    out: Path
    reference: ReferenceAnalysis
    bayes: object | None
    #: every diagnostics gate passed and every required published figure was reproduced
    gates_passed: bool


def _tables(tmp: Path, frames: dict[str, pd.DataFrame | None]) -> None:
    for name, frame in frames.items():
        if frame is not None and not frame.empty:
            frame.to_csv(tmp / "tables" / f"{name}.csv", index=False)


def run(spec_path: str | Path, *, out: str | Path | None = None, force: bool = False,
        say: Callable[[str], None] = print, bar: bool = False) -> RunResult:
    """Run the analysis pre-specified in ``spec_path``.

    Parameters
    ----------
    spec_path
        ``models/<id>.toml``.
    out
        Output folder (default ``reports/<id>``); posteriors are cached beside it in
        ``.<name>.posteriors/`` and reused only under the same spec hash.
    force
        Refit even when valid cached posteriors exist.
    say
        Receives one progress line per fit.
    bar
        Show a progress bar on standard error (when it is a terminal).
    """
    check_output_folder(Path(out) if out else Path("reports") / Path(spec_path).stem)  # id = stem
    from bridgebayes.reconstruct.published import load_published
    from bridgebayes.reconstruct.summaries import fidelity_table
    from bridgebayes.report.page import CompetingRisksInput, build_report

    spec = load_spec(spec_path)
    cohort = load_cohort(spec.cohort, arms=spec.arms, time_unit=spec.time_unit)
    reference = reference_analysis(cohort, landmarks=spec.landmarks)
    out = Path(out) if out else Path("reports") / spec.id
    fidelity = (fidelity_table(cohort, load_published(spec.published))
                if spec.published is not None else None)
    bayes = ppc = sensitivity = competing = power_scaling = None
    if spec.bayes is not None:
        from bridgebayes.run.bayes import run_bayes
        from bridgebayes.run.secondary import (
            cached_competing_analysis,
            power_scaling_table,
            ppc_tables,
        )

        logging.getLogger("pymc").setLevel(logging.WARNING)  # our own progress lines instead
        cache = out.parent / f".{out.name}.posteriors"
        bayes = run_bayes(spec, cohort, cache=cache, force=force, bar=bar, progress=say)
        derived = None if force else cache  # tables that follow from the posteriors alone
        ppc = ppc_tables(bayes, spec, cache=derived)
        power_scaling = power_scaling_table(bayes, cache=derived)
        if spec.ensemble:
            from bridgebayes.run.sensitivity import ensemble_sensitivity, load_members

            sensitivity = cached_table(
                derived, "reconstruction_sensitivity",
                [spec.path, spec.cohort, *spec.ensemble],
                lambda: ensemble_sensitivity(load_members(spec), spec, main=cohort))
        if spec.competing is not None:
            competing = cached_competing_analysis(cohort, spec, cache=derived)
    from bridgebayes.run.secondary import safety_analysis

    safety, safety_sentences = safety_analysis(cohort, spec)

    with staged_folder(out) as tmp:  # everything, report included, appears at once or not at all
        (tmp / "tables").mkdir()
        _tables(tmp, {"reference_landmarks": reference.landmarks,
                      "reference_tests": reference.tests, "fidelity": fidelity,
                      "reconstruction_sensitivity": sensitivity, "safety": safety})
        results = {
            "spec": {"id": spec.id, "path": str(spec.path), "sha256": spec.sha256},
            "data": {"cohort": str(spec.cohort), "sha256": provenance.file_sha256(spec.cohort),
                     "reconstructed_pseudo_data": spec.reconstructed},
            "versions": provenance.versions(),
            "reference": {"landmarks": reference.landmarks.to_dict(orient="records"),
                          "tests": reference.tests.to_dict(orient="records"),
                          "followup": reference.followup},
            "safety": {"table": safety.to_dict(orient="records"), "sentences": safety_sentences},
        }
        if bayes is not None:
            _tables(tmp, {"decisions": bayes.decisions, "diagnostics": bayes.gates,
                          "loo_comparison": bayes.comparison, "power_scaling": power_scaling})
            (tmp / "posteriors").mkdir()
            for key, path in bayes.posteriors.items():
                shutil.copyfile(path, tmp / "posteriors" / f"{key}.nc")
            results["bayes"] = {
                "seed": spec.bayes.seed, "sampler": vars(bayes.sampler),
                "decisions": bayes.decisions.to_dict(orient="records"),
                "diagnostics": bayes.gates.to_dict(orient="records"),
                "sentences": bayes.sentences,
                "loo_comparison": bayes.comparison.to_dict(orient="records"),
                "power_scaling": power_scaling.to_dict(orient="records"),
            }
        if sensitivity is not None:
            results["reconstruction_sensitivity"] = {
                "method": "exact posterior (quadrature) on each ensemble member; same priors "
                          "and cut points as the NUTS fits; main = shipped cohort, also exact",
                "members": [str(p) for p in spec.ensemble],
                "table": sensitivity.to_dict(orient="records")}
        if competing is not None:
            _tables(tmp, {"competing_risks": competing.decisions,
                          "competing_risks_vs_aalen_johansen": competing.adequacy,
                          "illness_death": competing.illness_death,
                          "illness_death_transitions": competing.transitions})
            results["competing_risks"] = {
                "method": "exact posterior per cause / transition (the likelihood factorises)",
                "decisions": competing.decisions.to_dict(orient="records"),
                "against_aalen_johansen": competing.adequacy.to_dict(orient="records"),
                "sentences": competing.sentences + competing.illness_death_sentences,
                "illness_death": (None if competing.illness_death is None else
                                  competing.illness_death.to_dict(orient="records")),
                "transitions": (None if competing.transitions is None else
                                competing.transitions.to_dict(orient="records"))}
        (tmp / "results.json").write_text(json_text(results))
        competing_input = CompetingRisksInput(
            spec.competing.endpoint if spec.competing else next(iter(COMPETING_RISKS)),
            posterior=None if competing is None else competing.curves,
            summary=None if competing is None else competing.decisions,
            illness_death=None if competing is None else competing.illness_death,
            adequacy=None if competing is None else competing.adequacy,
            sentences=() if competing is None else tuple(
                competing.sentences + competing.illness_death_sentences),
            model="" if spec.competing is None else
            f"cause-specific {family_label(spec.competing.families[0])} model, "
            f"{spec.competing.priors[0]} prior")
        build_report(spec=spec, cohort=cohort, reference=reference, bayes=bayes,
                     fidelity=fidelity, sensitivity=sensitivity, competing=competing_input,
                     ppc=ppc, safety=safety, power_scaling=power_scaling).write(tmp)
    passed = bayes is None or bool(bayes.gates["passed"].all())
    if fidelity is not None:  # a required published figure not reproduced is a failed check
        passed &= bool(fidelity.loc[fidelity["required"].astype(bool), "matched"].all())
    return RunResult(spec=spec, out=out, reference=reference, bayes=bayes, gates_passed=passed)
