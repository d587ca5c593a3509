"""The innermost layer: one real attempt. Reads the body, times it, reports it.

Every other layer above sees complete responses, so a body cut short surfaces here as a
transport error that retry and the breaker treat like a reset connection.
"""

from __future__ import annotations

import threading
import time
import warnings

import httpx

from .._events import CallEvent, emit, logger, redact
from ._context import trace_of
from ._deadline import DeadlineStream, late, left, limit_timeouts
from ._layer import BufferedLayer, Flow, settle

__all__ = ["ApiDeprecationWarning", "AttemptTransport"]


class ApiDeprecationWarning(FutureWarning):
    """The service announced (Deprecation / Sunset headers) that an endpoint is going away."""


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_deprecation(request: httpx.Request, response: httpx.Response, endpoint: str) -> None:
    deprecation = response.headers.get("deprecation")
    sunset = response.headers.get("sunset")
    if not (deprecation or sunset):
        return
    with _warned_lock:
        if endpoint in _warned:
            return
        _warned.add(endpoint)
    parts = [f"{endpoint} is deprecated by the service"]
    if deprecation and deprecation.strip().lower() not in ("true", "?1"):
        parts.append(f"since {deprecation.lstrip('@')}")
    if sunset:
        parts.append(f"and will stop working on {sunset}")
    link = response.links.get("deprecation") or response.links.get("sunset")
    if link:
        parts.append(f"(see {link.get('url')})")
    warnings.warn(" ".join(parts) + ".", ApiDeprecationWarning, stacklevel=2)


class AttemptTransport(BufferedLayer):
    """Sends one attempt to the network (or the sandbox) and reports it as a CallEvent.

    Within the call's deadline (see ``_deadline``): httpx's per-step timeouts are lowered to
    what is left, and the body is read chunk by chunk against the deadline."""

    def __init__(self, inner: object, *, request_id_header: str = "request-id") -> None:
        super().__init__(inner)
        self.request_id_header = request_id_header

    def _start(self, request: httpx.Request) -> None:
        """Lower the attempt's timeouts to what is left of its deadline, if it has one (none
        left: it fails before it starts)."""
        trace = trace_of(request)
        remaining = left(trace)
        if remaining is None:
            return
        if remaining <= 0:
            raise late(trace, "before an attempt could start")
        limit_timeouts(request, remaining)

    def send(self, request: httpx.Request) -> httpx.Response:
        self._start(request)
        return super().send(request)

    async def asend(self, request: httpx.Request) -> httpx.Response:
        self._start(request)
        return await super().asend(request)

    def body(self, request: httpx.Request, response: httpx.Response) -> None:
        """Within a deadline, the body is read chunk by chunk against it."""
        if left(trace_of(request)) is not None:
            response.stream = DeadlineStream(response.stream, trace_of(request))

    def flow(self, request: httpx.Request) -> Flow:
        trace = trace_of(request)
        trace.attempts += 1
        started = time.perf_counter()
        outcome = yield request
        response = outcome if isinstance(outcome, httpx.Response) else None
        error = None if response is not None else repr(outcome)
        duration = time.perf_counter() - started
        status = response.status_code if response is not None else None
        request_id = response.headers.get(self.request_id_header) if response is not None else None
        size = len(response.content) if response is not None else 0
        trace.bytes += size
        emit("call", CallEvent(
            service=trace.service, endpoint=trace.endpoint, method=request.method,
            url=redact(str(request.url)), status=status, duration=duration,
            attempt=trace.attempts, cached=False, error=error, request_id=request_id,
            bytes=size, timestamp=time.time() - duration, state=trace.state,
        ))
        logger.debug(
            "integkit: %s %s %s -> %s in %.3fs (attempt %d)", trace.service, request.method,
            redact(str(request.url)), status or error, duration, trace.attempts,
        )
        if status is not None:
            _warn_deprecation(request, outcome, trace.endpoint)  # type: ignore[arg-type]
        return settle(outcome)
