"""The HTTP cache as a transport layer: answer from storage, revalidate, degrade to stale.

Sits outside retry, breaker and failover (see ``http/_pipeline.py``), so a hit costs no
rate-limit token, no quota and no attempt; it is still reported as a ``CallEvent`` with
``cached=True`` and ``attempt=0`` so usage ledgers count free calls. The decisions are the pure
functions of :mod:`._policy`; this module only carries them out, written once as a flow (see
``http/_layer.py``) for sync and async clients.

>>> transport = CacheTransport(httpx.HTTPTransport(), CacheSettings(default_ttl=300),
...                            cache_storage("sqlite:///tmp/doc.db"))   # doctest: +SKIP
>>> client = httpx.Client(transport=transport)                          # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from .._config import get_settings
from .._errors import ApiError, NetworkError, QuotaExceededError
from .._events import CallEvent, emit, logger
from .._http import (
    BufferedLayer,
    CallTrace,
    Outcome,
    classified_failure,
    malformed_json,
    settle,
    trace_of,
)
from ._keys import (
    cache_key,
    is_credential_header,
    is_neutral_header,
    redacted_url,
    vary_digests,
)
from ._policy import (
    Action,
    CacheDecision,
    CacheSettings,
    RequestInfo,
    cacheable,
    decide,
    expiry,
)
from ._storage import CachedEntry, cache_storage, contains_secret

__all__ = ["CacheTransport"]

Storage = MutableMapping[str, CachedEntry]
_Flow = Generator[httpx.Request, Outcome, httpx.Response]
# Vary names meaningless for a decoded body: nothing to pin.
_UNPINNED = frozenset({"accept-encoding"})


def _degradable(error: Exception) -> bool:
    """Failures a stale answer may stand in for: the network, an open circuit, a client-side
    rate limit or a spent quota; never a request the service rejected."""
    if isinstance(error, httpx.TransportError | QuotaExceededError):
        return True
    return isinstance(error, ApiError) and error.transient


@dataclass(slots=True)
class _Call:
    """One request's cache context, prepared before anything is sent."""

    request: httpx.Request
    trace: CallTrace
    info: RequestInfo
    identity: str
    key: str | None
    decision: CacheDecision
    started: float


class CacheTransport(BufferedLayer):
    """An HTTP cache in front of ``inner``.

    Args:
        inner: the next transport (retry, breaker, ... or plain HTTP).
        settings: TTLs, stale-if-error, offline, revalidation (:class:`CacheSettings`).
        storage: a mapping of key -> :class:`CachedEntry` (see :func:`cache_storage`), a
            zero-argument callable returning one (opened on first use), or None for the
            configured state's cache.
        clock: wall-clock seconds; injected in tests.
        identity: whose credentials the layers below apply (see :func:`auth_identity`), so
            answers for different credentials never share an entry; a callable when it can
            change (an OAuth login replaced by someone else's): read for every call, and an
            answer is only stored if it is still the same once the answer is in.
    """

    def __init__(
        self,
        inner: Any,
        settings: CacheSettings | None = None,
        storage: Storage | Callable[[], Storage] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        identity: str | Callable[[], str] = "",
    ) -> None:
        super().__init__(inner)
        self.settings = settings or CacheSettings()
        self._storage = storage
        self.clock = clock
        self.identity = identity

    # -- storage, never allowed to break a call ---------------------------------------------
    @property
    def storage(self) -> Storage:
        """The mapping, opened on first use."""
        if self._storage is None:
            self._storage = cache_storage()
        elif not isinstance(self._storage, MutableMapping):
            self._storage = self._storage()
        return self._storage

    def _load(self, key: str) -> CachedEntry | None:
        try:
            return self.storage.get(key)
        except Exception as exc:  # noqa: BLE001 - sqlite3/redis errors: a cache is never fatal
            logger.warning("integkit: cache read failed (%r); calling the service", exc)
            return None

    def _save(self, key: str, entry: CachedEntry | None) -> None:
        try:
            if entry is None:
                self.storage.pop(key, None)
            else:
                self.storage[key] = entry
        except Exception as exc:  # noqa: BLE001 - a cache that cannot write is only slower
            logger.warning("integkit: cache write failed (%r); the answer was not cached", exc)

    # -- preparing a call ---------------------------------------------------------------------
    def _identity(self) -> str:
        return self.identity() if callable(self.identity) else self.identity

    def _key(self, request: httpx.Request, identity: str) -> str | None:
        s = self.settings
        try:
            return cache_key(
                request, ignored_params=s.ignored_params, vary_headers=s.vary_headers,
                secret_params=s.secret_params, identity=identity,
            )
        except httpx.RequestNotRead:  # a streamed body: not something to cache
            return None

    def _prepare(self, request: httpx.Request) -> _Call:
        trace = trace_of(request)
        info = RequestInfo.from_request(
            request, endpoint=trace.endpoint, offline=get_settings().offline
        )
        identity = self._identity()
        key = self._key(request, identity) if cacheable(info, self.settings) else None
        if key is None:
            info = replace(info, no_store=True)
        entry = self._load(key) if key is not None else None
        if entry is not None and entry.vary and entry.vary != vary_digests(
            request, [name for name, _ in entry.vary]
        ):
            entry = None  # stored for a different value of a header the server varies on
        decision = decide(info, self.settings, entry, self.clock())
        call = _Call(request, trace, info, identity, key, decision, time.perf_counter())
        if decision.action is Action.OFFLINE_MISS:
            url = redacted_url(request.url, self.settings.secret_params)
            if key is None:  # never kept: running it online first would not help
                why = (f"{request.method} {url} is never kept in the HTTP cache (writes and "
                       "endpoints the connector marks 'never' are not); for a listing, read it "
                       "online once with list(..., cache='1d') to keep the whole result, or")
            else:
                why = f"no cached answer for {request.method} {url}; run it once online, or"
            raise NetworkError(
                f"offline mode: {why} ik.configure(offline=False)",
                service=trace.service, endpoint=trace.endpoint, transient=False, hint="",
            )
        return call

    # -- answers from the cache -------------------------------------------------------------
    def _serve(self, call: _Call, entry: CachedEntry, how: str, *, hit: bool) -> httpx.Response:
        now = self.clock()
        headers = [*entry.headers, ("age", str(max(0, int(now - entry.created_at)))),
                   ("x-integkit-cache", how)]
        if how == "stale":
            headers.append(("x-integkit-stale", "true"))
        request = call.request
        response = httpx.Response(
            entry.status, headers=headers, content=entry.body, request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )
        if hit:
            call.trace.cached = True
            duration = time.perf_counter() - call.started
            emit("call", CallEvent(
                service=call.trace.service, endpoint=call.trace.endpoint, method=request.method,
                url=redacted_url(request.url, self.settings.secret_params),
                status=entry.status, duration=duration, attempt=0, cached=True,
                bytes=len(entry.body), timestamp=time.time() - duration,
                state=call.trace.state,
            ))
        return response

    def _stale(self, call: _Call, why: str) -> httpx.Response:
        entry = call.decision.entry
        assert entry is not None
        logger.warning(
            "integkit: %s %s failed (%s); serving the cached answer from %.0fs ago",
            call.request.method, entry.url, why, max(0.0, self.clock() - entry.created_at),
        )
        return self._serve(call, entry, "stale", hit=True)

    def _entry(self, call: _Call, response: httpx.Response) -> CachedEntry | None:
        """The entry to store for a fresh answer, or None if it must not be stored."""
        now = self.clock()
        expires_at = expiry(self.settings, call.info, response.status_code, response.headers, now)
        if expires_at is None or contains_secret(response.content):
            return None
        if malformed_json(call.request, response):  # a proxy's page: never served again
            return None
        if classified_failure(response):  # a 200 saying it failed (a response rule)
            return None
        pinned = [
            name.strip().lower() for value in response.headers.get_list("vary")
            for name in value.split(",") if name.strip()
        ]
        # Headers in the key need no pin; credentials count through the identity.
        keyed = {name.lower() for name in self.settings.vary_headers}
        pinned = [n for n in pinned if n not in _UNPINNED and not is_credential_header(n)
                  and is_neutral_header(n) and n not in keyed]
        return CachedEntry.from_response(
            response, created_at=now, expires_at=expires_at, service=call.trace.service,
            endpoint=call.trace.endpoint, method=call.request.method,
            url=redacted_url(call.request.url, self.settings.secret_params),
            vary=vary_digests(call.request, pinned) if pinned else (),
        )

    def _same_caller(self, call: _Call) -> bool:
        """Whether the credentials are still those the key was made for, now that the answer
        is in (another process may have replaced a login meanwhile)."""
        if self._identity() == call.identity:
            return True
        logger.debug("integkit: the credentials changed during %s %s; its answer is not cached",
                     call.request.method, call.trace.endpoint)
        return False

    # -- the flow -----------------------------------------------------------------------------
    def flow(self, request: httpx.Request) -> _Flow:
        return self._flow(self._prepare(request))

    def _flow(self, call: _Call) -> _Flow:
        decision = call.decision
        if decision.action is Action.BYPASS:
            return settle((yield call.request))
        if decision.action in (Action.FRESH, Action.OFFLINE_HIT):
            assert decision.entry is not None
            how = "hit" if decision.action is Action.FRESH else "offline"
            return self._serve(call, decision.entry, how, hit=True)
        request = call.request
        for name, value in decision.headers:  # REVALIDATE: validators of the stored entry
            request.headers[name] = value
        outcome = yield request
        assert call.key is not None
        if isinstance(outcome, Exception):
            if decision.stale_fallback and _degradable(outcome):
                return self._stale(call, type(outcome).__name__)
            raise outcome
        status = outcome.status_code
        if status == 304 and decision.action is Action.REVALIDATE:
            assert decision.entry is not None
            now = self.clock()
            merged = httpx.Headers(list(decision.entry.headers))
            merged.update(outcome.headers)
            expires_at = expiry(self.settings, call.info, decision.entry.status, merged, now)
            refreshed = decision.entry.refreshed(
                outcome.headers, now=now, expires_at=now if expires_at is None else expires_at
            )
            if self._same_caller(call):
                self._save(call.key, refreshed if expires_at is not None else None)
            return self._serve(call, refreshed, "revalidated", hit=False)
        if status >= 500 and decision.stale_fallback:
            return self._stale(call, f"status {status}")
        if not self._same_caller(call):
            return outcome  # neither kept nor superseding what the key's owner had
        entry = self._entry(call, outcome)
        if entry is not None:
            self._save(call.key, entry)
        elif decision.entry is not None and status < 500 and status not in (408, 429):
            self._save(call.key, None)  # superseded by an answer that may not be kept
        return outcome

    # -- running it ---------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        call = self._prepare(request)
        if call.decision.action is Action.BYPASS:  # untouched, streaming preserved
            return self.inner.handle_request(request)  # type: ignore[no-any-return]
        return self.drive(self._flow(call))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = self._prepare(request)
        if call.decision.action is Action.BYPASS:
            return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]
        return await self.adrive(self._flow(call))
