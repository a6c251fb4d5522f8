"""Error types raised by bridgebayes.

Every error about user input is a ``ValueError`` subclass so that callers who
only know the standard library can still catch it.  Messages name the column
or key, the offending ids/values (first few) and how many there are.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BridgeBayesError",
    "CohortError",
    "PublishedSummaryError",
    "ReconstructionError",
    "SpecError",
    "describe_offenders",
]


class BridgeBayesError(ValueError):
    """Base class for every input error bridgebayes raises."""


class CohortError(BridgeBayesError):
    """A patient-level table failed validation."""


class PublishedSummaryError(BridgeBayesError):
    """A published-summary file (``published.toml``) failed validation."""


class ReconstructionError(BridgeBayesError):
    """Pseudo-patient data could not be reconstructed from the given inputs."""


class SpecError(BridgeBayesError):
    """An analysis spec (``models/*.toml``) failed validation."""


def describe_offenders(ids: Sequence[object], values: Sequence[object] | None = None,
                       *, limit: int = 5, lines: Sequence[int] | None = None) -> str:
    """Describe offending rows as ``"3 rows, e.g. id=P1 (value -2), ..."``.

    Parameters
    ----------
    ids
        Identifiers of the offending rows (patient ids or row numbers).
    values
        The offending values, aligned with ``ids``; omitted when ``None``.
    limit
        How many examples to show.
    lines
        File line numbers of the rows, aligned with ``ids``; omitted when ``None``.

    Examples
    --------
    >>> describe_offenders(["P1", "P2"], [-1.0, 2])
    '2 rows, e.g. id=P1 (value -1.0), id=P2 (value 2)'
    >>> describe_offenders(["P1"], ["2_0"], lines=[3])
    "1 row, e.g. id=P1 (line 3, value '2_0')"
    """
    n = len(ids)
    shown = []
    for k, row_id in enumerate(ids[:limit]):
        details = [] if lines is None else [f"line {lines[k]}"]
        if values is not None:
            details.append(f"value {values[k]!r}")
        shown.append(f"id={row_id}" + (f" ({', '.join(details)})" if details else ""))
    more = f", … and {n - limit} more" if n > limit else ""
    noun = "row" if n == 1 else "rows"
    return f"{n} {noun}, e.g. " + ", ".join(shown) + more
