"""Fault injection for the emulators: slow answers, 5xx/429 bursts, resets, truncated bodies.

``Faults`` is ASGI middleware in front of an emulator, programmable from Python (tests, often
from another thread than the server's) and over HTTP, so that a benchmark can drive an
emulator running in a child process (``/__sandbox__/faults``, see ``_admin``)::

    POST   /__sandbox__/faults   {"kind": "fail", "status": 503, "times": 2, "path": "/v1/charges*"}

Each rule may be scoped by a ``path`` glob and a ``method``, and ``after=N`` lets the first N
matching requests through untouched. Rules act like proxies stacked in the order they were
added: a request one rule fails (or resets) never reaches the rules added after it, so their
``after`` counts only the requests that got that far.
"""

from __future__ import annotations

import asyncio
import fnmatch
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .._errors import ConfigError

__all__ = ["FaultRule", "Faults"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
ErrorReply = Callable[[int], tuple[bytes, Headers]]

_TERMINAL = ("fail", "reset", "truncate", "reset_after_processing")
_KINDS = ("latency", "headers", *_TERMINAL)
_FAIL_STATUSES = (429, 500, 502, 503, 504)


@dataclass
class FaultRule:
    """One programmed fault and its counters (``seen``: matching requests, ``fired``: applied)."""

    kind: str
    path: str | None = None
    method: str | None = None
    after: int = 0
    times: int | None = None
    seconds: float = 0.0
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind, "path": self.path, "method": self.method, "after": self.after,
            "times": self.times, "seen": self.seen, "fired": self.fired,
        }
        if self.kind == "latency":
            out["seconds"] = self.seconds
        elif self.kind == "fail":
            out["status"] = self.status
        elif self.kind == "headers":
            out["headers"] = dict(self.headers)
        return out


@dataclass
class _Plan:
    delay: float = 0.0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    terminal: FaultRule | None = None


def _default_error(status: int) -> tuple[bytes, Headers]:
    body = orjson.dumps({"error": {"message": f"Injected fault (HTTP {status}).",
                                   "type": "api_error"}})
    return body, [(b"content-type", b"application/json")]


class Faults:
    """Programmable faults in front of an emulator's ASGI app.

    >>> faults = Faults()
    >>> rule = faults.fail(503, times=2, path="/v1/charges*")
    >>> faults.latency(0.2, method="POST").kind
    'latency'
    >>> faults.clear()
    """

    def __init__(self, error_reply: ErrorReply | None = None) -> None:
        self._error_reply = error_reply or _default_error
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.hits = 0

    # -- programming (Python) ------------------------------------------------------------------
    def latency(self, seconds: float, *, path: str | None = None, method: str | None = None,
                after: int = 0, times: int | None = None) -> FaultRule:
        """Delay matching requests by ``seconds`` (an asyncio sleep: other requests go on)."""
        return self.add("latency", seconds=seconds, path=path, method=method, after=after,
                        times=times)

    def fail(self, status: int = 503, *, times: int | None = 1, path: str | None = None,
             method: str | None = None, after: int = 0) -> FaultRule:
        """Answer ``status`` (429 or 5xx) with the service's error body instead of the app."""
        return self.add("fail", status=status, times=times, path=path, method=method,
                        after=after)

    def reset(self, *, times: int | None = 1, path: str | None = None,
              method: str | None = None, after: int = 0) -> FaultRule:
        """Drop the connection without any response (TCP reset)."""
        return self.add("reset", times=times, path=path, method=method, after=after)

    def truncate(self, *, times: int | None = 1, path: str | None = None,
                 method: str | None = None, after: int = 0) -> FaultRule:
        """Send status, headers and the full Content-Length, then half the body, then close."""
        return self.add("truncate", times=times, path=path, method=method, after=after)

    def reset_after_processing(self, *, times: int | None = 1, path: str | None = None,
                               method: str | None = None, after: int = 0) -> FaultRule:
        """Run the request (its side effects happen) but reset before any response leaves."""
        return self.add("reset_after_processing", times=times, path=path, method=method,
                        after=after)

    def headers(self, headers: Mapping[str, str], *, path: str | None = None,
                method: str | None = None, after: int = 0, times: int | None = None) -> FaultRule:
        """Add headers (e.g. Deprecation, Sunset) to matching responses."""
        return self.add("headers", headers=dict(headers), path=path, method=method,
                        after=after, times=times)

    def add(self, kind: str, **options: Any) -> FaultRule:
        """Add a rule by kind name (what the HTTP admin endpoint calls); terminal faults
        (fail, reset, truncate, reset_after_processing) default to ``times=1``, ``None`` means
        every matching request."""
        if kind not in _KINDS:
            raise ConfigError(f"unknown fault kind {kind!r}; known: {', '.join(_KINDS)}")
        unknown = set(options) - {"seconds", "status", "headers", "path", "method", "after",
                                  "times"}
        if unknown:
            raise ConfigError(f"unknown fault option(s) for {kind}: {', '.join(sorted(unknown))}")
        if kind in _TERMINAL:
            options.setdefault("times", 1)  # as the methods: one failure unless told more
        rule = FaultRule(kind=kind, **options)
        if kind == "fail" and rule.status not in _FAIL_STATUSES:
            raise ConfigError(f"fail(status=...) takes one of {_FAIL_STATUSES}, not {rule.status}")
        if rule.times is not None and rule.times < 0 or rule.after < 0 or rule.seconds < 0:
            raise ConfigError("fault times, after and seconds must not be negative")
        with self._lock:
            self._rules.append(rule)
        return rule

    def program(self, spec: Any) -> list[FaultRule]:
        """Add the rules of a JSON spec (what the HTTP admin route receives): one rule
        ``{"kind": ..., **options}``, ``{"faults": [rule, ...]}`` or a list of rules; an empty
        spec adds none."""
        if not spec:
            return []
        specs = spec.get("faults", [spec]) if isinstance(spec, dict) else spec
        if not isinstance(specs, list) or not all(isinstance(item, dict) for item in specs):
            raise ConfigError('a fault spec is {"kind": ..., ...}, {"faults": [...]} or a list')
        added = []
        for item in specs:
            options = dict(item)
            added.append(self.add(options.pop("kind", ""), **options))
        return added

    def clear(self) -> None:
        """Remove every rule (``hits`` keeps counting)."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"hits": self.hits, "rules": [r.as_dict() for r in self._rules]}

    # -- matching ------------------------------------------------------------------------------
    def _plan(self, method: str, path: str) -> _Plan | None:
        with self._lock:
            self.hits += 1
            if not self._rules:
                return None
            plan = _Plan()
            for rule in self._rules:  # outermost first, like stacked proxies
                if not rule.matches(method, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or rule.spent:
                    continue
                rule.fired += 1
                if rule.kind in _TERMINAL:
                    plan.terminal = rule  # the request ends here: later rules never see it
                    break
                if rule.kind == "latency":
                    plan.delay += rule.seconds
                else:
                    plan.headers += [(k.lower().encode(), str(v).encode())
                                     for k, v in rule.headers.items()]
            return plan

    # -- ASGI ----------------------------------------------------------------------------------
    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The ASGI app with these faults in front of it."""

        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            plan = self._plan(scope["method"], scope["path"])
            if plan is None:
                await app(scope, receive, send)
                return
            await self._apply(plan, app, scope, receive, send)

        return faulty

    async def _apply(self, plan: _Plan, app: ASGIApp, scope: Scope, receive: Receive,
                     send: Send) -> None:
        raw_send = send
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if plan.headers:
            send = _adding_headers(send, plan.headers)
        rule = plan.terminal
        if rule is None:
            await app(scope, receive, send)
        elif rule.kind == "fail":
            body, headers = self._error_reply(rule.status)
            await _drain(receive)
            await send({"type": "http.response.start", "status": rule.status,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        elif rule.kind == "reset":
            if not _drop(raw_send, reset=True):
                await _fake_drop(raw_send)
        elif rule.kind == "reset_after_processing":
            await app(scope, receive, _swallow)
            if not _drop(raw_send, reset=True):
                await _fake_drop(raw_send)
        else:  # truncate
            await self._truncate(app, scope, receive, send, raw_send)

    async def _truncate(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                        raw_send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, capture)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(max(len(body), 2)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200),
                    "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2],
                    "more_body": True})
        # A graceful close (FIN after the bytes already written): the client reads the part,
        # then the connection ends short of Content-Length.
        _drop(raw_send, reset=False)


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k for k, _ in extra}
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": kept + extra}
        await send(message)

    return sending


async def _swallow(message: Message) -> None:
    """A send that delivers nothing: the response of a request whose answer gets lost."""


async def _drain(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _drop(send: Send, *, reset: bool) -> bool:
    """Close the client's connection under the server's feet.

    Under uvicorn, ``send`` is a bound method of the request cycle, which holds the asyncio
    transport. ``reset`` sets SO_LINGER 0 and aborts (the client gets a TCP RST); otherwise
    the transport closes after flushing. The cycle is marked disconnected so uvicorn neither
    writes after us nor logs the unfinished response. Returns False when no transport is
    reachable (another server, or httpx.ASGITransport).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        return False
    if reset:
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (AttributeError, OSError):
            pass
        transport.abort()
    else:
        transport.close()
    try:
        cycle.disconnected = True
    except AttributeError:
        pass
    return True


async def _fake_drop(send: Send) -> None:
    """Without a transport: promise a body and send none; the server then closes the stream."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"1024"), (b"connection", b"close")]})
