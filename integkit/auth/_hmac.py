"""HMAC request signing for custom APIs, with the verifier built from the same definition.

A request is signed over a canonical string, one item per line::

    POST                                  the method
    /v1/orders?a=1&b=2                    the path and the query, sorted and re-encoded
    1718000000                            the timestamp header's value
    6f1c...                               the nonce header's value (empty without nonces)
    content-type:application/json         each signed header, lower-cased, spaces folded
    host:api.example.com
    3a7bd3e2360a3d...                     SHA-256 of the body, hex (or UNSIGNED-PAYLOAD)

and the signature goes out as ``Authorization: HMAC <key_id>:<base64 signature>`` (the header,
the template, the hash, the signed headers and the encoding are all settings).
``verify_hmac`` rebuilds the string with the same :class:`HmacScheme`, so a client and a
server can never disagree about canonicalisation; it compares in constant time, refuses
timestamps outside a window, and refuses a nonce seen before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Generator, Mapping, MutableSet, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import httpx

from .._errors import ConfigError, SignatureError
from .._events import register_secret
from .._validate import duration
from ._identity import digest
from ._rotation import mask

__all__ = ["Hmac", "HmacScheme", "canonical_target", "verify_hmac"]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_FIELDS = ("key_id", "signature", "algorithm", "timestamp", "nonce", "headers")
_FIELD_PATTERNS = {"key_id": r"[^\s:,;\"]+?", "signature": r"[A-Za-z0-9+/=_-]+"}
SecretLookup = str | bytes | Mapping[str, str | bytes] | Callable[[str], str | bytes | None]


def canonical_target(target: str) -> str:
    """The path and query of ``target`` (a URL or ``/path?query``) in one spelling: percent-
    encoding normalised and query parameters sorted, so that client and server frameworks
    that encode differently still agree."""
    parts = urlsplit(target)
    path = quote(unquote(parts.path or "/"), safe="/~!$&'()*+,;=:@")
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = urlencode(pairs, quote_via=quote, safe="~")
    return f"{path}?{query}" if query else path


def _as_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode()


@dataclass(frozen=True)
class HmacScheme:
    """The wire format of one HMAC scheme, shared by the signer and the verifier.

    Args:
        algorithm: a ``hashlib`` name (``sha256``, ``sha512``, ``sha1``...).
        header: where the signature goes.
        template: its format; ``{key_id}`` and ``{signature}`` are required, ``{algorithm}``,
            ``{timestamp}``, ``{nonce}`` and ``{headers}`` (the signed names, ``;``-joined)
            are available.
        signed_headers: request headers covered by the signature (case-insensitive).
        include_body_digest: cover the body by its SHA-256 (else ``UNSIGNED-PAYLOAD``).
        timestamp_header: ``X-Timestamp`` (epoch seconds), or ``Date`` (an HTTP date).
        nonce_header: a random value per request, for replay protection; None for none.
        encoding: the signature as ``base64`` or ``hex``.
    """

    algorithm: str = "sha256"
    header: str = "Authorization"
    template: str = "HMAC {key_id}:{signature}"
    signed_headers: Sequence[str] = ("host", "content-type")
    include_body_digest: bool = True
    timestamp_header: str = "X-Timestamp"
    nonce_header: str | None = "X-Nonce"
    encoding: str = "base64"
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            hashlib.new(self.algorithm)
        except (ValueError, TypeError):
            raise ConfigError(f"Hmac: unknown algorithm {self.algorithm!r}; use a hashlib "
                              "name such as 'sha256' or 'sha512'") from None
        if self.encoding not in ("base64", "hex"):
            raise ConfigError(f"Hmac: encoding must be 'base64' or 'hex', not {self.encoding!r}")
        names = re.findall(r"\{(\w*)\}", self.template)
        unknown = [n for n in names if n not in _FIELDS]
        if unknown or "key_id" not in names or "signature" not in names:
            raise ConfigError(f"Hmac: template {self.template!r} needs {{key_id}} and "
                              f"{{signature}} and may use only {', '.join(_FIELDS)}")
        object.__setattr__(self, "signed_headers",
                           tuple(h.strip().lower() for h in self.signed_headers))
        pattern, pos = [], 0
        for match in re.finditer(r"\{(\w+)\}", self.template):
            pattern.append(re.escape(self.template[pos:match.start()]))
            name = match.group(1)
            pattern.append(f"(?P<{name}>{_FIELD_PATTERNS.get(name, '.+?')})")
            pos = match.end()
        pattern.append(re.escape(self.template[pos:]))
        object.__setattr__(self, "_pattern", re.compile("".join(pattern)))

    def body_digest(self, body: bytes) -> str:
        return hashlib.sha256(body).hexdigest() if self.include_body_digest else UNSIGNED_PAYLOAD

    def canonical(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> bytes:
        """The string to sign. ``headers`` must hold the timestamp (and nonce) headers."""
        lower = {k.lower(): v for k, v in headers.items()}
        lines = [
            method.upper(),
            canonical_target(target),
            lower.get(self.timestamp_header.lower(), ""),
            lower.get(self.nonce_header.lower(), "") if self.nonce_header else "",
            *(f"{name}:{' '.join(lower.get(name, '').split())}" for name in self.signed_headers),
            self.body_digest(body),
        ]
        return "\n".join(lines).encode()

    def signature(self, secret: str | bytes, canonical: bytes) -> str:
        digest = hmac.new(_as_bytes(secret), canonical, self.algorithm).digest()
        return base64.b64encode(digest).decode() if self.encoding == "base64" else digest.hex()

    def render(self, key_id: str, signature: str, timestamp: str, nonce: str) -> str:
        """The signature header's value."""
        return self.template.format(
            key_id=key_id, signature=signature, algorithm=self.algorithm, timestamp=timestamp,
            nonce=nonce, headers=";".join(self.signed_headers),
        )

    def parse(self, value: str) -> tuple[str, str]:
        """``(key_id, signature)`` from a signature header; SignatureError if malformed."""
        match = self._pattern.fullmatch(value.strip())
        if match is None:
            raise SignatureError(f"the {self.header} header is not of the form "
                                 f"{self.template!r}")
        return match.group("key_id"), match.group("signature")

    def timestamp(self, now: float) -> str:
        if self.timestamp_header.lower() == "date":
            return formatdate(now, usegmt=True)
        return str(int(now))


class Hmac(httpx.Auth):
    """Sign every request with a shared secret (a generic scheme for custom APIs).

    Adds the timestamp and nonce headers, then the signature header. The same settings, given
    to :func:`verify_hmac` (or as ``scheme=hmac_auth.scheme``), check it on the server.

    >>> auth = Hmac("key_123", "s3cr3t-value", signed_headers=("host", "content-type"))
    >>> auth
    Hmac(key_id='key_123', secret=s3cr***, header='Authorization')
    >>> request = auth.sign(httpx.Request("POST", "https://api.example.com/v1/orders",
    ...                                   json={"id": 1}))
    >>> request.headers["Authorization"].startswith("HMAC key_123:")
    True
    """

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        secret: str | bytes,
        *,
        algorithm: str = "sha256",
        header: str = "Authorization",
        template: str = "HMAC {key_id}:{signature}",
        signed_headers: Sequence[str] = ("host", "content-type"),
        include_body_digest: bool = True,
        timestamp_header: str = "X-Timestamp",
        nonce_header: str | None = "X-Nonce",
        encoding: str = "base64",
        scheme: HmacScheme | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ConfigError("Hmac needs a non-empty secret")
        register_secret(secret)
        self.key_id = key_id
        self._secret = secret
        self.scheme = scheme or HmacScheme(
            algorithm=algorithm, header=header, template=template,
            signed_headers=tuple(signed_headers), include_body_digest=include_body_digest,
            timestamp_header=timestamp_header, nonce_header=nonce_header, encoding=encoding,
        )
        self._clock = clock

    @property
    def identity(self) -> str:
        """The key id and secret, as a one-way name."""
        secret = self._secret.decode(errors="replace") if isinstance(self._secret, bytes) \
            else self._secret
        return "hmac:" + digest(self.key_id, secret)

    def sign(self, request: httpx.Request) -> httpx.Request:
        """Add the timestamp, nonce and signature headers to ``request`` (its body read)."""
        scheme = self.scheme
        timestamp = scheme.timestamp(self._clock())
        request.headers[scheme.timestamp_header] = timestamp
        nonce = ""
        if scheme.nonce_header:
            nonce = secrets.token_hex(16)
            request.headers[scheme.nonce_header] = nonce
        canonical = scheme.canonical(request.method, request.url.raw_path.decode("ascii"),
                                     request.headers, request.content)
        signature = scheme.signature(self._secret, canonical)
        request.headers[scheme.header] = scheme.render(self.key_id, signature, timestamp, nonce)
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.sign(request)

    def verify(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
               **options: Any) -> str:
        """Check a request signed with this key (a one-key server, or a test)."""
        return verify_hmac(method, url, headers, body, {self.key_id: self._secret},
                           scheme=self.scheme, **options)

    def __repr__(self) -> str:
        secret = self._secret if isinstance(self._secret, str) else self._secret.decode(
            errors="ignore")
        return (f"Hmac(key_id={self.key_id!r}, secret={mask(secret)}, "
                f"header={self.scheme.header!r})")


def _lookup(secrets_: SecretLookup, key_id: str) -> str | bytes | None:
    if isinstance(secrets_, str | bytes):
        return secrets_
    if isinstance(secrets_, Mapping):
        return secrets_.get(key_id)
    return secrets_(key_id)


def _timestamp_of(value: str) -> float:
    value = value.strip()
    if value.isdigit():
        return float(value)
    return parsedate_to_datetime(value).timestamp()


def verify_hmac(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: SecretLookup,
    *,
    scheme: HmacScheme | None = None,
    max_age: float | str = 300.0,
    now: float | None = None,
    seen_nonces: MutableSet[str] | None = None,
    **options: Any,
) -> str:
    """Check an HMAC-signed request; return its key id, or raise SignatureError saying why.

    Args:
        method, url, headers, body: the request as received (``url`` may be the full URL or
            just the path and query).
        secrets: the secret, a ``{key_id: secret}`` mapping, or a function of the key id
            (returning None for an unknown key).
        scheme: the client's :class:`HmacScheme` (or pass the same keyword options as
            :class:`Hmac`, e.g. ``algorithm="sha512"``).
        max_age: how far the timestamp may be from ``now``, either way (any duration:
            ``300``, ``"5m"``).
        seen_nonces: nonces already accepted (a set the caller keeps, e.g. per window); a
            repeat is refused as a replay and each accepted nonce is added.

    >>> verify_hmac(request.method, str(request.url), request.headers, await request.body(),
    ...             {"key_123": SECRET})                                  # doctest: +SKIP
    'key_123'
    """
    max_age = duration(max_age, "max_age")
    scheme = scheme or HmacScheme(**options)
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get(scheme.header.lower())
    if not value:
        raise SignatureError(f"the request has no {scheme.header} header: it is not signed")
    key_id, signature = scheme.parse(value)
    secret = _lookup(secrets, key_id)
    if not secret:
        raise SignatureError(f"unknown key id {key_id!r}")
    stamp = lower.get(scheme.timestamp_header.lower())
    if not stamp:
        raise SignatureError(f"the request has no {scheme.timestamp_header} header")
    try:
        sent = _timestamp_of(stamp)
    except (TypeError, ValueError):
        raise SignatureError(f"{scheme.timestamp_header} {stamp!r} is not a timestamp") from None
    moment = time.time() if now is None else now
    if abs(moment - sent) > max_age:
        raise SignatureError(
            f"{scheme.timestamp_header} is {moment - sent:+.0f}s from now, outside the "
            f"{max_age:.0f}s window: a replayed request, or a clock that is off"
        )
    expected = scheme.signature(secret, scheme.canonical(method, url, lower, body))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("the signature does not match: the method, path, query, body, "
                             "signed headers or secret differ from what was signed")
    if seen_nonces is not None and scheme.nonce_header:
        nonce = lower.get(scheme.nonce_header.lower(), "")
        if not nonce:
            raise SignatureError(f"the request has no {scheme.nonce_header} header")
        if nonce in seen_nonces:
            raise SignatureError(f"{scheme.nonce_header} was used before: a replayed request")
        seen_nonces.add(nonce)
    return key_id
