"""ik.login: the panels driven as a person would (values set, buttons clicked) against the
sandbox emulators over HTTP on 127.0.0.1; the terminal fallback; the headless error."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import integkit as ik
from integkit.auth import TokenId, TokenStore
from integkit.auth._oauth import default_store
from integkit.sandbox import SandboxServer
from integkit.sandbox._oauth import OAuthProvider

CHECK = {"path": "/v1/charges", "params": {"limit": 1}}


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private state backend (token store, ledger, limits), an interactive session, no
    Stripe key in the environment."""
    path = tmp_path / "state.db"
    before = ik.get_settings()
    ik.configure(state=f"sqlite:///{path}", config_file=None, profile="default")
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "1")
    monkeypatch.delenv("INTEGKIT_CONFIG", raising=False)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    yield path
    ik.configure(state=before.state, config_file=before.config_file, profile=before.profile)


@pytest.fixture
def stripe() -> Iterator[Any]:
    with ik.sandbox("stripe", records=30) as sb:
        yield sb


def _values(widget: Any) -> Iterator[str]:
    """Every string a widget tree holds (values, labels, placeholders, HTML)."""
    for name in ("value", "description", "placeholder", "tooltip"):
        value = getattr(widget, name, None)
        if isinstance(value, str):
            yield value
    for child in getattr(widget, "children", ()):
        yield from _values(child)


def _key_panel(sb: Any, **options: Any) -> Any:
    return ik.login("stripe", ui="widget", base_url=sb.url, check=CHECK, **options)


# -- API keys ----------------------------------------------------------------------------------
def test_key_is_checked_stored_encrypted_and_used_by_connect(state: Path, stripe: Any) -> None:
    with pytest.raises(ik.ConfigError, match=r"STRIPE_SECRET_KEY.*ik\.login\('stripe'\)"):
        ik.connect("stripe", base_url=stripe.url)
    panel = _key_panel(stripe)
    assert "Paste the key" in panel.message

    panel.key.value = "sk_test_not_the_right_key_0000"
    panel.save.click()
    assert panel.key.value == ""
    assert "refused the key" in panel.message and "nothing was stored" in panel.message
    assert default_store().get(TokenId("stripe")) is None

    key = stripe.api_key
    panel.key.value = key
    panel.save.click()
    assert panel.key.value == ""
    assert "Key saved (encrypted) for stripe/default" in panel.message
    assert "checked: GET /v1/charges answered 200" in panel.message
    stored = default_store().get(TokenId("stripe", "default"))
    assert stored is not None and stored["access_token"] == key
    assert stored["grant"] == "api_key" and stored["key_prefix"] == "sk_test_"
    # Encrypted at rest, and shown nowhere.
    with sqlite3.connect(state) as db:
        blobs = [bytes(row[0]) for row in db.execute("SELECT blob FROM ik_tokens")]
    assert blobs and all(key.encode() not in blob for blob in blobs)
    assert key.encode() not in state.read_bytes()
    assert all(key not in text for text in _values(panel.widget))
    assert key not in repr(panel) and key not in repr(stored)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and key not in str(bundle)

    conn = ik.connect("stripe", base_url=stripe.url)  # no argument, no env var
    before = len(stripe.emulator.request_log)
    frame = conn.list("charges").to_frame()
    assert len(frame) == 30
    assert len(stripe.emulator.request_log) > before  # over HTTP, with the stored key
    conn.close()


def test_argument_and_env_var_win_over_the_stored_key(state: Path, stripe: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    panel = _key_panel(stripe)
    panel.key.value = stripe.api_key
    panel.save.click()
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_wrong_env_key_1234")
    with pytest.raises(ik.AuthenticationError):
        ik.connect("stripe", base_url=stripe.url).retrieve("charges", "ch_missing")
    assert ik.connect("stripe", base_url=stripe.url, api_key=stripe.api_key).list(
        "charges", max_records=1).to_frame().shape[0] == 1
    panel.key.value = stripe.api_key
    panel.save.click()
    assert "STRIPE_SECRET_KEY is set in this process and wins" in panel.message


def test_profile_picker_stores_per_profile(state: Path, stripe: Any, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("profiles:\n  acme: {}\n")
    ik.configure(config_file=config)
    panel = _key_panel(stripe)
    assert set(panel.profile.options) >= {"default", "acme"}
    panel.profile.value = "acme"
    assert "stripe/acme" in panel.message
    panel.key.value = stripe.api_key
    panel.save.click()
    assert "stripe/acme" in panel.message
    assert default_store().ids("stripe") == [TokenId("stripe", "acme")]
    assert len(ik.connect("stripe", profile="acme", base_url=stripe.url)
               .list("charges", max_records=3).to_frame()) == 3
    with pytest.raises(ik.ConfigError, match="needs a credential"):
        ik.connect("stripe", base_url=stripe.url)  # the default profile has none


def test_key_without_a_check_call_is_stored_unchecked(state: Path, stripe: Any) -> None:
    store = TokenStore.memory()
    panel = ik.login("stripe", ui="widget", store=store, check=False)
    panel.key.value = "   "
    panel.save.click()
    assert "enter the Stripe key first" in panel.message
    panel.key.value = stripe.api_key
    panel.save.click()
    assert "not checked" in panel.message
    assert store.get(TokenId("stripe"))["access_token"] == stripe.api_key


def test_terminal_fallback_reads_the_key_without_echo(state: Path, stripe: Any) -> None:
    from integkit._notebook._login_spec import login_spec
    from integkit._notebook._login_text import text_login

    said: list[str] = []
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return stripe.api_key

    spec = login_spec("stripe", base_url=stripe.url, check=CHECK)
    result = text_login(spec, "default", ask_secret=getpass, say=said.append)
    assert "(hidden)" in prompts[0]
    assert result.checked and stripe.api_key not in "".join(said)
    assert ik.connect("stripe", base_url=stripe.url).list("charges", max_records=1).to_frame() \
        .shape[0] == 1


# -- OAuth -------------------------------------------------------------------------------------
@pytest.fixture
def provider() -> Iterator[tuple[OAuthProvider, str]]:
    oauth = OAuthProvider(device_interval=0.05)
    oauth.register_client("notebook-app", None, scopes=["notes.read", "notes.write"])
    with SandboxServer(oauth) as server:
        yield oauth, server.url


@pytest.fixture
def notes(tmp_path: Path, provider: tuple[OAuthProvider, str]) -> str:
    """A user's own connector definition whose auth is OAuth 2.0 (the sandbox provider)."""
    path = tmp_path / "notes.yaml"
    path.write_text(textwrap.dedent(f"""\
        service: notes
        title: Notes
        base_url: {provider[1]}
        auth:
          type: oauth2
          token_path: /oauth/token
          device_path: /oauth/device/code
          revoke_path: /oauth/revoke
          scopes: [notes.read]
          env: {{client_id: NOTES_CLIENT_ID, refresh_token: NOTES_REFRESH_TOKEN}}
        """))
    return str(path)


def _follow(url: str) -> None:
    """A programmatic browser: the provider approves and redirects to the loopback listener."""
    assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200


def test_oauth_browser_login_through_the_panel(state: Path, notes: str,
                                               provider: tuple[OAuthProvider, str]) -> None:
    oauth, url = provider
    panel = ik.login(notes, ui="widget", client_id="notebook-app", browser=_follow)
    assert "Not logged in" in panel.message and not panel.logged_in
    panel.sign_in.click()
    assert panel.wait(10)
    assert panel.logged_in, panel.message
    assert panel.message.startswith("Logged in: notes/default/notebook-app")
    assert "notes.read" in panel.scopes.value and "notes.write" not in panel.scopes.value
    assert oauth.token_calls["authorization_code"] == 1
    token = default_store().get(TokenId("notes", "default", "notebook-app"))
    assert token is not None and token["access_token"] not in repr(panel)
    assert all(token["access_token"] not in text for text in _values(panel.widget))
    # What the login stored opens the API (and is refreshed later without a prompt).
    assert httpx.get(url + "/oauth/userinfo", auth=panel.auth).json()["scope"] == "notes.read"
    panel.logout.click()
    assert "Logged out" in panel.message
    assert default_store().get(TokenId("notes", "default", "notebook-app")) is None


def test_oauth_paste_back_when_the_browser_cannot_reach_the_kernel(
        state: Path, notes: str, provider: tuple[OAuthProvider, str]) -> None:
    seen: list[str] = []
    panel = ik.login(notes, ui="widget", client_id="notebook-app", browser=seen.append)
    panel.sign_in.click()
    # The browser runs elsewhere: it ends on http://127.0.0.1:PORT/callback?code=... and
    # the person pastes that address.
    redirected = httpx.get(seen[0], follow_redirects=False).headers["location"]
    panel.paste.value = redirected
    panel.finish.click()
    assert panel.wait(10)
    assert panel.paste.value == ""
    assert panel.logged_in, panel.message
    assert "notes.read" in panel.scopes.value


def test_oauth_device_code_for_remote_kernels(state: Path, notes: str,
                                              provider: tuple[OAuthProvider, str]) -> None:
    oauth, _ = provider
    panel = ik.login(notes, ui="widget", client_id="notebook-app")
    panel.device.click()
    assert panel.device_login is not None
    assert panel.device_login.user_code in panel.link.value
    assert oauth.approve_device(panel.device_login.user_code)
    assert panel.wait(10)
    assert panel.logged_in, panel.message
    assert oauth.token_calls["device_code"] == 1


def test_salesforce_login_then_connect_uses_the_stored_token(state: Path) -> None:
    with ik.sandbox("salesforce", records=40) as sb:
        app = {k: sb.credentials[k] for k in ("client_id", "client_secret")}
        panel = ik.login("salesforce", ui="widget", base_url=sb.url, browser=_follow, **app)
        panel.sign_in.click()
        assert panel.wait(10) and panel.logged_in, panel.message
        sf = ik.connect("salesforce", base_url=sb.url, **app)  # no refresh token given
        assert len(sf.query("SELECT Id, Name FROM Account").to_frame()) > 0
        sf.close()


def test_oauth_needs_the_apps_client_id(state: Path, notes: str) -> None:
    with pytest.raises(ik.ConfigError, match="NOTES_CLIENT_ID"):
        ik.login(notes, ui="widget")


# -- headless ----------------------------------------------------------------------------------
def test_headless_login_raises_naming_what_to_set(state: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "0")
    for name in ("SALESFORCE_REFRESH_TOKEN", "SALESFORCE_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ik.AuthenticationError) as key:
        ik.login("stripe")
    assert "headless (INTEGKIT_INTERACTIVE=0)" in str(key.value)
    assert "set STRIPE_SECRET_KEY" in str(key.value) and "ik.login('stripe')" in str(key.value)
    with pytest.raises(ik.AuthenticationError) as oauth:
        ik.login("salesforce")
    assert "set SALESFORCE_REFRESH_TOKEN" in str(oauth.value)


def test_headless_login_goes_on_when_the_credential_is_there(
        state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook's login cell in a scheduled run: the env var the headless error would ask
    for is set, or a login is stored for the profile, so nothing is asked and nothing raised."""
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "0")
    monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("SALESFORCE_REFRESH_TOKEN", "5Aep861TSESvWeug_not_a_real_one")
    found = ik.login("salesforce")
    assert str(found) == ("salesforce/default: nothing asked (INTEGKIT_INTERACTIVE=0); "
                          "ik.connect('salesforce') uses SALESFORCE_REFRESH_TOKEN, which is set")
    assert "5Aep861" not in repr(found)

    default_store().put(TokenId("stripe", "default"), {
        "access_token": "sk_test_stored_by_a_login_0000", "grant": "api_key",
        "token_type": "bearer"})
    found = ik.login("stripe")
    assert found.credential == "the login stored for stripe/default/default"
    assert "sk_test_stored" not in repr(found)
    with pytest.raises(ik.AuthenticationError, match="set STRIPE_SECRET_KEY"):
        ik.login("stripe", profile="staging")  # that profile has none


def test_headless_run_prompts_nothing_and_loads_no_widget() -> None:
    code = textwrap.dedent("""\
        import sys
        import integkit as ik
        try:
            ik.login("stripe")
        except ik.AuthenticationError as exc:
            print(exc)
        print("ipywidgets" in sys.modules)
        """)
    env = {k: v for k, v in os.environ.items() if k != "INTEGKIT_INTERACTIVE"}
    env["CI"] = "true"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    message, widgets_loaded = done.stdout.strip().splitlines()
    assert "headless (CI=true)" in message and "STRIPE_SECRET_KEY" in message
    assert widgets_loaded == "False"
