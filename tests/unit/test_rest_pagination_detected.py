"""``ik.rest`` never silently stops at page one (issue 10, item 3).

A scripted server over real loopback HTTP (``home``) holds 250 records and pages them 25 at a
time in the shape one family of APIs uses: a next URL in the body under each of the names
APIs give it, a link object (HAL), cursors and page tokens, Stripe's ``has_more``, totals
beside a page number or an offset, GitLab's and json-server's headers. With no
``paginator=``, each listing reads all 250 records in 10 pages, without a warning. Where no
shape fits yet the first page looks partial, a PaginationWarning says why and which
``paginator=`` to pass, and passing the example it gives reads everything.
"""

from __future__ import annotations

import ast
import base64
import re
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik
from integkit._pagination import (
    Cursor,
    LinkHeader,
    NextUrl,
    Offset,
    PageNumber,
    PageToken,
    SinglePage,
    StartingAfter,
)

TOTAL, SIZE = 250, 25
RECORDS = [{"id": f"o{i:03d}", "n": i} for i in range(TOTAL)]
IDS = [r["id"] for r in RECORDS]


def token(index: int) -> str:
    return base64.urlsafe_b64encode(f"at:{index}".encode()).decode()


def untoken(value: str | None) -> int:
    return int(base64.urlsafe_b64decode(value.encode()).decode()[3:]) if value else 0


def number(request: Request, name: str, default: int) -> int:
    return int(request.query_params.get(name, default))


def by_page(request: Request, param: str = "page", size_param: str = "per_page"
            ) -> tuple[int, list[dict[str, Any]], bool]:
    """The page asked for (1-based), its records, and whether another follows."""
    page, size = number(request, param, 1), number(request, size_param, SIZE)
    return page, RECORDS[(page - 1) * size: page * size], page * size < TOTAL


def by_offset(request: Request, param: str = "offset", size_param: str = "limit"
              ) -> tuple[int, list[dict[str, Any]], bool]:
    start, size = number(request, param, 0), number(request, size_param, SIZE)
    return start, RECORDS[start:start + size], start + size < TOTAL


def by_cursor(request: Request, param: str = "cursor") -> tuple[list[dict[str, Any]], str]:
    start = untoken(request.query_params.get(param))
    end = start + SIZE
    return RECORDS[start:end], token(end) if end < TOTAL else ""


def base(request: Request) -> str:
    return str(request.url.replace(query=""))


# -- one server-side handler per paging shape ----------------------------------------------------
def drf(request: Request) -> Response:
    """Django REST framework: ``count``, ``next`` (absolute URL or null), ``results``."""
    page, chunk, more = by_page(request)
    return JSONResponse({"count": TOTAL, "next": f"{base(request)}?page={page + 1}" if more
                         else None, "previous": None, "results": chunk})


def json_api(request: Request) -> Response:
    """JSON:API: ``data``, ``links.next`` (relative), ``meta.total``."""
    page = number(request, "page[number]", 1)
    chunk = RECORDS[(page - 1) * SIZE: page * SIZE]
    links = {"self": f"/items?page[number]={page}"}
    if page * SIZE < TOTAL:
        links["next"] = f"/items?page[number]={page + 1}"
    return JSONResponse({"data": chunk, "links": links, "meta": {"total": TOTAL}})


def meta_next(request: Request) -> Response:
    chunk, cursor = by_cursor(request)
    return JSONResponse({"data": chunk, "meta": {"next": f"/items?cursor={cursor}"
                                                  if cursor else None}})


def laravel(request: Request) -> Response:
    """Laravel's paginator: ``current_page``, ``next_page_url`` (absolute), ``last_page``."""
    page, chunk, more = by_page(request)
    return JSONResponse({
        "current_page": page, "data": chunk, "per_page": SIZE, "total": TOTAL,
        "last_page": TOTAL // SIZE, "prev_page_url": None,
        "next_page_url": f"{base(request)}?page={page + 1}" if more else None})


def odata(request: Request) -> Response:
    """OData (Microsoft Graph): ``value`` and ``@odata.nextLink`` with ``$skip``."""
    start, chunk, more = by_offset(request, "$skip", "$top")
    body: dict[str, Any] = {"@odata.context": "$metadata#items", "value": chunk}
    if more:
        body["@odata.nextLink"] = f"{base(request)}?$skip={start + SIZE}"
    return JSONResponse(body)


def facebook(request: Request) -> Response:
    """Facebook Graph: ``data``, ``paging.cursors`` and ``paging.next`` (absolute)."""
    chunk, cursor = by_cursor(request, "after")
    paging: dict[str, Any] = {"cursors": {"before": token(0), "after": cursor or token(TOTAL)}}
    if cursor:
        paging["next"] = f"{base(request)}?after={cursor}&limit={SIZE}"
    return JSONResponse({"data": chunk, "paging": paging})


def pagination_next(request: Request) -> Response:
    page, chunk, more = by_page(request)
    return JSONResponse({"items": chunk, "pagination": {
        "page": page, "next": f"/items?page={page + 1}" if more else None}})


def hal(request: Request) -> Response:
    """HAL: records in ``_embedded.orders``, ``_links.next.href``."""
    page, chunk, more = by_page(request)
    links: dict[str, Any] = {"self": {"href": f"/items?page={page}"}}
    if more:
        links["next"] = {"href": f"/items?page={page + 1}"}
    return JSONResponse({"_embedded": {"orders": chunk}, "_links": links, "total": TOTAL})


def next_cursor(request: Request) -> Response:
    chunk, cursor = by_cursor(request)
    return JSONResponse({"items": chunk, "next_cursor": cursor or None})


def meta_next_cursor(request: Request) -> Response:
    chunk, cursor = by_cursor(request)
    return JSONResponse({"data": chunk, "meta": {"next_cursor": cursor}})


def slack(request: Request) -> Response:
    chunk, cursor = by_cursor(request)
    return JSONResponse({"ok": True, "members": chunk,
                         "response_metadata": {"next_cursor": cursor}})


def google(request: Request) -> Response:
    chunk, cursor = by_cursor(request, "pageToken")
    body: dict[str, Any] = {"kind": "drive#fileList", "files": chunk}
    if cursor:
        body["nextPageToken"] = cursor
    return JSONResponse(body)


def stripe(request: Request) -> Response:
    after = request.query_params.get("starting_after")
    start = IDS.index(after) + 1 if after else 0
    chunk = RECORDS[start:start + SIZE]
    return JSONResponse({"object": "list", "data": chunk, "has_more": start + SIZE < TOTAL})


def total_and_page(request: Request) -> Response:
    page, chunk, _ = by_page(request)
    return JSONResponse({"items": chunk, "total": TOTAL, "page": page, "per_page": SIZE})


def total_and_offset(request: Request) -> Response:
    start, chunk, _ = by_offset(request)
    return JSONResponse({"items": chunk, "total": TOTAL, "offset": start, "limit": SIZE})


def gitlab(request: Request) -> Response:
    """GitLab: a bare list, ``X-Next-Page`` (empty on the last page), ``X-Total``."""
    page, chunk, more = by_page(request)
    return JSONResponse(chunk, headers={
        "X-Page": str(page), "X-Per-Page": str(SIZE), "X-Total": str(TOTAL),
        "X-Total-Pages": str(TOTAL // SIZE), "X-Next-Page": str(page + 1) if more else ""})


def json_server(request: Request) -> Response:
    """json-server: a bare list for ``_page``/``_limit``, the total in ``X-Total-Count``."""
    _, chunk, _ = by_page(request, "_page", "_limit")
    return JSONResponse(chunk, headers={"X-Total-Count": str(TOTAL)})


def total_header_offset(request: Request) -> Response:
    _, chunk, _ = by_offset(request)
    return JSONResponse({"rows": chunk}, headers={"X-Total-Count": str(TOTAL)})


def link_header(request: Request) -> Response:
    page, chunk, more = by_page(request)
    headers = {"Link": f'<{base(request)}?page={page + 1}>; rel="next"'} if more else {}
    return JSONResponse(chunk, headers=headers)


Shape = tuple[Callable[[Request], Response], dict[str, Any], type, str | None]
SHAPES: dict[str, Shape] = {
    # name: (handler, parameters of the first request, paginator detected, what it reads)
    "next (Django REST framework)": (drf, {}, NextUrl, "next"),
    "links.next (JSON:API)": (json_api, {}, NextUrl, "links.next"),
    "meta.next": (meta_next, {}, NextUrl, "meta.next"),
    "next_page_url (Laravel)": (laravel, {}, NextUrl, "next_page_url"),
    "@odata.nextLink (OData)": (odata, {"$top": SIZE}, NextUrl, "@odata.nextLink"),
    "paging.next (Facebook Graph)": (facebook, {"limit": SIZE}, NextUrl, "paging.next"),
    "pagination.next": (pagination_next, {}, NextUrl, "pagination.next"),
    "_links.next.href (HAL)": (hal, {}, NextUrl, "_links.next.href"),
    "next_cursor": (next_cursor, {}, Cursor, "next_cursor"),
    "meta.next_cursor": (meta_next_cursor, {}, Cursor, "meta.next_cursor"),
    "response_metadata.next_cursor (Slack)": (slack, {}, Cursor,
                                              "response_metadata.next_cursor"),
    "nextPageToken (Google)": (google, {}, PageToken, "nextPageToken"),
    "has_more + last id (Stripe)": (stripe, {"limit": SIZE}, StartingAfter, None),
    "total + page": (total_and_page, {}, PageNumber, None),
    "total + offset": (total_and_offset, {}, Offset, None),
    "Link header": (link_header, {}, LinkHeader, None),
    "X-Next-Page header (GitLab)": (gitlab, {"per_page": SIZE}, PageNumber, None),
    "X-Total-Count header (json-server)": (json_server, {"_page": 1, "_limit": SIZE},
                                           PageNumber, None),
    "X-Total-Count header + offset": (total_header_offset, {"offset": 0, "limit": SIZE},
                                      Offset, None),
}


def rest(home, **options: Any) -> ik.Connection:
    return ik.rest(home.url, rate_limit=False, cache=False, account=uuid.uuid4().hex[:10],
                   **options)


def quietly(read: Callable[[], Any]) -> tuple[Any, list[warnings.WarningMessage]]:
    """``read()``, and the PaginationWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = read()
    return value, [w for w in caught if issubclass(w.category, ik.PaginationWarning)]


@pytest.mark.parametrize("shape", SHAPES)
def test_each_paging_shape_is_detected_and_read_to_the_last_record(home, shape: str) -> None:
    handler, params, kind, path = SHAPES[shape]
    home.route("/items", handler)
    result = rest(home).list("/items", **params)
    ids, caught = quietly(lambda: [r["id"] for r in result])
    assert ids == IDS
    assert result.stats.pages == TOTAL // SIZE == len(home.seen)
    assert type(result._paginator) is kind  # noqa: SLF001
    if path is not None:
        assert path in (getattr(result._paginator, "next_url_path", None),  # noqa: SLF001
                        getattr(result._paginator, "cursor_path", None))  # noqa: SLF001
    assert caught == []


def test_a_one_page_answer_in_a_known_shape_is_whole_without_a_warning(home) -> None:
    home.route("/items", lambda request: JSONResponse(
        {"count": SIZE, "next": None, "results": RECORDS[:SIZE]}))
    result, caught = quietly(lambda: rest(home).list("/items", limit=SIZE).fetch_all())
    assert len(result) == SIZE and result.complete and caught == []
    assert type(result._paginator) is NextUrl  # noqa: SLF001 - its shape, on its last page


def test_a_whole_small_answer_says_nothing(home) -> None:
    home.route("/items", lambda request: JSONResponse(RECORDS[:7]))
    result, caught = quietly(lambda: rest(home).list("/items").fetch_all())
    assert len(result) == 7 and caught == []
    assert type(result._paginator) is SinglePage  # noqa: SLF001


def test_a_total_beside_a_few_records_is_not_a_page_size(home) -> None:
    # an invoice's lines and its total amount: no page of a listing
    home.route("/items", lambda request: JSONResponse({"lines": RECORDS[:3], "total": 5000}))
    result, caught = quietly(lambda: rest(home).list("/items").fetch_all())
    assert len(result) == 3 and caught == []


def test_a_total_this_page_reaches_is_whole(home) -> None:
    home.route("/items", lambda request: JSONResponse({"items": RECORDS[:SIZE],
                                                       "total": SIZE}))
    result, caught = quietly(lambda: rest(home).list("/items", limit=SIZE).fetch_all())
    assert len(result) == SIZE and caught == []


def follow_advice(warning: warnings.WarningMessage, pick: str) -> dict[str, Any]:
    """The example ``paginator=`` of type ``pick`` the warning gives, as a value."""
    examples = [ast.literal_eval(m) for m in re.findall(r"paginator=(\{[^}]*\})",
                                                          str(warning.message))]
    return next(e for e in examples if e["type"] == pick)


def test_a_page_as_long_as_its_limit_warns_and_names_the_paginator(home) -> None:
    home.route("/items", lambda request: JSONResponse(by_offset(request)[1]))
    conn = rest(home)
    result, caught = quietly(lambda: conn.list("/items", limit=SIZE).to_frame())
    assert len(result) == SIZE  # what the API sent; the warning says so
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("rest /items: only its first page was read")
    assert "it holds 25 records, as many as limit=25 asks for" in message
    advice = follow_advice(caught[0], "offset")
    assert advice == {"type": "offset", "offset_param": "offset", "limit": SIZE,
                      "limit_param": "limit"}
    frame, again = quietly(lambda: conn.list("/items", paginator=advice).to_frame())
    assert list(frame["id"]) == IDS and again == []


def test_a_total_above_the_page_warns_with_a_total_path(home) -> None:
    # the API pages by ?page= but neither asks for nor echoes one: nothing to step by
    home.route("/items", lambda request: JSONResponse(
        {"items": by_page(request)[1], "total": TOTAL}))
    conn = rest(home)
    result, caught = quietly(lambda: list(conn.list("/items")))
    assert len(result) == SIZE and len(caught) == 1
    assert "the body says total: 250 records in all" in str(caught[0].message)
    advice = follow_advice(caught[0], "page_number")
    assert advice["total_path"] == "total" and advice["page_param"] == "page"
    advice["limit_param"] = "per_page"  # "with the parameter names the API takes"
    result = conn.list("/items", paginator=advice)
    assert [r["id"] for r in result] == IDS and result.stats.pages == TOTAL // SIZE


def test_a_cursor_that_is_not_a_url_warns_with_its_path(home) -> None:
    # the README's own example shape: a token at meta.next, sent back as ?cursor=
    def handler(request: Request) -> Response:
        chunk, cursor = by_cursor(request)
        return JSONResponse({"data": chunk, "meta": {"next": cursor or None}})

    home.route("/items", handler)
    conn = rest(home)
    result, caught = quietly(lambda: conn.list("/items").to_frame())
    assert len(result) == SIZE and len(caught) == 1
    message = str(caught[0].message)
    assert "next-page value at meta.next that is not a URL" in message
    assert token(SIZE) not in message  # a cursor is never shown
    advice = follow_advice(caught[0], "cursor")
    assert advice == {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "cursor"}
    assert [r["id"] for r in conn.list("/items", paginator=advice)] == IDS


def test_has_more_without_ids_warns_with_the_records_own_key(home) -> None:
    rows = [{"uuid": f"u{i:03d}", "n": i} for i in range(TOTAL)]

    def handler(request: Request) -> Response:
        after = request.query_params.get("starting_after")
        start = next(i for i, r in enumerate(rows) if r["uuid"] == after) + 1 if after else 0
        return JSONResponse({"items": rows[start:start + SIZE],
                             "has_more": start + SIZE < TOTAL})

    home.route("/items", handler)
    conn = rest(home)
    result, caught = quietly(lambda: conn.list("/items").to_frame())
    assert len(result) == SIZE and len(caught) == 1
    assert "the body says has_more: true" in str(caught[0].message)
    advice = follow_advice(caught[0], "starting_after")
    assert advice == {"type": "starting_after", "id_field": "uuid", "has_more_path": "has_more"}
    assert len(conn.list("/items", paginator=advice).to_frame()) == TOTAL


def test_the_warning_comes_once_and_not_when_max_records_asked_for_less(home) -> None:
    home.route("/items", lambda request: JSONResponse(by_offset(request)[1]))
    conn = rest(home)
    result = conn.list("/items", limit=SIZE)
    _, caught = quietly(lambda: (result.head(3), result.to_frame(), list(result)))
    assert len(caught) == 1
    _, caught = quietly(lambda: conn.list("/items", limit=SIZE, max_records=SIZE).to_frame())
    assert caught == []


def test_a_detected_next_url_to_another_origin_is_refused(home, elsewhere) -> None:
    elsewhere.route("*", lambda request: JSONResponse({"results": [], "next": None}))
    home.route("/items", lambda request: JSONResponse(
        {"results": RECORDS[:SIZE], "next": f"{elsewhere.url}/items?page=2"}))
    conn = rest(home, auth=ik.auth.Bearer("tok_detect_origin_123456789"))
    with pytest.raises(ik.OriginError):
        conn.list("/items").to_frame()
    assert elsewhere.seen == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "abc", "/items?page=2", "http://127.0.0.1:1/x", "?page=2", "7",
                      "\u00b2", "\u0663"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["next", "href", "next_cursor", "total", "count", "page", "offset",
                         "limit", "per_page", "has_more", "data", "items", "meta", "links",
                         "_links", "paging", "pagination", "nextPageToken", "id", "value",
                         "@odata.nextLink", "total_pages", "current_page", "next_page"]),
        inner, max_size=5),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(body=JSON, query=st.dictionaries(
    st.sampled_from(["limit", "page", "offset", "per_page", "_page", "skip", "cursor"]),
    st.sampled_from(["0", "1", "25", "x", "", "\u00b2", "\u0663"]), max_size=3),
    headers=st.dictionaries(st.sampled_from(["X-Next-Page", "X-Total-Count", "X-Total",
                                             "X-Per-Page", "Link"]),
                            st.sampled_from(["", "2", "250", "x", "\u00b2",
                                             '</n>; rel="next"']),
                            max_size=3))
def test_detection_never_fails_on_any_first_page(body, query, headers) -> None:
    """Whatever an unknown API answers, detection picks a paginator (and the paginator reads
    the page) without a crash: at worst a PaginationError naming what is missing."""
    import httpx

    from integkit._jsonpath import find_records
    from integkit._pagination import detect

    request = httpx.Request("GET", "http://127.0.0.1:1/items", params=query)
    response = httpx.Response(200, json=body, request=request,
                              headers={k: v.encode("latin-1") for k, v in headers.items()})
    records = find_records(body)
    found = detect(response, body, records)
    assert found.shape and (found.advice is None or "paginator=" in found.advice)
    try:
        found.paginator.update_state(response, body, records)
    except ik.PaginationError:
        return
    if found.paginator.has_next_page:
        from integkit._pagination import PageRequest

        found.paginator.update_request(PageRequest("GET", "/items", params=dict(query)))
