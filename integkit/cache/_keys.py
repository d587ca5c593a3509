"""Cache keys: a normalized request, hashed, with every credential reduced to a one-way digest.

Two requests share a cache entry only if they ask for the same thing *as the same caller*:
same method, normalized URL (query sorted, auth and noise params removed), body, every request
header that may change the answer (all but a known set of transport, tracing and idempotency
headers: so content negotiation, API versions, and the tenant or account a request is made
for all count), and the same credentials. Credentials only ever enter the key as
a blake2b digest, and the key itself is a digest, so no secret can be read back from a key (or
from a SQL statement or a Redis key name built from it).

>>> import httpx
>>> a = httpx.Request("GET", "https://api.example.com/v1/items?b=2&a=1&api_key=sk_1")
>>> b = httpx.Request("GET", "https://api.example.com/v1/items?a=1&b=2&api_key=sk_2")
>>> cache_key(a) == cache_key(b)     # same URL, different API key
False
>>> normalize_url(a.url)
'https://api.example.com/v1/items?a=1&b=2'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlencode

import httpx

# Query parameters that carry a credential (never in a key or an entry, but digested so two
# callers with different keys never share an answer), and those derived from a credential per
# request (signatures, their timestamps: dropped, they differ on every call): one list,
# shared with the redaction of URLs in logs and errors.
from .._events import CREDENTIAL_PARAMS, SIGNATURE_PARAMS, is_credential_header, redact

__all__ = [
    "CREDENTIAL_PARAMS",
    "NEUTRAL_HEADERS",
    "SIGNATURE_PARAMS",
    "answer_headers",
    "cache_key",
    "credential_digest",
    "is_credential_header",
    "is_neutral_header",
    "normalize_url",
    "redacted_url",
    "vary_digests",
]

# Request headers that never change the answer (the connection, the body's framing, the
# caller's software, tracing, idempotency, conditional requests the cache makes itself):
# left out of the key. Every other request header is part of it.
NEUTRAL_HEADERS = frozenset({
    "user-agent", "accept-encoding", "connection", "keep-alive", "host", "content-length",
    "transfer-encoding", "te", "upgrade", "expect", "proxy-connection", "cache-control",
    "pragma", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
    "if-range", "traceparent", "tracestate", "baggage", "sentry-trace", "b3",
})
_NEUTRAL_NAME = re.compile(
    r"request-?id$|correlation-?id$|trace-?id$|idempotency|^x-b3-|^x-amzn-trace|^x-cloud-trace",
    re.IGNORECASE,
)
_PERSON = b"integkit-cred"


def is_neutral_header(name: str) -> bool:
    """Whether a request header never changes the answer (so is left out of keys)."""
    lowered = name.lower()
    return lowered in NEUTRAL_HEADERS or bool(_NEUTRAL_NAME.search(lowered))


def answer_headers(headers: httpx.Headers, keep: Iterable[str] = ()) -> list[str]:
    """``name=value`` for each request header that may change the answer, sorted: all but
    the neutral ones (unless named in ``keep``) and credentials, which count only through
    :func:`credential_digest`."""
    kept = {name.lower() for name in keep}
    names = sorted({
        name.lower() for name in headers
        if not is_credential_header(name) and (name.lower() in kept or not is_neutral_header(name))
    })
    return [f"{name}={','.join(headers.get_list(name))}" for name in names]


def _param_sets(
    secret_params: Iterable[str], ignored_params: Iterable[str]
) -> tuple[frozenset[str], frozenset[str]]:
    secret = CREDENTIAL_PARAMS | {p.lower() for p in secret_params}
    dropped = SIGNATURE_PARAMS | {p.lower() for p in ignored_params}
    return secret, dropped


def normalize_url(
    url: httpx.URL | str,
    ignored_params: Iterable[str] = (),
    secret_params: Iterable[str] = (),
) -> str:
    """Scheme and host lower-cased, default port, userinfo and fragment dropped, query sorted,
    credential, signature and ``ignored_params`` removed."""
    url = httpx.URL(url)
    secret, dropped = _param_sets(secret_params, ignored_params)
    pairs = sorted(
        (k, v) for k, v in url.params.multi_items()
        if k.lower() not in secret and k.lower() not in dropped
    )
    port = f":{url.port}" if url.port is not None else ""
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{url.scheme.lower()}://{url.host.lower()}{port}{url.path or '/'}{query}"


def redacted_url(url: httpx.URL | str, secret_params: Iterable[str] = ()) -> str:
    """The URL as it may be shown or stored: no credential params, registered secrets masked."""
    return redact(normalize_url(url, secret_params=secret_params))


def credential_digest(request: httpx.Request, secret_params: Iterable[str] = ()) -> str:
    """A one-way digest of everything identifying the caller ("" when anonymous)."""
    secret, _ = _param_sets(secret_params, ())
    parts = sorted(
        f"h:{k.lower()}={v}" for k, v in request.headers.multi_items() if is_credential_header(k)
    )
    parts += sorted(
        f"q:{k.lower()}={v}" for k, v in request.url.params.multi_items() if k.lower() in secret
    )
    if request.url.userinfo:
        parts.append(f"u:{request.url.userinfo.decode(errors='replace')}")
    if not parts:
        return ""
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16, person=_PERSON).hexdigest()


def vary_digests(request: httpx.Request, names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(header, digest of the request's value) for each name: what a stored ``Vary`` pins."""
    out = []
    for name in names:
        value = "\n".join(request.headers.get_list(name))
        out.append((name.lower(), hashlib.blake2b(value.encode(), digest_size=8).hexdigest()))
    return tuple(out)


def cache_key(
    request: httpx.Request,
    *,
    ignored_params: Iterable[str] = (),
    vary_headers: Iterable[str] = (),
    secret_params: Iterable[str] = (),
    identity: str = "",
) -> str:
    """The request's cache key: 40 hex chars, one-way, free of secrets. ``identity`` names
    whose credentials will be applied further down the pipeline (a one-way digest);
    ``vary_headers`` are kept even where they are otherwise neutral (``User-Agent``).

    Raises ``httpx.RequestNotRead`` for a streaming body that was not read (not cacheable).
    """
    body = request.content
    canonical = "\n".join([
        "integkit-cache-v2",
        request.method.upper(),
        normalize_url(request.url, ignored_params, secret_params),
        hashlib.blake2b(body, digest_size=16).hexdigest() if body else "",
        *answer_headers(request.headers, keep=vary_headers),
        "cred=" + credential_digest(request, secret_params),
        "who=" + identity,
    ])
    return hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()
