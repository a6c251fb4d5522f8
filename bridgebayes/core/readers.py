"""The one input boundary: every file bridgebayes reads goes through these readers.

Each reader turns what can go wrong with a file a user made — a missing file, a folder
where a file was expected, a text encoding other than UTF-8, a ragged CSV row, a number
written as ``2_0`` or ``inf`` — into a :class:`~bridgebayes.core.errors.BridgeBayesError`
(or the subclass the caller passes as ``error``) that names the file, and where it can the
line, the column and the value.  Nothing is coerced silently.

Text files are UTF-8, with or without a byte-order mark; anything else (UTF-16, Latin-1,
an Excel workbook) is refused with "re-save as UTF-8".  Numbers in CSV cells and on the
command line are parsed by :func:`parse_number`: plain decimal or scientific notation only.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bridgebayes.core.errors import BridgeBayesError

__all__ = [
    "CsvTable",
    "open_netcdf",
    "parse_number",
    "read_csv_table",
    "read_json",
    "read_text",
    "read_toml",
]

#: Plain decimal or scientific notation in ASCII digits, with an optional sign.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
EXCEL = " (in Excel: Save As 'CSV UTF-8')"
_FOREIGN_STARTS = (  # (first bytes, what the file is); UTF-32 before UTF-16 (same prefix)
    (codecs.BOM_UTF32_LE, "UTF-32 text"), (codecs.BOM_UTF32_BE, "UTF-32 text"),
    (codecs.BOM_UTF16_LE, "UTF-16 text"), (codecs.BOM_UTF16_BE, "UTF-16 text"),
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook, not a text file"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel/Office file, not a text file"),
)


def _existing_file(path: str | os.PathLike[str], what: str,
                   error: type[BridgeBayesError]) -> Path:
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a folder; expected a {what}")
    if not path.is_file():
        raise error(f"{path}: file not found (expected a {what})")
    return path


def _read_bytes(path: str | os.PathLike[str], what: str,
                error: type[BridgeBayesError]) -> tuple[Path, bytes]:
    path = _existing_file(path, what, error)
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _decode(path: Path, raw: bytes, what: str, error: type[BridgeBayesError]) -> str:
    resave = ("re-save it as UTF-8" + (EXCEL if "CSV" in what else "")
              + "; UTF-8 with a byte-order mark is fine too")
    for start, kind in _FOREIGN_STARTS:
        if raw.startswith(start):
            raise error(f"{path}: the {what} is {kind}; {resave}")
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise error(f"{path}: the {what} contains NUL bytes (first on line {line}): UTF-16 "
                    f"without a byte-order mark, or not a text file; {resave}")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(f"{path}: the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on "
                    f"line {line}, column {column}: probably Latin-1 or Windows-1252); "
                    f"{resave}") from None
    return text


def read_text(path: str | os.PathLike[str], *, what: str = "text file",
              error: type[BridgeBayesError] = BridgeBayesError) -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped).

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (``"cohort CSV"``, ``"spec"``).
    error
        The error class raised.

    Raises
    ------
    BridgeBayesError
        (``error``) for a missing file, a folder, an unreadable file, or text that is not
        UTF-8 (UTF-16, Latin-1, a workbook, NUL bytes), naming the file and, for a bad
        byte, its line and column.

    Examples
    --------
    >>> read_text("data/cao2025/cohort.csv", what="cohort CSV")[:7]  # doctest: +SKIP
    'id,arm,'
    """
    path, raw = _read_bytes(path, what, error)
    return _decode(path, raw, what, error)


def parse_number(text: str, *, where: str,
                 error: type[BridgeBayesError] = BridgeBayesError) -> float:
    """Parse a plain decimal or scientific number, strictly.

    Accepted: ASCII digits with an optional sign (``+`` or ``-``), decimal point and
    exponent, surrounded by optional spaces: ``12``, ``-3.5``, ``.5``, ``+2``, ``1e-3``.
    Refused, because a reader could take them for something else: ``_`` digit separators
    (Python reads ``2_0`` as 20), ``inf``, ``nan``, hexadecimal, decimal commas, non-ASCII
    digits, and values that overflow to infinity or underflow to zero.

    Parameters
    ----------
    text
        The text to parse.
    where
        Where the text comes from, for the message (``"cohort.csv, line 3, column
        'followup'"``, ``"--landmarks"``).
    error
        The error class raised.

    Returns
    -------
    float
        A finite number.

    Examples
    --------
    >>> parse_number(" 1.5e1", where="x")
    15.0
    >>> parse_number("2_0", where="cohort.csv, line 3")
    Traceback (most recent call last):
    ...
    bridgebayes.core.errors.BridgeBayesError: cohort.csv, line 3: '2_0' is not a plain number \
(no '_' digit separators)
    """
    if not isinstance(text, str):
        raise error(f"{where}: expected a number as text, got {text!r}")
    clean = text.strip()
    if not NUMBER.fullmatch(clean):
        raise error(f"{where}: {text!r} is not a plain number{_why_not(clean)}")
    value = float(clean)
    if not math.isfinite(value):
        raise error(f"{where}: {text!r} is too large (beyond the floating-point range)")
    mantissa = re.split("[eE]", clean)[0]
    if value == 0.0 and any(c in "123456789" for c in mantissa):
        raise error(f"{where}: {text!r} is too small (rounds to zero)")
    return value


def _why_not(clean: str) -> str:
    word = clean.lstrip("+-").lower()
    if word in ("nan", "inf", "infinity"):
        return " (not-a-number and infinity are not accepted)"
    if "_" in clean:
        return " (no '_' digit separators)"
    if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", clean):
        return " (use a decimal point, not a comma)"
    if word.startswith("0x"):
        return " (no hexadecimal)"
    return " (digits with an optional decimal point and exponent, no units or text)"


@dataclass(frozen=True)
class CsvTable:
    """A CSV file as raw text cells, before any parsing.

    Attributes
    ----------
    path
        The file.
    header
        Column names (surrounding spaces removed).
    rows
        One tuple of cell strings per data row, as long as the header.
    lines
        The 1-based line of the file on which each row starts.
    """

    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]

    def column(self, name: str) -> list[str]:
        """The cells of one column, in row order."""
        k = self.header.index(name)
        return [row[k] for row in self.rows]


def read_csv_table(path: str | os.PathLike[str], *, what: str = "CSV table",
                   error: type[BridgeBayesError] = BridgeBayesError) -> CsvTable:
    """Read a comma-separated UTF-8 file as raw cells with line numbers.

    Blank lines are skipped.  Every row must have as many fields as the header: a row
    with too many or too few fields is an error naming the file and the line (pandas
    would silently fill a short row with blanks, losing e.g. a death time).

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages.
    error
        The error class raised.

    Returns
    -------
    CsvTable

    Raises
    ------
    BridgeBayesError
        (``error``) for the problems of :func:`read_text`, an empty file, malformed
        quoting, blank or duplicate column names, and ragged rows.

    Examples
    --------
    >>> table = read_csv_table("data/cao2025/cohort.csv")  # doctest: +SKIP
    >>> table.header[:3], table.lines[0]  # doctest: +SKIP
    (('id', 'arm', 'followup'), 2)
    """
    path, raw = _read_bytes(path, what, error)
    text = _decode(path, raw, what, error)
    if not text.strip():
        raise error(f"{path}: the {what} is empty (expected a header row, then one row per "
                    "patient)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for record in reader:
            if any(cell.strip() for cell in record) or len(record) > 1:
                records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise error(f"{path}: line {start}: malformed CSV ({exc}); check the quotes from "
                    "that line on") from None
    (_, header), body = records[0], records[1:]
    return CsvTable(path, _header(path, header, what, error), *_rows(path, header, body, error))


def _header(path: Path, header: list[str], what: str,
            error: type[BridgeBayesError]) -> tuple[str, ...]:
    names = tuple(name.strip() for name in header)
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        sep = "semicolons" if ";" in names[0] else "tabs"
        raise error(f"{path}: the {what} is separated by {sep}; save it with commas as "
                    "separators (CSV)")
    blank = [k for k, name in enumerate(names, start=1) if not name]
    if blank:
        raise error(f"{path}: line 1: column(s) {blank} of the header have no name; name "
                    "them or delete the empty columns")
    dup = sorted({name for name in names if names.count(name) > 1})
    if dup:
        raise error(f"{path}: line 1: duplicate column names: {dup}")
    return names


def _rows(path: Path, header: list[str], body: list[tuple[int, list[str]]],
          error: type[BridgeBayesError]) -> tuple[tuple[tuple[str, ...], ...], tuple[int, ...]]:
    ragged = [(line, len(record)) for line, record in body if len(record) != len(header)]
    if ragged:
        line, n = ragged[0]
        hint = ("a missing cell: leave the cell empty between two commas, e.g. 'P1,a,12,,'"
                if n < len(header) else
                "a comma too many, or a comma inside a value that needs quotes")
        more = f" (and {len(ragged) - 1} more line(s))" if len(ragged) > 1 else ""
        raise error(f"{path}: line {line} has {n} field{'' if n == 1 else 's'} but the "
                    f"header has {len(header)}"
                    f"{more}: {hint}")
    return tuple(tuple(r) for _, r in body), tuple(line for line, _ in body)


def read_toml(path: str | os.PathLike[str],
              error: type[BridgeBayesError] = BridgeBayesError) -> tuple[bytes, dict]:
    """The raw bytes (for hashing) and the parsed table of a UTF-8 TOML file.

    Raises ``error`` naming the file for the problems of :func:`read_text`, for invalid TOML
    (with tomllib's line and column) and for an integer outside TOML's 64-bit range (the TOML
    standard requires an error there; tomllib accepts any size).

    Examples
    --------
    >>> raw, doc = read_toml("models/cao2025.toml")  # doctest: +SKIP
    >>> doc["analysis"]["id"]  # doctest: +SKIP
    'cao2025'
    """
    path, raw = _read_bytes(path, "TOML file", error)
    text = _decode(path, raw, "TOML file", error)
    try:
        doc = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, or an integer too long
        raise error(f"{path}: not valid TOML: {exc}") from None
    if huge := _huge_integers(doc):
        key, digits = huge[0][0], str(huge[0][1])
        shown = digits if len(digits) <= 30 else f"{digits[:12]}...({len(digits)} digits)"
        raise error(f"{path}: key {key!r}: integer {shown} is outside TOML's 64-bit range "
                    f"[-2^63, 2^63 - 1]")
    return raw, doc


def _huge_integers(node: object, key: str = "") -> list[tuple[str, int]]:
    """``(key, value)`` of every integer outside the signed 64-bit range, in document order."""
    if isinstance(node, dict):
        return [hit for k, v in node.items() for hit in _huge_integers(v, f"{key}.{k}" if key
                                                                       else str(k))]
    if isinstance(node, list):
        return [hit for i, v in enumerate(node) for hit in _huge_integers(v, f"{key}[{i}]")]
    if isinstance(node, int) and not isinstance(node, bool) and not -2**63 <= node < 2**63:
        return [(key, node)]
    return []


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file",
              error: type[BridgeBayesError] = BridgeBayesError) -> object:
    """The parsed content of a UTF-8 JSON file; ``NaN`` and ``Infinity`` are refused.

    Examples
    --------
    >>> read_json("data/cao2025/provenance.json")["converged"]  # doctest: +SKIP
    True
    """
    path = Path(path)
    text = read_text(path, what=what, error=error)

    def refuse(word: str) -> float:
        raise ValueError(f"non-finite number {word}")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}, column "
                    f"{exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{path}: not valid JSON ({exc})") from None


def open_netcdf(path: str | os.PathLike[str], *, what: str = "posterior file",
                error: type[BridgeBayesError] = BridgeBayesError):
    """Load an ArviZ ``InferenceData`` from a NetCDF file into memory.

    A missing, empty, truncated or foreign file (not NetCDF, or NetCDF without a
    ``posterior`` group) raises ``error`` naming the file instead of the OSError,
    ValueError or HDF5 error of the NetCDF libraries.  What to do about it (refit,
    discard) is the caller's decision.

    Returns
    -------
    arviz.InferenceData

    Examples
    --------
    >>> idata = open_netcdf("reports/cao2025/posteriors/os__weibull__neutral.nc")  # doctest: +SKIP
    """
    import arviz as az  # heavy: only the readers of posteriors need it

    path = _existing_file(path, what, error)
    if path.stat().st_size == 0:
        raise error(f"{path}: the {what} is empty (an interrupted write?)")
    try:
        idata = az.from_netcdf(str(path))
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{path}: not a readable {what} (truncated or not NetCDF: "
                    f"{reason})") from None
    if "posterior" not in idata.groups():
        raise error(f"{path}: not a {what}: the NetCDF file has no posterior group")
    return idata
