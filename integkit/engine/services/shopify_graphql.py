"""Shopify's Admin GraphQL: one call with THROTTLED handled, and connections read as Results.

Every answer carries ``extensions.cost.throttleStatus``; the rate-limit layer reads it and
pauses the ``graphql`` tier until the bucket holds what the last query asked for, so a
``THROTTLED`` answer is rare and, when it comes, the call is simply sent again after the pause.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequestError, PaginationError, RateLimitError
from ..._jsonpath import find
from ...pagination import GraphQLPageInfo, PageRequest, Paginator
from ...results import Fetched
from .._listing import ListingPlan
from .._rest import Listing

if TYPE_CHECKING:
    import httpx

    from ...http import CallTrace
    from .shopify import ShopifyConnection

__all__ = ["GraphQLListing", "graphql_errors", "run_graphql"]

ENDPOINT = "graphql"
GRAPHQL_PATH = "/graphql.json"
MAX_THROTTLED = 8
_ABSENT = object()


def graphql_errors(data: Any) -> list[dict[str, Any]]:
    """The ``errors`` of a GraphQL answer (empty when it has none)."""
    errors = data.get("errors") if isinstance(data, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _throttled(errors: list[dict[str, Any]]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def _wait_hint(data: Any) -> float:
    """Seconds until the bucket holds the requested cost (a floor when the layer has none)."""
    cost = find(data, "extensions.cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        wanted = float(cost.get("requestedQueryCost") or 0)
        have = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return 1.0
    return max(0.05, (wanted - have) / rate) if rate else 1.0


def send_graphql(conn: ShopifyConnection, body: dict[str, Any], *, priority: str | None = None
                 ) -> tuple[httpx.Response, Any, CallTrace]:
    """POST ``body`` to graphql.json until it is not THROTTLED; raise on any other error."""
    for attempt in range(1, MAX_THROTTLED + 1):
        request = PageRequest("POST", GRAPHQL_PATH, json=body)
        response, data, trace = conn.send(request, endpoint=ENDPOINT, priority=priority)
        errors = graphql_errors(data)
        if not errors:
            return response, data, trace
        request_id = response.headers.get(conn.request_id_header)
        if _throttled(errors):
            if attempt == MAX_THROTTLED:
                raise RateLimitError(
                    f"GraphQL still THROTTLED after {attempt} attempts", retry_after=
                    _wait_hint(data), service=conn.service, endpoint=ENDPOINT, status=200,
                    code="THROTTLED", request_id=request_id)
            if conn.limiter is None:  # no tier to pause: wait here instead
                time.sleep(_wait_hint(data))
            continue
        first = errors[0]
        code = (first.get("extensions") or {}).get("code")
        message = "; ".join(str(e.get("message")) for e in errors)
        raise InvalidRequestError(message, service=conn.service, endpoint=ENDPOINT, status=200,
                                  code=code, request_id=request_id, body=response.text)
    raise AssertionError("unreachable")


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
