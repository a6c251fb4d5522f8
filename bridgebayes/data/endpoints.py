"""Endpoint definitions and their derivation from patient histories.

Time zero is the transplant (HSCT).  Standard HSCT usage:

* **OS** (overall survival): death from any cause.
* **PFS** (progression-free survival): relapse/progression or death, whichever first.
* **GRFS** (GVHD-free, relapse-free survival; Holtan SG et al., Blood 2015;125:1333):
  grade III–IV acute GVHD, chronic GVHD requiring systemic therapy, relapse or
  death, whichever first.
* **Relapse vs NRM** (competing risks): relapse (cause 1) and non-relapse
  mortality, i.e. death without prior relapse (cause 2).  A relapse recorded at
  the same time as death counts as relapse.

A patient without the event is censored at last follow-up (``followup``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError

__all__ = [
    "COMPETING_RISKS",
    "ENDPOINTS",
    "EVENT_COLUMNS",
    "EndpointData",
    "EndpointDefinition",
    "derive",
]

#: Event-time columns of the patient-level table (months from transplant; blank = no event).
EVENT_COLUMNS = ("death", "relapse", "agvhd34", "cgvhd_sys")


@dataclass(frozen=True)
class EndpointDefinition:
    """A time-to-first-event endpoint built from event-time columns."""

    name: str
    label: str
    components: tuple[str, ...]
    description: str


ENDPOINTS = MappingProxyType({
    "os": EndpointDefinition("os", "Overall survival", ("death",), "death from any cause"),
    "pfs": EndpointDefinition("pfs", "Progression-free survival", ("relapse", "death"),
                              "relapse or death, whichever first"),
    "grfs": EndpointDefinition(
        "grfs", "GVHD-free relapse-free survival", ("agvhd34", "cgvhd_sys", "relapse", "death"),
        "grade III-IV acute GVHD, chronic GVHD needing systemic therapy, relapse or death "
        "(Holtan et al. 2015)"),
})

#: Competing-risks endpoints: name -> cause labels (cause codes 1, 2, ...; 0 = censored).
COMPETING_RISKS = MappingProxyType({"relapse_nrm": ("relapse", "nrm")})


@dataclass(frozen=True)
class EndpointData:
    """Analysis-ready data for one endpoint: one row per patient.

    Attributes
    ----------
    name
        Endpoint name (``"os"``, ``"pfs"``, ``"grfs"``, ``"relapse_nrm"``, or a user label).
    time
        Time to event or censoring, months.
    event
        0 = censored; 1 = event; for competing risks the cause code (1, 2, ...).
    arm
        0 = reference arm, 1 = treatment arm.
    arms
        Labels ``(reference, treatment)``.
    ids
        Patient ids.
    causes
        Cause labels for competing-risks data (code ``k`` is ``causes[k-1]``), else ``()``.
    covariates
        Covariate table aligned with the rows, or an empty frame.
    """

    name: str
    time: np.ndarray
    event: np.ndarray
    arm: np.ndarray
    arms: tuple[str, str]
    ids: np.ndarray
    causes: tuple[str, ...] = ()
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """Return ``id, arm (label), time, event`` plus covariates as a DataFrame."""
        frame = pd.DataFrame({
            "id": self.ids,
            "arm": np.asarray(self.arms, dtype=object)[self.arm],
            "time": self.time,
            "event": self.event,
        })
        if not self.covariates.empty:
            frame = pd.concat([frame, self.covariates.reset_index(drop=True)], axis=1)
        return frame


def _first_event(table: pd.DataFrame, components: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    times = table[list(components)].to_numpy(dtype=float)
    first = np.min(np.where(np.isnan(times), np.inf, times), axis=1)
    event = np.isfinite(first)
    time = np.where(event, first, table["followup"].to_numpy(dtype=float))
    return time, event.astype(int)


def derive(table: pd.DataFrame, name: str, *, arms: tuple[str, str],
           covariates: tuple[str, ...] = ()) -> EndpointData:
    """Derive ``(time, event)`` for endpoint ``name`` from a validated patient table.

    Parameters
    ----------
    table
        Validated patient-level table (see :mod:`bridgebayes.data.cohort`), times in months.
    name
        A key of :data:`ENDPOINTS` or :data:`COMPETING_RISKS`.
    arms
        ``(reference, treatment)`` labels.
    covariates
        Covariate columns to carry along.

    Returns
    -------
    EndpointData
    """
    if name in ENDPOINTS:
        time, event = _first_event(table, ENDPOINTS[name].components)
        causes: tuple[str, ...] = ()
    elif name in COMPETING_RISKS:
        relapse = table["relapse"].to_numpy(dtype=float)
        time, any_event = _first_event(table, ("relapse", "death"))
        is_relapse = ~np.isnan(relapse) & (relapse <= time)
        event = np.where(any_event == 1, np.where(is_relapse, 1, 2), 0)
        causes = COMPETING_RISKS[name]
    else:
        known = sorted([*ENDPOINTS, *COMPETING_RISKS])
        raise CohortError(f"endpoint: unknown endpoint {name!r}; expected one of {known}")
    arm = (table["arm"].to_numpy() == arms[1]).astype(int)
    return EndpointData(
        name=name, time=time, event=np.asarray(event, dtype=int), arm=arm, arms=arms,
        ids=table["id"].to_numpy(), causes=causes,
        covariates=table[list(covariates)].reset_index(drop=True),
    )
