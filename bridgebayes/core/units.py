"""Time units: the data's unit is declared once and kept end to end.

bridgebayes does not convert times: every time of a study — data, spec (landmarks, cut
points, horizons), outputs and axes — is in the unit the study declares.  Conversions exist
for the few places that need another unit (engraftment days of a transplant cohort; a prior
or plan quantity given with an explicit unit).  A month is 365.25 / 12 = 30.4375 days.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["DAYS_PER", "DAYS_PER_MONTH", "UNITS", "check_unit", "convert"]

DAYS_PER_MONTH = 365.25 / 12

#: Days per unit.
DAYS_PER = MappingProxyType({"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH,
                             "years": 365.25})
#: The accepted time units.
UNITS = tuple(DAYS_PER)


def check_unit(unit: object, *, where: str = "time_unit") -> str:
    """``unit`` if it is one of :data:`UNITS`, else a :class:`~bridgebayes.core.errors.
    CohortError` naming ``where``.

    Examples
    --------
    >>> check_unit("weeks")
    'weeks'
    """
    from bridgebayes.core.errors import CohortError

    if not isinstance(unit, str) or unit not in DAYS_PER:
        raise CohortError(f"{where}: unknown time unit {unit!r}; expected one of {list(UNITS)}")
    return unit


def convert(value: float, *, source: str, target: str) -> float:
    """A time (or duration) in ``source`` units expressed in ``target`` units.

    Examples
    --------
    >>> convert(2.0, source="years", target="months")
    24.0
    """
    return value * DAYS_PER[check_unit(source)] / DAYS_PER[check_unit(target)]
