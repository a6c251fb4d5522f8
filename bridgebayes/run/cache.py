"""Cache of tables derived from cached posteriors (model checks, sensitivity analyses).

A warm run (posteriors unchanged) should not recompute what follows from them alone.  A table
is stored as Parquet (exact round trip of floats and dtypes) beside the posterior cache,
under a key hashed from everything it depends on: the bytes of its input files (posterior
NetCDF, cohorts), the spec's hash and :data:`FORMAT`.  Any change → recomputed.  Writes are
atomic; a corrupt or foreign file is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from bridgebayes.core.io import atomic_write_bytes

__all__ = ["FORMAT", "cached_table"]

#: Bumped whenever the definition of a derived table changes.
FORMAT = 2


def _key(parts: Iterable[str | Path]) -> str:
    digest = hashlib.sha256(f"format={FORMAT}".encode())
    for part in parts:
        if isinstance(part, Path):
            digest.update(part.read_bytes())
        else:
            digest.update(str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cached_table(folder: Path | None, name: str, depends_on: Iterable[str | Path],
                 compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()``, or its stored result if nothing it depends on has changed.

    Parameters
    ----------
    folder
        Cache folder (``None``: always compute).
    name
        File stem of the stored table.
    depends_on
        Files (their content is hashed) and strings (hashed as text).
    compute
        Builds the table.
    """
    if folder is None:
        return compute()
    key = _key(depends_on)
    path = Path(folder) / f"{name}.parquet"
    if path.is_file():
        try:
            stored = pd.read_parquet(path)
            if stored.attrs.get("bridgebayes_key") == key:
                stored.attrs = {}
                return stored
        except (OSError, ValueError):
            pass  # unreadable: recompute
    table = compute()
    out = table.copy()
    out.attrs = {"bridgebayes_key": key}
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())
    return table
