"""What every emulator shares: the raw ASGI shell, request parsing, replies, state and stats.

An emulator subclasses ``Emulator`` and implements ``handle(request) -> Reply`` (synchronous:
the shell reads the body, applies the ``latency`` option, gzips and logs). ``Faults`` sits in
front of the shell, so injected failures look like the network's, not the service's.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import orjson

from ._admin import ADMIN_PREFIX, admin_router
from ._clock import Moment, SandboxClock
from ._faults import Faults, Headers, Message, Receive, Scope, Send
from ._limits import RateLimiter
from ._webhooks import WebhookSender

__all__ = [
    "Emulator",
    "ParamError",
    "Reply",
    "Request",
    "as_list",
    "new_request_id",
    "parse_params",
]

_GZIP_MIN = 1000
_GZIP_LEVEL = 4
_LOG_CAP = 200_000
_TOKEN_CHARS = bytes.maketrans(b"+/", b"Ab")


def new_request_id(prefix: str = "req_", length: int = 14) -> str:
    """A random request id, e.g. ``req_5Gq9bX2kLm0Zp1``."""
    raw = base64.b64encode(os.urandom(length)).translate(_TOKEN_CHARS)
    return prefix + raw[:length].decode()


class Request:
    """The parts of an HTTP request an emulator reads (headers lower-cased)."""

    __slots__ = ("method", "path", "query", "headers", "body", "api_key")

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str],
                 body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.api_key: str | None = None


class Reply:
    """A complete response: status, body bytes and extra headers (content-type is JSON unless
    the headers name another, e.g. CSV)."""

    __slots__ = ("status", "body", "headers", "log_key")

    def __init__(self, status: int, body: bytes, headers: Headers | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []
        self.log_key: str | None = None


class ParamError(ValueError):
    """A form or query string that cannot be decoded into parameters."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def parse_params(raw: str) -> dict[str, Any]:
    """Decode Stripe-style bracket notation into nested dicts and lists.

    ``metadata[k]=v`` -> ``{"metadata": {"k": "v"}}``; ``expand[]=a&expand[]=b`` ->
    ``{"expand": ["a", "b"]}``; ``expand[0]=a`` -> ``{"expand": {"0": "a"}}`` (see ``as_list``);
    ``created[gte]=1`` -> ``{"created": {"gte": "1"}}``.

    >>> parse_params("a=1&m[k]=v&e[]=x&e[]=y&l[0][id]=p")
    {'a': '1', 'm': {'k': 'v'}, 'e': ['x', 'y'], 'l': {'0': {'id': 'p'}}}
    """
    out: dict[str, Any] = {}
    if not raw:
        return out
    for pair in raw.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        head, bracket, rest = name.partition("[")
        if not head:
            raise ParamError(f"Invalid parameter name: {name}", name)
        keys: list[str] = [head]
        if bracket:
            rest = "[" + rest
            parts = _BRACKETS.findall(rest)
            if _BRACKETS.sub("", rest):
                raise ParamError(f"Invalid parameter name: {name}", head)
            keys += parts
        _assign(out, keys, value, head)
    result: dict[str, Any] = _listify(out)
    return result


class _Seq(dict):  # type: ignore[type-arg]
    """A list being assembled from ``x[]`` / ``x[0]`` keys (ordered by index or arrival)."""


def _assign(node: dict[str, Any], keys: list[str], value: str, param: str) -> None:
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        nxt = None if last else keys[depth + 1]
        if isinstance(node, _Seq) and key == "":
            key = str(len(node)) if last or nxt == "" else _open_slot(node, nxt)
        if last:
            if isinstance(node.get(key), dict):
                raise ParamError(f"Invalid value for {param}: expected an object", param)
            node[key] = value
            return
        child = node.get(key)
        if child is None:
            child = _Seq() if nxt == "" else {}
            node[key] = child
        elif not isinstance(child, dict):
            raise ParamError(f"Invalid value for {param}: cannot mix a value and an object", param)
        node = child


def _open_slot(seq: _Seq, nxt: str | None) -> str:
    """For ``items[][price]=a&items[][quantity]=2``: reuse the last element until a key repeats."""
    if seq:
        last_key = str(len(seq) - 1)
        last = seq[last_key]
        if isinstance(last, dict) and nxt not in last:
            return last_key
    return str(len(seq))


def _listify(node: Any) -> Any:
    if isinstance(node, _Seq):
        return [_listify(v) for v in node.values()]
    if isinstance(node, dict):
        return {k: _listify(v) for k, v in node.items()}
    return node


def as_list(value: Any) -> list[Any] | None:
    """A parameter meant as an array: ``x[]=..`` gives a list, ``x[0]=..`` a dict keyed by
    index (metadata keys may be digits too, so only the caller knows). None if neither."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and value and all(k.isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]
    return None


class Emulator:
    """The ASGI shell of one emulated service; ``__call__`` is the app with faults in front.

    State tests read: ``objects`` (Counter of objects created through the API, by object
    type), ``request_log`` (``(method, path, status, idempotency_key)`` per request),
    ``rate_limited`` (429s answered by the rate limiter), ``faults`` and ``api_keys``.
    ``GET /__sandbox__/stats`` returns the counters as JSON (for an emulator in a child
    process).
    """

    service = ""
    key_prefix = "key_sandbox_"

    def __init__(self, *, api_key: str | None = None,
                 rate_limit: tuple[float, int] | None = None, latency: float = 0.0,
                 now: Moment = None, clock: Callable[[], float] = time.time) -> None:
        #: The emulated world's time (seeded data, new objects): starts at ``now``.
        self.world_clock = SandboxClock(now, real=clock)
        self.api_key = api_key or self.key_prefix + new_request_id("", 24)
        self.api_keys: set[str] = {self.api_key}
        self.latency = float(latency)
        self.limiter = RateLimiter(*rate_limit) if rate_limit else None
        self.rate_limited = 0
        self.objects: Counter[str] = Counter()
        self.request_log: list[tuple[str, str, int, str | None]] = []
        self.faults = Faults(error_reply=self.fault_reply)
        self.webhooks = WebhookSender(self.service)
        self.lock = threading.RLock()
        self._app = self.faults.wrap(self._serve)
        self._admin = admin_router(self.stats, self.faults, self.webhooks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send)
            return
        await self._app(scope, receive, send)

    def add_api_key(self, key: str) -> None:
        """Accept another key (e.g. to test that idempotency and limits are per key)."""
        self.api_keys.add(key)

    def credentials(self) -> dict[str, Any]:
        """Keyword arguments that make ``ik.connect(service, ...)`` authenticate here."""
        return {"api_key": self.api_key}

    def allow(self, key: str) -> bool:
        """Whether the per-key rate limit lets this request through (counts the refusals)."""
        if self.limiter is None or self.limiter.allow(key):
            return True
        self.rate_limited += 1
        return False

    # -- to implement ------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        """Body and headers of an injected ``status`` (services answer in their own words)."""
        body = orjson.dumps({"error": {"message": f"HTTP {status}", "type": "api_error"}})
        return body, [(b"content-type", b"application/json")]

    def limits_text(self) -> list[str]:
        """The limits this emulator enforces, in words (its card in a notebook shows them)."""
        if self.limiter is None:
            return []
        return [f"{self.limiter.rate:g} requests/s per key, burst {self.limiter.burst:g}"]

    def stats(self) -> dict[str, Any]:
        return {"service": self.service, "objects": dict(self.objects),
                "rate_limited": self.rate_limited, "requests": len(self.request_log),
                "faults": self.faults.state()}

    # -- the shell ---------------------------------------------------------------------------
    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", ())}
        path = scope["path"]
        method = scope["method"]
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        request = Request(method, path, scope.get("query_string", b"").decode("latin-1"),
                          headers, body)
        with self.lock:
            reply = self.handle(request)
            log = self.request_log
            if len(log) >= _LOG_CAP:
                del log[: _LOG_CAP // 2]
            log.append((method, path, reply.status, reply.log_key))
        out = reply.body
        own_type = any(k.lower() == b"content-type" for k, _ in reply.headers)
        raw_headers: Headers = [] if own_type else [(b"content-type", b"application/json")]
        raw_headers += reply.headers
        if len(out) >= _GZIP_MIN and "gzip" in headers.get("accept-encoding", ""):
            out = _gzip(out)
            raw_headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        raw_headers.append((b"content-length", str(len(out)).encode()))
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": raw_headers})
        await send({"type": "http.response.body", "body": out})


def _gzip(data: bytes) -> bytes:
    comp = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts) if len(parts) != 1 else parts[0]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

