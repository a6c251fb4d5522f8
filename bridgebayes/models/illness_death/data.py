"""Illness–death histories from transplant: relapse, NRM, death after relapse.

States: 0 = alive in remission after transplant, 1 = relapsed, 2 = dead.  Transitions
(:data:`TRANSITIONS`): ``relapse`` (0→1), ``nrm`` (0→2, death without relapse) and
``post_relapse_death`` (1→2).  **Clock reset** (semi-Markov): the 1→2 clock is the time since
relapse (death after an ALL relapse is driven by the relapse and its salvage treatment, not by
the time since transplant; Putter, Fiocco & Geskus, Stat Med 2007;26:2389); a death recorded at
the relapse time gets a sojourn of :data:`SOJOURN_FLOOR` (one day).  The likelihood factorises
over the transitions (:func:`transition_data`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError, describe_offenders
from bridgebayes.data.cohort import Cohort
from bridgebayes.data.endpoints import EndpointData

__all__ = ["SOJOURN_FLOOR", "TRANSITIONS", "IllnessDeathData", "illness_death_data",
           "illness_death_from_times", "simulate_illness_death", "transition_data"]

#: Transition names: 0→1, 0→2, 1→2.
TRANSITIONS = ("relapse", "nrm", "post_relapse_death")
#: Sojourn (months) given to a death recorded at the relapse time: one day.
SOJOURN_FLOOR = 1.0 / 30.4375


@dataclass(frozen=True)
class IllnessDeathData:
    """Per-patient illness–death histories (months from transplant).

    Attributes
    ----------
    ids, arm, arms
        Patient ids; arm 0 = reference, 1 = treatment; ``(reference, treatment)`` labels.
    time
        Time of leaving state 0 (relapse or death without relapse) or of censoring in it.
    first_event
        0 = censored in remission, 1 = relapse, 2 = death without relapse.
    sojourn
        Time from relapse to death or censoring (relapsed patients; NaN otherwise).
    death_after_relapse
        1 if a relapsed patient died, else 0.
    """

    ids: np.ndarray
    arm: np.ndarray
    arms: tuple[str, str]
    time: np.ndarray
    first_event: np.ndarray
    sojourn: np.ndarray
    death_after_relapse: np.ndarray

    @property
    def relapsed(self) -> np.ndarray:
        """Boolean mask of relapsed patients."""
        return self.first_event == 1

    def counts(self) -> pd.DataFrame:
        """Events per transition and arm: ``transition, arm, events, at_risk``."""
        rows = []
        for code, label in enumerate(self.arms):
            mask = self.arm == code
            rows += [("relapse", label, int(np.sum(self.first_event[mask] == 1)), int(mask.sum())),
                     ("nrm", label, int(np.sum(self.first_event[mask] == 2)), int(mask.sum())),
                     ("post_relapse_death", label,
                      int(np.sum(self.death_after_relapse[mask & self.relapsed])),
                      int(np.sum(mask & self.relapsed)))]
        return pd.DataFrame(rows, columns=["transition", "arm", "events", "at_risk"])


def illness_death_from_times(*, arm: Sequence[int], relapse: Sequence[float],
                             death: Sequence[float], followup: Sequence[float],
                             arms: tuple[str, str] = ("reference", "treatment"),
                             ids: Sequence[object] | None = None) -> IllnessDeathData:
    """Illness–death histories from relapse, death and follow-up times (NaN = no event).

    Parameters
    ----------
    arm
        0 = reference, 1 = treatment.
    relapse, death
        Event times (months from transplant), NaN if the event did not happen.
    followup
        Last follow-up (the death time for patients who died).
    arms, ids
        Arm labels; patient ids (default ``0..n-1``).

    Returns
    -------
    IllnessDeathData

    Examples
    --------
    >>> d = illness_death_from_times(arm=[0, 1], relapse=[3.0, np.nan], death=[7.0, np.nan],
    ...                              followup=[7.0, 12.0])
    >>> d.first_event.tolist(), d.sojourn.tolist(), d.death_after_relapse.tolist()
    ([1, 0], [4.0, nan], [1, 0])
    """
    arm_a = np.asarray(arm)
    relapse_a, death_a, follow = (np.asarray(a, float) for a in (relapse, death, followup))
    n = arm_a.size
    ids_a = np.arange(n) if ids is None else np.asarray(ids)
    if not all(a.shape == (n,) for a in (relapse_a, death_a, follow, ids_a)) or n == 0:
        raise BridgeBayesError("illness-death data: arm, relapse, death, followup and ids must "
                               "be 1-D and of the same positive length")
    checks = [
        ("arm", ~np.isin(arm_a, (0, 1)), arm_a, "expected 0 (reference) or 1 (treatment)"),
        ("followup", ~(np.isfinite(follow) & (follow > 0)), follow, "expected a time > 0"),
        ("relapse", ~np.isnan(relapse_a) & ~((relapse_a > 0) & (relapse_a <= follow)),
         relapse_a, "expected blank or a time in (0, followup]"),
        ("death", ~np.isnan(death_a) & ~(np.abs(death_a - follow) <= 1e-9 * follow),
         death_a, "expected blank or the follow-up time"),
    ]
    for column, bad, values, hint in checks:
        if bad.any():
            raise BridgeBayesError(f"{column}: {hint}; "
                                   + describe_offenders(list(ids_a[bad]), values[bad].tolist()))
    relapsed, died = ~np.isnan(relapse_a), ~np.isnan(death_a)
    time = np.where(relapsed, relapse_a, follow)
    first = np.where(relapsed, 1, np.where(died, 2, 0))
    sojourn = np.where(relapsed, np.maximum(follow - np.nan_to_num(relapse_a), SOJOURN_FLOOR),
                       np.nan)
    return IllnessDeathData(ids=ids_a, arm=arm_a.astype(int), arms=(arms[0], arms[1]), time=time,
                            first_event=first.astype(int), sojourn=sojourn,
                            death_after_relapse=(relapsed & died).astype(int))


def illness_death_data(cohort: Cohort) -> IllnessDeathData:
    """Illness–death histories of a :class:`~bridgebayes.data.cohort.Cohort` (columns ``followup,
    death, relapse``).

    Examples
    --------
    >>> data = illness_death_data(load_cohort(path, arms=("blina", "CAR-T")))  # doctest: +SKIP
    """
    table = cohort.table
    return illness_death_from_times(
        arm=(table["arm"].to_numpy() == cohort.arms[1]).astype(int),
        relapse=table["relapse"].to_numpy(float), death=table["death"].to_numpy(float),
        followup=table["followup"].to_numpy(float), arms=cohort.arms, ids=table["id"].to_numpy())


def transition_data(data: IllnessDeathData) -> dict[str, EndpointData]:
    """Single-event data per transition: the likelihood factorises over these three.

    ``relapse`` and ``nrm``: time in state 0 with the other exit censoring (cause-specific);
    ``post_relapse_death``: the relapsed patients' sojourns (clock reset).
    """
    r = data.relapsed
    base = {"arm": data.arm, "arms": data.arms, "ids": data.ids}
    return {
        "relapse": EndpointData(name="relapse", time=data.time,
                                event=(data.first_event == 1).astype(int), **base),
        "nrm": EndpointData(name="nrm", time=data.time, event=(data.first_event == 2).astype(int),
                            **base),
        "post_relapse_death": EndpointData(
            name="post_relapse_death", time=data.sojourn[r], event=data.death_after_relapse[r],
            arm=data.arm[r], arms=data.arms, ids=data.ids[r])}


def simulate_illness_death(*, n_per_arm: int, lam: Sequence[float], k: Sequence[float],
                           hr: Sequence[float], censor: tuple[float, float],
                           rng: np.random.Generator | int | None,
                           arms: tuple[str, str] = ("reference", "treatment")
                           ) -> IllnessDeathData:
    """Simulate the illness–death process (Weibull PH transitions, clock reset).

    Parameters
    ----------
    n_per_arm
        Patients per arm.
    lam, k, hr
        Per transition (:data:`TRANSITIONS` order): ``H_j(t | x) = lam_j t^k_j hr_j^x``.
    censor
        Uniform administrative censoring times ``(low, high)`` from transplant.
    rng
        Seed or generator.

    Returns
    -------
    IllnessDeathData

    Examples
    --------
    >>> d = simulate_illness_death(n_per_arm=5, lam=[0.02, 0.01, 0.1], k=[1, 1, 1],
    ...                            hr=[0.7, 1.0, 1.0], censor=(12, 36), rng=1)
    >>> d.arm.size
    10
    """
    rng = np.random.default_rng(rng)
    lam_a, k_a, hr_a = (np.asarray(v, float) for v in (lam, k, hr))
    if not all(v.shape == (3,) and np.all(np.isfinite(v) & (v > 0)) for v in (lam_a, k_a, hr_a)):
        raise BridgeBayesError("lam, k, hr: expected 3 positive values each (one per transition)")
    arm = np.repeat([0, 1], int(n_per_arm))

    def draw(j: int) -> np.ndarray:  # H_j(T) ~ Exp(1)
        rate = lam_a[j] * hr_a[j] ** arm
        return (rng.exponential(size=arm.size) / rate) ** (1.0 / k_a[j])

    t_relapse, t_nrm, t_after = draw(0), draw(1), draw(2)
    c = rng.uniform(*censor, arm.size)
    relapse = np.where((t_relapse < t_nrm) & (t_relapse <= c), t_relapse, np.nan)
    death_time = np.where(np.isnan(relapse), t_nrm, relapse + t_after)
    death = np.where(death_time <= c, death_time, np.nan)
    followup = np.where(np.isnan(death), c, death)
    return illness_death_from_times(arm=arm, relapse=relapse, death=death, followup=followup,
                                    arms=arms)
