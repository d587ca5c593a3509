"""What a listing has already asked for, so that its pages always end and never end early.

A Result keeps one trail per chain of pages. Before the next page is asked for, its request's
identity (method, URL with its query, body; never the headers, where credentials travel) is
looked up among the requests already read: a repeat (A -> B -> A, a cursor going backwards,
a Link header or next-page URL pointing back) is a loop and raises PaginationError instead of
reading for ever. Empty pages that say "more" are followed, but only ``max_empty_pages`` in a
row. Paginators themselves raise PaginationError for a page that says "more" yet gives
nothing to continue from, so a listing never silently stops short.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from .._errors import ConfigError, PaginationError
from .._events import MASK, redact
from ._base import PageRequest

__all__ = [
    "DEFAULT_MAX_EMPTY_PAGES",
    "PageTrail",
    "check_max_empty_pages",
    "describe_request",
    "request_identity",
    "resolved_url",
]

DEFAULT_MAX_EMPTY_PAGES = 20
"""Empty pages in a row that say "more" before a listing is judged stuck. Services do send
a few (Slack filters channels after paging them), never twenty in a row for a live cursor."""

_SECRET_NAME = re.compile(r"token|key|secret|sig|passw|auth|credential|session|code", re.I)
_PAGING_NAME = re.compile(r"page|cursor|next|after|before|offset|locator", re.I)
_JWT = re.compile(r"eyJ[\w-]{6,}\.[\w-]{6,}\.[\w-]*")
_LONGEST = 120


def request_identity(request: PageRequest, url: str | None = None, body: bytes = b"") -> str:
    """A digest naming what ``request`` asks for; ``url`` and ``body``, where the caller can
    resolve them (base URL joined, query encoded), make equal requests equal whatever form
    their URL was given in (relative, or absolute from a Link header)."""
    if url is not None:
        public: Any = [request.method.upper(), url, body.decode("latin-1")]
    else:
        public = [request.method.upper(), request.url, request.params, request.json,
                  request.data]
    raw = json.dumps(public, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _text(value: Any) -> str:
    """A query value as it goes on the wire (as httpx writes it)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def resolved_url(url: str, base_url: str, params: Any = None) -> str:
    """``url`` joined to ``base_url`` with ``params`` (a mapping, or pairs) merged into its
    query, the query sorted and the scheme and host lower-cased: one spelling per request,
    whether its URL came relative with parameters or absolute from a Link header (cheap: no
    httpx request is built for it)."""
    if not urlsplit(url).scheme:
        url = base_url.rstrip("/") + "/" + url.lstrip("/")
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    items = params.items() if isinstance(params, dict) else (params or ())
    for name, value in items:
        for one in value if isinstance(value, list | tuple) else (value,):
            pairs.append((str(name), _text(one)))
    query = urlencode(sorted(pairs))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def _mask(name: str, value: Any) -> str:
    text = str(value)
    if _SECRET_NAME.search(name) and not _PAGING_NAME.search(name):
        return MASK
    text = _JWT.sub(lambda m: m.group(0)[:4] + MASK, redact(text))
    return text if len(text) <= _LONGEST else text[:_LONGEST] + "..."


def describe_request(request: PageRequest) -> str:
    """``request`` as a reader can recognise it (``GET /items?cursor=abc``, the cursor in a
    JSON body shown too), values that look secret masked: a token-like parameter name, a
    registered secret, a JWT."""
    url = httpx.URL(request.url)
    pairs = list(url.params.multi_items())
    pairs += [(str(k), v) for k, v in (request.params or {}).items() if v is not None]
    where = redact(str(url.copy_with(query=None, fragment=None)))
    text = f"{request.method.upper()} {where}"
    if pairs:
        text += "?" + "&".join(f"{k}={_mask(k, v)}" for k, v in pairs)
    body = request.json if isinstance(request.json, dict) else None
    if body is not None:
        fields = {**{k: v for k, v in body.items() if not isinstance(v, dict | list)},
                  **(body.get("variables") or {})}
        shown = [f"{k}={_mask(k, v)}" for k, v in fields.items()
                 if k != "query" and not isinstance(v, dict | list)]
        if shown:
            text += " (body: " + ", ".join(shown) + ")"
    return text


def check_max_empty_pages(value: Any) -> int:
    """``max_empty_pages`` as given, or a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"max_empty_pages must be a whole number of pages (0 or more), "
                          f"not {value!r}")
    return value


@dataclass
class PageTrail:
    """The requests one chain of pages has read (identity -> page number) and how many empty
    pages in a row it has just followed."""

    service: str | None = None
    endpoint: str | None = None
    max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES
    seen: dict[str, int] = field(default_factory=dict)
    empty_run: int = 0

    def fork(self) -> PageTrail:
        """A copy that a reader ahead (prefetch) extends without touching this one."""
        return PageTrail(self.service, self.endpoint, self.max_empty_pages, dict(self.seen),
                         self.empty_run)

    def record(self, key: str | None, empty_run: int) -> None:
        """A page fetched with the request ``key`` is part of the chain now."""
        if key is not None:
            self.seen.setdefault(key, len(self.seen) + 1)
        self.empty_run = empty_run

    def follow(self, key: str, records: int, nxt: PageRequest | None,
               nxt_key: str | None) -> int:
        """Check the step from the page just read (``key``, holding ``records``) to ``nxt``;
        returns the run of empty pages after it, or raises PaginationError."""
        if nxt is None or nxt_key is None:
            return 0
        if nxt_key == key or nxt_key in self.seen:
            number = self.seen.get(nxt_key, len(self.seen) + 1)
            cursor = describe_request(nxt)
            raise PaginationError(
                f"the next page's request repeats the one page {number} was read with: the "
                f"pages loop ({cursor})", cursor=cursor, service=self.service,
                endpoint=self.endpoint)
        run = self.empty_run + 1 if records == 0 else 0
        if run > self.max_empty_pages:
            cursor = describe_request(nxt)
            raise PaginationError(
                f"{run} pages in a row were empty yet said there is more; the next would be "
                f"{cursor}", cursor=cursor, service=self.service, endpoint=self.endpoint,
                hint=f"Stopped rather than follow empty pages for ever. If this API really "
                f"sends long runs of empty pages, pass max_empty_pages= (now "
                f"{self.max_empty_pages}) a larger number.")
        return run
