"""Cache keys: a normalized request, hashed, with every credential reduced to a one-way digest.

Two requests share a cache entry only if they ask for the same thing *as the same caller*:
same method, normalized URL (query sorted, auth and noise params removed), body, content
negotiation and API-version headers, and the same credentials. Credentials only ever enter the
key as a keyed blake2b digest, and the key itself is a digest, so no secret can be read back
from a key (or from a SQL statement or a Redis key name built from it).

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
    "DEFAULT_VARY_HEADERS",
    "SIGNATURE_PARAMS",
    "cache_key",
    "credential_digest",
    "is_credential_header",
    "normalize_url",
    "redacted_url",
    "vary_digests",
]

# Request headers that select a different representation: part of the key.
DEFAULT_VARY_HEADERS = (
    "accept", "accept-language", "stripe-version", "stripe-account", "x-github-api-version",
    "notion-version", "linkedin-version", "anthropic-version", "api-version", "x-api-version",
    "accept-version",
)
_PERSON = b"integkit-cred"


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
    whose credentials will be applied further down the pipeline (a one-way digest).

    Raises ``httpx.RequestNotRead`` for a streaming body that was not read (not cacheable).
    """
    body = request.content
    names = sorted({*DEFAULT_VARY_HEADERS, *(h.lower() for h in vary_headers)})
    negotiated = [
        f"{name}={','.join(request.headers.get_list(name))}"
        for name in names if name in request.headers and not is_credential_header(name)
    ]
    canonical = "\n".join([
        "integkit-cache-v1",
        request.method.upper(),
        normalize_url(request.url, ignored_params, secret_params),
        hashlib.blake2b(body, digest_size=16).hexdigest() if body else "",
        *negotiated,
        "cred=" + credential_digest(request, secret_params),
        "who=" + identity,
    ])
    return hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()
