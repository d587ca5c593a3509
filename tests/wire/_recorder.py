"""What went over the wire: an ASGI wrapper that records each request a server received."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .._openapi import WireRequest


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def as_wire(self) -> WireRequest:
        """The request as an OpenAPI description judges it (tests/_openapi.py)."""
        return WireRequest(self.method, self.path, self.query, self.headers, self.body)


@dataclass
class Recorder:
    """Wraps an ASGI app; ``received`` lists every HTTP request as the server saw it, headers
    and body included. The body is read first and handed on unchanged; ``send`` is passed on
    as it came, so the emulator's faults can still drop the connection under it."""

    app: Any
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1"))
                        for k, v in scope.get("headers", ()))
        with self.lock:
            self.received.append(Received(scope["method"], scope["path"],
                                          scope.get("query_string", b"").decode("latin-1"),
                                          headers, body))
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        await self.app(scope, replay, send)

    def to(self, path_end: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.endswith(path_end)]
