"""The Stripe emulator sends signed events to subscribed endpoints, as Stripe does; a receiver
verifies and routes them with ik.webhooks over real HTTP."""

from __future__ import annotations

import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.sandbox import SandboxProcess, SandboxServer

SECRET = "whsec_sandbox_delivery_test_0123456789"


def receiver(router: ik.webhooks.Router):
    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            router.dispatch("stripe", body, request.headers, secret=SECRET)
        except ik.SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/hooks/stripe", hook, methods=["POST"])])


def test_payment_events_reach_the_endpoint_signed() -> None:
    router = ik.webhooks.Router()
    seen: list[tuple[str, str]] = []
    router.on("stripe", "payment_intent.*", lambda e: seen.append((e["type"], e["id"])))
    router.on("stripe", "charge.succeeded", lambda e: seen.append((e["type"], e["id"])))
    with SandboxServer(receiver(router)) as hooks, ik.sandbox("stripe", records=50) as sb:
        sb.emulator.webhooks.subscribe(f"{hooks.url}/hooks/stripe", SECRET,
                                       events=["payment_intent.*", "charge.*"])
        sb.emulator.webhooks.subscribe(f"{hooks.url}/hooks/stripe", "whsec_wrong_secret_xx")
        intent = sb.connect().create_payment_intent(
            amount=1500, currency="usd", payment_method="pm_card_visa", confirm=True)
        sb.emulator.webhooks.flush()
        deliveries = sb.emulator.webhooks.deliveries
    types = sorted(t for t, _ in seen)  # Stripe does not promise an order either
    assert types == ["charge.succeeded", "payment_intent.created", "payment_intent.succeeded"]
    assert intent["status"] == "succeeded"
    by_status = sorted(d.status for d in deliveries)
    assert by_status.count(200) == 3 and by_status.count(400) == 3  # the wrong secret is refused


def test_an_emulator_in_another_process_takes_subscriptions_over_http() -> None:
    router = ik.webhooks.Router()
    seen: list[str] = []
    router.on("stripe", "customer.created", lambda e: seen.append(e["data"]["object"]["email"]))
    with SandboxServer(receiver(router)) as hooks, SandboxProcess("stripe", records=20) as sb:
        admin = f"{sb.url}/__sandbox__/webhooks"
        assert httpx.post(admin, json={"url": f"{hooks.url}/hooks/stripe", "secret": SECRET,
                                       "events": ["customer.*"]}).status_code == 201
        conn = ik.connect("stripe", api_key=sb.info["api_key"], base_url=sb.url,
                          rate_limit=False)
        conn.create_customer(email="ada@example.com")
        for _ in range(100):
            if httpx.get(admin).json()["deliveries"]:
                break
            time.sleep(0.05)
    assert seen == ["ada@example.com"]
