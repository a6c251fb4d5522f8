"""Declared covariates: numeric or categorical (with declared levels), and their design.

A categorical covariate with levels ``(a, b, c)`` enters the models as indicator columns
``name=b`` and ``name=c`` (treatment coding: the first level is the reference); a numeric one
as it is.  Values outside the declared levels and missing values are errors naming the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError, describe_offenders

__all__ = ["KINDS", "Covariate", "covariates_from", "design"]

KINDS = ("numeric", "categorical")


@dataclass(frozen=True)
class Covariate:
    """A declared covariate.

    Attributes
    ----------
    name
        Column name.
    kind
        ``"numeric"`` or ``"categorical"``.
    levels
        Categorical: the allowed values, the first one the reference (empty: the sorted
        observed values, for Python use; specs declare them).
    label
        Reader-facing name (default: ``name``).
    """

    name: str
    kind: str
    levels: tuple[str, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CohortError(f"covariates[{self.name!r}]: kind must be one of {KINDS}, got "
                              f"{self.kind!r}")
        levels = tuple(str(v) for v in self.levels)
        if len(set(levels)) < len(levels) or (levels and self.kind == "numeric"):
            raise CohortError(f"covariates[{self.name!r}]: levels must be distinct and only "
                              f"for categorical covariates, got {list(self.levels)}")
        if self.kind == "categorical" and len(levels) == 1:
            raise CohortError(f"covariates[{self.name!r}]: a categorical covariate needs at "
                              f"least two levels, got {list(levels)}")
        object.__setattr__(self, "levels", levels)

    def columns(self, levels: Sequence[str] | None = None) -> tuple[str, ...]:
        """Design column names (numeric: the name; categorical: one per non-reference level)."""
        if self.kind == "numeric":
            return (self.name,)
        return tuple(f"{self.name}={level}" for level in (levels or self.levels)[1:])


def covariates_from(spec: Mapping[str, object] | None) -> dict[str, Covariate]:
    """Covariates from ``{name: "numeric" | "categorical" | Covariate}``.

    Examples
    --------
    >>> covariates_from({"age": "numeric"})["age"].kind
    'numeric'
    """
    out = {}
    for name, value in dict(spec or {}).items():
        out[name] = value if isinstance(value, Covariate) else Covariate(name, str(value))
    return out


def design(values: Mapping[str, np.ndarray | list], covariates: Mapping[str, Covariate], *,
           ids: Sequence[object], source: str = "") -> tuple[pd.DataFrame, dict[str, tuple]]:
    """The numeric design of parsed covariate values, and the levels used per categorical.

    Parameters
    ----------
    values
        Parsed values per covariate (numbers; strings for categorical ones).
    covariates
        The declarations.
    ids
        Row ids for messages.
    source
        The file, for messages.

    Returns
    -------
    design, levels
        One column per :meth:`Covariate.columns`; the levels of each categorical covariate.

    Examples
    --------
    >>> d, _ = design({"g": ["a", "b", "a"]}, {"g": Covariate("g", "categorical", ("a", "b"))},
    ...               ids=[1, 2, 3])
    >>> d["g=b"].tolist()
    [0.0, 1.0, 0.0]
    """
    where = f"{source}: " if source else ""
    columns, levels_used = {}, {}
    for name, cov in covariates.items():
        raw = values[name]
        if cov.kind == "numeric":
            columns[name] = np.asarray(raw, float)
            continue
        text = np.asarray([str(v) for v in raw], dtype=object)
        levels = cov.levels or tuple(sorted(set(text)))
        bad = ~np.isin(text, levels)
        if bad.any():
            raise CohortError(f"{where}column {name!r}: value(s) outside the declared levels "
                              f"{list(levels)} in " + describe_offenders(
                                  list(np.asarray(ids, dtype=object)[bad]), list(text[bad])))
        levels_used[name] = levels
        for level, column in zip(levels[1:], cov.columns(levels), strict=True):
            columns[column] = (text == level).astype(float)
    return pd.DataFrame(columns), levels_used
