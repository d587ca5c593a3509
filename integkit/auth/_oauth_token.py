"""Token responses made into stored token sets, and the scope notation OAuth speaks.

A token set keeps absolute expiry times, the granted scope, the refresh token (kept, or
rotated), the service's own fields under ``extra``, which endpoint issued it and whose grant
it is (``owner``: a one-way name, the same across refreshes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ServerError
from .._events import register_secret
from ._identity import grant_subject
from ._oauth_client import OAuthClient
from ._tokens import Token

__all__ = ["REQUIRED_SCOPES", "TokenMaker", "parse_challenge", "scope_list"]

#: The httpx request extension naming the scopes one call needs:
#: ``client.get(url, extensions={"required_scopes": ["files.read"]})``.
REQUIRED_SCOPES = "required_scopes"
_KNOWN_FIELDS = {"access_token", "token_type", "expires_in", "expires_at", "refresh_token",
                 "scope", "refresh_token_expires_in", "id_token"}
_CHALLENGE = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def scope_list(scopes: str | Iterable[Any] | None) -> list[str]:
    """Scopes as a list, from a space- or comma-separated string or (nested) iterables."""
    if scopes is None:
        return []
    if isinstance(scopes, str):
        return scopes.replace(",", " ").split()
    return [s for scope in scopes for s in scope_list(scope)]


def parse_challenge(header: str) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: Bearer error="...", scope="..."`` header."""
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _CHALLENGE.finditer(header or "")}


@dataclass(frozen=True)
class TokenMaker:
    """Makes the token sets of one OAuth2 object: its ``client`` (the issuer, and the app the
    owner names are digested with), its ``grant``, the ``scopes`` it asks for, how long refresh
    tokens live when the server does not say, and the ``service`` errors name."""

    client: OAuthClient
    grant: str
    scopes: tuple[str, ...]
    refresh_token_lifetime: float | None
    service: str

    def owner_of(self, raw: Mapping[str, Any], previous: Mapping[str, Any]) -> str:
        """Who a new token set belongs to: kept across refreshes; else the subject the token
        response names; else the refresh (or access) token the grant started from."""
        if previous.get("owner"):
            return str(previous["owner"])
        subject = grant_subject(raw)
        if subject:
            return self.client.slot_name("subject", subject)
        first = previous.get("refresh_token") or raw.get("refresh_token")
        if first:
            return self.client.slot_name("refresh", str(first))
        return self.client.slot_name("access", str(raw["access_token"]))

    def make(self, raw: Mapping[str, Any], previous: Mapping[str, Any] | None = None,
             *, requested: Sequence[str] | None = None) -> Token:
        """The token set from the token response ``raw`` (``previous``: the set it renews)."""
        now = time.time()
        previous = previous or {}
        if not raw.get("access_token"):
            raise ServerError("the token endpoint answered without an access_token",
                              service=self.service, endpoint="token")
        token = Token(access_token=raw["access_token"],
                      token_type=raw.get("token_type") or "Bearer", obtained_at=now,
                      grant=self.grant, issuer=self.client.token_url,
                      owner=self.owner_of(raw, previous))
        if raw.get("expires_in") is not None:
            token["expires_in"] = float(raw["expires_in"])
            token["expires_at"] = now + float(raw["expires_in"])
        elif raw.get("expires_at") is not None:
            token["expires_at"] = float(raw["expires_at"])
        scope = raw.get("scope")
        if scope is None:
            asked = self.scopes if requested is None else tuple(requested)
            scope = previous.get("scope") or (" ".join(asked) if asked else None)
        if scope is not None:
            token["scope"] = " ".join(scope_list(scope))
        self._keep_refresh_token(token, raw, previous, now)
        if raw.get("id_token"):
            token["id_token"] = raw["id_token"]
        extra = {k: v for k, v in raw.items() if k not in _KNOWN_FIELDS}
        token["extra"] = {**(previous.get("extra") or {}), **extra}
        for name in ("access_token", "refresh_token", "id_token"):
            register_secret(token.get(name))
        return token

    def _keep_refresh_token(self, token: Token, raw: Mapping[str, Any],
                            previous: Mapping[str, Any], now: float) -> None:
        """The new refresh token (rotation) or the previous one, and when it expires."""
        old_refresh = previous.get("refresh_token")
        new_refresh = raw.get("refresh_token")
        if not (new_refresh or old_refresh):
            return
        token["refresh_token"] = new_refresh or old_refresh
        rotated = bool(new_refresh) and new_refresh != old_refresh
        if raw.get("refresh_token_expires_in") is not None:
            token["refresh_token_expires_at"] = now + float(raw["refresh_token_expires_in"])
        elif previous.get("refresh_token_expires_at") is not None and not (
                rotated and self.refresh_token_lifetime is None):
            token["refresh_token_expires_at"] = previous["refresh_token_expires_at"]
        elif self.refresh_token_lifetime is not None:
            token["refresh_token_expires_at"] = now + self.refresh_token_lifetime
