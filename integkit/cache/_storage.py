"""Where cached answers live: requests-cache's storages on the state backend, one safe format.

The mapping is requests-cache's ``SQLiteDict`` (its own table in the state's SQLite file) or
``RedisDict`` (keys ``integkit:<namespace>:<key>`` on the state's Redis), so the cache moves with
``ik.configure(state=...)`` like every other piece of shared state. Entries are written in a
format of our own (a JSON header and the raw body), never pickled, so a shared Redis cannot hand
a process an object to execute. Credential headers and secret query params are removed before an
entry is built (see :func:`CachedEntry.from_response`), and a body that contains a registered
secret is never stored.

requests-cache (and the ``requests`` it imports) loads on first use, not with ``import integkit``.
"""

from __future__ import annotations

import fnmatch
import re
import struct
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

from .._errors import ConfigError
from .._events import _secrets, redact
from .._memo import OncePerKey
from .._state import StateBackend, open_state
from ._keys import is_credential_header

__all__ = [
    "CachedEntry",
    "EntryStore",
    "cache_storage",
    "clear",
    "contains_secret",
    "invalidate",
    "loads_entry",
    "dumps_entry",
]

_MAGIC = b"IKC1"
_HEADER = struct.Struct(">4sI")
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
# Not worth keeping: they describe the transfer (the body is stored decoded) or the connection,
# or they are recomputed when the entry is served.
_NOT_STORED = frozenset({
    "content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive",
    "age", "proxy-connection", "upgrade", "trailer", "x-integkit-cache", "x-integkit-stale",
})
DEFAULT_RETAIN = 30 * 86400.0


@dataclass(frozen=True)  # not slots: requests-cache sets an attribute (and expects a refusal)
class CachedEntry:
    """One stored answer: decoded body, safe headers, freshness, and what it was for."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    created_at: float
    expires_at: float
    etag: str | None = None
    last_modified: str | None = None
    service: str = ""
    endpoint: str = ""
    url: str = ""
    method: str = "GET"
    vary: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_response(
        cls,
        response: httpx.Response,
        *,
        created_at: float,
        expires_at: float,
        service: str = "",
        endpoint: str = "",
        url: str = "",
        method: str = "GET",
        vary: tuple[tuple[str, str], ...] = (),
    ) -> CachedEntry:
        """An entry from a read response, keeping only the headers that are safe to store."""
        headers = safe_headers(response.headers)
        return cls(
            status=response.status_code, headers=headers, body=response.content,
            created_at=created_at, expires_at=expires_at,
            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
            service=service, endpoint=endpoint, url=url, method=method, vary=vary,
        )

    def refreshed(self, headers: httpx.Headers, *, now: float, expires_at: float) -> CachedEntry:
        """The entry after a 304: the new headers merged in, fresh again until ``expires_at``."""
        merged = dict(self.headers)
        merged.update(safe_headers(headers))
        return replace(
            self, headers=tuple(merged.items()), created_at=now, expires_at=expires_at,
            etag=headers.get("etag", self.etag),
            last_modified=headers.get("last-modified", self.last_modified),
        )

    # Read by requests-cache's storages: the SQLite ``expires`` column and the Redis TTL.
    @property
    def expires_unix(self) -> int:
        return int(self.expires_at)

    @property
    def expires_delta(self) -> int:
        return max(0, int(self.expires_at - self.created_at))


def safe_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    """Response headers minus credentials, cookies and transfer details; secrets masked."""
    return tuple(
        (name.lower(), redact(value)) for name, value in headers.multi_items()
        if name.lower() not in _NOT_STORED and not is_credential_header(name)
    )


def contains_secret(body: bytes) -> bool:
    """Whether a registered secret appears in ``body`` (such an answer is never stored)."""
    return any(secret.encode() in body for secret in tuple(_secrets))


def dumps_entry(entry: CachedEntry) -> bytes:
    """``IKC1`` + header length + JSON header + raw body: compact, and never executable."""
    meta = orjson.dumps({
        "status": entry.status, "headers": entry.headers, "created_at": entry.created_at,
        "expires_at": entry.expires_at, "etag": entry.etag,
        "last_modified": entry.last_modified, "service": entry.service,
        "endpoint": entry.endpoint, "url": entry.url, "method": entry.method,
        "vary": entry.vary,
    })
    return _HEADER.pack(_MAGIC, len(meta)) + meta + entry.body


def loads_entry(data: bytes) -> CachedEntry:
    """The entry in ``data``; ValueError when it is not one of ours."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ValueError("not an integkit cache entry")
    magic, size = _HEADER.unpack_from(data)
    if magic != _MAGIC or _HEADER.size + size > len(data):
        raise ValueError("not an integkit cache entry")
    meta = orjson.loads(data[_HEADER.size:_HEADER.size + size])
    try:
        return CachedEntry(
            status=int(meta["status"]),
            headers=tuple((str(k), str(v)) for k, v in meta["headers"]),
            body=data[_HEADER.size + size:],
            created_at=float(meta["created_at"]), expires_at=float(meta["expires_at"]),
            etag=meta.get("etag"), last_modified=meta.get("last_modified"),
            service=str(meta.get("service", "")), endpoint=str(meta.get("endpoint", "")),
            url=str(meta.get("url", "")), method=str(meta.get("method", "GET")),
            vary=tuple((str(k), str(v)) for k, v in meta.get("vary", ())),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed integkit cache entry: {exc}") from None


class EntryStore(MutableMapping[str, CachedEntry]):
    """A typed view of a requests-cache storage holding :class:`CachedEntry` values.

    Unreadable values (another format, a newer version) read as missing, keys are checked
    (requests-cache's SQLite reads splice the key into the SQL text).
    """

    def __init__(self, backend: Any, kind: str) -> None:
        self.backend = backend
        self.kind = kind

    @staticmethod
    def _check(key: str) -> str:
        if not _SAFE_KEY.match(key):
            raise KeyError(key)
        return key

    def __getitem__(self, key: str) -> CachedEntry:
        value = self.backend[self._check(key)]
        if not isinstance(value, CachedEntry):
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, entry: CachedEntry) -> None:
        self.backend[self._check(key)] = entry

    def __delitem__(self, key: str) -> None:
        del self.backend[self._check(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.backend.keys()))

    def __len__(self) -> int:
        return len(self.backend)

    def entries(self) -> Iterator[tuple[str, CachedEntry]]:
        """Every readable (key, entry)."""
        for key in self:
            try:
                yield key, self[key]
            except KeyError:
                continue

    def remove(self, keys: Iterable[str]) -> int:
        """Delete ``keys`` (missing ones ignored); how many were given."""
        keys = [self._check(k) for k in keys]
        if keys:
            self.backend.bulk_delete(keys)
        return len(keys)

    def clear(self) -> None:
        if self.kind == "sqlite":
            with self.backend.connection(commit=True) as con:
                con.execute(f"DELETE FROM {self.backend.table_name}")
        else:
            self.backend.clear()


_stores: OncePerKey[tuple[str, str], EntryStore] = OncePerKey()


def _serializer() -> Any:
    from requests_cache.serializers import SerializerPipeline, Stage

    return SerializerPipeline(
        [Stage(dumps=dumps_entry, loads=loads_entry)], name="integkit-entry", is_binary=True
    )


def _open_sqlite(state: StateBackend, table: str) -> Any:
    from requests_cache.backends.sqlite import SQLiteDict

    assert state.path is not None
    path = state.path

    class StateSQLiteDict(SQLiteDict):
        """SQLiteDict on exactly the state's file (requests-cache would add ``.sqlite``)."""

        def init_db(self) -> None:
            self.db_path = path
            super().init_db()  # type: ignore[no-untyped-call]

    return StateSQLiteDict(
        str(state.path), table_name=table, serializer=_serializer(), busy_timeout=30_000,
        wal=True,
    )


def _open_redis(state: StateBackend, namespace: str, retain: float | None) -> Any:
    from requests_cache.backends.redis import RedisDict

    class StateRedisDict(RedisDict):
        """RedisDict whose writes use ``SET ... EX`` (redis-py deprecates ``setex``)."""

        def __setitem__(self, key: str, item: CachedEntry) -> None:
            ttl = item.expires_delta + self.ttl_offset if self.ttl else 0
            self.connection.set(self._bkey(key), self.serialize(item), ex=ttl if ttl > 0 else None)

    return StateRedisDict(
        state.key(namespace), connection=state.redis(), serializer=_serializer(),
        ttl=retain is not None, ttl_offset=int(retain or 0),
    )


def cache_storage(
    state: StateBackend | str | None = None,
    namespace: str = "http_cache",
    *,
    retain: float | None = DEFAULT_RETAIN,
) -> EntryStore:
    """The cache's mapping on ``state`` (default: the configured state), one per process.

    ``retain``: how long Redis keeps an entry past its expiry, for stale-if-error and offline
    runs (None: until invalidated). SQLite keeps entries until they are invalidated.

    >>> store = cache_storage("sqlite:///tmp/doc.db")   # doctest: +SKIP
    >>> store[key] = entry                               # doctest: +SKIP
    """
    if not _SAFE_NAME.match(namespace):
        raise ConfigError(f"cache namespace {namespace!r} must be letters, digits and _")
    if not isinstance(state, StateBackend):
        state = open_state(state)

    def make() -> EntryStore:
        if state.kind == "sqlite":
            return EntryStore(_open_sqlite(state, namespace), "sqlite")
        return EntryStore(_open_redis(state, namespace, retain), "redis")

    return _stores.get((state.url, namespace), make)


def _matches(
    entry: CachedEntry, service: str | None, endpoint: str | None, url: str | None
) -> bool:
    return (
        (service is None or fnmatch.fnmatchcase(entry.service, service))
        and (endpoint is None or fnmatch.fnmatchcase(entry.endpoint, endpoint))
        and (url is None or fnmatch.fnmatchcase(entry.url, url))
    )


def invalidate(
    *,
    service: str | None = None,
    endpoint: str | None = None,
    url: str | None = None,
    state: StateBackend | str | None = None,
    namespace: str = "http_cache",
) -> int:
    """Remove the entries matching every filter given (each may be a glob); how many went.

    ``url`` is matched against the stored URL: normalized, query sorted, without credentials,
    e.g. ``"https://api.example.com/v1/charges*"``. No filter removes everything.

    >>> ik.cache.invalidate(service="billing", endpoint="charges.*")   # doctest: +SKIP
    3
    """
    store = cache_storage(state, namespace)
    if service is None and endpoint is None and url is None:
        return clear(state, namespace=namespace)
    doomed = [k for k, e in store.entries() if _matches(e, service, endpoint, url)]
    return store.remove(doomed)


def clear(state: StateBackend | str | None = None, *, namespace: str = "http_cache") -> int:
    """Remove every cached answer; how many there were."""
    store = cache_storage(state, namespace)
    count = len(store)
    store.clear()
    return count
