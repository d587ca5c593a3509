"""Shopify's ``graphql_list`` is a plain listing plan read by the one listing flow: a POST
whose cursor goes in the GraphQL variables (the ``graphql`` paginator, which finds the
connection when no path is given) and records that are the connection's nodes (a registered
``records`` strategy); a declared ``schema=`` gives an empty answer its columns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik
from integkit.engine import Listing

GRAPHQL = "/admin/api/2024-10/graphql.json"
LINES_QUERY = """query($id: ID!, $after: String) { order(id: $id) {
  lineItems(first: 2, after: $after) { nodes { id sku quantity }
    pageInfo { hasNextPage endCursor } } } }"""


def _shop(home: Any) -> ik.Connection:
    return ik.connect("shopify", base_url=home.url, access_token="shpat_" + "0" * 32,
                      rate_limit=False)


async def _line_items(request: Request) -> Response:
    """Five line items of one order, two a page, the cursor the index of the next one."""
    variables = (await request.json())["variables"]
    start = int(variables.get("after") or 0)
    items = [{"id": f"gid://shopify/LineItem/{n}", "sku": f"IK-{n}", "quantity": n}
             for n in range(start, min(start + 2, 5))]
    following = start + 2 < 5
    return JSONResponse({"data": {"order": {"lineItems": {
        "nodes": items, "pageInfo": {"hasNextPage": following,
                                     "endCursor": str(start + 2) if following else None}}}}})


def test_a_nested_connection_is_found_and_paged_by_its_variables(home) -> None:
    home.route(GRAPHQL, _line_items)
    result = _shop(home).graphql_list(LINES_QUERY, {"id": "gid://shopify/Order/1"})
    frame = result.to_frame()
    assert list(frame["sku"]) == [f"IK-{n}" for n in range(5)]
    assert result.stats.pages == 3
    bodies = [json.loads(seen.body) for seen in home.seen]
    assert [b["variables"].get("after") for b in bodies] == [None, "2", "4"]
    assert all(b["variables"]["id"] == "gid://shopify/Order/1" for b in bodies)
    # a plain plan read by the one Listing: no GraphQL subclass
    source = result._source  # noqa: SLF001
    assert type(source) is Listing and source.plan.method == "POST"
    assert source.plan.paginator == {"type": "graphql"}


def test_an_explicit_path_pages_that_connection(home) -> None:
    home.route(GRAPHQL, _line_items)
    result = _shop(home).graphql_list(LINES_QUERY, {"id": "gid://shopify/Order/1"},
                                      path="order.lineItems")
    assert [row["quantity"] for row in result] == [0, 1, 2, 3, 4]


def test_an_empty_connection_has_the_declared_columns(home) -> None:
    home.route(GRAPHQL, lambda r: JSONResponse({"data": {"products": {
        "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}))
    shop = _shop(home)
    query = ("query($after: String) { products(first: 50, after: $after) "
             "{ edges { node { id name: title createdAt } } "
             "pageInfo { hasNextPage endCursor } } }")
    frame = shop.graphql_list(query, schema={"id": "string", "name": "string",
                                             "createdAt": "timestamp"}).to_frame()
    assert len(frame) == 0 and list(frame.columns) == ["id", "name", "createdAt"]
    assert str(frame["createdAt"].dtype).startswith("datetime64")


def test_a_query_without_a_connection_is_refused(home) -> None:
    home.route(GRAPHQL, lambda r: JSONResponse({"data": {"shop": {"name": "acme"}}}))
    with pytest.raises(ik.InvalidRequestError, match="selects no connection"):
        list(_shop(home).graphql_list("{ shop { name } }"))
