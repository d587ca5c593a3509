"""Webhook replays are caught by content: a signed body sent again with fresh delivery ids (the
ids GitHub, Shopify and Twilio send outside the signature) is handled once, by one worker or by
several sharing a state backend; and a routing header the signature does not cover (GitHub's
X-GitHub-Event, Shopify's X-Shopify-Topic) must fit the signed body, or the delivery is refused
with a SignatureError.

Deliveries travel over real HTTP to a Starlette endpoint on 127.0.0.1; genuine Shopify
deliveries come from the Shopify emulator; state is a real SQLite file or Redis.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit.webhooks as w
from integkit import SignatureError
from integkit.sandbox import SandboxServer, create_emulator
from integkit.webhooks._claims import check_claims

SECRETS = {"github": "gh-replay-secret-0042", "shopify": "shpss_replay_secret_0042",
           "twilio": "twilio-replay-token-0042"}


class Endpoint:
    """Two workers behind one webhook URL, taking turns; what their handlers saw."""

    def __init__(self) -> None:
        self.workers: list[w.Router] = []
        self.handled: list[tuple[int, str, dict]] = []
        self.turn = 0

    def reset(self, state: str | None) -> None:
        self.handled.clear()
        self.turn = 0
        self.workers = [w.Router(state=state), w.Router(state=state)]
        for number, router in enumerate(self.workers):
            for service in SECRETS:
                router.on(service, "*", lambda event, n=number, s=service:
                          self.handled.append((n, s, event)))

    async def handle(self, request: Request) -> JSONResponse:
        service = request.path_params["service"]
        router = self.workers[self.turn % 2]
        self.turn += 1
        try:
            results = router.dispatch(service, await request.body(), request.headers,
                                      secret=SECRETS[service], url=str(request.url))
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"handled": len(results)})


endpoint = Endpoint()


async def hook(request: Request) -> JSONResponse:
    return await endpoint.handle(request)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    app = Starlette(routes=[Route("/hooks/{service}", hook, methods=["POST"])])
    with SandboxServer(app) as running:
        yield running


@pytest.fixture
def hooks(server, state_url) -> str:
    endpoint.reset(state_url)
    return server.url + "/hooks"


def github(event: str, body: dict, delivery: str | None = None) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                 "Content-Type": "application/json",
                 **w.sign("github", raw, secret=SECRETS["github"])}


PUSH = {"ref": "refs/heads/main", "before": "a" * 40, "after": "b" * 40, "commits": [],
        "repository": {"full_name": "octo-org/atlas"}, "pusher": {"name": "mona"}}
COMMENT = {"action": "created", "issue": {"number": 7}, "comment": {"id": 1, "body": "lgtm"},
           "repository": {"full_name": "octo-org/atlas"}}


def test_a_signed_github_body_replayed_with_fresh_delivery_ids_is_handled_once(hooks):
    body, headers = github("push", PUSH)
    assert httpx.post(f"{hooks}/github", content=body, headers=headers).json() == {"handled": 1}
    for _ in range(3):  # the replayer makes up a new delivery id each time; both workers
        replay = headers | {"X-GitHub-Delivery": str(uuid.uuid4())}
        answer = httpx.post(f"{hooks}/github", content=body, headers=replay)
        assert answer.json() == {"handled": 0}
    assert len(endpoint.handled) == 1
    other, other_headers = github("push", PUSH | {"after": "c" * 40})
    assert httpx.post(f"{hooks}/github", content=other, headers=other_headers).json() == {
        "handled": 1}


def test_shopify_and_twilio_replays_with_fresh_ids_are_handled_once(hooks):
    shop = create_emulator("shopify", records=5)
    shop.webhook_secret = SECRETS["shopify"]
    genuine = shop.send_webhook(f"{hooks}/shopify", "orders/create")
    assert genuine.json() == {"handled": 1}
    raw = orjson.dumps(shop.world.orders[-1])  # the bytes the emulator sent, signed again
    headers = {"X-Shopify-Topic": "orders/create", "Content-Type": "application/json",
               **w.sign("shopify", raw, secret=SECRETS["shopify"])}
    for _ in range(2):
        fresh = headers | {"X-Shopify-Webhook-Id": str(uuid.uuid4()),
                           "X-Shopify-Event-Id": str(uuid.uuid4())}
        assert httpx.post(f"{hooks}/shopify", content=raw, headers=fresh).json() == {
            "handled": 0}

    url = f"{hooks}/twilio"
    params = {"MessageSid": "SM42", "MessageStatus": "delivered", "To": "+15558675310"}
    signature = w.sign("twilio", b"", secret=SECRETS["twilio"], url=url, params=params)
    for n in range(3):
        answer = httpx.post(url, data=params, headers=signature | {
            "I-Twilio-Idempotency-Token": f"made-up-{n}"})
        assert answer.json() == {"handled": 1 if n == 0 else 0}
    assert [s for _, s, _ in endpoint.handled] == ["shopify", "twilio"]


def test_one_body_under_two_topics_it_fits_is_two_deliveries(hooks):
    order = {"id": 450789469, "admin_graphql_api_id": "gid://shopify/Order/450789469",
             "created_at": "2024-05-01T10:00:00Z", "cancelled_at": None,
             "financial_status": "paid", "fulfillment_status": None}
    raw = json.dumps(order).encode()
    signed = w.sign("shopify", raw, secret=SECRETS["shopify"])
    for topic in ("orders/create", "orders/paid"):
        headers = signed | {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": topic}
        assert httpx.post(f"{hooks}/shopify", content=raw, headers=headers).json() == {
            "handled": 1}


def test_a_failed_handling_lets_the_services_retry_through(server, state_url):
    endpoint.reset(state_url)
    calls = []

    def flaky(event: dict) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("database down")

    for router in endpoint.workers:
        router.clear()
        router.on("github", "push", flaky)
    body, headers = github("push", PUSH)
    with pytest.raises(RuntimeError):
        endpoint.workers[0].dispatch("github", body, headers, secret=SECRETS["github"])
    retry = headers | {"X-GitHub-Delivery": str(uuid.uuid4())}  # GitHub's redelivery
    assert endpoint.workers[1].dispatch("github", body, retry, secret=SECRETS["github"]) == [
        None]
    assert len(calls) == 2


@pytest.mark.parametrize(("claimed", "body"), [
    ("release", PUSH),                 # a push made to look like a release
    ("issues", COMMENT),               # a comment's body routed to issue handlers
    ("push", COMMENT),
    ("pull_request", {"action": "submitted", "review": {"id": 1},
                      "pull_request": {"number": 3}}),
])
def test_a_github_event_header_that_contradicts_the_signed_body_is_refused(
        hooks, claimed, body):
    raw, headers = github(claimed, body)
    answer = httpx.post(f"{hooks}/github", content=raw, headers=headers)
    assert answer.status_code == 400
    assert "X-GitHub-Event says" in answer.json()["error"]
    assert SECRETS["github"] not in answer.text
    assert endpoint.handled == []
    with pytest.raises(SignatureError, match="not covered by the signature"):
        w.verify("github", raw, headers, secret=SECRETS["github"])


@pytest.mark.parametrize("topic", [
    "products/create",      # an order's body claimed as a product
    "orders/cancelled",     # an order that is not cancelled
    "orders/delete",        # a whole order claimed as a deletion
    "orders/fulfilled",     # an order that is not fulfilled
])
def test_a_shopify_topic_that_contradicts_the_signed_body_is_refused(hooks, topic):
    shop = create_emulator("shopify", records=5)
    shop.webhook_secret = SECRETS["shopify"]
    order = next(o for o in shop.world.orders
                 if not o.get("cancelled_at") and o.get("fulfillment_status") != "fulfilled")
    raw = orjson.dumps(order)
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
               "Content-Type": "application/json",
               **w.sign("shopify", raw, secret=SECRETS["shopify"])}
    answer = httpx.post(f"{hooks}/shopify", content=raw, headers=headers)
    assert answer.status_code == 400 and "X-Shopify-Topic says" in answer.json()["error"]
    assert endpoint.handled == []
    genuine = headers | {"X-Shopify-Topic": "orders/updated"}  # what the body does fit
    assert httpx.post(f"{hooks}/shopify", content=raw, headers=genuine).json() == {
        "handled": 1}


# -- the GitHub shapes against GitHub's own description of every webhook payload ----------
SPEC = Path(__file__).parents[2].parent / "shared" / "specs" / "github" / "api.github.com.json"


def _payload_shapes() -> list[tuple[str, str, set[str], set[str]]]:
    if not SPEC.exists():
        pytest.skip(f"GitHub's OpenAPI description is not at {SPEC}")
    spec = json.loads(SPEC.read_text())

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            target: dict = spec
            for part in node["$ref"].split("/")[1:]:
                target = target[part]
            node = target
        return node

    def keys(schema: dict) -> tuple[set[str], set[str]]:
        schema = resolve(schema)
        required, every = set(schema.get("required", ())), set(schema.get("properties", {}))
        for sub in schema.get("allOf", ()):
            more, all_more = keys(sub)
            required |= more
            every |= all_more
        return required, every

    out = []
    for name, item in spec["x-webhooks"].items():
        operation = item["post"]
        event = operation["operationId"].split("/")[0].replace("-", "_")
        schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
        for variant in schema.get("oneOf") or [schema]:
            required, every = keys(variant)
            out.append((name, event, required, every))
    return out


def test_every_github_payload_in_githubs_description_fits_its_own_event():
    shapes = _payload_shapes()
    assert len(shapes) > 250
    for _name, event, required, every in shapes:
        for present in (required, every):  # the least and the most a payload carries
            check_claims("github", dict.fromkeys(present, 1), {"x-github-event": event})


def test_githubs_payloads_claimed_as_another_event_are_refused():
    shapes = _payload_shapes()
    events = sorted({event for _, event, _, _ in shapes})
    alerts = {"code_scanning_alert", "dependabot_alert", "secret_scanning_alert",
              "secret_scanning_alert_location", "repository_vulnerability_alert"}
    refused, unchecked = 0, set()
    for _, event, required, _ in shapes:
        body = dict.fromkeys(required, 1)
        try:
            check_claims("github", body, {"x-github-event": "no-such-event"})
            unchecked.add(event)  # a shape that says nothing: any claim stands
            continue
        except SignatureError:
            pass
        for other in events:
            if other == event:
                continue
            try:
                check_claims("github", body, {"x-github-event": other})
            except SignatureError:
                refused += 1
            else:  # only the alert family shares one shape between events
                assert {event, other} <= alerts, (event, other)
    assert refused > 15_000
    # Events whose payload has no key of its own (public, watch, repository...) cannot be
    # told apart by shape; they are few.
    assert len(unchecked) < len(events) / 3, sorted(unchecked)
