"""Safety outcomes: binary incidences (Beta-binomial) and time to engraftment (PH models).

=======================  ===================================================================
module                   job
=======================  ===================================================================
``summary``              outcome labels, the tidy table format, :class:`SafetySummary`
``prior``                :class:`BetaPrior` and the named priors :data:`BETA_PRIORS`
``incidence``            Beta-binomial posteriors of 0/1 flags, exact ``P(difference > δ)``
``time_to_engraftment``  time to engraftment (days): censoring, Weibull / PEM PH models
``table``                :func:`safety_table`: every outcome of a cohort, "not reported" rows
=======================  ===================================================================

Conventions as in :mod:`bridgebayes.summaries.decide`: contrasts are **treatment minus reference**
(risk difference) or **treatment over reference** (risk ratio); ``estimate`` is the posterior
median, ``lower``/``upper`` the equal-tailed credible interval.

Examples
--------
>>> from bridgebayes.safety import beta_binomial
>>> round(beta_binomial((2, 13), (9, 27)).prob_lower_with_treatment(), 3)
0.084
"""

from bridgebayes.safety.incidence import Incidence, beta_binomial, prob_difference_above
from bridgebayes.safety.prior import BETA_PRIORS, BetaPrior
from bridgebayes.safety.summary import SAFETY_OUTCOMES, SafetySummary
from bridgebayes.safety.table import safety_table
from bridgebayes.safety.time_to_engraftment import (
    ENGRAFTMENT_HORIZON_DAYS,
    Engraftment,
    engraftment,
    engraftment_data,
    km_median,
)

__all__ = [
    "BETA_PRIORS",
    "ENGRAFTMENT_HORIZON_DAYS",
    "SAFETY_OUTCOMES",
    "BetaPrior",
    "Engraftment",
    "Incidence",
    "SafetySummary",
    "beta_binomial",
    "engraftment",
    "engraftment_data",
    "km_median",
    "prob_difference_above",
    "safety_table",
]
