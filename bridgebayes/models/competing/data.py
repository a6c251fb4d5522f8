"""Competing-risks data: one cause at a time (the other causes censor)."""

from __future__ import annotations

import numpy as np

from bridgebayes.core.errors import BridgeBayesError, describe_offenders
from bridgebayes.data.endpoints import EndpointData

__all__ = ["cause_specific_data", "check_competing"]


def cause_specific_data(data: EndpointData, cause: int | str) -> EndpointData:
    """Single-event data for one cause: its events are events, every other cause censors.

    Parameters
    ----------
    data
        Competing-risks data (``cohort.endpoint("relapse_nrm")``): ``event`` 0 = censored,
        ``k`` = cause ``data.causes[k - 1]``.
    cause
        Cause code (1, 2, ...) or label (``"relapse"``, ``"nrm"``).

    Returns
    -------
    EndpointData
        Named ``"<name>:<cause label>"``, events 0/1.

    Examples
    --------
    >>> d = EndpointData("relapse_nrm", np.array([1.0, 2.0, 3.0]), np.array([1, 2, 0]),
    ...                  np.array([0, 1, 1]), ("A", "B"), np.arange(3), causes=("relapse", "nrm"))
    >>> cause_specific_data(d, "nrm").event.tolist()
    [0, 1, 0]
    """
    code = _cause_code(data, cause)
    return EndpointData(name=f"{data.name}:{data.causes[code - 1]}", time=np.asarray(data.time),
                        event=(np.asarray(data.event) == code).astype(int),
                        arm=np.asarray(data.arm), arms=data.arms, ids=np.asarray(data.ids),
                        covariates=data.covariates)


def check_competing(data: EndpointData) -> None:
    if not data.causes:
        raise BridgeBayesError(f"{data.name}: not competing-risks data (no causes); use "
                               "cohort.endpoint('relapse_nrm')")
    event = np.asarray(data.event)
    bad = ~np.isin(event, np.arange(len(data.causes) + 1))
    if bad.any():
        raise BridgeBayesError(
            f"{data.name}: event: expected 0 (censored) or a cause code 1..{len(data.causes)}; "
            + describe_offenders(list(np.asarray(data.ids)[bad]), event[bad].tolist()))


def _cause_code(data: EndpointData, cause: int | str) -> int:
    check_competing(data)
    if isinstance(cause, str):
        if cause not in data.causes:
            raise BridgeBayesError(f"cause: unknown cause {cause!r}; expected one of "
                                   f"{list(data.causes)}")
        return data.causes.index(cause) + 1
    if isinstance(cause, bool) or not isinstance(cause, int | np.integer) or not (
            1 <= cause <= len(data.causes)):
        raise BridgeBayesError(f"cause: expected a code 1..{len(data.causes)} or a label in "
                               f"{list(data.causes)}, got {cause!r}")
    return int(cause)
