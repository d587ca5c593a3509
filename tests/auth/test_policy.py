"""Scopes, headless runs, expiry warnings, and secrets that never reach a repr or a log."""

from __future__ import annotations

import logging
import sys
import types
import warnings
from collections.abc import Callable

import httpx
import pytest

import integkit as ik
from integkit.auth._headless import headless_reason, is_interactive
from integkit.auth._oauth import OAuth2, TokenExpiryWarning, parse_challenge
from integkit.auth._tokens import Token

from .conftest import CLIENT_SECRET, Sandbox


def _login(sb: Sandbox, auth: OAuth2) -> Token:
    url, _ = auth.authorization_url()
    return auth.finish(httpx.get(url).headers["location"])


# -- scopes -----------------------------------------------------------------------------------
def test_required_scopes_are_checked_before_the_call(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"])
    _login(sb, auth)
    served = sb.api.served
    with httpx.Client(auth=auth) as client:
        ok = client.get(sb.url + "/v1/items", extensions={"required_scopes": ["items.read"]})
        assert ok.status_code == 200
        with pytest.raises(ik.PermissionDeniedError) as info:
            client.get(sb.url + "/v1/items", extensions={"required_scopes": ["items.write"]})
    message = str(info.value)
    assert "lacks the scope 'items.write'" in message and "it has: items.read" in message
    assert "scopes=['items.read', 'items.write']" in message
    assert f"ik.login({auth.token_id.service!r})" in message
    assert sb.api.served == served + 1  # the refused call was never sent
    auth.require("items.read")
    with pytest.raises(ik.PermissionDeniedError, match="'admin'"):
        auth.require(["items.read", "admin"])
    strict = sb.oauth2(client_id="public-app", scopes=["items.read"], required_scopes="admin",
                       service=auth.token_id.service)
    with pytest.raises(ik.PermissionDeniedError):
        httpx.get(sb.url + "/v1/items", auth=strict)


def test_insufficient_scope_403_becomes_permission_denied(sb: Sandbox) -> None:
    auth = sb.oauth2(scopes=["items.read"], grant="client_credentials")
    with ik.rest(sb.url, auth=auth) as api, pytest.raises(ik.PermissionDeniedError) as info:
        api.request("GET", "/v1/admin")
    err = info.value
    assert err.status == 403 and err.code == "insufficient_scope"
    assert "'admin'" in str(err) and "Add it to OAuth2(..., scopes=['admin', 'items.read'])" \
        in str(err)
    assert sb.provider.rejections["scope"] == 1
    # One cache identity per token set: stable across refreshes, never the token itself.
    assert auth.identity.startswith("oauth2:") and auth.identity == auth.identity
    other_tenant = sb.oauth2(grant="client_credentials", service=auth.token_id.service,
                             profile="globex")
    assert other_tenant.identity != auth.identity
    assert auth.token["access_token"] not in auth.identity  # type: ignore[index]
    assert parse_challenge('Bearer realm="x", error="insufficient_scope", scope="a b"') == {
        "realm": "x", "error": "insufficient_scope", "scope": "a b"}


# -- headless ---------------------------------------------------------------------------------
def test_headless_run_fails_at_once_naming_the_fix(sb: Sandbox,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    auth = sb.oauth2(client_id="public-app", service="acme-crm")
    with ik.rest(sb.url, auth=auth) as api, pytest.raises(ik.AuthenticationError) as info:
        api.request("GET", "/v1/items")
    message = str(info.value)
    assert "headless (CI=true)" in message
    assert "ik.login('acme-crm')" in message and "ACME_CRM_REFRESH_TOKEN" in message
    assert sb.api.served == 0 and not sb.provider.token_calls
    with pytest.raises(ik.AuthenticationError, match="headless"):
        auth.login_loopback(timeout=30)  # never waits for a browser nobody will open


def test_interactive_run_says_how_to_log_in(sb: Sandbox,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "1")
    auth = sb.oauth2(client_id="public-app")
    with pytest.raises(ik.AuthenticationError, match=r"log in first.*login_loopback"):
        auth.fetch_token()


def test_is_interactive_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not is_interactive()  # pytest's stdin is not a terminal
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "yes")
    assert is_interactive()
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "0")
    assert headless_reason() == "INTEGKIT_INTERACTIVE=0"
    monkeypatch.delenv("INTEGKIT_INTERACTIVE")
    monkeypatch.setenv("CI", "1")
    assert headless_reason() == "CI=1"
    monkeypatch.delenv("CI")

    # A Jupyter kernel: interactive exactly when the frontend accepts input.
    kernel = types.SimpleNamespace(_allow_stdin=True)
    shell = types.SimpleNamespace(kernel=kernel)
    fake_ipython = types.ModuleType("IPython")
    fake_ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.delitem(sys.modules, "papermill", raising=False)
    assert is_interactive()
    kernel._allow_stdin = False  # papermill / nbconvert execute with allow_stdin=False
    assert "without a frontend" in (headless_reason() or "")


# -- expiry -----------------------------------------------------------------------------------
def test_refresh_token_expiry_warns_ahead(start_sandbox: Callable[..., Sandbox],
                                          caplog: pytest.LogCaptureFixture) -> None:
    sb = start_sandbox(refresh_token_ttl=3600)  # the server says refresh_token_expires_in
    auth = sb.oauth2(client_id="public-app", warn_before="1d")
    with pytest.warns(TokenExpiryWarning, match=r"refresh token .* expires in 1\.0 hours"):
        _login(sb, auth)
    assert "ik.login" in caplog.text
    info = auth.expiry()
    assert info.logged_in and info.has_refresh_token and info.warning
    assert 3500 < (info.refresh_expires_in or 0) <= 3600
    assert 3500 < (info.access_expires_in or 0) <= 3600
    assert "refresh token expires in" in str(info)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Warned once per refresh token, not on every call.
        assert httpx.get(sb.url + "/oauth/userinfo", auth=auth).status_code == 200


def test_configured_refresh_lifetime(sb: Sandbox) -> None:
    # Google apps in "testing" mode: refresh tokens die after 7 days, unannounced.
    auth = sb.oauth2(client_id="public-app", refresh_token_lifetime="7d", warn_before="1d")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _login(sb, auth)  # 7 days left: no warning yet
    info = auth.expiry()
    assert info.warning is None and 6.9 * 86400 < (info.refresh_expires_in or 0) <= 7 * 86400
    assert not sb.oauth2(client_id="public-app").expiry().logged_in


# -- secrets ----------------------------------------------------------------------------------
def test_no_secret_in_reprs_or_logs(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"])
    token = _login(sb, auth)
    sb.provider.expire_access_tokens()
    conn = ik.rest(sb.url, auth=auth, records_path="items",
                   paginator={"type": "cursor", "cursor_path": "next_cursor",
                              "cursor_param": "cursor"})
    with conn:
        assert len(conn.list("/v1/items", max_records=50).to_frame()) == 50
    confidential = sb.oauth2(scopes=["items.read"], grant="client_credentials")
    confidential.fetch_token()
    secrets = [token["access_token"], token["refresh_token"], CLIENT_SECRET,
               auth.token["access_token"], auth.token["refresh_token"]]  # type: ignore[index]
    shown = " ".join([repr(auth), repr(confidential), repr(auth.token), str(auth.token),
                      repr(auth.store), repr(conn), str(auth.expiry()), caplog.text])
    assert "refreshing the token once" in caplog.text  # the flow did log
    for secret in secrets:
        assert secret not in shown
