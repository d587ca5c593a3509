"""Cache storage: requests-cache's SQLiteDict / RedisDict holding our own safe entry format."""

from __future__ import annotations

import pickle

import httpx
import pytest

import integkit as ik
from integkit._state import open_state
from integkit.cache import CachedEntry, cache_storage, clear, invalidate
from integkit.cache._storage import dumps_entry, loads_entry, safe_headers

from . import redis_state, unique_namespace


def make(key: str = "a", **kw) -> CachedEntry:
    fields = dict(status=200, headers=(("content-type", "application/json"), ("etag", '"1"')),
                  body=b'{"ok": true}\x00\xff', created_at=100.0, expires_at=160.0, etag='"1"',
                  last_modified=None, service="svc", endpoint=f"{key}.list",
                  url=f"https://api.example.com/v1/{key}?limit=5", vary=(("x-tenant", "ab12"),))
    fields.update(kw)
    return CachedEntry(**fields)


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    namespace = unique_namespace()
    if request.param == "sqlite":
        state = open_state(f"sqlite:///{tmp_path}/s.db")
    else:
        state = redis_state()
    s = cache_storage(state, namespace)
    yield s
    s.clear()


def test_entry_format_roundtrips_and_is_not_pickle() -> None:
    e = make()
    data = dumps_entry(e)
    assert data.startswith(b"IKC1") and loads_entry(data) == e
    assert e.expires_unix == 160 and e.expires_delta == 60
    for junk in (b"", b"IKC1", pickle.dumps(e), b"IKC1\x00\x00\x00\x05[1,2]", b"garbage" * 9):
        with pytest.raises(ValueError):
            loads_entry(junk)


def test_safe_headers_drop_credentials_cookies_and_transfer_details() -> None:
    headers = httpx.Headers([
        ("Content-Type", "application/json"), ("Set-Cookie", "s=1"), ("Authorization", "x"),
        ("X-Session-Token", "t"), ("Content-Encoding", "gzip"), ("Content-Length", "9"),
        ("ETag", '"e"'), ("X-RateLimit-Remaining", "4999"), ("Age", "3"),
    ])
    assert safe_headers(headers) == (
        ("content-type", "application/json"), ("etag", '"e"'), ("x-ratelimit-remaining", "4999"))


def test_mapping_roundtrip(store) -> None:
    assert "k1" not in store and len(store) == 0
    store["k1"] = make("a")
    store["k2"] = make("b")
    assert store["k1"] == make("a") and len(store) == 2 and set(store) == {"k1", "k2"}
    del store["k1"]
    assert store.get("k1") is None and list(store) == ["k2"]
    with pytest.raises(KeyError):
        store["no'; DROP TABLE x; --"]  # keys are checked: SQLite reads splice them in


def test_invalidate_by_service_endpoint_and_url_glob(store) -> None:
    store["k1"] = make("charges")
    store["k2"] = make("customers")
    store["k3"] = make("charges", service="other", url="https://other.example/v1/charges")
    store["k4"] = make("events")
    where = _where(store)
    assert invalidate(service="svc", endpoint="charges.*", **where) == 1
    assert set(store) == {"k2", "k3", "k4"}
    assert invalidate(url="https://api.example.com/v1/cust*", **where) == 1
    assert set(store) == {"k3", "k4"}
    assert invalidate(service="nope", **where) == 0
    assert clear(**where) == 2 and len(store) == 0


def _where(store) -> dict:
    # The fixture's state and namespace, found back from the open storages.
    from integkit.cache._storage import _stores

    for (url, namespace), s in _stores.items():
        if s is store:
            return {"state": url, "namespace": namespace}
    raise AssertionError("store not registered")


def test_unreadable_values_read_as_missing(tmp_path) -> None:
    state = open_state(f"sqlite:///{tmp_path}/s.db")
    store = cache_storage(state, "http_cache")
    store["good"] = make()
    with state.sqlite() as con:
        con.execute("INSERT INTO http_cache (key, value, expires) VALUES ('bad', ?, NULL)",
                    (pickle.dumps({"x": 1}),))
    assert store.get("bad") is None and store["good"] == make()
    assert [k for k, _ in store.entries()] == ["good"]


def test_one_storage_per_state_and_namespace_on_the_state_file(tmp_path) -> None:
    state = open_state(f"sqlite:///{tmp_path}/nosuffix")
    a = cache_storage(state)
    assert cache_storage(f"sqlite:///{tmp_path}/nosuffix") is a
    assert cache_storage(state, "other_ns") is not a
    a["k"] = make()
    assert not (tmp_path / "nosuffix.sqlite").exists()
    tables = {r[0] for r in state.connection().execute("SELECT name FROM sqlite_master")}
    assert {"http_cache", "other_ns"} <= tables


def test_namespace_must_be_an_identifier(tmp_path) -> None:
    with pytest.raises(ik.ConfigError, match="namespace"):
        cache_storage(f"sqlite:///{tmp_path}/s.db", "bad-name; --")
