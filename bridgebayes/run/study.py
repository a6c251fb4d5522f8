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

from bridgebayes.data.cohort import Cohort, load_cohort, load_patient_table
from bridgebayes.data.covariates import Covariate
from bridgebayes.data.endpoints import EndpointDefinition
from bridgebayes.data.survival_table import load_survival_cohort
from bridgebayes.reference.analysis import followup_landmarks
from bridgebayes.run.spec import Spec, with_defaults

__all__ = ["default_landmarks", "followup_endpoint", "load_study", "resolve"]

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
    """The landmarks of :func:`~bridgebayes.reference.analysis.followup_landmarks` for the
    follow-up endpoint ``endpoint``."""
    return followup_landmarks(cohort.endpoint(endpoint))


def resolve(spec: Spec, cohort: Cohort) -> Spec:
    """The spec with every data-dependent default filled in (module docstring)."""
    landmarks = default_landmarks(cohort, followup_endpoint(spec, cohort))
    bayes_marks = spec.bayes.landmarks if spec.bayes and spec.bayes.landmarks else landmarks
    return with_defaults(spec, landmarks=landmarks, rmst_tau=max(bayes_marks))
