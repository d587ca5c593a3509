"""GitHub webhook bodies as GitHub sends them: JSON, or form-encoded (``payload=<json>``, for a
webhook whose content type is ``application/x-www-form-urlencoded``); and a body that is no
JSON object is still a valid delivery when its signature is. Signatures here are made by the
test itself (HMAC-SHA256 of the raw body, as GitHub documents), not by integkit."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit.webhooks as w
from integkit import SignatureError
from integkit.sandbox import SandboxServer

SECRET = "gh-form-secret-5150"
PUSH = {"ref": "refs/heads/main", "before": "a" * 40, "after": "b" * 40,
        "repository": {"full_name": "octo-org/atlas"}, "pusher": {"name": "octocat"}}


def _signed(body: bytes, **headers: str) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", **headers}


def test_a_form_encoded_delivery_is_parsed_from_its_payload_field() -> None:
    body = urlencode({"payload": json.dumps(PUSH)}).encode()
    headers = _signed(body, **{"Content-Type": "application/x-www-form-urlencoded",
                               "X-GitHub-Event": "push"})
    assert w.verify("github", body, headers, secret=SECRET) == PUSH
    # integkit's own signer marks such a body as a form, and its verifier reads it back
    made = w.sign("github", body, secret=SECRET)
    assert made["Content-Type"] == "application/x-www-form-urlencoded"
    assert made["X-Hub-Signature-256"] == headers["X-Hub-Signature-256"]
    assert w.verify("github", body, made, secret=SECRET) == PUSH


def test_the_event_header_is_checked_against_the_forms_payload() -> None:
    body = urlencode({"payload": json.dumps(PUSH)}).encode()
    headers = _signed(body, **{"Content-Type": "application/x-www-form-urlencoded",
                               "X-GitHub-Event": "release"})
    with pytest.raises(SignatureError, match="X-GitHub-Event says 'release'"):
        w.verify("github", body, headers, secret=SECRET)


@pytest.mark.parametrize("body", [b"plain text, not JSON", b"[1, 2, 3]", b"\xff\xfe\x00",
                                  b"", b"payload=%7Bnot-json"])
def test_a_signed_body_that_is_no_json_object_comes_back_raw(body: bytes) -> None:
    for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        headers = _signed(body, **{"Content-Type": content_type})
        assert w.verify("github", body, headers, secret=SECRET) == body
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("github", body, _signed(body + b"!"), secret=SECRET)


# -- over real HTTP: an endpoint dispatching what httpx POSTed -----------------------------------
router = w.Router()


@router.on("github", "push")
def pushed(event: Any) -> str:
    return f"push to {event['ref']}" if isinstance(event, dict) else f"raw {len(event)} bytes"


async def hook(request: Request) -> JSONResponse:
    try:
        results = router.dispatch("github", await request.body(), request.headers,
                                  secret=SECRET)
    except SignatureError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"results": results})


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    app = Starlette(routes=[Route("/hooks/github", hook, methods=["POST"])])
    with SandboxServer(app) as server:
        yield server.url + "/hooks/github"


def test_form_and_raw_deliveries_reach_their_handlers_over_http(endpoint: str) -> None:
    form = {"payload": json.dumps(PUSH)}
    encoded = urlencode(form).encode()
    sent = httpx.post(endpoint, data=form, headers=_signed(
        encoded, **{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-form-1"}))
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"results": ["push to refs/heads/main"]}
    raw = b"not json at all"
    answered = httpx.post(endpoint, content=raw, headers=_signed(
        raw, **{"Content-Type": "text/plain", "X-GitHub-Event": "push",
                "X-GitHub-Delivery": "d-raw-1"}))
    assert answered.json() == {"results": ["raw 15 bytes"]}
    again = httpx.post(endpoint, content=raw, headers=_signed(
        raw, **{"Content-Type": "text/plain", "X-GitHub-Event": "push",
                "X-GitHub-Delivery": "d-raw-1"}))
    assert again.json() == {"results": []}  # the same delivery is handled once
    forged = httpx.post(endpoint, content=raw, headers={
        "X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Event": "push"})
    assert forged.status_code == 400 and "does not match" in forged.json()["error"]
