"""Exchanges with the token endpoint, spoken through authlib: each opens a client for the app,
and every failure (a refusal, an HTTP error, no answer, an answer that is no token) becomes
an integkit error saying what to do. The grants build their requests on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .._errors import ApiError, AuthenticationError, NetworkError, ServerError
from ._oauth_client import OAuthClient
from ._oauth_errors import OAuthAdvice

__all__ = ["TokenEndpoint", "oauth_error"]


def oauth_error() -> type[Exception]:
    """authlib's OAuthError (what a refusal by the token endpoint raises), imported with the
    first exchange: authlib is heavy for ``import integkit``."""
    from authlib.integrations.base_client import OAuthError

    refusal: type[Exception] = OAuthError
    return refusal


class TokenEndpoint:
    """The token endpoint of ``client``, with ``advice`` for the errors it may answer."""

    def __init__(self, client: OAuthClient, advice: OAuthAdvice) -> None:
        self.client = client
        self.advice = advice

    @property
    def url(self) -> str:
        return self.client.token_url

    def call(self, what: str, fn: Callable[[Any], Any], *, raw_errors: bool = False,
             token: Mapping[str, Any] | None = None) -> Any:
        """Run ``fn(authlib_client)``, one exchange about ``what``; failures become integkit
        errors (``raw_errors`` leaves authlib's OAuthError to the caller, e.g. device
        polling; ``token`` is the token set a refresh started from, for its hint)."""
        refusal = oauth_error()
        service = self.advice.service
        try:
            with self.client.authlib() as client:
                return fn(client)
        except refusal as exc:
            if raw_errors:
                raise
            error, description = getattr(exc, "error", None), getattr(exc, "description", None)
            raise self.advice.refused(what, error, description, token) from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            cls: type[ApiError] = ServerError if status >= 500 else AuthenticationError
            raise cls(f"the token endpoint answered {status} to {what}", service=service,
                      endpoint="token", status=status, body=exc.response.text) from None
        except httpx.TransportError as exc:
            raise NetworkError(f"the token endpoint {self.url} could not be reached for "
                               f"{what} ({type(exc).__name__})", service=service,
                               endpoint="token") from None
        except ValueError as exc:
            raise ServerError(f"the token endpoint's answer to {what} is not a token: {exc}",
                              service=service, endpoint="token") from None

    def revoke(self, stored: Mapping[str, Any]) -> None:
        """Revoke ``stored``'s refresh token (else its access token) at the client's
        ``revoke_url`` (RFC 7009); nothing to do without one."""
        revoke_url = self.client.revoke_url
        if not revoke_url:
            return
        secret = stored.get("refresh_token") or stored.get("access_token")
        hint = "refresh_token" if stored.get("refresh_token") else "access_token"

        def request(client: Any) -> Any:
            response = client.revoke_token(revoke_url, token=secret, token_type_hint=hint)
            response.raise_for_status()
            return response

        self.call("the revocation", request)

    def fetch(self, what: str, **params: Any) -> dict[str, Any]:
        """The token response to a ``grant_type=...`` request with ``params``."""
        return dict(self.call(what, lambda c: c.fetch_token(self.url, **params)))
