"""bridgebayes: Bayesian comparative-effectiveness analysis of small survival studies.

Public entry points (imported on first use, so that ``import bridgebayes`` and the command's
``--help`` stay fast)::

    from bridgebayes import load_cohort, load_survival_table, reference_analysis, fit
    from bridgebayes import load_spec, run
    from bridgebayes.reconstruct import load_published, reconstruct_from_summaries
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bridgebayes")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

#: Public name -> the module that defines it.
_PUBLIC = {
    "BridgeBayesError": "bridgebayes.core.errors",
    "CohortError": "bridgebayes.core.errors",
    "Cohort": "bridgebayes.data.cohort",
    "CohortWarning": "bridgebayes.data.cohort",
    "load_cohort": "bridgebayes.data.cohort",
    "load_patient_table": "bridgebayes.data.cohort",
    "EndpointData": "bridgebayes.data.endpoints",
    "EndpointDefinition": "bridgebayes.data.endpoints",
    "load_survival_table": "bridgebayes.data.survival_table",
    "load_survival_cohort": "bridgebayes.data.survival_table",
    "reference_analysis": "bridgebayes.reference.analysis",
    "fit": "bridgebayes.inference.fit",
    "Fit": "bridgebayes.inference.fit",
    "load_spec": "bridgebayes.run.spec",
    "run": "bridgebayes.run.pipeline",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bridgebayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
