"""Endpoint definitions and their derivation from a patient table.

An endpoint is declared, not hard-coded (:class:`EndpointDefinition`), in one of three kinds:

* **first event** (``events``): the first of several event-time columns (blank = did not
  happen); a patient without any is censored at last follow-up;
* **competing causes** (``causes``): cause label -> event-time columns; the first event of
  any cause decides the cause (ties: the cause listed first); codes 1, 2, ... in order;
* **direct** (``duration``, ``event``): a time column and a 0/1 event column (the
  one-endpoint, lifelines-style table).

The transplant (HSCT) endpoints are one preset of these (:data:`HSCT_ENDPOINTS`): OS (death),
PFS (relapse or death), GRFS after Holtan SG et al., Blood 2015;125:1333 (grade III–IV acute
GVHD, chronic GVHD needing systemic therapy, relapse or death) and relapse vs non-relapse
mortality (a relapse recorded at the same time as death counts as relapse).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError

__all__ = [
    "HSCT_ENDPOINTS",
    "HSCT_EVENT_COLUMNS",
    "EndpointData",
    "EndpointDefinition",
    "derive",
]


@dataclass(frozen=True)
class EndpointDefinition:
    """How an endpoint is derived from a patient table (module docstring).

    Attributes
    ----------
    name
        Canonical name (spec keys, file names, results).
    label
        Reader-facing name, e.g. ``"Overall survival"``.
    events
        First-event kind: the event-time columns.
    causes
        Competing kind: cause label -> event-time columns, in cause-code order.
    duration, event
        Direct kind: the time column and the 0/1 event column.
    description
        What counts as an event, in words.
    cause_labels
        Reader-facing cause names (default: the cause labels).
    """

    name: str
    label: str
    events: tuple[str, ...] = ()
    causes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    duration: str | None = None
    event: str | None = None
    description: str = ""
    cause_labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kinds = [bool(self.events), bool(self.causes), self.duration is not None]
        if sum(kinds) != 1 or (self.duration is None) != (self.event is None):
            raise CohortError(f"endpoint {self.name!r}: give exactly one of events (first "
                              "event), causes (competing) or duration + event (direct)")
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "causes", MappingProxyType(
            {str(k): tuple(v) for k, v in dict(self.causes).items()}))
        object.__setattr__(self, "cause_labels", MappingProxyType(dict(self.cause_labels)))

    @property
    def kind(self) -> str:
        """``"first_event"``, ``"competing"`` or ``"direct"``."""
        return "competing" if self.causes else "direct" if self.duration else "first_event"

    @property
    def columns(self) -> tuple[str, ...]:
        """The table columns the endpoint reads (besides the follow-up column)."""
        if self.causes:
            return tuple(dict.fromkeys(c for cols in self.causes.values() for c in cols))
        return self.events or (self.duration, self.event)


#: Event-time columns of the transplant (HSCT) patient table (blank = no event).
HSCT_EVENT_COLUMNS = ("death", "relapse", "agvhd34", "cgvhd_sys")

#: The transplant endpoints (the HSCT preset).
HSCT_ENDPOINTS = MappingProxyType({
    "os": EndpointDefinition("os", "Overall survival", events=("death",),
                             description="death from any cause"),
    "pfs": EndpointDefinition("pfs", "Progression-free survival", events=("relapse", "death"),
                              description="relapse or death, whichever first"),
    "grfs": EndpointDefinition(
        "grfs", "GVHD-free relapse-free survival",
        events=("agvhd34", "cgvhd_sys", "relapse", "death"),
        description="grade III-IV acute GVHD, chronic GVHD needing systemic therapy, relapse "
                    "or death (Holtan et al. 2015)"),
    "relapse_nrm": EndpointDefinition(
        "relapse_nrm", "Relapse vs non-relapse mortality",
        causes={"relapse": ("relapse",), "nrm": ("death",)},
        description="relapse, or death without prior relapse (non-relapse mortality)",
        cause_labels={"relapse": "relapse", "nrm": "NRM"}),
})


@dataclass(frozen=True)
class EndpointData:
    """Analysis-ready data for one endpoint: one row per patient.

    Attributes
    ----------
    name
        Endpoint name (``"os"``, ``"relapse_nrm"``, or a user's name).
    time
        Time to event or censoring, in ``time_unit``.
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
        Numeric covariate design aligned with the rows (categorical covariates as 0/1
        indicator columns ``"name=level"``), or an empty frame.
    time_unit
        Unit of ``time`` (``"days"``, ``"weeks"``, ``"months"``, ``"years"``).
    """

    name: str
    time: np.ndarray
    event: np.ndarray
    arm: np.ndarray
    arms: tuple[str, str]
    ids: np.ndarray
    causes: tuple[str, ...] = ()
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)
    time_unit: str = "months"

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


def _first_event(table: pd.DataFrame, columns: tuple[str, ...], followup: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    times = table[list(columns)].to_numpy(dtype=float)
    first = np.min(np.where(np.isnan(times), np.inf, times), axis=1)
    event = np.isfinite(first)
    time = np.where(event, first, table[followup].to_numpy(dtype=float))
    return time, event.astype(int)


def derive(table: pd.DataFrame, definition: EndpointDefinition, *, arms: tuple[str, str],
           followup: str = "followup", covariates: pd.DataFrame | None = None,
           time_unit: str = "months") -> EndpointData:
    """Derive ``(time, event)`` of one endpoint from a validated patient table.

    Parameters
    ----------
    table
        Validated patient table (``id``, ``arm``, the follow-up column, event columns).
    definition
        The endpoint.
    arms
        ``(reference, treatment)`` labels.
    followup
        The last-follow-up column (first-event and competing kinds).
    covariates
        Covariate design aligned with the rows.
    time_unit
        Unit of the times.

    Returns
    -------
    EndpointData

    Examples
    --------
    >>> t = pd.DataFrame({"id": ["a", "b"], "arm": ["X", "Y"], "followup": [10.0, 4.0],
    ...                   "relapse": [3.0, None], "death": [10.0, 4.0]})
    >>> derive(t, HSCT_ENDPOINTS["relapse_nrm"], arms=("X", "Y")).event.tolist()
    [1, 2]
    """
    causes: tuple[str, ...] = ()
    if definition.kind == "first_event":
        time, event = _first_event(table, definition.events, followup)
    elif definition.kind == "competing":
        causes = tuple(definition.causes)
        per_cause = np.column_stack([_first_event(table, cols, followup)[0] for cols in
                                     definition.causes.values()])
        hit = np.column_stack([_first_event(table, cols, followup)[1] for cols in
                               definition.causes.values()]).astype(bool)
        first = np.where(hit, per_cause, np.inf)
        time = np.where(hit.any(axis=1), first.min(axis=1),
                        table[followup].to_numpy(dtype=float))
        event = np.where(hit.any(axis=1), first.argmin(axis=1) + 1, 0)  # ties: first cause
    else:
        time = table[definition.duration].to_numpy(dtype=float)
        event = table[definition.event].to_numpy(dtype=int)
    arm = (table["arm"].to_numpy() == arms[1]).astype(int)
    return EndpointData(
        name=definition.name, time=np.asarray(time, float), event=np.asarray(event, dtype=int),
        arm=arm, arms=arms, ids=table["id"].to_numpy(), causes=causes,
        covariates=(pd.DataFrame() if covariates is None
                    else covariates.reset_index(drop=True)), time_unit=time_unit)
