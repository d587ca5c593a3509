"""A scriptable server for attack and fault tests: it records every request it receives and
answers each path with whatever the test scripted (a redirect elsewhere, a Link header to
another origin, a loop of cursors, a body trickling a byte a second...).

Two of them on different loopback ports stand for "the service" and "somebody else": a test
scripts the first to point at the second, then asserts what the second saw.

>>> with HostileServer() as evil:                                       # doctest: +SKIP
...     evil.route("/v1/items", lambda req: JSONResponse({"data": []}))
...     ...
...     assert evil.seen == []
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integkit.sandbox._server import SandboxServer

Handler = Callable[[Request], Response | Awaitable[Response]]


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    def carries(self, secret: str) -> bool:
        """Whether ``secret`` appears anywhere in this request (headers, query, body)."""
        text = " ".join([self.path, self.query, *self.headers.values()])
        return secret in text or secret.encode() in self.body


@dataclass
class _App:
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        with self.lock:
            self.seen.append(Seen(request.method, request.url.path,
                                  request.url.query, dict(request.headers), body))
            handler = self.routes.get(request.url.path) or self.routes.get("*")
        if handler is None:
            response: Response = JSONResponse({"error": "not scripted"}, status_code=404)
        else:
            outcome = handler(request)
            response = await outcome if isinstance(outcome, Awaitable) else outcome
        await response(scope, receive, send)


class HostileServer:
    """A recording, scriptable HTTP server on 127.0.0.1 (a context manager)."""

    def __init__(self) -> None:
        self._app = _App()
        self._server = SandboxServer(self._app)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def origin(self) -> str:
        return self._server.url

    @property
    def seen(self) -> list[Seen]:
        with self._app.lock:
            return list(self._app.seen)

    def route(self, path: str, handler: Handler) -> None:
        """Answer ``path`` (or ``"*"``: every unscripted path) with ``handler``."""
        with self._app.lock:
            self._app.routes[path] = handler

    def reset(self) -> None:
        with self._app.lock:
            self._app.routes.clear()
            self._app.seen.clear()

    def __enter__(self) -> HostileServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
