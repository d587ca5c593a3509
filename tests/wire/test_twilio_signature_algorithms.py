"""Twilio deliveries signed with HMAC-SHA256 (a SharedKey, announced by
``X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256``) verify as the official
library verifies them, besides the HMAC-SHA1 default. The signatures here are made by
twilio-python's own ``RequestValidator`` (a test-only dependency), and what integkit signs is
checked with it too."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator, get_signature_algorithm

import integkit.webhooks as w
from integkit import ConfigError, SignatureError
from integkit.sandbox import SandboxServer
from integkit.webhooks._schemes import Delivery, Twilio

SHARED_KEY = "webhooks-sharedkey-secret-0042"
SETTINGS = "X-Twilio-Webhooks-Signature-Settings"
SHA256 = {SETTINGS: "key=webhooks_sharedkey_KS0123456789,algorithm=HMAC_SHA256"}
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"MessageSid": "SM1234567890ABCDE", "MessageStatus": "delivered",
          "From": "+14158675309", "To": "+18005551212", "Body": "Ahoy, caf\u00e9 \u2615"}


def official(url: str, params: dict[str, str], algorithm: str | None = None,
             token: str = SHARED_KEY) -> str:
    return RequestValidator(token).compute_signature(url, params, algorithm)


def test_the_official_library_reads_the_settings_header_as_integkit_does() -> None:
    scheme = Twilio()
    for header in ("key=K1,algorithm=HMAC_SHA256", " algorithm = HMAC_SHA256 ,key=K1",
                   "algorithm=hmac_sha256", "key=K1", "", "algorithm=", "algorithm=HMAC_SHA1",
                   "algorithm=HMAC_SHA512", "Algorithm=HMAC_SHA256"):
        delivery = Delivery(b"", {SETTINGS.lower(): header}, URL)
        assert scheme.algorithm(delivery) == get_signature_algorithm(header), header


def test_a_sha256_form_delivery_verifies() -> None:
    signature = official(URL, PARAMS, "HMAC_SHA256")
    body = urlencode(PARAMS)
    headers = {"X-Twilio-Signature": signature, **SHA256}
    assert w.verify("twilio", body, headers, secret=SHARED_KEY, url=URL) == PARAMS
    # with the port Twilio may or may not have signed (the official library tries both)
    with_port = URL.replace(".com/", ".com:443/")
    headers443 = {"X-Twilio-Signature": official(with_port, PARAMS, "HMAC_SHA256"), **SHA256}
    assert w.verify("twilio", body, headers443, secret=SHARED_KEY, url=URL) == PARAMS
    # the algorithm is what the header announces: a SHA-256 signature without it is refused,
    # and so is a SHA-1 signature under it
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("twilio", body, {"X-Twilio-Signature": signature}, secret=SHARED_KEY, url=URL)
    sha1 = {"X-Twilio-Signature": official(URL, PARAMS), **SHA256}
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("twilio", body, sha1, secret=SHARED_KEY, url=URL)
    assert RequestValidator(SHARED_KEY).validate(URL, PARAMS, sha1["X-Twilio-Signature"],
                                                 "HMAC_SHA256") is False


def test_a_sha256_json_delivery_verifies_through_its_body_hash() -> None:
    body = json.dumps({"property": "value", "boolean": True})
    url = f"{URL}&bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = official(url, {}, "HMAC_SHA256")
    assert RequestValidator(SHARED_KEY).validate(url, body, signature, "HMAC_SHA256")
    event = w.verify("twilio", body, {"X-Twilio-Signature": signature, **SHA256},
                     secret=SHARED_KEY, url=url)
    assert event == {"property": "value", "boolean": True}
    with pytest.raises(SignatureError, match="bodySHA256"):
        w.verify("twilio", body + " ", {"X-Twilio-Signature": signature, **SHA256},
                 secret=SHARED_KEY, url=url)


def test_the_sha1_default_still_verifies_with_the_auth_token() -> None:
    token = "12345"
    signature = official(URL, PARAMS, None, token=token)
    assert signature == official(URL, PARAMS, "HMAC_SHA1", token=token)
    for headers in ({"X-Twilio-Signature": signature},
                    {"X-Twilio-Signature": signature, SETTINGS: "algorithm=HMAC_SHA1"}):
        assert w.verify("twilio", urlencode(PARAMS), headers, secret=token, url=URL) == PARAMS


def test_an_algorithm_integkit_does_not_know_is_refused_as_the_library_refuses_it() -> None:
    signature = official(URL, PARAMS, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": signature, SETTINGS: "key=K,algorithm=HMAC_SHA512"}
    assert RequestValidator(SHARED_KEY).validate(URL, PARAMS, signature, "HMAC_SHA512") is False
    with pytest.raises(SignatureError, match="'HMAC_SHA512'.*upgrade integkit"):
        w.verify("twilio", urlencode(PARAMS), headers, secret=[SHARED_KEY, "other"], url=URL)


def test_what_integkit_signs_the_official_library_accepts() -> None:
    headers = w.sign("twilio", b"", secret=SHARED_KEY, url=URL, params=PARAMS,
                     algorithm="HMAC_SHA256")
    algorithm = get_signature_algorithm(headers[SETTINGS])
    assert algorithm == "HMAC_SHA256"
    assert RequestValidator(SHARED_KEY).validate(URL, PARAMS, headers["X-Twilio-Signature"],
                                                 algorithm)
    assert "X-Twilio-Webhooks-Signature-Settings" not in w.sign(
        "twilio", b"", secret=SHARED_KEY, url=URL, params=PARAMS)
    with pytest.raises(ConfigError, match="algorithm must be one of"):
        w.sign("twilio", b"", secret=SHARED_KEY, url=URL, params=PARAMS, algorithm="MD5")
    with pytest.raises(ConfigError, match="algorithm= only applies to twilio"):
        w.sign("github", b"{}", secret=SHARED_KEY, algorithm="HMAC_SHA256")


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.dictionaries(st.text("abcXYZ_", min_size=1, max_size=6), _text, max_size=5),
       path=st.text("abcdef/-_", max_size=10), port=st.sampled_from(["", ":443", ":8443"]),
       algorithm=st.sampled_from(["HMAC_SHA256", "HMAC_SHA1", None]))
def test_any_delivery_the_library_signs_verifies(params: dict[str, str], path: str, port: str,
                                                 algorithm: str | None) -> None:
    url = f"https://hooks.example.com{port}/{path}?q=1"
    signature = official(url, params, algorithm)
    headers = {"X-Twilio-Signature": signature}
    if algorithm is not None:
        headers[SETTINGS] = f"key=K,algorithm={algorithm}"
    assert w.verify("twilio", urlencode(params), headers, secret=SHARED_KEY, url=url) == params


# -- over real HTTP ---------------------------------------------------------------------------
async def hook(request: Request) -> JSONResponse:
    try:
        event = w.verify("twilio", await request.body(), request.headers, secret=SHARED_KEY,
                         url=str(request.url))
    except SignatureError as exc:
        return JSONResponse({"error": str(exc)}, status_code=403)
    return JSONResponse(event)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    app = Starlette(routes=[Route("/hooks/twilio", hook, methods=["POST"])])
    with SandboxServer(app) as server:
        yield server.url + "/hooks/twilio?account=ops"


def test_a_sha256_delivery_posted_over_http_verifies(endpoint: str) -> None:
    headers = {"X-Twilio-Signature": official(endpoint, PARAMS, "HMAC_SHA256"), **SHA256}
    answer = httpx.post(endpoint, data=PARAMS, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == PARAMS
    refused = httpx.post(endpoint, data={**PARAMS, "Body": "tampered"}, headers=headers)
    assert refused.status_code == 403
