"""A local Shopify Admin API (REST and GraphQL, version 2024-10) that answers like the real one.

REST, under ``/admin/api/<version>/`` (the version served is echoed in
``X-Shopify-API-Version``; an unknown one falls back to the oldest supported, as Shopify does):

- ``GET shop.json``; ``GET products.json`` / ``products/count.json`` / ``products/<id>.json``,
  ``POST products.json`` (variants, options, images); ``GET variants/<id>.json``;
  ``GET orders.json`` (``status=open`` by default, ``any``/``closed``/``cancelled``;
  ``financial_status``, ``fulfillment_status``) and its count and retrieve,
  ``GET orders/<id>/fulfillment_orders.json`` and ``orders/<id>/fulfillments.json``;
  ``POST fulfillments.json`` (``line_items_by_fulfillment_order``, ``tracking_info``,
  ``notify_customer``); ``GET customers.json`` (count, retrieve); ``GET locations.json``;
  ``GET inventory_levels.json`` (``inventory_item_ids`` and/or ``location_ids``) and
  ``POST inventory_levels/set.json``.
- Lists are ordered by id; ``limit`` (default 50, at most 250), ``since_id``, ``ids``,
  ``fields``, ``created_at_min``/``max``, ``updated_at_min``/``max``. Pages follow the ``Link``
  header (``rel="next"`` / ``rel="previous"`` with an opaque ``page_info``); a request with
  ``page_info`` may carry only ``limit`` and ``fields``, as Shopify requires.
- ``X-Shopify-Access-Token`` auth (401 ``[API] Invalid API key or access token ...``), scopes
  per token (403 ``This action requires merchant approval for <scope> scope.``), a leaky
  bucket per token (40 calls, 2 a second) reported in ``X-Shopify-Shop-Api-Call-Limit`` and
  answered 429 with ``Retry-After: 2.0`` when full; ``X-Request-Id`` on every answer.

GraphQL at ``POST /admin/api/<version>/graphql.json``: see :mod:`.shopify_graphql`
(calculated query cost, ``extensions.cost.throttleStatus``, ``THROTTLED``).

Webhooks: :meth:`ShopifyEmulator.send_webhook` POSTs a signed delivery (``orders/create`` by
default) to any URL, with Shopify's ``X-Shopify-*`` headers.
"""

from __future__ import annotations

import base64
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from .._app import Emulator, Reply, Request
from .._clock import Moment
from .._faults import Headers
from .._limits import RateLimiter
from .shopify_data import ShopWorld, iso, parse_time
from .shopify_graphql import CostBucket, GraphQLApi

__all__ = ["API_VERSION", "CallLimit", "ShopifyEmulator", "ShopifyError", "SUPPORTED_VERSIONS"]

API_VERSION = "2024-10"
SUPPORTED_VERSIONS = ("2024-04", "2024-07", "2024-10", "2025-01")
RATE_LIMIT_MESSAGE = ("Exceeded 2 calls per second for api client. Reduce request rates to "
                      "resume uninterrupted service.")
INVALID_TOKEN = ("[API] Invalid API key or access token (unrecognized login or wrong "
                 "password)")
ALL_SCOPES = frozenset({
    "read_products", "write_products", "read_orders", "write_orders", "read_customers",
    "read_inventory", "write_inventory", "read_locations", "read_fulfillments",
    "write_fulfillments", "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders"})
_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/(?P<rest>.+)$")
_MAX_LIMIT = 250
_DEFAULT_LIMIT = 50


class ShopifyError(Exception):
    """An error answer: ``{"errors": <string, list or field map>}``."""

    def __init__(self, status: int, errors: Any, headers: Headers | None = None) -> None:
        super().__init__(str(errors))
        self.status = status
        self.errors = errors
        self.headers = headers or []


class CallLimit(RateLimiter):
    """Shopify's REST leaky bucket per token: ``burst`` calls fill it, ``rate`` a second drain
    it. A token bucket with the same numbers admits exactly the same calls; ``used`` is the
    fill level Shopify reports (``X-Shopify-Shop-Api-Call-Limit: used/burst``)."""

    def used(self, key: str) -> int:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0
            now = bucket.clock()
            tokens = min(bucket.burst, bucket.tokens + (now - bucket.stamp) * bucket.rate)
            return max(0, math.ceil(bucket.burst - tokens - 1e-9))


class _Listing:
    """How one REST list reads: its rows in id order, its filters, its record key."""

    def __init__(self, key: str, rows: Callable[[], list[dict[str, Any]]],
                 filters: Callable[[dict[str, Any]], Callable[[dict[str, Any]], bool]],
                 scope: str, sort_key: Callable[[dict[str, Any]], Any] = lambda r: r["id"]
                 ) -> None:
        self.key = key
        self.rows = rows
        self.filters = filters
        self.scope = scope
        self.sort_key = sort_key


class ShopifyEmulator(Emulator):
    """The Shopify emulator: an ASGI app plus an in-memory shop (``world``).

    >>> emu = ShopifyEmulator(records=50, seed=1)       # doctest: +SKIP
    >>> emu.world.products[0]["variants"][0]["sku"]      # doctest: +SKIP
    'IK-00001-S'
    """

    service = "shopify"
    key_prefix = "shpat_"

    def __init__(self, *, records: int = 1000, seed: int = 0,
                 rate_limit: tuple[float, int] | None = None, latency: float = 0.0,
                 api_key: str | None = None, now: Moment = None,
                 graphql_bucket: tuple[float, float] | None = None) -> None:
        super().__init__(api_key=api_key or "shpat_" + uuid.uuid4().hex,
                         rate_limit=None, latency=latency, now=now)
        rate, burst = rate_limit or (2.0, 40)
        self.limiter = CallLimit(rate, burst)
        self.records = records
        self.seed = seed
        self.world = ShopWorld(records, seed, self.world_clock.midnight(),
                               clock=self.world_clock)
        maximum, restore = graphql_bucket or (1000.0, 50.0)
        self.cost_bucket = CostBucket(maximum, restore)
        self.graphql = GraphQLApi(self.world, self.cost_bucket, self._graphql_set)
        self.scopes: dict[str, frozenset[str]] = {}
        self.webhook_secret = "shpss_" + uuid.uuid4().hex
        self.notifications: list[dict[str, Any]] = []  # shipping confirmations "sent"
        self.inventory_writes = 0
        self._listings = self._make_listings()

    # -- options ---------------------------------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        """``ik.connect("shopify", ...)`` keywords: the token, and client limits that match
        this emulator's two buckets (REST calls, GraphQL points)."""
        limiter = self.limiter
        assert isinstance(limiter, CallLimit)
        return {
            "access_token": self.api_key,
            "rate_limit": [
                {"name": "rest", "limit": max(1, int(limiter.rate)), "per": 1,
                 "burst": int(limiter.burst), "endpoints": list(REST_ENDPOINTS)},
                {"name": "graphql", "limit": max(1, int(self.cost_bucket.restore)), "per": 1,
                 "burst": int(self.cost_bucket.maximum), "endpoints": ["graphql*"]},
            ],
        }

    def grant(self, key: str, scopes: Iterable[str]) -> None:
        """Accept ``key`` with only these access scopes (``read_products``...)."""
        self.add_api_key(key)
        self.scopes[key] = frozenset(scopes)

    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        headers: Headers = [(b"x-request-id", str(uuid.uuid4()).encode())]
        if status == 429:
            headers.append((b"retry-after", b"2.0"))
            return orjson.dumps({"errors": RATE_LIMIT_MESSAGE}), headers
        text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout"}.get(status, "Error")
        return orjson.dumps({"errors": text}), headers

    # -- HTTP ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        request_id = str(uuid.uuid4())
        match = _PATH.match(request.path)
        version = match.group("version") if match else API_VERSION
        served = version if version in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
        extra: Headers = []
        try:
            if match is None:
                raise ShopifyError(404, "Not Found")
            key = self._authenticate(request)
            rest = match.group("rest")
            if rest == "graphql.json":
                reply = self._graphql(request, key)
            else:
                allowed = self.allow(key)
                extra.append((b"x-shopify-shop-api-call-limit",
                              f"{self.limiter_used(key)}/{self._burst}".encode()))
                if not allowed:
                    raise ShopifyError(429, RATE_LIMIT_MESSAGE, [(b"retry-after", b"2.0")])
                reply = self._route(request, key, version, rest)
        except ShopifyError as err:
            reply = Reply(err.status, orjson.dumps({"errors": err.errors}), list(err.headers))
        reply.headers = [(b"x-request-id", request_id.encode()),
                         (b"x-shopify-api-version", served.encode()),
                         *extra, *reply.headers]
        return reply

    @property
    def _burst(self) -> int:
        assert self.limiter is not None
        return int(self.limiter.burst)

    def limiter_used(self, key: str) -> int:
        """How full ``key``'s REST bucket is."""
        limiter = self.limiter
        return limiter.used(key) if isinstance(limiter, CallLimit) else 0

    def _authenticate(self, request: Request) -> str:
        token = request.headers.get("x-shopify-access-token", "").strip()
        if not token or token not in self.api_keys:
            raise ShopifyError(401, INVALID_TOKEN)
        request.api_key = token
        return token

    def _require(self, key: str, scope: str) -> None:
        granted = self.scopes.get(key, ALL_SCOPES)
        write = scope.replace("read_", "write_")
        if scope not in granted and write not in granted:
            raise ShopifyError(403, f"[API] This action requires merchant approval for "
                                    f"{scope} scope.")

    def _graphql(self, request: Request, key: str) -> Reply:
        if request.method != "POST":
            raise ShopifyError(404, "Not Found")
        try:
            body = orjson.loads(request.body or b"null")
        except orjson.JSONDecodeError:
            raise ShopifyError(400, "Invalid JSON in request body") from None
        answer = self.graphql.execute(key, body)
        return Reply(200, orjson.dumps(answer))

    def _graphql_set(self, item_id: int, location_id: int, quantity: int) -> None:
        self.inventory_writes += 1
        self.world.set_level(item_id, location_id, quantity, self.world_clock())

    # -- REST routing ----------------------------------------------------------------------------
    def _route(self, request: Request, key: str, version: str, rest: str) -> Reply:
        method = request.method
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        parts = rest.removesuffix(".json").split("/") if rest.endswith(".json") else None
        if not parts:
            raise ShopifyError(404, "Not Found")
        base = f"http://{request.headers.get('host', '127.0.0.1')}/admin/api/{version}"
        if method == "GET":
            if parts == ["shop"]:
                return _ok({"shop": self._shop()})
            if len(parts) == 1 and parts[0] in self._listings:
                return self._list(key, parts[0], params, f"{base}/{rest}")
            if len(parts) == 2 and parts[1] == "count" and parts[0] in self._listings:
                listing = self._listings[parts[0]]
                self._require(key, listing.scope)
                keep = listing.filters(params)
                return _ok({"count": sum(1 for r in listing.rows() if keep(r))})
            if len(parts) == 2 and parts[1].isdigit():
                return self._retrieve(key, parts[0], int(parts[1]), params)
            if len(parts) == 3 and parts[0] == "orders" and parts[1].isdigit():
                return self._order_children(key, int(parts[1]), parts[2])
        if method == "POST":
            body = self._json_body(request)
            if parts == ["products"]:
                self._require(key, "write_products")
                return self._create_product(body)
            if parts == ["inventory_levels", "set"]:
                self._require(key, "write_inventory")
                return self._set_level(body)
            if parts == ["fulfillments"]:
                self._require(key, "write_fulfillments")
                return self._create_fulfillment(body)
        raise ShopifyError(404, "Not Found")

    @staticmethod
    def _json_body(request: Request) -> Any:
        try:
            return orjson.loads(request.body) if request.body else {}
        except orjson.JSONDecodeError:
            raise ShopifyError(400, "Invalid JSON in request body") from None

    def _shop(self) -> dict[str, Any]:
        w = self.world
        return {"id": 548380009, "name": w.shop_name, "email": f"owner@{w.shop_name}.example.com",
                "domain": f"{w.shop_name}.myshopify.com",
                "myshopify_domain": f"{w.shop_name}.myshopify.com", "currency": "USD",
                "iana_timezone": "America/New_York", "plan_name": "basic",
                "created_at": iso(w.now - 3 * 365 * 86_400), "country_code": "US",
                "primary_location_id": w.locations[0]["id"]}

    # -- lists -----------------------------------------------------------------------------------
    def _make_listings(self) -> dict[str, _Listing]:
        w = self.world
        return {
            "products": _Listing("products", lambda: w.products, _product_filters,
                                 "read_products"),
            "orders": _Listing("orders", lambda: w.orders, _order_filters, "read_orders"),
            "customers": _Listing("customers", lambda: w.customers, _common_filters,
                                  "read_customers"),
            "locations": _Listing("locations", lambda: w.locations, _common_filters,
                                  "read_locations"),
            "inventory_levels": _Listing(
                "inventory_levels", lambda: sorted(
                    w.levels.values(), key=lambda lv: (lv["inventory_item_id"],
                                                       lv["location_id"])),
                _level_filters, "read_inventory",
                sort_key=lambda lv: [lv["inventory_item_id"], lv["location_id"]]),
        }

    def _list(self, key: str, name: str, params: dict[str, str], url: str) -> Reply:
        listing = self._listings[name]
        self._require(key, listing.scope)
        limit = _limit(params)
        fields = params.get("fields")
        token = params.get("page_info")
        if token is not None:
            extra = sorted(set(params) - {"page_info", "limit", "fields"})
            if extra:
                raise ShopifyError(400, {"page_info": f"cannot be combined with {', '.join(extra)}"
                                                      "; a request with page_info may include "
                                                      "only limit and fields"})
            cursor = _decode_page_info(token)
            filters, direction, last = cursor["filters"], cursor["direction"], cursor["last"]
        else:
            filters = {k: v for k, v in params.items() if k not in ("limit", "fields")}
            direction, last = "next", None
        if name == "inventory_levels" and not (filters.get("inventory_item_ids")
                                               or filters.get("location_ids")):
            raise ShopifyError(422, {"base": ["inventory_item_ids or location_ids is "
                                              "required"]})
        keep = listing.filters(filters)
        rows = [r for r in listing.rows() if keep(r)]
        sort = listing.sort_key
        if direction == "next":
            start = 0 if last is None else next(
                (i for i, r in enumerate(rows) if sort(r) > last), len(rows))
            page = rows[start:start + limit]
            has_prev, has_next = start > 0, start + limit < len(rows)
        else:
            end = next((i for i, r in enumerate(rows) if sort(r) >= last), len(rows))
            start = max(0, end - limit)
            page = rows[start:end]
            has_prev, has_next = start > 0, True
        links = []
        query = {"limit": str(limit), **({"fields": fields} if fields else {})}
        if has_prev and page:
            links.append(f'<{url}?{urlencode({**query, "page_info": _page_info(filters, "prev", sort(page[0]))})}>; rel="previous"')  # noqa: E501
        if has_next and page:
            links.append(f'<{url}?{urlencode({**query, "page_info": _page_info(filters, "next", sort(page[-1]))})}>; rel="next"')  # noqa: E501
        records = [_project(r, fields) for r in page]
        headers: Headers = [(b"link", ", ".join(links).encode())] if links else []
        return Reply(200, orjson.dumps({name: records}), headers)

    def _retrieve(self, key: str, name: str, obj_id: int, params: dict[str, str]) -> Reply:
        singular = {"products": "product", "orders": "order", "customers": "customer",
                    "locations": "location", "variants": "variant"}.get(name)
        if singular is None:
            raise ShopifyError(404, "Not Found")
        if name == "variants":
            self._require(key, "read_products")
            found = self.world.variants.get(obj_id)
        else:
            listing = self._listings[name]
            self._require(key, listing.scope)
            found = next((r for r in listing.rows() if r["id"] == obj_id), None)
        if found is None:
            raise ShopifyError(404, "Not Found")
        return _ok({singular: _project(found, params.get("fields"))})

    def _order(self, obj_id: int) -> dict[str, Any]:
        found = next((o for o in self.world.orders if o["id"] == obj_id), None)
        if found is None:
            raise ShopifyError(404, "Not Found")
        return found

    def _order_children(self, key: str, order_id: int, child: str) -> Reply:
        if child == "fulfillment_orders":
            self._require(key, "read_merchant_managed_fulfillment_orders")
            self._order(order_id)
            return _ok({"fulfillment_orders": self.world.fulfillment_orders.get(order_id, [])})
        if child == "fulfillments":
            self._require(key, "read_fulfillments")
            self._order(order_id)
            return _ok({"fulfillments": self.world.fulfillments.get(order_id, [])})
        raise ShopifyError(404, "Not Found")

    # -- writes ----------------------------------------------------------------------------------
    def _create_product(self, body: Any) -> Reply:
        product = body.get("product") if isinstance(body, dict) else None
        if not isinstance(product, dict):
            raise ShopifyError(400, {"product": "Required parameter missing or invalid"})
        problems: dict[str, list[str]] = {}
        if not str(product.get("title") or "").strip():
            problems["title"] = ["can't be blank"]
        variants = product.get("variants") or []
        if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
            problems["variants"] = ["is invalid"]
        elif len(variants) > 100:
            problems["variants"] = ["is too long (maximum is 100)"]
        else:
            for v in variants:
                try:
                    float(v.get("price") or 0)
                except (TypeError, ValueError):
                    problems.setdefault("variants.price", []).append("is not a number")
            combos = [tuple(v.get(f"option{n}") for n in (1, 2, 3)) for v in variants]
            if len(set(combos)) != len(combos):
                problems["base"] = [f"The variant '{' / '.join(str(o) for o in combos[0] if o)}'"
                                    " already exists."]
        status = product.get("status", "active")
        if status not in ("active", "draft", "archived"):
            problems["status"] = ["is not included in the list"]
        images = product.get("images") or []
        if not isinstance(images, list) or any(not isinstance(i, dict) or not (
                i.get("src") or i.get("attachment")) for i in images):
            problems["images"] = ["must each have a src or an attachment"]
        if problems:
            raise ShopifyError(422, problems)
        self.objects["product"] += 1
        return Reply(201, orjson.dumps({"product": self.world.add_product(
            product, self.world_clock())}))

    def _set_level(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            body = {}
        for name in ("location_id", "inventory_item_id", "available"):
            value = body.get(name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ShopifyError(400, {name: "Required parameter missing or invalid"})
        item, location = body["inventory_item_id"], body["location_id"]
        if not any(v["inventory_item_id"] == item for v in self.world.variants.values()):
            raise ShopifyError(422, ["Inventory item does not exist"])
        if not any(loc["id"] == location for loc in self.world.locations):
            raise ShopifyError(422, ["Location does not exist"])
        self.inventory_writes += 1
        self.objects["inventory_level"] += 1
        level = self.world.set_level(item, location, int(body["available"]),
                                     self.world_clock())
        return _ok({"inventory_level": level})

    def _create_fulfillment(self, body: Any) -> Reply:
        spec = body.get("fulfillment") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise ShopifyError(400, {"fulfillment": "Required parameter missing or invalid"})
        groups = spec.get("line_items_by_fulfillment_order")
        if not isinstance(groups, list) or not groups:
            raise ShopifyError(400, {"line_items_by_fulfillment_order":
                                     "Required parameter missing or invalid"})
        fos = []
        order = None
        for group in groups:
            fo_id = group.get("fulfillment_order_id") if isinstance(group, dict) else None
            found = next(((oid, fo) for oid, lst in self.world.fulfillment_orders.items()
                          for fo in lst if fo["id"] == fo_id), None)
            if found is None:
                raise ShopifyError(404, "Not Found")
            oid, fo = found
            if fo["status"] not in ("open", "in_progress"):
                raise ShopifyError(422, ["The fulfillment order is not in an open state."])
            order = self._order(oid)
            fos.append(fo)
        assert order is not None
        tracking = spec.get("tracking_info") or {}
        if not isinstance(tracking, dict):
            raise ShopifyError(400, {"tracking_info": "Required parameter missing or invalid"})
        notify = bool(spec.get("notify_customer", False))
        fulfillment = self.world.add_fulfillment(order, fos, self.world_clock(), tracking,
                                                 notify=notify)
        fulfillment.pop("notify_customer", None)
        for line in order["line_items"]:
            line["fulfillable_quantity"] = 0
            line["fulfillment_status"] = "fulfilled"
        order["fulfillment_status"] = "fulfilled"
        order["updated_at"] = iso(self.world_clock())
        if notify:
            self.notifications.append({"order_id": order["id"], "email": order["email"],
                                       "tracking_number": tracking.get("number")})
        self.objects["fulfillment"] += 1
        return Reply(201, orjson.dumps({"fulfillment": fulfillment}))

    # -- webhooks --------------------------------------------------------------------------------
    def send_webhook(self, url: str, topic: str = "orders/create",
                     payload: dict[str, Any] | None = None, *, secret: str | None = None,
                     api_version: str = API_VERSION) -> Any:
        """POST a signed ``topic`` delivery to ``url`` as Shopify does (the newest order for
        ``orders/*`` when no ``payload``); returns the ``httpx.Response``."""
        import httpx

        from ...webhooks import sign

        if payload is None:
            if not self.world.orders:
                raise ValueError("the shop has no orders to send; pass payload=")
            payload = self.world.orders[-1]
        body = orjson.dumps(payload)
        headers = {
            "Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": f"{self.world.shop_name}.myshopify.com",
            "X-Shopify-API-Version": api_version, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": iso(time.time()),
            **sign("shopify", body, secret=secret or self.webhook_secret),
        }
        return httpx.post(url, content=body, headers=headers, timeout=10)


REST_ENDPOINTS = ("*.list", "*.retrieve", "*.count", "*.create", "*.set", "GET /admin/*",
                  "POST /admin/*", "PUT /admin/*", "DELETE /admin/*")
"""The client's endpoint names for REST calls (GraphQL calls are named ``graphql``)."""


# -- helpers ----------------------------------------------------------------------------------


def _ok(payload: Any) -> Reply:
    return Reply(200, orjson.dumps(payload))


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit", str(_DEFAULT_LIMIT))
    try:
        value = int(raw)
    except ValueError:
        raise ShopifyError(400, {"limit": "Invalid value."}) from None
    return max(1, min(_MAX_LIMIT, value))


def _page_info(filters: dict[str, str], direction: str, last: Any) -> str:
    raw = orjson.dumps({"direction": direction, "last": last, "filters": filters})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_info(token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = orjson.loads(raw)
        if cursor["direction"] not in ("next", "prev") or not isinstance(cursor["filters"],
                                                                         dict):
            raise ValueError
        return dict(cursor)
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise ShopifyError(400, {"page_info": "Invalid value."}) from None


def _project(record: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return record
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    return {f: record[f] for f in wanted if f in record}


Check = Callable[[dict[str, Any]], bool]


def _ids(raw: str, name: str) -> set[int]:
    try:
        return {int(x) for x in raw.split(",") if x.strip()}
    except ValueError:
        raise ShopifyError(400, {name: "Invalid value."}) from None


def _time_param(raw: str, name: str) -> float:
    try:
        return parse_time(raw)
    except ValueError:
        raise ShopifyError(400, {name: "Invalid value."}) from None


def _common_checks(params: dict[str, str]) -> list[Check]:
    checks: list[Check] = []
    if params.get("ids"):
        ids = _ids(params["ids"], "ids")
        checks.append(lambda r: r["id"] in ids)
    if params.get("since_id"):
        since = min(_ids(params["since_id"], "since_id"))
        checks.append(lambda r: r["id"] > since)
    for field in ("created_at", "updated_at", "processed_at"):
        for bound in ("min", "max"):
            raw = params.get(f"{field}_{bound}")
            if raw:
                t = _time_param(raw, f"{field}_{bound}")
                checks.append(_time_check(field, t, bound == "min"))
    return checks


def _time_check(field: str, t: float, at_least: bool) -> Check:
    def check(r: dict[str, Any]) -> bool:
        value = r.get(field)
        if value is None:
            return False
        moment = parse_time(value)
        return moment >= t if at_least else moment <= t

    return check


def _equals(field: str, want: str) -> Check:
    return lambda r: str(r[field]).lower() == want


def _member(field: str, ids: set[int]) -> Check:
    return lambda r: r[field] in ids


def _all(checks: list[Check]) -> Check:
    return lambda r: all(check(r) for check in checks)


def _common_filters(params: dict[str, str]) -> Check:
    return _all(_common_checks(params))


def _product_filters(params: dict[str, str]) -> Check:
    checks = _common_checks(params)
    for name in ("title", "vendor", "handle", "product_type"):
        if params.get(name):
            want = params[name].lower()
            checks.append(_equals(name, want))
    if params.get("status"):
        statuses = {s.strip() for s in params["status"].split(",")}
        checks.append(lambda r: r["status"] in statuses)
    published = params.get("published_status", "any")
    if published == "published":
        checks.append(lambda r: r["published_at"] is not None)
    elif published == "unpublished":
        checks.append(lambda r: r["published_at"] is None)
    return _all(checks)


_FINANCIAL = {"authorized", "pending", "paid", "partially_paid", "refunded", "voided",
              "partially_refunded", "unpaid", "any"}


def _order_filters(params: dict[str, str]) -> Check:
    checks = _common_checks(params)
    status = params.get("status", "open")
    if status not in ("open", "closed", "cancelled", "any"):
        raise ShopifyError(400, {"status": "Invalid value."})
    if status == "open":
        checks.append(lambda r: not r["closed_at"] and not r["cancelled_at"])
    elif status == "closed":
        checks.append(lambda r: bool(r["closed_at"]))
    elif status == "cancelled":
        checks.append(lambda r: bool(r["cancelled_at"]))
    financial = params.get("financial_status", "any")
    if financial not in _FINANCIAL:
        raise ShopifyError(400, {"financial_status": "Invalid value."})
    if financial == "unpaid":
        checks.append(lambda r: r["financial_status"] in ("pending", "authorized"))
    elif financial != "any":
        checks.append(lambda r: r["financial_status"] == financial)
    fulfillment = params.get("fulfillment_status", "any")
    if fulfillment in ("shipped", "fulfilled"):
        checks.append(lambda r: r["fulfillment_status"] == "fulfilled")
    elif fulfillment in ("unshipped", "unfulfilled"):
        checks.append(lambda r: r["fulfillment_status"] != "fulfilled")
    elif fulfillment == "partial":
        checks.append(lambda r: r["fulfillment_status"] == "partial")
    elif fulfillment != "any":
        raise ShopifyError(400, {"fulfillment_status": "Invalid value."})
    if params.get("name"):
        name = params["name"].lstrip("#")
        checks.append(lambda r: r["name"].lstrip("#") == name)
    return _all(checks)


def _level_filters(params: dict[str, str]) -> Check:
    checks: list[Check] = []
    for name, field in (("inventory_item_ids", "inventory_item_id"),
                        ("location_ids", "location_id")):
        if params.get(name):
            ids = _ids(params[name], name)
            if len(ids) > 50:
                raise ShopifyError(422, {name: ["must have at most 50 ids"]})
            checks.append(_member(field, ids))
    if params.get("updated_at_min"):
        t = _time_param(params["updated_at_min"], "updated_at_min")
        checks.append(lambda r: parse_time(r["updated_at"]) >= t)
    return _all(checks)


