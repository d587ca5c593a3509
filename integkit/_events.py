"""Observability: ``ik.on("call", fn)`` hooks, the package logger, and secret redaction.

Every credential integkit is handed is registered here, and :func:`redact` masks it wherever
it would be shown: log lines (integkit's own, and httpx's and httpcore's, which log URLs and
headers), error messages and bodies, reprs, cursors and checkpoints. Besides registered
secrets, :func:`redact` masks what is a credential by its name: the values of query and form
parameters such as ``access_token`` or ``sig``, of JSON fields such as ``"client_secret"``,
and the password of a URL's userinfo.

Long secrets are masked wherever they occur. Short ones (under 8 characters), and ones that
are ordinary words (only letters, or only digits, under 12), cannot be: masking ``"admin"``
everywhere would mask the word in every message. So a short secret is masked where it stands
as a whole token (``pw1`` in ``"bad password pw1"``, not in ``"xpw1y"``), and an ordinary-word
secret only where it is a credential's value (``password=admin``, ``"token": "admin"``,
``Basic admin``, ``user:admin@host``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

__all__ = [
    "CREDENTIAL_FIELDS",
    "CREDENTIAL_PARAMS",
    "EVENTS",
    "GUARDED_LOGGERS",
    "MASK",
    "SECRET_PARAMS",
    "SENSITIVE_HEADERS",
    "SIGNATURE_PARAMS",
    "CallEvent",
    "RedactFilter",
    "emit",
    "guard_loggers",
    "is_credential_header",
    "logger",
    "off",
    "on",
    "redact",
    "redact_headers",
    "redact_log_text",
    "redact_registered",
    "register_secret",
    "secret_masks",
]

MASK = "***"
logger = logging.getLogger("integkit")

# The events integkit emits, and what a hook receives (``ik.on(event, fn)``).
EVENTS = {
    "call": "a CallEvent per HTTP attempt, cache hits too",
    "auth": "an AuthEvent when a credential is refreshed, rotated or refused",
    "quota": "a QuotaEvent when a budget crosses 80, 90 or 100 %",
}
_hooks: dict[str, list[Callable[[Any], None]]] = {}
_secrets: set[str] = set()  # long secrets: masked wherever they occur
_short: set[str] = set()  # short or ordinary-word secrets: masked as tokens / in context
_lock = threading.Lock()
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
# Query parameters that carry a credential (the HTTP cache keys them by digest only).
CREDENTIAL_PARAMS = frozenset({
    "api_key", "apikey", "api-key", "key", "token", "access_token", "refresh_token", "id_token",
    "auth", "auth_token", "client_secret", "secret", "password", "passwd", "private_token",
    "session", "sessionid", "x-amz-credential", "x-amz-security-token", "hapikey",
})
# Query parameters derived from a credential per request (signatures, their timestamps).
SIGNATURE_PARAMS = frozenset({
    "signature", "sig", "x-amz-signature", "x-amz-date", "x-goog-signature",
    "x-goog-credential", "x-goog-date",
})
# Every parameter whose value is masked wherever a URL, a form or a JSON body is shown:
# the above, and the one-time grants of OAuth flows.
SECRET_PARAMS = CREDENTIAL_PARAMS | SIGNATURE_PARAMS | frozenset({
    "code", "code_verifier", "device_code", "user_code", "assertion", "client_assertion",
    "pwd", "passphrase", "private_key", "secret_key", "access_key", "jwt",
})
# Names that are a credential in any JSON body or repr too (``"code"`` or ``"key"`` are not:
# Stripe's error code, a Jira issue key).
CREDENTIAL_FIELDS = frozenset({
    "api_key", "apikey", "api-key", "access_token", "refresh_token", "id_token", "auth_token",
    "client_secret", "secret", "token", "password", "passwd", "private_token", "private_key",
    "secret_key", "passphrase", "code_verifier", "device_code", "client_assertion",
    "x-amz-security-token",
})
# Below this length (or an ordinary word below _WORD_LONG) a secret is masked only as a token.
_LONG = 8
_WORD_LONG = 12
_TOKEN_EDGE = "A-Za-z0-9"
# name=value in a URL or form body (name one of SECRET_PARAMS)
_PARAM = re.compile(
    r"(?P<head>(?:^|(?<=[?&;]))(?P<name>[A-Za-z0-9_.\-]+)=)(?P<value>[^&#\s'\"<>]*)"
)
# "name": "value" in JSON, name='value' in a repr (name one of CREDENTIAL_FIELDS)
_QUOTED = re.compile(
    r"(?P<head>(?P<q>[\"'])(?P<name>[A-Za-z0-9_.\-]+)(?P=q)\s*:\s*|\b(?P<kw>[A-Za-z_]\w*)=)"
    r"(?P<vq>[\"'])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)"
)
# scheme://user:password@host
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/@:]*:)[^\s/@]+(?=@)")
# Names under which any value is a credential, for ordinary-word secrets' context.
_CONTEXT_NAME = (r"[\w.\-]*(?:auth|token|secret|key|passw|pwd|pass|pin|sig|session|cookie"
                 r"|credential)[\w.\-]*")
_short_token: re.Pattern[str] | None = None
_short_context: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One HTTP attempt as seen by ``ik.on("call", fn)``."""

    service: str
    endpoint: str
    method: str
    url: str
    status: int | None
    duration: float
    attempt: int
    cached: bool = False
    error: str | None = None
    request_id: str | None = None
    bytes: int = 0
    timestamp: float = 0.0
    coalesced: bool = False
    #: The state backend whose ledger records the call: the connection's own ``state=`` (a
    #: sandbox's, say), None for the configured one. Kept out of repr and as_dict: a Redis URL
    #: may carry a password.
    state: str | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        del fields["state"]
        return fields


def on(event: str, fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """Call ``fn(event)`` on every ``event`` ("call"); returns ``fn`` so it works as a decorator."""
    with _lock:
        _hooks.setdefault(event, []).append(fn)
    return fn


def off(event: str, fn: Callable[[Any], None] | None = None) -> None:
    """Remove one hook, or every hook of ``event``."""
    with _lock:
        if fn is None:
            _hooks.pop(event, None)
        elif fn in _hooks.get(event, []):
            _hooks[event].remove(fn)


def emit(event: str, payload: Any) -> None:
    """Deliver ``payload`` to the hooks; a failing hook is logged, never breaks the call."""
    for fn in tuple(_hooks.get(event, ())):
        try:
            fn(payload)
        except Exception:  # noqa: BLE001 - a user's hook must not break their extraction
            logger.exception("integkit: %r hook %r failed", event, fn)


def _ordinary(value: str) -> bool:
    """Only letters, or only digits: a word or a number that ordinary text may contain."""
    return value.isalpha() or value.isdigit()


def _is_long(value: str) -> bool:
    return len(value) >= _WORD_LONG or (len(value) >= _LONG and not _ordinary(value))


def _rebuild_short() -> None:
    """Recompile the patterns for short secrets (under ``_lock``)."""
    global _short_token, _short_context
    ordered = sorted(_short, key=len, reverse=True)
    tokens = [re.escape(s) for s in ordered if not _ordinary(s)]
    every = "|".join(re.escape(s) for s in ordered)
    edge_before, edge_after = f"(?<![{_TOKEN_EDGE}])", f"(?![{_TOKEN_EDGE}])"
    _short_token = (re.compile(f"{edge_before}(?:{'|'.join(tokens)}){edge_after}")
                    if tokens else None)
    _short_context = re.compile(
        rf"(?P<head>(?i:\b{_CONTEXT_NAME})[\"']?\s*[=:]\s*[\"']?|(?i:\b(?:basic|bearer|token))"
        rf"\s+|://[^\s/@:]*:){edge_before}(?:{every}){edge_after}"
    )


def register_secret(value: str | bytes | None) -> None:
    """Remember a secret so that :func:`redact` and the log filters mask it.

    A long secret is masked wherever it occurs, also URL-encoded or JSON-escaped; a short one
    or an ordinary word only as a token or as a credential's value (see the module's doc).
    """
    if isinstance(value, bytes):
        value = value.decode(errors="ignore")
    value = (value or "").strip()
    if not value:
        return
    with _lock:
        if _is_long(value):
            for form in {value, quote(value, safe=""), json.dumps(value)[1:-1]}:
                if _is_long(form):
                    _secrets.add(form)
        elif value not in _short:
            _short.add(value)
            _rebuild_short()


def _masked(secret: str) -> str:
    """What a registered secret is shown as: 4 leading characters kept when long enough."""
    return secret[:4] + MASK if len(secret) > _LONG else MASK


def secret_masks() -> list[tuple[str, str]]:
    """``(secret, what it is shown as)`` for every long registered secret, longest first (so
    a secret inside another is masked as part of it): for data masked column by column."""
    return [(s, _masked(s)) for s in sorted(_secrets, key=len, reverse=True)]


def redact_registered(text: str) -> str:
    """``text`` with every long registered secret masked, and nothing else changed: for data
    (records at rest) where a field that merely looks like a credential must stay as it is."""
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, _masked(secret))
    return text


def _param(match: re.Match[str]) -> str:
    if match.group("name").lower() in SECRET_PARAMS and match.group("value"):
        return match.group("head") + MASK
    return match.group(0)


def _quoted(match: re.Match[str]) -> str:
    name = match.group("name") or match.group("kw")
    if name.lower() in CREDENTIAL_FIELDS and match.group("value"):
        quote_char = match.group("vq")
        return f"{match.group('head')}{quote_char}{MASK}{quote_char}"
    return match.group(0)


def redact(text: str) -> str:
    """``text`` as it may be shown, logged or stored: registered secrets masked (a long one
    keeps 4 leading characters), credential parameters and fields masked by their name."""
    text = redact_registered(text)
    if "=" in text or ":" in text:
        text = _PARAM.sub(_param, text)
        text = _QUOTED.sub(_quoted, text)
        text = _USERINFO.sub(lambda m: m.group("head") + MASK, text)
    token, context = _short_token, _short_context
    if context is not None:
        text = context.sub(lambda m: m.group("head") + MASK, text)
    if token is not None:
        text = token.sub(MASK, text)
    return text


def redact_headers(headers: Any) -> dict[str, str]:
    """A printable copy of ``headers`` with credentials masked."""
    return {k: (MASK if is_credential_header(k) else redact(v)) for k, v in dict(headers).items()}


# httpcore logs raw header tuples: (b'set-cookie', b'...')
_HEADER_PAIR = re.compile(
    r"\((?P<head>b?(?P<q>['\"])(?P<name>[A-Za-z0-9\-]+)(?P=q),\s*b?)(?P<vq>['\"])"
    r"(?:\\.|(?!(?P=vq)).)*(?P=vq)\)"
)
_CREDENTIAL_HEADER = re.compile(
    r"auth|token|secret|api[-_]?key|passw|signature|session|cookie|credential", re.IGNORECASE
)


def is_credential_header(name: str) -> bool:
    """Whether a header (request or response) may carry a credential: never stored, keyed or
    shown."""
    lowered = name.lower()
    return lowered in SENSITIVE_HEADERS or bool(_CREDENTIAL_HEADER.search(lowered))


def _header_pair(match: re.Match[str]) -> str:
    if is_credential_header(match.group("name")):
        return f"({match.group('head')}{match.group('vq')}{MASK}{match.group('vq')})"
    return match.group(0)


def redact_log_text(text: str) -> str:
    """:func:`redact`, and credential headers in httpcore's raw header tuples."""
    return redact(_HEADER_PAIR.sub(_header_pair, text))


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message and in its traceback text before any handler
    formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report
            return True
        cleaned = redact_log_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        return True


# Loggers that may carry a credential: integkit's own, and the HTTP stack's (httpx logs each
# request's URL at INFO; httpcore logs response headers, hpack header fields at DEBUG). A
# logger's filter sees only records made by that very logger, so each is named.
GUARDED_LOGGERS = (
    "integkit", "httpx", "httpcore", "httpcore.connection", "httpcore.connection_pool",
    "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks", "hpack",
    "hpack.hpack", "hpack.table",
)
_FILTER = RedactFilter()


def guard_loggers(names: tuple[str, ...] = GUARDED_LOGGERS) -> None:
    """Install the redacting filter on ``names`` (idempotent)."""
    for name in names:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)


guard_loggers()
logger.addHandler(logging.NullHandler())
