"""The router: verify, drop replays, call the handlers of each event type."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

import integkit.webhooks as w
from integkit import ConfigError, SignatureError
from integkit.webhooks import Router

from . import p256_keys

SECRET = "router-test-secret-01"
NOW = 1_700_000_000
SENDGRID_PRIVATE, SENDGRID_PUBLIC = p256_keys()


def deliver(router: Router, service: str, body: dict | list | str, headers=None, **kw):
    raw = body if isinstance(body, str) else json.dumps(body)
    url = "https://example.com/hook"
    sign_with, verify_with = ((SENDGRID_PRIVATE, SENDGRID_PUBLIC) if service == "sendgrid"
                              else (SECRET, SECRET))
    signed = w.sign(service, raw, secret=sign_with, timestamp=NOW, url=url)
    return router.dispatch(service, raw, {**signed, **(headers or {})}, secret=verify_with,
                           url=url, now=NOW, **kw)


def stripe_event(type_: str, id_: str = "evt_1") -> dict:
    return {"id": id_, "object": "event", "type": type_, "data": {"object": {"id": "pi_1"}}}


def test_routes_by_stripe_event_type() -> None:
    router = Router()
    router.on("stripe", "payment_intent.succeeded", lambda e: ("ok", e["data"]["object"]["id"]))
    router.on("stripe", "charge.refunded", lambda e: "refund")
    assert deliver(router, "stripe", stripe_event("payment_intent.succeeded")) == [("ok", "pi_1")]
    assert deliver(router, "stripe", stripe_event("customer.created", "evt_2")) == []


def test_wildcard_prefix_and_glob_patterns() -> None:
    router = Router()
    router.on("stripe", "*", lambda e: "any")
    router.on("stripe", "customer", lambda e: "customer.*")           # dotted prefix
    router.on("stripe", "customer.subscription.*", lambda e: "glob")
    router.on("stripe", "cust", lambda e: "never")                    # not at a "." boundary
    router.on("github", "*", lambda e: "other service")
    assert deliver(router, "stripe", stripe_event("customer.subscription.updated")) == [
        "any", "customer.*", "glob"]
    assert deliver(router, "stripe", stripe_event("customer.created", "evt_2")) == [
        "any", "customer.*"]


def test_decorator_and_module_level_default_router() -> None:
    router = Router()

    @router.on("shopify", "orders/create")
    def new_order(order: dict) -> int:
        return order["id"]

    assert new_order({"id": 5}) == 5  # the decorator returns the function itself
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "wh-1"}
    assert deliver(router, "shopify", {"id": 1001}, headers) == [1001]

    try:
        @w.on("shopify", "orders")  # "orders" matches every orders/... topic
        def any_order(order: dict) -> str:
            return "module-level"

        signed = w.sign("shopify", b'{"id":2}', secret=SECRET)
        headers = {**signed, "X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "wh-2"}
        assert w.dispatch("shopify", b'{"id":2}', headers, secret=SECRET) == ["module-level"]
    finally:
        w.clear()


def test_github_event_and_action() -> None:
    router = Router()
    router.on("github", "pull_request", lambda e: "any pull_request")
    router.on("github", "pull_request.opened", lambda e: "opened")
    router.on("github", "pull_request.closed", lambda e: "closed")
    router.on("github", "push", lambda e: "push")
    opened = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"}
    assert deliver(router, "github", {"action": "opened", "number": 1}, opened) == [
        "any pull_request", "opened"]
    push = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-2"}
    assert deliver(router, "github", {"ref": "refs/heads/main"}, push) == ["push"]


def test_replayed_delivery_is_handled_once_and_logged(caplog) -> None:
    router = Router()
    calls = []
    router.on("stripe", "*", calls.append)
    event = stripe_event("invoice.paid", "evt_replayed")
    assert deliver(router, "stripe", event) == [None]
    with caplog.at_level(logging.INFO, logger="integkit"):
        assert deliver(router, "stripe", event) == []
    assert len(calls) == 1
    assert "already handled" in caplog.text and "evt_replayed" in caplog.text
    # GitHub by X-GitHub-Delivery: a redelivery of the same id is dropped; so is the same
    # signed body under a new id (issue 9: the id is outside the signature); a new body is not.
    router.on("github", "*", lambda e: "gh")
    first = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "72d3162e-cc78-11e3"}
    assert deliver(router, "github", {"zen": "a"}, first) == ["gh"]
    assert deliver(router, "github", {"zen": "a"}, first) == []
    assert deliver(router, "github", {"zen": "a"}, first | {"X-GitHub-Delivery": "new"}) == []
    assert deliver(router, "github", {"zen": "b"}, first | {"X-GitHub-Delivery": "new"}) == ["gh"]


def test_a_failed_delivery_is_not_remembered() -> None:
    router = Router()
    attempts = []

    def flaky(event: dict) -> str:
        attempts.append(event["id"])
        if len(attempts) == 1:
            raise RuntimeError("database down")
        return "done"

    router.on("stripe", "*", flaky)
    with pytest.raises(RuntimeError):
        deliver(router, "stripe", stripe_event("charge.succeeded", "evt_retry"))
    assert deliver(router, "stripe", stripe_event("charge.succeeded", "evt_retry")) == ["done"]


def test_seen_ids_are_bounded() -> None:
    router = Router(remember=2)
    router.on("stripe", "*", lambda e: e["id"])
    for n in range(3):
        assert deliver(router, "stripe", stripe_event("x.y", f"evt_{n}")) == [f"evt_{n}"]
    assert deliver(router, "stripe", stripe_event("x.y", "evt_2")) == []       # still known
    assert deliver(router, "stripe", stripe_event("x.y", "evt_0")) == ["evt_0"]  # forgotten


def test_bad_signature_calls_no_handler() -> None:
    router = Router()
    router.on("stripe", "*", lambda e: pytest.fail("handler called for a forged delivery"))
    body = json.dumps(stripe_event("charge.succeeded"))
    headers = w.sign("stripe", body, secret="whsec_someone_else", timestamp=NOW)
    with pytest.raises(SignatureError):
        router.dispatch("stripe", body, headers, secret=SECRET, now=NOW)


def slack_interactive(payload: dict) -> str:
    return "payload=" + quote(json.dumps(payload))


def test_slack_block_actions_on_action() -> None:
    router = Router()
    seen = []
    router.on("slack", "block_actions", lambda p: "payload handler")

    @router.on_action("approve_request")
    def approve(action: dict, payload: dict) -> str:
        seen.append((action["value"], payload["user"]["id"]))
        return "approved"

    router.on_action("deny_*", lambda action, payload: "denied " + action["action_id"])
    router.on_action("unrelated", lambda action, payload: pytest.fail("wrong action"))
    payload = {
        "type": "block_actions", "trigger_id": "123.456.abc", "user": {"id": "U1"},
        "actions": [{"action_id": "approve_request", "value": "req-7"},
                    {"action_id": "deny_all", "value": "x"}],
    }
    assert deliver(router, "slack", slack_interactive(payload)) == [
        "payload handler", "approved", "denied deny_all"]
    assert seen == [("req-7", "U1")]
    assert deliver(router, "slack", slack_interactive(payload)) == []  # same trigger_id


def test_slack_events_views_and_commands() -> None:
    router = Router()
    router.on("slack", "url_verification", lambda e: e["challenge"])
    router.on("slack", "app_mention", lambda e: e["event"]["text"])
    router.on("slack", "view_submission", lambda e: "any view")
    router.on("slack", "view_submission.new_ticket", lambda e: "ticket view")
    router.on("slack", "/weather", lambda e: "weather for " + e["text"])
    assert deliver(router, "slack", {"type": "url_verification", "challenge": "3eZbrw1a"}) == [
        "3eZbrw1a"]
    mention = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention",
                                                                      "text": "hi"}}
    assert deliver(router, "slack", mention) == ["hi"]
    assert deliver(router, "slack", mention, {"X-Slack-Retry-Num": "1"}) == []  # Slack's retry
    view = {"type": "view_submission", "trigger_id": "t-2", "view": {"callback_id": "new_ticket"}}
    assert deliver(router, "slack", slack_interactive(view)) == ["any view", "ticket view"]
    command = "command=%2Fweather&text=Paris&trigger_id=t-3"
    assert deliver(router, "slack", command) == ["weather for Paris"]


def test_twilio_by_message_or_call_status() -> None:
    router = Router()
    router.on("twilio", "delivered", lambda e: "delivered")
    router.on("twilio", "message", lambda e: "any message status")
    router.on("twilio", "call.completed", lambda e: "call done")
    router.on("twilio", "failed", lambda e: "failed (message or call)")
    sms = "MessageSid=SM1&MessageStatus=delivered"
    assert deliver(router, "twilio", sms, {"I-Twilio-Idempotency-Token": "tok-1"}) == [
        "delivered", "any message status"]
    assert deliver(router, "twilio", sms, {"I-Twilio-Idempotency-Token": "tok-1"}) == []
    call = "CallSid=CA1&CallStatus=completed"
    assert deliver(router, "twilio", call) == ["call done"]
    assert deliver(router, "twilio", "CallSid=CA2&CallStatus=failed") == [
        "failed (message or call)"]


def test_sendgrid_routes_each_event_and_drops_replayed_ones() -> None:
    router = Router()
    router.on("sendgrid", "delivered", lambda e: ("delivered", e["email"]))
    router.on("sendgrid", "bounce", lambda e: ("bounce", e["email"]))
    batch = [{"event": "delivered", "email": "a@x.io", "sg_event_id": "e1"},
             {"event": "open", "email": "a@x.io", "sg_event_id": "e2"},
             {"event": "bounce", "email": "b@x.io", "sg_event_id": "e3"}]
    assert deliver(router, "sendgrid", batch) == [("delivered", "a@x.io"), ("bounce", "b@x.io")]
    retry = [batch[2], {"event": "delivered", "email": "c@x.io", "sg_event_id": "e4"}]
    assert deliver(router, "sendgrid", retry) == [("delivered", "c@x.io")]


def test_registering_again_replaces_a_redefined_handler() -> None:
    router = Router()

    def handle(event: dict) -> str:
        return "first"

    router.on("stripe", "charge.succeeded", handle)
    router.on("stripe", "charge.succeeded", handle)  # same function: once

    def handle(event: dict) -> str:  # noqa: F811 - a notebook cell run again
        return "second"

    router.on("stripe", "charge.succeeded", handle)
    router.on("stripe", "charge.succeeded", lambda e: "lambda a")
    router.on("stripe", "charge.succeeded", lambda e: "lambda b")  # lambdas never replace
    assert deliver(router, "stripe", stripe_event("charge.succeeded")) == [
        "second", "lambda a", "lambda b"]
    router.clear()
    assert deliver(router, "stripe", stripe_event("charge.succeeded")) == []


def test_on_checks_its_arguments() -> None:
    router = Router()
    with pytest.raises(ConfigError, match="unknown webhook service 'mailchimp'"):
        router.on("mailchimp", "*", print)
    with pytest.raises(ValueError, match="event_type is empty"):
        router.on("stripe", "", print)
    with pytest.raises(ValueError, match="action_id is empty"):
        router.on_action("", print)
    router.on("stripe", "*", print)
    assert repr(router) == "<Router: 1 handlers, 0 action handlers>"
