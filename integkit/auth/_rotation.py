"""Several keys for one connection: move to the next key when the service refuses one.

A team often holds more than one key for a service (a primary and a standby, or keys being
rotated). ``KeyRing`` sends each request with the key that last worked; on a 401 it retries
that same request once with each of the other keys, keeps the first one accepted for every later
call (across threads), and says so: a :class:`KeyRotationWarning`, a log line and an
``ik.on("auth", fn)`` event, all naming keys only by a masked prefix.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Collection, Generator, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from .._errors import AuthenticationError
from .._events import emit, logger, register_secret
from ._identity import digest
from ._simple import Bearer, _mask

__all__ = ["AuthEvent", "KeyRing", "KeyRotationWarning", "mask", "drive"]

_REQUEST_ID_HEADERS = ("request-id", "x-request-id", "x-github-request-id", "x-amzn-requestid")


def mask(secret: str) -> str:
    """A printable stand-in for ``secret``: its first 4 characters when it is long enough."""
    return _mask(secret)


class KeyRotationWarning(UserWarning):
    """A key was refused and the connection moved on to another one."""


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """What ``ik.on("auth", fn)`` receives: a credential changed (rotated, refreshed...).

    ``kind`` is e.g. ``"key_rotated"``, ``"key_refused"`` or ``"token_refreshed"``; keys and
    tokens appear only masked.
    """

    kind: str
    service: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def drive(
    auth: httpx.Auth, request: httpx.Request
) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
    """Run another scheme's ``auth_flow`` inside this one; returns its last response.

    Lets a wrapper (``KeyRing``, ``MutualTLS(auth=...)``) delegate to any inner scheme,
    including one that sends several requests.
    """
    flow = auth.auth_flow(request)
    outgoing = next(flow)
    while True:
        response = yield outgoing
        try:
            outgoing = flow.send(response)
        except StopIteration:
            return response


class KeyRing(httpx.Auth):
    """Use one of several keys, moving on to the next when the service answers 401.

    ``scheme`` turns a key into the scheme that sends it (``Bearer`` by default; for a
    header key, ``lambda k: ApiKey(k, header="DD-API-KEY")``). A refused request is retried
    once with each other key, in order; the first accepted key is remembered (thread-safe) and
    used first by every later call. When every key is refused, ``AuthenticationError`` lists
    the masked keys tried.

    >>> ring = KeyRing(["sk_live_primary_123", "sk_live_standby_456"], service="stripe")
    >>> ring
    KeyRing(2 keys, using sk_l***)
    """

    requires_request_body = True  # the body is sent again with the next key
    requires_response_body = True

    def __init__(
        self,
        keys: Iterable[str],
        scheme: Callable[[str], httpx.Auth] = Bearer,
        *,
        service: str = "rest",
        statuses: Collection[int] = (401,),
    ) -> None:
        self._keys = [k for k in keys if k]
        if not self._keys:
            raise ValueError("KeyRing needs at least one key")
        if len(set(self._keys)) != len(self._keys):
            raise ValueError("KeyRing was given the same key twice")
        for key in self._keys:
            register_secret(key)
        self._schemes = [scheme(k) for k in self._keys]
        self.service = service
        self.statuses = frozenset(statuses)
        self._current = 0
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """The ring's keys as one one-way name (they stand for one account)."""
        return "keyring:" + digest(*self._keys)

    @property
    def current(self) -> str:
        """The key in use, masked."""
        return mask(self._keys[self._current])

    @property
    def masked_keys(self) -> list[str]:
        """Every key, masked, in the order they are tried."""
        return [mask(k) for k in self._keys]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            start = self._current
        index = start
        tried: list[int] = []
        while True:
            response = yield from drive(self._schemes[index], request)
            if response.status_code not in self.statuses:
                if tried:
                    self._adopt(start, index, tried, response.status_code)
                return
            tried.append(index)
            following = self._next_untried(index, tried)
            if following is None:
                raise self._refused_everywhere(request, response, tried)
            index = following

    def _next_untried(self, index: int, tried: list[int]) -> int | None:
        """The key to try after ``index``: one another thread already moved to, else the next."""
        with self._lock:
            current = self._current
        if current not in tried:
            return current
        count = len(self._keys)
        for step in range(1, count):
            candidate = (index + step) % count
            if candidate not in tried:
                return candidate
        return None

    def _adopt(self, start: int, index: int, tried: list[int], status: int) -> None:
        """Remember the working key; only the thread that changes it reports the change."""
        with self._lock:
            if self._current != start:
                return
            self._current = index
        refused = ", ".join(mask(self._keys[i]) for i in tried)
        used = mask(self._keys[index])
        message = (
            f"{self.service}: key {refused} was refused (401); now using key {used} "
            f"(key {index + 1} of {len(self._keys)}). Replace or remove the refused key."
        )
        logger.warning("integkit: %s", message)
        warnings.warn(message, KeyRotationWarning, stacklevel=2)
        emit("auth", AuthEvent("key_rotated", self.service, message,
                               {"refused": [mask(self._keys[i]) for i in tried], "using": used,
                                "status": status}))

    def _refused_everywhere(
        self, request: httpx.Request, response: httpx.Response, tried: list[int]
    ) -> AuthenticationError:
        keys = ", ".join(mask(self._keys[i]) for i in tried)
        message = f"every key was refused ({len(tried)} tried: {keys})"
        emit("auth", AuthEvent("key_refused", self.service, message,
                               {"refused": [mask(self._keys[i]) for i in tried],
                                "status": response.status_code}))
        request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS
                           if h in response.headers), None)
        return AuthenticationError(
            message, service=self.service, endpoint=f"{request.method} {request.url.path}",
            status=response.status_code, request_id=request_id, body=response.text,
            hint="Each key may be revoked, expired or meant for another account or mode: "
                 "put a valid key in the KeyRing (or its env var) and drop the refused ones.",
        )

    def __repr__(self) -> str:
        return f"KeyRing({len(self._keys)} keys, using {self.current})"
