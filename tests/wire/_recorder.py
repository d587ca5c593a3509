"""What went over the wire: an ASGI wrapper that records each request a server received."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Received:
    method: str
    path: str
    query: str

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)


@dataclass
class Recorder:
    """Wraps an ASGI app; ``received`` lists every HTTP request as the server saw it."""

    app: Any
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self.lock:
                self.received.append(Received(scope["method"], scope["path"],
                                              scope.get("query_string", b"").decode("latin-1")))
        await self.app(scope, receive, send)

    def to(self, path_end: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.endswith(path_end)]
