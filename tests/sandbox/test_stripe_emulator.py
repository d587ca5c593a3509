"""The Stripe emulator over real HTTP: paging, filters, expansion, errors, writes, idempotency,
rate limits, gzip, options and the child-process server."""

from __future__ import annotations

import base64
import gzip
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import integkit
from integkit._errors import ConfigError
from integkit.sandbox import SandboxProcess, sandbox
from integkit.sandbox.services.stripe import API_VERSION, RATE_LIMIT_MESSAGE

from .conftest import http

REQUEST_ID = re.compile(r"^req_[A-Za-z0-9]{14}$")


def walk(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every object of a list, paging with starting_after as stripe-python does."""
    out: list[dict[str, Any]] = []
    while True:
        page = client.get(path, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        out += body["data"]
        if not body["has_more"]:
            return out
        assert body["data"], "has_more with an empty page"
        params["starting_after"] = body["data"][-1]["id"]


# -- listing -----------------------------------------------------------------------------------


def test_paging_to_the_end_yields_every_id_once_newest_first(fresh) -> None:
    sb = fresh(records=250, seed=3)
    with http(sb) as c:
        for resource in ("charges", "customers", "events"):
            items = walk(c, f"/v1/{resource}", limit=37)
            ids = [o["id"] for o in items]
            assert len(ids) == 250 == len(set(ids)), resource
            created = [o["created"] for o in items]
            assert created == sorted(created, reverse=True), resource
        page = c.get("/v1/charges").json()
        assert page["object"] == "list" and page["url"] == "/v1/charges"
        assert len(page["data"]) == 10 and page["has_more"] is True  # Stripe's default limit


def test_ending_before_pages_backwards(client) -> None:
    first = client.get("/v1/charges", params={"limit": 20}).json()["data"]
    back = client.get("/v1/charges", params={"limit": 5, "ending_before": first[12]["id"]}).json()
    assert [o["id"] for o in back["data"]] == [o["id"] for o in first[7:12]]
    assert back["has_more"] is True
    top = client.get("/v1/charges", params={"limit": 5, "ending_before": first[3]["id"]}).json()
    assert [o["id"] for o in top["data"]] == [o["id"] for o in first[:3]]
    assert top["has_more"] is False


def test_created_ranges_select_exactly_the_window(client) -> None:
    every = walk(client, "/v1/charges", limit=100)
    times = sorted(o["created"] for o in every)
    lo, hi = times[len(times) // 4], times[3 * len(times) // 4]
    expected = [o["id"] for o in every if lo <= o["created"] < hi]
    got = walk(client, "/v1/charges", limit=50, **{"created[gte]": lo, "created[lt]": hi})
    assert [o["id"] for o in got] == expected and expected
    got = walk(client, "/v1/charges", limit=100, **{"created[gt]": lo, "created[lte]": hi})
    assert [o["id"] for o in got] == [o["id"] for o in every if lo < o["created"] <= hi]
    exact = client.get("/v1/charges", params={"created": lo}).json()["data"]
    assert [o["created"] for o in exact] == [lo]
    bad = client.get("/v1/charges", params={"created[after]": lo})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "Received unknown parameter: created[after]"


def test_filters_by_customer_and_other_declared_fields(client) -> None:
    every = walk(client, "/v1/charges", limit=100)
    customer = next(o["customer"] for o in every if o["customer"])
    mine = walk(client, "/v1/charges", limit=3, customer=customer)
    assert [o["id"] for o in mine] == [o["id"] for o in every if o["customer"] == customer]
    pi = every[5]["payment_intent"]
    assert [o["id"] for o in walk(client, "/v1/charges", payment_intent=pi)] == [every[5]["id"]]
    invoices = walk(client, "/v1/invoices", limit=100, status="paid")
    assert invoices and all(i["status"] == "paid" for i in invoices)
    refunds = walk(client, "/v1/refunds", limit=100)
    charge = refunds[0]["charge"]
    assert {r["charge"] for r in walk(client, "/v1/refunds", charge=charge)} == {charge}


def test_subscriptions_hide_canceled_unless_asked(client) -> None:
    default = walk(client, "/v1/subscriptions", limit=100)
    every = walk(client, "/v1/subscriptions", limit=100, status="all")
    canceled = walk(client, "/v1/subscriptions", limit=100, status="canceled")
    assert canceled and all(s["status"] == "canceled" for s in canceled)
    assert not any(s["status"] == "canceled" for s in default)
    assert len(default) + len(canceled) == len(every)


def test_events_filter_by_type_with_wildcard(client) -> None:
    charges = walk(client, "/v1/events", limit=100, type="charge.*")
    assert charges and all(e["type"].startswith("charge.") for e in charges)
    assert all(e["data"]["object"]["object"] == "charge" for e in charges)
    exact = walk(client, "/v1/events", limit=100, **{"types[]": ["customer.created"]})
    assert exact and {e["type"] for e in exact} == {"customer.created"}


def test_relations_hold_between_resources(client) -> None:
    charge = next(o for o in client.get("/v1/charges", params={"limit": 50}).json()["data"]
                  if o["customer"] and o["status"] == "succeeded")
    pi = client.get(f"/v1/payment_intents/{charge['payment_intent']}").json()
    assert pi["latest_charge"] == charge["id"] and pi["amount"] == charge["amount"]
    txn = client.get(f"/v1/balance_transactions/{charge['balance_transaction']}").json()
    assert txn["source"] == charge["id"] and txn["amount"] == charge["amount"]
    customer = client.get(f"/v1/customers/{charge['customer']}").json()
    assert customer["created"] <= charge["created"]
    assert charge["billing_details"]["name"] == customer["name"]


# -- retrieve and expand -------------------------------------------------------------------------


def test_retrieve_returns_the_listed_object(client) -> None:
    for resource in ("charges", "customers", "invoices", "payment_intents", "subscriptions",
                     "refunds", "balance_transactions", "events"):
        listed = client.get(f"/v1/{resource}", params={"limit": 3}).json()["data"][2]
        got = client.get(f"/v1/{resource}/{listed['id']}")
        assert got.status_code == 200 and got.json() == listed, resource


def test_expand_replaces_ids_by_objects(client) -> None:
    plain = client.get("/v1/charges", params={"limit": 30}).json()["data"]
    params = {"limit": 30, "expand[]": ["data.customer", "data.balance_transaction"]}
    expanded = client.get("/v1/charges", params=params).json()["data"]
    for before, after in zip(plain, expanded, strict=True):
        if before["customer"]:
            assert after["customer"]["object"] == "customer"
            assert after["customer"]["id"] == before["customer"]
        else:
            assert after["customer"] is None
        if before["balance_transaction"]:
            assert after["balance_transaction"]["id"] == before["balance_transaction"]
    charge = next(c for c in plain if c["customer"])
    got = client.get(f"/v1/charges/{charge['id']}",
                     params={"expand[0]": "payment_intent.customer", "expand[1]": "invoice"}).json()
    assert got["payment_intent"]["id"] == charge["payment_intent"]
    assert got["payment_intent"]["customer"]["id"] == charge["customer"]
    invoice = client.get("/v1/invoices", params={"limit": 1, "expand[]": "data.customer"})
    assert invoice.json()["data"][0]["customer"]["object"] == "customer"


def test_expand_rejects_fields_that_are_not_expandable(client) -> None:
    for params in ({"expand[]": "data.metadata"}, {"expand[]": "customer"}):
        r = client.get("/v1/charges", params=params)
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith("This property cannot be expanded")


# -- errors --------------------------------------------------------------------------------------


def test_not_found_is_stripes_404(client) -> None:
    r = client.get("/v1/charges/ch_doesnotexist")
    assert r.status_code == 404
    assert r.json() == {"error": {
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "message": "No such charge: 'ch_doesnotexist'",
        "param": "id",
        "type": "invalid_request_error",
    }}
    assert REQUEST_ID.match(r.headers["request-id"])
    r = client.get("/v1/payment_intents/pi_nope")
    assert r.json()["error"]["message"] == "No such payment_intent: 'pi_nope'"
    r = client.get("/v1/widgets")
    assert r.status_code == 404
    assert r.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/widgets)")


@pytest.mark.parametrize(("params", "message", "param"), [
    ({"foo": "1"}, "Received unknown parameter: foo", "foo"),
    ({"limit": "101"}, "This value must be less than or equal to 100.", "limit"),
    ({"limit": "0"}, "This value must be greater than or equal to 1.", "limit"),
    ({"limit": "ten"}, "Invalid integer: ten", "limit"),
    ({"starting_after": "ch_missing"}, "No such charge: 'ch_missing'", "starting_after"),
])
def test_bad_list_parameters_are_400(client, params, message, param) -> None:
    r = client.get("/v1/charges", params=params)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert (err["message"], err["param"], err["type"]) == (message, param,
                                                            "invalid_request_error")


def test_authentication(stripe_sb) -> None:
    url = stripe_sb.url + "/v1/charges"
    r = httpx.get(url)
    assert r.status_code == 401
    assert r.json()["error"]["message"].startswith("You did not provide an API key.")
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.get(url, headers={"Authorization": "Bearer sk_test_51Hxyzxyzxyzabcd"})
    assert r.status_code == 401
    assert r.json() == {"error": {"message": "Invalid API Key provided: sk_test_****abcd",
                                  "type": "invalid_request_error"}}
    basic = base64.b64encode(f"{stripe_sb.api_key}:".encode()).decode()
    r = httpx.get(url, headers={"Authorization": f"Basic {basic}", "Stripe-Version": "2020-08-27"})
    assert r.status_code == 200
    assert r.headers["stripe-version"] == "2020-08-27"
    assert REQUEST_ID.match(r.headers["request-id"])
    assert r.headers["content-type"] == "application/json"
    assert httpx.get(url, auth=(stripe_sb.api_key, "")).status_code == 200


def test_every_answer_has_request_id_and_version(client) -> None:
    ids = set()
    for path in ("/v1/charges", "/v1/charges/ch_x", "/v1/nope"):
        r = client.get(path)
        assert r.headers["stripe-version"] == API_VERSION
        ids.add(r.headers["request-id"])
    assert len(ids) == 3


# -- writes --------------------------------------------------------------------------------------


def test_created_customer_is_listed_first_and_retrievable(fresh) -> None:
    sb = fresh()
    with http(sb) as c:
        r = c.post("/v1/customers", data={
            "email": "ada@example.com", "name": "Ada Lovelace", "metadata[crm_id]": "42",
            "metadata[tier]": "gold", "preferred_locales[]": ["en", "fr"],
            "address[city]": "London", "address[country]": "GB"})
        assert r.status_code == 200, r.text
        cus = r.json()
        assert cus["id"].startswith("cus_") and cus["object"] == "customer"
        assert cus["metadata"] == {"crm_id": "42", "tier": "gold"}
        assert cus["preferred_locales"] == ["en", "fr"]
        assert cus["address"]["city"] == "London" and cus["address"]["line1"] is None
        first = c.get("/v1/customers", params={"limit": 1}).json()["data"][0]
        assert first == cus == c.get(f"/v1/customers/{cus['id']}").json()
        assert len(walk(c, "/v1/customers", limit=100)) == 121
        assert c.get("/v1/customers", params={"email": "ada@example.com"}).json()["data"] == [cus]
        events = c.get("/v1/events", params={"limit": 1}).json()["data"]
        assert events[0]["type"] == "customer.created"
        assert events[0]["data"]["object"]["id"] == cus["id"]
        bad = c.post("/v1/customers", data={"nickname": "x"})
        assert bad.status_code == 400
        assert bad.json()["error"]["message"] == "Received unknown parameter: nickname"
    assert sb.emulator.objects["customer"] == 1


@pytest.mark.parametrize(("data", "message", "param"), [
    ({"currency": "usd"}, "Missing required param: amount.", "amount"),
    ({"amount": "1000"}, "Missing required param: currency.", "currency"),
    ({"amount": "12.5", "currency": "usd"}, "Invalid integer: 12.5", "amount"),
    ({"amount": "-5", "currency": "usd"}, "This value must be greater than or equal to 1.",
     "amount"),
    ({"amount": "10", "currency": "usd"}, "Amount must be at least $0.50 usd", "amount"),
    ({"amount": "1000", "currency": "usd", "customer": "cus_nobody"},
     "No such customer: 'cus_nobody'", "customer"),
])
def test_payment_intent_validation(fresh, data, message, param) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        r = c.post("/v1/payment_intents", data=data)
    assert r.status_code == 400
    assert (r.json()["error"]["message"], r.json()["error"]["param"]) == (message, param)
    assert sb.emulator.objects["payment_intent"] == 0


def test_confirmed_payment_intent_creates_its_charge(fresh) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        cus = c.post("/v1/customers", data={"email": "b@example.com"}).json()
        r = c.post("/v1/payment_intents", data={
            "amount": "2599", "currency": "eur", "customer": cus["id"], "confirm": "true",
            "payment_method": "pm_card_visa", "payment_method_types[]": "card",
            "metadata[order]": "A-1"})
        assert r.status_code == 200, r.text
        pi = r.json()
        assert pi["status"] == "succeeded" and pi["amount_received"] == 2599
        assert pi["payment_method"].startswith("pm_") and pi["metadata"] == {"order": "A-1"}
        charge = c.get(f"/v1/charges/{pi['latest_charge']}").json()
        assert (charge["amount"], charge["currency"], charge["status"]) == (2599, "eur",
                                                                             "succeeded")
        assert charge["payment_intent"] == pi["id"] and charge["customer"] == cus["id"]
        txn = c.get(f"/v1/balance_transactions/{charge['balance_transaction']}").json()
        assert txn["source"] == charge["id"]
        listed = c.get("/v1/payment_intents", params={"customer": cus["id"]}).json()["data"]
        assert [p["id"] for p in listed] == [pi["id"]]
        plain = c.post("/v1/payment_intents", data={"amount": "500", "currency": "usd"}).json()
        assert plain["status"] == "requires_payment_method" and plain["latest_charge"] is None
        held = c.post("/v1/payment_intents", data={
            "amount": "900", "currency": "usd", "confirm": "true", "capture_method": "manual",
            "payment_method": "pm_card_mastercard"}).json()
        assert held["status"] == "requires_capture" and held["amount_capturable"] == 900


def test_declined_card_is_a_402_card_error(fresh) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        r = c.post("/v1/payment_intents", data={
            "amount": "4000", "currency": "usd", "confirm": "true",
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
        assert r.status_code == 402
        err = r.json()["error"]
        assert err["type"] == "card_error" and err["code"] == "card_declined"
        assert err["decline_code"] == "insufficient_funds"
        assert err["message"] == "Your card has insufficient funds."
        assert err["doc_url"] == "https://stripe.com/docs/error-codes/card-declined"
        pi = err["payment_intent"]
        assert pi["status"] == "requires_payment_method"
        assert pi["last_payment_error"]["code"] == "card_declined"
        charge = c.get(f"/v1/charges/{err['charge']}").json()
        assert charge["status"] == "failed" and charge["failure_code"] == "card_declined"
        assert c.get(f"/v1/payment_intents/{pi['id']}").json() == pi
        r = c.post("/v1/payment_intents", data={
            "amount": "4000", "currency": "usd", "confirm": "true",
            "payment_method": "pm_card_chargeDeclinedExpiredCard"})
        assert r.json()["error"]["code"] == "expired_card"
        r = c.post("/v1/payment_intents", data={
            "amount": "4000", "currency": "usd", "payment_method": "pm_bogus"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "resource_missing"


def test_refunds_update_the_charge_and_respect_the_remainder(fresh) -> None:
    sb = fresh(records=60)
    with http(sb) as c:
        charge = next(o for o in walk(c, "/v1/charges", limit=100)
                      if o["status"] == "succeeded" and o["amount_refunded"] == 0
                      and o["currency"] == "usd" and o["amount"] >= 1000)
        amount = charge["amount"]
        part = c.post("/v1/refunds", data={"charge": charge["id"], "amount": "300",
                                           "reason": "requested_by_customer"})
        assert part.status_code == 200, part.text
        assert part.json()["amount"] == 300 and part.json()["status"] == "succeeded"
        after = c.get(f"/v1/charges/{charge['id']}").json()
        assert after["amount_refunded"] == 300 and after["refunded"] is False
        too_much = c.post("/v1/refunds", data={"charge": charge["id"], "amount": str(amount)})
        assert too_much.status_code == 400
        left = amount - 300
        assert too_much.json()["error"]["message"] == (
            f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge "
            f"(${left / 100:.2f})")
        rest = c.post("/v1/refunds", data={"payment_intent": charge["payment_intent"]}).json()
        assert rest["amount"] == left and rest["charge"] == charge["id"]
        done = c.get(f"/v1/charges/{charge['id']}").json()
        assert done["refunded"] is True and done["amount_refunded"] == amount
        again = c.post("/v1/refunds", data={"charge": charge["id"]})
        assert again.status_code == 400 and again.json()["error"]["code"] == (
            "charge_already_refunded")
        mine = walk(c, "/v1/refunds", charge=charge["id"])
        assert {r["id"] for r in mine} >= {part.json()["id"], rest["id"]}
        missing = c.post("/v1/refunds", data={})
        assert missing.status_code == 400 and missing.json()["error"]["code"] == (
            "parameter_missing")
    assert sb.emulator.objects["refund"] == 2


# -- idempotency --------------------------------------------------------------------------------


def test_idempotent_retry_replays_byte_for_byte(fresh) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        data = {"amount": "1500", "currency": "usd", "metadata[order]": "7"}
        key = {"Idempotency-Key": "order-7"}
        first = c.post("/v1/payment_intents", data=data, headers=key)
        second = c.post("/v1/payment_intents", data=data, headers=key)
        assert first.status_code == second.status_code == 200
        assert second.content == first.content
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert second.headers["original-request"] == first.headers["request-id"]
        assert second.headers["request-id"] != first.headers["request-id"]
        assert sb.emulator.objects["payment_intent"] == 1
        assert len(c.get("/v1/payment_intents", params={"limit": 100}).json()["data"]) == 21
        conflict = c.post("/v1/payment_intents", data={**data, "amount": "1600"}, headers=key)
        assert conflict.status_code == 400
        assert conflict.json() == {"error": {
            "message": "Keys for idempotent requests can only be used with the same parameters "
                       "they were first used with. Try using a key other than 'order-7' if you "
                       "meant to execute a different request.",
            "type": "idempotency_error"}}
        other = c.post("/v1/customers", data={"email": "x@example.com"}, headers=key)
        assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    log = [entry for entry in sb.emulator.request_log if entry[3] == "order-7"]
    assert [e[2] for e in log] == [200, 200, 400, 400]


def test_idempotency_keys_are_scoped_per_api_key(fresh) -> None:
    sb = fresh(records=20)
    sb.emulator.add_api_key("sk_test_second_key_0000")
    data = {"email": "same@example.com"}
    with http(sb) as c, http(sb, headers={"Authorization": "Bearer sk_test_second_key_0000"}) as d:
        a = c.post("/v1/customers", data=data, headers={"Idempotency-Key": "k"}).json()
        b = d.post("/v1/customers", data=data, headers={"Idempotency-Key": "k"}).json()
    assert a["id"] != b["id"] and sb.emulator.objects["customer"] == 2


def test_failed_validation_is_not_saved_but_a_decline_is(fresh) -> None:
    sb = fresh(records=20)
    with http(sb) as c:
        bad = c.post("/v1/payment_intents", data={"currency": "usd"},
                     headers={"Idempotency-Key": "v"})
        assert bad.status_code == 400
        good = c.post("/v1/payment_intents", data={"currency": "usd", "amount": "700"},
                      headers={"Idempotency-Key": "v"})
        assert good.status_code == 200 and "idempotent-replayed" not in good.headers
        data = {"amount": "700", "currency": "usd", "confirm": "true",
                "payment_method": "pm_card_chargeDeclined"}
        one = c.post("/v1/payment_intents", data=data, headers={"Idempotency-Key": "d"})
        two = c.post("/v1/payment_intents", data=data, headers={"Idempotency-Key": "d"})
        assert one.status_code == two.status_code == 402 and one.content == two.content
        assert two.headers["idempotent-replayed"] == "true"
    assert sb.emulator.objects["payment_intent"] == 2


# -- limits, gzip, options -----------------------------------------------------------------------


def test_rate_limit_answers_429_like_stripe_per_key(fresh) -> None:
    sb = fresh(records=10, rate_limit=(1.0, 3))
    sb.emulator.add_api_key("sk_test_other_0000")
    with http(sb) as c:
        statuses = [c.get("/v1/customers", params={"limit": 1}).status_code for _ in range(6)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429, 429]
        r = c.get("/v1/customers")
        assert r.status_code == 429 and "retry-after" not in r.headers
        assert r.json() == {"error": {"code": "rate_limit",
                                      "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
                                      "message": RATE_LIMIT_MESSAGE,
                                      "type": "invalid_request_error"}}
        assert REQUEST_ID.match(r.headers["request-id"])
    with http(sb, headers={"Authorization": "Bearer sk_test_other_0000"}) as other:
        assert other.get("/v1/customers").status_code == 200
    assert sb.emulator.rate_limited == 4
    time.sleep(1.1)
    with http(sb) as c:
        assert c.get("/v1/customers").status_code == 200


def test_gzip_when_asked(client) -> None:
    url = client.base_url.join("/v1/charges?limit=50")
    auth = {"Authorization": client.headers["authorization"]}
    with httpx.stream("GET", url, headers={**auth, "Accept-Encoding": "gzip"}) as r:
        wire = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    assert int(r.headers["content-length"]) == len(wire)
    plain = httpx.get(url, headers={**auth, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(wire) == plain.content and len(wire) < len(plain.content) / 3
    small = httpx.get(client.base_url.join("/v1/charges/ch_x"),
                      headers={**auth, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # below the minimum size


def test_latency_option_delays_without_blocking(fresh) -> None:
    sb = fresh(records=10, latency=0.3)
    results: list[float] = []

    def call() -> None:
        with http(sb) as c:
            t = time.perf_counter()
            assert c.get("/v1/customers").status_code == 200
            results.append(time.perf_counter() - t)

    started = time.perf_counter()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert min(results) >= 0.3
    assert time.perf_counter() - started < 0.3 * 3  # the four waits overlapped


def test_same_seed_same_data_other_seed_other_data(fresh) -> None:
    a, b, c = fresh(records=40, seed=5), fresh(records=40, seed=5), fresh(records=40, seed=6)
    pages = []
    for sb in (a, b, c):
        with http(sb) as client:
            pages.append(client.get("/v1/invoices", params={"limit": 40}).json()["data"])
    assert pages[0] == pages[1] and pages[0] != pages[2]
    assert {p["id"] for p in pages[0]}.isdisjoint({p["id"] for p in pages[2]})


def test_seeded_data_is_varied(client) -> None:
    charges = walk(client, "/v1/charges", limit=100)
    assert {"succeeded", "failed"} <= {c["status"] for c in charges}
    assert len({c["currency"] for c in charges}) >= 4
    assert len({c["amount"] for c in charges}) > len(charges) * 0.8
    assert any(c["metadata"] for c in charges) and any(not c["metadata"] for c in charges)
    assert any(c["customer"] is None for c in charges)
    assert any(c["refunded"] for c in charges) and any(c["amount_refunded"] for c in charges)
    subs = walk(client, "/v1/subscriptions", status="all", limit=100)
    assert len({s["status"] for s in subs}) >= 4


# -- the sandbox object, registry and process ----------------------------------------------------


def test_sandbox_object(stripe_sb) -> None:
    assert stripe_sb.service == "stripe" and stripe_sb.url.startswith("http://127.0.0.1:")
    assert stripe_sb.api_key.startswith("sk_test_sandbox_")
    assert stripe_sb.credentials == {"api_key": stripe_sb.api_key}
    assert stripe_sb.app is stripe_sb.emulator and stripe_sb.faults is stripe_sb.emulator.faults
    assert "stripe" in repr(stripe_sb)
    with sandbox("stripe", records=5, api_key="sk_test_mine") as sb:
        assert sb.api_key == "sk_test_mine"
        r = httpx.get(sb.url + "/v1/charges", headers={"Authorization": "Bearer sk_test_mine"})
        assert len(r.json()["data"]) == 5
        url = sb.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/charges", timeout=2)


def test_ik_sandbox_stays_callable_once_the_package_is_imported() -> None:
    import integkit.sandbox as module

    assert integkit.sandbox is module  # the import rebinds the package attribute...
    with integkit.sandbox("stripe", records=3) as sb:  # ...and it still starts a sandbox
        assert sb.service == "stripe" and sb.emulator.records == 3


def test_unknown_service_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known services: .*stripe"):
        sandbox("paypal")


def test_connect_points_the_connector_at_the_sandbox(stripe_sb) -> None:
    if not hasattr(integkit, "connect"):
        pytest.skip("integkit.connect is not there yet")
    conn = stripe_sb.connect()
    try:
        first = conn.retrieve("charges", stripe_sb.emulator.table("charges").ids[0])
        assert first["object"] == "charge"
    finally:
        getattr(conn, "close", lambda: None)()


def test_child_process_serves_until_terminated(monkeypatch) -> None:
    root = str(Path(integkit.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    proc = SandboxProcess("stripe", records=50, seed=1, latency=0, rate_limit="100/100",
                          api_key="sk_test_child")
    with proc:
        assert proc.info["api_key"] == "sk_test_child" and proc.info["service"] == "stripe"
        assert proc.url.startswith("http://127.0.0.1:")
        headers = {"Authorization": "Bearer sk_test_child"}
        page = httpx.get(proc.url + "/v1/charges", params={"limit": 100}, headers=headers)
        assert len(page.json()["data"]) == 50
        armed = httpx.post(proc.url + "/__sandbox__/faults", json={"kind": "fail", "status": 503})
        assert armed.status_code == 200 and armed.json()["rules"][0]["kind"] == "fail"
        assert httpx.get(proc.url + "/v1/charges", headers=headers).status_code == 503
        assert httpx.get(proc.url + "/v1/charges", headers=headers).status_code == 200
        stats = httpx.get(proc.url + "/__sandbox__/stats").json()
        assert stats["service"] == "stripe" and stats["requests"] == 2
        child = proc.proc
    assert child is not None and child.returncode is not None
