"""What every OAuth grant is to ``OAuth2``: a name, whether it is a person's login, what the
app needs for it, whose slot in the token store its tokens take, and how (if at all) it gets
tokens without a person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from .._oauth_client import OAuthClient
from .._oauth_endpoint import TokenEndpoint

__all__ = ["GRANTS", "PERSON_GRANTS", "Grant", "GrantName"]

GrantName = Literal["authorization_code", "device_code", "client_credentials", "refresh_token",
                    "jwt_bearer"]
GRANTS: tuple[GrantName, ...] = ("authorization_code", "device_code", "client_credentials",
                                 "refresh_token", "jwt_bearer")
#: A person's logins: renewed with their refresh token, else that person logs in again.
PERSON_GRANTS: tuple[GrantName, ...] = ("authorization_code", "device_code", "refresh_token")


class Grant:
    """One way to get tokens at the token endpoint (RFC 6749 section 4 and its extensions),
    client side, as authlib's grant classes are server side."""

    name: ClassVar[GrantName]
    #: How the logs name it: ``access token fetched (client credentials)``.
    label: ClassVar[str]

    @property
    def person(self) -> bool:
        """Whether its tokens are a person's login (see ``PERSON_GRANTS``)."""
        return self.name in PERSON_GRANTS

    @classmethod
    def needs(cls, client: OAuthClient) -> list[str]:
        """The settings of ``client`` this grant needs and it lacks (``client_id``...)."""
        return []

    def owner(self, client: OAuthClient) -> str:
        """The store slot's owner for tokens from this grant: empty for a person's login (the
        profile's own slot), else a one-way name of the explicit credential it came from."""
        return ""

    def fetch(self, endpoint: TokenEndpoint, scopes: Sequence[str]) -> dict[str, Any] | None:
        """A new token response without a person, or None when only a login can give one."""
        return None
