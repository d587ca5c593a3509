"""The app at an OAuth 2.0 token endpoint: where it is, how the app authenticates there, and
the HTTP options of the (rare) token calls, as one small immutable value.

    client = ik.auth.OAuthClient("https://login.example.com/oauth/token", client_id="app",
                                 client_secret=os.environ["APP_SECRET"])
    auth = ik.auth.OAuth2(grant=ik.auth.ClientCredentials(), client=client, scopes=["read"])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._errors import ConfigError
from .._events import register_secret
from .._validate import timeout as check_timeout
from ._identity import digest

__all__ = ["DEFAULT_TIMEOUT", "OAuthClient"]

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, init=False)
class OAuthClient:
    """An OAuth 2.0 client (the app) at its authorization server's token endpoint.

    Args:
        token_url: the token endpoint.
        client_id, client_secret: the app's credentials (no secret for public clients).
        auth_method: how the app authenticates at the token endpoint:
            ``client_secret_basic`` (default with a secret), ``client_secret_post`` or ``none``
            (``OAuth2``'s ``token_endpoint_auth_method=``).
        revoke_url: the revocation endpoint (RFC 7009), used by ``OAuth2.revoke``.
        timeout, verify, transport: for the token endpoint's HTTP client (``timeout`` takes
            any duration: ``30``, ``"30s"``).
    """

    token_url: str
    client_id: str | None
    client_secret: str | None = field(repr=False)
    auth_method: str | None
    revoke_url: str | None
    timeout: httpx.Timeout | None
    verify: Any
    transport: httpx.BaseTransport | None = field(repr=False)

    def __init__(self, token_url: str, *, client_id: str | None = None,
                 client_secret: str | None = None, auth_method: str | None = None,
                 revoke_url: str | None = None,
                 timeout: float | str | httpx.Timeout | None = DEFAULT_TIMEOUT,
                 verify: Any = True, transport: httpx.BaseTransport | None = None) -> None:
        if not token_url:
            raise ConfigError("OAuth2 needs token_url= (the service's token endpoint)")
        register_secret(client_secret)
        values = {"token_url": token_url, "client_id": client_id,
                  "client_secret": client_secret, "auth_method": auth_method,
                  "revoke_url": revoke_url, "timeout": check_timeout(timeout),
                  "verify": verify, "transport": transport}
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def slot_name(self, kind: str, *secrets: str) -> str:
        """``<kind>.<digest>``: a one-way name of a grant at this token endpoint and app."""
        return f"{kind}." + digest(self.token_url, self.client_id or "", *secrets)

    def authlib(self) -> Any:
        """A new authlib ``OAuth2Client`` (an httpx.Client) for one exchange: token calls are
        rare, so no connection is kept open between them."""
        options: dict[str, Any] = {"timeout": self.timeout, "verify": self.verify}
        if self.transport is not None:
            options["transport"] = self.transport
        return _authlib_client()(
            client_id=self.client_id, client_secret=self.client_secret,
            token_endpoint_auth_method=self.auth_method, code_challenge_method="S256",
            **options,
        )


def _authlib_client() -> Any:
    """authlib's httpx OAuth2Client, imported on the first token exchange (authlib is heavy
    for ``import integkit``) and without its notice that plain ``httpx`` will be replaced by
    ``httpx2`` one day (it would show on every notebook's first login)."""
    import authlib.deprecate  # noqa: F401 - installs authlib's own "always" filter first

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The httpx module is deprecated",
                                category=DeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client
    return OAuth2Client
