"""Shopify's Admin GraphQL: one call, and connections read as Results.

Every answer carries ``extensions.cost.throttleStatus``; the rate-limit layer reads it and
pauses the ``graphql`` tier until the bucket holds what the last query asked for, so a
``THROTTLED`` answer is rare and, when it comes, the call pipeline sends it again after the
wait (the definition's ``responses:`` rules, which also raise any other GraphQL error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequestError, PaginationError
from ..._jsonpath import find
from ...pagination import GraphQLPageInfo, PageRequest, Paginator
from ...results import Fetched
from .._listing import ListingPlan
from .._rest import Listing

if TYPE_CHECKING:
    import httpx

    from ...http import CallTrace
    from .shopify import ShopifyConnection

__all__ = ["GraphQLListing", "run_graphql", "send_graphql"]

ENDPOINT = "graphql"
GRAPHQL_PATH = "/graphql.json"
_ABSENT = object()


def send_graphql(conn: ShopifyConnection, body: dict[str, Any], *, priority: str | None = None
                 ) -> tuple[httpx.Response, Any, CallTrace]:
    """POST ``body`` to graphql.json (THROTTLED answers are sent again by the pipeline; any
    GraphQL error is raised)."""
    return conn.send(PageRequest("POST", GRAPHQL_PATH, json=body), endpoint=ENDPOINT,
                     priority=priority)


def run_graphql(conn: ShopifyConnection, query: str, variables: dict[str, Any] | None = None,
                *, operation_name: str | None = None) -> dict[str, Any]:
    """The ``data`` of one GraphQL operation."""
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation_name:
        body["operationName"] = operation_name
    _, data, _ = send_graphql(conn, body)
    return dict(data.get("data") or {})


def _connection_path(data: Any) -> str | None:
    """The dotted path of the first connection (a dict with edges or nodes) in ``data``."""
    def walk(node: Any, prefix: str) -> str | None:
        if not isinstance(node, dict):
            return None
        if "edges" in node or "nodes" in node:
            return prefix
        for key, value in node.items():
            found = walk(value, f"{prefix}.{key}" if prefix else key)
            if found:
                return found
        return None

    return walk(data, "")


class GraphQLListing(Listing):
    """The pages of one GraphQL connection: ``pageInfo.endCursor`` -> ``variables.after``,
    each edge's ``node`` a record."""

    def __init__(self, conn: ShopifyConnection, plan: ListingPlan, *,
                 path: str | None = None) -> None:
        super().__init__(conn, plan)
        self.shopify = conn
        self.connection = path
        self.connection_path: str | None = f"data.{path}" if path else None

    def with_params(self, paginator: Any = None, **changes: Any) -> Listing:
        """The same query with some variables changed."""
        body = self.plan.body
        plan = self.plan.with_body({**body, "variables": {**body["variables"], **changes}})
        return GraphQLListing(self.shopify, plan, path=self.connection)

    def new_paginator(self) -> Paginator:
        return _ConnectionPageInfo(self.connection)

    def page_size(self) -> int | None:
        return None

    def fetch(self, request: PageRequest) -> Fetched:
        response, data, trace = send_graphql(self.shopify, request.json,
                                             priority=self.priority)
        data = data if isinstance(data, dict) else {}
        if self.connection_path is None:
            found = _connection_path(data.get("data"))
            if found is None:
                raise InvalidRequestError(
                    "the query selects no connection (a field with edges { node } or nodes)",
                    service=self.service, endpoint=ENDPOINT)
            self.connection_path = f"data.{found}"
        conn = find(data, self.connection_path, _ABSENT)
        if conn is _ABSENT:  # read as no nodes, it would end the listing early
            raise PaginationError(
                f"a page has no {self.connection_path!r} (the connection being listed)",
                service=self.service, endpoint=ENDPOINT)
        conn = conn or {}
        if "edges" in conn:
            records = [e["node"] for e in conn["edges"] or [] if isinstance(e, dict)]
        else:
            records = list(conn.get("nodes") or [])
        return Fetched(response, data, records, trace)


class _ConnectionPageInfo(Paginator):
    """GraphQLPageInfo at ``data.<path>``, the path found on the first page when not given
    (plain data only: a Result copies its paginator with each page)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._inner: GraphQLPageInfo | None = None

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        if self._inner is None:
            path = self.path or _connection_path(data.get("data")) or ""
            self._inner = GraphQLPageInfo(f"data.{path}.pageInfo")
        self._inner.update_state(response, data, records)
        self.has_next_page = self._inner.has_next_page

    def update_request(self, request: PageRequest) -> None:
        assert self._inner is not None
        self._inner.update_request(request)
