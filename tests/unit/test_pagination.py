"""Every paginator, over real HTTP, to the last record: each record exactly once, in order."""

from __future__ import annotations

import pytest

import integkit as ik
from integkit._pagination import (
    Cursor,
    GraphQLPageInfo,
    LinkHeader,
    NextUrl,
    Offset,
    PageNumber,
    PageToken,
    StartingAfter,
    paginator_from_config,
)

from .. import apps

CASES = {
    "stripe starting_after": ("/stripe/items", StartingAfter(limit=25), None, 10),
    "slack cursor": ("/slack/conversations.list",
                     Cursor("response_metadata.next_cursor", "cursor", limit=50), "channels", 5),
    "github link header": ("/github/items", LinkHeader(limit=30), None, 8),
    "salesforce next url": ("/services/data/v60.0/query",
                            NextUrl("nextRecordsUrl", done_path="done"), "records", 3),
    "offset with total": ("/offset/items", Offset(limit=20, total_path="total"), "items", 12),
    "offset short page": ("/offset/items", Offset(limit=50), "items", 5),
    "page number": ("/page/items", PageNumber(limit=25, total_pages_path="total_pages"),
                    "data", 10),
    "google page token": ("/google/files", PageToken(limit=40), "files", 6),
}


@pytest.mark.parametrize("name", CASES)
def test_paginator_reads_every_record_once(api: str, name: str) -> None:
    path, paginator, records_path, pages = CASES[name]
    conn = ik.rest(api, paginator=paginator, records_path=records_path)
    result = conn.list(path)
    ids = [r["id"] for r in result]
    assert ids == [r["id"] for r in apps.RECORDS]
    assert result.stats.pages == pages
    assert result.stats.calls == pages


def test_cursor_in_json_body(api: str) -> None:
    conn = ik.rest(api, paginator=Cursor("next_cursor", "start_cursor", location="body",
                                         limit=60, limit_param="page_size"))
    result = conn.list("/notion/search", method="POST", json={"query": ""})
    assert [r["n"] for r in result] == list(range(apps.TOTAL))
    assert result.stats.pages == 4


def test_graphql_page_info(api: str) -> None:
    from integkit._pagination import PageRequest

    class GraphQLSource:
        service, endpoint, timestamps = "shop", "orders", None

        def __init__(self, conn: ik.Connection) -> None:
            self.conn = conn

        def first_request(self) -> PageRequest:
            return PageRequest("POST", "/graphql", json={"query": "{orders}",
                                                        "variables": {"first": 100}})

        def new_paginator(self) -> GraphQLPageInfo:
            return GraphQLPageInfo("data.orders.pageInfo")

        def fetch(self, request: PageRequest) -> ik._results.Fetched:
            response, data, trace = self.conn.send(request, endpoint="orders")
            nodes = [e["node"] for e in data["data"]["orders"]["edges"]]
            return ik._results.Fetched(response, data, nodes, trace)

    result = ik.Result(GraphQLSource(ik.rest(api)))
    assert [r["n"] for r in result] == list(range(apps.TOTAL))
    assert result.stats.pages == 3


def test_graphql_page_info_finds_the_first_connection_without_a_path(api: str) -> None:
    conn = ik.rest(api, paginator={"type": "graphql"}, records_path="data.orders.edges")
    result = conn.list("/graphql", method="POST",
                       json={"query": "{orders}", "variables": {"first": 100}})
    assert [r["node"]["n"] for r in result] == list(range(apps.TOTAL))
    assert result.stats.pages == 3


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/stripe/items", StartingAfter),
        ("/slack/conversations.list", Cursor),
        ("/github/items", LinkHeader),
        ("/services/data/v60.0/query", NextUrl),
        ("/google/files", PageToken),
        ("/page/items", PageNumber),
    ],
)
def test_detection_from_first_page(api: str, path: str, expected: type) -> None:
    result = ik.rest(api).list(path)
    ids = [r["id"] for r in result]
    assert ids == [r["id"] for r in apps.RECORDS]
    assert type(result._paginator) is expected  # noqa: SLF001


def test_aliases_and_bad_config() -> None:
    assert isinstance(paginator_from_config({"type": "offset", "limit": 5}), Offset)
    template = StartingAfter()
    assert paginator_from_config(template) is not template
    with pytest.raises(ik.ConfigError, match="Unknown paginator 'nope'"):
        paginator_from_config("nope")
    with pytest.raises(ik.ConfigError, match="Bad options"):
        paginator_from_config({"type": "offset", "bogus": 1})


def test_a_request_has_one_spelling_however_its_url_came() -> None:
    from integkit._pagination import resolved_url

    base = "http://127.0.0.1:8000/api/"
    relative = resolved_url("/items", base, {"page": 2, "limit": 10, "open": True})
    absolute = resolved_url("HTTP://127.0.0.1:8000/api/items?limit=10&open=true&page=2", base)
    pairs = resolved_url("items?page=2", base, [("open", True), ("limit", 10)])
    assert relative == absolute == pairs
    assert resolved_url("/items", base, {"page": 3}) != relative
    assert resolved_url("/items", base, {"ids": [1, 2]}).endswith("?ids=1&ids=2")
