"""The client credentials grant (RFC 6749 section 4.4): the app's own tokens, fetched with its
client id and secret whenever the last one runs out; no person involved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .._oauth_client import OAuthClient
from .._oauth_endpoint import TokenEndpoint
from ._base import Grant, GrantName

__all__ = ["ClientCredentials"]


@dataclass(frozen=True)
class ClientCredentials(Grant):
    """Tokens for the app itself (its ``OAuthClient`` needs a client id and secret).

    >>> auth = ik.auth.OAuth2(grant=ik.auth.ClientCredentials(), client=client)  # doctest: +SKIP
    """

    name: ClassVar[GrantName] = "client_credentials"
    label: ClassVar[str] = "client credentials"

    @classmethod
    def needs(cls, client: OAuthClient) -> list[str]:
        return [name for name in ("client_id", "client_secret") if not getattr(client, name)]

    def owner(self, client: OAuthClient) -> str:
        return client.slot_name("client", client.client_secret or "")

    def fetch(self, endpoint: TokenEndpoint, scopes: Sequence[str]) -> dict[str, Any] | None:
        scope = " ".join(scopes) or None
        return endpoint.fetch("the client credentials", grant_type="client_credentials",
                              **({"scope": scope} if scope else {}))
