"""bridgebayes: Bayesian comparative-effectiveness analysis of small survival studies.

Public entry points::

    from bridgebayes import load_cohort, load_survival_table, reference_analysis
    from bridgebayes.reconstruct import load_published, reconstruct_from_summaries
    from bridgebayes.reconstruct import reconstruct_from_km
"""

from importlib.metadata import PackageNotFoundError, version

from bridgebayes.core.errors import BridgeBayesError, CohortError
from bridgebayes.data.cohort import Cohort, CohortWarning, load_cohort
from bridgebayes.data.endpoints import EndpointData
from bridgebayes.data.survival_table import load_survival_table
from bridgebayes.reference.analysis import reference_analysis

try:
    __version__ = version("bridgebayes")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "BridgeBayesError",
    "Cohort",
    "CohortError",
    "CohortWarning",
    "EndpointData",
    "__version__",
    "load_cohort",
    "load_survival_table",
    "reference_analysis",
]
