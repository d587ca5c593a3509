"""ParquetCache: a whole Result on disk, atomic, with its age in the Parquet metadata."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from integkit._events import register_secret
from integkit._results._parquet_cache import ParquetCache

from . import Clock


def table(n: int = 3) -> pa.Table:
    return pa.table({"id": [f"ch_{i}" for i in range(n)], "amount": list(range(n))})


def test_roundtrip_with_metadata(tmp_path) -> None:
    clock = Clock()
    cache = ParquetCache(tmp_path / "results", clock=clock)
    assert cache.get("stripe-charges-abc") is None
    path = cache.put("stripe-charges-abc", table(), {"service": "stripe", "params": {"limit": 3}})
    assert path == tmp_path / "results" / "stripe-charges-abc.parquet"
    assert cache.get("stripe-charges-abc").equals(table())
    info = cache.meta("stripe-charges-abc")
    assert info["created_at"] == clock.now and info["meta"]["service"] == "stripe"
    raw = pq.read_schema(path).metadata[b"integkit"]
    assert json.loads(raw)["fingerprint"] == "stripe-charges-abc"
    assert os.listdir(tmp_path / "results") == ["stripe-charges-abc.parquet"]  # no temp left


def test_max_age(tmp_path) -> None:
    clock = Clock()
    cache = ParquetCache(tmp_path, clock=clock)
    cache.put("fp", table(), {})
    clock.advance(100)
    assert cache.get("fp", max_age=100) is not None
    assert cache.get("fp", max_age=99.5) is None
    assert cache.get("fp", max_age=None) is not None  # any age
    cache.put("fp", table(5), {})  # replaced: young again
    assert cache.get("fp", max_age=1).num_rows == 5


def test_unsafe_fingerprints_become_digests(tmp_path) -> None:
    cache = ParquetCache(tmp_path)
    fp = "stripe:charges:{'created': {'gte': '2024-01-01'}}/../../x"
    path = cache.put(fp, table(), {})
    assert path.parent == tmp_path and ":" not in path.name and len(path.stem) == 32
    assert cache.get(fp).num_rows == 3 and cache.get("other") is None


def test_pandas_metadata_survives(tmp_path) -> None:
    frame = pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key"))
    cache = ParquetCache(tmp_path)
    cache.put("df", pa.Table.from_pandas(frame), {})
    assert cache.get("df").to_pandas().equals(frame)


def test_invalidate_one_or_all(tmp_path) -> None:
    cache = ParquetCache(tmp_path)
    for fp in ("a", "b", "c"):
        cache.put(fp, table(), {})
    assert cache.invalidate("a") == 1 and cache.invalidate("a") == 0
    assert cache.get("a") is None and cache.get("b") is not None
    assert cache.invalidate() == 2 and cache.get("b") is None
    assert ParquetCache(tmp_path / "none").invalidate() == 0


def test_a_damaged_file_is_a_miss(tmp_path) -> None:
    cache = ParquetCache(tmp_path)
    cache.put("fp", table(), {})
    cache.path("fp").write_bytes(b"PAR1 not really")
    assert cache.get("fp") is None


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch) -> None:
    cache = ParquetCache(tmp_path)
    cache.put("fp", table(), {})

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        cache.put("fp", table(9), {})
    assert sorted(os.listdir(tmp_path)) == ["fp.parquet"] and cache.get("fp").num_rows == 3


def test_registered_secrets_are_masked_in_the_metadata(tmp_path) -> None:
    register_secret("sk_parquet_meta_0001")
    cache = ParquetCache(tmp_path)
    path = cache.put("fp", table(), {"api_key": "sk_parquet_meta_0001"})
    assert b"sk_parquet_meta_0001" not in path.read_bytes()
