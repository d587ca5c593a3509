"""The Shopify emulator over raw HTTP, checked against the shapes shopify.dev documents:
Link/page_info paging, the leaky bucket and its header, error bodies, REST objects (JSON
Schemas below, written from the REST Admin API reference) and GraphQL cost and throttling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from integkit.sandbox import Sandbox, SandboxServer, sandbox
from integkit.sandbox.services.shopify import (
    INVALID_TOKEN,
    RATE_LIMIT_MESSAGE,
    ShopifyEmulator,
)

V = "/admin/api/2024-10"
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"
ID = {"type": "integer", "minimum": 1}
MONEY = {"type": "string", "pattern": r"^-?\d+\.\d\d$"}
TIME = {"type": "string", "pattern": ISO}
NULLABLE_TIME = {"anyOf": [TIME, {"type": "null"}]}


def obj(required: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required), "properties": required, **extra}


VARIANT = obj({
    "id": ID, "product_id": ID, "title": {"type": "string"}, "price": MONEY,
    "sku": {"type": ["string", "null"]}, "position": ID, "inventory_item_id": ID,
    "inventory_quantity": {"type": "integer"}, "option1": {"type": ["string", "null"]},
    "inventory_management": {"type": ["string", "null"]}, "created_at": TIME,
    "updated_at": TIME, "admin_graphql_api_id": {"type": "string",
                                                 "pattern": "^gid://shopify/ProductVariant/"},
})
IMAGE = obj({"id": ID, "product_id": ID, "position": ID, "src": {"type": "string"},
             "variant_ids": {"type": "array", "items": ID}, "width": ID, "height": ID})
PRODUCT = obj({
    "id": ID, "title": {"type": "string"}, "body_html": {"type": ["string", "null"]},
    "vendor": {"type": "string"}, "product_type": {"type": "string"}, "handle": {"type": "string"},
    "created_at": TIME, "updated_at": TIME, "published_at": NULLABLE_TIME,
    "status": {"enum": ["active", "draft", "archived"]}, "tags": {"type": "string"},
    "variants": {"type": "array", "items": VARIANT, "minItems": 1},
    "options": {"type": "array", "items": obj({"name": {"type": "string"},
                                                "values": {"type": "array"}})},
    "images": {"type": "array", "items": IMAGE},
    "admin_graphql_api_id": {"type": "string", "pattern": "^gid://shopify/Product/"},
})
LINE_ITEM = obj({"id": ID, "variant_id": ID, "product_id": ID, "quantity": ID, "price": MONEY,
                 "sku": {"type": ["string", "null"]}, "title": {"type": "string"},
                 "fulfillable_quantity": {"type": "integer"}})
ORDER = obj({
    "id": ID, "name": {"type": "string", "pattern": r"^#\d+$"}, "order_number": ID,
    "email": {"type": "string"}, "created_at": TIME, "updated_at": TIME,
    "closed_at": NULLABLE_TIME, "cancelled_at": NULLABLE_TIME, "currency": {"const": "USD"},
    "financial_status": {"enum": ["authorized", "pending", "paid", "partially_paid",
                                  "refunded", "voided", "partially_refunded"]},
    "fulfillment_status": {"enum": [None, "fulfilled", "partial", "restocked"]},
    "total_price": MONEY, "subtotal_price": MONEY, "total_tax": MONEY,
    "line_items": {"type": "array", "items": LINE_ITEM, "minItems": 1},
    "fulfillments": {"type": "array"}, "customer": {"type": ["object", "null"]},
})
CUSTOMER = obj({"id": ID, "email": {"type": "string"}, "first_name": {"type": "string"},
                "last_name": {"type": "string"}, "created_at": TIME, "updated_at": TIME,
                "state": {"enum": ["disabled", "invited", "enabled", "declined"]},
                "addresses": {"type": "array"}, "tags": {"type": "string"}})
LOCATION = obj({"id": ID, "name": {"type": "string"}, "active": {"type": "boolean"},
                "country_code": {"type": "string"}, "legacy": {"type": "boolean"}})
LEVEL = obj({"inventory_item_id": ID, "location_id": ID, "available": {"type": "integer"},
             "updated_at": TIME,
             "admin_graphql_api_id": {"type": "string",
                                      "pattern": r"^gid://shopify/InventoryLevel/\d+\?"
                                                 r"inventory_item_id=\d+$"}},
            additionalProperties=False)
FULFILLMENT_ORDER = obj({"id": ID, "order_id": ID, "assigned_location_id": ID,
                         "status": {"enum": ["open", "in_progress", "closed", "cancelled",
                                             "incomplete", "on_hold", "scheduled"]},
                         "line_items": {"type": "array", "items": obj({
                             "id": ID, "fulfillment_order_id": ID, "line_item_id": ID,
                             "quantity": ID, "fulfillable_quantity": {"type": "integer"}})}})
FULFILLMENT = obj({"id": ID, "order_id": ID, "status": {"const": "success"},
                   "tracking_company": {"type": ["string", "null"]},
                   "tracking_number": {"type": ["string", "null"]},
                   "tracking_numbers": {"type": "array", "items": {"type": "string"}},
                   "tracking_url": {"type": ["string", "null"]},
                   "tracking_urls": {"type": "array"}, "line_items": {"type": "array"},
                   "name": {"type": "string", "pattern": r"^#\d+\.\d+$"}, "created_at": TIME})


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with sandbox("shopify", records=260, seed=5, rate_limit=(100, 200)) as running:
        yield running


def client(sb: Sandbox, token: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=sb.url, timeout=10,
                        headers={"X-Shopify-Access-Token": token or sb.api_key})


def walk(c: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every record of a list, following rel="next" as Shopify's libraries do."""
    name = path.rsplit("/", 1)[-1].removesuffix(".json")
    out: list[dict[str, Any]] = []
    url: str | None = path
    pages = 0
    while url:
        page = c.get(url, params=params if pages == 0 else None)
        assert page.status_code == 200, page.text
        out += page.json()[name]
        pages += 1
        url = page.links.get("next", {}).get("url")
    return out, pages


# -- REST paging ------------------------------------------------------------------------------


def test_link_header_pages_to_the_end_with_previous_and_next(sb) -> None:
    with client(sb) as c:
        first = c.get(f"{V}/products.json", params={"limit": 100})
        assert set(first.links) == {"next"}
        link = first.headers["link"]
        assert link.startswith(f"<{sb.url}{V}/products.json?limit=100&page_info=")
        assert link.endswith('>; rel="next"')
        second = c.get(first.links["next"]["url"])
        assert set(second.links) == {"previous", "next"}
        back = c.get(second.links["previous"]["url"]).json()["products"]
        assert [p["id"] for p in back] == [p["id"] for p in first.json()["products"]]
        products, pages = walk(c, f"{V}/products.json", limit=100)
        ids = [p["id"] for p in products]
        assert len(ids) == 260 == len(set(ids)) and ids == sorted(ids) and pages == 3
        default = c.get(f"{V}/products.json").json()["products"]
        assert len(default) == 50  # Shopify's default page size
        assert len(c.get(f"{V}/products.json", params={"limit": 999}).json()["products"]) == 250


def test_page_info_takes_only_limit_and_fields(sb) -> None:
    with client(sb) as c:
        first = c.get(f"{V}/orders.json", params={"status": "any", "limit": 5})
        url = first.links["next"]["url"]
        bad = c.get(url + "&status=any")
        assert bad.status_code == 400 and "page_info" in bad.json()["errors"]
        narrowed = c.get(url.replace("limit=5", "limit=7") + "&fields=id%2Cname")
        assert narrowed.status_code == 200
        assert [set(o) for o in narrowed.json()["orders"]] == [{"id", "name"}] * 7
        broken = c.get(f"{V}/orders.json", params={"page_info": "not-a-cursor"})
        assert broken.status_code == 400
        assert broken.json() == {"errors": {"page_info": "Invalid value."}}


def test_orders_default_to_open_and_counts_agree(sb) -> None:
    with client(sb) as c:
        every, _ = walk(c, f"{V}/orders.json", status="any", limit=250)
        open_, _ = walk(c, f"{V}/orders.json", limit=250)
        assert len(every) == 260 and 0 < len(open_) < 260
        assert all(o["closed_at"] is None and o["cancelled_at"] is None for o in open_)
        count = c.get(f"{V}/orders/count.json").json()
        assert count == {"count": len(open_)}
        paid, _ = walk(c, f"{V}/orders.json", status="any", financial_status="paid", limit=50)
        assert paid and {o["financial_status"] for o in paid} == {"paid"}
        since = every[100]["id"]
        later, _ = walk(c, f"{V}/orders.json", status="any", since_id=since, limit=250)
        assert [o["id"] for o in later] == [o["id"] for o in every[101:]]
        t = every[130]["created_at"]
        newer, _ = walk(c, f"{V}/orders.json", status="any", created_at_min=t, limit=250)
        assert [o["id"] for o in newer] == [o["id"] for o in every if o["created_at"] >= t]


# -- documented shapes ------------------------------------------------------------------------


def test_rest_objects_have_the_documented_shapes(sb) -> None:
    with client(sb) as c:
        for path, name, schema in ((f"{V}/products.json", "products", PRODUCT),
                                   (f"{V}/orders.json?status=any", "orders", ORDER),
                                   (f"{V}/customers.json", "customers", CUSTOMER),
                                   (f"{V}/locations.json", "locations", LOCATION)):
            records = c.get(path, params={"limit": 250}).json()[name]
            assert records, name
            for record in records:
                jsonschema.validate(record, schema)
        product = c.get(f"{V}/products.json", params={"limit": 1}).json()["products"][0]
        single = c.get(f"{V}/products/{product['id']}.json").json()
        assert single == {"product": product}
        item = product["variants"][0]["inventory_item_id"]
        levels = c.get(f"{V}/inventory_levels.json",
                       params={"inventory_item_ids": str(item)}).json()["inventory_levels"]
        assert levels
        for level in levels:
            jsonschema.validate(level, LEVEL)
        order = next(o for o in c.get(f"{V}/orders.json").json()["orders"])
        fos = c.get(f"{V}/orders/{order['id']}/fulfillment_orders.json").json()
        for fo in fos["fulfillment_orders"]:
            jsonschema.validate(fo, FULFILLMENT_ORDER)
        missing = c.get(f"{V}/inventory_levels.json")
        assert missing.status_code == 422


def test_writes_answer_in_shopifys_shapes(sb) -> None:
    with client(sb) as c:
        created = c.post(f"{V}/products.json", json={"product": {
            "title": "Burton Custom Freestyle 151", "vendor": "Burton",
            "product_type": "Snowboard", "options": [{"name": "Size"}],
            "variants": [{"option1": "151", "price": "599.00", "sku": "BCF-151"},
                         {"option1": "155", "price": "619.00", "sku": "BCF-155"}],
            "images": [{"src": "https://example.com/board.png"}]}})
        assert created.status_code == 201
        product = created.json()["product"]
        jsonschema.validate(product, PRODUCT)
        assert product["handle"] == "burton-custom-freestyle-151"
        invalid = c.post(f"{V}/products.json", json={"product": {"body_html": "x"}})
        assert invalid.status_code == 422
        assert invalid.json() == {"errors": {"title": ["can't be blank"]}}
        no_root = c.post(f"{V}/products.json", json={"title": "x"})
        assert no_root.status_code == 400
        assert no_root.json() == {"errors": {"product": "Required parameter missing or invalid"}}

        level = c.post(f"{V}/inventory_levels/set.json", json={
            "inventory_item_id": product["variants"][0]["inventory_item_id"],
            "location_id": sb.emulator.world.locations[1]["id"], "available": 42})
        assert level.status_code == 200
        jsonschema.validate(level.json()["inventory_level"], LEVEL)
        assert level.json()["inventory_level"]["available"] == 42

        order = next(o for o in c.get(f"{V}/orders.json").json()["orders"]
                     if o["fulfillment_status"] is None)
        fo = c.get(f"{V}/orders/{order['id']}/fulfillment_orders.json").json()[
            "fulfillment_orders"][0]
        body = {"fulfillment": {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}],
            "tracking_info": {"number": "MS1562678", "company": "Jack Black's Pack, Stack and "
                              "Track", "url": "https://www.packstackandtrack.com/t/MS1562678"},
            "notify_customer": False}}
        fulfilled = c.post(f"{V}/fulfillments.json", json=body)
        assert fulfilled.status_code == 201
        jsonschema.validate(fulfilled.json()["fulfillment"], FULFILLMENT)
        again = c.post(f"{V}/fulfillments.json", json=body)
        assert again.status_code == 422
        assert again.json() == {"errors": ["The fulfillment order is not in an open state."]}


# -- auth, limits, headers --------------------------------------------------------------------


def test_auth_scopes_and_request_ids(sb) -> None:
    with client(sb, "shpat_nope") as c:
        answer = c.get(f"{V}/shop.json")
        assert answer.status_code == 401 and answer.json() == {"errors": INVALID_TOKEN}
    sb.emulator.grant("shpat_readonly_products", ["read_products"])
    with client(sb, "shpat_readonly_products") as c:
        assert c.get(f"{V}/products.json").status_code == 200
        denied = c.get(f"{V}/customers.json")
        assert denied.status_code == 403
        assert denied.json()["errors"].endswith("read_customers scope.")
        assert c.post(f"{V}/products.json", json={"product": {"title": "x"}}).status_code == 403
    with client(sb) as c:
        answer = c.get(f"{V}/shop.json")
        assert answer.headers["x-shopify-api-version"] == "2024-10"
        assert len(answer.headers["x-request-id"]) == 36
        old = c.get("/admin/api/2019-04/shop.json")
        assert old.headers["x-shopify-api-version"] == "2024-04"  # oldest supported
        assert c.get(f"{V}/nothing_here.json").status_code == 404


def test_leaky_bucket_header_and_429_like_shopify() -> None:
    with sandbox("shopify", records=5) as small:  # Shopify's own numbers: 40, 2 a second
        with client(small) as c:
            used = [c.get(f"{V}/shop.json").headers["x-shopify-shop-api-call-limit"]
                    for _ in range(3)]
            assert used == ["1/40", "2/40", "3/40"]
            answers = [c.get(f"{V}/shop.json") for _ in range(45)]
            limited = [a for a in answers if a.status_code == 429]
            assert limited and len(limited) <= 10
            assert limited[0].headers["retry-after"] == "2.0"
            assert limited[0].json() == {"errors": RATE_LIMIT_MESSAGE}
            assert limited[0].headers["x-shopify-shop-api-call-limit"] == "40/40"
            assert small.emulator.rate_limited == len(limited)
            time.sleep(1.1)  # drains 2 a second
            after = c.get(f"{V}/shop.json")
            assert after.status_code == 200
            assert after.headers["x-shopify-shop-api-call-limit"] in ("39/40", "40/40")
            graphql = c.post(f"{V}/graphql.json", json={"query": "{ shop { name } }"})
            assert graphql.status_code == 200  # GraphQL has its own (cost) bucket
            assert "x-shopify-shop-api-call-limit" not in graphql.headers


# -- GraphQL ----------------------------------------------------------------------------------


def gql(c: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    answer = c.post(f"{V}/graphql.json", json={"query": query, "variables": variables})
    assert answer.status_code == 200
    return dict(answer.json())


def test_graphql_cost_follows_shopifys_rules(sb) -> None:
    with client(sb) as c:
        shop = gql(c, "{ shop { name currencyCode } }")
        assert shop["data"] == {"shop": {"name": "integkit-sandbox", "currencyCode": "USD"}}
        assert shop["extensions"]["cost"]["requestedQueryCost"] == 1
        ten = gql(c, "{ products(first: 10) { edges { node { title } } } }")
        cost = ten["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 12 and cost["actualQueryCost"] == 12
        status = cost["throttleStatus"]
        assert status["maximumAvailable"] == 1000 and status["restoreRate"] == 50
        assert 980 <= status["currentlyAvailable"] <= 1000
        few = gql(c, 'query($q: String) { products(first: 100, query: $q) { nodes { id } } }',
                  q="sku:IK-00001-S")
        assert len(few["data"]["products"]["nodes"]) == 1
        assert few["extensions"]["cost"]["requestedQueryCost"] == 102
        assert few["extensions"]["cost"]["actualQueryCost"] == 3
        nested = ("{ products(first: 5) { edges { node { id variants(first: 4) { edges { node "
                  "{ sku } } } } } } }")
        assert gql(c, nested)["extensions"]["cost"]["requestedQueryCost"] == 2 + 5 * (1 + 2 + 4)
        mutation = gql(c, 'mutation { inventorySetQuantities(input: {name: "available", '
                          'reason: "correction", ignoreCompareQuantity: true, quantities: []}) '
                          "{ userErrors { message } } }")
        assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10
        assert mutation["data"]["inventorySetQuantities"]["userErrors"] == []


def test_graphql_paging_errors_and_max_cost(sb) -> None:
    query = ("query($after: String) { customers(first: 100, after: $after) { edges { cursor "
             "node { id email } } pageInfo { hasNextPage endCursor } } }")
    with client(sb) as c:
        seen: list[str] = []
        after = None
        while True:
            page = gql(c, query, after=after)["data"]["customers"]
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
            assert after == page["edges"][-1]["cursor"]
        assert len(seen) == 260 == len(set(seen))
        undefined = gql(c, "{ shop { colour } }")
        assert "data" not in undefined
        assert undefined["errors"][0]["message"] == "Field 'colour' doesn't exist on type 'Shop'"
        assert undefined["errors"][0]["extensions"]["code"] == "undefinedField"
        syntax = gql(c, "{ shop { name }")
        assert syntax["errors"][0]["message"].startswith("Unexpected end of document")
        no_size = gql(c, "{ products { edges { node { id } } } }")
        assert no_size["errors"][0]["message"] == "you must provide one of first or last"
        huge = gql(c, "{ orders(first: 250) { edges { node { lineItems(first: 250) { edges { "
                      "node { name } } } } } } }")
        assert huge["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
        assert "exceeds the single query max cost limit (1000)" in huge["errors"][0]["message"]


def test_graphql_throttles_when_the_bucket_is_short() -> None:
    emulator = ShopifyEmulator(records=300, graphql_bucket=(300, 1))
    with SandboxServer(emulator) as server:
        with httpx.Client(base_url=server.url, timeout=10,
                          headers={"X-Shopify-Access-Token": emulator.api_key}) as c:
            query = "{ products(first: 100) { nodes { id } } }"  # 102 points
            answers = [gql(c, query) for _ in range(3)]
            assert ["errors" in a for a in answers] == [False, False, True]
            throttled = answers[2]
            assert throttled["errors"][0] == {
                "message": "Throttled", "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits"}}
            cost = throttled["extensions"]["cost"]
            assert cost["requestedQueryCost"] == 102 and cost["actualQueryCost"] is None
            assert cost["throttleStatus"]["currentlyAvailable"] < 102
            assert emulator.graphql.throttled == 1


def test_a_webhook_is_signed_with_shopifys_headers(sb) -> None:
    import integkit.webhooks as w

    seen: list[tuple[bytes, dict[str, str]]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append((body, {k.decode(): v.decode() for k, v in scope["headers"]}))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with SandboxServer(app) as server:
        assert sb.emulator.send_webhook(server.url).status_code == 200
    body, headers = seen[0]
    assert headers["x-shopify-topic"] == "orders/create"
    assert headers["x-shopify-shop-domain"] == "integkit-sandbox.myshopify.com"
    assert headers["x-shopify-api-version"] == "2024-10"
    assert w.verify("shopify", body, headers, secret=sb.emulator.webhook_secret)
