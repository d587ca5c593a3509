"""Custom schemes: fixed credential headers, and an escape hatch for any signing function."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping

import httpx

from .._errors import ConfigError
from .._events import register_secret
from ._identity import digest
from ._rotation import mask

__all__ = ["HeaderAuth", "Signed"]


class HeaderAuth(httpx.Auth):
    """Send fixed credential headers on every request (``X-Api-User`` + ``X-Api-Token``...).

    Every value is registered as a secret, so it is masked in logs, reprs and errors; pass
    ``public=("X-Api-User",)`` for values that are not secret (they are then shown in reprs).

    >>> HeaderAuth({"X-Api-User": "analyst", "X-Api-Token": "tok_9f8e7d6c5b"},
    ...            public=("X-Api-User",))
    HeaderAuth({'X-Api-User': 'analyst', 'X-Api-Token': 'tok_***'})
    """

    def __init__(self, headers: Mapping[str, str], *, public: tuple[str, ...] = ()) -> None:
        if not headers:
            raise ConfigError("HeaderAuth needs at least one header")
        bad = [name for name, value in headers.items() if not isinstance(value, str) or not value]
        if bad:
            raise ConfigError(f"HeaderAuth: no value for {', '.join(bad)} (an unset env var?)")
        self._public = {p.lower() for p in public}
        for name, value in headers.items():
            if name.lower() not in self._public:
                register_secret(value)
        self._headers = dict(headers)

    @property
    def identity(self) -> str:
        """The headers and their values, as a one-way name."""
        return "headers:" + digest(*sorted(f"{k.lower()}={v}" for k, v in self._headers.items()))

    @property
    def names(self) -> list[str]:
        """The header names sent (their values stay private)."""
        return list(self._headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        yield request

    def __repr__(self) -> str:
        shown = {k: v if k.lower() in self._public else mask(v) for k, v in self._headers.items()}
        return f"HeaderAuth({shown!r})"


class Signed(httpx.Auth):
    """Apply ``sign(request)`` to every request: a function that adds headers or query
    parameters however an API wants (``request.content`` holds the body).

    The function runs once per attempt: a retried request is signed again. Values it sets
    are unknown to integkit: register any secret it derives
    with ``integkit._events.register_secret`` if it could end up in a log line.

    >>> def sign(request: httpx.Request) -> None:
    ...     request.headers["X-Signature"] = my_signature(request.method, request.content)
    >>> api = ik.rest("https://api.example.com", auth=Signed(sign))       # doctest: +SKIP
    """

    requires_request_body = True

    def __init__(self, sign: Callable[[httpx.Request], object], *, name: str | None = None
                 ) -> None:
        if not callable(sign):
            raise ConfigError("Signed needs a function taking the request")
        self._sign = sign
        self.name = name or getattr(sign, "__qualname__", type(sign).__name__)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        result = self._sign(request)
        yield result if isinstance(result, httpx.Request) else request

    def __repr__(self) -> str:
        return f"Signed({self.name})"
