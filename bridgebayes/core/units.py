"""Time units accepted in input tables and their conversion to months.

bridgebayes works in months internally (the unit of the seed study).  A month
is 365.25 / 12 = 30.4375 days.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["DAYS_PER_MONTH", "MONTHS_PER", "to_months"]

DAYS_PER_MONTH = 365.25 / 12

#: Multiply a time in the given unit by this factor to get months.
MONTHS_PER = MappingProxyType({
    "days": 1.0 / DAYS_PER_MONTH,
    "weeks": 7.0 / DAYS_PER_MONTH,
    "months": 1.0,
    "years": 12.0,
})


def to_months(unit: str, *, where: str = "time_unit") -> float:
    """Return the factor converting times in ``unit`` to months.

    Parameters
    ----------
    unit
        One of ``"days"``, ``"weeks"``, ``"months"``, ``"years"``.
    where
        Name of the argument or key the unit came from, used in the error.

    Raises
    ------
    bridgebayes.core.errors.CohortError
        If the unit is not known.

    Examples
    --------
    >>> to_months("years")
    12.0
    """
    from bridgebayes.core.errors import CohortError

    try:
        return MONTHS_PER[unit]
    except (KeyError, TypeError):
        raise CohortError(
            f"{where}: unknown time unit {unit!r}; expected one of {sorted(MONTHS_PER)}"
        ) from None
