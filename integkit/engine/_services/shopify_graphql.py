"""Shopify's Admin GraphQL: one call, and connections read as Results.

Every answer carries ``extensions.cost.throttleStatus``; the rate-limit layer reads it and
pauses the ``graphql`` tier until the bucket holds what the last query asked for, so a
``THROTTLED`` answer is rare and, when it comes, the call pipeline sends it again after the
wait (the definition's ``responses:`` rules, which also raise any other GraphQL error).

A connection listed by :func:`graphql_plan` is a plain listing plan: a POST of the query,
whose cursor goes in ``variables.after`` (the ``graphql`` paginator), and records that are
the connection's nodes (the ``records`` strategy registered here for the ``graphql``
listing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequestError
from ..._jsonpath import find
from ..._pagination import PageRequest, graphql_connection
from ..._results import flatten_schema
from .._listing import Listing, ListingPlan, Strategies, register_strategies

if TYPE_CHECKING:
    import httpx

    from ..._http import CallTrace
    from .shopify import ShopifyConnection

__all__ = ["connection_nodes", "graphql_plan", "run_graphql", "send_graphql"]

ENDPOINT = "graphql"
GRAPHQL_PATH = "/graphql.json"


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


def graphql_plan(conn: ShopifyConnection, query: str, variables: dict[str, Any] | None, *,
                 path: str | None, schema: dict[str, Any] | None,
                 max_records: int | None, prefetch: bool) -> ListingPlan:
    """The plan of a connection's listing: the connection at ``data.<path>``, or (``path``
    None) the first one each answer's ``data`` holds; ``schema`` declares its nodes' fields."""
    where = f"data.{path}" if path else "data"
    paginator: dict[str, Any] = {"type": "graphql"}
    if path:
        paginator["page_info_path"] = f"{where}.pageInfo"
    return ListingPlan(
        name=ENDPOINT, path=GRAPHQL_PATH, endpoint=ENDPOINT, method="POST",
        body={"query": query, "variables": dict(variables or {})}, records_path=where,
        paginator=paginator, primary_key=conn.definition.primary_key,
        max_empty_pages=conn.max_empty_pages,
        schema=flatten_schema(schema, where="graphql_list schema=") or None,
        timestamps=conn.definition.timestamps or None, max_records=max_records,
        prefetch=prefetch)


def connection_nodes(listing: Listing, found: list[Any]) -> list[Any]:
    """The records strategy of a GraphQL listing: the nodes (each edge's ``node``, or
    ``nodes``) of the connection at the plan's records path, or of the first connection
    under it."""
    if not found:  # the connection is null: no nodes
        return []
    node = found[0]
    where = graphql_connection(node)
    if where is None:
        raise InvalidRequestError(
            "the query selects no connection (a field with edges { node } or nodes)",
            service=listing.service, endpoint=listing.endpoint)
    connection = find(node, where) or {}
    if "edges" in connection:
        return [e["node"] for e in connection["edges"] or [] if isinstance(e, dict)]
    return list(connection.get("nodes") or [])


register_strategies("shopify", Strategies(records=connection_nodes), resource=ENDPOINT)
