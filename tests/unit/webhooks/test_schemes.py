"""Each service's scheme accepts what the service sends, byte for byte, and refuses the rest.

Known answers come from the services' documentation or official libraries (GitHub's docs, Slack's
docs, twilio-python's and sendgrid-python's tests), or, where none is published (Stripe, Shopify),
from hmac computed here directly, the way the service's docs describe it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote, urlencode

import pytest

import integkit.webhooks as w
from integkit import ConfigError, SignatureError
from integkit.webhooks._schemes import Delivery, GitHub

from . import p256_keys

# -- Stripe ---------------------------------------------------------------------------------

STRIPE_SECRET = "whsec_kat_2f1c9e7d4b3a"
STRIPE_T = 1_700_000_000
STRIPE_BODY = (
    b'{\n  "id": "evt_1Kat",\n  "object": "event",\n  "type": "payment_intent.succeeded",\n'
    b'  "data": {"object": {"id": "pi_1", "amount": 2000}}\n}'
)
STRIPE_V1 = "bedf8934ae2312cef9f3afa180a97e8390799af37f9bc97196812ab22f2afc8c"


def stripe_header(body: bytes = STRIPE_BODY, t: int = STRIPE_T,
                  secret: str = STRIPE_SECRET) -> str:
    """As Stripe's docs: HMAC-SHA256 of "{t}.{payload}" with the endpoint secret, hex."""
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def test_stripe_known_answer() -> None:
    assert stripe_header() == f"t={STRIPE_T},v1={STRIPE_V1}"
    assert w.sign("stripe", STRIPE_BODY, secret=STRIPE_SECRET, timestamp=STRIPE_T)[
        "Stripe-Signature"] == stripe_header()
    event = w.verify("stripe", STRIPE_BODY, {"Stripe-Signature": stripe_header()},
                     secret=STRIPE_SECRET, now=STRIPE_T + 10)
    assert event["type"] == "payment_intent.succeeded" and event["data"]["object"]["amount"] == 2000


def test_stripe_any_of_several_v1_may_match_and_v0_is_ignored() -> None:
    # During secret rotation Stripe sends one v1 per active secret; test mode may add v0.
    header = f"t={STRIPE_T}, v1={'0' * 64}, v0=deadbeef, v1={STRIPE_V1}"
    assert w.verify("stripe", STRIPE_BODY, {"stripe-signature": header}, secret=STRIPE_SECRET,
                    now=STRIPE_T)["id"] == "evt_1Kat"


def test_stripe_rejects_tampered_body() -> None:
    tampered = STRIPE_BODY.replace(b"2000", b"9000")
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("stripe", tampered, {"Stripe-Signature": stripe_header()},
                 secret=STRIPE_SECRET, now=STRIPE_T)


def test_stripe_rejects_wrong_secret_and_says_so() -> None:
    with pytest.raises(SignatureError, match="secret is likely wrong") as info:
        w.verify("stripe", STRIPE_BODY, {"Stripe-Signature": stripe_header()},
                 secret="whsec_some_other_secret", now=STRIPE_T)
    assert "whsec_some_other_secret" not in str(info.value)
    with pytest.raises(SignatureError, match="does not start with whsec_") as info:
        w.verify("stripe", STRIPE_BODY, {"Stripe-Signature": stripe_header()},
                 secret="sk_test_an_api_key_by_mistake", now=STRIPE_T)
    assert "sk_test_an_api_key" not in str(info.value)


def test_stripe_replay_window() -> None:
    headers = {"Stripe-Signature": stripe_header()}
    assert w.verify("stripe", STRIPE_BODY, headers, secret=STRIPE_SECRET, now=STRIPE_T + 300)
    with pytest.raises(SignatureError, match="301s old, outside the 300s replay window"):
        w.verify("stripe", STRIPE_BODY, headers, secret=STRIPE_SECRET, now=STRIPE_T + 301)
    # A wider window, or none, on purpose:
    assert w.verify("stripe", STRIPE_BODY, headers, secret=STRIPE_SECRET,
                    now=STRIPE_T + 3600, tolerance=7200)
    assert w.verify("stripe", STRIPE_BODY, headers, secret=STRIPE_SECRET,
                    now=STRIPE_T + 10**6, tolerance=None)
    # As stripe-python, a timestamp ahead of the clock is not refused.
    assert w.verify("stripe", STRIPE_BODY, headers, secret=STRIPE_SECRET, now=STRIPE_T - 3600)


def test_stripe_missing_and_malformed_header() -> None:
    with pytest.raises(SignatureError, match="Stripe-Signature header is missing"):
        w.verify("stripe", STRIPE_BODY, {"Content-Type": "application/json"},
                 secret=STRIPE_SECRET)
    for header, why in [(f"v1={STRIPE_V1}", "no t= timestamp"), (f"t={STRIPE_T}", "no v1="),
                        (f"t=soon,v1={STRIPE_V1}", "not a whole number")]:
        with pytest.raises(SignatureError, match=why):
            w.verify("stripe", STRIPE_BODY, {"Stripe-Signature": header}, secret=STRIPE_SECRET)


# -- GitHub ---------------------------------------------------------------------------------

# docs.github.com, "Validating webhook deliveries": testing the webhook payload validation.
GITHUB_DOC_SECRET = "It's a Secret to Everybody"
GITHUB_DOC_PAYLOAD = b"Hello, World!"
GITHUB_DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

GITHUB_SECRET = "gh-webhook-secret-1"
GITHUB_BODY = b'{"action":"opened","number":42,"pull_request":{"title":"Caf\xc3\xa9"}}'


def github_signature(body: bytes = GITHUB_BODY, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_github_documented_vector() -> None:
    assert w.sign("github", GITHUB_DOC_PAYLOAD, secret=GITHUB_DOC_SECRET)[
        "X-Hub-Signature-256"] == GITHUB_DOC_SIGNATURE
    delivery = Delivery(GITHUB_DOC_PAYLOAD, {"x-hub-signature-256": GITHUB_DOC_SIGNATURE})
    GitHub().verify(delivery, GITHUB_DOC_SECRET, tolerance=300, now=0)  # no exception
    # GitHub's own vector is no JSON: a valid delivery all the same, handed back raw
    assert w.verify("github", GITHUB_DOC_PAYLOAD, delivery.headers,
                    secret=GITHUB_DOC_SECRET) == GITHUB_DOC_PAYLOAD


def test_github_accepts_and_parses() -> None:
    headers = {"X-Hub-Signature-256": github_signature(), "X-GitHub-Event": "pull_request"}
    event = w.verify("github", GITHUB_BODY, headers, secret=GITHUB_SECRET)
    assert event["number"] == 42 and event["pull_request"]["title"] == "Café"


def test_github_rejections() -> None:
    good = {"X-Hub-Signature-256": github_signature()}
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("github", GITHUB_BODY.replace(b"42", b"43"), good, secret=GITHUB_SECRET)
    with pytest.raises(SignatureError, match="secret is likely wrong.*webhook's secret"):
        w.verify("github", GITHUB_BODY, good, secret="gh-webhook-secret-2")
    with pytest.raises(SignatureError, match="missing.*only when the webhook has a secret"):
        w.verify("github", GITHUB_BODY, {"X-GitHub-Event": "push"}, secret=GITHUB_SECRET)
    legacy = "sha1=" + hmac.new(GITHUB_SECRET.encode(), GITHUB_BODY, "sha1").hexdigest()
    with pytest.raises(SignatureError, match="malformed.*sha256="):
        w.verify("github", GITHUB_BODY, {"X-Hub-Signature-256": legacy}, secret=GITHUB_SECRET)


# -- Slack ----------------------------------------------------------------------------------

# api.slack.com/authentication/verifying-requests-from-slack, the worked example.
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TS = "1531420618"
SLACK_DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770088"
    "5554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447"
    "fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_DOC_HEADERS = {"X-Slack-Signature": SLACK_DOC_SIGNATURE,
                     "X-Slack-Request-Timestamp": SLACK_DOC_TS,
                     "Content-Type": "application/x-www-form-urlencoded"}
SLACK_NOW = int(SLACK_DOC_TS) + 30


def slack_headers(body: bytes, ts: int = SLACK_NOW, secret: str = SLACK_DOC_SECRET) -> dict:
    base = b"v0:" + str(ts).encode() + b":" + body
    return {"X-Slack-Signature": "v0=" + hmac.new(secret.encode(), base, "sha256").hexdigest(),
            "X-Slack-Request-Timestamp": str(ts)}


def test_slack_documented_vector_slash_command() -> None:
    event = w.verify("slack", SLACK_DOC_BODY, SLACK_DOC_HEADERS, secret=SLACK_DOC_SECRET,
                     now=SLACK_NOW)
    assert event["command"] == "/webhook-collect" and event["text"] == ""
    assert event["response_url"].startswith("https://hooks.slack.com/commands/")
    assert w.sign("slack", SLACK_DOC_BODY, secret=SLACK_DOC_SECRET,
                  timestamp=int(SLACK_DOC_TS))["X-Slack-Signature"] == SLACK_DOC_SIGNATURE


def test_slack_interactive_payload_is_parsed() -> None:
    payload = {"type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d88f00",
               "actions": [{"action_id": "approve", "value": "ok & go"}]}
    body = ("payload=" + quote(json.dumps(payload))).encode()
    headers = slack_headers(body) | {"content-type": "application/x-www-form-urlencoded"}
    assert w.verify("slack", body, headers, secret=SLACK_DOC_SECRET, now=SLACK_NOW) == payload


def test_slack_events_api_json() -> None:
    body = b'{"type":"event_callback","event_id":"Ev01","event":{"type":"app_mention"}}'
    headers = slack_headers(body) | {"Content-Type": "application/json"}
    event = w.verify("slack", body, headers, secret=SLACK_DOC_SECRET, now=SLACK_NOW)
    assert event["event"]["type"] == "app_mention"


def test_slack_rejections() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("slack", SLACK_DOC_BODY.replace("foobar", "general"), SLACK_DOC_HEADERS,
                 secret=SLACK_DOC_SECRET, now=SLACK_NOW)
    with pytest.raises(SignatureError, match="Signing Secret"):
        w.verify("slack", SLACK_DOC_BODY, SLACK_DOC_HEADERS, secret="another-signing-secret",
                 now=SLACK_NOW)
    # Five minutes either way, as slack-sdk's SignatureVerifier.
    for now in (int(SLACK_DOC_TS) + 301, int(SLACK_DOC_TS) - 301):
        with pytest.raises(SignatureError, match="replay window"):
            w.verify("slack", SLACK_DOC_BODY, SLACK_DOC_HEADERS, secret=SLACK_DOC_SECRET,
                     now=now)
    for missing in ("X-Slack-Signature", "X-Slack-Request-Timestamp"):
        headers = {k: v for k, v in SLACK_DOC_HEADERS.items() if k != missing}
        with pytest.raises(SignatureError, match=f"{missing} header is missing"):
            w.verify("slack", SLACK_DOC_BODY, headers, secret=SLACK_DOC_SECRET, now=SLACK_NOW)


# -- Twilio ---------------------------------------------------------------------------------

# twilio-python tests/unit/test_request_validator.py
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
                 "To": "+18005551212", "Caller": "+14158675309"}
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
TWILIO_JSON = '{"property": "value", "boolean": true}'
TWILIO_JSON_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


@pytest.mark.parametrize(("url", "signature"), [
    (TWILIO_URL, TWILIO_SIGNATURE),
    (TWILIO_URL.replace(".com", ".com:1234"), TWILIO_SIGNATURE),  # port removed on https
    (TWILIO_URL.replace(".com", ".com:1234").replace("https", "http"),
     "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),                              # signed with the port
    (TWILIO_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),                   # signed with :443
    (TWILIO_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # signed with :80
])
def test_twilio_published_vectors(url: str, signature: str) -> None:
    event = w.verify("twilio", urlencode(TWILIO_PARAMS), {"X-Twilio-Signature": signature},
                     secret=TWILIO_TOKEN, url=url)
    assert event == TWILIO_PARAMS


def test_twilio_sign_matches_published_vector() -> None:
    assert w.sign("twilio", urlencode(TWILIO_PARAMS), secret=TWILIO_TOKEN, url=TWILIO_URL)[
        "X-Twilio-Signature"] == TWILIO_SIGNATURE
    assert w.sign("twilio", b"", secret=TWILIO_TOKEN, url=TWILIO_URL, params=TWILIO_PARAMS)[
        "X-Twilio-Signature"] == TWILIO_SIGNATURE


def test_twilio_json_body_with_body_sha256() -> None:
    url = f"{TWILIO_URL}&bodySHA256={TWILIO_JSON_HASH}"
    headers = {"X-Twilio-Signature": "a9nBmqA0ju/hNViExpshrM61xv4="}
    event = w.verify("twilio", TWILIO_JSON, headers, secret=TWILIO_TOKEN, url=url)
    assert event == {"property": "value", "boolean": True}
    with pytest.raises(SignatureError, match="bodySHA256"):
        w.verify("twilio", TWILIO_JSON.replace("value", "other"), headers,
                 secret=TWILIO_TOKEN, url=url)
    assert w.sign("twilio", TWILIO_JSON, secret=TWILIO_TOKEN, url=url) == {
        "X-Twilio-Signature": "a9nBmqA0ju/hNViExpshrM61xv4=", "Content-Type": "application/json"}
    with pytest.raises(ConfigError, match=f"bodySHA256={TWILIO_JSON_HASH}"):
        w.sign("twilio", TWILIO_JSON, secret=TWILIO_TOKEN, url=TWILIO_URL)


def test_twilio_repeated_parameters() -> None:
    # Each name once, sorted; its values sorted, each appended as name + value.
    body = "MediaUrl=b&To=%2B1&MediaUrl=a"
    text = "https://example.com/sms" + "MediaUrla" + "MediaUrlb" + "To+1"
    signature = base64.b64encode(hmac.new(b"twilio-token", text.encode(), "sha1").digest())
    event = w.verify("twilio", body, {"X-Twilio-Signature": signature.decode()},
                     secret="twilio-token", url="https://example.com/sms")
    assert event == {"MediaUrl": ["b", "a"], "To": "+1"}


def test_twilio_rejections() -> None:
    good = {"X-Twilio-Signature": TWILIO_SIGNATURE}
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("twilio", urlencode(TWILIO_PARAMS | {"Digits": "9999"}), good,
                 secret=TWILIO_TOKEN, url=TWILIO_URL)
    with pytest.raises(SignatureError, match="Auth Token.*"):
        w.verify("twilio", urlencode(TWILIO_PARAMS), good, secret="54321", url=TWILIO_URL)
    with pytest.raises(SignatureError, match="url must be the URL Twilio requested"):
        w.verify("twilio", urlencode(TWILIO_PARAMS), good, secret=TWILIO_TOKEN,
                 url="https://mycompany.com/myapp.php")
    with pytest.raises(SignatureError, match="X-Twilio-Signature header is missing"):
        w.verify("twilio", urlencode(TWILIO_PARAMS), {}, secret=TWILIO_TOKEN, url=TWILIO_URL)
    with pytest.raises(ConfigError, match="pass url="):
        w.verify("twilio", urlencode(TWILIO_PARAMS), good, secret=TWILIO_TOKEN)
    with pytest.raises(ConfigError, match="pass url="):
        w.sign("twilio", urlencode(TWILIO_PARAMS), secret=TWILIO_TOKEN)


# -- Shopify --------------------------------------------------------------------------------

SHOPIFY_SECRET = "shpss_kat_51c0ffee"
SHOPIFY_BODY = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"199.00"}'
SHOPIFY_HMAC = "oVmKVDYBQj4tsazX9GtI5LMh/80mip8xHaRwYZbRreE="


def test_shopify_known_answer() -> None:
    computed = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), SHOPIFY_BODY,
                                         hashlib.sha256).digest()).decode()
    assert computed == SHOPIFY_HMAC
    assert w.sign("shopify", SHOPIFY_BODY, secret=SHOPIFY_SECRET)[
        "X-Shopify-Hmac-Sha256"] == SHOPIFY_HMAC
    headers = {"X-Shopify-Hmac-Sha256": SHOPIFY_HMAC, "X-Shopify-Topic": "orders/create"}
    event = w.verify("shopify", SHOPIFY_BODY, headers, secret=SHOPIFY_SECRET)
    assert event["id"] == 820982911946154508  # a big int survives


def test_shopify_rejections() -> None:
    good = {"X-Shopify-Hmac-Sha256": SHOPIFY_HMAC}
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("shopify", SHOPIFY_BODY.replace(b"199", b"1"), good, secret=SHOPIFY_SECRET)
    with pytest.raises(SignatureError, match="client secret"):
        w.verify("shopify", SHOPIFY_BODY, good, secret="shpss_other_secret")
    with pytest.raises(SignatureError, match="X-Shopify-Hmac-Sha256 header is missing"):
        w.verify("shopify", SHOPIFY_BODY, {"X-Shopify-Topic": "orders/create"},
                 secret=SHOPIFY_SECRET)


# -- SendGrid -------------------------------------------------------------------------------

# sendgrid-python test/unit/test_eventwebhook.py
SENDGRID_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62g"
    "w+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SENDGRID_OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REnt"
    "lo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
SENDGRID_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLt"
    "EZtM="
)
SENDGRID_TS = "1600112502"
SENDGRID_PAYLOAD = json.dumps([{
    "email": "hello@world.com", "event": "dropped", "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492,
}], sort_keys=True, separators=(",", ":")) + "\r\n"  # the trailing CRLF is signed too
SENDGRID_HEADERS = {"X-Twilio-Email-Event-Webhook-Signature": SENDGRID_SIGNATURE,
                    "X-Twilio-Email-Event-Webhook-Timestamp": SENDGRID_TS}
SENDGRID_NOW = int(SENDGRID_TS) + 5


def test_sendgrid_published_vector() -> None:
    event = w.verify("sendgrid", SENDGRID_PAYLOAD, SENDGRID_HEADERS, secret=SENDGRID_PUBLIC_KEY,
                     now=SENDGRID_NOW)
    assert [e["event"] for e in event["events"]] == ["dropped"]


def test_sendgrid_rejections() -> None:
    with pytest.raises(SignatureError, match="verification key"):
        w.verify("sendgrid", SENDGRID_PAYLOAD, SENDGRID_HEADERS, secret=SENDGRID_OTHER_KEY,
                 now=SENDGRID_NOW)
    with pytest.raises(SignatureError, match="does not match"):
        w.verify("sendgrid", SENDGRID_PAYLOAD.replace("dropped", "delivered"), SENDGRID_HEADERS,
                 secret=SENDGRID_PUBLIC_KEY, now=SENDGRID_NOW)
    with pytest.raises(SignatureError, match="does not match"):  # the timestamp is signed
        w.verify("sendgrid", SENDGRID_PAYLOAD,
                 SENDGRID_HEADERS | {"X-Twilio-Email-Event-Webhook-Timestamp": "1600112503"},
                 secret=SENDGRID_PUBLIC_KEY, now=SENDGRID_NOW)
    with pytest.raises(SignatureError, match="replay window"):
        w.verify("sendgrid", SENDGRID_PAYLOAD, SENDGRID_HEADERS, secret=SENDGRID_PUBLIC_KEY,
                 now=int(SENDGRID_TS) + 301)
    for name in SENDGRID_HEADERS:
        headers = {k: v for k, v in SENDGRID_HEADERS.items() if k != name}
        with pytest.raises(SignatureError, match=f"{name} header is missing"):
            w.verify("sendgrid", SENDGRID_PAYLOAD, headers, secret=SENDGRID_PUBLIC_KEY,
                     now=SENDGRID_NOW)
    with pytest.raises(SignatureError, match="not base64"):
        w.verify("sendgrid", SENDGRID_PAYLOAD,
                 SENDGRID_HEADERS | {"X-Twilio-Email-Event-Webhook-Signature": "%%%"},
                 secret=SENDGRID_PUBLIC_KEY, now=SENDGRID_NOW)


def test_sendgrid_sign_with_private_key_verify_with_public_key() -> None:
    from cryptography.hazmat.primitives import serialization

    private_pem, public_b64 = p256_keys()
    body = '[{"event":"delivered","sg_event_id":"e1","email":"a@example.com"}]'
    headers = w.sign("sendgrid", body, secret=private_pem, timestamp=1_700_000_000)
    assert set(headers) >= set(SENDGRID_HEADERS)
    public_pem = serialization.load_der_public_key(base64.b64decode(public_b64)).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for key in (public_b64, public_pem):
        event = w.verify("sendgrid", body, headers, secret=key, now=1_700_000_000)
        assert event["events"][0]["event"] == "delivered"


def test_sendgrid_unusable_keys_are_config_errors() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(ConfigError, match="verification key"):
        w.verify("sendgrid", SENDGRID_PAYLOAD, SENDGRID_HEADERS, secret="not-a-key!")
    with pytest.raises(ConfigError, match="private key"):
        w.sign("sendgrid", SENDGRID_PAYLOAD, secret=SENDGRID_PUBLIC_KEY)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ConfigError, match="P-256"):
        w.verify("sendgrid", SENDGRID_PAYLOAD, SENDGRID_HEADERS, secret=p384)
