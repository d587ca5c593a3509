"""verify()/sign() for every service: round trips, header and body shapes, secrets kept secret."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from starlette.datastructures import Headers as StarletteHeaders

import integkit.webhooks as w
from integkit import ConfigError, SignatureError
from integkit._events import logger, redact
from integkit.webhooks._schemes import SCHEMES

from . import p256_keys

NOW = 1_700_000_000
URL = "https://hooks.example.com/twilio/status?tenant=7"
PRIVATE_PEM, PUBLIC_B64 = p256_keys()

BODIES = {
    "stripe": b'{"id":"evt_9","type":"charge.succeeded","data":{"object":{"id":"ch_9"}}}',
    "github": b'{"action":"created","issue":{"number":9}}',
    "slack": b'{"type":"event_callback","event_id":"Ev9","event":{"type":"app_mention"}}',
    "twilio": b"MessageSid=SM9&MessageStatus=delivered&To=%2B15551234567",
    "shopify": b'{"id":9,"line_items":[]}',
    "sendgrid": b'[{"event":"open","sg_event_id":"sg9","email":"x@example.com"}]',
}
SIGNING = {s: f"{s}-signing-secret-0001" for s in BODIES} | {"sendgrid": PRIVATE_PEM}
VERIFYING = SIGNING | {"sendgrid": PUBLIC_B64}


def signed(service: str, body: bytes | None = None, secret: str | None = None) -> dict[str, str]:
    return w.sign(service, BODIES[service] if body is None else body,
                  secret=secret or SIGNING[service], timestamp=NOW, url=URL)


def check(service: str, body: bytes | str | None = None, headers=None, **kw):
    return w.verify(service, BODIES[service] if body is None else body,
                    signed(service) if headers is None else headers,
                    **({"secret": VERIFYING[service], "url": URL, "now": NOW} | kw))


def test_every_service_is_known() -> None:
    assert w.known_services() == ["github", "sendgrid", "shopify", "slack", "stripe", "twilio"]
    assert set(SCHEMES) == set(BODIES)


@pytest.mark.parametrize("service", sorted(BODIES))
def test_sign_then_verify_round_trip(service: str) -> None:
    event = check(service)
    if service == "twilio":
        assert event == {"MessageSid": "SM9", "MessageStatus": "delivered", "To": "+15551234567"}
    elif service == "sendgrid":
        assert event == {"events": json.loads(BODIES["sendgrid"])}
    else:
        assert event == json.loads(BODIES[service])


@pytest.mark.parametrize("service", sorted(BODIES))
def test_every_service_rejects_tampering_wrong_secret_and_missing_headers(service: str) -> None:
    body = BODIES[service]
    tampered = body.replace(b"9", b"8")
    with pytest.raises(SignatureError, match="does not match"):
        check(service, tampered)
    wrong = "some-other-secret-xyz" if service != "sendgrid" else p256_keys()[1]
    with pytest.raises(SignatureError, match="secret is likely wrong") as info:
        check(service, secret=wrong)
    assert wrong not in str(info.value)
    with pytest.raises(SignatureError, match="header is missing"):
        check(service, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("service", ["stripe", "slack", "sendgrid"])
def test_timestamped_schemes_refuse_stale_deliveries(service: str) -> None:
    assert check(service, now=NOW + 299)
    with pytest.raises(SignatureError, match="outside the 300s replay window"):
        check(service, now=NOW + 301)
    assert check(service, now=NOW + 301, tolerance=None)


@pytest.mark.parametrize("shape", ["lower", "upper", "httpx", "starlette", "asgi"])
def test_headers_are_looked_up_case_insensitively_in_any_shape(shape: str) -> None:
    headers = signed("slack")
    given = {
        "lower": lambda: {k.lower(): v for k, v in headers.items()},
        "upper": lambda: {k.upper(): v for k, v in headers.items()},
        "httpx": lambda: httpx.Headers(headers),
        "starlette": lambda: StarletteHeaders(headers=headers),
        "asgi": lambda: [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }[shape]()
    assert check("slack", headers=given)["event_id"] == "Ev9"


def test_body_may_be_bytes_str_or_bytearray_but_not_parsed_json() -> None:
    assert check("github", BODIES["github"].decode()) == check("github", bytearray(
        BODIES["github"]))
    with pytest.raises(ConfigError, match="raw request bytes"):
        check("github", json.loads(BODIES["github"]))  # type: ignore[arg-type]


def test_unknown_service_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown webhook service 'paypal'.*github, sendgrid"):
        w.verify("paypal", b"{}", {}, secret="whatever-secret")
    with pytest.raises(ConfigError, match="unknown webhook service"):
        w.sign("paypal", b"{}", secret="whatever-secret")
    assert w.verify("GitHub", BODIES["github"], signed("github"), secret=SIGNING["github"])


def test_empty_secret_is_a_config_error() -> None:
    for secret in ("", [], None):
        with pytest.raises(ConfigError, match="secret is empty"):
            w.verify("github", BODIES["github"], signed("github"), secret=secret)  # type: ignore


def test_rotation_any_of_several_secrets() -> None:
    old, new = "github-secret-old-1", "github-secret-new-2"
    headers = signed("github", secret=new)
    assert w.verify("github", BODIES["github"], headers, secret=[old, new])
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("github", BODIES["github"], headers, secret=[old, "github-secret-other-3"])
    # A stale genuine delivery is refused even though another secret is left to try.
    stale = signed("stripe", secret=new)
    with pytest.raises(SignatureError, match="replay window"):
        w.verify("stripe", BODIES["stripe"], stale, secret=[new, old], now=NOW + 999)


def test_secrets_are_registered_for_redaction_and_never_shown(caplog) -> None:
    secret = "whsec_never_print_me_0042"
    with pytest.raises(SignatureError) as info:
        w.verify("stripe", BODIES["stripe"], signed("stripe"), secret=secret, now=NOW)
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in redact(f"secret={secret}")
    with caplog.at_level(logging.INFO, logger="integkit"):
        logger.info("the secret is %s", secret)
    assert secret not in caplog.text
    assert secret not in repr(SCHEMES["stripe"]) and secret not in repr(w.router)


def test_sign_validates_its_arguments() -> None:
    with pytest.raises(ConfigError, match="params= only applies to twilio"):
        w.sign("github", b"{}", secret="gh-secret-123", params={"a": "b"})
    with pytest.raises(ConfigError, match="one secret"):
        w.sign("github", b"{}", secret=["a-secret-1", "b-secret-2"])  # type: ignore[arg-type]
    headers = w.sign("slack", b"command=%2Fweather", secret="slack-secret-1", timestamp=NOW)
    assert headers["X-Slack-Request-Timestamp"] == str(NOW)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert w.sign("stripe", b"{}", secret="whsec_abcdef")["Stripe-Signature"].startswith("t=")
