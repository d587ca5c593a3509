"""Observability: ``ik.on("call", fn)`` hooks, the package logger, and secret redaction.

Every credential integkit is handed is registered here, and a logging filter replaces it with a
mask wherever it would appear, so a secret cannot leak through a log line by accident.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CallEvent", "on", "off", "emit", "register_secret", "redact", "logger", "MASK"]

MASK = "***"
logger = logging.getLogger("integkit")

_hooks: dict[str, list[Callable[[Any], None]]] = {}
_secrets: set[str] = set()
_lock = threading.Lock()
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def register_secret(value: str | bytes | None) -> None:
    """Remember a secret so that :func:`redact` and the log filter mask it."""
    if isinstance(value, bytes):
        value = value.decode(errors="ignore")
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask that keeps 4 leading chars."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, secret[:4] + MASK)
    return text


def redact_headers(headers: Any) -> dict[str, str]:
    """A printable copy of ``headers`` with credentials masked."""
    return {
        k: (MASK if k.lower() in SENSITIVE_HEADERS else redact(v)) for k, v in dict(headers).items()
    }


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return True


logger.addFilter(_RedactFilter())
logger.addHandler(logging.NullHandler())
