"""The pagination strategies the services use, one small class each.

Slack, for example::

    Cursor(cursor_path="response_metadata.next_cursor", cursor_param="cursor", limit=200)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import httpx

from .._jsonpath import find
from ._base import PageRequest, Paginator, more_without_cursor

__all__ = [
    "Cursor",
    "GraphQLPageInfo",
    "LinkHeader",
    "NextUrl",
    "Offset",
    "PageNumber",
    "PageToken",
    "SinglePage",
    "StartingAfter",
    "graphql_connection",
]


def _header_int(response: httpx.Response | None, name: str | None) -> int | None:
    """A whole number from the header ``name`` (``X-Total-Count: 250``); None when the header
    is absent, empty or not a number (GitLab sends ``X-Next-Page:`` empty on the last page)."""
    if response is None or not name:
        return None
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdecimal() else None


def _set(request: PageRequest, location: str, name: str, value: Any) -> None:
    """Put a pagination value in the query, the JSON body, or GraphQL variables."""
    if location == "query":
        if value is None:
            request.params.pop(name, None)
        else:
            request.params[name] = value
        return
    body = request.json if isinstance(request.json, dict) else {}
    target = body.setdefault("variables", {}) if location == "variables" else body
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value
    request.json = body


class SinglePage(Paginator):
    """The whole answer is one page."""

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        self.has_next_page = False

    def update_request(self, request: PageRequest) -> None:
        raise RuntimeError("SinglePage has no next page")


class StartingAfter(Paginator):
    """Stripe: ``starting_after=<id of the last record>`` while the body says ``has_more``."""

    def __init__(
        self,
        limit: int | None = 100,
        *,
        limit_param: str = "limit",
        cursor_param: str = "starting_after",
        id_field: str = "id",
        has_more_path: str = "has_more",
    ) -> None:
        self.limit = limit
        self.limit_param = limit_param
        self.cursor_param = cursor_param
        self.id_field = id_field
        self.has_more_path = has_more_path
        self._last_id: Any = None

    def init_request(self, request: PageRequest) -> None:
        if self.limit:
            request.params.setdefault(self.limit_param, self.limit)

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        self.has_next_page = bool(find(data, self.has_more_path))
        if not self.has_next_page:
            return
        last = records[-1].get(self.id_field) if records and isinstance(records[-1], dict) \
            else None
        if last is None:
            more_without_cursor(f"{self.has_more_path}: true",
                                f"record {self.id_field!r} (the page is empty)" if not records
                                else f"{self.id_field!r} in its last record")
        self._last_id = last

    def update_request(self, request: PageRequest) -> None:
        request.params[self.cursor_param] = self._last_id


class Cursor(Paginator):
    """An opaque cursor read from the body and sent back in the query or JSON body (Slack)."""

    def __init__(
        self,
        cursor_path: str = "next_cursor",
        cursor_param: str = "cursor",
        *,
        location: str = "query",
        limit: int | None = None,
        limit_param: str = "limit",
        has_more_path: str | None = None,
    ) -> None:
        self.cursor_path = cursor_path
        self.cursor_param = cursor_param
        self.location = location
        self.limit = limit
        self.limit_param = limit_param
        self.has_more_path = has_more_path
        self._cursor: Any = None

    def init_request(self, request: PageRequest) -> None:
        if self.limit:
            _set(request, self.location, self.limit_param, self.limit)

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        self._cursor = find(data, self.cursor_path) or None
        more = find(data, self.has_more_path) if self.has_more_path else None
        if more and not self._cursor:
            more_without_cursor(f"{self.has_more_path}: {more!r}", repr(self.cursor_path))
        self.has_next_page = bool(self._cursor) and more is not False

    def update_request(self, request: PageRequest) -> None:
        _set(request, self.location, self.cursor_param, self._cursor)


class PageToken(Cursor):
    """Google APIs: ``nextPageToken`` in the body, ``pageToken`` in the query."""

    def __init__(self, limit: int | None = None, *, limit_param: str = "pageSize", **kw: Any):
        kw.setdefault("cursor_path", "nextPageToken")
        kw.setdefault("cursor_param", "pageToken")
        super().__init__(limit=limit, limit_param=limit_param, **kw)


class LinkHeader(Paginator):
    """RFC 8288 ``Link: <...>; rel="next"`` (GitHub, Shopify): follow the URL as given."""

    def __init__(
        self, rel: str = "next", *, limit: int | None = None, limit_param: str = "per_page"
    ):
        self.rel = rel
        self.limit = limit
        self.limit_param = limit_param
        self._next: str | None = None

    def init_request(self, request: PageRequest) -> None:
        if self.limit:
            request.params.setdefault(self.limit_param, self.limit)

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        link = response.links.get(self.rel)
        self._next = urljoin(str(response.url), link["url"]) if link and link.get("url") else None
        self.has_next_page = self._next is not None

    def update_request(self, request: PageRequest) -> None:
        request.url, request.params = self._next or request.url, {}


class NextUrl(Paginator):
    """A next-page URL in the body, absolute or relative (Salesforce ``nextRecordsUrl``)."""

    def __init__(self, next_url_path: str = "next", *, done_path: str | None = None):
        self.next_url_path = next_url_path
        self.done_path = done_path
        self._next: str | None = None

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        nxt = find(data, self.next_url_path)
        self._next = urljoin(str(response.url), nxt) if nxt else None
        done = find(data, self.done_path) if self.done_path else None
        if done is False and self._next is None:
            more_without_cursor(f"{self.done_path}: false", repr(self.next_url_path))
        self.has_next_page = self._next is not None and not done

    def update_request(self, request: PageRequest) -> None:
        request.url, request.params = self._next or request.url, {}


class Offset(Paginator):
    """``offset``/``limit``: step by the page size until a short page or the known total."""

    def __init__(
        self,
        limit: int = 100,
        *,
        offset: int = 0,
        offset_param: str = "offset",
        limit_param: str = "limit",
        total_path: str | None = None,
        total_header: str | None = None,
        stop: int | None = None,
    ) -> None:
        self.limit = limit
        self.offset = offset
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.total_path = total_path
        self.total_header = total_header  # the total in a header (``X-Total-Count``)
        self.stop = stop  # a slice of the listing ends here (see split)
        self.known_total: int | None = None

    def init_request(self, request: PageRequest) -> None:
        request.params[self.offset_param] = self.offset
        request.params[self.limit_param] = self._page_size()

    def _page_size(self) -> int:
        return self.limit if self.stop is None else max(1, min(self.limit,
                                                              self.stop - self.offset))

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        found = self.total(data)
        if found is None:
            found = _header_int(response, self.total_header)
        if not records and found is not None and self.offset < found:
            more_without_cursor(f"{self.total_path or self.total_header}: {found} past offset "
                                f"{self.offset}",
                                "records (the page is empty, so the offset cannot advance)")
        self.offset += len(records)
        if found is not None:
            self.known_total = found
        end = min(x for x in (self.known_total, self.stop) if x is not None) \
            if self.known_total is not None or self.stop is not None else None
        if end is not None:
            self.has_next_page = bool(records) and self.offset < end
        else:
            self.has_next_page = len(records) >= self.limit

    @property
    def can_split(self) -> bool:
        return self.total_path is not None

    def total(self, data: Any) -> int | None:
        value = find(data, self.total_path) if self.total_path else None
        return int(value) if value is not None else None

    def split(self, total: int, parts: int) -> list[Paginator]:
        pages = -(-(total - self.offset) // self.limit)
        per = max(1, -(-pages // parts)) * self.limit  # whole pages per slice
        return [Offset(self.limit, offset=start, offset_param=self.offset_param,
                       limit_param=self.limit_param, total_path=self.total_path,
                       total_header=self.total_header, stop=min(total, start + per))
                for start in range(self.offset, total, per)]

    def update_request(self, request: PageRequest) -> None:
        request.params[self.offset_param] = self.offset
        request.params[self.limit_param] = self._page_size()


class PageNumber(Paginator):
    """``page=1,2,3...`` until the last page: the one the total page count names (or the
    total of records, ``total_path`` / ``total_header``, over the page size), or the one a
    ``next_page_header`` leaves empty (GitLab's ``X-Next-Page``); without any of these, until
    an empty (or short) page."""

    def __init__(
        self,
        *,
        page: int = 1,
        page_param: str = "page",
        limit: int | None = None,
        limit_param: str = "per_page",
        total_pages_path: str | None = None,
        total_path: str | None = None,
        total_header: str | None = None,
        next_page_header: str | None = None,
        stop: int | None = None,
    ) -> None:
        self.page = page
        self.page_param = page_param
        self.limit = limit
        self.limit_param = limit_param
        self.total_pages_path = total_pages_path
        self.total_path = total_path  # records in the whole listing (``total: 250``)
        self.total_header = total_header  # the same, in a header (``X-Total-Count``)
        self.next_page_header = next_page_header  # the next page's number, in a header
        self.stop = stop  # a slice of the listing ends before this page (see split)
        self._size: int | None = None  # records on a full page, when no limit was given

    def init_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self.page
        if self.limit:
            request.params[self.limit_param] = self.limit

    def _pages(self, response: httpx.Response | None, data: Any) -> int | None:
        """The listing's page count, where the page says it (or its records total does)."""
        pages = self.total(data)
        if pages is not None or self.total_pages_path is not None:
            return pages
        records = find(data, self.total_path) if self.total_path else None
        if records is None:
            records = _header_int(response, self.total_header)
        size = self.limit or self._size
        return -(-int(records) // size) if records is not None and size else None

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        if self._size is None and records:
            self._size = len(records)
        if self.next_page_header is not None:
            following = _header_int(response, self.next_page_header)
            self.has_next_page = following is not None
            self.page = following if following is not None else self.page + 1
        else:
            total_pages = self._pages(response, data)
            if total_pages is not None:
                self.has_next_page = self.page < total_pages
            elif self.limit:
                self.has_next_page = len(records) >= self.limit
            else:
                self.has_next_page = bool(records)
            self.page += 1
        if self.stop is not None and self.page >= self.stop:
            self.has_next_page = False

    @property
    def can_split(self) -> bool:
        return self.total_pages_path is not None or (
            self.total_path is not None and bool(self.limit))

    def total(self, data: Any) -> int | None:
        if self.total_pages_path:
            value = find(data, self.total_pages_path)
            return int(value) if value is not None else None
        if self.total_path and self.limit:
            value = find(data, self.total_path)
            return -(-int(value) // self.limit) if value is not None else None
        return None

    def split(self, total: int, parts: int) -> list[Paginator]:
        last = total + 1  # pages are numbered from self.page to total
        per = max(1, -(-(last - self.page) // parts))
        return [PageNumber(page=start, page_param=self.page_param, limit=self.limit,
                           limit_param=self.limit_param, total_pages_path=self.total_pages_path,
                           total_path=self.total_path, stop=min(last, start + per))
                for start in range(self.page, last, per)]

    def update_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self.page


def graphql_connection(data: Any) -> str | None:
    """The dotted path of the first GraphQL connection (an object with ``edges`` or
    ``nodes``) in ``data``, depth first: ``"data.products"``, ``"data.order.lineItems"``;
    None when there is none."""
    def walk(node: Any, prefix: str) -> str | None:
        if not isinstance(node, dict):
            return None
        if "edges" in node or "nodes" in node:
            return prefix
        for key, value in node.items():
            found = walk(value, f"{prefix}.{key}" if prefix else key)
            if found is not None:
                return found
        return None

    return walk(data, "")


class GraphQLPageInfo(Paginator):
    """GraphQL connections: ``pageInfo {hasNextPage endCursor}`` -> ``variables.after``.

    Without ``page_info_path``, the ``pageInfo`` of the first connection in each answer
    (see :func:`graphql_connection`), so a query needs no path said twice.
    """

    def __init__(self, page_info_path: str | None = None, *, cursor_variable: str = "after"):
        self.page_info_path = page_info_path
        self.cursor_variable = cursor_variable
        self._cursor: str | None = None

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        path = self.page_info_path
        if path is None:
            connection = graphql_connection(data)
            path = None if connection is None else \
                f"{connection}.pageInfo" if connection else "pageInfo"
        info = (find(data, path) if path is not None else None) or {}
        self._cursor = info.get("endCursor")
        self.has_next_page = bool(info.get("hasNextPage"))
        if self.has_next_page and self._cursor is None:
            more_without_cursor("hasNextPage: true", "endCursor")

    def update_request(self, request: PageRequest) -> None:
        _set(request, "variables", self.cursor_variable, self._cursor)
