"""Each grant end to end against the sandbox provider, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from integkit import AuthenticationError, ConfigError, PermissionDeniedError
from integkit.auth._oauth import OAuth2
from integkit.auth._tokens import TokenStore

from .conftest import CLIENT_SECRET, Sandbox


class Sleeps(list[float]):
    """A recorded sleep for device polling; ``then`` runs on the n-th call."""

    def __init__(self, then: dict[int, Callable[[], None]] | None = None) -> None:
        super().__init__()
        self.then = then or {}

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        action = self.then.get(len(self))
        if action is not None:
            action()


def _approve(url: str) -> None:
    """The user's browser: follows the authorize URL to wherever it redirects."""
    httpx.get(url, follow_redirects=True, timeout=10)


def _userinfo(sb: Sandbox, auth: OAuth2) -> dict[str, Any]:
    response = httpx.get(sb.url + "/oauth/userinfo", auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- authorization code + PKCE ----------------------------------------------------------------
def test_authorization_code_paste_back(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app", scopes=["items.read", "profile"])
    assert auth.grant == "authorization_code"
    url, state = auth.authorization_url()
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [state]
    assert query["redirect_uri"] == ["http://127.0.0.1/callback"]
    # The provider redirects to a loopback URL nobody listens on: the user copies it.
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    token = auth.finish(answer.headers["location"])
    assert token.scopes == {"items.read", "profile"} and token["refresh_token"]
    assert sb.provider.token_calls["authorization_code"] == 1
    assert _userinfo(sb, auth)["sub"] == "analyst@sandbox.test"
    # Persisted: a fresh object (a papermill run) finds the login.
    again = sb.oauth2(client_id="public-app", scopes=["items.read"],
                      service=auth.token_id.service)
    assert _userinfo(sb, again)["client_id"] == "public-app"
    assert sb.provider.token_calls["authorization_code"] == 1


def test_finish_checks_state_and_pkce(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app", scopes=["profile"])
    url, state = auth.authorization_url()
    location = httpx.get(url).headers["location"]
    forged = location.replace(f"state={state}", "state=forged")
    with pytest.raises(AuthenticationError, match="state does not match"):
        auth.finish(forged)
    # A code exchanged with the wrong verifier is refused by the provider (PKCE S256).
    auth._pending[state].verifier = "x" * 64
    with pytest.raises(AuthenticationError, match="invalid_grant.*code_verifier"):
        auth.finish(location)
    assert sb.provider.token_errors["invalid_grant"] == 1


def test_denied_login_is_reported(start_sandbox: Callable[..., Sandbox]) -> None:
    sb = start_sandbox(auto_approve=False)
    auth = sb.oauth2(client_id="public-app", scopes=["profile"])
    url, _ = auth.authorization_url()
    with pytest.raises(AuthenticationError, match="not approved.*access_denied"):
        auth.finish(httpx.get(url).headers["location"])


def test_provider_refuses_plain_pkce_and_missing_challenge(sb: Sandbox) -> None:
    base = sb.endpoints()["authorize_url"]
    common = {"client_id": "public-app", "response_type": "code", "state": "s1",
              "redirect_uri": "http://127.0.0.1:9/cb"}
    for extra in ({}, {"code_challenge": "a" * 43, "code_challenge_method": "plain"}):
        location = httpx.get(base, params={**common, **extra}).headers["location"]
        params = parse_qs(urlsplit(location).query)
        assert params["error"] == ["invalid_request"] and params["state"] == ["s1"]
    bad = httpx.get(base, params={**common, "redirect_uri": "https://evil.example/cb"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"


def test_login_loopback(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"])
    seen: list[str] = []

    def browser(url: str) -> None:
        seen.append(url)
        threading.Thread(target=_approve, args=(url,), daemon=True).start()

    token = auth.login_loopback(on_url=browser, open_browser=False, timeout=10)
    redirect = parse_qs(urlsplit(seen[0]).query)["redirect_uri"][0]
    assert redirect.startswith("http://127.0.0.1:") and redirect.endswith("/callback")
    assert token["access_token"] and auth.token is not None
    assert _userinfo(sb, auth)["scope"] == "items.read"


def test_login_loopback_times_out(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app")
    with pytest.raises(AuthenticationError, match="no login redirect arrived"):
        auth.login_loopback(on_url=lambda url: None, timeout=0.3)


# -- device authorization grant ---------------------------------------------------------------
def test_device_flow_with_pending_and_slow_down(start_sandbox: Callable[..., Sandbox]) -> None:
    sb = start_sandbox(device_interval=1)
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"], authorize_url=None)
    assert auth.grant == "device_code"
    login = auth.start_device()
    assert len(login.user_code) == 9 and login.verification_uri.endswith("/oauth/device")
    assert login.user_code in str(login) and login.interval == 1
    sb.provider.slow_down_next = 1

    def approve() -> None:  # the user types the code on another device
        answer = httpx.post(sb.url + "/oauth/device/approve", data={"user_code": login.user_code})
        assert answer.json() == {"status": "approved"}

    sleeps = Sleeps({3: approve})
    token = auth.poll_device(sleep=sleeps)
    # 1st poll: slow_down (+5 s), 2nd: pending, 3rd (after approval): tokens.
    assert sleeps == [1, 6, 6]
    assert token["refresh_token"] and token.scopes == {"items.read"}
    assert sb.provider.token_errors["slow_down"] == 1
    assert sb.provider.token_errors["authorization_pending"] == 1
    assert sb.provider.token_calls["device_code"] == 1
    assert _userinfo(sb, auth)["sub"] == "analyst@sandbox.test"


def test_device_flow_denied_and_expired(start_sandbox: Callable[..., Sandbox]) -> None:
    sb = start_sandbox(device_interval=0, device_code_ttl=0.3)
    auth = sb.oauth2(client_id="public-app", grant="device_code")
    login = auth.start_device()
    sb.provider.approve_device(login.user_code, approve=False)
    with pytest.raises(AuthenticationError, match="denied"):
        auth.poll_device(sleep=Sleeps())
    auth.start_device()
    with pytest.raises(AuthenticationError, match="expired before the login was approved"):
        auth.poll_device(sleep=lambda s: time.sleep(0.35))
    with pytest.raises(ConfigError, match="start_device"):
        auth.poll_device()


# -- client credentials -----------------------------------------------------------------------
def test_client_credentials(sb: Sandbox) -> None:
    auth = sb.oauth2(scopes=["items.read"], grant="client_credentials", authorize_url=None)
    assert _userinfo(sb, auth) == {"sub": "app", "client_id": "app", "scope": "items.read"}
    assert _userinfo(sb, auth)["sub"] == "app"
    assert sb.provider.token_calls == {"client_credentials": 1}
    assert auth.token_id.account == "app"


def test_client_credentials_bad_secret_and_bad_scope(sb: Sandbox) -> None:
    wrong = sb.oauth2(client_secret="not-the-secret", grant="client_credentials")
    with pytest.raises(AuthenticationError, match="invalid_client") as info:
        wrong.fetch_token()
    assert "Check client_id and client_secret" in str(info.value)
    greedy = sb.oauth2(scopes=["items.read", "root"], grant="client_credentials")
    with pytest.raises(PermissionDeniedError, match="invalid_scope.*root"):
        greedy.fetch_token()


# -- refresh token grant ----------------------------------------------------------------------
def test_refresh_token_from_env_rotates_and_persists(sb: Sandbox,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seed = sb.provider.issue("app", ["items.read"])["refresh_token"]
    service = "crm-svc-test"
    monkeypatch.setenv("CRM_SVC_TEST_REFRESH_TOKEN", seed)
    auth = sb.oauth2(service=service, grant="refresh_token")
    assert auth.refresh_token_env == "CRM_SVC_TEST_REFRESH_TOKEN"
    assert _userinfo(sb, auth)["scope"] == "items.read"
    stored = auth.token
    assert stored is not None and stored["refresh_token"] != seed  # rotated
    assert sb.provider.tokens[seed].revoked
    # The stored (rotated) token wins over the now-dead env seed in the next run.
    later = sb.oauth2(service=service, grant="refresh_token")
    later.refresh()
    assert later.token["refresh_token"] not in (seed, stored["refresh_token"])  # type: ignore[index]
    assert sb.provider.token_calls["refresh_token"] == 2
    assert sb.provider.token_errors["invalid_grant"] == 0


def test_revoked_refresh_token_says_log_in_again(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"])
    url, _ = auth.authorization_url()
    token = auth.finish(httpx.get(url).headers["location"])
    sb.provider.revoke(token["refresh_token"])
    with pytest.raises(AuthenticationError) as info:
        auth.refresh()
    text = str(info.value)
    assert "invalid_grant" in text and f"ik.login({auth.token_id.service!r})" in text


# -- JWT bearer (Google service accounts) -----------------------------------------------------
def _service_account(tmp_path: Path) -> tuple[dict[str, str], RSAKey]:
    key = RSAKey.generate_key(2048)
    info = {"type": "service_account", "client_email": "etl@proj.iam.gserviceaccount.test",
            "private_key_id": "kid-1", "private_key": key.as_pem(private=True).decode()}
    return info, key


def test_jwt_bearer_service_account(sb: Sandbox, tmp_path: Path) -> None:
    info, key = _service_account(tmp_path)
    sb.provider.register_jwt_issuer(info["client_email"], key.as_pem(private=False),
                                    scopes=["items.read", "profile"],
                                    subjects=["boss@acme.test"])
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({**info, "token_uri": sb.endpoints()["token_url"]}))
    auth = OAuth2.service_account(path, scopes=["items.read"], subject="boss@acme.test",
                                  service="google-test", store=False)
    assert auth.grant == "jwt_bearer" and auth.token_url.endswith("/oauth/token")
    assert auth.token_id.account == "etl@proj.iam.gserviceaccount.test/boss@acme.test"
    assert _userinfo(sb, auth) == {"sub": "boss@acme.test", "scope": "items.read",
                                   "client_id": info["client_email"]}
    seen = sb.provider.last_assertion
    assert seen is not None
    claims = seen["claims"]
    assert claims["iss"] == info["client_email"] and claims["sub"] == "boss@acme.test"
    assert claims["aud"] == sb.endpoints()["token_url"] and claims["scope"] == "items.read"
    assert claims["exp"] - claims["iat"] == 3600 and abs(claims["iat"] - time.time()) < 30
    assert seen["header"] == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    # No refresh token: on expiry a new assertion is signed (the jti differs, so it is
    # accepted).
    auth.refresh()
    assert sb.provider.token_calls["jwt_bearer"] == 2


def test_jwt_bearer_refusals(sb: Sandbox, tmp_path: Path) -> None:
    info, key = _service_account(tmp_path)
    other = RSAKey.generate_key(2048)
    sb.provider.register_jwt_issuer(info["client_email"], other.as_pem(private=False))
    auth = OAuth2(token_url=sb.endpoints()["token_url"], service_account=info,
                  scopes=["items.read"], store=False)
    with pytest.raises(AuthenticationError, match="signature does not verify") as err:
        auth.fetch_token()
    assert "service account key" in str(err.value)
    sb.provider.register_jwt_issuer(info["client_email"], key.as_pem(private=False),
                                    subjects=["someone@acme.test"])
    delegated = OAuth2(token_url=sb.endpoints()["token_url"], service_account=info,
                       subject="boss@acme.test", store=False)
    with pytest.raises(AuthenticationError, match="may not act as boss@acme.test"):
        delegated.fetch_token()
    with pytest.raises(ConfigError, match="private_key"):
        OAuth2(token_url="http://x/token", service_account={"client_email": "x@y"})


# -- revocation and configuration -------------------------------------------------------------
def test_revoke_logs_out(sb: Sandbox) -> None:
    store = TokenStore.memory()
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"], store=store)
    url, _ = auth.authorization_url()
    token = auth.finish(httpx.get(url).headers["location"])
    auth.revoke()
    assert auth.token is None and store.ids() == []
    assert sb.provider.tokens[token["refresh_token"]].revoked
    assert sb.provider.tokens[token["access_token"]].revoked


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="token_url"):
        OAuth2(client_id="x")
    with pytest.raises(ConfigError, match="cannot tell which grant"):
        OAuth2(token_url="http://127.0.0.1:9/token", client_id="x")
    with pytest.raises(ConfigError, match="needs authorize_url"):
        OAuth2(token_url="http://127.0.0.1:9/token", client_id="x", grant="authorization_code")
    auth = OAuth2(token_url="http://127.0.0.1:9/token", client_id="x", client_secret="y" * 10)
    assert auth.grant == "client_credentials" and auth.token_id.service == "127.0.0.1"
    with pytest.raises(ConfigError, match="authorize_url"):
        auth.authorization_url()
    web = OAuth2(token_url="http://127.0.0.1:9/token", authorize_url="http://127.0.0.1:9/a",
                 client_id="x", redirect_uri="https://app.example/callback")
    with pytest.raises(ConfigError, match="loopback redirect_uri"):
        web.login_loopback(on_url=print)


def test_unreachable_token_endpoint_is_a_network_error() -> None:
    from integkit import NetworkError

    auth = OAuth2(token_url="http://127.0.0.1:9/token", client_id="x",
                  client_secret=CLIENT_SECRET, store=False, timeout=2)
    with pytest.raises(NetworkError, match="could not be reached"):
        auth.fetch_token()
