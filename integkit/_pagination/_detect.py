"""Pick a paginator: by alias from a definition, or by scored guesses from a first response.

``ik.rest()`` reads APIs it has no definition for, so its first page is shown to small pure
detectors, one per paging shape found in the wild: a ``Link`` header, GitLab's
``X-Next-Page``, next-page URLs in the body under the names APIs give them (``next``,
``links.next``, ``next_page_url``, ``@odata.nextLink``, HAL's ``_links.next.href``...),
cursors and page tokens, Stripe's ``has_more``, totals beside a page or an offset. Each says
how sure it is; the surest wins. A detector also recognises its shape on a last page
(``"next": null``), so a one-page answer in a known shape is simply complete.

When nothing fits yet the page looks partial (as many records as the request's page size
asked for, a total above what the page holds, a "more" flag or a next cursor integkit
cannot send back), :func:`detect` says why and which ``paginator=`` to pass, and the Result
warns with :class:`PaginationWarning`: a listing never stops at page one without a word.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .._errors import ConfigError
from .._jsonpath import find
from .._spec import Key, Spec, suggest
from ._base import Paginator
from ._paginators import (
    Cursor,
    GraphQLPageInfo,
    LinkHeader,
    NextUrl,
    Offset,
    PageNumber,
    PageToken,
    SinglePage,
    StartingAfter,
)

__all__ = [
    "ALIASES",
    "PAGE_SIZE_PARAMS",
    "Detection",
    "PaginationWarning",
    "detect",
    "detect_paginator",
    "paginator_from_config",
    "paginator_options",
]

ALIASES: dict[str, type[Paginator]] = {
    "single_page": SinglePage,
    "starting_after": StartingAfter,
    "cursor": Cursor,
    "page_token": PageToken,
    "link_header": LinkHeader,
    "next_url": NextUrl,
    "offset": Offset,
    "page_number": PageNumber,
    "graphql": GraphQLPageInfo,
}

PaginatorSpec = str | dict[str, Any] | Paginator | None

# Query parameters that set how many records a page holds, in the services' words.
PAGE_SIZE_PARAMS = ("limit", "per_page", "page_size", "pageSize", "perPage", "count",
                    "maxResults", "max_results", "size", "_limit", "$top", "top", "rows")
_PAGE_PARAMS = ("page", "_page", "page_number", "pageNumber", "page_no", "pageNo")
_OFFSET_PARAMS = ("offset", "_offset", "skip", "$skip", "start", "startIndex", "start_index")
# Where bodies put the number of records in the whole listing, or of pages.
_TOTAL_PATHS = ("total", "total_count", "totalCount", "count", "total_results",
                "totalResults", "total_items", "totalItems", "total_entries", "@odata.count",
                "meta.total", "meta.total_count", "meta.count", "meta.pagination.total",
                "pagination.total", "pagination.total_count", "paging.total")
_TOTAL_PAGES_PATHS = ("total_pages", "totalPages", "last_page", "page_count", "pageCount",
                      "meta.total_pages", "meta.last_page", "meta.pagination.total_pages",
                      "pagination.total_pages", "pagination.pages")
_TOTAL_HEADERS = ("X-Total-Count", "X-Total")
# Where bodies echo the page, offset and page size they answered.
_BODY_PAGE = ("page", "current_page", "currentPage", "page_number", "pageNumber",
              "meta.current_page", "meta.page", "pagination.page", "pagination.current_page")
_BODY_OFFSET = ("offset", "skip", "start", "startIndex", "meta.offset", "pagination.offset")
_BODY_SIZE = ("per_page", "perPage", "limit", "page_size", "pageSize", "meta.per_page",
              "pagination.per_page", "pagination.limit")
# Containers and names of "more" flags and next-page values (URLs or cursors).
_CONTAINERS = ("", "meta", "pagination", "paging", "links", "page_info", "response_metadata")
_NEXT_URL_KEYS = ("next", "next_url", "nextUrl", "next_link", "nextLink", "next_href",
                  "nextHref", "next_page", "nextPage", "next_page_url", "nextPageUrl")
_NEXT_KEYS = (*_NEXT_URL_KEYS, "next_cursor", "nextCursor", "next_token", "nextToken",
              "NextToken", "next_page_token", "nextPageToken", "continuation",
              "continuationToken", "scroll_id", "_scroll_id")
_MORE_FLAGS = ("has_more", "hasMore", "more", "has_next", "hasNext", "has_next_page",
               "hasNextPage", "moreResults", "more_results")


class PaginationWarning(UserWarning):
    """A listing read one page and found no way to the next, though the page looks partial:
    the message says why, and which ``paginator=`` to pass."""


def paginator_options(cls: type[Paginator]) -> list[str]:
    """The keyword options a paginator class takes (through ``**kw`` to its bases)."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        names += [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                  and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def paginator_from_config(spec: PaginatorSpec) -> Paginator | None:
    """A fresh paginator for one listing from an alias, ``{"type": alias, **options}`` or a
    template instance (copied, so listings never share a cursor); None means "detect".
    Options are keys like any settings' (``cursor_path``, or ``cursorPath``); an unknown one
    is a ConfigError naming it and the closest."""
    if spec is None or spec == "auto":
        return None
    if isinstance(spec, Paginator):
        return copy.deepcopy(spec)
    if not isinstance(spec, str | Mapping):
        raise ConfigError(f"paginator must be an alias like 'cursor', {{'type': alias, ...}} "
                          f"or a Paginator, not {spec!r}")
    options = {"type": spec} if isinstance(spec, str) else dict(spec)
    alias = options.pop("type", None)
    cls = ALIASES.get(alias) if isinstance(alias, str) else None
    if cls is None:
        guess = suggest(str(alias), ALIASES)
        raise ConfigError(
            f"Unknown paginator {alias!r}"
            + (f" (did you mean {guess!r}?)" if guess else "")
            + f"; use one of {sorted(ALIASES)} or a Paginator instance."
        )
    keys = Spec(f"Bad options for paginator {alias!r}",
                [Key(name) for name in paginator_options(cls)])
    try:
        return cls(**keys.read(options))
    except TypeError as exc:
        raise ConfigError(f"Bad options for paginator {alias!r}: {exc}") from None


# -- what detectors look at -------------------------------------------------------------------
@dataclass(frozen=True)
class FirstPage:
    """A first page as the detectors see it: response (headers, the request's query), body
    and the records found in it."""

    response: httpx.Response | None
    data: Any
    records: list[Any]

    @property
    def query(self) -> dict[str, str]:
        """The query the page was asked with (the request as sent)."""
        try:
            request = self.response.request if self.response is not None else None
        except RuntimeError:  # a response built without a request
            request = None
        return dict(request.url.params) if request is not None else {}

    def header(self, name: str) -> str | None:
        return None if self.response is None else self.response.headers.get(name)

    def body(self, path: str) -> Any:
        return find(self.data, path) if isinstance(self.data, dict) else None

    def number(self, paths: tuple[str, ...]) -> tuple[str, int] | None:
        """The first whole number found at one of ``paths`` in the body: (path, value)."""
        for path in paths:
            value = self.body(path)
            if isinstance(value, str) and value.isdecimal():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return path, value
        return None

    def param(self, names: tuple[str, ...]) -> tuple[str, int] | None:
        """The first of ``names`` the request carried as a whole number: (name, value)."""
        query = self.query
        for name in names:
            value = query.get(name, "")
            if value.isdecimal():
                return name, int(value)
        return None

    def total(self) -> tuple[str, str, int] | None:
        """How many records the whole listing holds, where the page says: ("body"|"header",
        path or header name, value)."""
        found = self.number(_TOTAL_PATHS)
        if found is not None:
            return "body", *found
        for name in _TOTAL_HEADERS:
            value = (self.header(name) or "").strip()
            if value.isdecimal():
                return "header", name, int(value)
        return None

    def values(self, keys: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        """(path, value) of each of ``keys`` in the body or one of its paging containers."""
        if not isinstance(self.data, dict):
            return
        for container in _CONTAINERS:
            node = self.data.get(container) if container else self.data
            if not isinstance(node, dict):
                continue
            for key in keys:
                if key in node:
                    yield (f"{container}.{key}" if container else key), node[key]


def _url_like(value: Any) -> bool:
    """Whether a next-page value is a URL (absolute, or relative to the page's own)."""
    if not isinstance(value, str) or not value.strip() or " " in value.strip():
        return False
    text = value.strip()
    return text.startswith(("http://", "https://", "/", "?")) or ("?" in text and "=" in text)


# -- the detectors: (first page) -> (score, paginator, shape) or None ---------------------------
Found = tuple[float, Paginator, str]
Detector = Callable[[FirstPage], Found | None]
_LAST_PAGE = 0.45  # a known shape saying "this is the last page": above totals, below the rest


def _link_header(page: FirstPage) -> Found | None:
    if page.response is None or "link" not in page.response.headers:
        return None
    if "next" in page.response.links:
        return 1.0, LinkHeader(), "a Link header with rel=next"
    return _LAST_PAGE, LinkHeader(), "a Link header without rel=next (the last page)"


def _next_page_header(page: FirstPage) -> Found | None:
    """GitLab: ``X-Next-Page: 2`` (empty on the last page), ``X-Per-Page``, ``page=``."""
    value = page.header("X-Next-Page")
    if value is None:
        return None
    size = page.param(PAGE_SIZE_PARAMS)
    per_page = (page.header("X-Per-Page") or "").strip()
    current = page.param(_PAGE_PARAMS)
    paginator = PageNumber(
        page=current[1] if current else 1, page_param=current[0] if current else "page",
        limit=size[1] if size else (int(per_page) if per_page.isdecimal() else None),
        limit_param=size[0] if size else "per_page", next_page_header="X-Next-Page")
    if value.strip().isdecimal():
        return 0.95, paginator, "an X-Next-Page header"
    return _LAST_PAGE, paginator, "an empty X-Next-Page header (the last page)"


def _body_url(path: str, score: float, done_path: str | None = None) -> Detector:
    """A next-page URL at ``path`` in the body (a link object ``{"href": ...}`` too); the
    key there but empty is this shape's last page."""

    def detect(page: FirstPage) -> Found | None:
        if not isinstance(page.data, dict) or not _present(page.data, path):
            return None
        value, where = page.body(path), path
        if isinstance(value, dict) and "href" in value:
            value, where = value["href"], f"{path}.href"
        if value in (None, ""):
            return _LAST_PAGE, NextUrl(where, done_path=done_path), f"an empty {where}"
        if not _url_like(value):
            return None  # a cursor, not a URL: see _advice
        return score, NextUrl(where, done_path=done_path), f"a next-page URL at {where}"

    return detect


def _any_next_url(page: FirstPage) -> Found | None:
    """A URL under another next-page name (``nextLink``, ``pagination.next_href``...)."""
    for path, value in page.values(_NEXT_URL_KEYS):
        if _url_like(value):
            return 0.5, NextUrl(path), f"a next-page URL at {path}"
    return None


def _present(data: dict[str, Any], path: str) -> bool:
    """Whether the key at ``path`` is there (with any value: an empty one says "no more")."""
    if path in data:
        return True
    head, _, leaf = path.rpartition(".")
    node = find(data, head) if head else data
    return isinstance(node, dict) and leaf in node


def _body_cursor(path: str, score: float, make: Callable[[str, str | None], Paginator]
                 ) -> Detector:
    """An opaque cursor at ``path`` sent back in the query (``make(path, has_more_path)``)."""

    def detect(page: FirstPage) -> Found | None:
        if not isinstance(page.data, dict) or not _present(page.data, path):
            return None
        value = page.body(path)
        more = "has_more" if isinstance(page.data.get("has_more"), bool) else None
        paginator = make(path, more)
        if value in (None, "") or _url_like(value):
            return (None if _url_like(value) else
                    (_LAST_PAGE, paginator, f"an empty {path} (the last page)"))
        # beside has_more (Notion), the cursor, not the last record's id, is the way on
        return score + (0.1 if more else 0.0), paginator, f"a cursor at {path}"

    return detect


def _has_more(page: FirstPage) -> Found | None:
    """Stripe: ``has_more`` and ``starting_after=<id of the last record>``."""
    if not isinstance(page.data, dict) or not isinstance(page.data.get("has_more"), bool):
        return None
    paginator = StartingAfter(limit=None)
    if not page.data["has_more"]:
        return _LAST_PAGE, paginator, "has_more: false (the last page)"
    last = page.records[-1] if page.records else None
    if not isinstance(last, dict) or last.get("id") is None:
        return None  # "more", but nothing to continue from: see _advice
    score = 0.9 if isinstance(page.data.get("data"), list) else 0.7
    return score, paginator, "has_more with record ids"


def _graphql(page: FirstPage) -> Found | None:
    if isinstance(page.body("pageInfo.hasNextPage"), bool):
        return 0.5, GraphQLPageInfo("pageInfo"), "a GraphQL pageInfo"
    return None


def _size(page: FirstPage) -> tuple[int, str | None]:
    """Records on a full page, and the query parameter that sets it (None: not known)."""
    asked = page.param(PAGE_SIZE_PARAMS)
    if asked is not None:
        return asked[1], asked[0]
    echoed = page.number(_BODY_SIZE)
    if echoed is not None:
        name = echoed[0].rpartition(".")[2]
        return echoed[1], name if name in PAGE_SIZE_PARAMS else None
    return len(page.records), None


def _totals(page: FirstPage) -> Found | None:
    """A count of pages, or of records beside the page number or offset asked for (in the
    query, or echoed in the body): page or offset on until the count says the end."""
    pages, total = page.number(_TOTAL_PAGES_PATHS), page.total()
    if pages is None and total is None:
        return None
    size, size_param = _size(page)
    number = page.param(_PAGE_PARAMS)
    echoed_page = page.number(_BODY_PAGE)
    offset = page.param(_OFFSET_PARAMS)
    if offset is None:
        echoed = page.number(_BODY_OFFSET)
        offset = (echoed[0].rpartition(".")[2], echoed[1]) if echoed else None
    current = number[1] if number else echoed_page[1] if echoed_page else 1
    page_param = number[0] if number else "page"
    if pages is not None:
        paginator: Paginator = PageNumber(
            page=current, page_param=page_param, total_pages_path=pages[0],
            limit=size if size_param else None, limit_param=size_param or "per_page")
        return 0.4, paginator, f"a page count at {pages[0]}"
    assert total is not None
    kind, where, count = total
    by_page = offset is None and (number is not None or echoed_page is not None)
    before = offset[1] if offset else (current - 1) * size if by_page else 0
    if count <= before + len(page.records):
        return 0.3, SinglePage(), f"a total ({where}: {count}) this page reaches"
    total_path, total_header = (where, None) if kind == "body" else (None, where)
    if by_page:
        paginator = PageNumber(page=current, page_param=page_param, limit=size,
                               limit_param=size_param or "per_page", total_path=total_path,
                               total_header=total_header)
        return 0.4, paginator, f"a total ({where}) beside a page number"
    if offset is not None:
        paginator = Offset(size, offset=offset[1], offset_param=offset[0],
                           limit_param=size_param or "limit", total_path=total_path,
                           total_header=total_header)
        return 0.4, paginator, f"a total ({where}) beside an offset"
    return None  # a total, but no page or offset to step: see _advice


def _token(path: str, param: str) -> Callable[[str, str | None], Paginator]:
    def make(where: str, more: str | None) -> Paginator:
        return PageToken(cursor_path=where, cursor_param=param, has_more_path=more)
    return make


def _cursor(param: str) -> Callable[[str, str | None], Paginator]:
    def make(where: str, more: str | None) -> Paginator:
        return Cursor(where, param, has_more_path=more)
    return make


_DETECTORS: tuple[Detector, ...] = (
    _link_header,
    _next_page_header,
    _body_url("nextRecordsUrl", 0.95, done_path="done"),      # Salesforce
    _body_url("@odata.nextLink", 0.95),                        # OData (Microsoft Graph)
    _body_url("_links.next", 0.9),                             # HAL
    _has_more,                                                 # Stripe
    _body_cursor("nextPageToken", 0.9, _token("nextPageToken", "pageToken")),  # Google
    _body_cursor("response_metadata.next_cursor", 0.9, _cursor("cursor")),  # Slack
    _body_cursor("meta.next_cursor", 0.85, _cursor("cursor")),
    _body_cursor("next_cursor", 0.8, _cursor("cursor")),
    _body_url("next_page_url", 0.85),                          # Laravel
    _body_url("paging.next", 0.85),                            # Facebook Graph
    _body_url("pagination.next_url", 0.85),                    # Instagram
    _body_url("pagination.next", 0.8),
    _body_url("links.next", 0.8),                              # JSON:API
    _body_url("meta.next", 0.75),
    _body_url("next", 0.75),                                   # Django REST framework
    _any_next_url,
    _graphql,
    _totals,
)


# -- when nothing fits: why the page looks partial, and what to pass ----------------------------
def _id_field(record: Any) -> str | None:
    """The field that looks like a record's id, for ``starting_after``."""
    if not isinstance(record, dict):
        return None
    for name in ("id", "_id", "uuid", "key"):
        if record.get(name) is not None:
            return name
    return next((k for k in record if k.lower().endswith("id") and record[k] is not None),
                None)


def _round(count: int) -> bool:
    """Whether ``count`` looks like a page size someone chose (10, 25, 50, 100, 250...)."""
    return count >= 10 and (count % 10 == 0 or count % 25 == 0)


def _advice(page: FirstPage) -> str | None:
    """Why ``page`` looks like the first of several though no detector found the way on, and
    the ``paginator=`` to pass; None when it looks whole."""
    reasons: list[str] = []
    examples: list[dict[str, Any]] = []
    flags = [path for path, value in page.values(_MORE_FLAGS) if value is True]
    more = {"has_more_path": flags[0]} if flags else {}
    for path, value in page.values(_NEXT_KEYS):
        if value is None or value == "" or isinstance(value, bool | dict | list):
            continue
        if isinstance(value, int):
            reasons.append(f"the body has {path}: {value} (a page number)")
            examples.append({"type": "page_number", "page_param": "page"})
        else:
            reasons.append(f"the body has a next-page value at {path} that is not a URL")
            examples.append({"type": "cursor", "cursor_path": path, "cursor_param": "cursor",
                             **more})
    if flags and not examples:
        reasons.append(f"the body says {flags[0]}: true")
        id_field = _id_field(page.records[-1] if page.records else None)
        if id_field is not None:
            examples.append({"type": "starting_after", "id_field": id_field,
                             "has_more_path": flags[0]})
    total = page.total()
    held = len(page.records)
    asked = page.param(PAGE_SIZE_PARAMS)
    # a total above a page of a page's size (not, say, an invoice's total beside 3 lines)
    if total is not None and total[2] > held and (_round(held) or asked is not None):
        reasons.append(f"the {total[0]} says {total[1]}: {total[2]} records in all")
    if asked is not None and held and held == asked[1]:
        reasons.append(f"it holds {held} records, as many as {asked[0]}={asked[1]} asks for")
    if not reasons:
        return None
    if not examples:
        limit = {"limit": asked[1] if asked else held or 100,
                 "limit_param": asked[0] if asked else "limit"}
        counted: dict[str, Any] = {}
        if total is not None:
            counted = {"total_path" if total[0] == "body" else "total_header": total[1]}
        examples = [{"type": "offset", "offset_param": "offset", **limit, **counted},
                    {"type": "page_number", "page_param": "page", **limit, **counted}]
    shown = " or ".join(f"paginator={example!r}" for example in examples[:2])
    return (f"only its first page was read: {'; '.join(reasons)}, but integkit found no "
            f"next-page link, cursor or page number it can follow. If the API pages, pass "
            f"paginator= to ik.rest(...) or to list(...), e.g. {shown}, with the parameter "
            f"names the API takes (paginators: {', '.join(sorted(ALIASES))}).")


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` made of a first page: the paginator to go on with, the shape it
    recognised, and, when it recognised none though the page looks partial, ``advice``."""

    paginator: Paginator
    shape: str
    advice: str | None = None


def detect(response: httpx.Response | None, data: Any, records: list[Any] | None = None
           ) -> Detection:
    """The paginator of an unknown API from its first page (the surest detector wins);
    a single page, with advice when the page looks partial, if none fits."""
    page = FirstPage(response, data, list(records or []))
    best: Found | None = None
    for detector in _DETECTORS:
        found = detector(page)
        if found is not None and found[0] > 0 and (best is None or found[0] > best[0]):
            best = found
    if best is not None:
        return Detection(best[1], best[2])
    return Detection(SinglePage(), "no paging shape", _advice(page))


def detect_paginator(response: httpx.Response | None, data: Any,
                     records: list[Any] | None = None) -> Paginator:
    """Guess the paginator of an unknown API from its first page; single page if nothing fits."""
    return detect(response, data, records).paginator
