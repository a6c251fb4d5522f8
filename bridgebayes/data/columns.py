"""Column parsers and checks shared by every table loader.

Each ``parse_*`` function turns one raw column (strings from a CSV, or typed
values from a DataFrame) into a clean numpy array, or raises
:class:`~bridgebayes.core.errors.CohortError` naming the column, the offending ids
and values, and their count.  Nothing is coerced silently: ``"2"`` is not an
event indicator, ``"12 mo"`` is not a time, ``"NaN"`` is not an empty cell.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bridgebayes.core.errors import CohortError, describe_offenders

__all__ = [
    "COVARIATE_KINDS",
    "FALSE_TOKENS",
    "TRUE_TOKENS",
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


def is_blank(value: object) -> bool:
    """True for an empty cell: ``None``, a pandas missing value or ``""``."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def raise_if_any(mask: np.ndarray, *, column: str, problem: str, ids: Sequence[object],
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
    ids
        Row identifiers aligned with ``mask``.
    values
        Values aligned with ``mask`` shown next to the ids.
    hint
        What the user should do instead.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    idx = np.flatnonzero(mask)
    bad_ids = [ids[i] for i in idx]
    bad_values = None if values is None else [values[i] for i in idx]
    msg = f"column {column!r}: {problem} in {describe_offenders(bad_ids, bad_values)}"
    if hint:
        msg += f". {hint}"
    raise CohortError(msg)


def parse_time(raw: Sequence[object], *, column: str, ids: Sequence[object], required: bool,
               factor: float = 1.0) -> np.ndarray:
    """Parse a time column; blank cells become NaN (allowed only if not ``required``).

    Times must be finite and strictly positive (after the study's time zero).

    Parameters
    ----------
    raw
        Raw cell values.
    column
        Column name for messages.
    ids
        Patient ids aligned with ``raw``.
    required
        Whether blank cells are an error.
    factor
        Multiplier applied after validation (a unit conversion, if a caller needs one).

    Returns
    -------
    numpy.ndarray
        Float array (times ``factor``), NaN where the cell was blank.

    Examples
    --------
    >>> parse_time(["1.5", ""], column="relapse", ids=["a", "b"], required=False)
    array([1.5, nan])
    """
    raw = list(raw)
    out = np.full(len(raw), np.nan)
    text_bad, blank = [], np.zeros(len(raw), dtype=bool)
    for i, value in enumerate(raw):
        if is_blank(value):  # "" in a CSV, NaN/None in a DataFrame: did not happen
            blank[i] = True
            continue
        if isinstance(value, bool | np.bool_):
            text_bad.append(i)
            continue
        if isinstance(value, str):
            try:
                out[i] = float(value.strip())
            except ValueError:
                text_bad.append(i)
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            text_bad.append(i)
    mask = np.zeros(len(raw), dtype=bool)
    mask[text_bad] = True
    raise_if_any(mask, column=column, problem="not a number", ids=ids, values=raw,
                 hint="Times must be plain numbers (no units or text)")
    if required:
        raise_if_any(blank, column=column, problem="missing value", ids=ids, values=raw)
    raise_if_any(np.isnan(out) & ~blank, column=column, problem="NaN is not allowed",
                 ids=ids, values=raw, hint="Leave the cell empty if the event did not happen")
    raise_if_any(np.isinf(out), column=column, problem="infinite time", ids=ids, values=raw)
    raise_if_any(out <= 0, column=column, problem="time must be > 0 (after time zero)",
                 ids=ids, values=raw)
    return out * factor


def parse_flag(raw: Sequence[object], *, column: str, ids: Sequence[object]) -> np.ndarray:
    """Parse a 0/1 indicator column; accepted: 0, 1, true, false (any case), booleans.

    Parameters
    ----------
    raw
        Raw cell values.
    column
        Column name for messages.
    ids
        Row identifiers aligned with ``raw``.

    Returns
    -------
    numpy.ndarray
        Integer array of 0/1.

    Examples
    --------
    >>> parse_flag(["1", "false", True], column="event", ids=[1, 2, 3])
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
        elif isinstance(value, int | float | np.integer | np.floating) and not is_blank(value) \
                and float(value) in (0.0, 1.0):
            out[i] = int(value)
        else:
            bad[i] = True
    raise_if_any(bad, column=column, problem="indicator must be 0, 1, true or false", ids=ids,
                 values=raw, hint="Other codes (e.g. 2 for a competing cause) are not accepted")
    return out


def read_table(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Read a CSV as strings (nothing parsed yet) or pass a DataFrame through.

    Raises :class:`CohortError` for a missing or empty file, or duplicate column names.
    """
    if isinstance(source, pd.DataFrame):
        if source.columns.duplicated().any():
            dup = sorted(set(source.columns[source.columns.duplicated()]))
            raise CohortError(f"duplicate column names: {dup}")
        return source.reset_index(drop=True)
    path = Path(source)
    if not path.is_file():
        raise CohortError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise CohortError(f"{path}: file is empty (expected a header row and one row per patient)")
    header = next(csv.reader(io.StringIO(text)))
    dup = sorted({name for name in header if header.count(name) > 1})
    if dup:
        raise CohortError(f"{path}: duplicate column names: {dup}")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)



def check_columns(frame: pd.DataFrame, required: tuple[str, ...], allowed_extra: set[str],
                   *, optional_prefix: str | None = None) -> None:
    columns = [str(c) for c in frame.columns]
    missing = [c for c in required if c not in columns]
    if missing:
        raise CohortError(f"missing required column(s) {missing}; the table has {columns}")
    extra = [c for c in columns if c not in required and c not in allowed_extra
             and not (optional_prefix and c.startswith(optional_prefix))]
    if extra:
        raise CohortError(
            f"unexpected column(s) {extra}; declare covariates explicitly "
            f"(covariates={{'name': 'numeric' or 'categorical'}}) or drop the columns")
    if len(frame) == 0:
        raise CohortError("the table has a header but no patients")



def check_ids(raw: pd.Series) -> np.ndarray:
    ids = raw.to_numpy(dtype=object)
    rows = list(range(2, len(ids) + 2))  # CSV line numbers (header is line 1)
    blank = np.array([is_blank(x) for x in ids])
    raise_if_any(blank, column="id", problem="missing id", ids=[f"line {r}" for r in rows])
    ids = np.array([str(x).strip() for x in ids], dtype=object)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    raise_if_any(dup, column="id", problem="duplicate id", ids=list(ids))
    return ids



def check_arms(raw: pd.Series, ids: np.ndarray, arms: tuple[str, str]) -> np.ndarray:
    if (not isinstance(arms, tuple | list) or len(arms) != 2 or arms[0] == arms[1]
            or not all(isinstance(a, str) and a for a in arms)):
        raise CohortError(
            f"arms: expected two distinct labels (reference, treatment), got {arms!r}")
    labels = np.array(["" if is_blank(x) else str(x).strip() for x in raw], dtype=object)
    raise_if_any(~np.isin(labels, list(arms)), column="arm", problem="unknown arm label",
                   ids=list(ids), values=list(labels), hint=f"Declared arms are {list(arms)}")
    empty = [a for a in arms if not (labels == a).any()]
    if empty:
        raise CohortError(f"column 'arm': declared arm(s) {empty} have no patients")
    return labels



def parse_covariates(frame: pd.DataFrame, covariates: Mapping[str, str], ids: list) -> dict:
    missing = [name for name in covariates if name not in frame.columns]
    if missing:
        raise CohortError(f"covariates: declared column(s) {missing} are not in the table")
    out = {}
    for name, kind in covariates.items():
        if kind not in COVARIATE_KINDS:
            raise CohortError(f"covariates[{name!r}]: kind must be one of {COVARIATE_KINDS}, "
                              f"got {kind!r}")
        raw = list(frame[name])
        blank = np.array([is_blank(x) for x in raw])
        raise_if_any(blank, column=name, problem="missing covariate value", ids=ids)
        if kind == "categorical":
            out[name] = [str(x).strip() for x in raw]
            continue
        values = np.full(len(raw), np.nan)
        bad = np.zeros(len(raw), dtype=bool)
        for i, x in enumerate(raw):
            try:
                values[i] = float(x.strip() if isinstance(x, str) else x)
            except (TypeError, ValueError):
                bad[i] = True
        bad |= ~np.isfinite(values)
        raise_if_any(bad, column=name, problem="not a finite number", ids=ids, values=raw)
        out[name] = values
    return out
