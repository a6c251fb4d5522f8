"""The one content-addressed store of computed results (posteriors, derived tables, figures).

An object is stored under the SHA-256 of everything it depends on (its *key*: a JSON-able
mapping such as the resolved spec part, the input data's hash, the sampler settings and the
package version), as a payload file ``<digest><suffix>`` and a sidecar ``<digest>.json``
that records the key, the payload's SHA-256 and size.  Both are written through
:mod:`bridgebayes.core.io` (temporary file, fsync, rename), the sidecar last, so an object
exists only when complete.  Every read verifies the checksum: a truncated, empty or foreign
payload is discarded with one :class:`StoreWarning` and recomputed by the caller, never
trusted.

Examples
--------
>>> store = Store(tmp_path / ".cache")  # doctest: +SKIP
>>> key = store.key(kind="table", name="ppc", fit="os__weibull__neutral")  # doctest: +SKIP
>>> table = store.table(key, compute=lambda: make_table())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bridgebayes.core.io import atomic_write_bytes, atomic_write_text, atomic_write_with

__all__ = ["FORMAT", "Store", "StoreWarning", "digest_of", "file_digest"]

#: Bumped whenever what the package stores changes shape, so older objects are recomputed.
FORMAT = 1


class StoreWarning(UserWarning):
    """A stored object failed its checksum (truncated, empty or foreign) and is recomputed."""


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        raise TypeError(f"store keys hold content hashes, not paths: {value}")
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()  # numpy scalars
    return value


def digest_of(key: Mapping[str, Any]) -> str:
    """SHA-256 of a key's canonical JSON (sorted keys, no whitespace).

    Examples
    --------
    >>> digest_of({"b": 1, "a": [1.5, "x"]}) == digest_of({"a": [1.5, "x"], "b": 1})
    True
    """
    text = json.dumps(_canonical(dict(key)), sort_keys=True, separators=(",", ":"),
                      allow_nan=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """A folder of checksummed objects addressed by the digest of their key.

    Parameters
    ----------
    root
        The store's folder (created on the first write).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.discarded: list[str] = []

    def key(self, **parts: Any) -> dict[str, Any]:
        """A key: ``parts`` plus the store format (package version: the caller's part)."""
        return {"store_format": FORMAT, **parts}

    def _paths(self, key: Mapping[str, Any], suffix: str) -> tuple[str, Path, Path]:
        digest = digest_of(key)
        return digest, self.root / f"{digest}{suffix}", self.root / f"{digest}.json"

    def get(self, key: Mapping[str, Any], suffix: str) -> Path | None:
        """The payload of ``key`` if it is stored and intact, else ``None`` (a damaged object
        is removed with a :class:`StoreWarning`)."""
        digest, payload, sidecar = self._paths(key, suffix)
        if not sidecar.is_file():
            return None
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            intact = (payload.is_file() and meta.get("digest") == digest
                      and meta.get("size") == payload.stat().st_size
                      and meta.get("sha256") == file_digest(payload))
        except (OSError, ValueError, UnicodeDecodeError):
            intact = False
        if intact:
            return payload
        warnings.warn(f"cached object {payload.name} is damaged (truncated, empty or foreign) "
                      "and is recomputed", StoreWarning, stacklevel=2)
        self.discarded.append(payload.name)
        for path in (sidecar, payload):
            path.unlink(missing_ok=True)
        return None

    def put(self, key: Mapping[str, Any], suffix: str, data: bytes) -> Path:
        """Store ``data`` under ``key``; returns the payload path."""
        digest, payload, sidecar = self._paths(key, suffix)
        atomic_write_bytes(payload, data)
        meta = {"digest": digest, "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "key": _canonical(dict(key))}
        atomic_write_text(sidecar, json.dumps(meta, indent=1, sort_keys=True, default=str))
        return payload

    def put_file(self, key: Mapping[str, Any], suffix: str,
                 write: Callable[[Path], None]) -> Path:
        """Store the file that ``write(path)`` writes (e.g. a NetCDF); returns its path."""
        digest, payload, sidecar = self._paths(key, suffix)
        atomic_write_with(payload, write)
        meta = {"digest": digest, "sha256": file_digest(payload), "size": payload.stat().st_size,
                "key": _canonical(dict(key))}
        atomic_write_text(sidecar, json.dumps(meta, indent=1, sort_keys=True, default=str))
        return payload

    def cached_bytes(self, key: Mapping[str, Any], suffix: str,
                     compute: Callable[[], bytes]) -> tuple[bytes, bool]:
        """The stored bytes of ``key``, or ``compute()`` stored under it; and whether they
        came from the store."""
        path = self.get(key, suffix)
        if path is not None:
            return path.read_bytes(), True
        data = compute()
        self.put(key, suffix, data)
        return data, False

    def table(self, key: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
        """A pandas table, Parquet in the store (exact round trip of floats and dtypes)."""
        import pandas as pd

        def parquet() -> bytes:
            buffer = io.BytesIO()
            compute().to_parquet(buffer, index=False)
            return buffer.getvalue()

        data, _ = self.cached_bytes(key, ".parquet", parquet)
        return pd.read_parquet(io.BytesIO(data))

    def tables(self, keys: Mapping[str, Mapping[str, Any]],
               compute: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
        """Several tables made by one computation: ``name -> key`` in, ``name -> table`` out,
        each from the store; ``compute()`` (``name -> table``) runs at most once, and only
        when one of them is missing."""
        made: list[Mapping[str, Any]] = []

        def one(name: str) -> Callable[[], Any]:
            def get() -> Any:
                if not made:
                    made.append(compute())
                return made[0][name]
            return get

        return {name: self.table(key, one(name)) for name, key in keys.items()}

    def json(self, key: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
        """A JSON-able value in the store."""
        data, _ = self.cached_bytes(key, ".json-value", lambda: json.dumps(
            compute(), sort_keys=True, default=str).encode("utf-8"))
        return json.loads(data)
