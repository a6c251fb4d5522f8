"""The content-addressed store: keys, checksums, damaged objects discarded and recomputed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bridgebayes.core.store import FORMAT, Store, StoreWarning, digest_of, file_digest


def counted(value):
    """A compute function returning ``value`` and counting its calls (``.calls``)."""
    def compute():
        compute.calls += 1
        return value
    compute.calls = 0
    return compute


def test_digest_is_independent_of_key_order_and_changes_with_any_value():
    a = {"kind": "fit", "options": {"a0": 0.1, "n": 4}, "seed": 3, "files": ["x", "y"]}
    b = {"seed": 3, "files": ["x", "y"], "options": {"n": 4, "a0": 0.1}, "kind": "fit"}
    assert digest_of(a) == digest_of(b)
    assert len(digest_of(a)) == 64 and int(digest_of(a), 16) >= 0
    for changed in ({**a, "seed": 4}, {**a, "options": {"a0": 0.1, "n": 5}},
                    {**a, "files": ["y", "x"]}, {**a, "extra": None}):
        assert digest_of(changed) != digest_of(a)
    # numpy scalars are their Python values; a tuple is a list
    assert digest_of({"seed": np.int64(3), "t": (1.0, 2.0)}) == digest_of({"seed": 3,
                                                                          "t": [1.0, 2.0]})


def test_a_path_in_a_key_is_refused():
    with pytest.raises(TypeError, match="content hashes, not paths"):
        digest_of({"file": Path("data/cohort.csv")})


def test_key_carries_the_store_format(tmp_path):
    key = Store(tmp_path).key(kind="ppc", fit="abc")
    assert key == {"store_format": FORMAT, "kind": "ppc", "fit": "abc"}


def test_put_get_round_trip_with_sidecar(tmp_path):
    store = Store(tmp_path / ".bridgebayes-cache")
    key = store.key(kind="blob", n=1)
    assert store.get(key, ".bin") is None  # nothing stored yet, no warning
    path = store.put(key, ".bin", b"payload bytes")
    digest = digest_of(key)
    assert path == tmp_path / ".bridgebayes-cache" / f"{digest}.bin"
    assert store.get(key, ".bin") == path and path.read_bytes() == b"payload bytes"
    meta = json.loads((tmp_path / ".bridgebayes-cache" / f"{digest}.json").read_text())
    assert meta == {"digest": digest, "sha256": file_digest(path), "size": 13,
                    "key": {"kind": "blob", "n": 1, "store_format": FORMAT}}
    assert sorted(p.name for p in (tmp_path / ".bridgebayes-cache").iterdir()) == [f"{digest}.bin",
                                                                       f"{digest}.json"]


def test_cached_bytes_computes_once_and_says_where_they_came_from(tmp_path):
    store = Store(tmp_path)
    compute = counted(b"abc")
    assert store.cached_bytes(store.key(k=1), ".b", compute) == (b"abc", False)
    assert store.cached_bytes(store.key(k=1), ".b", compute) == (b"abc", True)
    assert compute.calls == 1
    assert store.cached_bytes(store.key(k=2), ".b", compute) == (b"abc", False)  # another key
    assert compute.calls == 2


def test_table_round_trips_floats_and_dtypes_exactly(tmp_path):
    frame = pd.DataFrame({"x": [0.1 + 0.2, 1 / 3, np.nan, np.inf], "flag": [True, False] * 2,
                          "n": np.arange(4, dtype=np.int64), "s": ["a", "", "b", "c"]})
    store = Store(tmp_path)
    compute = counted(frame)
    first = store.table(store.key(kind="t"), compute)
    second = store.table(store.key(kind="t"), compute)
    assert compute.calls == 1
    for got in (first, second):
        pd.testing.assert_frame_equal(got, frame, check_exact=True)


def test_tables_of_one_computation_compute_once_and_only_when_one_is_missing(tmp_path):
    store, calls = Store(tmp_path / "store"), []

    def compute():
        calls.append(1)
        return {"a": pd.DataFrame({"x": [1.0, 2.0]}), "b": pd.DataFrame({"y": ["u"]})}

    keys = {n: store.key(kind=f"pair.{n}", v=1) for n in ("a", "b")}
    first = store.tables(keys, compute)
    assert len(calls) == 1 and list(first) == ["a", "b"]
    pd.testing.assert_frame_equal(first["a"], compute()["a"])
    calls.clear()
    again = store.tables(keys, compute)
    assert calls == []                                    # both stored: nothing computed
    pd.testing.assert_frame_equal(again["b"], first["b"])
    keys["b"] = store.key(kind="pair.b", v=2)             # one missing: one computation
    store.tables(keys, compute)
    assert len(calls) == 1


def test_json_values_round_trip(tmp_path):
    store = Store(tmp_path)
    value = {"passed": True, "notes": ["a", "b"], "ess": 512.5}
    compute = counted(value)
    assert store.json(store.key(kind="j"), compute) == value
    assert store.json(store.key(kind="j"), compute) == value
    assert compute.calls == 1


def _damage_truncate(payload: Path, sidecar: Path) -> None:
    payload.write_bytes(payload.read_bytes()[:3])


def _damage_empty(payload: Path, sidecar: Path) -> None:
    payload.write_bytes(b"")


def _damage_foreign_same_size(payload: Path, sidecar: Path) -> None:
    payload.write_bytes(b"X" * payload.stat().st_size)  # same size, other bytes


def _damage_sidecar_garbage(payload: Path, sidecar: Path) -> None:
    sidecar.write_text("{not json")


def _damage_sidecar_of_another_key(payload: Path, sidecar: Path) -> None:
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "digest": "0" * 64}))


def _damage_payload_missing(payload: Path, sidecar: Path) -> None:
    payload.unlink()


DAMAGES = [_damage_truncate, _damage_empty, _damage_foreign_same_size, _damage_sidecar_garbage,
           _damage_sidecar_of_another_key, _damage_payload_missing]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__.removeprefix("_damage_")
                                                 for d in DAMAGES])
def test_a_damaged_object_is_discarded_with_one_warning_and_recomputed(tmp_path, damage):
    store = Store(tmp_path)
    key = store.key(kind="t")
    frame = pd.DataFrame({"x": [1.5, 2.5, 3.5]})
    store.table(key, lambda: frame)
    digest = digest_of(key)
    payload, sidecar = tmp_path / f"{digest}.parquet", tmp_path / f"{digest}.json"
    damage(payload, sidecar)
    compute = counted(frame)
    with pytest.warns(StoreWarning, match=rf"{digest}\.parquet is damaged") as record:
        again = store.table(key, compute)
    assert len(record) == 1 and compute.calls == 1
    pd.testing.assert_frame_equal(again, frame)
    assert store.discarded == [f"{digest}.parquet"]
    # the recomputed object is stored intact: the next read is silent and computes nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(store.table(key, compute), frame)
    assert compute.calls == 1


def test_a_payload_without_sidecar_is_not_an_object(tmp_path):
    """The sidecar is written last: a payload alone (a kill between the two writes) is
    ignored without a warning and overwritten."""
    store = Store(tmp_path)
    key = store.key(kind="b")
    (tmp_path / f"{digest_of(key)}.b").write_bytes(b"half")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.get(key, ".b") is None
        assert store.cached_bytes(key, ".b", lambda: b"whole") == (b"whole", False)
    assert store.get(key, ".b").read_bytes() == b"whole"


def test_put_file_stores_what_the_writer_writes(tmp_path):
    store = Store(tmp_path / "s")
    key = store.key(kind="nc", fit="abc")
    path = store.put_file(key, ".nc", lambda p: p.write_bytes(b"netcdf bytes"))
    assert path.name == f"{digest_of(key)}.nc" and path.read_bytes() == b"netcdf bytes"
    assert store.get(key, ".nc") == path
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sha256"] == file_digest(path) and meta["size"] == 12


def test_an_interrupted_put_file_leaves_nothing(tmp_path):
    store = Store(tmp_path)
    key = store.key(kind="nc")

    def writer(path: Path) -> None:
        path.write_bytes(b"partial")
        raise KeyboardInterrupt  # as if the run were stopped while writing

    with pytest.raises(KeyboardInterrupt):
        store.put_file(key, ".nc", writer)
    assert list(tmp_path.iterdir()) == []  # no payload, no sidecar, no temporary file
    assert store.get(key, ".nc") is None


def test_objects_are_shared_by_stores_on_the_same_folder(tmp_path):
    """Content addressing: a copied or reopened folder serves the same objects."""
    Store(tmp_path / "a").put({"k": 1}, ".b", b"v")
    assert Store(tmp_path / "a").get({"k": 1}, ".b").read_bytes() == b"v"
    import shutil

    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert Store(tmp_path / "b").get({"k": 1}, ".b").read_bytes() == b"v"
