"""When stored OAuth tokens stop working, said ahead: ``auth.expiry()`` and a warning (once per
refresh token) when the refresh token has less than ``warn_before`` left, so someone logs in
again before scheduled runs start failing."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._events import logger
from ._tokens import Token, TokenId

__all__ = ["ExpiryWatch", "TokenExpiry", "TokenExpiryWarning", "when"]


class TokenExpiryWarning(UserWarning):
    """A refresh token expires soon: someone must log in again before scheduled runs fail."""


@dataclass(frozen=True)
class TokenExpiry:
    """When the stored tokens of one OAuth2 connection stop working."""

    token_id: TokenId
    logged_in: bool
    access_expires_at: float | None
    refresh_expires_at: float | None
    has_refresh_token: bool
    scopes: frozenset[str]
    warning: str | None

    @property
    def access_expires_in(self) -> float | None:
        return None if self.access_expires_at is None else self.access_expires_at - time.time()

    @property
    def refresh_expires_in(self) -> float | None:
        return None if self.refresh_expires_at is None else self.refresh_expires_at - time.time()

    def __str__(self) -> str:
        if not self.logged_in:
            return f"{self.token_id}: not logged in"
        parts = [f"{self.token_id}: access token "
                 + when(self.access_expires_at, "has no stated expiry")]
        if self.has_refresh_token:
            parts.append("refresh token " + when(self.refresh_expires_at, "has no known expiry"))
        return "; ".join(parts)


def when(at: float | None, unknown: str) -> str:
    """``expires in 2.0 hours (2030-01-01 12:00 UTC)``, ``expired at ...``, or ``unknown``."""
    if at is None:
        return unknown
    left = at - time.time()
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"expired at {stamp}" if left <= 0 else f"expires in {_span(left)} ({stamp})"


def _span(seconds: float) -> str:
    seconds = float(round(max(0.0, seconds)))
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} seconds"


class ExpiryWatch:
    """Tells when refresh tokens run out: :meth:`expiry` on demand, :meth:`warn` (logged and a
    TokenExpiryWarning, once per refresh token) as tokens are adopted."""

    def __init__(self, warn_before: float) -> None:
        self.warn_before = warn_before
        self._warned: set[tuple[TokenId, float]] = set()

    def expiry(self, token_id: TokenId, token: Token | None) -> TokenExpiry:
        """When ``token`` (stored under ``token_id``; None: not logged in) stops working."""
        if token is None:
            return TokenExpiry(token_id, False, None, None, False, frozenset(), None)
        refresh_at = token.get("refresh_token_expires_at")
        return TokenExpiry(
            token_id, True, token.get("expires_at"),
            float(refresh_at) if refresh_at is not None else None,
            bool(token.get("refresh_token")), token.scopes, self.message(token_id, token),
        )

    def message(self, token_id: TokenId, token: Mapping[str, Any]) -> str | None:
        """What to do before the refresh token of ``token`` expires, if it is due soon."""
        at = token.get("refresh_token_expires_at")
        if at is None or not token.get("refresh_token"):
            return None
        if float(at) - time.time() > self.warn_before:
            return None
        service = token_id.service
        return (f"the {service} refresh token ({token_id.profile}/{token_id.account}) "
                f"{when(float(at), '')}; after that, scheduled runs fail until someone logs "
                f"in again: run ik.login({service!r}) before then")

    def warn(self, token_id: TokenId, token: Mapping[str, Any]) -> None:
        """Log and warn (once per refresh token) when it expires within ``warn_before``."""
        message = self.message(token_id, token)
        if message is None:
            return
        mark = (token_id, float(token["refresh_token_expires_at"]))
        if mark in self._warned:
            return
        self._warned.add(mark)
        logger.warning("integkit: %s", message)
        warnings.warn(TokenExpiryWarning(message), stacklevel=5)
