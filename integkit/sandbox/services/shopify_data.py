"""The Shopify emulator's shop: seeded, deterministic products, inventory, customers, orders.

Every record is a function of ``(seed, index)``; ids grow with creation time, as Shopify's do,
so REST lists (ordered by id) are also in creation order. Objects are kept in Shopify's REST
shape (``snake_case``, prices as strings, ISO times with the shop's offset); the GraphQL layer
reads the same objects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._clock import SandboxClock
from .._fixtures import Dice, salt

__all__ = ["ShopWorld", "gid", "iso", "parse_time"]

_TZ = dt.timezone(dt.timedelta(hours=-4))  # the shop's zone: America/New_York (EDT)
_DAY = 86_400
_YEAR = 365 * _DAY
CURRENCY = "USD"

_VENDORS = ["Acme Outdoor", "Northwind", "Blue Fjord", "Kettle & Co", "Urban Loom", "Sierra Gear"]
_TYPES = ["Jacket", "Backpack", "Mug", "Blanket", "Tent", "Bottle", "Hat", "Socks"]
_ADJECTIVES = ["Alpine", "Classic", "Cozy", "Trail", "Everyday", "Summit", "Harbor", "Canyon",
               "Meadow", "Arctic", "Coastal", "Midnight"]
_SIZES = ["S", "M", "L", "XL"]
_COLORS = ["Black", "Forest", "Sand", "Navy", "Rust"]
_FIRST = ["Ada", "Bob", "Chloe", "Diego", "Emma", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi",
          "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
_LAST = ["Norman", "Lovelace", "Silva", "Tanaka", "Okafor", "Berg", "Rossi", "Khan", "Novak",
         "Moreau", "Larsen", "Costa", "Walsh", "Ibrahim", "Kim", "Meyer"]
_CITIES = [("Ottawa", "ON", "CA", "K2P 1L4"), ("New York", "NY", "US", "10001"),
           ("Austin", "TX", "US", "73301"), ("Seattle", "WA", "US", "98101"),
           ("Vancouver", "BC", "CA", "V5K 0A1"), ("Denver", "CO", "US", "80202")]
_LOCATIONS = [("Ottawa Warehouse", "Ottawa", "ON", "CA"),
              ("Brooklyn Store", "New York", "NY", "US"), ("Denver Depot", "Denver", "CO", "US")]
_FINANCIAL = [("paid", 70), ("pending", 8), ("refunded", 6), ("partially_refunded", 6),
              ("authorized", 6), ("voided", 4)]
_CARRIERS = ["UPS", "USPS", "FedEx", "Canada Post", "DHL Express"]


def iso(t: float) -> str:
    """A unix time as Shopify writes it: ISO 8601 with the shop's UTC offset."""
    return dt.datetime.fromtimestamp(int(t), _TZ).isoformat()


def parse_time(value: str) -> float:
    """Unix seconds from an ISO 8601 date or time (naive = UTC); ValueError if unreadable."""
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def gid(kind: str, obj_id: int | str) -> str:
    """A GraphQL global id: ``gid://shopify/Product/123``."""
    return f"gid://shopify/{kind}/{obj_id}"


def handleize(title: str) -> str:
    """Shopify's handle for a title: lower case, dashes between words."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _pick_weighted(d: Dice, pairs: list[tuple[str, int]]) -> str:
    roll = d.below(sum(w for _, w in pairs))
    for value, weight in pairs:
        if roll < weight:
            return value
        roll -= weight
    return pairs[-1][0]


@dataclass
class ShopWorld:
    """One shop's records, in creation (and id) order; changed in place by writes."""

    records: int
    seed: int
    now: int = field(default_factory=lambda: SandboxClock().midnight())
    shop_name: str = "integkit-sandbox"
    #: The world's time for objects made by writes (see integkit.sandbox._clock).
    clock: Callable[[], float] = field(default_factory=SandboxClock)

    def __post_init__(self) -> None:
        self.n = max(0, int(self.records))
        self.locations: list[dict[str, Any]] = []
        self.products: list[dict[str, Any]] = []
        self.customers: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []
        # (inventory_item_id, location_id) -> level, in insertion order
        self.levels: dict[tuple[int, int], dict[str, Any]] = {}
        self.fulfillment_orders: dict[int, list[dict[str, Any]]] = {}
        self.fulfillments: dict[int, list[dict[str, Any]]] = {}
        self.variants: dict[int, dict[str, Any]] = {}
        self.by_sku: dict[str, dict[str, Any]] = {}
        self._next_id = 9_100_000_000_000
        self._build()

    # -- ids -------------------------------------------------------------------------------------
    def new_id(self) -> int:
        """A fresh id, larger than every id so far (so new objects list last)."""
        self._next_id += 1
        return self._next_id

    def _times(self, kind: str, n: int, span: int) -> list[int]:
        d = Dice(salt(self.seed, "times", kind))
        start = self.now - span
        return sorted(start + d.below(span) for _ in range(n))

    # -- seeding ---------------------------------------------------------------------------------
    def _build(self) -> None:
        for k, (name, city, province, country) in enumerate(_LOCATIONS):
            lid = 61_000_000_000 + 1_117 * (k + 1)
            self.locations.append({
                "id": lid, "name": name, "address1": f"{100 + 7 * k} Main St", "address2": None,
                "city": city, "zip": None, "province": province, "country": country,
                "phone": None, "created_at": iso(self.now - 3 * _YEAR),
                "updated_at": iso(self.now - 3 * _YEAR), "country_code": country,
                "country_name": {"CA": "Canada", "US": "United States"}[country],
                "province_code": province, "legacy": False, "active": True,
                "admin_graphql_api_id": gid("Location", lid),
                "localized_country_name": {"CA": "Canada", "US": "United States"}[country],
                "localized_province_name": None,
            })
        for i, t in enumerate(self._times("products", self.n, 2 * _YEAR)):
            self.products.append(self._product(i, t))
        for j, t in enumerate(self._times("customers", self.n, 2 * _YEAR)):
            self.customers.append(self._customer(j, t))
        for k, t in enumerate(self._times("orders", self.n, _YEAR)):
            self.orders.append(self._order(k, t))

    def _product(self, i: int, t: int) -> dict[str, Any]:
        d = Dice(salt(self.seed, "product") + i)
        pid = 8_000_000_000_000 + i * 1_000 + d.below(900)
        kind = d.pick(_TYPES)
        title = f"{d.pick(_ADJECTIVES)} {kind} {i + 1}"
        sizes = _SIZES[: d.between(1, 3)]
        color = d.pick(_COLORS)
        base_price = d.between(9, 240)
        variants = []
        for v, size in enumerate(sizes):
            vid = 45_000_000_000_000 + i * 10_000 + v * 10 + d.below(9)
            variants.append(self._variant(
                product_id=pid, vid=vid, item_id=vid + 3_000_000_000_000, position=v + 1,
                title=f"{size} / {color}", options=(size, color), price=f"{base_price + 5 * v}.00",
                sku=f"IK-{i + 1:05d}-{size}", created=t, grams=200 + 50 * v))
        stocked = self.locations[: d.between(1, len(self.locations))]
        for variant in variants:
            total = 0
            for loc in stocked:
                available = d.between(0, 60) if d.chance(0.9) else 0
                self._set_level(variant["inventory_item_id"], loc["id"], available, t)
                total += available
            variant["inventory_quantity"] = variant["old_inventory_quantity"] = total
        images = [self._image(pid, pid * 10 + k, k + 1, handleize(title), t, [])
                  for k in range(d.between(0, 2))]
        return {
            "id": pid, "title": title,
            "body_html": f"<p>The {title.lower()}, made to last.</p>",
            "vendor": d.pick(_VENDORS), "product_type": kind, "created_at": iso(t),
            "handle": handleize(title), "updated_at": iso(t + d.below(30 * _DAY)),
            "published_at": iso(t), "template_suffix": None, "published_scope": "global",
            "tags": ", ".join(sorted({kind.lower(), d.pick(["new", "sale", "bestseller",
                                                             "eco"])})),
            "status": _pick_weighted(d, [("active", 85), ("draft", 10), ("archived", 5)]),
            "admin_graphql_api_id": gid("Product", pid), "variants": variants,
            "options": [
                {"id": pid + 1, "product_id": pid, "name": "Size", "position": 1,
                 "values": sizes},
                {"id": pid + 2, "product_id": pid, "name": "Color", "position": 2,
                 "values": [color]},
            ],
            "images": images, "image": images[0] if images else None,
        }

    def _variant(self, *, product_id: int, vid: int, item_id: int, position: int, title: str,
                 options: tuple[str | None, ...], price: str, sku: str | None, created: float,
                 grams: int = 0, barcode: str | None = None,
                 compare_at_price: str | None = None) -> dict[str, Any]:
        opts = list(options) + [None] * (3 - len(options))
        variant = {
            "id": vid, "product_id": product_id, "title": title, "price": price,
            "position": position, "inventory_policy": "deny",
            "compare_at_price": compare_at_price, "option1": opts[0], "option2": opts[1],
            "option3": opts[2], "created_at": iso(created), "updated_at": iso(created),
            "taxable": True, "barcode": barcode, "fulfillment_service": "manual",
            "grams": grams, "inventory_management": "shopify", "requires_shipping": True,
            "sku": sku, "weight": round(grams / 1000, 2), "weight_unit": "kg",
            "inventory_item_id": item_id, "inventory_quantity": 0, "old_inventory_quantity": 0,
            "admin_graphql_api_id": gid("ProductVariant", vid), "image_id": None,
        }
        self.variants[vid] = variant
        if sku:
            self.by_sku[sku] = variant
        return variant

    def _image(self, product_id: int, image_id: int, position: int, handle: str, t: float,
               variant_ids: list[int], src: str | None = None,
               alt: str | None = None) -> dict[str, Any]:
        return {
            "id": image_id, "alt": alt, "position": position, "product_id": product_id,
            "created_at": iso(t), "updated_at": iso(t),
            "admin_graphql_api_id": gid("ProductImage", image_id), "width": 1200,
            "height": 1200,
            "src": src or f"https://cdn.shopify.com/s/files/1/0000/0001/files/{handle}-"
                          f"{position}.jpg?v={int(t)}",
            "variant_ids": variant_ids,
        }

    def _set_level(self, item_id: int, location_id: int, available: int, t: float) -> None:
        self.levels[(item_id, location_id)] = {
            "inventory_item_id": item_id, "location_id": location_id, "available": available,
            "updated_at": iso(t),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}"
                                    f"?inventory_item_id={item_id}",
        }

    def _address(self, d: Dice, first: str, last: str) -> dict[str, Any]:
        city, province, country, zip_code = d.pick(_CITIES)
        return {
            "first_name": first, "last_name": last, "company": None,
            "address1": f"{d.between(1, 999)} {d.pick(['Elm', 'Oak', 'Pine', 'Cedar'])} St",
            "address2": None, "city": city, "province": province, "country": country,
            "zip": zip_code, "phone": None, "name": f"{first} {last}",
            "province_code": province, "country_code": country,
        }

    def _customer(self, j: int, t: int) -> dict[str, Any]:
        d = Dice(salt(self.seed, "customer") + j)
        cid = 7_000_000_000_000 + j * 1_000 + d.below(900)
        first, last = d.pick(_FIRST), d.pick(_LAST)
        address = self._address(d, first, last)
        address.update({"id": cid * 10, "customer_id": cid, "default": True})
        return {
            "id": cid, "email": f"{first}.{last}.{j + 1}@example.com".lower(),
            "created_at": iso(t), "updated_at": iso(t), "first_name": first, "last_name": last,
            "orders_count": 0, "state": d.pick(["enabled", "enabled", "disabled", "invited"]),
            "total_spent": "0.00", "last_order_id": None, "note": None, "verified_email": True,
            "multipass_identifier": None, "tax_exempt": False,
            "tags": d.pick(["", "vip", "wholesale", "newsletter"]), "last_order_name": None,
            "currency": CURRENCY, "phone": None, "addresses": [address],
            "tax_exemptions": [],
            "email_marketing_consent": {
                "state": d.pick(["subscribed", "not_subscribed"]), "opt_in_level": "single_opt_in",
                "consent_updated_at": None},
            "sms_marketing_consent": None,
            "admin_graphql_api_id": gid("Customer", cid), "default_address": address,
        }

    def _order(self, k: int, t: int) -> dict[str, Any]:
        d = Dice(salt(self.seed, "order") + k)
        oid = 5_600_000_000_000 + k * 1_000 + d.below(900)
        customer = self.customers[d.below(len(self.customers))] if self.customers else None
        lines = []
        for m in range(d.between(1, 3)):
            product = self.products[d.below(len(self.products))]
            variant = d.pick(product["variants"])
            qty = d.between(1, 3)
            lines.append({
                "id": oid * 10 + m, "admin_graphql_api_id": gid("LineItem", oid * 10 + m),
                "fulfillable_quantity": qty, "fulfillment_service": "manual",
                "fulfillment_status": None, "grams": variant["grams"],
                "name": f"{product['title']} - {variant['title']}", "price": variant["price"],
                "product_id": product["id"], "quantity": qty, "requires_shipping": True,
                "sku": variant["sku"], "title": product["title"], "variant_id": variant["id"],
                "variant_title": variant["title"], "vendor": product["vendor"], "taxable": True,
                "total_discount": "0.00",
            })
        subtotal = sum(float(line["price"]) * line["quantity"] for line in lines)
        tax = round(subtotal * 0.08, 2)
        financial = _pick_weighted(d, _FINANCIAL)
        cancelled = financial == "voided" or d.chance(0.03)
        fulfilled = not cancelled and financial == "paid" and d.chance(0.6)
        closed = fulfilled and d.chance(0.8)
        number = k + 1
        address = self._address(d, customer["first_name"], customer["last_name"]) \
            if customer else None
        order = {
            "id": oid, "admin_graphql_api_id": gid("Order", oid), "app_id": 580111,
            "browser_ip": f"203.0.113.{d.between(1, 254)}", "buyer_accepts_marketing": False,
            "cancel_reason": "customer" if cancelled else None,
            "cancelled_at": iso(t + 3600) if cancelled else None,
            "closed_at": iso(t + 2 * _DAY) if closed else None, "confirmed": True,
            "contact_email": customer["email"] if customer else None, "created_at": iso(t),
            "currency": CURRENCY, "current_subtotal_price": f"{subtotal:.2f}",
            "current_total_price": f"{subtotal + tax:.2f}", "current_total_tax": f"{tax:.2f}",
            "email": customer["email"] if customer else "",
            "financial_status": financial,
            "fulfillment_status": "fulfilled" if fulfilled else None,
            "name": f"#{1000 + number}", "note": None, "number": number,
            "order_number": 1000 + number, "processed_at": iso(t),
            "subtotal_price": f"{subtotal:.2f}", "tags": "", "total_discounts": "0.00",
            "total_line_items_price": f"{subtotal:.2f}", "total_price": f"{subtotal + tax:.2f}",
            "total_tax": f"{tax:.2f}", "total_weight": sum(x["grams"] * x["quantity"]
                                                            for x in lines),
            "updated_at": iso(t + (2 * _DAY if closed else 0)),
            "billing_address": address, "shipping_address": address,
            "customer": None if customer is None else {
                k2: customer[k2] for k2 in ("id", "email", "created_at", "updated_at",
                                            "first_name", "last_name", "state", "note",
                                            "verified_email", "tags", "currency", "phone",
                                            "admin_graphql_api_id")},
            "fulfillments": [], "line_items": lines, "refunds": [],
        }
        if customer is not None:
            customer["orders_count"] += 1
            customer["total_spent"] = f"{float(customer['total_spent']) + subtotal + tax:.2f}"
            customer["last_order_id"] = oid
            customer["last_order_name"] = order["name"]
        location = self.locations[d.below(len(self.locations))]
        self.fulfillment_orders[oid] = [{
            "id": oid + 7, "shop_id": 548380009, "order_id": oid,
            "assigned_location_id": location["id"], "request_status": "unsubmitted",
            "status": "closed" if fulfilled or cancelled else "open",
            "supported_actions": [] if fulfilled or cancelled else [
                "create_fulfillment", "request_fulfillment", "hold", "move"],
            "destination": address,
            "line_items": [{
                "id": line["id"] + 3, "shop_id": 548380009, "fulfillment_order_id": oid + 7,
                "quantity": line["quantity"], "line_item_id": line["id"],
                "inventory_item_id": self.variants[line["variant_id"]]["inventory_item_id"],
                "fulfillable_quantity": 0 if fulfilled else line["quantity"],
                "variant_id": line["variant_id"],
            } for line in lines],
            "fulfill_at": iso(t), "fulfill_by": None, "international_duties": None,
            "fulfillment_holds": [], "created_at": iso(t), "updated_at": iso(t),
            "delivery_method": {"id": oid + 11, "method_type": "shipping"},
            "assigned_location": {
                "address1": location["address1"], "city": location["city"],
                "country_code": location["country_code"], "location_id": location["id"],
                "name": location["name"], "province": location["province"], "zip": None},
            "merchant_requests": [],
        }]
        if fulfilled:
            for line in lines:
                line["fulfillable_quantity"] = 0
                line["fulfillment_status"] = "fulfilled"
            self.add_fulfillment(order, self.fulfillment_orders[oid], t + _DAY, {
                "number": f"1Z{d.token(16).upper()}", "company": d.pick(_CARRIERS), "url": None,
            }, notify=False)
        return order

    # -- changes ---------------------------------------------------------------------------------
    def add_fulfillment(self, order: dict[str, Any], fos: list[dict[str, Any]], t: float,
                        tracking: dict[str, Any], *, notify: bool) -> dict[str, Any]:
        """Fulfil every remaining line of ``fos`` (fulfillment orders of ``order``)."""
        existing = self.fulfillments.setdefault(order["id"], [])
        fid = order["id"] + 500 + len(existing)
        number = tracking.get("number")
        url = tracking.get("url")
        lines = [line for line in order["line_items"]
                 if any(fl["line_item_id"] == line["id"] for fo in fos for fl in fo["line_items"])]
        fulfillment = {
            "id": fid, "admin_graphql_api_id": gid("Fulfillment", fid), "created_at": iso(t),
            "location_id": fos[0]["assigned_location_id"] if fos else None,
            "name": f"{order['name']}.{len(existing) + 1}", "order_id": order["id"],
            "origin_address": None, "receipt": {}, "service": "manual",
            "shipment_status": None, "status": "success",
            "tracking_company": tracking.get("company"),
            "tracking_number": number, "tracking_numbers": [number] if number else [],
            "tracking_url": url, "tracking_urls": [url] if url else [],
            "updated_at": iso(t), "line_items": [dict(line) for line in lines],
            "notify_customer": notify,
        }
        for fo in fos:
            fo["status"] = "closed"
            fo["supported_actions"] = []
            for fl in fo["line_items"]:
                fl["fulfillable_quantity"] = 0
        existing.append(fulfillment)
        order["fulfillments"] = list(existing)
        return fulfillment

    def set_level(self, item_id: int, location_id: int, available: int, t: float
                  ) -> dict[str, Any]:
        """Set (or connect and set) one inventory level; variants' totals follow."""
        self._set_level(item_id, location_id, available, t)
        for variant in self.variants.values():
            if variant["inventory_item_id"] == item_id:
                total = sum(level["available"] for (item, _), level in self.levels.items()
                            if item == item_id)
                variant["old_inventory_quantity"] = variant["inventory_quantity"]
                variant["inventory_quantity"] = total
                variant["updated_at"] = iso(t)
        return self.levels[(item_id, location_id)]

    def add_product(self, body: dict[str, Any], t: float) -> dict[str, Any]:
        """Create a product (with variants and images) from a validated REST body."""
        pid = self.new_id()
        title = str(body["title"])
        handle = str(body.get("handle") or handleize(title))
        given = body.get("variants") or [{}]
        options_in = body.get("options") or []
        names = [o.get("name") if isinstance(o, dict) else str(o) for o in options_in] or \
            ["Title"]
        variants = []
        for v, spec in enumerate(given):
            vid = self.new_id()
            opts = tuple(spec.get(f"option{n}") for n in (1, 2, 3)
                         if spec.get(f"option{n}") is not None) or ("Default Title",)
            variants.append(self._variant(
                product_id=pid, vid=vid, item_id=self.new_id(), position=v + 1,
                title=" / ".join(str(o) for o in opts), options=opts,
                price=f"{float(spec.get('price') or 0):.2f}", sku=spec.get("sku") or None,
                created=t, grams=int(spec.get("grams") or 0), barcode=spec.get("barcode"),
                compare_at_price=spec.get("compare_at_price")))
            variants[-1]["inventory_policy"] = spec.get("inventory_policy", "deny")
        options = []
        for n, name in enumerate(names[:3]):
            values = list(dict.fromkeys(str(v[f"option{n + 1}"]) for v in variants
                                        if v[f"option{n + 1}"] is not None))
            options.append({"id": self.new_id(), "product_id": pid, "name": name,
                            "position": n + 1, "values": values})
        images = []
        for k, spec in enumerate(body.get("images") or []):
            ids = [int(x) for x in spec.get("variant_ids") or []]
            images.append(self._image(pid, self.new_id(), k + 1, handle, t, ids,
                                      src=spec.get("src"), alt=spec.get("alt")))
        status = body.get("status") or "active"
        tags = body.get("tags") or ""
        if isinstance(tags, list):
            tags = ", ".join(str(x) for x in tags)
        product = {
            "id": pid, "title": title, "body_html": body.get("body_html"),
            "vendor": body.get("vendor") or self.shop_name,
            "product_type": body.get("product_type") or "", "created_at": iso(t),
            "handle": handle, "updated_at": iso(t),
            "published_at": iso(t) if status == "active" else None, "template_suffix": None,
            "published_scope": "global", "tags": tags, "status": status,
            "admin_graphql_api_id": gid("Product", pid), "variants": variants,
            "options": options, "images": images, "image": images[0] if images else None,
        }
        self.products.append(product)
        return product
