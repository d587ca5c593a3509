"""GitHub App authentication: an RS256 app JWT, exchanged for an installation access token.

GitHub's flow (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app):

1. The app signs a JWT with its private key: ``iat`` 60 s in the past (clock drift), ``exp`` at
   most 10 minutes ahead, ``iss`` the app id (or client id).
2. ``POST /app/installations/{id}/access_tokens`` with ``Authorization: Bearer <JWT>`` answers
   ``201 {"token": "ghs_...", "expires_at": "2016-07-11T22:14:10Z", ...}``; the token lasts an
   hour. The installation id can be looked up with the JWT at
   ``GET /repos/{owner}/{repo}/installation``, ``/orgs/{org}/installation`` or
   ``/users/{username}/installation``.

``GitHubApp`` does this inside the connection's own requests (so token calls pass the same
pipeline, limits and sandbox), caches the token until 5 minutes before ``expires_at``, lets one
thread refresh while the others wait, and refreshes once more when GitHub answers 401. When
GitHub says the JWT's times are off, it re-signs once with GitHub's clock (its ``Date``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .._errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from .._events import emit, logger, register_secret
from .._http import TRACE_KEY, CallTrace
from .._validate import duration
from .._version import __version__
from ._identity import digest
from ._rotation import AuthEvent, mask

__all__ = ["GitHubApp", "InstallationToken", "app_jwt", "load_rsa_private_key"]

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
JWT_BACKDATE = 60  # GitHub's advice: iat a minute in the past, for clock drift
JWT_LIFETIME = 540  # exp 9 minutes ahead: GitHub refuses more than 10, this leaves a minute
_USER_AGENT = f"integkit/{__version__}"
_CLOCK_COMPLAINTS = ("'Expiration time' claim", "'Issued at' claim")
_TokenFlow = Generator[httpx.Request, httpx.Response, "InstallationToken"]


def load_rsa_private_key(
    private_key: str | bytes | os.PathLike[str], *, what: str = "private_key"
) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM text (also with literal ``\\n``, as env vars hold it) or a
    path to a ``.pem`` file; ConfigError says which of the two was wrong."""
    if isinstance(private_key, bytes):
        data = private_key
    elif isinstance(private_key, str) and "-----BEGIN" in private_key:
        text = private_key.replace("\\n", "\n") if "\n" not in private_key.strip() else private_key
        data = text.strip().encode()
    else:
        path = Path(private_key).expanduser()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{what}: no such file {str(path)!r}; pass the PEM text or the "
                              "path of the .pem file GitHub gave you") from None
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read {str(path)!r} ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} is not a readable unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{what} must be an RSA key (GitHub Apps sign with RS256)")
    register_secret(data.decode(errors="ignore"))
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(app_id: int | str, key: rsa.RSAPrivateKey, now: float | None = None) -> str:
    """The app's JWT (RS256): ``iat`` = now - 60 s, ``exp`` = now + 9 min, ``iss`` = the app id.

    A pure function of its arguments, so it is tested without HTTP.
    """
    moment = int(time.time() if now is None else now)
    issuer: int | str = int(app_id) if str(app_id).isdigit() else str(app_id)
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iat": moment - JWT_BACKDATE, "exp": moment + JWT_LIFETIME, "iss": issuer}
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{signing_input}.{_b64(signature)}"
    register_secret(token)
    return token


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """An installation access token and when it stops working (epoch seconds, local clock)."""

    token: str
    expires_at: float
    obtained_at: float
    installation_id: int
    permissions: Mapping[str, str] | None = None
    repository_selection: str | None = None

    def fresh(self, now: float, margin: float) -> bool:
        """Still good for ``margin`` seconds (at most half its life, for short-lived tokens)."""
        lead = min(margin, (self.expires_at - self.obtained_at) / 2)
        return now < self.expires_at - lead

    def __repr__(self) -> str:
        return (f"InstallationToken({mask(self.token)}, installation_id={self.installation_id}, "
                f"expires_at={self.expires_at:.0f})")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _server_skew(response: httpx.Response, local_now: float) -> float | None:
    """GitHub's clock minus ours, from the answer's ``Date`` (the last one, if repeated)."""
    dates = response.headers.get_list("date")
    if not dates:
        return None
    try:
        return parsedate_to_datetime(dates[-1]).timestamp() - local_now
    except (TypeError, ValueError):
        return None


def _error(response: httpx.Response, *, endpoint: str, app_id: int | str) -> ApiError:
    """The integkit error for a refused app call, with GitHub's message and what to do."""
    body = _json(response)
    message = body.get("message") if isinstance(body, dict) else None
    message = message or f"HTTP {response.status_code}"
    status = response.status_code
    hints = {
        401: f"GitHub refused the JWT of app {app_id}: check the app id and that the private key "
             "is the app's current one (app settings > Private keys), and the machine's clock.",
        403: "The installation is suspended or lacks the permissions asked for.",
        404: f"App {app_id} has no such installation: check installation_id (or owner/repo), or "
             "install the app on that account.",
        422: "The repositories or permissions asked for are not granted to the installation.",
    }
    classes: dict[int, type[ApiError]] = {
        401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
        422: InvalidRequestError,
    }
    cls = classes.get(status, ServerError if status >= 500 else InvalidRequestError)
    return cls(message, service="github", endpoint=endpoint, status=status,
               request_id=response.headers.get("x-github-request-id"), body=response.text,
               hint=hints.get(status))


class GitHubApp(httpx.Auth):
    """Authenticate as a GitHub App installation, with tokens refreshed before they expire.

    Args:
        app_id: the app's id (or its client id, ``Iv1...``), the JWT's issuer.
        private_key: the app's RSA key: PEM text, or the path of the ``.pem`` file.
        installation_id: which installation to act as; looked up from ``owner``/``repo``
            (or the app's only installation) when None.
        owner, repo: the account (and repository) the app is installed on.
        base_url: ``https://api.github.com``, or ``https://HOST/api/v3`` for GitHub Enterprise.
        repositories, permissions: narrow the token (GitHub's ``repositories`` /
            ``permissions`` body fields).
        refresh_margin: refresh this long before ``expires_at`` (default 5 minutes; any
            duration: ``300``, ``"5m"``).
        clock: epoch seconds (injected by tests).

    >>> app = GitHubApp(12345, "app.private-key.pem", owner="octo-org")   # doctest: +SKIP
    >>> gh = ik.rest("https://api.github.com", auth=app, paginator="link_header")
    >>> gh.list("/installation/repositories", records_path="repositories").to_frame()
    """

    requires_request_body = True  # resent once after a 401
    requires_response_body = True

    def __init__(
        self,
        app_id: int | str,
        private_key: str | bytes | os.PathLike[str],
        *,
        installation_id: int | None = None,
        owner: str | None = None,
        repo: str | None = None,
        base_url: str = "https://api.github.com",
        repositories: Sequence[str] | None = None,
        permissions: Mapping[str, str] | None = None,
        refresh_margin: float | str = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not str(app_id).strip():
            raise ConfigError("GitHubApp needs app_id (the number on the app's settings page)")
        if repo and not owner:
            raise ConfigError("GitHubApp: repo= needs owner= too (the repository's account)")
        self.app_id = app_id
        self._key = load_rsa_private_key(private_key)
        self.installation_id = int(installation_id) if installation_id is not None else None
        self.owner = owner
        self.repo = repo
        self.base_url = base_url.rstrip("/")
        self.repositories = list(repositories) if repositories else None
        self.permissions = dict(permissions) if permissions else None
        self.refresh_margin = duration(refresh_margin, "refresh_margin")
        self._clock = clock
        self._skew = 0.0  # GitHub's clock minus ours, learnt from a refused JWT
        self._token: InstallationToken | None = None
        self._state = threading.Lock()  # guards _token; never held across a request
        self._refresh = threading.Lock()  # one refresh at a time (sync callers)
        self._async_refresh: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        public = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self._identity = "github_app:" + digest(
            str(app_id), self.base_url, str(installation_id or ""), owner or "", repo or "",
            json.dumps(self.repositories), json.dumps(self.permissions, sort_keys=True),
            public.hex())

    @property
    def identity(self) -> str:
        """Which app, installation and narrowing the tokens are for, as a one-way name."""
        return self._identity

    @classmethod
    def from_env(cls, prefix: str = "GITHUB_APP_", **options: Any) -> GitHubApp:
        """From ``GITHUB_APP_ID``, ``GITHUB_APP_PRIVATE_KEY`` (PEM text) or
        ``GITHUB_APP_PRIVATE_KEY_PATH``, and optional ``GITHUB_APP_INSTALLATION_ID``."""
        app_id = os.environ.get(f"{prefix}ID")
        key = os.environ.get(f"{prefix}PRIVATE_KEY") or os.environ.get(f"{prefix}PRIVATE_KEY_PATH")
        if not app_id or not key:
            raise ConfigError(f"set {prefix}ID and {prefix}PRIVATE_KEY (PEM text) or "
                              f"{prefix}PRIVATE_KEY_PATH (a .pem file) for a GitHub App")
        installation = os.environ.get(f"{prefix}INSTALLATION_ID")
        if installation and "installation_id" not in options:
            options["installation_id"] = int(installation)
        return cls(app_id, key, **options)

    # -- the I/O-free core -------------------------------------------------------------------
    def now(self) -> float:
        """GitHub's time as best known: the clock plus the skew GitHub told us about."""
        return self._clock() + self._skew

    def jwt(self) -> str:
        """A fresh app JWT (for the ``/app`` endpoints, which take no installation token)."""
        return app_jwt(self.app_id, self._key, self.now())

    def _app_request(self, method: str, path: str, body: Any = None) -> httpx.Request:
        endpoint = f"{method} {path}"
        return httpx.Request(
            method, self.base_url + path, json=body,
            headers={"Authorization": f"Bearer {self.jwt()}", "Accept": MEDIA_TYPE,
                     "X-GitHub-Api-Version": API_VERSION, "User-Agent": _USER_AGENT},
            extensions={TRACE_KEY: CallTrace(service="github", endpoint=endpoint)},
        )

    def _as_app(
        self, method: str, path: str, body: Any = None
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        """A call signed with the app JWT, signed again with GitHub's clock if it says ours is
        off (a JWT 'not yet valid' or 'expired' on arrival)."""
        response = yield self._app_request(method, path, body)
        if response.status_code == 401:
            message = str((_json(response) or {}).get("message", ""))
            skew = _server_skew(response, self._clock())
            if any(c in message for c in _CLOCK_COMPLAINTS) and skew is not None \
                    and abs(skew - self._skew) > 1:
                logger.warning("integkit: this machine's clock is %.0fs off GitHub's; signing "
                               "the app JWT with GitHub's time", -skew)
                self._skew = skew
                response = yield self._app_request(method, path, body)
        return response

    def _find_installation(self) -> Generator[httpx.Request, httpx.Response, int]:
        if self.owner and self.repo:
            paths = [f"/repos/{self.owner}/{self.repo}/installation"]
        elif self.owner:
            paths = [f"/orgs/{self.owner}/installation", f"/users/{self.owner}/installation"]
        else:
            response = yield from self._as_app("GET", "/app/installations?per_page=100")
            if response.status_code != 200:
                raise _error(response, endpoint="GET /app/installations", app_id=self.app_id)
            found = _json(response) or []
            if len(found) == 1:
                return int(found[0]["id"])
            accounts = ", ".join(f"{i['account']['login']} ({i['id']})" for i in found[:10])
            raise ConfigError(
                f"GitHub App {self.app_id} has {len(found)} installations ({accounts or 'none'})"
                ": pass installation_id= or owner= (and repo=)"
            )
        for path in paths:
            response = yield from self._as_app("GET", path)
            if response.status_code == 200:
                return int(_json(response)["id"])
            if response.status_code != 404:
                raise _error(response, endpoint=f"GET {path}", app_id=self.app_id)
        where = f"{self.owner}/{self.repo}" if self.repo else self.owner
        raise ConfigError(f"GitHub App {self.app_id} is not installed on {where}: install it "
                          "there (app settings > Install App), or pass installation_id=")

    def _token_flow(self) -> _TokenFlow:
        """Every request that getting a new installation token takes; returns the token."""
        if self.installation_id is None:
            self.installation_id = yield from self._find_installation()
        installation = self.installation_id
        body: dict[str, Any] = {}
        if self.repositories:
            body["repositories"] = self.repositories
        if self.permissions:
            body["permissions"] = self.permissions
        path = f"/app/installations/{installation}/access_tokens"
        response = yield from self._as_app("POST", path, body or None)
        if response.status_code != 201:
            raise _error(response, endpoint="POST /app/installations/{id}/access_tokens",
                         app_id=self.app_id)
        data = _json(response)
        try:
            value = str(data["token"])
            expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError(f"GitHub's token answer is malformed ({exc!r})", service="github",
                              endpoint=f"POST {path}", status=201) from None
        register_secret(value)
        now = self._clock()
        token = InstallationToken(
            value, expires.timestamp() - self._skew, now, installation,
            data.get("permissions"), data.get("repository_selection"),
        )
        with self._state:
            self._token = token
        message = f"installation {installation}: new token {mask(value)}, valid " \
                  f"{token.expires_at - now:.0f}s"
        logger.debug("integkit: github app %s: %s", self.app_id, message)
        emit("auth", AuthEvent("token_refreshed", "github", message,
                               {"installation_id": installation, "token": mask(value),
                                "expires_at": token.expires_at}))
        return token

    def _fresh(self) -> InstallationToken | None:
        with self._state:
            token = self._token
        return token if token is not None and token.fresh(self._clock(), self.refresh_margin) \
            else None

    def _stale(self, used: InstallationToken) -> bool:
        """After a 401 with ``used``: True unless another caller already replaced it."""
        with self._state:
            if self._token is used:
                self._token = None
            return self._token is None

    @staticmethod
    def _authorize(request: httpx.Request, token: InstallationToken) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {token.token}"
        return request

    # -- the shells ----------------------------------------------------------------------------
    @staticmethod
    def _run(flow: _TokenFlow) -> Generator[httpx.Request, httpx.Response, InstallationToken]:
        outgoing = next(flow)
        while True:
            response = yield outgoing
            response.read()
            try:
                outgoing = flow.send(response)
            except StopIteration as done:
                token: InstallationToken = done.value
                return token

    def _obtain(self) -> Generator[httpx.Request, httpx.Response, InstallationToken]:
        token = self._fresh()
        if token is None:
            with self._refresh:  # the others wait here, then find the new token
                token = self._fresh()
                if token is None:
                    token = yield from self._run(self._token_flow())
        return token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        token = yield from self._obtain()
        response = yield self._authorize(request, token)
        if response.status_code == 401:
            response.read()
            self._stale(token)
            token = yield from self._obtain()
            yield self._authorize(request, token)

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._state:
            lock = self._async_refresh.get(loop)
            if lock is None:
                lock = self._async_refresh[loop] = asyncio.Lock()
        return lock

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        for attempt in range(2):
            token = self._fresh()
            if token is None:
                async with self._async_lock():
                    token = self._fresh()
                    if token is None:
                        flow = self._token_flow()
                        outgoing = next(flow)
                        while True:
                            reply = yield outgoing
                            await reply.aread()
                            try:
                                outgoing = flow.send(reply)
                            except StopIteration as done:
                                token = done.value
                                break
            response = yield self._authorize(request, token)
            if response.status_code != 401 or attempt:
                return
            await response.aread()
            self._stale(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # httpx calls sync_auth_flow / async_auth_flow; this serves anyone driving the flow.
        return self.sync_auth_flow(request)

    # -- outside integkit -----------------------------------------------------------------------
    def token(self, *, client: httpx.Client | None = None) -> str:
        """A valid installation token, for tools outside integkit (``git`` over HTTPS, gh CLI).

        Uses the cached one while it is fresh; otherwise asks GitHub (through ``client`` if
        given, else a short-lived one).
        """
        token = self._fresh()
        if token is not None:
            return token.token
        own = client is None
        http = client or httpx.Client(timeout=30.0)
        try:
            with self._refresh:
                token = self._fresh()
                if token is None:
                    flow = self._token_flow()
                    outgoing = next(flow)
                    while True:
                        try:
                            outgoing = flow.send(http.send(outgoing))
                        except StopIteration as done:
                            token = done.value
                            break
        finally:
            if own:
                http.close()
        return token.token

    def __repr__(self) -> str:
        with self._state:
            token = self._token
        held = f", token={mask(token.token)}" if token is not None else ""
        return f"GitHubApp(app_id={self.app_id!r}, installation_id={self.installation_id!r}{held})"
