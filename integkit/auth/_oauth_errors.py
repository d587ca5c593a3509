"""OAuth failures as integkit errors that say what to do: a refusal by the token endpoint, a
token without the scope a call needs, no usable login (a headless run says so at once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ApiError, AuthenticationError, PermissionDeniedError, ServerError
from ._headless import headless_reason
from ._oauth_expiry import when
from ._tokens import Token, TokenId

__all__ = ["OAuthAdvice"]

_LOGINS = {"authorization_code": "auth.login_loopback() (or auth.authorization_url() and "
                                 "auth.finish(url))",
           "device_code": "auth.start_device() and auth.poll_device()"}


@dataclass(frozen=True)
class OAuthAdvice:
    """The fixes to suggest for one OAuth2 object: its ``service``, its ``grant`` (``person``:
    a person's login, renewed by a refresh token or by logging in again), the ``scopes`` it
    asks for, and the env var (``refresh_env``) a headless run may take a refresh token from."""

    service: str
    grant: str
    person: bool
    scopes: tuple[str, ...]
    refresh_env: str

    def refused(self, what: str, error: str | None, description: str | None,
                token: Mapping[str, Any] | None = None) -> ApiError:
        """The token endpoint refused ``what`` with the OAuth ``error`` code."""
        detail = f"{error}" + (f": {description}" if description else "")
        message = f"the token endpoint refused {what} ({detail})"
        fields: dict[str, Any] = {"service": self.service, "endpoint": "token", "code": error}
        if error in ("invalid_client", "unauthorized_client"):
            return AuthenticationError(message, hint="Check client_id and client_secret (or the "
                                       "service account key) and that the app may use "
                                       f"the {self.grant} grant.", **fields)
        if error == "invalid_scope":
            return PermissionDeniedError(message, hint=f"Ask only for scopes the app is allowed "
                                         f"(asked: {' '.join(self.scopes) or 'none'}).",
                                         **fields)
        if error in ("server_error", "temporarily_unavailable"):
            return ServerError(message, **fields)
        if error == "invalid_grant" and what == "refresh":
            expired = (token or {}).get("refresh_token_expires_at")
            due = (f" (it was due to expire {when(float(expired), '')})"
                   if expired is not None else "")
            if not self.person:
                hint = "A new token will be fetched."
            else:
                hint = (f"The refresh token is expired or revoked{due}: run "
                        f"ik.login({self.service!r}) again, or set {self.refresh_env}.")
            return AuthenticationError(message, hint=hint, **fields)
        if error == "invalid_grant" and self.grant == "jwt_bearer":
            return AuthenticationError(message, hint="Check the service account key, the "
                                       "subject (delegation must be granted) and the clock.",
                                       **fields)
        return AuthenticationError(message, **fields)

    def scope_error(self, token_id: TokenId, missing: Sequence[str], *,
                    granted: Iterable[str] | None = None,
                    status: int | None = None) -> PermissionDeniedError:
        """The token of ``token_id`` lacks the ``missing`` scopes (it has ``granted``)."""
        service = self.service
        wanted = sorted({*self.scopes, *missing})
        names = " ".join(repr(s) for s in missing) or "(not named by the server)"
        has = f"; it has: {' '.join(sorted(granted)) or 'none'}" if granted is not None else ""
        if self.person:
            hint = (f"Log in again asking for it: OAuth2(..., scopes={wanted!r}) and then "
                    f"ik.login({service!r}) (or auth.login_loopback()).")
        else:
            hint = (f"Add it to OAuth2(..., scopes={wanted!r}); the app must be allowed it. "
                    "A new token is fetched with the new scopes.")
        return PermissionDeniedError(
            f"the {service} token ({token_id.profile}/{token_id.account}) lacks "
            f"the scope {names}{has}", service=service, status=status,
            code="insufficient_scope", hint=hint)

    def login_needed(self, token_id: TokenId, stored: Token | None) -> AuthenticationError:
        """Nothing can renew the token of ``token_id``: a person must log in (not here, when
        this run is headless)."""
        service = self.service
        what = ("the stored token expired and cannot be refreshed" if stored is not None
                else "no stored token")
        reason = headless_reason()
        how = (f"run ik.login({service!r}) in a notebook (the token is stored for scheduled "
               f"runs), or set {self.refresh_env} to a refresh token")
        if reason is not None:
            return AuthenticationError(
                f"{what} for {token_id}, and this run is headless ({reason}), so nobody "
                "can log in here", service=service, hint=f"To fix it, {how}.")
        login = _LOGINS.get(self.grant)
        extra = f", or call {login}" if login else ""
        return AuthenticationError(f"{what} for {token_id}: log in first",
                                   service=service, hint=f"To fix it, {how}{extra}.")

    def headless(self, reason: str) -> AuthenticationError:
        """An interactive login was asked for in a run nobody can answer (``reason``)."""
        return AuthenticationError(
            f"cannot log in to {self.service} interactively: this run is headless ({reason})",
            service=self.service,
            hint=f"Log in once in a notebook (the token is stored for scheduled runs), or set "
                 f"{self.refresh_env} to a refresh token.")
