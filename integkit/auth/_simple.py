"""Credential schemes that need no I/O: API key, bearer token, HTTP basic.

Each is an ``httpx.Auth`` whose flow only sets a header or a query parameter; the secret is
registered for redaction the moment it is handed over and never shown by ``repr``.
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx

from .._events import register_secret
from ._identity import digest

__all__ = ["ApiKey", "Basic", "Bearer"]


def _mask(secret: str) -> str:
    return f"{secret[:4]}***" if len(secret) > 8 else "***"


class Bearer(httpx.Auth):
    """``Authorization: Bearer <token>`` (Stripe secret keys, GitHub tokens, Slack tokens)."""

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    @property
    def identity(self) -> str:
        return "bearer:" + digest(self._token)

    def __repr__(self) -> str:
        return f"Bearer({_mask(self._token)})"


class ApiKey(httpx.Auth):
    """An API key in a header (default ``X-API-Key``) or a query parameter.

    >>> ApiKey("k3y-123456", header="DD-API-KEY")
    ApiKey(header='DD-API-KEY', k3y-***)
    """

    def __init__(
        self, key: str, *, header: str | None = "X-API-Key", query: str | None = None,
        prefix: str = "",
    ) -> None:
        register_secret(key)
        self._key = key
        self.header = None if query else header
        self.query = query
        self.prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.query:
            request.url = request.url.copy_merge_params({self.query: self._key})
        else:
            request.headers[self.header or "X-API-Key"] = f"{self.prefix}{self._key}"
        yield request

    @property
    def identity(self) -> str:
        return "api_key:" + digest(self._key)

    def __repr__(self) -> str:
        where = f"query={self.query!r}" if self.query else f"header={self.header!r}"
        return f"ApiKey({where}, {_mask(self._key)})"


class Basic(httpx.Auth):
    """HTTP basic auth (Twilio: account SID and auth token)."""

    def __init__(self, username: str, password: str = "") -> None:
        register_secret(password)
        self.username = username
        self._password = password
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        register_secret(token)
        self._header = f"Basic {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    @property
    def identity(self) -> str:
        return "basic:" + digest(self.username, self._password)

    def __repr__(self) -> str:
        return f"Basic(username={self.username!r}, password=***)"
