"""OAuth 2.0 as an ``httpx.Auth``: every grant an analyst meets, tokens kept in the encrypted
token store, refreshed once for all workers, never a prompt in a headless run.

    auth = ik.auth.OAuth2(token_url=..., authorize_url=..., client_id=..., scopes=[...],
                          service="salesforce")
    auth.login_loopback()                       # in a notebook: browser, PKCE, loopback
    api = ik.rest("https://api.example.com", auth=auth)    # refreshed as needed, also by
                                                            # a papermill run later on

Grants (``grant=``, guessed from the arguments when not given):

- ``authorization_code`` with PKCE S256: :meth:`OAuth2.authorization_url` + :meth:`OAuth2.finish`
  (paste the redirected URL back), or :meth:`OAuth2.login_loopback` (a one-shot listener on
  127.0.0.1 catches the redirect);
- ``device_code`` (RFC 8628): :meth:`OAuth2.start_device` then :meth:`OAuth2.poll_device`;
- ``client_credentials``; ``refresh_token`` (a refresh token from ``refresh_token=`` or the
  ``<SERVICE>_REFRESH_TOKEN`` env var); ``jwt_bearer`` (RFC 7523, Google service accounts:
  :meth:`OAuth2.service_account`).

The protocol work is authlib's (``OAuth2Client`` for the token endpoint, PKCE, the RFC 7523
assertion); this module adds the store, the shared refresh, scope checks and expiry warnings.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import warnings
import webbrowser
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from .._errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    IntegkitError,
    NetworkError,
    PermissionDeniedError,
    ServerError,
)
from .._events import logger, register_secret
from .._validate import duration
from .._validate import timeout as check_timeout
from ._headless import headless_reason
from ._identity import digest, grant_subject
from ._tokens import Token, TokenId, TokenStore, default_store

__all__ = [
    "DEVICE_CODE_GRANT",
    "JWT_BEARER_GRANT",
    "REQUIRED_SCOPES",
    "DeviceLogin",
    "OAuth2",
    "TokenExpiry",
    "TokenExpiryWarning",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The httpx request extension naming the scopes one call needs:
#: ``client.get(url, extensions={"required_scopes": ["files.read"]})``.
REQUIRED_SCOPES = "required_scopes"
GRANTS = ("authorization_code", "device_code", "client_credentials", "refresh_token",
          "jwt_bearer")
Grant = Literal["authorization_code", "device_code", "client_credentials", "refresh_token",
                "jwt_bearer"]

_USER_GRANTS = ("authorization_code", "device_code", "refresh_token")
_KNOWN_FIELDS = {"access_token", "token_type", "expires_in", "expires_at", "refresh_token",
                 "scope", "refresh_token_expires_in", "id_token"}
_PENDING_TTL = 900.0
_CHALLENGE = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_DONE_PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>integkit</title></head>"
              b"<body style='font-family:sans-serif'><h2>Login complete</h2>"
              b"<p>You can close this tab and return to your notebook.</p></body></html>")
_FAILED_PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>integkit</title>"
                b"</head><body style='font-family:sans-serif'><h2>Login failed</h2>"
                b"<p>Return to your notebook for the details.</p></body></html>")


def _authlib() -> Any:
    """authlib's httpx OAuth2Client, imported without its notice that plain ``httpx`` will be
    replaced by ``httpx2`` one day (it would show on every notebook's first login)."""
    import authlib.deprecate  # noqa: F401 - installs authlib's own "always" filter first

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The httpx module is deprecated",
                                category=DeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client
    return OAuth2Client


class TokenExpiryWarning(UserWarning):
    """A refresh token expires soon: someone must log in again before scheduled runs fail."""


@dataclass(frozen=True)
class DeviceLogin:
    """What the user must do to approve a device login (RFC 8628)."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float

    def __str__(self) -> str:
        where = self.verification_uri_complete or self.verification_uri
        return f"Open {where} and enter the code {self.user_code}"

    def _repr_html_(self) -> str:
        where = self.verification_uri_complete or self.verification_uri
        return (f"Open <a href='{where}' target='_blank'>{self.verification_uri}</a> and enter "
                f"the code <b><code>{self.user_code}</code></b>")


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
                 + _when(self.access_expires_at, "has no stated expiry")]
        if self.has_refresh_token:
            parts.append("refresh token " + _when(self.refresh_expires_at, "has no known expiry"))
        return "; ".join(parts)


def _when(at: float | None, unknown: str) -> str:
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


def _scope_list(scopes: str | Iterable[Any] | None) -> list[str]:
    if scopes is None:
        return []
    if isinstance(scopes, str):
        return scopes.replace(",", " ").split()
    return [s for scope in scopes for s in _scope_list(scope)]


def parse_challenge(header: str) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: Bearer error="...", scope="..."`` header."""
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _CHALLENGE.finditer(header or "")}


def _load_service_account(info: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A service-account key as a dict, from a dict, a JSON string or a file path."""
    if isinstance(info, Mapping):
        data = dict(info)
    elif isinstance(info, str) and info.lstrip().startswith("{"):
        data = json.loads(info)
    else:
        path = Path(info).expanduser()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the service account key {path}: {exc}") from None
    missing = [k for k in ("private_key", "client_email") if not data.get(k)]
    if missing:
        raise ConfigError(f"the service account key lacks {', '.join(missing)}; download a JSON "
                          "key for the service account (IAM > Service accounts > Keys)")
    register_secret(data["private_key"])
    return data


def _env_name(service: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", service).strip("_").upper() + "_REFRESH_TOKEN"


@dataclass
class _PendingLogin:
    verifier: str = field(repr=False)
    redirect_uri: str
    started: float


@dataclass
class _PendingDevice:
    device_code: str = field(repr=False)
    login: DeviceLogin


class OAuth2(httpx.Auth):
    """OAuth 2.0 credentials for ``ik.rest(..., auth=...)``, connectors or any httpx client.

    Args:
        token_url: the token endpoint (for service accounts, default: the key's token_uri).
        client_id, client_secret: the app's credentials (no secret for public clients).
        scopes: the scopes to ask for (a list, or one space-separated string).
        authorize_url: the authorization endpoint (authorization code grant).
        device_authorization_url: the device authorization endpoint (RFC 8628).
        revoke_url: the revocation endpoint (RFC 7009), used by :meth:`revoke`.
        grant: one of ``authorization_code``, ``device_code``, ``client_credentials``,
            ``refresh_token``, ``jwt_bearer``; guessed from the other arguments when None.
        store: where tokens persist: a TokenStore, None for the configured state backend,
            False to keep them in this object only.
        service, profile, account: whose tokens (the store key); ``service`` defaults to the
            token endpoint's host, ``profile`` to the current profile, ``account`` to the
            client id (or the service account's email).
        refresh_token: the grant to use (default: the ``<SERVICE>_REFRESH_TOKEN`` env var, or
            ``refresh_token_env``). Its tokens are kept apart from the profile's login, under
            a one-way digest of it: a run given its own refresh token (or client credentials,
            or a service account key) never uses a token someone else stored.
        service_account, subject, audience: for ``jwt_bearer``: the key (dict, JSON or path),
            the user to act as (domain-wide delegation), the assertion's ``aud``.
        required_scopes: scopes every call needs (checked before the call is sent).
        refresh_skew: the leeway: refresh this long before the access token expires (at most
            a quarter of the token's lifetime, so very short-lived tokens still get used).
            It, ``refresh_token_lifetime``, ``warn_before`` and ``timeout`` take any duration
            (``60``, ``"1m"``, ``"PT1M"``).
        refresh_token_lifetime: how long refresh tokens live when the server does not say
            (``"7d"`` for a Google app in testing mode).
        warn_before: warn when the refresh token has less than this left (default 2 days).
        authorize_params: extra authorization URL parameters (``access_type=offline``...).
        token_endpoint_auth_method: ``client_secret_basic`` (default with a secret),
            ``client_secret_post`` or ``none``.
        timeout, verify, transport: for the token endpoint's HTTP client.
    """

    requires_request_body = True

    def __init__(
        self,
        *,
        token_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: str | Sequence[str] | None = None,
        authorize_url: str | None = None,
        device_authorization_url: str | None = None,
        revoke_url: str | None = None,
        grant: Grant | None = None,
        store: TokenStore | Literal[False] | None = None,
        service: str | None = None,
        profile: str | None = None,
        account: str | None = None,
        redirect_uri: str | None = None,
        refresh_token: str | None = None,
        refresh_token_env: str | None = None,
        service_account: Mapping[str, Any] | str | Path | None = None,
        subject: str | None = None,
        audience: str | None = None,
        required_scopes: str | Sequence[str] | None = None,
        refresh_skew: float | str = 60.0,
        refresh_token_lifetime: float | str | None = None,
        warn_before: float | str = "2d",
        authorize_params: Mapping[str, str] | None = None,
        token_endpoint_auth_method: str | None = None,
        timeout: float | str | httpx.Timeout = 30.0,
        verify: Any = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._service_account = (_load_service_account(service_account)
                                 if service_account is not None else None)
        if token_url is None and self._service_account is not None:
            token_url = self._service_account.get("token_uri")
        if not token_url:
            raise ConfigError("OAuth2 needs token_url= (the service's token endpoint)")
        self.token_url = token_url
        self.client_id = client_id
        register_secret(client_secret)
        self._client_secret = client_secret
        self.scopes = _scope_list(scopes)
        self.authorize_url = authorize_url
        self.device_authorization_url = device_authorization_url
        self.revoke_url = revoke_url
        self.grant: Grant = grant or self._guess_grant(refresh_token)
        if self.grant not in GRANTS:
            raise ConfigError(f"unknown grant {self.grant!r}; use one of {', '.join(GRANTS)}")
        self._check_config()
        self.subject = subject
        self.audience = audience
        if service is None:
            service = urlsplit(token_url).hostname or "oauth"
        if profile is None:
            from .._config import get_settings

            profile = get_settings().profile
        if account is None:
            if self._service_account is not None:
                account = self._service_account["client_email"]
                if subject:
                    account = f"{account}/{subject}"
            else:
                account = client_id or "default"
        self.redirect_uri = redirect_uri
        self.refresh_token_env = refresh_token_env or _env_name(service)
        seed = refresh_token or os.environ.get(self.refresh_token_env) or None
        register_secret(seed)
        self._seed_refresh_token = seed
        self._seed_source = "refresh_token=" if refresh_token else self.refresh_token_env
        #: The store slot: the profile's login, or the explicit grant's own (see ``owner``).
        self.token_id = TokenId(service, profile, account, self._explicit_owner())
        self.required_scopes = frozenset(_scope_list(required_scopes))
        self.refresh_skew = duration(refresh_skew, "refresh_skew")
        self.refresh_token_lifetime = None if refresh_token_lifetime is None else duration(
            refresh_token_lifetime, "refresh_token_lifetime", positive=True)
        self.warn_before = duration(warn_before, "warn_before")
        self.authorize_params = dict(authorize_params or {})
        self.token_endpoint_auth_method = token_endpoint_auth_method
        self._http_options: dict[str, Any] = {"timeout": check_timeout(timeout),
                                              "verify": verify}
        if transport is not None:
            self._http_options["transport"] = transport
        if store is None:
            self._store: TokenStore | None = None
        else:
            self._store = TokenStore.memory() if store is False else store
        self._cached: Token | None = None
        self._pending: dict[str, _PendingLogin] = {}
        self._device: _PendingDevice | None = None
        self._warned: set[tuple[TokenId, float]] = set()
        #: What this object did: ``fetched``, ``refreshed``, ``reused`` (a token another worker
        #: refreshed), ``retried_401``.
        self.stats: Counter[str] = Counter()

    @classmethod
    def service_account(
        cls, info: Mapping[str, Any] | str | Path, *, scopes: str | Sequence[str],
        subject: str | None = None, **options: Any,
    ) -> OAuth2:
        """JWT bearer credentials from a (Google) service-account key: a dict, a JSON string
        or the path of the downloaded JSON; ``subject`` is the user to act as."""
        return cls(service_account=info, scopes=scopes, subject=subject, grant="jwt_bearer",
                   **options)

    def _guess_grant(self, refresh_token: str | None) -> Grant:
        if self._service_account is not None:
            return "jwt_bearer"
        if self.authorize_url:
            return "authorization_code"
        if self.device_authorization_url:
            return "device_code"
        if refresh_token:
            return "refresh_token"
        if self._client_secret:
            return "client_credentials"
        raise ConfigError(
            "OAuth2 cannot tell which grant to use: pass grant=, or authorize_url= (browser "
            "login), device_authorization_url= (device login), client_secret= (client "
            "credentials) or service_account= (JWT bearer)"
        )

    def _check_config(self) -> None:
        needs = {"authorization_code": ("authorize_url", "client_id"),
                 "device_code": ("device_authorization_url", "client_id"),
                 "client_credentials": ("client_id",)}.get(self.grant, ())
        missing = [name for name in needs if not getattr(self, name)]
        if self.grant == "client_credentials" and not self._client_secret:
            missing.append("client_secret")
        if self.grant == "jwt_bearer" and self._service_account is None:
            missing.append("service_account")
        if missing:
            raise ConfigError(f"OAuth2 grant {self.grant!r} needs {', '.join(missing)}=")

    def _grant_name(self, kind: str, *secrets: str) -> str:
        """``<kind>.<digest>``: a one-way name of a grant at this token endpoint and app."""
        return f"{kind}." + digest(self.token_url, self.client_id or "", *secrets)

    def _explicit_owner(self) -> str:
        """The slot owner of a grant given explicitly (empty: the profile's own login)."""
        if self.grant == "client_credentials" and self._client_secret:
            return self._grant_name("client", self._client_secret)
        if self.grant == "jwt_bearer" and self._service_account is not None:
            return self._grant_name("key", self._service_account["private_key"])
        if self._seed_refresh_token:
            return self._grant_name("refresh", self._seed_refresh_token)
        return ""

    def _owner_of(self, raw: Mapping[str, Any], previous: Mapping[str, Any]) -> str:
        """Who a new token set belongs to: kept across refreshes; else the subject the token
        response names; else the refresh (or access) token the grant started from."""
        if previous.get("owner"):
            return str(previous["owner"])
        subject = grant_subject(raw)
        if subject:
            return self._grant_name("subject", subject)
        first = previous.get("refresh_token") or raw.get("refresh_token")
        if first:
            return self._grant_name("refresh", str(first))
        return self._grant_name("access", str(raw["access_token"]))

    @property
    def identity(self) -> str:
        """Whose tokens these are, as a one-way name (caches and per-user limits key by it):
        the same across refreshes and processes, different for another tenant, app, explicit
        grant or user. For the profile's own login it names whoever logged in (the owner of
        the token in use), so a new login by someone else never shares their answers."""
        owner = self.token_id.owner
        if not owner:
            token = self._cached
            if token is None:
                try:
                    token = self._read()
                except IntegkitError:  # unreadable here: the call itself will say why
                    token = None
            owner = "login:" + str(token.get("owner") or "" if token is not None else "")
        return "oauth2:" + digest(self.token_url, *self.token_id[:3], owner)

    # -- the store -------------------------------------------------------------------------
    @property
    def store(self) -> TokenStore:
        """Where this object's tokens persist."""
        return self._store if self._store is not None else default_store()

    @property
    def token(self) -> Token | None:
        """The stored token set (its repr masks the secrets), or None when not logged in."""
        return self._read()

    def _read(self) -> Token | None:
        """This slot's stored token set, unless another token endpoint issued it (a sandbox
        org's login is never sent to production, nor refreshed there)."""
        token = self.store.get(self.token_id)
        if token is not None and token.get("issuer") not in (None, self.token_url):
            logger.info("integkit: %s: the stored token was issued by another token endpoint; "
                        "not using it", self.token_id)
            return None
        return token

    def _to_login_slot(self) -> None:
        """After an interactive login: use (and store into) the profile's own slot."""
        if self.token_id.owner and self.grant in _USER_GRANTS:
            self.token_id = self.token_id._replace(owner="")
            self._seed_refresh_token = None

    def _adopt(self, token: Token) -> Token:
        self._cached = token
        self._warn_expiry(token)
        return token

    def _save(self, token: Token) -> Token:
        self.store.put(self.token_id, token)
        return self._adopt(token)

    def _lifetime_skew(self, token: Mapping[str, Any]) -> float:
        lifetime = token.get("expires_in")
        if isinstance(lifetime, int | float) and lifetime > 0:
            return min(self.refresh_skew, float(lifetime) / 4)
        return self.refresh_skew

    def _fresh(self, token: Mapping[str, Any] | None, rejected: str | None = None) -> bool:
        if token is None or not token.get("access_token"):
            return False
        if rejected is not None and token["access_token"] == rejected:
            return False
        expires_at = token.get("expires_at")
        if expires_at is None:
            return True
        return time.time() < float(expires_at) - self._lifetime_skew(token)

    def _usable_token(self, rejected: str | None = None) -> Token:
        """A token to send now: the cached one while fresh, else the store's (another worker
        may have refreshed), else a refreshed or newly fetched one, under the store's lock."""
        cached = self._cached
        if self._fresh(cached, rejected):
            assert cached is not None
            return cached
        store = self.store
        stored = self._read()
        if self._fresh(stored, rejected):
            assert stored is not None
            return self._adopt(stored)
        with store.lock(self.token_id):
            stored = self._read()  # the holder before us may have refreshed
            if self._fresh(stored, rejected):
                assert stored is not None
                self.stats["reused"] += 1
                logger.debug("integkit: %s: using the token another worker refreshed",
                             self.token_id)
                return self._adopt(stored)
            return self._save(self._obtain(stored))

    def _obtain(self, stored: Token | None) -> Token:
        """A new token set by the best means at hand (the caller holds the lock)."""
        if stored is not None and stored.get("refresh_token"):
            try:
                return self._refresh_with(stored)
            except AuthenticationError:
                if self.grant not in ("client_credentials", "jwt_bearer"):
                    raise
        if self.grant == "client_credentials":
            return self._client_credentials()
        if self.grant == "jwt_bearer":
            return self._jwt_bearer()
        seed = self._seed_refresh_token
        if seed and (stored is None or seed != stored.get("refresh_token")):
            return self._refresh_with(Token(refresh_token=seed), seeded=True)
        raise self._login_needed(stored)

    def _login_needed(self, stored: Token | None) -> AuthenticationError:
        service = self.token_id.service
        what = ("the stored token expired and cannot be refreshed" if stored is not None
                else "no stored token")
        reason = headless_reason()
        how = (f"run ik.login({service!r}) in a notebook (the token is stored for scheduled "
               f"runs), or set {self.refresh_token_env} to a refresh token")
        if reason is not None:
            return AuthenticationError(
                f"{what} for {self.token_id}, and this run is headless ({reason}), so nobody "
                "can log in here", service=service, hint=f"To fix it, {how}.")
        login = {"authorization_code": "auth.login_loopback() (or auth.authorization_url() "
                                       "and auth.finish(url))",
                 "device_code": "auth.start_device() and auth.poll_device()"}.get(self.grant)
        extra = f", or call {login}" if login else ""
        return AuthenticationError(f"{what} for {self.token_id}: log in first",
                                   service=service, hint=f"To fix it, {how}{extra}.")

    # -- the token endpoint (authlib) ----------------------------------------------------------
    def _oauth_client(self) -> Any:
        """A new authlib client (an httpx.Client) for one exchange: token calls are rare, so
        no connection is kept open between them."""
        client_cls = _authlib()
        return client_cls(
            client_id=self.client_id, client_secret=self._client_secret,
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            code_challenge_method="S256", **self._http_options,
        )

    def _call(self, what: str, fn: Callable[[Any], Any], *, raw_errors: bool = False,
              token: Mapping[str, Any] | None = None) -> Any:
        """Run one token-endpoint exchange with authlib; failures become integkit errors
        (``raw_errors`` leaves authlib's OAuthError for the caller, e.g. device polling)."""
        from authlib.integrations.base_client import OAuthError

        try:
            with self._oauth_client() as client:
                return fn(client)
        except OAuthError as exc:
            if raw_errors:
                raise
            raise self._oauth_error(what, exc.error, exc.description, token) from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            cls: type[ApiError] = ServerError if status >= 500 else AuthenticationError
            raise cls(f"the token endpoint answered {status} to {what}",
                      service=self.token_id.service, endpoint="token", status=status,
                      body=exc.response.text) from None
        except httpx.TransportError as exc:
            raise NetworkError(f"the token endpoint {self.token_url} could not be reached for "
                               f"{what} ({type(exc).__name__})", service=self.token_id.service,
                               endpoint="token") from None
        except ValueError as exc:
            raise ServerError(f"the token endpoint's answer to {what} is not a token: {exc}",
                              service=self.token_id.service, endpoint="token") from None

    def _oauth_error(self, what: str, error: str | None, description: str | None,
                     token: Mapping[str, Any] | None = None) -> ApiError:
        service = self.token_id.service
        detail = f"{error}" + (f": {description}" if description else "")
        message = f"the token endpoint refused {what} ({detail})"
        fields: dict[str, Any] = {"service": service, "endpoint": "token", "code": error}
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
            when = (f" (it was due to expire {_when(float(expired), '')})"
                    if expired is not None else "")
            if self.grant in ("client_credentials", "jwt_bearer"):
                hint = "A new token will be fetched."
            else:
                hint = (f"The refresh token is expired or revoked{when}: run "
                        f"ik.login({service!r}) again, or set {self.refresh_token_env}.")
            return AuthenticationError(message, hint=hint, **fields)
        if error == "invalid_grant" and self.grant == "jwt_bearer":
            return AuthenticationError(message, hint="Check the service account key, the "
                                       "subject (delegation must be granted) and the clock.",
                                       **fields)
        return AuthenticationError(message, **fields)

    def _normalize(self, raw: Mapping[str, Any], previous: Mapping[str, Any] | None = None,
                   *, requested: Sequence[str] | None = None) -> Token:
        """A token set from a token response: absolute expiry times, the granted scope, the
        refresh token kept (or rotated), and the service's own fields under ``extra``."""
        now = time.time()
        previous = previous or {}
        if not raw.get("access_token"):
            raise ServerError("the token endpoint answered without an access_token",
                              service=self.token_id.service, endpoint="token")
        token = Token(access_token=raw["access_token"],
                      token_type=raw.get("token_type") or "Bearer", obtained_at=now,
                      grant=self.grant, issuer=self.token_url,
                      owner=self._owner_of(raw, previous))
        if raw.get("expires_in") is not None:
            token["expires_in"] = float(raw["expires_in"])
            token["expires_at"] = now + float(raw["expires_in"])
        elif raw.get("expires_at") is not None:
            token["expires_at"] = float(raw["expires_at"])
        scope = raw.get("scope")
        if scope is None:
            asked = self.scopes if requested is None else list(requested)
            scope = previous.get("scope") or (" ".join(asked) if asked else None)
        if scope is not None:
            token["scope"] = " ".join(_scope_list(scope))
        old_refresh = previous.get("refresh_token")
        new_refresh = raw.get("refresh_token")
        if new_refresh or old_refresh:
            token["refresh_token"] = new_refresh or old_refresh
            rotated = bool(new_refresh) and new_refresh != old_refresh
            if raw.get("refresh_token_expires_in") is not None:
                token["refresh_token_expires_at"] = now + float(raw["refresh_token_expires_in"])
            elif previous.get("refresh_token_expires_at") is not None and not (
                    rotated and self.refresh_token_lifetime is None):
                token["refresh_token_expires_at"] = previous["refresh_token_expires_at"]
            elif self.refresh_token_lifetime is not None:
                token["refresh_token_expires_at"] = now + self.refresh_token_lifetime
        if raw.get("id_token"):
            token["id_token"] = raw["id_token"]
        extra = {k: v for k, v in raw.items() if k not in _KNOWN_FIELDS}
        token["extra"] = {**(previous.get("extra") or {}), **extra}
        for name in ("access_token", "refresh_token", "id_token"):
            register_secret(token.get(name))
        return token

    def _refresh_with(self, stored: Token, *, seeded: bool = False) -> Token:
        refresh_token = stored["refresh_token"]
        register_secret(refresh_token)
        raw = self._call("refresh", lambda c: c.refresh_token(
            self.token_url, refresh_token=refresh_token), token=stored)
        token = self._normalize(raw, stored)
        self.stats["refreshed"] += 1
        rotated = " (new refresh token)" if token.get("refresh_token") != refresh_token else ""
        logger.info("integkit: %s: access token refreshed%s%s", self.token_id, rotated,
                    f" from {self._seed_source}" if seeded else "")
        return token

    def _client_credentials(self) -> Token:
        scope = " ".join(self.scopes) or None
        raw = self._call("the client credentials", lambda c: c.fetch_token(
            self.token_url, grant_type="client_credentials", **({"scope": scope} if scope else {})))
        self.stats["fetched"] += 1
        logger.info("integkit: %s: access token fetched (client credentials)", self.token_id)
        return self._normalize(raw)

    def _assertion(self) -> str:
        from authlib.oauth2.rfc7523 import JWTBearerGrant
        from joserfc.jwk import RSAKey

        info = self._service_account
        assert info is not None
        key = RSAKey.import_key(info["private_key"])
        header = {"alg": "RS256", "typ": "JWT"}
        if info.get("private_key_id"):
            header["kid"] = info["private_key_id"]
        now = int(time.time())
        claims = {"scope": " ".join(self.scopes)} if self.scopes else {}
        assertion = JWTBearerGrant.sign(
            key, issuer=info["client_email"], audience=self.audience or self.token_url,
            subject=self.subject, issued_at=now, expires_at=now + 3600, claims=claims,
            header=header,
        )
        text = assertion.decode() if isinstance(assertion, bytes) else str(assertion)
        register_secret(text)
        return text

    def _jwt_bearer(self) -> Token:
        assertion = self._assertion()
        params: dict[str, Any] = {"assertion": assertion}
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        # The assertion authenticates; send client credentials only when there are some.
        auth = None if self._client_secret else httpx.Auth()
        raw = self._call("the JWT assertion", lambda c: c.fetch_token(
            self.token_url, grant_type=JWT_BEARER_GRANT, auth=auth, **params))
        self.stats["fetched"] += 1
        logger.info("integkit: %s: access token fetched (JWT bearer)", self.token_id)
        return self._normalize(raw)

    # -- logging in --------------------------------------------------------------------------
    def authorization_url(self, *, redirect_uri: str | None = None,
                          **params: str) -> tuple[str, str]:
        """The URL to open to log in (PKCE S256) and its ``state``; after approving, pass
        the URL the browser was sent to to :meth:`finish`.

        ``redirect_uri`` defaults to the configured one, else ``http://127.0.0.1/callback``
        (nothing listens there: the browser shows an error page whose URL is the one to
        paste back).
        """
        from authlib.common.security import generate_token

        if not self.authorize_url:
            raise ConfigError("authorization_url() needs OAuth2(authorize_url=...)")
        redirect_uri = redirect_uri or self.redirect_uri or "http://127.0.0.1/callback"
        verifier = generate_token(64)
        with self._oauth_client() as client:
            url, state = client.create_authorization_url(
                self.authorize_url, code_verifier=verifier, redirect_uri=redirect_uri,
                scope=" ".join(self.scopes) or None, **{**self.authorize_params, **params},
            )
        now = time.time()
        self._pending = {s: p for s, p in self._pending.items()
                         if now - p.started < _PENDING_TTL}
        self._pending[state] = _PendingLogin(verifier, redirect_uri, now)
        return str(url), str(state)

    def finish(self, redirected_url: str) -> Token:
        """Complete a login from the URL the browser was redirected to: checks ``state``,
        exchanges the code (with the PKCE verifier) and stores the tokens."""
        params = {k: v[-1] for k, v in parse_qs(urlsplit(redirected_url).query).items()}
        service = self.token_id.service
        state = params.get("state", "")
        if params.get("code"):
            register_secret(params["code"])
        pending = self._pending.pop(state, None)
        if pending is None:
            raise AuthenticationError(
                "the redirected URL does not belong to a login started here (its state does "
                "not match)", service=service,
                hint="Start again with auth.authorization_url() or auth.login_loopback() and "
                     "paste the URL of that login.")
        if params.get("error"):
            detail = params["error"] + (f": {params['error_description']}"
                                        if params.get("error_description") else "")
            raise AuthenticationError(f"the login was not approved ({detail})", service=service,
                                      code=params["error"],
                                      hint="Log in again and approve the requested access.")
        code = params.get("code")
        if not code:
            raise AuthenticationError("the redirected URL carries no authorization code",
                                      service=service, hint="Paste the full URL from the "
                                      "browser's address bar after approving.")
        raw = self._call("the authorization code", lambda c: c.fetch_token(
            self.token_url, grant_type="authorization_code", code=code,
            redirect_uri=pending.redirect_uri, code_verifier=pending.verifier))
        self._to_login_slot()
        token = self._normalize(raw)
        with self.store.lock(self.token_id):
            self._save(token)
        self.stats["fetched"] += 1
        logger.info("integkit: %s: logged in (authorization code)", self.token_id)
        return token

    def login_loopback(self, *, open_browser: bool = True, timeout: float | str = 300.0,
                       port: int = 0, on_url: Callable[[str], Any] | None = None) -> Token:
        """Log in with the browser: a one-shot listener on 127.0.0.1 (a free port, unless the
        configured redirect_uri names one) catches the redirect and the code is exchanged.

        ``on_url(url)`` receives the login URL (default: printed, and opened in the browser
        when ``open_browser``). In a headless run this raises AuthenticationError at once,
        unless ``on_url`` is given (the caller then drives the login). ``timeout``: how long
        to wait for the redirect (any duration: ``300``, ``"5m"``).
        """
        timeout = duration(timeout, "timeout", positive=True)
        if on_url is None:
            reason = headless_reason()
            if reason is not None:
                raise AuthenticationError(
                    f"cannot log in to {self.token_id.service} interactively: this run is "
                    f"headless ({reason})", service=self.token_id.service,
                    hint=f"Log in once in a notebook (the token is stored for scheduled runs), "
                         f"or set {self.refresh_token_env} to a refresh token.")
        host, path = "127.0.0.1", "/callback"
        if self.redirect_uri:
            parts = urlsplit(self.redirect_uri)
            if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ConfigError(
                    f"login_loopback() needs a loopback redirect_uri (http://127.0.0.1:PORT/...),"
                    f" not {self.redirect_uri!r}; use auth.authorization_url() and "
                    "auth.finish(url) with that redirect instead")
            host, port, path = parts.hostname or host, parts.port or port, parts.path or "/"
        with _Loopback(host, port, path) as listener:
            url, _ = self.authorization_url(redirect_uri=listener.redirect_uri)
            if on_url is not None:
                on_url(url)
            else:
                print(f"Log in to {self.token_id.service} in your browser: {url}")
                if open_browser:
                    webbrowser.open(url)
            redirected = listener.wait(timeout)
        if redirected is None:
            raise AuthenticationError(
                f"no login redirect arrived within {timeout:.0f}s",
                service=self.token_id.service, hint="Run the login again and approve it in "
                "the browser; or use auth.authorization_url() and auth.finish(url).")
        return self.finish(redirected)

    def start_device(self) -> DeviceLogin:
        """Start a device login (RFC 8628): show the returned code and URL to the user, then
        call :meth:`poll_device`."""
        if not self.device_authorization_url:
            raise ConfigError("start_device() needs OAuth2(device_authorization_url=...)")
        url = self.device_authorization_url
        data = {"scope": " ".join(self.scopes)} if self.scopes else {}

        def request(client: Any) -> Any:
            auth = client.client_auth(client.token_endpoint_auth_method)
            headers = {"Accept": "application/json",
                       "Content-Type": "application/x-www-form-urlencoded"}
            response = client.post(url, data=data, auth=auth, headers=headers)
            body = response.json()
            if "error" in body:
                from authlib.integrations.base_client import OAuthError

                raise OAuthError(body["error"], body.get("error_description"))
            response.raise_for_status()
            return body

        body = self._call("the device authorization", request)
        register_secret(body.get("device_code"))
        login = DeviceLogin(
            user_code=body["user_code"],
            verification_uri=body.get("verification_uri") or body.get("verification_url"),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_at=time.time() + float(body.get("expires_in", 600)),
            interval=float(body.get("interval", 5)),
        )
        self._device = _PendingDevice(body["device_code"], login)
        return login

    def poll_device(self, *, timeout: float | str | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> Token:
        """Wait for the user to approve the device login, polling at the server's interval
        (``slow_down`` adds 5 s), at most ``timeout`` (any duration) besides the code's own
        expiry; stores and returns the tokens."""
        from authlib.integrations.base_client import OAuthError

        pending = self._device
        if pending is None:
            raise ConfigError("call start_device() before poll_device()")
        service = self.token_id.service
        interval = pending.login.interval
        deadline = pending.login.expires_at + 2 * interval
        if timeout is not None:
            deadline = min(deadline, time.time() + duration(timeout, "timeout"))
        while True:
            sleep(interval)
            try:
                raw = self._call("the device code", lambda c: c.fetch_token(
                    self.token_url, grant_type=DEVICE_CODE_GRANT,
                    device_code=pending.device_code), raw_errors=True)
            except OAuthError as exc:
                if exc.error == "slow_down":
                    interval += 5
                elif exc.error == "expired_token":
                    self._device = None
                    raise AuthenticationError(
                        "the device code expired before the login was approved",
                        service=service, code=exc.error,
                        hint="Call auth.start_device() again and approve sooner.") from None
                elif exc.error == "access_denied":
                    self._device = None
                    raise AuthenticationError("the device login was denied", service=service,
                                              code=exc.error) from None
                elif exc.error != "authorization_pending":
                    raise self._oauth_error("the device code", exc.error,
                                            exc.description) from None
            else:
                self._device = None
                self._to_login_slot()
                token = self._normalize(raw)
                with self.store.lock(self.token_id):
                    self._save(token)
                self.stats["fetched"] += 1
                logger.info("integkit: %s: logged in (device)", self.token_id)
                return token
            if time.time() + interval > deadline:
                raise AuthenticationError(
                    "the device login was not approved in time", service=service,
                    hint=f"Open {pending.login.verification_uri}, enter "
                         f"{pending.login.user_code}, then poll again.")

    def fetch_token(self) -> Token:
        """Get a usable token now (refreshing or fetching as needed); for checking a login."""
        return self._usable_token()

    def refresh(self) -> Token:
        """Refresh (or re-fetch) the access token now, whatever its expiry."""
        current = self._cached or self._read()
        rejected = current.get("access_token") if current else None
        return self._usable_token(rejected=rejected)

    def access_token(self) -> str:
        """A valid access token, for code that needs the raw string (another SDK)."""
        return str(self._usable_token()["access_token"])

    def revoke(self) -> None:
        """Log out: revoke the tokens at ``revoke_url`` (when set) and forget them."""
        stored = self._read() or self._cached
        if stored is not None and self.revoke_url:
            secret = stored.get("refresh_token") or stored.get("access_token")
            hint = "refresh_token" if stored.get("refresh_token") else "access_token"
            revoke_url = self.revoke_url

            def request(client: Any) -> Any:
                response = client.revoke_token(revoke_url, token=secret, token_type_hint=hint)
                response.raise_for_status()
                return response

            self._call("the revocation", request)
        self.store.delete(self.token_id)
        self._cached = None

    # -- scopes and expiry -------------------------------------------------------------------
    def require(self, *scopes: str | Iterable[str]) -> None:
        """Raise PermissionDeniedError unless the token was granted every one of ``scopes``."""
        self._check_scopes(self._usable_token(), frozenset(_scope_list(scopes)))

    def _check_scopes(self, token: Token, required: frozenset[str]) -> None:
        if not required or "scope" not in token:
            return
        missing = sorted(required - token.scopes)
        if missing:
            raise self._scope_error(missing, granted=token.scopes)

    def _scope_error(self, missing: Sequence[str], *, granted: Iterable[str] | None = None,
                     status: int | None = None) -> PermissionDeniedError:
        service = self.token_id.service
        wanted = sorted({*self.scopes, *missing})
        names = " ".join(repr(s) for s in missing) or "(not named by the server)"
        has = f"; it has: {' '.join(sorted(granted)) or 'none'}" if granted is not None else ""
        if self.grant in _USER_GRANTS:
            hint = (f"Log in again asking for it: OAuth2(..., scopes={wanted!r}) and then "
                    f"ik.login({service!r}) (or auth.login_loopback()).")
        else:
            hint = (f"Add it to OAuth2(..., scopes={wanted!r}); the app must be allowed it. "
                    "A new token is fetched with the new scopes.")
        return PermissionDeniedError(
            f"the {service} token ({self.token_id.profile}/{self.token_id.account}) lacks "
            f"the scope {names}{has}", service=service, status=status,
            code="insufficient_scope", hint=hint)

    def expiry(self) -> TokenExpiry:
        """When the stored access and refresh tokens expire (no network call)."""
        token = self._read()
        if token is None:
            return TokenExpiry(self.token_id, False, None, None, False, frozenset(), None)
        refresh_at = token.get("refresh_token_expires_at")
        return TokenExpiry(
            self.token_id, True, token.get("expires_at"),
            float(refresh_at) if refresh_at is not None else None,
            bool(token.get("refresh_token")), token.scopes, self._expiry_message(token),
        )

    def _expiry_message(self, token: Mapping[str, Any]) -> str | None:
        at = token.get("refresh_token_expires_at")
        if at is None or not token.get("refresh_token"):
            return None
        left = float(at) - time.time()
        if left > self.warn_before:
            return None
        service = self.token_id.service
        return (f"the {service} refresh token ({self.token_id.profile}/"
                f"{self.token_id.account}) {_when(float(at), '')}; after that, scheduled runs "
                f"fail until someone logs in again: run ik.login({service!r}) before then")

    def _warn_expiry(self, token: Mapping[str, Any]) -> None:
        message = self._expiry_message(token)
        if message is None:
            return
        mark = (self.token_id, float(token["refresh_token_expires_at"]))
        if mark in self._warned:
            return
        self._warned.add(mark)
        logger.warning("integkit: %s", message)
        warnings.warn(TokenExpiryWarning(message), stacklevel=4)

    # -- httpx.Auth ----------------------------------------------------------------------------
    def _authorize(self, request: httpx.Request, token: Token) -> None:
        required = self.required_scopes | frozenset(
            _scope_list(request.extensions.get(REQUIRED_SCOPES)))
        self._check_scopes(token, required)
        kind = str(token.get("token_type") or "Bearer")
        kind = "Bearer" if kind.lower() == "bearer" else kind
        request.headers["Authorization"] = f"{kind} {token['access_token']}"

    def _sent_token(self, request: httpx.Request) -> str | None:
        value = request.headers.get("Authorization", "")
        return value.split(" ", 1)[1] if " " in value else None

    def _rejected(self, request: httpx.Request, response: httpx.Response,
                  retried: bool) -> Token | None:
        """After a 401/403: a refreshed token to retry with once, or None; raises for a
        403 ``insufficient_scope``."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if response.status_code == 403 and challenge.get("error") == "insufficient_scope":
            response.close()  # the caller gets the error, never this response
            cached = self._cached
            raise self._scope_error(_scope_list(challenge.get("scope")) or [],
                                    granted=cached.scopes if cached and "scope" in cached
                                    else None, status=403)
        if response.status_code != 401 or retried:
            return None
        sent = self._sent_token(request)
        logger.info("integkit: %s: 401 from %s; refreshing the token once",
                    self.token_id, request.url.host)
        self.stats["retried_401"] += 1
        return self._usable_token(rejected=sent)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        self._authorize(request, self._usable_token())
        response = yield request
        if response.status_code in (401, 403):
            token = self._rejected(request, response, retried=False)
            if token is not None:
                self._authorize(request, token)
                response = yield request
                self._rejected(request, response, retried=True)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        from anyio import to_thread

        await request.aread()
        cached = self._cached
        token = cached if cached is not None and self._fresh(cached) else \
            await to_thread.run_sync(self._usable_token)
        self._authorize(request, token)
        response = yield request
        if response.status_code in (401, 403):
            renewed = await to_thread.run_sync(self._rejected, request, response, False)
            if renewed is not None:
                self._authorize(request, renewed)
                response = yield request
                await to_thread.run_sync(self._rejected, request, response, True)

    def __repr__(self) -> str:
        client = f", client_id={self.client_id!r}" if self.client_id else ""
        scopes = f", scopes={self.scopes!r}" if self.scopes else ""
        return (f"OAuth2({str(self.token_id)!r}, grant={self.grant!r}{client}{scopes}, "
                f"token_url={self.token_url!r})")


class _Loopback:
    """A one-shot HTTP listener on the loopback interface that catches the login redirect."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path
        self.url: str | None = None
        self.event = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                if parts.path != listener.path or not ("code" in params or "error" in params):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                for code in params.get("code", []):
                    register_secret(code)
                body = _FAILED_PAGE if "error" in params else _DONE_PAGE
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if listener.url is None:
                    listener.url = f"{listener.redirect_uri}?{parts.query}"
                    listener.event.set()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the URL carries the authorization code: never log it

        self.server = HTTPServer((host, port), Handler)
        self.redirect_uri = f"http://{host}:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       name="integkit-oauth-loopback", daemon=True)

    def wait(self, timeout: float) -> str | None:
        """The redirected URL, or None after ``timeout`` seconds (Ctrl-C interrupts)."""
        deadline = time.monotonic() + timeout
        while not self.event.wait(0.1):
            if time.monotonic() > deadline:
                return None
        return self.url

    def __enter__(self) -> _Loopback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
