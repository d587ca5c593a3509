"""Pagination always ends, and never ends early (issue 9, item 5).

A scripted server over real loopback HTTP (``home``) sends the pages a broken or hostile API
would: cursors that loop (A -> B -> A), cursors that go backwards, Link headers and
``nextRecordsUrl`` pointing back, endless runs of empty pages, pages that say "more" and
give nothing to continue from, pages without their records. Every listing either reads every
record or raises PaginationError naming the cursor it stopped at; none loops for ever or
passes a partial listing off as whole (and ``cache=`` never stores one).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik

RECORDS = [{"id": f"r{i:03d}", "n": i} for i in range(50)]
IDS = [r["id"] for r in RECORDS]


def token(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode()


def untoken(value: str | None) -> int:
    return int(base64.urlsafe_b64decode(value.encode()).decode()[2:]) if value else 0


def stripe_pages(*, empty_at: int | None = None, backwards_at: int | None = None,
                 no_data_at: int | None = None, size: int = 20):
    """Stripe's wire shape (``data``, ``has_more``, ``starting_after``), with one fault."""
    def handler(request: Request) -> Response:
        after = request.query_params.get("starting_after")
        start = IDS.index(after) + 1 if after else 0
        if start == empty_at:
            return JSONResponse({"object": "list", "data": [], "has_more": True})
        if start == backwards_at:  # two pages back: its last id sends us back to page 2
            start = backwards_at - 2 * size
        chunk = RECORDS[start:start + size]
        if start == no_data_at:
            return JSONResponse({"object": "list", "has_more": True})
        return JSONResponse({"object": "list", "data": chunk,
                             "has_more": start + size < len(RECORDS)})
    return handler


def slack_pages(next_cursor, records=lambda cursor: RECORDS[untoken(cursor):][:10]):
    """Slack's shape: ``channels`` and ``response_metadata.next_cursor``; ``next_cursor``
    and ``records`` map the cursor received (None on the first page) to the cursor to send
    back and the page's records."""
    def handler(request: Request) -> Response:
        cursor = request.query_params.get("cursor")
        return JSONResponse({"ok": True, "channels": records(cursor),
                             "response_metadata": {"next_cursor": next_cursor(cursor) or ""}})
    return handler


def stripe_like(home, **options) -> ik.Connection:
    return ik.rest(home.url, paginator={"type": "starting_after", "limit": 20},
                   records_path="data", primary_key="id", rate_limit=False, **options)


def calls(home, path: str) -> int:
    return sum(1 for seen in home.seen if seen.path == path)


# -- an empty page that says "more" ------------------------------------------------------------
@pytest.mark.parametrize("prefetch", [True, False])
def test_an_empty_has_more_page_raises_instead_of_ending_at_20_of_50(home, prefetch) -> None:
    home.route("/v1/items", stripe_pages(empty_at=20))
    result = stripe_like(home).list("/v1/items", prefetch=prefetch)
    with pytest.raises(ik.PaginationError) as caught:
        result.to_frame()
    error = caught.value
    assert "has_more: true" in str(error) and "starting_after=r019" in error.cursor
    assert error.service == "rest" and not error.transient
    assert len(result) == 20 and not result.complete  # never reported as the whole listing


def test_a_cached_listing_that_ended_in_an_empty_has_more_page_is_not_stored(home) -> None:
    home.route("/v1/cached", stripe_pages(empty_at=20))
    for _ in range(2):  # the second read is no cache hit: it meets the fault again
        with pytest.raises(ik.PaginationError):
            stripe_like(home).list("/v1/cached", cache="1h").to_frame()
    assert calls(home, "/v1/cached") == 4
    home.route("/v1/cached", stripe_pages())
    first = stripe_like(home).list("/v1/cached", cache="1h")
    assert list(first.to_frame()["id"]) == IDS
    again = stripe_like(home).list("/v1/cached", cache="1h")
    assert list(again.to_frame()["id"]) == IDS and again.stats.calls == 0


@pytest.mark.parametrize("prefetch", [True, False])
def test_empty_pages_that_carry_a_cursor_are_followed_to_the_last_record(home,
                                                                         prefetch) -> None:
    def records(cursor: str | None) -> list[dict]:
        start = untoken(cursor)
        return [] if start in (10, 20, 21, 22) else RECORDS[start:start + 10]

    def next_cursor(cursor: str | None) -> str | None:
        start = untoken(cursor)
        step = 1 if start in (20, 21, 22) else 10  # empty pages still move the cursor on
        return token(start + step) if start + step < len(RECORDS) else None

    home.route("/conversations.list", slack_pages(next_cursor, records))
    conn = ik.rest(home.url, records_path="channels", rate_limit=False,
                   paginator={"type": "cursor", "cursor_path": "response_metadata.next_cursor"})
    result = conn.list("/conversations.list", prefetch=prefetch)
    assert [r["id"] for r in result] == IDS[:10] + IDS[23:]
    assert result.complete and result.stats.pages == 8  # four of them empty


def test_a_bounded_run_of_empty_pages_that_say_more_raises(home) -> None:
    home.route("/conversations.list", slack_pages(lambda c: token(untoken(c) + 1),
                                                  records=lambda cursor: []))
    conn = ik.rest(home.url, records_path="channels", rate_limit=False,
                   paginator={"type": "cursor", "cursor_path": "response_metadata.next_cursor"})
    with pytest.raises(ik.PaginationError, match="4 pages in a row were empty") as caught:
        conn.list("/conversations.list", max_empty_pages=3).to_frame()
    assert "max_empty_pages=" in str(caught.value) and "cursor=" in caught.value.cursor
    assert calls(home, "/conversations.list") == 4
    home.reset()
    home.route("/conversations.list", slack_pages(lambda c: token(untoken(c) + 1),
                                                  records=lambda cursor: []))
    with pytest.raises(ik.PaginationError, match="21 pages in a row"):  # the default: 20
        list(conn.list("/conversations.list"))
    assert calls(home, "/conversations.list") == 21


def test_max_empty_pages_must_be_a_whole_number(home) -> None:
    conn = stripe_like(home)
    for bad in (-1, "3", 2.5, True):
        with pytest.raises(ik.ConfigError, match="max_empty_pages"):
            conn.list("/v1/items", max_empty_pages=bad)
    with pytest.raises(ik.ConfigError, match="max_empty_pages"):
        stripe_like(home, max_empty_pages=-5)


# -- loops ---------------------------------------------------------------------------------
@pytest.mark.parametrize("prefetch", [True, False])
def test_a_cursor_loop_a_b_a_raises_naming_the_cursor(home, prefetch) -> None:
    loop = {None: "A", "A": "B", "B": "A"}
    home.route("/conversations.list", slack_pages(lambda c: loop[c],
                                                  records=lambda cursor: RECORDS[:3]))
    conn = ik.rest(home.url, records_path="channels", rate_limit=False,
                   paginator={"type": "cursor", "cursor_path": "response_metadata.next_cursor"})
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        list(conn.list("/conversations.list", prefetch=prefetch))
    assert "cursor=A" in caught.value.cursor and "page 2" in str(caught.value)
    assert calls(home, "/conversations.list") == 3  # A is never asked for twice


def test_a_cursor_that_goes_backwards_raises(home) -> None:
    home.route("/v1/back", stripe_pages(backwards_at=40))
    result = stripe_like(home).list("/v1/back")
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        result.to_frame()
    assert "starting_after=r019" in caught.value.cursor and "page 2" in str(caught.value)
    assert calls(home, "/v1/back") == 3 and len(result) == 40


def test_a_link_header_pointing_back_at_the_first_page_raises(home) -> None:
    def handler(request: Request) -> Response:
        page = int(request.query_params.get("page", 1))
        nxt = f"{home.url}/gh/items?per_page=30" if page == 2 else \
            f"{home.url}/gh/items?page=2&per_page=30"
        return JSONResponse(RECORDS[(page - 1) * 30:page * 30],
                            headers={"Link": f'<{nxt}>; rel="next"'})

    home.route("/gh/items", handler)
    conn = ik.rest(home.url, paginator={"type": "link_header", "limit": 30}, rate_limit=False)
    with pytest.raises(ik.PaginationError, match="page 1 was read with"):
        list(conn.list("/gh/items"))
    assert calls(home, "/gh/items") == 2  # the absolute URL is known as the first request


def test_the_github_connector_refuses_a_link_loop(home) -> None:
    def handler(request: Request) -> Response:
        page = int(request.query_params.get("page", 1))
        issues = [{"id": 100 * page + i, "number": 100 * page + i} for i in range(3)]
        nxt = 2 if page == 3 else page + 1
        link = f'<{home.url}/repos/o/r/issues?page={nxt}&per_page=100>; rel="next"'
        return JSONResponse(issues, headers={"Link": link})

    home.route("/repos/o/r/issues", handler)
    gh = ik.connect("github", token="ghp_" + "x" * 36, base_url=home.url, rate_limit=False)
    result = gh.list("issues", repo="o/r")
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        result.to_frame()
    assert "page=2" in caught.value.cursor and caught.value.service == "github"
    assert calls(home, "/repos/o/r/issues") == 3


def test_the_salesforce_connector_refuses_a_next_records_url_loop(home) -> None:
    base = "/services/data/v60.0/query"

    def handler(request: Request) -> Response:
        locator = request.url.path.rsplit("-", 1)[-1] if "-" in request.url.path else "0"
        nxt = {"0": "100", "100": "200", "200": "100"}[locator]
        return JSONResponse({"totalSize": 500, "done": False,
                             "records": [{"Id": f"001{locator}{i}"} for i in range(2)],
                             "nextRecordsUrl": f"{base}/01gD-{nxt}"})

    home.route(base, handler)
    for locator in ("100", "200"):
        home.route(f"{base}/01gD-{locator}", handler)
    sf = ik.connect("salesforce", access_token="00D!" + "a" * 40, instance_url=home.url,
                    rate_limit=False, quotas={})
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        list(sf.query("SELECT Id FROM Account", bulk=False))
    assert "01gD-100" in caught.value.cursor and caught.value.service == "salesforce"
    assert len(home.seen) == 3


def test_salesforce_done_false_without_a_next_records_url_raises(home) -> None:
    home.route("/services/data/v60.0/query", lambda r: JSONResponse(
        {"totalSize": 5, "done": False, "records": [{"Id": "001A"}]}))
    sf = ik.connect("salesforce", access_token="00D!" + "a" * 40, instance_url=home.url,
                    rate_limit=False, quotas={})
    with pytest.raises(ik.PaginationError, match="done: false.*nextRecordsUrl"):
        list(sf.query("SELECT Id FROM Account", bulk=False))


def test_the_slack_connector_refuses_a_cursor_loop(home) -> None:
    loop = {None: "dXNlcjpB", "dXNlcjpB": "dXNlcjpC", "dXNlcjpC": "dXNlcjpB"}

    def handler(request: Request) -> Response:
        cursor = request.query_params.get("cursor")
        return JSONResponse({"ok": True, "channels": [{"id": f"C{cursor}"}],
                             "response_metadata": {"next_cursor": loop[cursor]}})

    home.route("/conversations.list", handler)
    slack = ik.connect("slack", token="xoxb-" + "1" * 30, base_url=home.url, rate_limit=False)
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        slack.conversations().to_frame()
    assert "cursor=dXNlcjpB" in caught.value.cursor and caught.value.service == "slack"
    assert calls(home, "/conversations.list") == 3


def test_the_shopify_graphql_listing_refuses_a_repeated_end_cursor(home) -> None:
    def handler(request: Request) -> Response:
        return JSONResponse({"data": {"products": {
            "edges": [{"node": {"id": f"gid://shopify/Product/{i}"}} for i in range(2)],
            "pageInfo": {"hasNextPage": True, "endCursor": "c1"}}}})

    home.route("/admin/api/2024-10/graphql.json", handler)
    shop = ik.connect("shopify", base_url=home.url, access_token="shpat_" + "0" * 32,
                      rate_limit=False)
    query = ("query($after: String) { products(first: 2, after: $after) "
             "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }")
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        list(shop.graphql_list(query))
    assert "after=c1" in caught.value.cursor
    assert len(home.seen) == 2


def test_a_graphql_page_with_has_next_page_and_no_end_cursor_raises(home) -> None:
    home.route("/admin/api/2024-10/graphql.json", lambda r: JSONResponse({"data": {"products": {
        "nodes": [{"id": "gid://shopify/Product/1"}],
        "pageInfo": {"hasNextPage": True, "endCursor": None}}}}))
    shop = ik.connect("shopify", base_url=home.url, access_token="shpat_" + "0" * 32,
                      rate_limit=False)
    with pytest.raises(ik.PaginationError, match="hasNextPage: true.*endCursor"):
        shop.graphql_list("query($after: String) { products(first: 1, after: $after) "
                          "{ nodes { id } pageInfo { hasNextPage endCursor } } }").to_frame()


# -- pages that lose their records ---------------------------------------------------------
def test_a_page_without_the_records_path_is_an_error_not_zero_rows(home) -> None:
    home.route("/v1/gone", stripe_pages(no_data_at=20))
    result = stripe_like(home).list("/v1/gone")
    with pytest.raises(ik.PaginationError, match="has no 'data'") as caught:
        result.to_frame()
    assert "has_more" in str(caught.value) and len(result) == 20


def test_a_graphql_page_without_its_connection_is_an_error(home) -> None:
    home.route("/admin/api/2024-10/graphql.json", lambda r: JSONResponse({"data": {}}))
    shop = ik.connect("shopify", base_url=home.url, access_token="shpat_" + "0" * 32,
                      rate_limit=False)
    with pytest.raises(ik.PaginationError, match="data.products"):
        list(shop.graphql_list("query { products(first: 1) { nodes { id } } }",
                               path="products"))


def test_an_empty_records_list_or_a_204_is_an_empty_page(home) -> None:
    home.route("/v1/none", lambda r: JSONResponse({"data": [], "has_more": False}))
    home.route("/v1/nothing", lambda r: Response(status_code=204))
    conn = stripe_like(home)
    assert len(conn.list("/v1/none").to_frame()) == 0
    assert list(conn.list("/v1/nothing")) == []


def test_an_offset_page_that_is_empty_before_its_total_raises(home) -> None:
    def handler(request: Request) -> Response:
        offset = int(request.query_params["offset"])
        items = [] if offset == 20 else RECORDS[offset:offset + 10]
        return JSONResponse({"items": items, "total": len(RECORDS)})

    home.route("/offset", handler)
    conn = ik.rest(home.url, records_path="items", rate_limit=False,
                   paginator={"type": "offset", "limit": 10, "total_path": "total"})
    with pytest.raises(ik.PaginationError, match="total: 50 past offset 20"):
        conn.list("/offset").to_frame()
    with pytest.raises(ik.PaginationError, match="offset 20"):  # a parallel slice too
        conn.list("/offset", parallel=3).to_frame()


# -- the cursor in the error ---------------------------------------------------------------
def test_a_secret_bearing_cursor_is_masked_in_the_error(home) -> None:
    secret = "sig-" + "9f" * 16

    def handler(request: Request) -> Response:
        page = int(request.query_params.get("page", 1))
        nxt = 1 if page == 2 else 2
        link = f'<{home.url}/signed?page={nxt}&access_token={secret}&sig={secret}>; rel="next"'
        return JSONResponse([{"id": page}], headers={"Link": link})

    home.route("/signed", handler)
    conn = ik.rest(home.url, paginator="link_header", rate_limit=False)
    with pytest.raises(ik.PaginationError) as caught:
        list(conn.list("/signed"))
    error = caught.value
    assert secret not in str(error) and secret not in error.cursor and secret not in repr(error)
    assert "access_token=***" in error.cursor and "sig=***" in error.cursor
    assert "page=2" in error.cursor


# -- resumed and parallel listings ---------------------------------------------------------
def test_a_loop_back_to_a_page_read_before_a_resume_is_still_refused(home, tmp_path) -> None:
    """Pages 1 and 2 are committed to a checkpoint by a process that dies; in the next
    process page 3 points back at page 2's cursor."""
    state = {"loop": False}

    def handler(request: Request) -> Response:
        cursor = request.query_params.get("cursor")
        nxt = {None: "A", "A": "B", "B": "A" if state["loop"] else "C", "C": None}[cursor]
        return JSONResponse({"ok": True, "channels": [{"id": f"c-{cursor}"}],
                             "response_metadata": {"next_cursor": nxt or ""}})

    home.route("/conversations.list", handler)
    checkpoint = tmp_path / "ckpt"
    script = textwrap.dedent(f"""
        import os, integkit as ik
        conn = ik.rest({home.url!r}, records_path="channels", rate_limit=False,
                       paginator={{"type": "cursor",
                                   "cursor_path": "response_metadata.next_cursor"}})
        result = conn.list("/conversations.list", checkpoint={str(checkpoint)!r},
                           prefetch=False)
        for page in result.pages():
            if page.number == 2:
                os._exit(9)
    """)
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    state["loop"] = True
    conn = ik.rest(home.url, records_path="channels", rate_limit=False,
                   paginator={"type": "cursor", "cursor_path": "response_metadata.next_cursor"})
    resumed = conn.list("/conversations.list", checkpoint=str(checkpoint))
    assert len(resumed) == 2
    with pytest.raises(ik.PaginationError, match="loop") as caught:
        resumed.to_frame()
    assert "cursor=A" in caught.value.cursor


def test_every_paging_style_still_reads_every_record_once(api) -> None:
    """The guard costs nothing to a listing that behaves: tests/apps.py's routes, one per
    paging style, read to the end with no PaginationError and no duplicate."""
    from .. import apps

    styles = {
        "/stripe/items": ({"type": "starting_after", "limit": 25}, None),
        "/slack/conversations.list": ({"type": "cursor", "limit": 50, "cursor_path":
                                       "response_metadata.next_cursor"}, "channels"),
        "/github/items": ({"type": "link_header", "limit": 30}, None),
        "/services/data/v60.0/query": ({"type": "next_url", "next_url_path": "nextRecordsUrl",
                                        "done_path": "done"}, "records"),
        "/offset/items": ({"type": "offset", "limit": 20, "total_path": "total"}, "items"),
        "/page/items": ({"type": "page_number", "limit": 25,
                         "total_pages_path": "total_pages"}, "data"),
        "/google/files": ({"type": "page_token", "limit": 40}, "files"),
    }
    for path, (paginator, records_path) in styles.items():
        conn = ik.rest(api, paginator=paginator, records_path=records_path, primary_key="id")
        result = conn.list(path)
        assert [r["id"] for r in result] == [r["id"] for r in apps.RECORDS], path
        assert result.stats.duplicates == 0 and result.complete


def test_the_error_pickles_with_its_cursor() -> None:
    error = ik.PaginationError("loop", cursor="GET /x?cursor=A", service="s", endpoint="e")
    import pickle

    again = pickle.loads(pickle.dumps(error))
    assert again.cursor == "GET /x?cursor=A" and str(again) == str(error)
    assert isinstance(again, ik.ApiError) and json.dumps(again.cursor)
