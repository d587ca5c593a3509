"""One OAuth token set as the workers using it see it: cached in this process while fresh,
re-read from the token store (another worker may have refreshed it), and renewed by one
holder of the store's cross-process lock at a time, who re-reads the store first.

Freshness has a leeway: a token counts as expired ``skew`` seconds early (at most a quarter
of its lifetime, so very short-lived tokens still get used).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import IntegkitError
from .._events import logger
from ._identity import digest
from ._tokens import Token, TokenId, TokenStore, default_store

__all__ = ["TokenSlot"]


class TokenSlot:
    """The token set stored under ``token_id`` in ``store`` (None: the configured state
    backend's), as issued by ``issuer`` (a set another endpoint issued is never used).

    ``adopted(token)`` runs for each token set taken into use; ``stats`` counts ``reused``
    (a set another worker renewed while this one waited for the lock).
    """

    def __init__(self, store: TokenStore | None, token_id: TokenId, *, issuer: str,
                 skew: float, adopted: Callable[[Token], None], stats: Counter[str]) -> None:
        self._store = store
        self.token_id = token_id
        self.issuer = issuer
        self.skew = skew
        self.cached: Token | None = None
        self._adopted = adopted
        self._stats = stats

    @property
    def identity(self) -> str:
        """``oauth2:<digest>``: a one-way name of whose tokens these are. A slot of an
        explicit grant is named by its owner; the profile's own login by the owner of the
        token in use (whoever logged in), read from the store when not cached yet."""
        owner = self.token_id.owner
        if not owner:
            token = self.cached
            if token is None:
                try:
                    token = self.read()
                except IntegkitError:  # unreadable here: the call itself will say why
                    token = None
            owner = "login:" + str(token.get("owner") or "" if token is not None else "")
        return "oauth2:" + digest(self.issuer, *self.token_id[:3], owner)

    @property
    def store(self) -> TokenStore:
        """Where the token set persists."""
        return self._store if self._store is not None else default_store()

    def read(self) -> Token | None:
        """The stored token set, unless another token endpoint issued it (a sandbox org's
        login is never sent to production, nor refreshed there)."""
        token = self.store.get(self.token_id)
        if token is not None and token.get("issuer") not in (None, self.issuer):
            logger.info("integkit: %s: the stored token was issued by another token endpoint; "
                        "not using it", self.token_id)
            return None
        return token

    def fresh(self, token: Mapping[str, Any] | None, rejected: str | None = None) -> bool:
        """Whether ``token`` may be sent now (not the ``rejected`` one, not about to expire)."""
        if token is None or not token.get("access_token"):
            return False
        if rejected is not None and token["access_token"] == rejected:
            return False
        expires_at = token.get("expires_at")
        if expires_at is None:
            return True
        return time.time() < float(expires_at) - self._leeway(token)

    def _leeway(self, token: Mapping[str, Any]) -> float:
        lifetime = token.get("expires_in")
        if isinstance(lifetime, int | float) and lifetime > 0:
            return min(self.skew, float(lifetime) / 4)
        return self.skew

    def usable(self, renew: Callable[[Token | None], Token],
               rejected: str | None = None) -> Token:
        """A token set to send now: the cached one while fresh, else the store's, else
        ``renew(stored)``'s (stored) under the lock, unless the holder before us renewed."""
        cached = self.cached
        if cached is not None and self.fresh(cached, rejected):
            return cached
        stored = self.read()
        if stored is not None and self.fresh(stored, rejected):
            return self.adopt(stored)
        with self.store.lock(self.token_id):
            stored = self.read()  # the holder before us may have renewed it
            if stored is not None and self.fresh(stored, rejected):
                self._stats["reused"] += 1
                logger.debug("integkit: %s: using the token another worker refreshed",
                             self.token_id)
                return self.adopt(stored)
            return self.save(renew(stored))

    def adopt(self, token: Token) -> Token:
        """Use ``token`` from now on (in this object)."""
        self.cached = token
        self._adopted(token)
        return token

    def save(self, token: Token) -> Token:
        """Store ``token`` and use it (the caller holds the lock)."""
        self.store.put(self.token_id, token)
        return self.adopt(token)

    def keep(self, token: Token) -> Token:
        """Store a new login's ``token`` under the lock, and use it."""
        with self.store.lock(self.token_id):
            return self.save(token)

    def forget(self) -> None:
        """Delete the stored token set (logout)."""
        self.store.delete(self.token_id)
        self.cached = None
