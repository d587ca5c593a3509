"""The Shopify connector against its emulator over HTTP: paging, limits, errors, retries,
writes, GraphQL throttling, inventory sync and a signed webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.engine._services.shopify_inventory import SyncConflictError
from integkit.sandbox import Sandbox, SandboxServer
from integkit.sandbox.services.shopify import ShopifyEmulator

RECORDS = 600
PRODUCTS_QUERY = """
query Products($after: String) {
  products(first: 50, after: $after) {
    edges { node { id name: title } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    # A Shopify Plus-sized REST bucket (and then some) keeps the module quick; the client's
    # tiers follow the emulator's, and test_rest_limits... checks a small one is honoured.
    with ik.sandbox("shopify", records=RECORDS, rate_limit=(40, 80)) as sandbox:
        yield sandbox


@pytest.fixture
def shopify(sb):
    sb.faults.clear()
    conn = sb.connect(retry={"initialDelay": 0.01, "maxDelay": 0.05})
    yield conn
    sb.faults.clear()
    conn.close()


@pytest.fixture
def recorded(sb, sleeps):
    """A connection whose retry waits are recorded in ``sleeps`` instead of slept."""
    sb.faults.clear()
    conn = sb.connect(sleep=sleeps, retry={"initialDelay": 0.01, "maxDelay": 0.05})
    yield conn
    sb.faults.clear()
    conn.close()


def _own(emulator: ShopifyEmulator) -> Sandbox:
    """A sandbox around an emulator built with options ik.sandbox does not take."""
    return Sandbox("shopify", emulator, SandboxServer(emulator).start())


# -- connecting -------------------------------------------------------------------------------


def test_shop_and_token_from_arguments_or_environment(monkeypatch) -> None:
    conn = ik.connect("shopify", shop="acme", access_token="shpat_test_123456")
    assert conn.base_url == "https://acme.myshopify.com/admin/api/2024-10"
    assert "shpat_test_123456" not in repr(conn)
    monkeypatch.setenv("SHOPIFY_SHOP", "https://other-shop.myshopify.com")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_env_abcdef")
    conn = ik.connect("shopify", api_version="2025-01")
    assert conn.base_url == "https://other-shop.myshopify.com/admin/api/2025-01"
    monkeypatch.delenv("SHOPIFY_SHOP")
    with pytest.raises(ik.ConfigError, match="SHOPIFY_SHOP"):
        ik.connect("shopify")
    with pytest.raises(ik.ConfigError, match="not a shop"):
        ik.connect("shopify", shop="not a shop!")


# -- reading ----------------------------------------------------------------------------------


def test_every_product_exactly_once_in_pages_of_250(shopify, sb) -> None:
    result = shopify.list("products")
    df = result.to_frame()
    expected = [p["id"] for p in sb.emulator.world.products]
    assert list(df["id"]) == expected and df["id"].is_unique
    assert result.stats.pages == 3 and result.stats.retries == 0
    assert str(df["created_at"].dtype).startswith("datetime64")


def test_filters_go_on_the_first_page_only_and_hold_to_the_end(shopify, sb) -> None:
    # The emulator answers 400 if a page_info request carries a filter, as Shopify does.
    result = shopify.list("orders", financial_status="paid", limit=40)
    ids = [o["id"] for o in result]
    expected = [o["id"] for o in sb.emulator.world.orders if o["financial_status"] == "paid"]
    assert ids == expected and len(ids) > 80
    assert result.stats.pages == -(-len(expected) // 40)


def test_orders_mean_all_orders_unless_a_status_is_given(shopify, sb) -> None:
    every = shopify.list("orders").to_frame()
    open_only = shopify.list("orders", status="open").to_frame()
    assert len(every) == RECORDS
    assert 0 < len(open_only) < RECORDS
    assert open_only["closed_at"].isna().all() and open_only["cancelled_at"].isna().all()
    listing = shopify.list("orders", status="open")._source  # the Listing behind the Result
    assert shopify.count(listing) == len(open_only)


def test_retrieve_unwraps_and_missing_is_not_found(shopify, sb) -> None:
    first = sb.emulator.world.customers[0]
    assert shopify.retrieve("customers", first["id"])["email"] == first["email"]
    with pytest.raises(ik.NotFoundError) as info:
        shopify.retrieve("products", 1)
    assert info.value.status == 404 and "products.retrieve: Not Found" in str(info.value)
    assert info.value.request_id and not info.value.transient


def test_rest_limits_are_honoured_with_no_429() -> None:
    # A small bucket (10 calls, 10 a second) so the test is quick; 30 pages need 20 waits.
    with ik.sandbox("shopify", records=300, rate_limit=(10, 10)) as small:
        conn = small.connect()
        result = conn.list("products", limit=10)
        assert len(result.to_frame()) == 300
        assert small.emulator.rate_limited == 0
        assert result.stats.pages == 30 and result.stats.seconds_waited > 1.0


# -- errors -----------------------------------------------------------------------------------


def test_a_wrong_token_is_an_authentication_error(sb) -> None:
    conn = ik.connect("shopify", access_token="shpat_wrongwrongwrong", base_url=sb.url)
    with pytest.raises(ik.AuthenticationError, match="Invalid API key or access token") as info:
        conn.list("products").head(1)
    assert "shpat_wrongwrongwrong" not in str(info.value) and info.value.request_id


def test_a_missing_scope_is_permission_denied(sb) -> None:
    sb.emulator.grant("shpat_products_only", ["read_products"])
    conn = ik.connect("shopify", access_token="shpat_products_only", base_url=sb.url,
                      rate_limit=False)
    assert len(conn.list("products").head(2)) == 2
    with pytest.raises(ik.PermissionDeniedError, match="read_orders scope"):
        conn.list("orders").head(1)


def test_validation_errors_are_permanent_and_read_as_one_line(recorded, sb, sleeps) -> None:
    before = sb.faults.hits
    with pytest.raises(ik.InvalidRequestError, match="title: can't be blank") as info:
        recorded.create_product("  ")
    assert info.value.status == 422 and sb.faults.hits - before == 1 and sleeps == []


def test_transient_errors_on_reads_are_retried(shopify, sb) -> None:
    sb.faults.fail(503, times=2, path="*/customers.json")
    sb.faults.reset(times=1, path="*/customers.json", after=1)
    result = shopify.list("customers")
    assert len(result.to_frame()) == RECORDS and result.stats.retries == 3


def test_a_graphql_query_is_retried_but_a_product_create_is_not(shopify, sb) -> None:
    sb.faults.fail(502, times=2, path="*/graphql.json")
    assert shopify.graphql("{ shop { name } }") == {"shop": {"name": "integkit-sandbox"}}
    count = len(sb.emulator.world.products)
    sb.faults.fail(503, times=1, path="*/products.json", method="POST")
    with pytest.raises(ik.ServerError):
        shopify.create_product("Maybe created")
    assert len(sb.emulator.world.products) == count  # the 503 came before the write


def test_a_429_from_shopify_is_waited_out(recorded, sb, sleeps) -> None:
    sb.faults.fail(429, times=1, path="*/locations.json")
    assert len(recorded.list("locations").to_frame()) == 3
    assert 2.0 in sleeps  # Retry-After: 2.0


# -- writes -----------------------------------------------------------------------------------


def test_create_product_with_variants_and_images(shopify) -> None:
    product = shopify.create_product(
        "Field Tee", vendor="Acme", product_type="Shirt", options=["Size"],
        variants=[{"option1": "M", "price": "19.00", "sku": "TEE-M"},
                  {"option1": "L", "price": "21.50", "sku": "TEE-L"}],
        images=[{"src": "https://example.com/tee.png", "alt": "front"}])
    assert product["title"] == "Field Tee" and product["handle"] == "field-tee"
    assert [v["sku"] for v in product["variants"]] == ["TEE-M", "TEE-L"]
    assert [v["price"] for v in product["variants"]] == ["19.00", "21.50"]
    assert product["options"][0]["values"] == ["M", "L"]
    assert product["images"][0]["src"] == "https://example.com/tee.png"
    assert shopify.retrieve("products", product["id"])["variants"][1]["sku"] == "TEE-L"
    assert shopify.list("products", title="Field Tee").to_frame()["id"].tolist() == [
        product["id"]]


def test_create_fulfillment_with_tracking_and_notification(shopify, sb) -> None:
    order = next(o for o in shopify.list("orders", status="open")
                 if o["fulfillment_status"] is None)
    fulfillment = shopify.create_fulfillment(
        order["id"], tracking_number="1Z999AA10123456784", tracking_company="UPS",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        notify_customer=True)
    assert fulfillment["status"] == "success" and fulfillment["order_id"] == order["id"]
    assert fulfillment["tracking_numbers"] == ["1Z999AA10123456784"]
    assert fulfillment["tracking_company"] == "UPS"
    assert {line["id"] for line in fulfillment["line_items"]} == {
        line["id"] for line in order["line_items"]}
    assert sb.emulator.notifications[-1]["order_id"] == order["id"]
    assert shopify.retrieve("orders", order["id"])["fulfillment_status"] == "fulfilled"
    with pytest.raises(ik.ConfigError, match="nothing left to fulfil"):
        shopify.create_fulfillment(order["id"], tracking_number="again")


# -- GraphQL ----------------------------------------------------------------------------------


def test_graphql_connection_flattened_to_a_frame(shopify, sb) -> None:
    result = shopify.graphql_list(PRODUCTS_QUERY)
    df = result.to_frame()
    total = len(sb.emulator.world.products)
    assert len(df) == total and df["id"].is_unique and result.stats.pages == -(-total // 50)
    assert df["id"].str.startswith("gid://shopify/Product/").all()
    assert set(df.columns) == {"id", "name"}  # an alias names its column


def test_graphql_cost_pauses_the_client_before_shopify_throttles() -> None:
    small = _own(ShopifyEmulator(records=300, graphql_bucket=(120, 200)))
    try:
        conn = small.connect()
        result = conn.graphql_list(PRODUCTS_QUERY)  # 52 points a page, 6 pages
        assert len(result.to_frame()) == 300
        assert small.emulator.graphql.throttled == 0
        assert result.stats.seconds_waited > 0
    finally:
        small.stop()


def test_throttled_answers_are_waited_out_and_sent_again() -> None:
    small = _own(ShopifyEmulator(records=300, graphql_bucket=(120, 200)))
    try:
        conn = small.connect(rate_limit=False)  # no client limits: Shopify must say THROTTLED
        assert len(conn.graphql_list(PRODUCTS_QUERY).to_frame()) == 300
        assert small.emulator.graphql.throttled > 0
    finally:
        small.stop()


def test_graphql_errors_carry_shopifys_message(shopify) -> None:
    with pytest.raises(ik.InvalidRequestError, match="doesn't exist on type 'Product'") as info:
        shopify.graphql("{ products(first: 1) { edges { node { colour } } } }")
    assert info.value.code == "undefinedField"
    with pytest.raises(ik.InvalidRequestError, match="exceeds the single query max cost"):
        shopify.graphql("{ products(first: 250) { edges { node { variants(first: 250) "
                        "{ edges { node { id } } } } } } }")


# -- inventory --------------------------------------------------------------------------------


def test_inventory_check_by_sku(shopify, sb) -> None:
    world = sb.emulator.world
    skus = [world.products[3]["variants"][0]["sku"], "NO-SUCH-SKU"]
    df = shopify.inventory.check(skus)
    assert list(df.columns) == ["sku", "location", "location_id", "inventory_item_id",
                                "available"]
    item = world.by_sku[skus[0]]["inventory_item_id"]
    expected = {lv["location_id"]: lv["available"] for (i, _), lv in world.levels.items()
                if i == item}
    mine = df[df["sku"] == skus[0]]
    assert dict(zip(mine["location_id"], mine["available"], strict=True)) == expected
    assert df[df["sku"] == "NO-SUCH-SKU"]["available"].isna().all()


def test_inventory_sync_writes_only_the_changes_and_is_idempotent(shopify, sb) -> None:
    world = sb.emulator.world
    skus = [world.products[k]["variants"][0]["sku"] for k in range(10, 16)]
    current = shopify.inventory.check(skus).dropna(subset=["location"])
    source = current[["sku", "location", "available"]].rename(
        columns={"sku": "item", "location": "warehouse", "available": "qty"})
    source.loc[source.index[:3], "qty"] += 5  # three counts changed in the warehouse
    source = pd.concat([source, pd.DataFrame(
        {"item": ["NO-SUCH-SKU"], "warehouse": ["Denver Depot"], "qty": [4]})])
    mapping = {"sku": "item", "location": "warehouse", "available": "qty"}

    with pytest.raises(SyncConflictError) as info:
        shopify.inventory.sync(source, mapping=mapping, on_conflict="raise")
    assert len(info.value.conflicts) == 3
    writes = sb.emulator.inventory_writes
    kept = shopify.inventory.sync(source, mapping=mapping, on_conflict="shopify_wins")
    assert kept.counts["kept"] == 3 and sb.emulator.inventory_writes == writes

    # The first set is applied but its answer is lost; the retry sets the same value again.
    sb.faults.reset_after_processing(times=1, path="*/inventory_levels/set.json")
    done = shopify.inventory.sync(source, mapping=mapping)
    assert done.writes == 3 and done.counts["updated"] == 3
    assert done.counts["unknown_sku"] == 1 and done.counts["unchanged"] == len(current) - 3
    assert list(done.written["after"]) == list(done.written["before"] + 5)
    after = shopify.inventory.check(skus).dropna(subset=["location"])
    assert list(after["available"]) == list(source["qty"].iloc[:-1])

    writes = sb.emulator.inventory_writes
    again = shopify.inventory.sync(source, mapping=mapping)
    assert again.writes == 0 and sb.emulator.inventory_writes == writes
    assert "writes=0" in repr(again)


def test_inventory_sync_at_the_primary_location_stocks_a_new_sku(shopify, sb) -> None:
    world = sb.emulator.world
    product = shopify.create_product("Sync Sock", variants=[{"price": "4.00",
                                                             "sku": "SOCK-1"}])
    result = shopify.inventory.sync(pd.DataFrame({"sku": ["SOCK-1"], "available": [12]}))
    assert result.counts == {"created": 1} and result.writes == 1
    item = product["variants"][0]["inventory_item_id"]
    assert world.levels[(item, world.locations[0]["id"])]["available"] == 12
    with pytest.raises(ik.ConfigError, match="whole numbers"):
        shopify.inventory.sync(pd.DataFrame({"sku": ["SOCK-1"], "available": ["many"]}))


# -- webhooks ---------------------------------------------------------------------------------


def test_a_signed_orders_create_webhook_is_verified_and_dispatched(sb) -> None:
    received: list[dict] = []
    router = ik.webhooks.Router()
    router.on("shopify", "orders/create", lambda order: received.append(order) or order["name"])

    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            results = router.dispatch("shopify", body, request.headers,
                                      secret=sb.emulator.webhook_secret)
        except ik.SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        return JSONResponse({"results": results})

    with SandboxServer(Starlette(routes=[Route("/hooks", hook, methods=["POST"])])) as app:
        answer = sb.emulator.send_webhook(app.url + "/hooks")
        assert answer.status_code == 200, answer.text
        newest = sb.emulator.world.orders[-1]
        assert answer.json() == {"results": [newest["name"]]}
        assert received[0]["id"] == newest["id"]
        forged = sb.emulator.send_webhook(app.url + "/hooks", secret="shpss_not_the_secret")
        assert forged.status_code == 401 and len(received) == 1
