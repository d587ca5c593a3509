"""Over real HTTP: a Starlette endpoint on 127.0.0.1 verifies the raw bytes httpx POSTed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit.webhooks as w
from integkit import ConfigError, SignatureError
from integkit.sandbox import SandboxServer

from . import p256_keys

SECRETS = {"github": "gh-http-secret-77", "twilio": "twilio-http-token-77",
           "stripe": "whsec_http_secret_77"}
SENDGRID_PRIVATE, SENDGRID_PUBLIC = p256_keys()
VERIFY_WITH = SECRETS | {"sendgrid": SENDGRID_PUBLIC}

router = w.Router()
received: list[dict] = []


@router.on("github", "issues.opened")
def issue_opened(event: dict) -> str:
    received.append(event)
    return f"issue #{event['issue']['number']}: {event['issue']['title']}"


@router.on("twilio", "message.delivered")
def delivered(event: dict) -> str:
    return f"{event['MessageSid']} delivered to {event['To']}"


@router.on("stripe", "payment_intent.succeeded")
def paid(event: dict) -> int:
    return int(event["data"]["object"]["amount"])


@router.on("sendgrid", "*")
def mail_event(event: dict) -> str:
    return event["event"]


async def hook(request: Request) -> JSONResponse:
    service = request.path_params["service"]
    body = await request.body()  # the raw bytes, before anything parses them
    try:
        results = router.dispatch(service, body, request.headers, secret=VERIFY_WITH[service],
                                  url=str(request.url))
    except (SignatureError, ConfigError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"results": results})


app = Starlette(routes=[Route("/hooks/{service}", hook, methods=["POST"])])


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(app) as running:
        yield running


def test_github_delivery_verifies_from_the_raw_request_bytes(server: SandboxServer) -> None:
    # Pretty-printed, non-ASCII, key order GitHub's own: a re-encoded body would not verify.
    body = json.dumps({"action": "opened", "issue": {"number": 12, "title": "Zürich ☕"}},
                      indent=2, ensure_ascii=False).encode()
    headers = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "http-1",
               **w.sign("github", body, secret=SECRETS["github"])}
    url = server.url + "/hooks/github"
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"results": ["issue #12: Zürich ☕"]}
    assert received[-1]["issue"]["title"] == "Zürich ☕"
    assert httpx.post(url, content=body, headers=headers).json() == {"results": []}  # replay
    forged = body.replace(b"12", b"13")
    refused = httpx.post(url, content=forged, headers=headers | {"X-GitHub-Delivery": "http-2"})
    assert refused.status_code == 400 and "does not match" in refused.json()["error"]
    assert SECRETS["github"] not in refused.text


def test_twilio_form_post_verifies_against_the_requested_url(server: SandboxServer) -> None:
    url = server.url + "/hooks/twilio?account=ops"
    params = {"MessageSid": "SM123", "MessageStatus": "delivered", "To": "+15558675310",
              "Body": "Hé & bye"}
    headers = w.sign("twilio", b"", secret=SECRETS["twilio"], url=url, params=params)
    answer = httpx.post(url, data=params, headers={"X-Twilio-Signature":
                                                   headers["X-Twilio-Signature"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"results": ["SM123 delivered to +15558675310"]}
    elsewhere = httpx.post(server.url + "/hooks/twilio", data=params,
                           headers={"X-Twilio-Signature": headers["X-Twilio-Signature"]})
    assert elsewhere.status_code == 400 and "url must be" in elsewhere.json()["error"]


def test_stripe_and_sendgrid_over_http(server: SandboxServer) -> None:
    event = {"id": "evt_http", "type": "payment_intent.succeeded",
             "data": {"object": {"amount": 4200}}}
    body = json.dumps(event).encode()
    answer = httpx.post(server.url + "/hooks/stripe", content=body,
                        headers=w.sign("stripe", body, secret=SECRETS["stripe"]))
    assert answer.json() == {"results": [4200]}
    batch = b'[{"event":"processed","sg_event_id":"h1"},{"event":"delivered","sg_event_id":"h2"}]'
    answer = httpx.post(server.url + "/hooks/sendgrid", content=batch + b"\r\n",
                        headers=w.sign("sendgrid", batch + b"\r\n", secret=SENDGRID_PRIVATE))
    assert answer.json() == {"results": ["processed", "delivered"]}
