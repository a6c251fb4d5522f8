"""A spec's data: the cohort in its declared format, units and words, and the resolved spec.

:func:`load_study` turns ``[data]``, ``[endpoints]`` and ``[covariates]`` into a validated
:class:`~bridgebayes.data.cohort.Cohort` (transplant preset, patient table with declared
endpoints, or one-endpoint table).  :func:`resolve` fills the data-dependent defaults of the
spec without looking at outcomes: landmarks from the reverse Kaplan–Meier median follow-up
(the censoring distribution), the RMST horizon at the last landmark; they are written into
the resolved spec, whose hash keys every result.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bridgebayes.data.cohort import Cohort, load_cohort, load_patient_table
from bridgebayes.data.covariates import Covariate
from bridgebayes.data.endpoints import EndpointDefinition
from bridgebayes.data.survival_table import load_survival_cohort
from bridgebayes.reference.analysis import reverse_km_median
from bridgebayes.run.spec import Spec, with_defaults

__all__ = ["LADDERS", "default_landmarks", "followup_endpoint", "load_study", "resolve"]

#: "Round" landmark times per unit; defaults are the largest at or below the target.
LADDERS = {
    "days": (7, 14, 30, 60, 90, 180, 270, 365, 540, 730, 1095, 1461, 1826, 2557, 3652),
    "weeks": (1, 2, 4, 6, 8, 12, 16, 20, 26, 39, 52, 78, 104, 156, 208, 260, 520),
    "months": (1, 2, 3, 6, 9, 12, 18, 24, 36, 48, 60, 72, 96, 120, 180, 240),
    "years": (0.25, 0.5, 1, 2, 3, 4, 5, 7, 10, 15, 20, 30),
}


def load_study(spec: Spec) -> Cohort:
    """The spec's cohort, validated, in its own time unit (nothing converted).

    Examples
    --------
    >>> cohort = load_study(load_spec("models/cao2025.toml"))  # doctest: +SKIP
    """
    d = spec.data
    covariates = {n: Covariate(n, t["kind"], tuple(t["levels"]), t.get("label", n))
                  for n, t in spec.covariates.items()}
    if d.format == "hsct":
        cohort = load_cohort(d.file, arms=spec.arms, time_unit=d.time_unit,
                             covariates=covariates)
        return dataclasses.replace(cohort, time_zero=d.time_zero)
    if d.format == "survival_table":
        (name, table), = spec.endpoints.items()
        c = d.columns
        return load_survival_cohort(d.file, arms=spec.arms, endpoint=name,
                                    label=table["label"], duration_col=c.get("duration",
                                                                             "duration"),
                                    event_col=c.get("event", "event"),
                                    arm_col=c.get("arm", "arm"), id_col=c.get("id"),
                                    time_unit=d.time_unit, time_zero=d.time_zero,
                                    covariates=covariates)
    endpoints = {n: EndpointDefinition(n, t["label"], events=tuple(t.get("events", ())),
                                       causes={k: tuple(v) for k, v in
                                               t.get("causes", {}).items()},
                                       description=t.get("description", ""),
                                       cause_labels=t.get("cause_labels", {}))
                 for n, t in spec.endpoints.items()}
    return load_patient_table(d.file, arms=spec.arms, endpoints=endpoints, followup=d.followup,
                              terminal=d.terminal, time_unit=d.time_unit,
                              time_zero=d.time_zero, covariates=covariates)


def followup_endpoint(spec: Spec, cohort: Cohort) -> str:
    """The endpoint whose censoring defines follow-up (``data.followup_endpoint``, else the
    first endpoint that is not competing: overall survival in the transplant preset)."""
    if spec.data.followup_endpoint is not None:
        return spec.data.followup_endpoint
    return next(n for n, d in cohort.endpoints.items() if d.kind != "competing")


def default_landmarks(cohort: Cohort, endpoint: str) -> tuple[float, ...]:
    """Two round landmarks at or below half and all of the median follow-up (reverse
    Kaplan–Meier: the censoring distribution, not the outcomes).

    Examples
    --------
    >>> default_landmarks(cohort, "os")  # doctest: +SKIP
    (12.0, 24.0)
    """
    data = cohort.endpoint(endpoint)
    median = reverse_km_median(data.time, data.event)
    if not np.isfinite(median):
        median = float(np.max(data.time))
    ladder = LADDERS[cohort.time_unit]
    picks = []
    for target in (median / 2, median):
        below = [x for x in ladder if x <= target]
        picks.append(float(below[-1] if below else ladder[0]))
    return tuple(sorted(set(picks)))


def resolve(spec: Spec, cohort: Cohort) -> Spec:
    """The spec with every data-dependent default filled in (module docstring)."""
    landmarks = default_landmarks(cohort, followup_endpoint(spec, cohort))
    bayes_marks = spec.bayes.landmarks if spec.bayes and spec.bayes.landmarks else landmarks
    return with_defaults(spec, landmarks=landmarks, rmst_tau=max(bayes_marks))
