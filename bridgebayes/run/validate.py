"""The one validation pass: ``bridgebayes validate`` is ``bridgebayes run`` without the work.

:func:`prepare` reads and checks the spec, loads and checks the data in the declared format,
resolves the data-derived defaults and checks every relation between files and keys
(published figures against the arms, times against the follow-up) before anything expensive
starts; ``run`` calls it first, so the two always give the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridgebayes.core.errors import SpecError
from bridgebayes.data.cohort import Cohort
from bridgebayes.run.spec import Spec, load_spec
from bridgebayes.run.study import load_study, resolve

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """A validated, resolved spec with its cohort, and what the reader should be told."""

    spec: Spec
    cohort: Cohort
    notes: tuple[str, ...]


def _published(spec: Spec) -> None:
    from bridgebayes.reconstruct.published import load_published

    if (spec.data.format, spec.time_unit) != ("hsct", "months"):
        # the published figures are transplant endpoints (OS, PFS, GRFS, NRM) in months
        raise SpecError(f"{spec.path}: key 'data.published': expected transplant data in "
                        "months (format = 'hsct', time_unit = 'months': published summaries "
                        "are of OS, PFS, GRFS and NRM, in months), got format "
                        f"{spec.data.format!r}, time_unit {spec.time_unit!r}")
    summary = load_published(spec.data.published)
    arms = tuple(getattr(summary, "arms", ()) or ())
    if arms and set(arms) != set(spec.arms):
        raise SpecError(f"{spec.path}: key 'data.published': its arms {list(arms)} differ from "
                        f"the spec's arms {list(spec.arms)}")


def _times(spec: Spec, cohort: Cohort) -> list[str]:
    """Notes for times beyond the data (reference: not estimable; models: extrapolated)."""
    last = max(float(np.max(cohort.endpoint(n).time)) for n in cohort.endpoints)
    notes = []
    if spec.landmarks and max(spec.landmarks) > last:
        notes.append(f"reference.landmarks: {max(spec.landmarks):g} {spec.time_unit} is beyond "
                     f"the last follow-up ({last:g} {spec.time_unit}): not estimable there")
    if spec.bayes is not None:
        beyond = [t for t in (*spec.bayes.landmarks, spec.bayes.rmst_tau) if t > last]
        if beyond:
            notes.append(f"bayes: times {sorted(set(beyond))} {spec.time_unit} are beyond the "
                         f"last follow-up ({last:g} {spec.time_unit}); their estimates are "
                         "model extrapolations and are labelled so")
    return notes


def prepare(spec_path: str | Path) -> Prepared:
    """Validate everything a run needs (module docstring); raises on bad input.

    Examples
    --------
    >>> prepared = prepare("models/cao2025.toml")  # doctest: +SKIP
    >>> prepared.spec.bayes.landmarks  # doctest: +SKIP
    (12.0, 24.0)
    """
    spec = load_spec(spec_path)
    cohort = load_study(spec)
    spec = resolve(spec, cohort)
    if spec.data.published is not None:
        _published(spec)
    if spec.bayes is not None:
        from bridgebayes.run.fits import FitKey, family_for

        for combo in spec.bayes.combinations():  # options, priors, covariates build a family
            family_for(spec, cohort, FitKey(*combo))
        if spec.data.ensemble:  # every member loads in the spec's format (before any fit)
            from bridgebayes.run.sensitivity import load_members

            load_members(spec)
    notes = _times(spec, cohort)
    if spec.adjustment is not None:
        notes += _adjustment(spec, cohort)
    return Prepared(spec, cohort, tuple(notes))


def _adjustment(spec: Spec, cohort: Cohort) -> list[str]:
    """The propensity model's design checked before any fit (a constant covariate or one that
    separates the arms is a SpecError naming it); a note when no adjustment is possible."""
    if not spec.bayes.covariates:
        return ["adjustment: no covariates in [bayes] covariates: no adjustment is possible; "
                "the section holds the bias analysis only"]
    if spec.adjustment.propensity:
        from bridgebayes.core.errors import BridgeBayesError
        from bridgebayes.reference.propensity import check_design

        data = cohort.endpoint(spec.adjustment.endpoint)
        columns = list(cohort.design_columns(spec.bayes.covariates))
        try:
            check_design(data.covariates[columns], np.asarray(data.arm))
        except BridgeBayesError as exc:
            raise SpecError(f"{spec.path}: [adjustment] with propensity = true: {exc}; set "
                            "propensity = false or drop the covariate") from None
    return []
