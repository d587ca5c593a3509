"""Coalesce identical concurrent GETs: one goes to the network, the others share its answer."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any

import httpx

from ._context import trace_of

__all__ = ["CoalesceTransport"]

_ENCODING_HEADERS = {b"content-encoding", b"content-length", b"transfer-encoding"}


def _key(request: httpx.Request) -> str | None:
    if request.method not in ("GET", "HEAD"):
        return None
    # Any header may change the answer (credentials, an account, an API version): only
    # requests identical in every header share one.
    headers = "\n".join(sorted(f"{k.lower()}:{v}" for k, v in request.headers.multi_items()))
    who = hashlib.blake2b(headers.encode(), digest_size=16)
    return f"{request.method} {request.url} {who.hexdigest()}"


def _share(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """A follower's own copy of the leader's (already read and decoded) response."""
    trace_of(request).coalesced = True
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _ENCODING_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=response.content, request=request,
        extensions={"http_version": response.extensions.get("http_version", b"HTTP/1.1")},
    )


class _Flight:
    __slots__ = ("done", "response", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None


class CoalesceTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Single-flight for reads, for threads (sync) and tasks (async) alike."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()
        self._futures: dict[tuple[int, str], asyncio.Future[httpx.Response]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = _key(request)
        if key is None:
            return self.inner.handle_request(request)  # type: ignore[no-any-return]
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        assert flight is not None
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.response is not None
            return _share(flight.response, request)
        try:
            flight.response = self.inner.handle_request(request)
            return flight.response
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = _key(request)
        if key is None:
            return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]
        slot = (id(asyncio.get_running_loop()), key)
        pending = self._futures.get(slot)
        if pending is not None:
            return _share(await asyncio.shield(pending), request)
        future: asyncio.Future[httpx.Response] = asyncio.get_running_loop().create_future()
        self._futures[slot] = future
        try:
            response: httpx.Response = await self.inner.handle_async_request(request)
            future.set_result(response)
            return response
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers may be none
            raise
        finally:
            self._futures.pop(slot, None)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
