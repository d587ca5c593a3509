"""Which origins a connection's credentials may reach, and the one decision about a URL.

An origin is (scheme, host, port) with default ports filled in, so
``https://API.example.com/v1`` and ``https://api.example.com:443`` are one origin. A
connection sends requests only to its own origins: its base URLs and backup base URLs, those
the user allows (``allowed_origins=``) and those the service itself hands out (code that
learns one, such as a token response naming the instance to call, adds it). A next-page link,
a redirect or an absolute URL naming any other origin is refused before a byte is sent: no
key, token, signature, body or idempotency key reaches it. A redirect from https never leads
to plain http, even on the same host.

>>> origins = Origins(["https://api.example.com/v1"])
>>> refusal(origins, "https://api.example.com:443/v1/items?page=2") is None
True
>>> refusal(origins, "https://evil.example/steal")
"it is not one of this connection's origins (https://api.example.com)"
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import httpx

from .._errors import ConfigError, OriginError
from ._context import trace_of

__all__ = ["Origin", "OriginGate", "Origins", "origin_of", "refusal"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_DOWNGRADE = "integkit never downgrades https to http"


class Origin(NamedTuple):
    """A normalised (scheme, host, port); ``str()`` is ``scheme://host[:port]``."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


def origin_of(url: str | httpx.URL) -> Origin:
    """The origin of an absolute http(s) URL; ValueError for anything else."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL (scheme {scheme or 'missing'!r})")
    if not parsed.raw_host:
        raise ValueError("a URL that names no host")
    host = parsed.raw_host.decode("ascii").lower()  # IDNA-encoded: one spelling per host
    return Origin(scheme, host, parsed.port or _DEFAULT_PORTS[scheme])


def refusal(
    allowed: Iterable[Origin], url: str | httpx.URL, *, came_from: str | httpx.URL | None = None
) -> str | None:
    """Why a request to ``url`` must not be sent, or None when it may be.

    ``allowed`` is the connection's origins; ``came_from`` the URL whose answer pointed at
    ``url`` (a redirect), where known: from https, a plain-http target is always refused.
    The reason names origins only, never a path or query (they may carry secrets).
    """
    try:
        target = origin_of(url)
    except httpx.InvalidURL:
        return "it is not a valid URL"
    except ValueError as exc:
        return f"it is {exc}"
    if came_from is not None and target.scheme == "http":
        try:
            source = origin_of(came_from)
        except (ValueError, httpx.InvalidURL):
            source = None
        if source is not None and source.scheme == "https":
            return f"it steps down from {source} to plain http, and {_NO_DOWNGRADE}"
    allowed = set(allowed)
    if target in allowed:
        return None
    if target.scheme == "http" and any(
            o.scheme == "https" and o.host == target.host for o in allowed):
        return (f"it is plain http, while this connection speaks https to {target.host}, "
                f"and {_NO_DOWNGRADE}")
    listed = ", ".join(sorted(map(str, allowed))) or "none"
    return f"it is not one of this connection's origins ({listed})"


class Origins:
    """A connection's allow-list of origins, shared by its layers and extended by service code
    when the service hands out an origin of its own (thread-safe).

    >>> origins = Origins(["https://login.example.com"])
    >>> origins.adopt("https://eu7.example.com", came_from="https://login.example.com/token")
    >>> "https://eu7.example.com/data" in origins
    True
    """

    def __init__(self, urls: Iterable[str | httpx.URL] = ()) -> None:
        self._lock = threading.Lock()
        self._origins: set[Origin] = set()
        for url in urls:
            self.add(url)

    def add(self, url: str | httpx.URL) -> Origin:
        """Allow ``url``'s origin (a base URL, or one the user vouches for)."""
        try:
            origin = origin_of(url)
        except (ValueError, httpx.InvalidURL) as exc:
            raise ConfigError(f"{url!s} cannot be one of a connection's origins: {exc}; give "
                              "an http(s) URL such as https://api.example.com") from None
        with self._lock:
            self._origins.add(origin)
        return origin

    def adopt(self, url: str | httpx.URL, *, came_from: str | httpx.URL,
              service: str | None = None, endpoint: str | None = None) -> None:
        """Allow an origin the service handed out in an answer from ``came_from`` (a token
        response's instance URL); OriginError when that would step down from https to http
        or is no http(s) URL at all."""
        # Its own origin is vouched for by the service; what is left to refuse is a URL
        # that is not http(s), or a step down from the https answer that named it.
        reason = refusal([origin_of(url)] if _is_web(url) else [], url, came_from=came_from)
        if reason is not None:
            raise OriginError(f"the service named {_origin_text(url)} as the "
                              f"address to call, which integkit refuses: {reason}.",
                              service=service, endpoint=endpoint,
                              hint="Ask the service's administrator for an https address.")
        self.add(url)

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str | httpx.URL) or not _is_web(url):
            return False
        with self._lock:
            return origin_of(url) in self._origins

    def __iter__(self) -> Iterator[Origin]:
        with self._lock:
            return iter(sorted(self._origins))

    def __repr__(self) -> str:
        return f"Origins([{', '.join(repr(str(o)) for o in self)}])"

    def refusal(self, url: str | httpx.URL, *,
                came_from: str | httpx.URL | None = None) -> str | None:
        """:func:`refusal` against this allow-list."""
        return refusal(list(self), url, came_from=came_from)

    def check(self, request: httpx.Request) -> None:
        """Raise OriginError unless ``request`` goes to one of these origins (nothing is sent)."""
        reason = self.refusal(request.url)
        if reason is not None:
            trace = trace_of(request)
            raise OriginError(
                f"refused to send {request.method} to {_origin_text(request.url)}: {reason}. "
                "A next-page link, a redirect or an absolute URL pointed there; nothing was "
                "sent.", service=trace.service, endpoint=trace.endpoint,
                hint=_hint(request.url, reason))

    def check_redirect(self, response: httpx.Response) -> None:
        """An httpx response hook: refuse a redirect to another origin, or from https to http,
        before the client builds the next request (so a redirected write never replays its
        body or idempotency key elsewhere); same-origin redirects pass."""
        if not response.has_redirect_location:
            return
        request = response.request
        try:
            target = _redirect_target(request.url, response.headers["Location"])
        except httpx.InvalidURL:
            return  # httpx itself refuses a malformed Location
        reason = self.refusal(target, came_from=request.url)
        if reason is None:
            return
        trace = trace_of(request)
        resent = "" if request.method in ("GET", "HEAD", "OPTIONS") else \
            ", so neither its body nor its headers were sent again"
        raise OriginError(
            f"the service redirected {request.method} to {_origin_text(target)}: {reason}. "
            f"integkit did not follow the redirect{resent}.",
            service=trace.service, endpoint=trace.endpoint, status=response.status_code,
            hint=_hint(target, reason))


class OriginGate(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The pipeline's entry: a request for another origin is refused before it costs anything
    (a cache lookup, a rate-limit token or a wait for one, a unit of quota). The auth layer
    checks again below, where credentials are applied."""

    def __init__(self, inner: Any, origins: Origins) -> None:
        self.inner = inner
        self.origins = origins

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.origins.check(request)
        return self.inner.handle_request(request)  # type: ignore[no-any-return]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.origins.check(request)
        return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _is_web(url: str | httpx.URL) -> bool:
    try:
        origin_of(url)
    except (ValueError, httpx.InvalidURL):
        return False
    return True


def _origin_text(url: str | httpx.URL) -> str:
    """The origin of ``url`` for a message (never its path or query, which may hold secrets)."""
    if _is_web(url):
        return str(origin_of(url))
    try:
        scheme = httpx.URL(url).scheme
    except httpx.InvalidURL:
        return "a malformed URL"
    return f"a {scheme}: URL" if scheme else "a URL without a host"


def _hint(url: httpx.URL, reason: str) -> str:
    """What to do about a refused URL: allow its origin, or ask for https."""
    if _NO_DOWNGRADE in reason or not _is_web(url):
        return "Ask the service for an https address; integkit will not send credentials there."
    return (f"If {origin_of(url)} really is the service's, allow it: ik.connect(..., "
            f"allowed_origins=[\"{origin_of(url)}\"]) or ik.rest(..., allowed_origins=[...]).")


def _redirect_target(url: httpx.URL, location: str) -> httpx.URL:
    """Where a redirect leads, resolved as httpx's client resolves it."""
    target = httpx.URL(location)
    if target.scheme and not target.host:  # "https:/path" style: keep the host
        target = target.copy_with(host=url.host)
    if target.is_relative_url:
        target = url.join(target)
    return target
