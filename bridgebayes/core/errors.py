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
                       *, limit: int = 5) -> str:
    """Describe offending rows as ``"3 rows, e.g. id=P1 (value -2), ..."``.

    Parameters
    ----------
    ids
        Identifiers of the offending rows (patient ids or row numbers).
    values
        The offending values, aligned with ``ids``; omitted when ``None``.
    limit
        How many examples to show.

    Examples
    --------
    >>> describe_offenders(["P1", "P2"], [-1.0, 2])
    '2 rows, e.g. id=P1 (value -1.0), id=P2 (value 2)'
    """
    n = len(ids)
    shown = []
    for k, row_id in enumerate(ids[:limit]):
        if values is None:
            shown.append(f"id={row_id}")
        else:
            shown.append(f"id={row_id} (value {values[k]!r})")
    more = f", … and {n - limit} more" if n > limit else ""
    noun = "row" if n == 1 else "rows"
    return f"{n} {noun}, e.g. " + ", ".join(shown) + more
