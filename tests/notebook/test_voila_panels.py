"""Panels where users run them: a notebook served by Voila on 127.0.0.1, opened in headless
Chromium (Debian's package, driven by Playwright), logging in through ``ik.login``'s panels as
a person would: a key typed into the masked entry and saved (checked against the Stripe
emulator), and an OAuth sign-in whose link opens the sandbox provider's authorization page in a
new tab, which redirects to the panel's loopback listener. The same page shows the HTML cards
of a running sandbox, a Result's stats and ``ik.quota()``.

Voila runs the kernel without stdin, so the old rule (a person can type here) called it
headless and the login raised; a person sees and clicks its widgets, so the panels show.
The emulators run in this test's process, so what the page did is checked where it landed.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import integkit as ik
from integkit.sandbox import SandboxServer
from integkit.sandbox._oauth import OAuthProvider

from ._voila import LAUNCH_ARGS, loopback_only, require_chromium, serve_voila


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture
def services() -> Iterator[tuple[Any, OAuthProvider, str]]:
    """The Stripe emulator (for the key panel) and an OAuth provider (for the sign-in)."""
    oauth = OAuthProvider()
    oauth.register_client("notebook-app", None, scopes=["notes.read", "notes.write"])
    with ik.sandbox("stripe", records=20) as stripe, SandboxServer(oauth) as provider:
        yield stripe, oauth, provider.url


def _notebook(tmp_path: Path, stripe_url: str, provider_url: str) -> Path:
    definition = tmp_path / "notes.yaml"
    definition.write_text(textwrap.dedent(f"""\
        service: notes
        title: Notes
        base_url: {provider_url}
        auth:
          type: oauth2
          token_path: /oauth/token
          revoke_path: /oauth/revoke
          scopes: [notes.read]
          env: {{client_id: NOTES_CLIENT_ID, refresh_token: NOTES_REFRESH_TOKEN}}
        """))
    check = {"path": "/v1/charges", "params": {"limit": 1}}
    cells = [
        "import integkit as ik",
        f"key_panel = ik.login('stripe', base_url={stripe_url!r}, check={json.dumps(check)})\n"
        "key_panel",
        f"oauth_panel = ik.login({str(definition)!r}, client_id='notebook-app')\noauth_panel",
        "sb = ik.sandbox('stripe', records=120)\nsb",
        "charges = sb.connect().list('charges')\nframe = charges.to_frame()\ncharges.stats",
        "ik.quota('stripe')",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = tmp_path / "login.ipynb"
    nbformat.write(notebook, path)
    return path


def test_under_voila_a_person_logs_in_through_the_panels_and_sees_the_cards(
        chromium: Path, services: tuple[Any, OAuthProvider, str], tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import sync_playwright

    stripe, oauth, provider_url = services
    notebook = _notebook(tmp_path, stripe.url, provider_url)
    blocked: list[str] = []
    shot = tmp_path_factory.getbasetemp() / "voila-panels.png"
    with serve_voila(notebook, tmp_path) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 1400})
            context.route("**/*", loopback_only(blocked))
            page = context.new_page()
            page.goto(url, timeout=45_000)
            panels = page.locator(".integkit-login")
            panels.nth(1).wait_for(timeout=60_000)
            assert "headless" not in page.content()
            key_panel, oauth_panel = panels.nth(0), panels.nth(1)

            # -- the key: typed, saved, checked against the emulator, stored encrypted ---------
            key_panel.get_by_text("Paste the key", exact=False).wait_for(timeout=30_000)
            key_panel.locator("input[type=password]").fill(stripe.api_key)
            key_panel.get_by_role("button", name="Save").click()
            key_panel.get_by_text("Key saved (encrypted) for stripe/default",
                                  exact=False).wait_for(timeout=30_000)
            assert "checked: GET /v1/charges answered 200" in key_panel.inner_text()
            assert key_panel.locator("input[type=password]").input_value() == ""
            assert stripe.api_key not in page.content()
            assert ("GET", "/v1/charges", 200) in [
                entry[:3] for entry in stripe.emulator.request_log]

            # -- OAuth: Sign in, the link opens the provider, the redirect comes home ---------
            oauth_panel.get_by_text("Not logged in", exact=False).wait_for(timeout=30_000)
            oauth_panel.get_by_role("button", name="Sign in").click()
            link = oauth_panel.get_by_role("link", name="Open the Notes sign-in page")
            link.wait_for(timeout=30_000)
            with context.expect_page(timeout=30_000) as opened:
                link.click()
            popup = opened.value
            popup.wait_for_load_state(timeout=30_000)
            assert popup.url.startswith("http://127.0.0.1:") and "/callback" in popup.url
            oauth_panel.get_by_text("Logged in: notes/default/notebook-app",
                                    exact=False).wait_for(timeout=30_000)
            text = oauth_panel.inner_text()
            assert "notes.read" in text and "notes.write" not in text
            assert oauth.token_calls["authorization_code"] == 1

            # -- the cards: a running sandbox, what the read cost, the budgets left ----------
            sandbox_card = page.locator(".integkit-sandbox")
            sandbox_card.wait_for(timeout=30_000)
            assert "Sandbox · stripe · running" in sandbox_card.inner_text()
            assert "2025-07-01 12:00 UTC" in sandbox_card.inner_text()
            stats_card = page.locator(".integkit-stats")
            assert "Stats · 120 records in 2 pages" in stats_card.inner_text()
            quota_card = page.locator(".integkit-quota")
            assert "Quota · stripe · not throttled" in quota_card.inner_text()
            assert "rate limits" in quota_card.inner_text()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"panels screenshot: {shot}")
    # Voila's page asks a CDN for its icon font (aborted; it has its own); the login never left
    left = [u for u in blocked if not u.startswith("https://cdn.jsdelivr.net/npm/@fortawesome/")]
    assert not left, f"the page tried to leave loopback: {sorted(set(left))}"
