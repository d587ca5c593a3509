"""A local OAuth 2.0 authorization server for the emulators (and for users' own tests).

``OAuthProvider`` answers, under ``/oauth`` by default:

- ``GET  /oauth/authorize``: auto-approves the configured user and redirects back with
  ``code`` and ``state`` (PKCE S256 required of public clients; ``plain`` refused);
- ``POST /oauth/token``: ``authorization_code``, ``refresh_token`` (rotated: the old one dies),
  ``client_credentials``, ``urn:ietf:params:oauth:grant-type:device_code`` and
  ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (an RS256 assertion checked against the
  issuer's registered public key: signature, ``aud``, ``exp``/``iat``, one use per ``jti``);
- ``POST /oauth/device/code``, ``POST /oauth/device/approve`` (a test's "user" approves or,
  with ``deny=1``, denies a ``user_code``), ``POST /oauth/revoke`` (RFC 7009),
  ``GET /oauth/userinfo`` (a protected resource).

Errors have RFC 6749's shape (``{"error": "invalid_grant", "error_description": ...}``, 400, or
401 for ``invalid_client``). Access tokens live ``access_token_ttl`` seconds (2 s is fine in
tests). An emulator mounts the provider by calling :meth:`OAuthProvider.handle_oauth` first in
its ``handle``, and guards its API routes with :meth:`OAuthProvider.require_token`, which
answers like a resource server (401 + ``WWW-Authenticate: Bearer error="invalid_token"``, 403
``insufficient_scope``). Standalone, the provider is itself an ASGI emulator:

    >>> provider = OAuthProvider(access_token_ttl=2)                      # doctest: +SKIP
    >>> provider.register_client("app", "s3cret", scopes=["read"])
    >>> with SandboxServer(provider) as server:
    ...     auth = ik.auth.OAuth2(**provider.endpoints(server.url), client_id="app", ...)

``token_calls`` counts token-endpoint successes by grant (``refresh_token``...), also in
``GET /__sandbox__/stats`` for a provider in another process.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import orjson

from ._app import Emulator, Reply, Request
from ._faults import Headers

__all__ = ["IssuedToken", "OAuthProvider", "RegisteredClient", "TokenRejected"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_GRANT_NAMES = {DEVICE_CODE_GRANT: "device_code", JWT_BEARER_GRANT: "jwt_bearer"}
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_NO_STORE: Headers = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
_MAX_ASSERTION_LIFETIME = 3600
_CLOCK_LEEWAY = 60


class _HasHeaders(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass
class RegisteredClient:
    """An app registered with the provider (``secret`` None: a public client, PKCE only)."""

    client_id: str
    secret: str | None = None
    scopes: frozenset[str] | None = None  # what it may ask for; None: anything
    redirect_uris: tuple[str, ...] = ()  # besides any loopback URI (RFC 8252)
    grants: frozenset[str] | None = None  # short names; None: every grant that fits


@dataclass
class IssuedToken:
    """An access or refresh token the provider issued."""

    value: str
    kind: str  # "access" or "refresh"
    client_id: str
    user: str
    scopes: frozenset[str]
    expires_at: float | None
    family: str  # every token descending from one login/grant shares it
    revoked: bool = False

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at


@dataclass
class _Device:
    device_code: str
    user_code: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    interval: float
    status: str = "pending"
    last_poll: float | None = None


@dataclass
class _Issuer:
    public_key: Any
    scopes: frozenset[str] | None
    subjects: frozenset[str] | None
    seen_jti: set[str] = field(default_factory=set)


class TokenRejected(Exception):
    """Raised by :meth:`OAuthProvider.require_token`; ``reply`` is the 401/403 to send."""

    def __init__(self, reply: Reply, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply
        self.reason = reason


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400,
                 headers: Headers | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or []


def _json(status: int, body: Mapping[str, Any], headers: Headers | None = None) -> Reply:
    return Reply(status, orjson.dumps(body), list(headers or []))


def _number(seconds: float) -> float | int:
    return int(seconds) if float(seconds).is_integer() else round(seconds, 3)


def _scopes(value: str | Iterable[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    return frozenset(value)


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class OAuthProvider(Emulator):
    """An OAuth 2.0 authorization server emulator; see the module doc.

    Args:
        access_token_ttl: seconds an access token lives.
        refresh_token_ttl: seconds a refresh token lives (None: until revoked or rotated);
            reported as ``refresh_token_expires_in`` when ``report_refresh_expiry``.
        rotate_refresh_tokens: issue a new refresh token on every refresh (the old one dies).
        user: the user ``/authorize`` and device approval log in as.
        auto_approve: False makes ``/authorize`` answer ``error=access_denied``.
        device_interval: the polling interval device logins are told (seconds).
        enforce_interval: answer ``slow_down`` to polls faster than the interval.
        token_extra: fields added to every token response (``instance_url``...).
        prefix: where the endpoints live.
    """

    service = "oauth"
    key_prefix = "oauth_sandbox_"

    def __init__(
        self,
        *,
        access_token_ttl: float = 3600.0,
        refresh_token_ttl: float | None = None,
        rotate_refresh_tokens: bool = True,
        report_refresh_expiry: bool = True,
        user: str = "analyst@sandbox.test",
        auto_approve: bool = True,
        code_ttl: float = 60.0,
        device_code_ttl: float = 600.0,
        device_interval: float = 5.0,
        enforce_interval: bool = False,
        token_extra: Mapping[str, Any] | None = None,
        prefix: str = "/oauth",
        latency: float = 0.0,
        rate_limit: tuple[float, int] | None = None,
        api_key: str | None = None,
    ) -> None:
        super().__init__(api_key=api_key, rate_limit=rate_limit, latency=latency)
        self.access_token_ttl = float(access_token_ttl)
        self.refresh_token_ttl = refresh_token_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.report_refresh_expiry = report_refresh_expiry
        self.user = user
        self.auto_approve = auto_approve
        self.code_ttl = code_ttl
        self.device_code_ttl = device_code_ttl
        self.device_interval = device_interval
        self.enforce_interval = enforce_interval
        self.token_extra = dict(token_extra or {})
        self.prefix = prefix.rstrip("/")
        self.clients: dict[str, RegisteredClient] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, _Device] = {}
        self.issuers: dict[str, _Issuer] = {}
        #: Successful token-endpoint calls by grant (short names, e.g. ``refresh_token``).
        self.token_calls: Counter[str] = Counter()
        #: Token-endpoint refusals by RFC 6749 error code.
        self.token_errors: Counter[str] = Counter()
        #: Protected-resource refusals by reason (``expired``, ``invalid``, ``scope``...).
        self.rejections: Counter[str] = Counter()
        self.last_assertion: dict[str, Any] | None = None
        self.slow_down_next = 0

    # -- configuration (from tests) ----------------------------------------------------------
    def register_client(
        self, client_id: str, secret: str | None = None, *,
        scopes: Iterable[str] | None = None, redirect_uris: Iterable[str] = (),
        grants: Iterable[str] | None = None,
    ) -> RegisteredClient:
        """Register an app; ``secret=None`` makes it a public client (PKCE, no secret)."""
        client = RegisteredClient(client_id, secret,
                                  frozenset(scopes) if scopes is not None else None,
                                  tuple(redirect_uris),
                                  frozenset(grants) if grants is not None else None)
        with self.lock:
            self.clients[client_id] = client
        return client

    def register_jwt_issuer(
        self, issuer: str, public_key: str | bytes, *, scopes: Iterable[str] | None = None,
        subjects: Iterable[str] | None = None,
    ) -> None:
        """Accept RS256 JWT bearer assertions from ``issuer`` (a service account's email)
        signed by the private half of ``public_key`` (PEM); ``subjects`` limits delegation."""
        from joserfc.jwk import RSAKey

        with self.lock:
            self.issuers[issuer] = _Issuer(
                RSAKey.import_key(public_key), frozenset(scopes) if scopes is not None else None,
                frozenset(subjects) if subjects is not None else None)

    def endpoints(self, base_url: str) -> dict[str, str]:
        """``token_url``, ``authorize_url``, ``device_authorization_url``, ``revoke_url`` of
        this provider served at ``base_url`` (keyword arguments for ``ik.auth.OAuth2``)."""
        base = base_url.rstrip("/") + self.prefix
        return {"token_url": f"{base}/token", "authorize_url": f"{base}/authorize",
                "device_authorization_url": f"{base}/device/code",
                "revoke_url": f"{base}/revoke"}

    def credentials(self) -> dict[str, Any]:
        return {}

    def approve_device(self, user_code: str, *, approve: bool = True) -> bool:
        """The user approves (or denies) the device login showing ``user_code``."""
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code and device.status == "pending":
                    device.status = "approved" if approve else "denied"
                    return True
        return False

    def expire_access_tokens(self) -> int:
        """Make every live access token expired now (the next API call gets a 401)."""
        now = time.time()
        count = 0
        with self.lock:
            for token in self.tokens.values():
                if token.kind == "access" and not token.expired(now):
                    token.expires_at = now - 1
                    count += 1
        return count

    def revoke(self, value: str) -> bool:
        """Revoke one token (a refresh token takes its family's access tokens with it)."""
        with self.lock:
            token = self.tokens.get(value)
            if token is None:
                return False
            token.revoked = True
            if token.kind == "refresh":
                for other in self.tokens.values():
                    if other.family == token.family and other.kind == "access":
                        other.revoked = True
            return True

    def issue(self, client_id: str, scopes: Iterable[str] = (), *, user: str | None = None,
              refresh: bool = True) -> dict[str, Any]:
        """Tokens as if a login had happened (a token response body), for test set-up."""
        with self.lock:
            return self._issue(client_id, user or self.user, frozenset(scopes), refresh=refresh)

    def stats(self) -> dict[str, Any]:
        data = super().stats()
        data.update(token_calls=dict(self.token_calls), token_errors=dict(self.token_errors),
                    rejections=dict(self.rejections))
        return data

    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        body = orjson.dumps({"error": error, "error_description": f"HTTP {status}"})
        return body, [(b"content-type", b"application/json")]

    # -- resource-server side ----------------------------------------------------------------
    def require_token(self, request: _HasHeaders, scopes: Iterable[str] = ()) -> IssuedToken:
        """The access token of ``request`` if it is live and has ``scopes``; else raises
        TokenRejected carrying the 401 (missing, unknown, expired, revoked) or 403 reply."""
        header = request.headers.get("authorization") or ""
        kind, _, value = header.partition(" ")
        needed = _scopes(scopes)
        if kind.lower() != "bearer" or not value.strip():
            raise self._reject(401, "missing", None, "Bearer realm=\"sandbox\"")
        with self.lock:
            token = self.tokens.get(value.strip())
            if token is None or token.kind != "access":
                raise self._reject(401, "invalid", "The access token is not valid")
            if token.revoked:
                raise self._reject(401, "revoked", "The access token was revoked")
            if token.expired():
                raise self._reject(401, "expired", "The access token expired")
            if not needed <= token.scopes:
                missing = " ".join(sorted(needed - token.scopes))
                raise self._reject(
                    403, "scope", f"The request needs the scope {missing}",
                    f'Bearer realm="sandbox", error="insufficient_scope", '
                    f'error_description="The request needs more scope", '
                    f'scope="{" ".join(sorted(needed))}"')
            return token

    def _reject(self, status: int, reason: str, description: str | None,
                challenge: str | None = None) -> TokenRejected:
        self.rejections[reason] += 1
        if challenge is None:
            challenge = (f'Bearer realm="sandbox", error="invalid_token", '
                         f'error_description="{description}"')
        body: dict[str, Any] = {}
        if description is not None:
            body = {"error": "insufficient_scope" if status == 403 else "invalid_token",
                    "error_description": description}
        return TokenRejected(_json(status, body, [(b"www-authenticate", challenge.encode())]),
                             reason)

    # -- the ASGI shell's entry points --------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        reply = self.handle_oauth(request)
        if reply is not None:
            return reply
        return _json(404, {"error": "not_found", "error_description": f"no route {request.path}"})

    def handle_oauth(self, request: Request) -> Reply | None:
        """The answer to an OAuth endpoint request, or None when ``request`` is not one (an
        emulator mounting the provider then handles it itself)."""
        if not request.path.startswith(self.prefix + "/"):
            return None
        route = request.path[len(self.prefix):]
        handlers = {
            ("GET", "/authorize"): self._authorize,
            ("POST", "/token"): self._token,
            ("POST", "/device/code"): self._device_code,
            ("POST", "/device/approve"): self._device_approve,
            ("GET", "/device"): self._device_page,
            ("POST", "/revoke"): self._revoke,
            ("GET", "/userinfo"): self._userinfo,
        }
        handler = handlers.get((request.method, route))
        if handler is None:
            if any(path == route for _, path in handlers):
                return _json(405, {"error": "invalid_request",
                                   "error_description": f"{request.method} not allowed"})
            return None
        with self.lock:
            try:
                return handler(request)
            except _OAuthError as exc:
                self.token_errors[exc.error] += 1
                return _json(exc.status, {"error": exc.error,
                                          "error_description": exc.description},
                             [*_NO_STORE, *exc.headers])
            except TokenRejected as exc:
                return exc.reply

    # -- endpoints ---------------------------------------------------------------------------
    @staticmethod
    def _form(request: Request) -> dict[str, str]:
        ctype = request.headers.get("content-type", "")
        if request.body and "application/x-www-form-urlencoded" not in ctype:
            raise _OAuthError("invalid_request",
                              "the body must be application/x-www-form-urlencoded")
        return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))

    @staticmethod
    def _base(request: Request) -> str:
        return f"http://{request.headers.get('host', '127.0.0.1')}"

    def _client(self, request: Request, form: dict[str, str]) -> RegisteredClient:
        """The authenticated client: HTTP Basic, or ``client_id`` (+ ``client_secret``)."""
        header = request.headers.get("authorization", "")
        basic = header[:6].lower() == "basic "
        if basic:
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise self._invalid_client("malformed Basic credentials", basic) from None
            client_id, _, secret = decoded.partition(":")
            client_id, secret_given = unquote(client_id), unquote(secret)
            secret_opt: str | None = secret_given
        else:
            client_id = form.get("client_id", "")
            secret_opt = form.get("client_secret")
        client = self.clients.get(client_id)
        if client is None:
            raise self._invalid_client(f"unknown client {client_id!r}", basic)
        if client.secret is not None:
            if secret_opt is None or not secrets.compare_digest(secret_opt, client.secret):
                raise self._invalid_client("client authentication failed", basic)
        elif secret_opt:
            raise self._invalid_client("a public client has no secret", basic)
        return client

    @staticmethod
    def _invalid_client(description: str, basic: bool) -> _OAuthError:
        headers: Headers = [(b"www-authenticate", b'Basic realm="sandbox"')] if basic else []
        return _OAuthError("invalid_client", description, 401, headers)

    def _allowed_grant(self, client: RegisteredClient, grant: str) -> None:
        if client.grants is not None and grant not in client.grants:
            raise _OAuthError("unauthorized_client",
                              f"the client may not use the {grant} grant")

    def _check_scopes(self, allowed: frozenset[str] | None, asked: frozenset[str]) -> None:
        if allowed is not None and not asked <= allowed:
            raise _OAuthError("invalid_scope",
                              f"not allowed: {' '.join(sorted(asked - allowed))}")

    def _redirect_allowed(self, client: RegisteredClient, uri: str) -> bool:
        if uri in client.redirect_uris:
            return True
        parts = urlsplit(uri)
        return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS

    def _authorize(self, request: Request) -> Reply:
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise _OAuthError("invalid_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not self._redirect_allowed(client, redirect_uri):
            raise _OAuthError("invalid_request", "redirect_uri is missing or not registered")
        state = params.get("state")

        def back(**values: str) -> Reply:
            if state is not None:
                values["state"] = state
            sep = "&" if "?" in redirect_uri else "?"
            location = f"{redirect_uri}{sep}{urlencode(values)}"
            return Reply(302, b"", [(b"location", location.encode())])

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type",
                        error_description="only response_type=code")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain")
        if challenge is None and client.secret is None:
            return back(error="invalid_request",
                        error_description="public clients must send a PKCE code_challenge")
        if challenge is not None and method != "S256":
            return back(error="invalid_request",
                        error_description="code_challenge_method must be S256")
        asked = _scopes(params.get("scope"))
        if client.scopes is not None and not asked <= client.scopes:
            return back(error="invalid_scope",
                        error_description=f"not allowed: {' '.join(sorted(asked - client.scopes))}")
        if client.grants is not None and "authorization_code" not in client.grants:
            return back(error="unauthorized_client")
        if not self.auto_approve:
            return back(error="access_denied", error_description="the user said no")
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"client_id": client.client_id, "redirect_uri": redirect_uri,
                            "scopes": asked, "challenge": challenge, "user": self.user,
                            "expires_at": time.time() + self.code_ttl, "used": False,
                            "family": None}
        return back(code=code)

    def _token(self, request: Request) -> Reply:
        form = self._form(request)
        grant = form.get("grant_type", "")
        name = _GRANT_NAMES.get(grant, grant)
        if name == "jwt_bearer" and not (form.get("client_id")
                                         or request.headers.get("authorization")):
            client = RegisteredClient("")  # the assertion authenticates (RFC 7523 3.1)
        else:
            client = self._client(request, form)
        handlers = {
            "authorization_code": self._grant_code,
            "refresh_token": self._grant_refresh,
            "client_credentials": self._grant_client_credentials,
            "device_code": self._grant_device,
            "jwt_bearer": self._grant_jwt,
        }
        handler = handlers.get(name)
        if handler is None:
            raise _OAuthError("unsupported_grant_type", f"unknown grant_type {grant!r}")
        self._allowed_grant(client, name)
        body = handler(request, client, form)
        self.token_calls[name] += 1
        return _json(200, body, list(_NO_STORE))

    def _grant_code(self, request: Request, client: RegisteredClient,
                    form: dict[str, str]) -> dict[str, Any]:
        record = self.codes.get(form.get("code", ""))
        if record is None or record["client_id"] != client.client_id:
            raise _OAuthError("invalid_grant", "unknown authorization code")
        if record["used"]:
            if record["family"]:  # a replayed code: revoke what it produced (RFC 6749 4.1.2)
                for token in self.tokens.values():
                    if token.family == record["family"]:
                        token.revoked = True
            raise _OAuthError("invalid_grant", "the authorization code was already used")
        if time.time() > record["expires_at"]:
            raise _OAuthError("invalid_grant", "the authorization code expired")
        if form.get("redirect_uri") != record["redirect_uri"]:
            raise _OAuthError("invalid_grant", "redirect_uri does not match the authorization")
        if record["challenge"] is not None:
            from authlib.oauth2.rfc7636 import create_s256_code_challenge

            verifier = form.get("code_verifier")
            if not verifier:
                raise _OAuthError("invalid_grant", "code_verifier is required (PKCE)")
            if not secrets.compare_digest(create_s256_code_challenge(verifier),
                                          record["challenge"]):
                raise _OAuthError("invalid_grant", "code_verifier does not match the challenge")
        record["used"] = True
        body = self._issue(client.client_id, record["user"], record["scopes"], refresh=True)
        record["family"] = self.tokens[body["access_token"]].family
        return body

    def _grant_refresh(self, request: Request, client: RegisteredClient,
                       form: dict[str, str]) -> dict[str, Any]:
        old = self.tokens.get(form.get("refresh_token", ""))
        if old is None or old.kind != "refresh" or old.client_id != client.client_id:
            raise _OAuthError("invalid_grant", "unknown refresh token")
        if old.revoked:
            raise _OAuthError("invalid_grant", "the refresh token was revoked or already used")
        if old.expired():
            raise _OAuthError("invalid_grant", "the refresh token expired")
        scopes = old.scopes
        if form.get("scope"):
            asked = _scopes(form["scope"])
            if not asked <= old.scopes:
                raise _OAuthError("invalid_scope", "a refresh cannot widen the scope")
            scopes = asked
        if self.rotate_refresh_tokens:
            old.revoked = True
            return self._issue(client.client_id, old.user, scopes, refresh=True,
                               family=old.family)
        body = self._issue(client.client_id, old.user, scopes, refresh=False, family=old.family)
        return body

    def _grant_client_credentials(self, request: Request, client: RegisteredClient,
                                  form: dict[str, str]) -> dict[str, Any]:
        if client.secret is None:
            raise _OAuthError("unauthorized_client", "public clients cannot use "
                              "client_credentials")
        asked = _scopes(form.get("scope"))
        self._check_scopes(client.scopes, asked)
        return self._issue(client.client_id, client.client_id,
                           asked or (client.scopes or frozenset()), refresh=False)

    def _device_code(self, request: Request) -> Reply:
        form = self._form(request)
        client = self._client(request, form)
        self._allowed_grant(client, "device_code")
        asked = _scopes(form.get("scope"))
        self._check_scopes(client.scopes, asked)
        device_code = secrets.token_urlsafe(32)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        self.devices[device_code] = _Device(device_code, user_code, client.client_id, asked,
                                            time.time() + self.device_code_ttl,
                                            self.device_interval)
        uri = f"{self._base(request)}{self.prefix}/device"
        return _json(200, {"device_code": device_code, "user_code": user_code,
                           "verification_uri": uri,
                           "verification_uri_complete": f"{uri}?user_code={user_code}",
                           "expires_in": _number(self.device_code_ttl),
                           "interval": _number(self.device_interval)}, list(_NO_STORE))

    def _device_page(self, request: Request) -> Reply:
        return _json(200, {"message": f"POST user_code=... to {self.prefix}/device/approve "
                                      "(deny=1 to refuse)"})

    def _device_approve(self, request: Request) -> Reply:
        form = self._form(request)
        deny = form.get("deny", "") in ("1", "true", "yes")
        if not self.approve_device(form.get("user_code", ""), approve=not deny):
            raise _OAuthError("invalid_request", "no pending device login with that user_code")
        return _json(200, {"status": "denied" if deny else "approved"})

    def _grant_device(self, request: Request, client: RegisteredClient,
                      form: dict[str, str]) -> dict[str, Any]:
        device = self.devices.get(form.get("device_code", ""))
        if device is None or device.client_id != client.client_id:
            raise _OAuthError("invalid_grant", "unknown device_code")
        now = time.time()
        if now > device.expires_at:
            self.devices.pop(device.device_code, None)
            raise _OAuthError("expired_token", "the device code expired")
        too_soon = (self.enforce_interval and device.last_poll is not None
                    and now - device.last_poll < device.interval)
        device.last_poll = now
        if device.status == "denied":
            self.devices.pop(device.device_code, None)
            raise _OAuthError("access_denied", "the user denied the login")
        if self.slow_down_next > 0 or too_soon:
            self.slow_down_next = max(0, self.slow_down_next - 1)
            device.interval += 5
            raise _OAuthError("slow_down", "polling too fast")
        if device.status == "pending":
            raise _OAuthError("authorization_pending", "the user has not approved yet")
        self.devices.pop(device.device_code, None)
        return self._issue(client.client_id, self.user, device.scopes, refresh=True)

    def _grant_jwt(self, request: Request, client: RegisteredClient,
                   form: dict[str, str]) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        assertion = form.get("assertion", "")
        try:
            _, payload_part, _ = assertion.split(".")
            unverified = _b64json(payload_part)
            issuer_name = str(unverified.get("iss", ""))
        except (ValueError, AttributeError):
            raise _OAuthError("invalid_grant", "the assertion is not a JWT") from None
        issuer = self.issuers.get(issuer_name)
        if issuer is None:
            raise _OAuthError("invalid_grant", f"unknown issuer {issuer_name!r}")
        try:
            decoded = jwt.decode(assertion, issuer.public_key, algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise _OAuthError("invalid_grant",
                              f"the assertion's signature does not verify ({exc})") from None
        claims = dict(decoded.claims)
        self.last_assertion = {"header": dict(decoded.header), "claims": claims}
        now = time.time()
        audience = f"{self._base(request)}{self.prefix}/token"
        aud = claims.get("aud")
        if (aud if isinstance(aud, str) else None) != audience and not (
                isinstance(aud, list) and audience in aud):
            raise _OAuthError("invalid_grant", f"aud must be {audience}")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise _OAuthError("invalid_grant", "exp and iat are required")
        if exp < now - _CLOCK_LEEWAY:
            raise _OAuthError("invalid_grant", "the assertion expired")
        if iat > now + _CLOCK_LEEWAY or exp - iat > _MAX_ASSERTION_LIFETIME:
            raise _OAuthError("invalid_grant", "iat/exp are out of range (max 1 hour)")
        jti = claims.get("jti")
        if jti is not None:
            if jti in issuer.seen_jti:
                raise _OAuthError("invalid_grant", "the assertion was already used (jti)")
            issuer.seen_jti.add(str(jti))
        subject = claims.get("sub")
        if subject and issuer.subjects is not None and subject not in issuer.subjects:
            raise _OAuthError("unauthorized_client",
                              f"{issuer_name} may not act as {subject}")
        asked = _scopes(claims.get("scope") or form.get("scope"))
        self._check_scopes(issuer.scopes, asked)
        return self._issue(issuer_name, str(subject or issuer_name), asked, refresh=False)

    def _revoke(self, request: Request) -> Reply:
        form = self._form(request)
        client = self._client(request, form)
        token = self.tokens.get(form.get("token", ""))
        if token is not None and token.client_id == client.client_id:
            self.revoke(token.value)
        return _json(200, {})  # RFC 7009: unknown tokens are not an error

    def _userinfo(self, request: Request) -> Reply:
        token = self.require_token(request)
        return _json(200, {"sub": token.user, "client_id": token.client_id,
                           "scope": " ".join(sorted(token.scopes))})

    # -- issuing -------------------------------------------------------------------------------
    def _issue(self, client_id: str, user: str, scopes: frozenset[str], *, refresh: bool,
               family: str | None = None) -> dict[str, Any]:
        now = time.time()
        family = family or secrets.token_hex(8)
        access = IssuedToken("at_" + secrets.token_urlsafe(24), "access", client_id, user,
                             scopes, now + self.access_token_ttl, family)
        self.tokens[access.value] = access
        body: dict[str, Any] = {"access_token": access.value, "token_type": "Bearer",
                                "expires_in": _number(self.access_token_ttl),
                                "scope": " ".join(sorted(scopes))}
        if refresh:
            ttl = self.refresh_token_ttl
            rt = IssuedToken("rt_" + secrets.token_urlsafe(32), "refresh", client_id, user,
                             scopes, now + ttl if ttl is not None else None, family)
            self.tokens[rt.value] = rt
            body["refresh_token"] = rt.value
            if ttl is not None and self.report_refresh_expiry:
                body["refresh_token_expires_in"] = _number(ttl)
        body.update(self.token_extra)
        return body
