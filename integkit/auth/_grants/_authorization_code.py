"""The authorization code grant with PKCE S256 (RFC 6749 section 4.1, RFC 7636): a person
approves in the browser; the redirected URL comes back pasted (:meth:`AuthorizationCode.start`
then :meth:`~AuthorizationCode.exchange`) or caught by a loopback listener
(:meth:`~AuthorizationCode.loopback`), and its code is exchanged with the PKCE verifier."""

from __future__ import annotations

import time
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from ..._errors import AuthenticationError, ConfigError
from ..._events import register_secret
from .._oauth_client import OAuthClient
from .._oauth_endpoint import TokenEndpoint
from ._base import Grant, GrantName
from ._loopback import LOOPBACK_HOSTS, Loopback

__all__ = ["AuthorizationCode", "PendingLogin", "not_started"]

_PENDING_TTL = 900.0
#: Nothing listens there: the browser shows an error page whose URL is the one to paste back.
_PASTE_BACK = "http://127.0.0.1/callback"


def not_started(service: str) -> AuthenticationError:
    """A redirected URL whose login was not started here (or was finished already)."""
    return AuthenticationError(
        "the redirected URL does not belong to a login started here (its state does not match)",
        service=service,
        hint="Start again with auth.authorization_url() or auth.login_loopback() and paste the "
             "URL of that login.")


@dataclass
class PendingLogin:
    """A login started here: its PKCE verifier and where the browser is sent back to."""

    verifier: str = field(repr=False)
    redirect_uri: str
    started: float


@dataclass(eq=False)
class AuthorizationCode(Grant):
    """Browser logins at ``authorize_url``, sent back to ``redirect_uri`` (default: a
    loopback URL), with extra authorization URL ``params`` (``access_type=offline``...).

    >>> grant = ik.auth.AuthorizationCode("https://login.example.com/authorize")  # doctest: +SKIP
    """

    name: ClassVar[GrantName] = "authorization_code"
    label: ClassVar[str] = "authorization code"

    authorize_url: str
    redirect_uri: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    #: Logins started and not finished yet, by ``state`` (forgotten after 15 minutes).
    pending: dict[str, PendingLogin] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def needs(cls, client: OAuthClient) -> list[str]:
        return [] if client.client_id else ["client_id"]

    def start(self, client: OAuthClient, scopes: Sequence[str], *,
              redirect_uri: str | None = None, **params: str) -> tuple[str, str]:
        """The URL to open to log in (PKCE S256) and its ``state``."""
        from authlib.common.security import generate_token  # with authlib's first use

        redirect_uri = redirect_uri or self.redirect_uri or _PASTE_BACK
        verifier = generate_token(64)
        with client.authlib() as session:
            url, state = session.create_authorization_url(
                self.authorize_url, code_verifier=verifier, redirect_uri=redirect_uri,
                scope=" ".join(scopes) or None, **{**self.params, **params},
            )
        now = time.time()
        self.pending = {s: p for s, p in self.pending.items() if now - p.started < _PENDING_TTL}
        self.pending[str(state)] = PendingLogin(verifier, redirect_uri, now)
        return str(url), str(state)

    def exchange(self, endpoint: TokenEndpoint, redirected_url: str) -> dict[str, Any]:
        """The token response for the URL the browser was redirected to: checks ``state``,
        then exchanges the code with the PKCE verifier."""
        params = {k: v[-1] for k, v in parse_qs(urlsplit(redirected_url).query).items()}
        service = endpoint.advice.service
        if params.get("code"):
            register_secret(params["code"])
        pending = self.pending.pop(params.get("state", ""), None)
        if pending is None:
            raise not_started(service)
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
        return endpoint.fetch("the authorization code", grant_type="authorization_code",
                              code=code, redirect_uri=pending.redirect_uri,
                              code_verifier=pending.verifier)

    def loopback(self, endpoint: TokenEndpoint, scopes: Sequence[str], *, timeout: float,
                 port: int, open_browser: bool,
                 on_url: Callable[[str], Any] | None) -> str:
        """Start a login whose redirect a one-shot listener on 127.0.0.1 catches (a free
        port, unless ``redirect_uri`` names one); the redirected URL, within ``timeout``.
        ``on_url(url)`` gets the login URL (default: printed, and opened in the browser when
        ``open_browser``)."""
        service = endpoint.advice.service
        host, path = "127.0.0.1", "/callback"
        if self.redirect_uri:
            parts = urlsplit(self.redirect_uri)
            if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
                raise ConfigError(
                    f"login_loopback() needs a loopback redirect_uri (http://127.0.0.1:PORT/...),"
                    f" not {self.redirect_uri!r}; use auth.authorization_url() and "
                    "auth.finish(url) with that redirect instead")
            host, port, path = parts.hostname or host, parts.port or port, parts.path or "/"
        with Loopback(host, port, path) as listener:
            url, _ = self.start(endpoint.client, scopes, redirect_uri=listener.redirect_uri)
            if on_url is not None:
                on_url(url)
            else:
                print(f"Log in to {service} in your browser: {url}")
                if open_browser:
                    webbrowser.open(url)
            redirected = listener.wait(timeout)
        if redirected is None:
            raise AuthenticationError(
                f"no login redirect arrived within {timeout:.0f}s", service=service,
                hint="Run the login again and approve it in the browser; or use "
                     "auth.authorization_url() and auth.finish(url).")
        return redirected
