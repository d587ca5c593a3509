"""The Stripe emulator's wire format against Stripe's official OpenAPI description (2023-08-16).

Responses are validated with jsonschema against the operation's response schema (objects
closed: a field the spec does not declare fails), errors against the ``error`` schema, and
the parameters the emulator accepts are compared with the ones the spec declares.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema
import pytest

from integkit.sandbox.services.stripe import RESOURCES

from .conftest import StripeSpec, http

NAMES = sorted(RESOURCES)


class Checker:
    """Validators built once per schema (the inlined schemas are large)."""

    def __init__(self, spec: StripeSpec) -> None:
        self.spec = spec
        self._cache: dict[tuple[str, str, str], jsonschema.Draft4Validator] = {}

    def response(self, path: str, method: str, status: str, body: Any) -> None:
        key = (path, method, status)
        if key not in self._cache:
            schema = self.spec.response_schema(path, method, status)
            self._cache[key] = jsonschema.Draft4Validator(schema)
        self._check(self._cache[key], body, f"{method.upper()} {path} -> {status}")

    def component(self, name: str, body: Any) -> None:
        key = ("#", name, "")
        if key not in self._cache:
            self._cache[key] = jsonschema.Draft4Validator(self.spec.component(name))
        self._check(self._cache[key], body, name)

    def error(self, response: httpx.Response) -> None:
        assert response.status_code >= 400
        self.component("error", response.json())

    @staticmethod
    def _check(validator: jsonschema.Draft4Validator, body: Any, what: str) -> None:
        errors = list(validator.iter_errors(body))
        if errors:
            worst = jsonschema.exceptions.best_match(errors)
            where = "/".join(map(str, worst.absolute_path))
            pytest.fail(f"{what}: {len(errors)} schema error(s); at {where}: {worst.message[:300]}")


@pytest.fixture(scope="module")
def check(stripe_spec: StripeSpec) -> Checker:
    return Checker(stripe_spec)


def retrieve_path(spec: StripeSpec, name: str) -> str:
    pattern = re.compile(rf"^/v1/{name}/\{{[a-z_]+\}}$")
    (path,) = [p for p in spec.doc["paths"] if pattern.match(p)]
    return path


# -- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_accepted_parameters_are_the_declared_ones(stripe_spec, name) -> None:
    res = RESOURCES[name]
    assert res.list_params == stripe_spec.query_params(f"/v1/{name}")
    assert res.retrieve_params == stripe_spec.query_params(retrieve_path(stripe_spec, name))
    if res.create_params:
        assert res.create_params == stripe_spec.body_params(f"/v1/{name}")


def _sample_value(name: str, param: str, first_id: str,
                  schema: dict[str, Any]) -> dict[str, Any]:
    if param in ("starting_after", "ending_before"):
        return {param: first_id}
    if param == "expand":
        return {"expand[]": "data.customer"} if name in ("charges", "invoices") else {}
    if param == "automatic_tax":
        return {"automatic_tax[enabled]": "false"}
    if param == "types":
        return {"types[]": "charge.succeeded"}
    if param in ("created", "due_date", "current_period_end", "current_period_start"):
        return {f"{param}[gte]": "1"}
    if param == "delivery_success":
        return {param: "true"}
    if param == "limit":
        return {param: "3"}
    # A value the description allows (the emulator refuses one outside an enum, as Stripe does).
    return {param: schema.get("enum", ["x"])[0]}


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_list_parameter_works_on_the_wire(client, stripe_spec, check,
                                                         name) -> None:
    path = f"/v1/{name}"
    first_id = client.get(path, params={"limit": 1}).json()["data"][0]["id"]
    schemas = {p["name"]: p.get("schema", {})
               for p in stripe_spec.operation(path, "get").get("parameters", [])}
    for param in sorted(stripe_spec.query_params(path)):
        r = client.get(path, params=_sample_value(name, param, first_id, schemas[param]))
        assert r.status_code == 200, (param, r.text)
        check.response(path, "get", "200", r.json())
    r = client.get(path, params={"not_a_param": "1"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "parameter_unknown"
    check.error(r)


# -- responses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_list_and_retrieve_match_the_spec(client, stripe_spec, check, name) -> None:
    path = f"/v1/{name}"
    page = client.get(path, params={"limit": 100, **({"status": "all"} if name ==
                                                      "subscriptions" else {})})
    assert page.status_code == 200
    body = page.json()
    assert len(body["data"]) == 100
    check.response(path, "get", "200", body)
    one = retrieve_path(stripe_spec, name)
    for obj in body["data"][::9]:
        got = client.get(f"{path}/{obj['id']}")
        check.response(one, "get", "200", got.json())
    missing = client.get(f"{path}/{body['data'][0]['id']}x")
    assert missing.status_code == 404
    check.error(missing)


def test_event_payloads_are_the_objects_they_announce(client, check) -> None:
    events = client.get("/v1/events", params={"limit": 100}).json()["data"]
    kinds = set()
    for event in events:
        obj = event["data"]["object"]
        kinds.add(obj["object"])
        check.component(obj["object"], obj)
    assert kinds >= {"charge", "payment_intent", "customer", "invoice", "subscription"}


EXPANSIONS = {
    "charges": ["data.customer", "data.balance_transaction", "data.payment_intent",
                "data.invoice"],
    "payment_intents": ["data.customer", "data.latest_charge", "data.payment_method",
                        "data.invoice"],
    "invoices": ["data.customer", "data.charge", "data.payment_intent"],
    "subscriptions": ["data.customer"],
    "refunds": ["data.charge", "data.payment_intent"],
    "balance_transactions": ["data.source"],
}


@pytest.mark.parametrize("name", sorted(EXPANSIONS))
def test_expanded_lists_match_the_spec(client, check, name) -> None:
    path = f"/v1/{name}"
    r = client.get(path, params={"limit": 60, "expand[]": EXPANSIONS[name]})
    assert r.status_code == 200, r.text
    body = r.json()
    field = EXPANSIONS[name][0].split(".")[1]
    assert any(isinstance(o[field], dict) for o in body["data"])
    check.response(path, "get", "200", body)


def test_created_objects_and_write_errors_match_the_spec(fresh, check) -> None:
    sb = fresh(records=40)
    with http(sb) as c:
        cus = c.post("/v1/customers", data={
            "email": "spec@example.com", "name": "Spec Check", "phone": "+15550000000",
            "metadata[a]": "b", "address[line1]": "1 Main St", "address[country]": "US",
            "shipping[name]": "Spec Check", "shipping[address][city]": "Austin",
            "expand[]": "test_clock"})
        assert cus.status_code == 200, cus.text
        check.response("/v1/customers", "post", "200", cus.json())
        for data in (
            {"amount": "1000", "currency": "usd"},
            {"amount": "1000", "currency": "gbp", "customer": cus.json()["id"],
             "payment_method": "pm_card_amex", "confirm": "true", "receipt_email": "a@b.co"},
            {"amount": "1000", "currency": "usd", "confirm": "true",
             "capture_method": "manual", "payment_method": "pm_card_visa",
             "expand[]": ["customer", "latest_charge", "payment_method"]},
            {"amount": "1000", "currency": "usd", "payment_method": "pm_card_visa"},
        ):
            pi = c.post("/v1/payment_intents", data=data)
            assert pi.status_code == 200, pi.text
            check.response("/v1/payment_intents", "post", "200", pi.json())
        declined = c.post("/v1/payment_intents", data={
            "amount": "1000", "currency": "usd", "confirm": "true",
            "payment_method": "pm_card_chargeDeclined"})
        assert declined.status_code == 402
        check.error(declined)
        paid = next(o for o in c.get("/v1/charges", params={"limit": 100}).json()["data"]
                    if o["status"] == "succeeded" and o["captured"] and not o["refunded"])
        refund = c.post("/v1/refunds", data={"charge": paid["id"], "amount": "1",
                                             "metadata[why]": "spec", "expand[]": "charge"})
        assert refund.status_code == 200, refund.text
        check.response("/v1/refunds", "post", "200", refund.json())
        for name in ("charges", "payment_intents", "refunds", "balance_transactions",
                     "events", "customers"):  # the new objects, listed first
            check.response(f"/v1/{name}", "get", "200",
                           c.get(f"/v1/{name}", params={"limit": 8}).json())
        for bad in (
            c.post("/v1/payment_intents", data={"currency": "usd"}),
            c.post("/v1/refunds", data={"charge": paid["id"], "amount": "99999999"}),
            c.post("/v1/customers", data={"bogus": "1"}),
            c.post("/v1/customers", data={"email": "x@y.z"}, headers={"Idempotency-Key": "i"}),
            c.post("/v1/customers", data={"email": "x@y.zz"}, headers={"Idempotency-Key": "i"}),
            c.get("/v1/charges", params={"limit": "1000"}),
            c.get("/v1/nothing"),
        ):
            if bad.status_code != 200:
                check.error(bad)
        assert bad.status_code == 404


def test_auth_rate_limit_and_injected_errors_match_the_error_schema(fresh, check) -> None:
    sb = fresh(records=10, rate_limit=(0.5, 1))
    check.error(httpx.get(sb.url + "/v1/charges"))
    check.error(httpx.get(sb.url + "/v1/charges", headers={"Authorization": "Bearer sk_x"}))
    with http(sb) as c:
        assert c.get("/v1/charges").status_code == 200
        limited = c.get("/v1/charges")
        assert limited.status_code == 429
        check.error(limited)
        for status in (500, 502, 503, 504, 429):
            sb.faults.fail(status)
            check.error(c.get("/v1/charges"))
