"""One class per service's webhook signing scheme.

The same definition signs (sandbox emulators, users' own tests) and verifies (a user's endpoint),
so the two cannot drift apart. Each follows the service's documentation and official library:

    stripe    Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]   HMAC-SHA256(secret, "{t}.{body}")
    github    X-Hub-Signature-256: sha256=<hex>              HMAC-SHA256(secret, body)
              (a JSON body, or a form body ``payload=<json>``)
    slack     X-Slack-Signature: v0=<hex>                    HMAC-SHA256(secret, "v0:{ts}:{body}")
    twilio    X-Twilio-Signature: <base64>                   HMAC-SHA1(token, url + sorted params),
              or HMAC-SHA256 when X-Twilio-Webhooks-Signature-Settings says algorithm=HMAC_SHA256
    shopify   X-Shopify-Hmac-Sha256: <base64>                HMAC-SHA256(secret, body)
    sendgrid  X-Twilio-Email-Event-Webhook-Signature: <b64>  ECDSA P-256 SHA-256 over ts + body

Every comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias
from urllib.parse import parse_qs, urlsplit

from .._errors import ConfigError, SignatureError

__all__ = [
    "SCHEMES",
    "Delivery",
    "Event",
    "GitHub",
    "Params",
    "Scheme",
    "Secret",
    "SendGrid",
    "Shopify",
    "SignatureMismatch",
    "Slack",
    "Stripe",
    "Twilio",
]

Secret: TypeAlias = str | bytes
Params: TypeAlias = Mapping[str, str | Sequence[str]]
Event: TypeAlias = dict[str, Any] | bytes
"""A verified delivery's content: its event dict, or (GitHub, when the signed body is not a
JSON object) the raw body bytes."""

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook request as received: raw body bytes, lower-cased headers, the URL it hit."""

    body: bytes
    headers: Mapping[str, str]
    url: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class SignatureMismatch(SignatureError):
    """The signature does not match for this secret (another secret, during rotation, may)."""


def _key(secret: Secret) -> bytes:
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def _mac(secret: Secret, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(_key(secret), message, digest).digest()


def _same(expected: str, given: str) -> bool:
    # Bytes, so that a non-ASCII header cannot make compare_digest raise TypeError.
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


class Scheme:
    """A service's webhook signature: ``sign`` makes the headers, ``verify`` checks them.

    Subclasses set the class attributes and implement ``sign``/``verify``; ``parse`` turns the
    verified body into the event dict (a JSON object by default; GitHub may give the raw body).
    """

    service: ClassVar[str]
    title: ClassVar[str]
    signature_header: ClassVar[str]
    secret_hint: ClassVar[str]
    missing_hint: ClassVar[str] = ""

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None) -> dict[str, str]:
        """The headers the service would send with ``body``."""
        raise NotImplementedError

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        """Return if ``delivery`` is signed with ``secret``; raise SignatureError otherwise."""
        raise NotImplementedError

    def parse(self, delivery: Delivery) -> Event:
        """The verified body as the event dict."""
        return self._json_object(delivery.body)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} webhook scheme: {self.signature_header}>"

    # -- what every scheme says when something is wrong ------------------------------------

    def _require(self, delivery: Delivery, name: str) -> str:
        value = delivery.header(name)
        if not value:
            hint = self.missing_hint or (
                f"If they were, this request did not come from {self.title}, or a proxy dropped "
                "the header."
            )
            raise SignatureError(
                f"{self.title} webhook: the {name} header is missing. Pass the request's headers "
                f"as received (all of them). {hint}"
            )
        return value

    def _malformed(self, name: str, detail: str) -> SignatureError:
        return SignatureError(
            f"{self.title} webhook: the {name} header is malformed ({detail}). Pass the header "
            "exactly as received."
        )

    def _mismatch(self, detail: str = "") -> SignatureMismatch:
        extra = f" {detail}" if detail else ""
        return SignatureMismatch(
            f"{self.title} webhook: the signature in {self.signature_header} does not match this "
            f"request.{extra} The secret is likely wrong: pass {self.secret_hint}. Otherwise the "
            "body changed before verification: pass the raw request bytes, not parsed and "
            "re-encoded JSON."
        )

    def _timestamp(self, name: str, value: str) -> int:
        try:
            return int(value.strip())
        except ValueError:
            raise self._malformed(name, "the timestamp is not a whole number of seconds") from None

    def _check_window(self, timestamp: int, *, tolerance: float | None, now: float,
                      future_too: bool = True) -> None:
        if tolerance is None:
            return
        age = now - timestamp
        if age > tolerance or (future_too and -age > tolerance):
            when = f"{age:.0f}s old" if age > 0 else f"{-age:.0f}s in the future"
            raise SignatureError(
                f"{self.title} webhook: the signed timestamp {timestamp} is {when}, outside the "
                f"{tolerance:g}s replay window, so the delivery is refused as a possible replay. "
                "If deliveries are fresh, this machine's clock is off (sync it with NTP); to "
                "accept older deliveries on purpose, pass a larger tolerance= (seconds)."
            )

    def _json_object(self, body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body)
        except ValueError:
            raise SignatureError(
                f"{self.title} webhook: the signature is valid but the body is not JSON. Pass the "
                "body bytes only (not the whole HTTP message)."
            ) from None
        if not isinstance(value, dict):
            raise SignatureError(
                f"{self.title} webhook: the signature is valid but the body is a JSON "
                f"{type(value).__name__}, not an object: this is not a {self.title} event."
            )
        return value


class Stripe(Scheme):
    """``Stripe-Signature: t=<unix>,v1=<hex>,...``; any ``v1`` may match (secret rotation)."""

    service = "stripe"
    title = "Stripe"
    signature_header = "Stripe-Signature"
    secret_hint = (
        "the endpoint's signing secret (whsec_..., from Dashboard > Developers > Webhooks, or "
        "the one `stripe listen` prints), not the API key"
    )

    def _signature(self, secret: Secret, timestamp: int, body: bytes) -> str:
        return _mac(secret, f"{timestamp}.".encode() + body).hex()

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None) -> dict[str, str]:
        signature = self._signature(secret, timestamp, body)
        return {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": _JSON}

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        header = self._require(delivery, self.signature_header)
        stamps: list[str] = []
        signatures: list[str] = []
        for item in header.split(","):
            name, _, value = item.strip().partition("=")
            if name == "t":
                stamps.append(value)
            elif name == "v1":
                signatures.append(value)
        if not stamps:
            raise self._malformed(self.signature_header, "no t= timestamp")
        if not signatures:
            raise self._malformed(self.signature_header, "no v1= signature")
        timestamp = self._timestamp(self.signature_header, stamps[0])
        expected = self._signature(secret, timestamp, delivery.body)
        if not any([_same(expected, s) for s in signatures]):  # every one compared: no early exit
            looks_wrong = isinstance(secret, str) and not secret.startswith("whsec_")
            raise self._mismatch("(The secret given does not start with whsec_.)" if looks_wrong
                                 else "")
        # As stripe-python: only a too-old timestamp is refused.
        self._check_window(timestamp, tolerance=tolerance, now=now, future_too=False)


class GitHub(Scheme):
    """``X-Hub-Signature-256: sha256=<hex>`` over the raw body."""

    service = "github"
    title = "GitHub"
    signature_header = "X-Hub-Signature-256"
    secret_hint = "the webhook's secret (the Secret field in the webhook's settings)"
    missing_hint = (
        "GitHub signs a delivery only when the webhook has a secret: set one in the webhook's "
        "settings (Secret) and pass the same value as secret="
    )

    def _signature(self, secret: Secret, body: bytes) -> str:
        return "sha256=" + _mac(secret, body).hex()

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None) -> dict[str, str]:
        form = body.startswith(b"payload=")  # a webhook whose content type is form-encoded
        return {"X-Hub-Signature-256": self._signature(secret, body),
                "Content-Type": _FORM if form else _JSON}

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        given = self._require(delivery, self.signature_header)
        if not given.startswith("sha256="):
            raise self._malformed(self.signature_header, "it does not start with sha256=")
        if not _same(self._signature(secret, delivery.body), given):
            raise self._mismatch()

    def parse(self, delivery: Delivery) -> Event:
        """The event: the JSON object, or the JSON in a form body's ``payload`` field (a
        webhook whose content type is ``application/x-www-form-urlencoded``). A signed body
        that is neither is still GitHub's delivery: its raw bytes, as received."""
        content_type = (delivery.header("content-type") or "").lower()
        text: bytes = delivery.body
        if _FORM in content_type or (not content_type and text.startswith(b"payload=")):
            payload = _form(text).get("payload")
            if not payload:
                return delivery.body
            text = payload[0].encode()
        try:
            value = json.loads(text)
        except ValueError:
            return delivery.body
        return value if isinstance(value, dict) else delivery.body


class Slack(Scheme):
    """``X-Slack-Signature: v0=<hex>`` over ``v0:{X-Slack-Request-Timestamp}:{body}``.

    Events API bodies are JSON; slash commands are form fields; interactive payloads are a form
    field ``payload=<json>``. ``parse`` returns each as a dict (the JSON inside ``payload``).
    """

    service = "slack"
    title = "Slack"
    signature_header = "X-Slack-Signature"
    timestamp_header = "X-Slack-Request-Timestamp"
    secret_hint = (
        "the app's Signing Secret (Basic Information > App Credentials), not a token or the "
        "deprecated verification token"
    )

    def _signature(self, secret: Secret, timestamp: str, body: bytes) -> str:
        return "v0=" + _mac(secret, f"v0:{timestamp}:".encode() + body).hex()

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None) -> dict[str, str]:
        return {
            self.signature_header: self._signature(secret, str(timestamp), body),
            self.timestamp_header: str(timestamp),
            "Content-Type": _JSON if _looks_like_json(body) else _FORM,
        }

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        given = self._require(delivery, self.signature_header)
        raw_timestamp = self._require(delivery, self.timestamp_header).strip()
        timestamp = self._timestamp(self.timestamp_header, raw_timestamp)
        if not _same(self._signature(secret, raw_timestamp, delivery.body), given):
            raise self._mismatch()
        self._check_window(timestamp, tolerance=tolerance, now=now)

    def parse(self, delivery: Delivery) -> dict[str, Any]:
        content_type = delivery.header("content-type") or ""
        if "json" in content_type or (not content_type and _looks_like_json(delivery.body)):
            return self._json_object(delivery.body)
        fields = _form(delivery.body)
        if "payload" in fields:  # interactivity: block actions, views, shortcuts
            return self._json_object(fields["payload"][0].encode())
        return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}


class Twilio(Scheme):
    """``X-Twilio-Signature``: base64 HMAC of the full URL followed by every POST parameter
    (sorted by name, name then value). For JSON bodies the URL carries ``bodySHA256`` (the hex
    SHA-256 of the body) and no parameters are appended. As twilio-python, the URL is tried with
    and without its port.

    The HMAC is SHA-1 with the account's Auth Token, unless the delivery carries
    ``X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256`` (a webhook signed
    with a SharedKey): then SHA-256 with that key's secret. The header is read as
    twilio-python's ``get_signature_algorithm`` reads it; an algorithm it does not know fails.
    """

    service = "twilio"
    title = "Twilio"
    signature_header = "X-Twilio-Signature"
    settings_header = "X-Twilio-Webhooks-Signature-Settings"
    secret_hint = ("the Auth Token of the Twilio account that owns the number or service (for "
                   "a delivery signed with a SharedKey, that key's secret)")
    algorithms: ClassVar[dict[str, str]] = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}

    def _signature(self, secret: Secret, url: str, params: Mapping[str, Sequence[str]],
                   digest: str = "sha1") -> str:
        text = url + "".join(
            name + value for name in sorted(params) for value in sorted(set(params[name]))
        )
        return base64.b64encode(_mac(secret, text.encode(), digest)).decode()

    def _digest(self, algorithm: str) -> str:
        digest = self.algorithms.get(algorithm.upper())
        if digest is None:
            raise SignatureError(
                f"Twilio webhook: {self.settings_header} names the signature algorithm "
                f"{algorithm!r}, which integkit does not know (it knows "
                f"{', '.join(self.algorithms)}); upgrade integkit if Twilio added it.")
        return digest

    def algorithm(self, delivery: Delivery) -> str:
        """The algorithm a delivery announces: ``algorithm=`` in the settings header (names
        and values stripped), else HMAC_SHA1, the Auth Token's."""
        for part in (delivery.header(self.settings_header) or "").split(","):
            name, separator, value = part.partition("=")
            if separator and name.strip() == "algorithm" and value.strip():
                return value.strip()
        return "HMAC_SHA1"

    @staticmethod
    def _url(url: str | None) -> str:
        if not url:
            raise ConfigError(
                "twilio signs the full URL it requested: pass url= exactly as configured in the "
                "Twilio console, query string included (behind a proxy or load balancer, the "
                "public https URL, not the one your app sees)"
            )
        return url

    @staticmethod
    def _body_hash(url: str) -> str | None:
        values = parse_qs(urlsplit(url).query).get("bodySHA256")
        return values[0] if values else None

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None, algorithm: str | None = None) -> dict[str, str]:
        url = self._url(url)
        if algorithm is not None and algorithm.upper() not in self.algorithms:
            raise ConfigError(f"twilio: algorithm must be one of {', '.join(self.algorithms)}, "
                              f"not {algorithm!r}")
        body_hash = self._body_hash(url)
        if body_hash is not None:
            if body_hash != hashlib.sha256(body).hexdigest():
                raise ConfigError("twilio: the url's bodySHA256 is not the SHA-256 of this body")
            fields: Mapping[str, Sequence[str]] = {}
        elif params is not None:
            fields = {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}
        elif _looks_like_json(body):
            raise ConfigError(
                "twilio signs a JSON body through the URL: append "
                f"bodySHA256={hashlib.sha256(body).hexdigest()} to the url's query string"
            )
        else:
            fields = _form(body)
        content_type = _JSON if body_hash is not None else _FORM
        digest = self._digest(algorithm or "HMAC_SHA1")
        headers = {self.signature_header: self._signature(secret, url, fields, digest),
                   "Content-Type": content_type}
        if algorithm is not None:
            headers[self.settings_header] = f"algorithm={algorithm.upper()}"
        return headers

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        url = self._url(delivery.url)
        given = self._require(delivery, self.signature_header)
        digest = self._digest(self.algorithm(delivery))
        body_hash = self._body_hash(url)
        fields: Mapping[str, Sequence[str]] = {}
        if body_hash is None:
            fields = _form(delivery.body)
        elif not _same(hashlib.sha256(delivery.body).hexdigest(), body_hash):
            raise SignatureMismatch(
                "Twilio webhook: the body's SHA-256 is not the bodySHA256 in the URL: the body "
                "changed on the way. Pass the raw request bytes."
            )
        matches = [_same(self._signature(secret, u, fields, digest), given)
                   for u in _url_variants(url)]
        if not any(matches):
            raise self._mismatch(
                "The url must be the URL Twilio requested, exactly as configured in the console "
                "(scheme, host, path, query string; behind a proxy, the public URL).",
            )

    def parse(self, delivery: Delivery) -> dict[str, Any]:
        if delivery.url and self._body_hash(delivery.url) is not None:
            return self._json_object(delivery.body)
        fields = _form(delivery.body)
        return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}


def _url_variants(url: str) -> set[str]:
    """``url`` as given, with its default port and without a port (Twilio is not consistent)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return {url}
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0] if port is not None else hostport
    default = 443 if parts.scheme == "https" else 80
    with_port = parts._replace(netloc=f"{userinfo}{at}{host}:{port or default}").geturl()
    without_port = parts._replace(netloc=f"{userinfo}{at}{host}").geturl()
    return {url, with_port, without_port}


class Shopify(Scheme):
    """``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body."""

    service = "shopify"
    title = "Shopify"
    signature_header = "X-Shopify-Hmac-Sha256"
    secret_hint = (
        "the app's client secret (API secret key) for app webhooks, or for webhooks made in the "
        "store admin the key shown under Settings > Notifications > Webhooks"
    )

    def _signature(self, secret: Secret, body: bytes) -> str:
        return base64.b64encode(_mac(secret, body)).decode()

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None) -> dict[str, str]:
        return {self.signature_header: self._signature(secret, body), "Content-Type": _JSON}

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        given = self._require(delivery, self.signature_header)
        if not _same(self._signature(secret, delivery.body), given):
            raise self._mismatch()


class SendGrid(Scheme):
    """Signed Event Webhook: ECDSA (P-256, SHA-256) over ``timestamp + body``, base64 DER.

    ``secret`` is the verification (public) key to verify, as SendGrid shows it (base64 DER) or
    PEM; the private key to sign. ``parse`` returns ``{"events": [...]}``: the body is an array.
    """

    service = "sendgrid"
    title = "SendGrid"
    signature_header = "X-Twilio-Email-Event-Webhook-Signature"
    timestamp_header = "X-Twilio-Email-Event-Webhook-Timestamp"
    secret_hint = (
        "this webhook's verification key (Settings > Mail Settings > Event Webhook > Signature "
        "verification), the one for this webhook if there are several"
    )

    @staticmethod
    def _signed(timestamp: str, body: bytes) -> bytes:
        return timestamp.encode() + body

    def sign(self, body: bytes, secret: Secret, *, timestamp: int, url: str | None = None,
             params: Params | None = None) -> dict[str, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        key = _ec_key(secret, private=True)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        signature = key.sign(self._signed(str(timestamp), body), ec.ECDSA(hashes.SHA256()))
        return {
            self.signature_header: base64.b64encode(signature).decode(),
            self.timestamp_header: str(timestamp),
            "Content-Type": _JSON,
        }

    def verify(self, delivery: Delivery, secret: Secret, *, tolerance: float | None,
               now: float) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        key = _ec_key(secret, private=False)
        assert isinstance(key, ec.EllipticCurvePublicKey)
        given = self._require(delivery, self.signature_header)
        raw_timestamp = self._require(delivery, self.timestamp_header).strip()
        timestamp = self._timestamp(self.timestamp_header, raw_timestamp)
        try:
            signature = base64.b64decode(given.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise self._malformed(self.signature_header, "not base64") from None
        try:
            key.verify(signature, self._signed(raw_timestamp, delivery.body),
                       ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise self._mismatch() from None
        self._check_window(timestamp, tolerance=tolerance, now=now)

    def parse(self, delivery: Delivery) -> dict[str, Any]:
        try:
            events = json.loads(delivery.body)
        except ValueError:
            events = None
        if not isinstance(events, list):
            raise SignatureError(
                "SendGrid webhook: the signature is valid but the body is not a JSON array of "
                "events. Pass the body bytes only."
            )
        return {"events": events}


def _ec_key(secret: Secret, *, private: bool) -> Any:
    """A P-256 key from PEM, or from base64 DER as SendGrid's settings page shows it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _key(secret).strip()
    wanted = "private key" if private else "verification (public) key"
    try:
        if data.startswith(b"-----BEGIN"):
            key: Any = (serialization.load_pem_private_key(data, password=None) if private
                        else serialization.load_pem_public_key(data))
        else:
            der = base64.b64decode(data, validate=True)
            key = (serialization.load_der_private_key(der, password=None) if private
                   else serialization.load_der_public_key(der))
    except (ValueError, TypeError, binascii.Error):
        role = ("sign() needs the private key that signs (PEM, or base64 DER PKCS#8)" if private
                else "verify() needs the webhook's verification key, base64 as SendGrid shows "
                "it, or PEM")
        raise ConfigError(f"sendgrid: the secret is not a readable {wanted}: {role}") from None
    curve = getattr(key, "curve", None)
    if not isinstance(curve, ec.SECP256R1):
        raise ConfigError(f"sendgrid: the secret must be an ECDSA P-256 {wanted}")
    return key


SCHEMES: dict[str, Scheme] = {
    scheme.service: scheme
    for scheme in (Stripe(), GitHub(), Slack(), Twilio(), Shopify(), SendGrid())
}
"""The webhook scheme of each service, by service name."""
