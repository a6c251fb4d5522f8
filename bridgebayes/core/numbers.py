"""Probabilities as text, one rule for sentences, tables and figures."""

from __future__ import annotations

import math

__all__ = ["percent"]


def percent(p: float | None) -> str:
    """A probability in whole percent, never rounded to certainty.

    Examples
    --------
    >>> percent(0.4), percent(0.9996), percent(0.0004), percent(float("nan"))
    ('40%', '>99%', '<1%', '–')
    """
    if p is None or math.isnan(p):
        return "–"
    if p > 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    # between the two bounds the whole percent stays within 1..99: 0.005 is "1%", not "0%"
    return f"{min(99, max(1, round(100 * p)))}%"
