"""The illness–death model (relapse, NRM, death after relapse) from transplant.

:mod:`~bridgebayes.models.illness_death.data` holds the histories and the per-transition
data, :mod:`~bridgebayes.models.illness_death.posterior` the model (one survival family per
transition), its exact posterior and the state probabilities (OS, PFS, CIFs) from the same
draws.  NUTS fits: :func:`bridgebayes.inference.multistate.fit_illness_death`.
"""

from bridgebayes.models.illness_death.data import (
    SOJOURN_FLOOR,
    TRANSITIONS,
    IllnessDeathData,
    illness_death_data,
    illness_death_from_times,
    simulate_illness_death,
    transition_data,
)
from bridgebayes.models.illness_death.posterior import (
    QUANTITIES,
    IllnessDeathModel,
    IllnessDeathPosterior,
    exact_illness_death,
    state_probabilities,
)

__all__ = ["QUANTITIES", "SOJOURN_FLOOR", "TRANSITIONS", "IllnessDeathData", "IllnessDeathModel",
           "IllnessDeathPosterior", "exact_illness_death", "illness_death_data",
           "illness_death_from_times", "simulate_illness_death", "state_probabilities",
           "transition_data"]
