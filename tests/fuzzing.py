"""Hypothesis strategies that mutate the shipped input files the way a careless user would,
and an independent oracle for what a loader may have read from a mutated CSV.

A mutation is a handful of edits of the shipped text (a cell replaced by a nasty value, a
cell or column added or removed, a row duplicated, a header renamed, the file truncated,
blank lines, Windows line ends), then an encoding (mostly UTF-8; also with a byte-order
mark, UTF-16/32, Latin-1, Windows-1252).  ``published.toml`` is also mutated as a parsed
document (keys deleted, added or given values of other types and extreme numbers) and
written back with tomli_w.
"""

from __future__ import annotations

import codecs
import copy
import csv
import datetime
import io
import math
import re
import tomllib

import numpy as np
import tomli_w
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Examples per property: (default suite, ``-m slow``).
FAST, SLOW = "fast", "slow"


def profile(n_fast: int, n_slow: int, kind: str) -> settings:
    """Deterministic in the default suite (same examples in CI), random when slow."""
    return settings(max_examples=n_fast if kind == FAST else n_slow, deadline=None,
                    database=None, derandomize=kind == FAST, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


#: Cell values a user or a spreadsheet might leave in a numeric or label column.
NASTY = ["", " ", "2_0", "1_000", "inf", "-inf", "Infinity", "nan", "NaN", "NA", "null", "-1",
         "0", "-0", "0.0", "1e400", "-1e400", "1e-400", "1e308", "1e-300", "0x1A", "12,5",
         "\u0661\u0662", "\uff11\uff12", "+3", " 7 ", "1.5e1", "1.", ".5", "12 months", "abc",
         '"', '"x"', "'5'", "true", "false", "TRUE", "2", "1.0", "yes", "CAR-T",
         "blinatumomab", "car-t", "P001", "9" * 400, "1" + "0" * 30, "é", "\t", "\x00", "\r",
         "\n", ",", "1,2", "=1+1", "3.4028235e38", "5e-324", "1e1200"]
CELL = st.one_of(st.sampled_from(NASTY), st.text(max_size=6),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(-10**6, 10**6).map(str))
ENCODINGS = ["utf-8"] * 12 + ["utf-8-sig", "utf-8-sig", "utf-16", "utf-16-le", "utf-32",
                             "latin-1", "cp1252"]


def _encode(draw, text: str) -> bytes:
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding != "utf-8" and draw(st.booleans()):
        text = text.replace("P0", "Pé", 1)  # a non-ASCII character, so the bytes differ
    return text.encode(encoding, errors="replace")


def _edit_rows(draw, rows: list[list[str]]) -> None:
    """One edit of the table, in place."""
    op = draw(st.sampled_from(["cell"] * 8 + ["reformat"] * 4 + [
        "drop_cell", "add_cell", "drop_column", "add_column", "rename_column", "duplicate_row",
        "drop_row", "blank_row", "drop_header"]))
    r = draw(st.integers(0, len(rows) - 1))
    if op == "cell" and rows[r]:
        rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(CELL)
    elif op == "reformat" and rows[r]:  # the same number written another plain way
        k = draw(st.integers(0, len(rows[r]) - 1))
        if NUMBER.fullmatch(rows[r][k]):
            rows[r][k] = _reformat(draw, rows[r][k])
    elif op == "drop_cell" and rows[r]:
        rows[r].pop(draw(st.integers(0, len(rows[r]) - 1)))
    elif op == "add_cell":
        rows[r].insert(draw(st.integers(0, len(rows[r]))), draw(CELL))
    elif op in ("drop_column", "add_column", "rename_column") and rows[0]:
        k = draw(st.integers(0, len(rows[0]) - 1))
        for row in rows:
            if op == "drop_column" and k < len(row):
                row.pop(k)
            elif op == "add_column":
                row.insert(k, draw(CELL) if row is not rows[0] else draw(
                    st.sampled_from(["age", "relapse", "id", "", "event", "x"])))
        if op == "rename_column":
            rows[0][k] = draw(st.sampled_from(["ID", " id", "death ", "duration", "", "arm",
                                               "followup", "infection_cmv", "agvhd24"]))
    elif op == "duplicate_row":
        rows.insert(r, list(rows[r]))
    elif op == "drop_row" and len(rows) > 1:
        rows.pop(r)
    elif op == "blank_row":
        rows.insert(r, [])
    elif op == "drop_header":
        rows.pop(0)


def _reformat(draw, cell: str) -> str:
    form = draw(st.sampled_from(["+", "spaces", "zero", "exponent", "leading"]))
    return {"+": f"+{cell}", "spaces": f"  {cell} ", "zero": f"{cell}0" if "." in cell else
            f"{cell}.0", "exponent": f"{float(cell) * 10:.15g}e-1", "leading": f"0{cell}"}[form]


@st.composite
def mutated_csv(draw, text: str) -> bytes:
    """The bytes of a mutated copy of the CSV ``text`` (which has no quoted cells)."""
    if draw(st.integers(0, 40)) == 0:
        return draw(st.sampled_from([b"", b"\n", b"\xef\xbb\xbf", b"PK\x03\x04\x00\x00"]))
    rows = [line.split(",") for line in text.splitlines()]
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        if rows:
            _edit_rows(draw, rows)
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    out = newline.join(",".join(row) for row in rows) + draw(st.sampled_from([newline, ""]))
    if draw(st.integers(0, 10)) == 0:  # cut short (an interrupted copy), near either end
        cut = draw(st.integers(0, len(out)))
        out = out[:cut if draw(st.booleans()) else len(out) - cut]
    return _encode(draw, out)


def _paths(doc: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in doc.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += _paths(value, (*prefix, key))
    return out


TOML_VALUE = st.one_of(
    st.sampled_from([0, 1, -1, 2, 10**30, -10**30, 0.0, -0.0, 2.0, 100.5, -0.5, 1e308,
                     math.inf, -math.inf, math.nan, True, False, "", " ", "blinatumomab",
                     "CAR-T", "pooled", "log-rank", "gray", "months", "years", "2017-03",
                     "2023-13", "March 2017", [], [1, 2], {}, {"x": 1},
                     datetime.date(2017, 3, 1)]),
    st.floats(allow_nan=True), st.integers(-10**20, 10**20), st.text(max_size=6))


def _relabel(value, new: str, *, everywhere: bool, draw):
    """``value`` with the label "blinatumomab" (as key or value) renamed to ``new``."""
    def rename(x):
        return new if x == "blinatumomab" and (everywhere or draw(st.booleans())) else x

    if isinstance(value, dict):
        return {rename(k): _relabel(v, new, everywhere=everywhere, draw=draw)
                for k, v in value.items()}
    return rename(value) if isinstance(value, str) else value


@st.composite
def mutated_published(draw, text: str) -> bytes:
    """The bytes of a mutated ``published.toml``: document edits, then text edits."""
    doc = copy.deepcopy(tomllib.loads(text))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        op = draw(st.sampled_from(["set", "set", "delete", "add", "relabel"]))
        path = draw(st.sampled_from(paths)) if paths else ("x",)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if op == "set":
            parent[path[-1]] = draw(TOML_VALUE)
        elif op == "delete":
            parent.pop(path[-1], None)
        elif op == "add":
            target = parent if isinstance(parent, dict) else doc
            target[draw(st.sampled_from(["extra", "pooled", "p_value", "test", "CAR-T", "n"]))] \
                = draw(TOML_VALUE)
        else:  # an arm relabelled in some places only, or everywhere
            new = draw(st.sampled_from(["blina", "CAR-T ", "pooled", "Blinatumomab", "CAR-T"]))
            doc = _relabel(doc, new, everywhere=draw(st.booleans()), draw=draw)
    out = tomli_w.dumps(doc)
    if draw(st.integers(0, 12)) == 0:
        out = out[:draw(st.integers(0, len(out)))]
    return _encode(draw, out)


NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def reread(raw: bytes) -> list[dict[str, str]]:
    """An independent reading of a CSV a loader accepted: UTF-8 (BOM allowed), rows as
    dicts of stripped header -> cell, blank lines skipped."""
    text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")  # a loader accepted it
    records = [r for r in csv.reader(io.StringIO(text, newline=""))
               if any(c.strip() for c in r) or len(r) > 1]
    header = [h.strip() for h in records[0]]
    assert all(len(r) == len(header) for r in records[1:]), "a ragged row was accepted"
    return [dict(zip(header, r, strict=True)) for r in records[1:]]


def assert_read_exactly(cells: list[str], values: np.ndarray, factor: float) -> None:
    """Every accepted time is a plain number in the file, read exactly; blanks are NaN."""
    assert len(cells) == len(values)
    for cell, value in zip(cells, values, strict=True):
        if not cell.strip():
            assert np.isnan(value), (cell, value)
            continue
        assert NUMBER.fullmatch(cell.strip()), f"accepted a time written {cell!r}"
        expected = float(cell.strip()) * factor
        assert math.isfinite(value) and 0 < value <= 1200 * 30.4375
        assert value == expected, (cell, value, expected)
