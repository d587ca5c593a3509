"""The Shopify emulator's Admin GraphQL API: graphql-core over a schema, with Shopify's cost.

Served at ``POST /admin/api/<version>/graphql.json`` with ``{"query", "variables",
"operationName"}``. The schema is ``shopify_admin.graphql`` (SDL, the part of Admin API 2024-10
served here): query roots ``shop``, ``products``/``product``, ``productVariants``/
``productVariant``, ``orders``/``order``, ``customers``/``customer``, ``locations``/
``location``, ``inventoryItems``/``inventoryItem``; mutation ``inventorySetQuantities``.
graphql-core parses, validates and executes; the errors it finds are answered in Shopify's
(graphql-ruby's) shape: message, ``locations``, ``path`` and ``extensions.code``
(``undefinedField``, ``argumentLiteralsIncompatible``...). Connections are Relay-style with
``first``/``after``/``last``/``before``/``reverse`` and Shopify's search syntax in ``query``
(``sku:IK-00001-S OR sku:IK-00002-M``, ``created_at:>2024-01-01``, ``status:active``).

Cost follows Shopify's published rules, computed on the parsed query with the schema's types:
scalars and enums 0, objects 1, connections 2 plus ``first`` (or ``last``) times the cost of
one node, mutations 10. The requested cost is taken from a leaky bucket (1000 points,
restoring 50 a second) before the query runs and the difference to the actual cost (what
the resolvers returned) is given back after; a query the bucket cannot cover is answered
``THROTTLED`` (HTTP 200), and one over 1000 points ``MAX_COST_EXCEEDED``.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLResolveInfo,
    GraphQLType,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Visitor,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    is_object_type,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql import validation as rules
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language.visitor import BREAK

from .shopify_data import CURRENCY, ShopWorld, gid, iso, parse_time

__all__ = ["SCHEMA", "CostBucket", "GraphQLApi", "MAX_COST", "RESTORE_RATE"]

MAX_COST = 1000
RESTORE_RATE = 50
MUTATION_COST = 10
MAX_PAGE = 250
_DOCS = "https://shopify.dev/api/usage/rate-limits"

SCHEMA = build_schema(Path(__file__).with_name("shopify_admin.graphql").read_text("utf-8"))
"""The Admin API types the emulator serves."""


def _error(message: str, code: str) -> GraphQLError:
    """An error a resolver raises; graphql-core adds its ``locations`` and ``path``."""
    return GraphQLError(message, extensions={"code": code})


class CostBucket:
    """Shopify's GraphQL leaky bucket of points, per access token."""

    def __init__(self, maximum: float = MAX_COST, restore: float = RESTORE_RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = float(maximum)
        self.restore = float(restore)
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def available(self, key: str) -> float:
        with self._lock:
            return self._refill(key)

    def _refill(self, key: str) -> float:
        now = self.clock()
        points, stamp = self._state.get(key, (self.maximum, now))
        points = min(self.maximum, points + (now - stamp) * self.restore)
        self._state[key] = (points, now)
        return points

    def take(self, key: str, cost: float) -> bool:
        """Take ``cost`` points if the bucket holds them."""
        with self._lock:
            points = self._refill(key)
            if points < cost:
                return False
            self._state[key] = (points - cost, self._state[key][1])
            return True

    def give_back(self, key: str, points: float) -> None:
        with self._lock:
            current = self._refill(key)
            self._state[key] = (min(self.maximum, current + points), self._state[key][1])

    def status(self, key: str) -> dict[str, float]:
        return {"maximumAvailable": self.maximum,
                "currentlyAvailable": math.floor(self.available(key)),
                "restoreRate": self.restore}


# -- values the resolvers return ---------------------------------------------------------------

Obj = dict[str, Any]  # field name -> value, or a callable taking the arguments


@dataclass
class Conn:
    """One page of a connection."""

    nodes: list[Obj]
    cursors: list[str]
    has_next: bool
    has_previous: bool

    def as_obj(self) -> Obj:
        edges = [{"cursor": c, "node": n} for c, n in zip(self.cursors, self.nodes, strict=True)]
        return {"edges": edges, "nodes": self.nodes, "pageInfo": {
            "hasNextPage": self.has_next, "hasPreviousPage": self.has_previous,
            "startCursor": self.cursors[0] if self.cursors else None,
            "endCursor": self.cursors[-1] if self.cursors else None}}


def _cursor(obj_id: int) -> str:
    raw = orjson.dumps({"last_id": obj_id, "last_value": str(obj_id)})
    return base64.b64encode(raw).decode()


def _cursor_id(cursor: Any) -> int:
    try:
        return int(orjson.loads(base64.b64decode(str(cursor), validate=True))["last_id"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise _error(f"Invalid cursor for current pagination sort: {cursor}",
                           "BAD_REQUEST") from None


def paginate(items: list[Obj], ids: list[int], args: dict[str, Any]) -> Conn:
    """A page of ``items`` (ordered by id, ``ids`` their ids) for Relay arguments."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise _error("you must provide one of first or last", "BAD_REQUEST")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= int(value) <= MAX_PAGE:
            raise _error(f"The {name} argument must be between 0 and {MAX_PAGE}",
                               "BAD_REQUEST")
    order = list(range(len(items)))
    if args.get("reverse"):
        order.reverse()
    position = {ids[i]: k for k, i in enumerate(order)}
    lo, hi = 0, len(order)
    if args.get("after") is not None:
        lo = position.get(_cursor_id(args["after"]), -1) + 1
    if args.get("before") is not None:
        hi = position.get(_cursor_id(args["before"]), hi)
    window = order[lo:hi]
    if first is not None:
        chosen, has_next, has_prev = window[: int(first)], len(window) > int(first), lo > 0
    else:
        n = int(last or 0)
        chosen = window[max(0, len(window) - n):]
        has_next, has_prev = hi < len(order), len(window) > n
    return Conn([items[i] for i in chosen], [_cursor(ids[i]) for i in chosen], has_next,
                has_prev)


# -- Shopify's search syntax -----------------------------------------------------------------


def _terms(query: str) -> list[str]:
    out, current, quote = [], "", ""
    for ch in query:
        if quote:
            if ch == quote:
                quote = ""
            else:
                current += ch
        elif ch in "'\"":
            quote = ch
        elif ch.isspace():
            if current:
                out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return out


def search(query: str | None, default_field: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over facts for ``field:value`` terms (AND), ``OR`` between groups,
    ``-field:value`` negation, ``>``/``<``/``>=``/``<=`` comparisons and ``value*`` prefixes."""
    if not query or not query.strip():
        return lambda facts: True
    groups: list[list[tuple[bool, str, str, str]]] = [[]]
    for term in _terms(query):
        if term == "OR":
            groups.append([])
            continue
        if term == "AND":
            continue
        negate = term.startswith("-")
        term = term.lstrip("-")
        name, sep, value = term.partition(":")
        if not sep:
            name, value = default_field, term
        op = ""
        for candidate in (">=", "<=", ">", "<"):
            if value.startswith(candidate):
                op, value = candidate, value[len(candidate):]
                break
        groups[-1].append((negate, name.lower(), op, value))

    def matches(facts: dict[str, Any], term: tuple[bool, str, str, str]) -> bool:
        negate, name, op, value = term
        have = facts.get(name)
        values = have if isinstance(have, list) else [have]
        hit = any(_compare(v, op, value) for v in values if v is not None)
        return hit != negate

    return lambda facts: any(all(matches(facts, t) for t in group)
                             for group in groups if group)


def _compare(have: Any, op: str, want: str) -> bool:
    if isinstance(have, bool):
        return str(have).lower() == want.lower()
    if isinstance(have, int | float):
        try:
            number = float(want)
        except ValueError:
            return False
        return {"": have == number, ">": have > number, "<": have < number,
                ">=": have >= number, "<=": have <= number}[op]
    text = str(have)
    if op:
        try:
            a, b = parse_time(text), parse_time(want)
        except ValueError:
            a, b = text, want  # type: ignore[assignment]
        return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
    if want.endswith("*"):
        return text.lower().startswith(want[:-1].lower())
    return text.lower() == want.lower()


# -- the schema: REST objects as GraphQL objects ---------------------------------------------


def _money(amount: str) -> Obj:
    return {"shopMoney": {"amount": amount, "currencyCode": CURRENCY}}


class Resolvers:
    """Values over one shop for the schema's fields; every object is built on demand from
    the REST shape."""

    def __init__(self, world: ShopWorld) -> None:
        self.world = world

    # roots -------------------------------------------------------------------------------
    def query_root(self) -> Obj:
        w = self.world
        return {
            "shop": self.shop(),
            "products": lambda a: self._list(w.products, self.product, a, self._product_facts,
                                             "title"),
            "product": lambda a: self._one(w.products, "Product", a, self.product),
            "productVariants": lambda a: self._list(
                self._all_variants(), self.variant, a, self._variant_facts, "title"),
            "productVariant": lambda a: self._one(self._all_variants(), "ProductVariant", a,
                                                  self.variant),
            "orders": lambda a: self._list(w.orders, self.order, a, self._order_facts, "name"),
            "order": lambda a: self._one(w.orders, "Order", a, self.order),
            "customers": lambda a: self._list(w.customers, self.customer, a,
                                              self._customer_facts, "email"),
            "customer": lambda a: self._one(w.customers, "Customer", a, self.customer),
            "locations": lambda a: self._list(w.locations, self.location, a,
                                              lambda x: {"name": x["name"]}, "name"),
            "location": lambda a: self._one(w.locations, "Location", a, self.location),
            "inventoryItems": lambda a: self._list(
                self._items(), self.inventory_item, a,
                lambda v: {"sku": v["sku"], "id": v["inventory_item_id"]}, "sku",
                key="inventory_item_id"),
            "inventoryItem": lambda a: self._one(self._items(), "InventoryItem", a,
                                                 self.inventory_item, key="inventory_item_id"),
        }

    def mutation_root(self, on_set: Callable[[int, int, int], None]) -> Obj:
        return {"inventorySetQuantities": lambda a: self._set_quantities(a, on_set)}

    def _all_variants(self) -> list[dict[str, Any]]:
        return sorted(self.world.variants.values(), key=lambda v: v["id"])

    def _items(self) -> list[dict[str, Any]]:
        return sorted(self.world.variants.values(), key=lambda v: v["inventory_item_id"])

    def _list(self, rows: list[dict[str, Any]], build: Callable[[dict[str, Any]], Obj],
              args: dict[str, Any], facts: Callable[[dict[str, Any]], dict[str, Any]],
              default_field: str, key: str = "id") -> Conn:
        keep = search(args.get("query"), default_field)
        chosen = [r for r in rows if keep(facts(r))]
        conn = paginate(chosen, [r[key] for r in chosen], args)
        conn.nodes = [build(r) for r in conn.nodes]
        return conn

    def _one(self, rows: list[dict[str, Any]], kind: str, args: dict[str, Any],
             build: Callable[[dict[str, Any]], Obj], key: str = "id") -> Obj | None:
        wanted = str(args.get("id", ""))
        prefix = f"gid://shopify/{kind}/"
        if not wanted.startswith(prefix) or not wanted[len(prefix):].isdigit():
            raise _error(f'Invalid global id \'{wanted}\'', "argumentLiteralsIncompatible")
        target = int(wanted[len(prefix):])
        row = next((r for r in rows if r[key] == target), None)
        return None if row is None else build(row)

    # facts for search ----------------------------------------------------------------------
    @staticmethod
    def _product_facts(p: dict[str, Any]) -> dict[str, Any]:
        return {"title": p["title"], "vendor": p["vendor"], "product_type": p["product_type"],
                "status": p["status"], "created_at": p["created_at"],
                "updated_at": p["updated_at"], "id": p["id"], "handle": p["handle"],
                "tag": [t.strip() for t in p["tags"].split(",") if t.strip()],
                "sku": [v["sku"] for v in p["variants"] if v["sku"]]}

    @staticmethod
    def _variant_facts(v: dict[str, Any]) -> dict[str, Any]:
        return {"sku": v["sku"], "title": v["title"], "product_id": v["product_id"],
                "id": v["id"], "barcode": v["barcode"]}

    @staticmethod
    def _order_facts(o: dict[str, Any]) -> dict[str, Any]:
        status = "cancelled" if o["cancelled_at"] else ("closed" if o["closed_at"] else "open")
        return {"name": o["name"], "status": status, "financial_status": o["financial_status"],
                "fulfillment_status": o["fulfillment_status"] or "unfulfilled",
                "created_at": o["created_at"], "updated_at": o["updated_at"],
                "email": o["email"], "id": o["id"]}

    @staticmethod
    def _customer_facts(c: dict[str, Any]) -> dict[str, Any]:
        return {"email": c["email"], "first_name": c["first_name"],
                "last_name": c["last_name"], "state": c["state"],
                "created_at": c["created_at"], "updated_at": c["updated_at"], "id": c["id"],
                "orders_count": c["orders_count"]}

    # objects -------------------------------------------------------------------------------
    def shop(self) -> Obj:
        w = self.world
        return {"id": gid("Shop", 548380009), "name": w.shop_name,
                "email": f"owner@{w.shop_name}.example.com",
                "myshopifyDomain": f"{w.shop_name}.myshopify.com", "currencyCode": CURRENCY,
                "ianaTimezone": "America/New_York",
                "plan": {"displayName": "Basic",
                         "partnerDevelopment": False, "shopifyPlus": False}}

    def product(self, p: dict[str, Any]) -> Obj:
        variants = p["variants"]
        images = p["images"]
        return {
            "id": p["admin_graphql_api_id"],
            "legacyResourceId": str(p["id"]), "title": p["title"], "handle": p["handle"],
            "vendor": p["vendor"], "productType": p["product_type"],
            "status": p["status"].upper(), "createdAt": _utc(p["created_at"]),
            "updatedAt": _utc(p["updated_at"]),
            "publishedAt": _utc(p["published_at"]) if p["published_at"] else None,
            "descriptionHtml": p["body_html"] or "",
            "tags": [t.strip() for t in p["tags"].split(",") if t.strip()],
            "totalInventory": sum(v["inventory_quantity"] for v in variants),
            "tracksInventory": True,
            "variants": lambda a: self._nested(variants, self.variant, a),
            "images": lambda a: self._nested(images, self.image, a),
            "options": [{"id": gid("ProductOption", o["id"]),
                         "name": o["name"], "position": o["position"], "values": o["values"]}
                        for o in p["options"]],
        }

    def _nested(self, rows: list[dict[str, Any]], build: Callable[[dict[str, Any]], Obj],
                args: dict[str, Any]) -> Conn:
        conn = paginate(rows, [r["id"] for r in rows], args)
        conn.nodes = [build(r) for r in conn.nodes]
        return conn

    def image(self, i: dict[str, Any]) -> Obj:
        return {"id": i["admin_graphql_api_id"], "url": i["src"],
                "altText": i["alt"], "width": i["width"], "height": i["height"]}

    def variant(self, v: dict[str, Any]) -> Obj:
        product = next((p for p in self.world.products if p["id"] == v["product_id"]), None)
        names = [o["name"] for o in product["options"]] if product else []
        return {
            "id": v["admin_graphql_api_id"],
            "legacyResourceId": str(v["id"]), "title": v["title"], "sku": v["sku"],
            "price": v["price"], "compareAtPrice": v["compare_at_price"],
            "barcode": v["barcode"], "position": v["position"],
            "inventoryQuantity": v["inventory_quantity"], "createdAt": _utc(v["created_at"]),
            "updatedAt": _utc(v["updated_at"]),
            "selectedOptions": [{"name": n,
                                 "value": v[f"option{k + 1}"]}
                                for k, n in enumerate(names) if v[f"option{k + 1}"]],
            "product": (lambda a: self.product(product)) if product else None,
            "inventoryItem": lambda a: self.inventory_item(v),
        }

    def inventory_item(self, v: dict[str, Any]) -> Obj:
        item_id = v["inventory_item_id"]
        levels = [lv for (item, _), lv in self.world.levels.items() if item == item_id]
        levels.sort(key=lambda lv: lv["location_id"])
        return {
            "id": gid("InventoryItem", item_id),
            "legacyResourceId": str(item_id), "sku": v["sku"], "tracked": True,
            "createdAt": _utc(v["created_at"]), "updatedAt": _utc(v["updated_at"]),
            "variant": lambda a: self.variant(v),
            "inventoryLevels": lambda a: self._levels(levels, a),
            "inventoryLevel": lambda a: self._level_at(levels, a),
        }

    def _levels(self, levels: list[dict[str, Any]], args: dict[str, Any]) -> Conn:
        conn = paginate(levels, [lv["location_id"] for lv in levels], args)
        conn.nodes = [self.level(lv) for lv in conn.nodes]
        return conn

    def _level_at(self, levels: list[dict[str, Any]], args: dict[str, Any]) -> Obj | None:
        wanted = str(args.get("locationId", ""))
        found = next((lv for lv in levels if gid("Location", lv["location_id"]) == wanted), None)
        return None if found is None else self.level(found)

    def level(self, lv: dict[str, Any]) -> Obj:
        location = next(loc for loc in self.world.locations if loc["id"] == lv["location_id"])
        variant = next(v for v in self.world.variants.values()
                       if v["inventory_item_id"] == lv["inventory_item_id"])

        def quantities(args: dict[str, Any]) -> list[Obj]:
            names = args["names"]
            amounts = {"available": lv["available"], "on_hand": lv["available"],
                       "committed": 0, "incoming": 0, "reserved": 0, "damaged": 0,
                       "safety_stock": 0, "quality_control": 0}
            return [{"name": n, "quantity": amounts.get(n, 0),
                     "updatedAt": _utc(lv["updated_at"])} for n in names]

        return {
            "id": lv["admin_graphql_api_id"],
            "updatedAt": _utc(lv["updated_at"]), "location": lambda a: self.location(location),
            "item": lambda a: self.inventory_item(variant), "quantities": quantities,
        }

    def location(self, loc: dict[str, Any]) -> Obj:
        return {
            "id": loc["admin_graphql_api_id"],
            "legacyResourceId": str(loc["id"]), "name": loc["name"], "isActive": loc["active"],
            "address": {"city": loc["city"],
                        "provinceCode": loc["province_code"],
                        "countryCode": loc["country_code"]},
        }

    def order(self, o: dict[str, Any]) -> Obj:
        customer = o["customer"]
        lines = o["line_items"]
        fulfilled = o["fulfillment_status"] == "fulfilled"
        return {
            "id": o["admin_graphql_api_id"],
            "legacyResourceId": str(o["id"]), "name": o["name"], "email": o["email"],
            "createdAt": _utc(o["created_at"]), "updatedAt": _utc(o["updated_at"]),
            "processedAt": _utc(o["processed_at"]),
            "cancelledAt": _utc(o["cancelled_at"]) if o["cancelled_at"] else None,
            "closedAt": _utc(o["closed_at"]) if o["closed_at"] else None,
            "closed": bool(o["closed_at"]), "currencyCode": CURRENCY,
            "displayFinancialStatus": o["financial_status"].upper(),
            "displayFulfillmentStatus": "FULFILLED" if fulfilled else "UNFULFILLED",
            "totalPriceSet": _money(o["total_price"]),
            "subtotalPriceSet": _money(o["subtotal_price"]),
            "totalTaxSet": _money(o["total_tax"]),
            "tags": [t.strip() for t in o["tags"].split(",") if t.strip()],
            "customer": (lambda a: self._customer_by_id(customer["id"])) if customer else None,
            "lineItems": lambda a: self._nested(lines, self.line_item, a),
        }

    def _customer_by_id(self, cid: int) -> Obj | None:
        row = next((c for c in self.world.customers if c["id"] == cid), None)
        return None if row is None else self.customer(row)

    def line_item(self, line: dict[str, Any]) -> Obj:
        variant = self.world.variants.get(line["variant_id"])
        return {
            "id": line["admin_graphql_api_id"], "name": line["name"],
            "title": line["title"], "sku": line["sku"], "quantity": line["quantity"],
            "variantTitle": line["variant_title"], "vendor": line["vendor"],
            "originalUnitPriceSet": _money(line["price"]),
            "variant": (lambda a: self.variant(variant)) if variant else None,
        }

    def customer(self, c: dict[str, Any]) -> Obj:
        return {
            "id": c["admin_graphql_api_id"],
            "legacyResourceId": str(c["id"]), "firstName": c["first_name"],
            "lastName": c["last_name"], "displayName": f"{c['first_name']} {c['last_name']}",
            "email": c["email"], "phone": c["phone"], "note": c["note"],
            "verifiedEmail": c["verified_email"], "state": c["state"].upper(),
            "createdAt": _utc(c["created_at"]), "updatedAt": _utc(c["updated_at"]),
            "numberOfOrders": str(c["orders_count"]),
            "amountSpent": {"amount": c["total_spent"],
                            "currencyCode": CURRENCY},
            "tags": [t.strip() for t in c["tags"].split(",") if t.strip()],
        }

    # mutations ------------------------------------------------------------------------------
    def _set_quantities(self, args: dict[str, Any],
                        on_set: Callable[[int, int, int], None]) -> Obj:
        given = args["input"]
        errors: list[Obj] = []
        changes: list[Obj] = []
        if given.get("name") not in ("available", "on_hand"):
            errors.append(_user_error(["input", "name"], "The quantity name must be either "
                                      "'available' or 'on_hand'.", "INVALID_NAME"))
        plan = []
        for k, q in enumerate(given.get("quantities") or []):
            item = _gid_number(q.get("inventoryItemId"), "InventoryItem")
            loc = _gid_number(q.get("locationId"), "Location")
            variant = next((v for v in self.world.variants.values()
                            if v["inventory_item_id"] == item), None)
            if variant is None:
                errors.append(_user_error(["input", "quantities", str(k), "inventoryItemId"],
                                          "The specified inventory item could not be found.",
                                          "INVALID_INVENTORY_ITEM"))
                continue
            if not any(x["id"] == loc for x in self.world.locations):
                errors.append(_user_error(["input", "quantities", str(k), "locationId"],
                                          "The specified location could not be found.",
                                          "INVALID_LOCATION"))
                continue
            current = self.world.levels.get((item, loc), {}).get("available", 0)
            compare = q.get("compareQuantity")
            if not given.get("ignoreCompareQuantity") and compare != current:
                errors.append(_user_error(
                    ["input", "quantities", str(k), "compareQuantity"],
                    "The compareQuantity argument no longer matches the persisted quantity.",
                    "COMPARE_QUANTITY_STALE"))
                continue
            plan.append((item, loc, int(q.get("quantity", 0)), current, variant))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        for item, loc, quantity, current, variant in plan:
            on_set(item, loc, quantity)
            changes.append({"name": given["name"],
                            "delta": quantity - current, "quantityAfterChange": quantity,
                            "item": self.inventory_item(variant),
                            "location": self.location(
                                next(x for x in self.world.locations if x["id"] == loc))})
        group = {"id": gid("InventoryAdjustmentGroup", self.world.new_id()),
                 "reason": given.get("reason"), "referenceDocumentUri":
                     given.get("referenceDocumentUri"), "changes": changes,
                 "createdAt": _utc(iso(self.world.clock()))}
        return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _user_error(path: list[str], message: str, code: str) -> Obj:
    return {"field": path, "message": message,
            "code": code}


def _gid_number(value: Any, kind: str) -> int:
    text = str(value or "")
    prefix = f"gid://shopify/{kind}/"
    if text.startswith(prefix) and text[len(prefix):].isdigit():
        return int(text[len(prefix):])
    return -1


def _utc(value: str) -> str:
    """GraphQL's DateTime: UTC with a ``Z``."""
    return dt.datetime.fromtimestamp(parse_time(value), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")



# -- cost, on the parsed query and the schema's types ---------------------------------------


def _fields(parent: GraphQLNamedType, selections: SelectionSetNode | None,
            fragments: dict[str, FragmentDefinitionNode]
            ) -> Iterator[tuple[GraphQLField, FieldNode]]:
    """The schema fields a selection set names, fragments expanded (``__typename`` is free)."""
    for sel in selections.selections if selections else ():
        if isinstance(sel, FieldNode):
            definition = getattr(parent, "fields", {}).get(sel.name.value)
            if definition is not None:
                yield definition, sel
            continue
        spread = fragments[sel.name.value] if isinstance(sel, FragmentSpreadNode) else sel
        if not isinstance(spread, FragmentDefinitionNode | InlineFragmentNode):
            continue
        condition, inner = spread.type_condition, spread.selection_set
        kind = SCHEMA.get_type(condition.name.value) if condition else parent
        yield from _fields(kind or parent, inner, fragments)


def requested_cost(parent: GraphQLNamedType, selections: SelectionSetNode | None,
                   fragments: dict[str, FragmentDefinitionNode], variables: VariableValues
                   ) -> int:
    """The worst-case cost of a selection set, before anything runs."""
    total = 0
    for definition, node in _fields(parent, selections, fragments):
        kind = get_named_type(definition.type)
        if not is_object_type(kind) or kind.name == "PageInfo":
            continue
        if not kind.name.endswith("Connection"):
            total += 1 + requested_cost(kind, node.selection_set, fragments, variables)
            continue
        args = get_argument_values(definition, node, variables)
        size = args.get("first") if args.get("first") is not None else args.get("last")
        one = [(d, n) for d, n in _fields(kind, node.selection_set, fragments)
               if n.name.value == "nodes"]
        for edge, edges in _fields(kind, node.selection_set, fragments):
            if edges.name.value == "edges":
                one += [(d, n) for d, n in _fields(get_named_type(edge.type),
                                                   edges.selection_set, fragments)
                        if n.name.value == "node"]
        node_cost = max((1 + requested_cost(get_named_type(d.type), n.selection_set, fragments,
                                            variables) for d, n in one), default=0)
        total += 2 + int(size or 0) * node_cost
    return total


def _actual_cost(kind: GraphQLType, value: Any) -> int:
    """What a resolved value costs: a connection 2, each object 1 (edges and pageInfo free)."""
    named = get_named_type(kind)
    if value is None or not is_object_type(named) or named.name == "PageInfo" \
            or named.name.endswith("Edge"):
        return 0
    if named.name.endswith("Connection"):
        return 2
    return len(value) if isinstance(value, list) else 1


@dataclass
class _Meter:
    """The actual cost of one execution, added up by the resolver."""

    spent: int = 0


def _resolve(source: Any, info: GraphQLResolveInfo[_Meter], **args: Any) -> Any:
    """Every field: the value under its name in the parent dict (a callable takes the
    arguments), charged to the request's meter."""
    value = source.get(info.field_name) if isinstance(source, dict) else None
    if callable(value):
        value = value(args)
    if isinstance(value, Conn):
        value = value.as_obj()
    info.context.spent += _actual_cost(info.return_type, value)
    return value


# -- Shopify's shape for the errors graphql-core finds ---------------------------------------

# graphql-ruby's codes (Shopify answers with them) for graphql-core's validation rules.
_CODES: dict[type[ASTValidationRule], str] = {
    rules.FieldsOnCorrectTypeRule: "undefinedField",
    rules.KnownArgumentNamesRule: "argumentNotAccepted",
    rules.ProvidedRequiredArgumentsRule: "missingRequiredArguments",
    rules.ValuesOfCorrectTypeRule: "argumentLiteralsIncompatible",
    rules.ScalarLeafsRule: "selectionMismatch",
    rules.KnownTypeNamesRule: "undefinedType",
    rules.KnownFragmentNamesRule: "useAndDefineFragment",
    rules.NoUnusedFragmentsRule: "useAndDefineFragment",
    rules.NoUndefinedVariablesRule: "variableNotDefined",
    rules.NoUnusedVariablesRule: "variableNotUsed",
    rules.VariablesInAllowedPositionRule: "variableMismatch",
}
_UNDEFINED = re.compile(r"Cannot query field '(\w+)' on type '(\w+)'")


def _path(doc: DocumentNode, target: Node) -> list[str]:
    """graphql-ruby's path to a node: ``["query Name", "products", "edges", ...]``."""
    found: list[str] = []

    class Finder(Visitor):
        def enter(self, node: Node, key: Any, parent: Any, path: Any, ancestors: Any) -> Any:
            if node is not target:
                return None
            for n in [*ancestors, node]:
                if isinstance(n, OperationDefinitionNode):
                    found.append(" ".join([n.operation.value, *([n.name.value] if n.name
                                                                 else [])]))
                elif isinstance(n, FragmentDefinitionNode):
                    found.append(f"fragment {n.name.value}")
                elif isinstance(n, FieldNode):
                    found.append((n.alias or n.name).value)
            return BREAK

    visit(doc, Finder())
    return found


def validation_errors(doc: DocumentNode) -> list[dict[str, Any]]:
    """graphql-core's validation of ``doc`` against the schema, each error with its
    graphql-ruby code and path (and the message Shopify gives for an unknown field)."""
    if not validate(SCHEMA, doc):
        return []
    out = []
    for rule in specified_rules:
        for err in validate(SCHEMA, doc, [rule]):
            shaped: dict[str, Any] = err.formatted  # type: ignore[assignment]
            if err.nodes:
                shaped["path"] = _path(doc, err.nodes[0])
            extensions: dict[str, Any] = {}
            if rule in _CODES:
                extensions["code"] = _CODES[rule]
            undefined = _UNDEFINED.match(err.message)
            if undefined:
                field, kind = undefined.groups()
                shaped["message"] = f"Field '{field}' doesn't exist on type '{kind}'"
                extensions.update(typeName=kind, fieldName=field)
            if extensions:
                shaped["extensions"] = extensions
            out.append(shaped)
    return out


def syntax_error(query: str, err: GraphQLError) -> dict[str, Any]:
    """graphql-ruby's words for a query graphql-core cannot parse."""
    where = err.locations[0] if err.locations else None
    rest = query[next(iter(err.positions)):] if err.positions else ""
    if not rest.strip():
        message = "Unexpected end of document"
    else:
        token = re.match(r"[_0-9A-Za-z.\-]+|\S", rest.lstrip())
        message = f'Parse error on "{token.group() if token else rest[:1]}"'
        if where:
            message += f" at [{where.line}, {where.column}]"
    shaped: dict[str, Any] = {"message": message}
    if where:
        shaped["locations"] = [{"line": where.line, "column": where.column}]
    return shaped


# -- one request ------------------------------------------------------------------------------


class GraphQLApi:
    """Runs one GraphQL request for an access token: cost, bucket, execution, extensions."""

    def __init__(self, world: ShopWorld, bucket: CostBucket,
                 on_set: Callable[[int, int, int], None]) -> None:
        self.resolvers = Resolvers(world)
        self.bucket = bucket
        self.on_set = on_set
        self.throttled = 0

    def execute(self, key: str, body: Any) -> dict[str, Any]:
        """The JSON answer to a ``{"query", "variables", "operationName"}`` body."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return {"errors": [{"message": "No query string was present"}]}
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return {"errors": [{"message": "Variables must be an object"}]}
        try:
            doc = parse(body["query"])
        except GraphQLError as err:
            return {"errors": [syntax_error(body["query"], err)]}
        invalid = validation_errors(doc)
        if invalid:
            return {"errors": invalid}
        name = body.get("operationName")
        op = get_operation_ast(doc, name)
        if op is None:
            return {"errors": [{"message": f'No operation named "{name}"' if name
                                else "An operation name is required"}]}
        if op.operation is OperationType.SUBSCRIPTION:
            return {"errors": [{"message": "Subscriptions are not supported"}]}
        values = get_variable_values(SCHEMA, op.variable_definitions or (), variables)
        if isinstance(values, list):
            return {"errors": [err.formatted for err in values]}
        mutation = op.operation is OperationType.MUTATION
        fragments = {d.name.value: d for d in doc.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        if mutation:
            fields = _fields(SCHEMA.mutation_type, op.selection_set, fragments)  # type: ignore[arg-type]
            requested = MUTATION_COST * len(list(fields))
        else:
            requested = requested_cost(SCHEMA.query_type, op.selection_set, fragments, values)  # type: ignore[arg-type]
        if requested > MAX_COST:
            return {"errors": [{"message": f"Query cost is {requested}, which exceeds the "
                                           f"single query max cost limit ({MAX_COST}).\n\nSee "
                                           f"{_DOCS} for more information on how the cost of a "
                                           "query is calculated.\n\nTo query larger amounts of "
                                           "data with fewer limits, bulk operations should be "
                                           "used instead.",
                                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                               "maxCost": MAX_COST}}]}
        if not self.bucket.take(key, requested):
            self.throttled += 1
            return {"errors": [{"message": "Throttled",
                                "extensions": {"code": "THROTTLED", "documentation": _DOCS}}],
                    "extensions": self._cost(key, requested, None)}
        meter = _Meter()
        root = self.resolvers.mutation_root(self.on_set) if mutation \
            else self.resolvers.query_root()
        result = execute_sync(SCHEMA, doc, root, meter, variables, name, _resolve)
        actual = requested if mutation else meter.spent
        self.bucket.give_back(key, max(0, requested - actual))
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [err.formatted for err in result.errors]
        answer["extensions"] = self._cost(key, requested, actual)
        return answer

    def _cost(self, key: str, requested: int, actual: int | None) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": self.bucket.status(key)}}
