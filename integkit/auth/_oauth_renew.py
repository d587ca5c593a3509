"""Where an OAuth2 object's new token sets come from: the stored refresh token (a rotated one
kept), else the grant itself (client credentials, a new JWT assertion), else the refresh token
the run was given; else a person must log in. A person's new login is stored here too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from .._errors import AuthenticationError
from .._events import logger
from ._grants import Grant, refresh
from ._oauth_endpoint import TokenEndpoint
from ._oauth_token import TokenMaker
from ._token_slot import TokenSlot
from ._tokens import Token

__all__ = ["Renewal"]


class Renewal:
    """Renews the token set of ``slot`` by ``grant`` at ``endpoint``; ``seed`` is a refresh
    token given to this run (from ``seed_source``: ``refresh_token=`` or an env var).
    ``stats`` counts ``fetched`` and ``refreshed``."""

    def __init__(self, grant: Grant, endpoint: TokenEndpoint, maker: TokenMaker,
                 slot: TokenSlot, *, seed: str | None, seed_source: str,
                 stats: Counter[str]) -> None:
        self.grant = grant
        self.endpoint = endpoint
        self.maker = maker
        self.slot = slot
        self.seed = seed
        self.seed_source = seed_source
        self.stats = stats

    def renew(self, stored: Token | None) -> Token:
        """A new token set by the best means at hand (the caller holds the slot's lock)."""
        if stored is not None and stored.get("refresh_token"):
            try:
                return self.refresh(stored)
            except AuthenticationError:
                if self.grant.person:
                    raise
        raw = self.grant.fetch(self.endpoint, self.maker.scopes)
        if raw is not None:
            self.stats["fetched"] += 1
            logger.info("integkit: %s: access token fetched (%s)", self.slot.token_id,
                        self.grant.label)
            return self.maker.make(raw)
        seed = self.seed
        if seed and (stored is None or seed != stored.get("refresh_token")):
            return self.refresh(Token(refresh_token=seed), seeded=True)
        raise self.endpoint.advice.login_needed(self.slot.token_id, stored)

    def refresh(self, stored: Token, *, seeded: bool = False) -> Token:
        """The token set refreshed from ``stored``'s refresh token (``seeded``: the one this
        run was given)."""
        token = self.maker.make(refresh(self.endpoint, stored), stored)
        self.stats["refreshed"] += 1
        rotated = (" (new refresh token)" if token.get("refresh_token") != stored["refresh_token"]
                   else "")
        logger.info("integkit: %s: access token refreshed%s%s", self.slot.token_id, rotated,
                    f" from {self.seed_source}" if seeded else "")
        return token

    def logged_in(self, raw: Mapping[str, Any], how: str) -> Token:
        """Store a person's new login (the token response ``raw``) in the profile's own slot:
        from now on this object uses that login, not a refresh token it was given."""
        if self.slot.token_id.owner and self.grant.person:
            self.slot.token_id = self.slot.token_id._replace(owner="")
            self.seed = None
        token = self.slot.keep(self.maker.make(raw))
        self.stats["fetched"] += 1
        logger.info("integkit: %s: logged in (%s)", self.slot.token_id, how)
        return token
