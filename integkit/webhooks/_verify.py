"""``verify()`` and ``sign()``: pick the service's scheme, normalise the request, check or sign."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal, overload

from .._errors import ConfigError
from .._events import register_secret
from .._validate import duration
from ._claims import check_claims
from ._headers import HeadersLike, normalize_headers
from ._schemes import (
    SCHEMES,
    Delivery,
    Event,
    Params,
    Scheme,
    Secret,
    SignatureMismatch,
    Twilio,
)

__all__ = ["known_services", "scheme_for", "sign", "verified", "verify"]

DEFAULT_TOLERANCE = 300


def known_services() -> list[str]:
    """The services whose webhooks integkit verifies, sorted."""
    return sorted(SCHEMES)


def scheme_for(service: str) -> Scheme:
    """The scheme of ``service`` (case-insensitive); ConfigError naming the known ones."""
    scheme = SCHEMES.get(str(service).lower())
    if scheme is None:
        raise ConfigError(
            f"unknown webhook service {service!r}: integkit verifies "
            f"{', '.join(known_services())}"
        )
    return scheme


def _raw(body: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise ConfigError(
        f"webhook body must be the raw request bytes (or str), not {type(body).__name__}: a "
        "parsed and re-encoded body no longer matches its signature (e.g. await request.body())"
    )


def _secrets(secret: Secret | Sequence[Secret]) -> list[Secret]:
    secrets = [secret] if isinstance(secret, str | bytes) else list(secret or ())
    if not secrets or not all(secrets):
        raise ConfigError(
            "webhook secret is empty: pass the signing secret the service shows for this "
            "endpoint (an unset environment variable is the usual cause)"
        )
    for value in secrets:
        register_secret(value)
    return secrets


def verified(
    service: str,
    body: bytes | bytearray | memoryview | str,
    headers: HeadersLike | None,
    *,
    secret: Secret | Sequence[Secret],
    url: str | None = None,
    tolerance: float | str | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> tuple[Scheme, Delivery, Event]:
    """Verify, then return the scheme, the normalised delivery and the parsed event (whose
    unsigned routing header, where the service has one, must fit the signed body)."""
    scheme = scheme_for(service)
    window = None if tolerance is None else duration(tolerance, "tolerance")
    secrets = _secrets(secret)
    delivery = Delivery(_raw(body), normalize_headers(headers), url)
    moment = time.time() if now is None else now
    for number, candidate in enumerate(secrets, 1):
        try:
            scheme.verify(delivery, candidate, tolerance=window, now=moment)
            break
        except SignatureMismatch:
            # Rotation: the next secret may match. Other errors (a missing header, a stale
            # timestamp of a genuine delivery) do not depend on the secret, so they stop here.
            if number == len(secrets):
                raise
    event = scheme.parse(delivery)
    check_claims(scheme.service, event, delivery.headers)
    return scheme, delivery, event


# GitHub may hand back a raw body (bytes); every other service's event is a dict, so typed
# callers of those need not narrow.
@overload
def verify(  # type: ignore[overload-overlap]
    service: Literal["github"],
    body: bytes | bytearray | memoryview | str,
    headers: HeadersLike | None,
    *,
    secret: Secret | Sequence[Secret],
    url: str | None = None,
    tolerance: float | str | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event: ...


@overload
def verify(
    service: str,
    body: bytes | bytearray | memoryview | str,
    headers: HeadersLike | None,
    *,
    secret: Secret | Sequence[Secret],
    url: str | None = None,
    tolerance: float | str | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]: ...


def verify(
    service: str,
    body: bytes | bytearray | memoryview | str,
    headers: HeadersLike | None,
    *,
    secret: Secret | Sequence[Secret],
    url: str | None = None,
    tolerance: float | str | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a webhook's signature and return its parsed event.

    Args:
        service: ``"stripe"``, ``"github"``, ``"slack"``, ``"twilio"``, ``"shopify"`` or
            ``"sendgrid"``.
        body: the raw request body, exactly as received (bytes, or str).
        headers: the request headers, any mapping (case does not matter) or raw ASGI pairs.
        secret: the endpoint's signing secret (for SendGrid, the verification key), or a list
            of them while a secret is being rotated: any may match.
        url: the full URL the service requested; required for Twilio.
        tolerance: the replay window for schemes with a signed timestamp (Stripe, Slack,
            SendGrid): any duration (``300``, ``"5m"``); None for no window.
        now: the current Unix time, for tests (default: the clock).

    Returns:
        The event: the JSON object; Twilio's and Slack's form fields as a dict (Slack's
        interactive ``payload`` as its JSON; GitHub's form deliveries, ``payload=<json>``,
        likewise); for SendGrid ``{"events": [...]}``. A GitHub delivery whose signed body is
        no JSON object is valid too: its raw body bytes come back.

    Raises:
        SignatureError: a header is missing or malformed, the signature does not match, the
            timestamp is outside the replay window, or a routing header the signature does
            not cover (GitHub's event, Shopify's topic) contradicts the signed body; the
            message says which and what to do.
        ConfigError: an unknown service, an empty secret, or no ``url`` for Twilio.

    >>> import integkit.webhooks as w
    >>> headers = w.sign("github", b'{"zen": "hi"}', secret="s3cret-value")
    >>> w.verify("github", b'{"zen": "hi"}', headers, secret="s3cret-value")
    {'zen': 'hi'}
    """
    return verified(service, body, headers, secret=secret, url=url, tolerance=tolerance,
                    now=now)[2]


def sign(
    service: str,
    body: bytes | bytearray | memoryview | str,
    *,
    secret: Secret,
    timestamp: int | None = None,
    url: str | None = None,
    params: Params | None = None,
    algorithm: str | None = None,
) -> dict[str, str]:
    """The headers ``service`` would send with ``body``: for emulators and your own tests.

    Args:
        service: as for :func:`verify`.
        body: the body that will be sent.
        secret: the signing secret; for SendGrid the private key (PEM or base64 DER).
        timestamp: Unix seconds to sign (Stripe, Slack, SendGrid); default now.
        url: the URL the webhook is sent to; required for Twilio. A JSON body for Twilio is
            signed through the URL: it must carry ``bodySHA256=<hex sha256 of body>``.
        params: Twilio only: the POST parameters, when they should not be read from ``body``.
        algorithm: Twilio only: ``"HMAC_SHA256"`` signs as a webhook with a SharedKey does
            (``secret`` is the key's secret), announced in
            ``X-Twilio-Webhooks-Signature-Settings``; default: HMAC-SHA1, no such header.

    >>> sign("shopify", b"{}", secret="shpss_example")["X-Shopify-Hmac-Sha256"]
    'nZEXWDCJdwxa3I3YXJ5krTuV7fUaHVrJWsbE4+vh8VM='
    """
    scheme = scheme_for(service)
    for name, given in (("params", params), ("algorithm", algorithm)):
        if given is not None and scheme.service != "twilio":
            raise ConfigError(f"{name}= only applies to twilio, not {scheme.service}")
    if not isinstance(secret, str | bytes):
        raise ConfigError("sign() takes one secret (str or bytes), not a list")
    (key,) = _secrets(secret)
    moment = int(time.time()) if timestamp is None else int(timestamp)
    if isinstance(scheme, Twilio):
        return scheme.sign(_raw(body), key, timestamp=moment, url=url, params=params,
                           algorithm=algorithm)
    return scheme.sign(_raw(body), key, timestamp=moment, url=url, params=params)
