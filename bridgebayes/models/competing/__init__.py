"""Competing risks by cause-specific hazards: relapse vs non-relapse mortality (NRM).

Each cause ``k`` has its own proportional-hazards model (any family: PEM or Weibull) fitted
on *cause-specific* data, where the other causes censor; each has its own arm effect, the
cause-specific hazard ratio (treatment vs reference).  The cause-specific likelihood
factorises over causes, so with independent priors the joint posterior is the product of
the per-cause posteriors: per-cause NUTS fits, or the exact oracle per cause
(each family's exact oracle), give the exact joint posterior when their draws are paired by
index.

Cumulative incidence per arm and draw, ``CIF_k(t) = ∫_0^t h_k(u) S(u) du`` with
``S = exp(−Σ_j H_j)``, is integrated on a grid by :func:`cumulative_incidence`: on a cell
``[a, b]`` the increment is ``ΔH_k / ΔH · (S(a) − S(b))``, the exact integral when the
hazards are proportional to each other within the cell (constant hazards, Weibull hazards of
equal shape, piecewise-constant hazards with the cuts on the grid) and second-order accurate
otherwise; it needs only cumulative hazards, so Weibull hazards with shape < 1 (infinite at
0) need no special care.

Conventions of differences: **treatment minus reference**; a negative ``ΔCIF`` means fewer
events of that cause with treatment.

Examples
--------
>>> cr = exact_competing_risks(cohort.endpoint("relapse_nrm"), WeibullPH(),
...                            rng=1)  # doctest: +SKIP
>>> cr.decide(landmarks=(12.0, 24.0), deltas=(0.0, 0.05)).table  # doctest: +SKIP
"""

from bridgebayes.models.competing.data import cause_specific_data, check_competing
from bridgebayes.models.competing.incidence import cumulative_incidence, incidence_grid
from bridgebayes.models.competing.posterior import (
    CauseModel,
    CompetingRisksPosterior,
    exact_competing_risks,
    families_per_cause,
)

__all__ = [
    "CauseModel",
    "CompetingRisksPosterior",
    "cause_specific_data",
    "check_competing",
    "cumulative_incidence",
    "exact_competing_risks",
    "families_per_cause",
    "incidence_grid",
]
