"""Column parsers and checks shared by every table loader.

A table is read by :func:`read_table` (a CSV through
:func:`bridgebayes.core.readers.read_csv_table`, or a DataFrame passed through) into a
:class:`Table` that remembers the file and the line of every row.  Each ``parse_*``
function then turns one raw column into a clean numpy array, or raises
:class:`~bridgebayes.core.errors.CohortError` naming the file, the column, the offending
ids with their lines and values, and their count.  Nothing is coerced silently: ``"2"`` is
not an event indicator, ``"12 mo"`` is not a time, ``"2_0"`` is not 20, ``"NaN"`` is not an
empty cell.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bridgebayes.core.errors import BridgeBayesError, CohortError, describe_offenders
from bridgebayes.core.readers import NUMBER, parse_number, read_csv_table
from bridgebayes.core.units import convert

__all__ = [
    "COVARIATE_KINDS",
    "FALSE_TOKENS",
    "MAX_YEARS",
    "TRUE_TOKENS",
    "Rows",
    "Table",
    "check_arms",
    "check_columns",
    "check_ids",
    "is_blank",
    "parse_covariates",
    "parse_flag",
    "parse_time",
    "raise_if_any",
    "read_table",
]

TRUE_TOKENS = frozenset({"1", "true"})
FALSE_TOKENS = frozenset({"0", "false"})
COVARIATE_KINDS = ("numeric", "categorical")
#: Longest time accepted (100 years, in the data's unit): a larger value is a typo or a
#: wrong time unit, and would overflow the models' arithmetic.
MAX_YEARS = 100.0


@dataclass(frozen=True)
class Rows:
    """Who the rows of a table are, for messages.

    Attributes
    ----------
    ids
        Patient ids (or row labels), one per row.
    lines
        The 1-based file line of each row; ``None`` for a DataFrame.
    source
        The file, ``""`` for a DataFrame.
    """

    ids: Sequence[object]
    lines: Sequence[int] | None = None
    source: str = ""

    def prefix(self) -> str:
        """``"<file>: "`` or ``""``."""
        return f"{self.source}: " if self.source else ""


@dataclass(frozen=True)
class Table:
    """Raw cells of a table (strings from a CSV, typed values from a DataFrame) and where
    they come from."""

    frame: pd.DataFrame
    lines: tuple[int, ...] | None = None
    source: str = ""

    def rows(self, ids: Sequence[object]) -> Rows:
        """The :class:`Rows` of this table under patient ids ``ids``."""
        return Rows(ids=list(ids), lines=self.lines, source=self.source)

    def prefix(self) -> str:
        """``"<file>: "`` or ``""``."""
        return f"{self.source}: " if self.source else ""


def is_blank(value: object) -> bool:
    """True for an empty cell: ``None``, a pandas missing value or ``""``."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def raise_if_any(mask: np.ndarray, *, column: str, problem: str, rows: Rows,
                 values: Sequence[object] | None = None, hint: str = "") -> None:
    """Raise a :class:`CohortError` if any element of ``mask`` is true.

    Parameters
    ----------
    mask
        Boolean array, true for offending rows.
    column
        Column name reported in the message.
    problem
        What is wrong, e.g. ``"negative time"``.
    rows
        Ids, lines and file of the rows, aligned with ``mask``.
    values
        Values aligned with ``mask`` shown next to the ids.
    hint
        What the user should do instead.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    idx = np.flatnonzero(mask)
    bad_values = None if values is None else [values[i] for i in idx]
    bad_lines = None if rows.lines is None else [rows.lines[i] for i in idx]
    offenders = describe_offenders([rows.ids[i] for i in idx], bad_values, lines=bad_lines)
    msg = f"{rows.prefix()}column {column!r}: {problem} in {offenders}"
    if hint:
        msg += f". {hint}"
    raise CohortError(msg)


def _number(value: object) -> tuple[float, str]:
    """A cell as a float, or NaN and why not (``"text"``, ``"nan"``, ``"inf"``)."""
    if isinstance(value, bool | np.bool_):
        return math.nan, "text"
    if isinstance(value, str):
        try:
            return parse_number(value, where=""), ""
        except BridgeBayesError:
            if NUMBER.fullmatch(value.strip()):
                return math.nan, "range"  # overflows to infinity or underflows to zero
            word = value.strip().lstrip("+-").lower()
            return math.nan, {"nan": "nan", "inf": "inf", "infinity": "inf"}.get(word, "text")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan, "text"
    return (math.nan, "nan") if math.isnan(number) else (
        (math.nan, "inf") if math.isinf(number) else (number, ""))


def parse_time(raw: Sequence[object], *, column: str, rows: Rows, required: bool,
               unit: str = "months") -> np.ndarray:
    """Parse a time column; blank cells become NaN (allowed only if not ``required``).

    Times are plain numbers (:func:`bridgebayes.core.readers.parse_number`), strictly
    positive (after time zero) and at most :data:`MAX_YEARS` (100 years) in ``unit``; they
    stay in ``unit`` (nothing is converted).

    Parameters
    ----------
    raw
        Raw cell values.
    column
        Column name for messages.
    rows
        Ids, lines and file of the rows, aligned with ``raw``.
    required
        Whether blank cells are an error.
    unit
        The unit of the column (the limit is 100 years in it).

    Returns
    -------
    numpy.ndarray
        Float array in ``unit``, NaN where the cell was blank.

    Examples
    --------
    >>> parse_time(["1.5", ""], column="relapse", rows=Rows(["a", "b"]), required=False)
    array([1.5, nan])
    """
    raw = list(raw)
    parsed = [(math.nan, "blank") if is_blank(x) else _number(x) for x in raw]
    out = np.array([value for value, _ in parsed], dtype=float)
    kind = np.array([k for _, k in parsed], dtype=object)
    raise_if_any(kind == "text", column=column, problem="not a number", rows=rows,
                 values=raw, hint="Times must be plain numbers: digits, an optional decimal "
                 "point and exponent (no units, text or '_' separators)")
    if required:
        raise_if_any(kind == "blank", column=column, problem="missing value", rows=rows,
                     values=raw)
    raise_if_any(kind == "nan", column=column, problem="NaN is not allowed", rows=rows,
                 values=raw, hint="Leave the cell empty if the event did not happen")
    raise_if_any(kind == "inf", column=column, problem="infinite time", rows=rows, values=raw)
    raise_if_any(kind == "range", column=column, problem="number beyond the floating-point "
                 "range (too large, or so small it rounds to zero)", rows=rows, values=raw)
    raise_if_any(out <= 0, column=column, problem="time must be > 0 (after time zero)",
                 rows=rows, values=raw)
    limit = convert(MAX_YEARS, source="years", target=unit)
    raise_if_any(out > limit, column=column,
                 problem=f"time beyond 100 years ({limit:g} {unit})", rows=rows, values=raw,
                 hint="Check the value and the time unit")
    return out


def parse_flag(raw: Sequence[object], *, column: str, rows: Rows) -> np.ndarray:
    """Parse a 0/1 indicator column; accepted: 0, 1, true, false (any case), booleans.

    Parameters
    ----------
    raw
        Raw cell values.
    column
        Column name for messages.
    rows
        Ids, lines and file of the rows, aligned with ``raw``.

    Returns
    -------
    numpy.ndarray
        Integer array of 0/1.

    Examples
    --------
    >>> parse_flag(["1", "false", True], column="event", rows=Rows([1, 2, 3]))
    array([1, 0, 1])
    """
    raw = list(raw)
    out = np.zeros(len(raw), dtype=int)
    bad = np.zeros(len(raw), dtype=bool)
    for i, value in enumerate(raw):
        if isinstance(value, bool | np.bool_):
            out[i] = int(value)
        elif isinstance(value, str) and value.strip().lower() in TRUE_TOKENS | FALSE_TOKENS:
            out[i] = int(value.strip().lower() in TRUE_TOKENS)
        elif isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
            out[i] = int(value)
        else:
            bad[i] = True
    raise_if_any(bad, column=column, problem="indicator must be 0, 1, true or false",
                 rows=rows, values=raw,
                 hint="Other codes (e.g. 2 for a competing cause) are not accepted")
    return out


def read_table(source: str | os.PathLike[str] | pd.DataFrame, *,
               what: str = "cohort CSV") -> Table:
    """Read a CSV as strings (nothing parsed yet) or pass a DataFrame through.

    Raises :class:`CohortError` naming the file for the problems of
    :func:`bridgebayes.core.readers.read_csv_table` (missing or empty file, not UTF-8,
    ragged rows, blank or duplicate column names), or duplicate DataFrame columns.
    """
    if isinstance(source, pd.DataFrame):
        if source.columns.duplicated().any():
            dup = sorted(set(source.columns[source.columns.duplicated()]))
            raise CohortError(f"duplicate column names: {dup}")
        return Table(source.reset_index(drop=True))
    table = read_csv_table(source, what=what, error=CohortError)
    frame = pd.DataFrame(list(table.rows), columns=list(table.header), dtype=object)
    return Table(frame, lines=table.lines, source=str(table.path))


def check_columns(table: Table, required: tuple[str, ...], allowed_extra: set[str], *,
                  optional_prefix: str | None = None, expected: str = "") -> None:
    """The required columns are present, any other is allowed, and there are rows.

    ``expected`` describes the format for the message about missing columns.
    """
    columns = [str(c) for c in table.frame.columns]
    missing = [c for c in required if c not in columns]
    if missing:
        raise CohortError(f"{table.prefix()}missing required column(s) {missing}"
                          + (f": {expected}" if expected else "")
                          + f"; the table has {columns}")
    extra = [c for c in columns if c not in required and c not in allowed_extra
             and not (optional_prefix and c.startswith(optional_prefix))]
    if extra:
        raise CohortError(
            f"{table.prefix()}unexpected column(s) {extra}; declare covariates explicitly "
            f"(covariates={{'name': 'numeric' or 'categorical'}}) or drop the columns")
    if len(table.frame) == 0:
        raise CohortError(f"{table.prefix()}the table has a header but no patients")


def check_ids(table: Table, column: str = "id") -> np.ndarray:
    """Patient ids of ``column``: present, unique, surrounding spaces removed."""
    raw = table.frame[column].to_numpy(dtype=object)
    lines = table.lines or range(2, len(raw) + 2)  # a DataFrame: as if a CSV, header line 1
    blank = np.array([is_blank(x) for x in raw])
    raise_if_any(blank, column=column, problem="missing id",
                 rows=Rows([f"line {r}" for r in lines], source=table.source))
    ids = np.array([str(x).strip() for x in raw], dtype=object)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    raise_if_any(dup, column=column, problem="duplicate id", rows=table.rows(ids))
    return ids


def check_arms(raw: pd.Series, rows: Rows, arms: tuple[str, str],
               column: str = "arm") -> np.ndarray:
    """Arm labels of every row: one of the two declared ``arms``, both with patients."""
    if (not isinstance(arms, tuple | list) or len(arms) != 2 or arms[0] == arms[1]
            or not all(isinstance(a, str) and a.strip() for a in arms)):
        raise CohortError(
            f"arms: expected two distinct labels (reference, treatment), got {arms!r}")
    labels = np.array(["" if is_blank(x) else str(x).strip() for x in raw], dtype=object)
    raise_if_any(~np.isin(labels, list(arms)), column=column, problem="unknown arm label",
                 rows=rows, values=list(labels), hint=f"Declared arms are {list(arms)}")
    empty = [a for a in arms if not (labels == a).any()]
    if empty:
        raise CohortError(f"{rows.prefix()}column {column!r}: declared arm(s) {empty} have "
                          "no patients")
    return labels


def parse_covariates(frame: pd.DataFrame, covariates: Mapping[str, str], rows: Rows) -> dict:
    """Declared covariate columns: categorical as stripped text, numeric as finite floats."""
    missing = [name for name in covariates if name not in frame.columns]
    if missing:
        raise CohortError(f"{rows.prefix()}covariates: declared column(s) {missing} are not in "
                          f"the table; its columns are {[str(c) for c in frame.columns]}")
    out = {}
    for name, kind in covariates.items():
        if kind not in COVARIATE_KINDS:
            raise CohortError(f"covariates[{name!r}]: kind must be one of {COVARIATE_KINDS}, "
                              f"got {kind!r}")
        raw = list(frame[name])
        blank = np.array([is_blank(x) for x in raw])
        raise_if_any(blank, column=name, problem="missing covariate value", rows=rows)
        if kind == "categorical":
            out[name] = [str(x).strip() for x in raw]
            continue
        parsed = [_number(x) for x in raw]
        raise_if_any(np.array([bool(why) for _, why in parsed]), column=name,
                     problem="not a finite number", rows=rows, values=raw)
        out[name] = np.array([value for value, _ in parsed], dtype=float)
    return out
