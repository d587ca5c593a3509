"""OAuth 2.0 as an ``httpx.Auth``: every grant an analyst meets, tokens kept in the encrypted
token store, refreshed once for all workers, never a prompt in a headless run.

    auth = ik.auth.OAuth2(token_url=..., authorize_url=..., client_id=..., scopes=[...],
                          service="salesforce")
    auth.login_loopback()                       # in a notebook: browser, PKCE, loopback
    api = ik.rest("https://api.example.com", auth=auth)    # refreshed as needed, also by
                                                            # a papermill run later on

Grants (``grant=``, guessed from the arguments when not given), one module each under
``_grants``:

- ``authorization_code`` with PKCE S256: :meth:`OAuth2.authorization_url` + :meth:`OAuth2.finish`
  (paste the redirected URL back), or :meth:`OAuth2.login_loopback` (a one-shot listener on
  127.0.0.1 catches the redirect);
- ``device_code`` (RFC 8628): :meth:`OAuth2.start_device` then :meth:`OAuth2.poll_device`;
- ``client_credentials``; ``refresh_token`` (a refresh token from ``refresh_token=`` or the
  ``<SERVICE>_REFRESH_TOKEN`` env var); ``jwt_bearer`` (RFC 7523, Google service accounts:
  :meth:`OAuth2.service_account`).

The protocol work is authlib's (``OAuth2Client`` for the token endpoint, PKCE, the RFC 7523
assertion). ``OAuth2`` itself only joins the parts: the grant, the token endpoint
(``_oauth_endpoint``), the token sets (``_oauth_token``), the shared slot in the token store
with its cross-process refresh lock (``_token_slot``), scope checks and expiry warnings.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Unpack

import httpx

from .._errors import ConfigError
from .._events import logger
from .._validate import duration
from ._grants import (
    DEVICE_CODE_GRANT,
    GRANTS,
    JWT_BEARER_GRANT,
    AuthorizationCode,
    DeviceLogin,
    Grant,
    GrantName,
    JwtBearer,
    PendingLogin,
    not_started,
)
from ._headless import headless_reason
from ._oauth_client import OAuthClient
from ._oauth_expiry import TokenExpiry, TokenExpiryWarning
from ._oauth_setup import OAuth2Options, TokenPolicy, settle
from ._oauth_token import REQUIRED_SCOPES, parse_challenge, scope_list
from ._tokens import Token, TokenId, TokenStore, default_store

__all__ = [
    "DEVICE_CODE_GRANT",
    "GRANTS",
    "JWT_BEARER_GRANT",
    "REQUIRED_SCOPES",
    "DeviceLogin",
    "OAuth2",
    "TokenExpiry",
    "TokenExpiryWarning",
    "default_store",
    "parse_challenge",
]


class OAuth2(httpx.Auth):
    """OAuth 2.0 credentials for ``ik.rest(..., auth=...)``, connectors or any httpx client.

    Args:
        grant: a grant object (``AuthorizationCode``, ``DeviceCode``, ``ClientCredentials``,
            ``RefreshToken``, ``JwtBearer``) or its name; guessed from the keywords when None.
        client: the app at the token endpoint (``OAuthClient``), or the keywords below.
        scopes: the scopes to ask for (a list, or one space-separated string).
        store: where tokens persist: a TokenStore, None for the configured state backend,
            False to keep them in this object only.
        policy: when tokens are renewed (``TokenPolicy``), or the keywords below.

    The keywords OAuth2 has always taken, each a setting of one of those parts:

    - the client: ``token_url`` (for service accounts, default: the key's token_uri),
      ``client_id``, ``client_secret`` (none for public clients), ``revoke_url`` (RFC 7009,
      for :meth:`revoke`), ``token_endpoint_auth_method`` (``client_secret_basic``, the
      default with a secret, ``client_secret_post`` or ``none``), ``timeout``, ``verify``,
      ``transport`` (the token endpoint's HTTP client);
    - the grants: ``authorize_url``, ``redirect_uri``, ``authorize_params`` (browser login);
      ``device_authorization_url`` (device login, RFC 8628); ``refresh_token`` (default: the
      ``refresh_token_env`` env var, by default ``<SERVICE>_REFRESH_TOKEN``);
      ``service_account``, ``subject``, ``audience`` (JWT bearer: the key as a dict, JSON or
      path, the user to act as, the assertion's ``aud``);
    - the policy: ``refresh_skew``, ``refresh_token_lifetime``, ``warn_before``,
      ``required_scopes`` (durations in any form: ``60``, ``"1m"``, ``"PT1M"``);
    - whose tokens (the store key): ``service`` (default: the token endpoint's host),
      ``profile`` (default: the current profile), ``account`` (default: the client id, or the
      service account's email).

    A refresh token, client credentials or a service account key given explicitly keep their
    tokens apart from the profile's login, under a one-way digest of that credential: such a
    run never uses a token someone else stored.
    """

    requires_request_body = True

    def __init__(self, *, grant: GrantName | Grant | None = None,
                 client: OAuthClient | None = None, scopes: str | Sequence[str] | None = None,
                 store: TokenStore | Literal[False] | None = None,
                 policy: TokenPolicy | None = None, **options: Unpack[OAuth2Options]) -> None:
        parts = settle(grant, client, scopes, store, policy, options)
        self.client, self.policy, self.scopes = parts.client, parts.policy, list(parts.scopes)
        self._grant, self._browser, self._device = parts.grant, parts.browser, parts.device
        self.refresh_token_env = parts.refresh_env
        #: What this object did: ``fetched``, ``refreshed``, ``reused`` (a token another worker
        #: refreshed), ``retried_401``.
        self.stats: Counter[str] = parts.stats
        self._endpoint, self._slot, self._watch = parts.endpoint, parts.slot, parts.watch
        self._renewal = parts.renewal
        # Each setting stays readable where it always was.
        self.grant: GrantName = self._grant.name
        self.token_url, self.client_id = self.client.token_url, self.client.client_id
        self.revoke_url = self.client.revoke_url
        self.token_endpoint_auth_method = self.client.auth_method
        browser, jwt = self._browser, self._grant if isinstance(self._grant, JwtBearer) else None
        self.authorize_url = browser.authorize_url if browser else None
        self.redirect_uri = browser.redirect_uri if browser else None
        self.authorize_params = dict(browser.params) if browser else {}
        self.device_authorization_url = self._device.device_authorization_url \
            if self._device else None
        self.subject, self.audience = (jwt.subject, jwt.audience) if jwt else (None, None)
        self.required_scopes = self.policy.required_scopes
        self.refresh_skew, self.warn_before = self.policy.refresh_skew, self.policy.warn_before
        self.refresh_token_lifetime = self.policy.refresh_token_lifetime

    @classmethod
    def service_account(
        cls, info: Mapping[str, Any] | str | Path, *, scopes: str | Sequence[str],
        subject: str | None = None, **options: Any,
    ) -> OAuth2:
        """JWT bearer credentials from a (Google) service-account key: a dict, a JSON string
        or the path of the downloaded JSON; ``subject`` is the user to act as."""
        return cls(service_account=info, scopes=scopes, subject=subject, grant="jwt_bearer",
                   **options)

    @property
    def token_id(self) -> TokenId:
        """The store slot: the profile's login, or the explicit grant's own (see ``owner``)."""
        return self._slot.token_id

    @property
    def identity(self) -> str:
        """Whose tokens these are, as a one-way name (caches and per-user limits key by it):
        the same across refreshes and processes, different for another tenant, app, explicit
        grant or user. For the profile's own login it names whoever logged in (the owner of
        the token in use), so a new login by someone else never shares their answers."""
        return self._slot.identity

    @property
    def store(self) -> TokenStore:
        """Where this object's tokens persist."""
        return self._slot.store

    @property
    def token(self) -> Token | None:
        """The stored token set (its repr masks the secrets), or None when not logged in."""
        return self._slot.read()

    @property
    def _pending(self) -> dict[str, PendingLogin]:
        return self._browser.pending if self._browser is not None else {}

    # -- getting tokens ------------------------------------------------------------------------
    def _usable(self, rejected: str | None = None) -> Token:
        return self._slot.usable(self._renewal.renew, rejected)

    def fetch_token(self) -> Token:
        """Get a usable token now (refreshing or fetching as needed); for checking a login."""
        return self._usable()

    def refresh(self) -> Token:
        """Refresh (or re-fetch) the access token now, whatever its expiry."""
        current = self._slot.cached or self._slot.read()
        return self._usable(rejected=current.get("access_token") if current else None)

    def access_token(self) -> str:
        """A valid access token, for code that needs the raw string (another SDK)."""
        return str(self._usable()["access_token"])

    def revoke(self) -> None:
        """Log out: revoke the tokens at ``revoke_url`` (when set) and forget them."""
        stored = self._slot.read() or self._slot.cached
        if stored is not None:
            self._endpoint.revoke(stored)
        self._slot.forget()

    # -- logging in ----------------------------------------------------------------------------
    def _browser_login(self) -> AuthorizationCode:
        if self._browser is None:
            raise ConfigError("authorization_url() needs OAuth2(authorize_url=...)")
        return self._browser

    def authorization_url(self, *, redirect_uri: str | None = None,
                          **params: str) -> tuple[str, str]:
        """The URL to open to log in (PKCE S256) and its ``state``; after approving, pass
        the URL the browser was sent to to :meth:`finish`.

        ``redirect_uri`` defaults to the configured one, else ``http://127.0.0.1/callback``
        (nothing listens there: the browser shows an error page whose URL is the one to
        paste back).
        """
        return self._browser_login().start(self.client, self.scopes, redirect_uri=redirect_uri,
                                           **params)

    def finish(self, redirected_url: str) -> Token:
        """Complete a login from the URL the browser was redirected to: checks ``state``,
        exchanges the code (with the PKCE verifier) and stores the tokens."""
        if self._browser is None:
            raise not_started(self.token_id.service)
        return self._renewal.logged_in(self._browser.exchange(self._endpoint, redirected_url),
                                       "authorization code")

    def login_loopback(self, *, open_browser: bool = True, timeout: float | str = 300.0,
                       port: int = 0, on_url: Callable[[str], Any] | None = None) -> Token:
        """Log in with the browser: a one-shot listener on 127.0.0.1 (a free port, unless the
        configured redirect_uri names one) catches the redirect and the code is exchanged.

        ``on_url(url)`` receives the login URL (default: printed, and opened in the browser
        when ``open_browser``). In a headless run this raises AuthenticationError at once,
        unless ``on_url`` is given (the caller then drives the login). ``timeout``: how long
        to wait for the redirect (any duration: ``300``, ``"5m"``).
        """
        seconds = duration(timeout, "timeout", positive=True)
        reason = headless_reason() if on_url is None else None
        if reason is not None:
            raise self._endpoint.advice.headless(reason)
        redirected = self._browser_login().loopback(
            self._endpoint, self.scopes, timeout=seconds, port=port, open_browser=open_browser,
            on_url=on_url)
        return self.finish(redirected)

    def start_device(self) -> DeviceLogin:
        """Start a device login (RFC 8628): show the returned code and URL to the user, then
        call :meth:`poll_device`."""
        if self._device is None:
            raise ConfigError("start_device() needs OAuth2(device_authorization_url=...)")
        return self._device.start(self._endpoint, self.scopes)

    def poll_device(self, *, timeout: float | str | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> Token:
        """Wait for the user to approve the device login, polling at the server's interval
        (``slow_down`` adds 5 s), at most ``timeout`` (any duration) besides the code's own
        expiry; stores and returns the tokens."""
        if self._device is None:
            raise ConfigError("call start_device() before poll_device()")
        return self._renewal.logged_in(
            self._device.poll(self._endpoint, timeout=timeout, sleep=sleep), "device")

    # -- scopes and expiry ---------------------------------------------------------------------
    def require(self, *scopes: str | Iterable[str]) -> None:
        """Raise PermissionDeniedError unless the token was granted every one of ``scopes``."""
        self._check_scopes(self._usable(), frozenset(scope_list(scopes)))

    def _check_scopes(self, token: Token, required: frozenset[str]) -> None:
        if not required or "scope" not in token:
            return
        missing = sorted(required - token.scopes)
        if missing:
            raise self._endpoint.advice.scope_error(self.token_id, missing,
                                                    granted=token.scopes)

    def expiry(self) -> TokenExpiry:
        """When the stored access and refresh tokens expire (no network call)."""
        return self._watch.expiry(self.token_id, self._slot.read())

    # -- httpx.Auth ----------------------------------------------------------------------------
    def _authorize(self, request: httpx.Request, token: Token) -> None:
        required = self.required_scopes | frozenset(
            scope_list(request.extensions.get(REQUIRED_SCOPES)))
        self._check_scopes(token, required)
        kind = str(token.get("token_type") or "Bearer")
        kind = "Bearer" if kind.lower() == "bearer" else kind
        request.headers["Authorization"] = f"{kind} {token['access_token']}"

    def _rejected(self, request: httpx.Request, response: httpx.Response,
                  retried: bool) -> Token | None:
        """After a 401/403: a refreshed token to retry with once, or None; raises for a
        403 ``insufficient_scope``."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if response.status_code == 403 and challenge.get("error") == "insufficient_scope":
            response.close()  # the caller gets the error, never this response
            cached = self._slot.cached
            raise self._endpoint.advice.scope_error(
                self.token_id, scope_list(challenge.get("scope")),
                granted=cached.scopes if cached and "scope" in cached else None, status=403)
        if response.status_code != 401 or retried:
            return None
        value = request.headers.get("Authorization", "")
        sent = value.split(" ", 1)[1] if " " in value else None
        logger.info("integkit: %s: 401 from %s; refreshing the token once",
                    self.token_id, request.url.host)
        self.stats["retried_401"] += 1
        return self._usable(rejected=sent)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        self._authorize(request, self._usable())
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
        from anyio import to_thread  # loaded by the first async client only

        await request.aread()
        cached = self._slot.cached
        token = cached if cached is not None and self._slot.fresh(cached) else \
            await to_thread.run_sync(self._usable)
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
