"""Shopify Admin API: the shop's domain and versioned path, REST lists, writes and GraphQL.

>>> shopify = ik.connect("shopify", shop="acme", access_token="shpat_...")   # doctest: +SKIP
>>> shopify.list("orders", financial_status="paid").to_frame()
>>> shopify.graphql_list("query($after: String) { products(first: 100, after: $after) "
...                      "{ edges { node { id title } } pageInfo { hasNextPage endCursor } } }"
...                      ).to_frame()
>>> shopify.inventory.check(["IK-00001-S"])
"""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import orjson

from ..._errors import ConfigError
from ..._http import Feedback, RetryPolicy, register_feedback
from .._definition import ConnectorDef
from .._listing import Strategies, read_listing, register_strategies, strategies_for
from .._rest import Connection, Listing
from .shopify_graphql import ENDPOINT, graphql_plan, run_graphql
from .shopify_inventory import Inventory

__all__ = ["ShopifyConnection", "ShopifyRetryPolicy", "shop_url"]

_SHOP = re.compile(r"^(?:https?://)?([a-z0-9][a-z0-9-]*)(?:\.myshopify\.com)?/?$", re.I)


def shop_url(shop: str) -> str:
    """``https://<shop>.myshopify.com`` from ``acme``, ``acme.myshopify.com`` or a URL."""
    match = _SHOP.match(shop.strip())
    if not match:
        raise ConfigError(f"{shop!r} is not a shop: pass its name (acme) or its "
                          "myshopify.com domain (acme.myshopify.com)")
    return f"https://{match.group(1).lower()}.myshopify.com"


def shopify_call_limit(response: httpx.Response) -> Feedback | None:
    """The feedback parser ``shopify_call_limit``: ``X-Shopify-Shop-Api-Call-Limit: 39/40``,
    one call short of the leaky bucket's size, waits a second (it drains about 2 a second)."""
    header = response.headers.get("x-shopify-shop-api-call-limit")
    if header and "/" in header:
        used, _, limit = header.partition("/")
        if used.strip().isdigit() and limit.strip().isdigit() and int(used) >= int(limit) - 1:
            return Feedback(pause=1.0)
    return None


_THROTTLE = re.compile(rb'"(requestedQueryCost|actualQueryCost|currentlyAvailable|restoreRate|'
                       rb'maximumAvailable)"\s*:\s*(\d+(?:\.\d+)?)')


def graphql_cost(response: httpx.Response) -> Feedback | None:
    """The feedback parser ``graphql_cost``: GraphQL cost extensions
    (``extensions.cost.throttleStatus``) wait until the bucket holds as many points as the
    query just asked for."""
    body = response.content
    if b'"throttleStatus"' not in body:
        return None
    found = {name.decode(): float(value) for name, value in _THROTTLE.findall(body)}
    available, rate = found.get("currentlyAvailable"), found.get("restoreRate")
    wanted = found.get("requestedQueryCost", found.get("actualQueryCost"))
    if available is None or not rate or wanted is None or available >= wanted:
        return None
    if wanted > found.get("maximumAvailable", float("inf")):
        return None  # over the bucket's size (MAX_COST_EXCEEDED): no wait would let it run
    return Feedback(pause=(wanted - available) / rate)


register_feedback("shopify_call_limit", shopify_call_limit)
register_feedback("graphql_cost", graphql_cost)


def count_json(listing: Listing) -> int | None:
    """``GET <resource>/count.json`` with the listing's filters (one REST call)."""
    if not listing.path.endswith(".json") or listing.method != "GET" or \
            "page_info" in listing.params or listing.path == "/inventory_levels.json":
        return None
    path = listing.path.removesuffix(".json") + "/count.json"
    params = {k: v for k, v in listing.params.items() if k not in ("limit", "fields")}
    body = listing.conn.request("GET", path, params=params,
                                endpoint=listing.endpoint.replace(".list", ".count"))
    return int(body["count"]) if isinstance(body, dict) and "count" in body else None


register_strategies("shopify", Strategies(count=count_json))


class ShopifyRetryPolicy(RetryPolicy):
    """The shared policy, plus POSTs that are safe to send again: GraphQL queries (reads).
    (``set_inventory_level`` is declared ``idempotent`` in the definition.)"""

    def replayable(self, request: httpx.Request) -> bool:
        if super().replayable(request):
            return True
        if request.url.path.endswith("/graphql.json"):
            try:
                query = orjson.loads(request.content).get("query", "")
            except (orjson.JSONDecodeError, AttributeError, httpx.RequestNotRead):
                return False
            return isinstance(query, str) and not re.match(r"\s*mutation\b", query)
        return False


class ShopifyConnection(Connection):
    """Shopify's Admin API for one shop: REST resources paged by ``page_info`` Link headers,
    the documented writes, GraphQL with cost-based throttling, and ``inventory``."""

    def __init__(self, definition: ConnectorDef, *, shop: str | None = None,
                 base_url: str | None = None,
                 retry: dict[str, Any] | RetryPolicy | None = None, **options: Any) -> None:
        if base_url is None:
            shop = shop or os.environ.get("SHOPIFY_SHOP")
            if not shop:
                raise ConfigError("shopify needs the shop: set SHOPIFY_SHOP or pass "
                                  "ik.connect('shopify', shop='acme', ...). To try it offline, "
                                  "use ik.sandbox('shopify').")
            base_url = shop_url(shop)
        if not isinstance(retry, RetryPolicy):
            retry = ShopifyRetryPolicy.from_config(definition.retry, retry)
        # the engine checks the version (its pattern) and puts it in the path of base_url
        super().__init__(definition, base_url=base_url, retry=retry, **options)
        self.inventory = Inventory(self)

    # -- reads ---------------------------------------------------------------------------------
    def retrieve(self, resource: str, id: str | int, **params: Any) -> dict[str, Any]:
        """One object by id, unwrapped from Shopify's ``{"product": {...}}``."""
        body = super().retrieve(resource, str(id), **params)
        if isinstance(body, dict) and len(body) == 1:
            inner = next(iter(body.values()))
            if isinstance(inner, dict):
                return inner
        return body

    def fulfillment_orders(self, order_id: int | str) -> list[dict[str, Any]]:
        """An order's fulfillment orders (what a fulfillment fulfils)."""
        body = self.request("GET", f"/orders/{int(order_id)}/fulfillment_orders.json",
                            endpoint="fulfillment_orders.list")
        return list(body["fulfillment_orders"])

    # -- writes --------------------------------------------------------------------------------
    def create_product(self, title: str, *, variants: list[dict[str, Any]] | None = None,
                       images: list[dict[str, Any]] | None = None,
                       options: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Create a product; ``variants`` like ``[{"option1": "M", "price": "19.00",
        "sku": "TEE-M"}]``, ``images`` like ``[{"src": "https://..."}]``, ``options`` like
        ``["Size"]`` or ``[{"name": "Size"}]``. Not resent after a failure that may have
        created it (Shopify takes no idempotency key): check ``list("products", title=...)``.
        """
        product: dict[str, Any] = {"title": title, **fields}
        if variants is not None:
            product["variants"] = variants
        if images is not None:
            product["images"] = images
        if options is not None:
            product["options"] = [o if isinstance(o, dict) else {"name": str(o)}
                                  for o in options]
        return self.call_operation("create_product", {"product": product})  # type: ignore[no-any-return]

    def create_fulfillment(self, order_id: int | str, *, tracking_number: str | None = None,
                           tracking_company: str | None = None, tracking_url: str | None = None,
                           notify_customer: bool = False) -> dict[str, Any]:
        """Fulfil every open fulfillment order of ``order_id`` with one shipment: tracking
        number, company and URL; ``notify_customer`` sends the shipping confirmation."""
        open_orders = [fo for fo in self.fulfillment_orders(order_id)
                       if fo.get("status") in ("open", "in_progress")]
        if not open_orders:
            raise ConfigError(f"order {order_id} has nothing left to fulfil (no open "
                              "fulfillment orders)")
        tracking = {"number": tracking_number, "company": tracking_company, "url": tracking_url}
        spec = {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}
                                                for fo in open_orders],
            "tracking_info": {k: v for k, v in tracking.items() if v is not None},
            "notify_customer": bool(notify_customer),
        }
        return self.call_operation("create_fulfillment", {"fulfillment": spec})  # type: ignore[no-any-return]

    # -- GraphQL -------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any] | None = None, *,
                operation_name: str | None = None) -> dict[str, Any]:
        """Run one GraphQL query or mutation and return its ``data``.

        A ``THROTTLED`` answer waits for the cost bucket to refill and runs again; other
        GraphQL errors raise InvalidRequestError with Shopify's message.
        """
        return run_graphql(self, query, variables, operation_name=operation_name)

    def graphql_list(self, query: str, variables: dict[str, Any] | None = None, *,
                     path: str | None = None, schema: dict[str, Any] | None = None,
                     max_records: int | None = None, prefetch: bool = True) -> Any:
        """A lazy Result over every node of a GraphQL connection, one page per query.

        The query declares ``$after: String``, passes ``after: $after`` to the connection
        field and selects ``pageInfo { hasNextPage endCursor }``; ``path`` is where the
        connection sits in ``data`` (default: the first field that holds ``edges`` or
        ``nodes``, e.g. ``products`` or ``order.lineItems``). ``schema`` (field -> type, as
        the query names them: ``{"id": "string", "name": "string"}``) gives the frame those
        columns, typed, even when no node comes back.
        """
        plan = graphql_plan(self, query, variables, path=path, schema=schema,
                            max_records=max_records, prefetch=prefetch)
        return read_listing(self, plan, strategies_for(self.service, ENDPOINT))


CONNECTION = ShopifyConnection
