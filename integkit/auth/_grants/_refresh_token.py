"""The refresh token grant (RFC 6749 section 6), with rotation: every grant's tokens are
renewed with it while they carry a refresh token, and it is a grant of its own when a run is
given a refresh token (``refresh_token=``, or the ``<SERVICE>_REFRESH_TOKEN`` env var)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..._events import register_secret
from .._oauth_endpoint import TokenEndpoint
from ._base import Grant, GrantName

__all__ = ["RefreshToken", "refresh"]


@dataclass(frozen=True)
class RefreshToken(Grant):
    """Tokens renewed from ``refresh_token`` (default: the env var ``env``, itself by default
    ``<SERVICE>_REFRESH_TOKEN``). Its tokens have their own store slot, named by a one-way
    digest of it: a run given its own refresh token never uses a token someone else stored.

    >>> grant = ik.auth.RefreshToken(os.environ["CRM_REFRESH_TOKEN"])   # doctest: +SKIP
    """

    name: ClassVar[GrantName] = "refresh_token"
    label: ClassVar[str] = "refresh token"

    refresh_token: str | None = field(default=None, repr=False)
    env: str | None = None

    def __post_init__(self) -> None:
        register_secret(self.refresh_token)

    def seed(self, default_env: str) -> tuple[str | None, str]:
        """The refresh token to start from (None when there is none) and where it came from
        (``refresh_token=``, or the env var's name)."""
        env = self.env or default_env
        found = self.refresh_token or os.environ.get(env) or None
        register_secret(found)
        return found, "refresh_token=" if self.refresh_token else env


def refresh(endpoint: TokenEndpoint, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The token response to refreshing ``stored`` (a token set with a refresh token)."""
    refresh_token = stored["refresh_token"]
    register_secret(refresh_token)
    return dict(endpoint.call("refresh", lambda c: c.refresh_token(
        endpoint.url, refresh_token=refresh_token), token=stored))
