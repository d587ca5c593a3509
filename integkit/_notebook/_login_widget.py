"""The login panels (ipywidgets): masked key entry for API-key services, browser / paste-back /
device-code sign-in for OAuth services, with a profile (tenant) picker and a status line.

A panel is a plain object holding its widgets (``panel.widget`` is the VBox shown; the parts
are attributes, so tests drive them: ``panel.key.value = ...; panel.save.click()``). Nothing
secret stays in a widget: the Password box and the pasted URL are cleared as they are read,
and the status line shows only public facts (profile, scopes, expiry, key kind).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets

from .._errors import IntegkitError
from ..auth import DeviceLogin, OAuth2, Token, TokenId
from ._login_key import KeyLogin, save_key
from ._login_oauth import BrowserLogin, DeviceFlow
from ._login_spec import LoginSpec

__all__ = ["KeyPanel", "OAuthPanel"]

_OK, _ERROR, _INFO = "#1a7f37", "#cf222e", "#57606a"
T = TypeVar("T")


class _Panel:
    """What both panels share: the profile picker, the status line, display."""

    kind = ""

    def __init__(self, spec: LoginSpec, profile: str) -> None:
        self.spec = spec
        self.header = widgets.HTML(f"<b>{html.escape(spec.title)}</b> "
                                   f"<span style='color:{_INFO}'>({self.kind})</span>")
        self.profile = widgets.Combobox(
            value=profile, options=spec.profiles(profile), description="Profile",
            placeholder="default", ensure_option=False,
            tooltip="the profile (tenant) the login is stored for")
        self.status = widgets.HTML()
        self.profile.observe(self._on_profile, names="value")
        self.widget: Any = None

    @property
    def current_profile(self) -> str:
        return self.profile.value.strip() or "default"

    def _say(self, text: str, color: str = _INFO) -> None:
        self.status.value = f"<span style='color:{color}'>{html.escape(text)}</span>"

    @property
    def message(self) -> str:
        """The status line as text."""
        return html.unescape(_strip_tags(self.status.value))

    def _on_profile(self, change: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Show what is stored for the picked profile."""

    def _show(self, rows: list[Any]) -> None:
        """The panel's VBox, marked so that pages and browser tests can find it."""
        self.widget = widgets.VBox(rows)
        self.widget.add_class("integkit-login")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.spec.service} profile={self.current_profile!r}: "
                f"{self.message or 'ready'}>")


def _strip_tags(text: str) -> str:
    out, inside = [], False
    for char in text:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)


class KeyPanel(_Panel):
    """Masked API-key entry: checked with one cheap call when the definition names one, then
    stored encrypted for (service, profile), where ``ik.connect(service)`` finds it."""

    kind = "API key"

    def __init__(self, spec: LoginSpec, profile: str, *, check: bool = True) -> None:
        super().__init__(spec, profile)
        self.check = check
        basic = spec.scheme == "basic"
        self.username = widgets.Text(description="User", placeholder="user name")
        self.key = widgets.Password(description="Password" if basic else "Key",
                                    placeholder=f"paste the {spec.title} "
                                                f"{'password' if basic else 'key'}")
        self.save = widgets.Button(description="Save", button_style="primary", icon="lock",
                                   tooltip="check the key and store it encrypted")
        self.save.on_click(self._on_save)
        self.result: KeyLogin | None = None
        self._show([self.header, self.profile, *([self.username] if basic else []), self.key,
                    self.save, self.status])
        self.refresh()

    def refresh(self) -> None:
        env = self.spec.env_var()
        token_id = TokenId(self.spec.service, self.current_profile)
        try:
            stored = self.spec.token_store.get(token_id)
        except IntegkitError as exc:
            self._say(f"The stored key cannot be read ({exc}); saving a new one replaces it.",
                      _ERROR)
            return
        if stored is not None and stored.get("grant") == "api_key":
            kind = f" ({stored['key_prefix']}…)" if stored.get("key_prefix") else ""
            text = f"A key{kind} is stored for {token_id.service}/{token_id.profile}; " \
                   "saving replaces it."
        else:
            text = f"Paste the key and press Save; it is stored encrypted for " \
                   f"{token_id.service}/{token_id.profile}."
        if env:
            text += f" {env} wins over it when set."
        self._say(text)

    def _on_save(self, _button: Any = None) -> None:
        secret, self.key.value = self.key.value, ""  # never left in the widget
        username = self.username.value.strip() or None
        self._say("Checking the key…")
        try:
            self.result = save_key(self.spec, secret, profile=self.current_profile,
                                   username=username, check=self.check)
        except IntegkitError as exc:
            self.result = None
            self._say(str(exc), _ERROR)
            return
        self._say(str(self.result), _OK)


class OAuthPanel(_Panel):
    """OAuth sign-in: the browser (authorization code + PKCE, caught by a loopback listener,
    or completed by pasting the address the browser ended on), or a device code."""

    kind = "OAuth sign-in"

    def __init__(self, spec: LoginSpec, profile: str, *, timeout: float = 300.0,
                 browser: Callable[[str], Any] | None = None) -> None:
        super().__init__(spec, profile)
        self.timeout = timeout
        self.browser = browser
        self.flow: BrowserLogin | DeviceFlow | None = None
        self.device_login: DeviceLogin | None = None
        self.auth: OAuth2 = spec.oauth(profile)
        self.sign_in = widgets.Button(description="Sign in", button_style="primary",
                                      icon="sign-in", tooltip="sign in with the browser")
        self.link = widgets.HTML()
        self.paste = widgets.Text(description="Address", placeholder="if the browser ends on "
                                  "a page that cannot be reached, paste its address here")
        self.finish = widgets.Button(description="Finish", tooltip="complete the sign-in "
                                     "with the pasted address")
        self.device = widgets.Button(description="Use a device code", icon="mobile",
                                     tooltip="for a kernel on another machine")
        self.logout = widgets.Button(description="Log out", icon="sign-out")
        self.scopes = widgets.HTML()
        self.sign_in.on_click(self._on_sign_in)
        self.finish.on_click(self._on_finish)
        self.device.on_click(self._on_device)
        self.logout.on_click(self._on_logout)
        buttons = [self.sign_in, *([self.device] if self.auth.device_authorization_url else []),
                   self.logout]
        self._show([self.header, self.profile, widgets.HBox(buttons), self.link,
                    widgets.HBox([self.paste, self.finish]), self.status, self.scopes])
        self.refresh()

    # -- state ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._stop()
        try:
            self.auth = self.spec.oauth(self.current_profile)
            expiry = self.auth.expiry()
        except IntegkitError as exc:
            self._say(str(exc), _ERROR)
            return
        self.link.value = ""
        if expiry.logged_in:
            self._show_login(f"Logged in: {expiry}")
        else:
            self.scopes.value = ""
            self._say(f"Not logged in to {self.spec.title} as {self.auth.token_id}. "
                      "Press Sign in.")

    def _show_login(self, text: str) -> None:
        expiry = self.auth.expiry()
        self._say(text + (f". {expiry.warning}" if expiry.warning else ""),
                  _ERROR if expiry.warning else _OK)
        token = self.auth.token
        if token is not None and "scope" in token:
            names = " ".join(sorted(token.scopes)) or "none"
            self.scopes.value = f"Granted scopes: <code>{html.escape(names)}</code>"
        else:
            self.scopes.value = "The server did not list the granted scopes."

    @property
    def logged_in(self) -> bool:
        return self.auth.expiry().logged_in

    def _stop(self) -> None:
        if self.flow is not None:
            self.flow.cancel()
            self.flow = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running sign-in ends (for scripts and tests); whether it did."""
        flow = self.flow
        return True if flow is None else flow.wait(timeout)

    def _done(self, token: Token | None, error: Exception | None) -> None:
        self.link.value = ""
        if error is not None:
            self._say(f"Sign-in failed: {error}", _ERROR)
            return
        self._show_login(f"Logged in: {self.auth.expiry()}")

    # -- buttons -------------------------------------------------------------------------------
    def _begin(self, flow: BrowserLogin | DeviceFlow, start: Callable[[], T]) -> T | None:
        """Stop the running flow and start ``flow`` (``start`` is its ``start``): what that
        returns, or None, its error shown, when the flow cannot start."""
        self._stop()
        try:
            started = start()
        except IntegkitError as exc:
            self._say(str(exc), _ERROR)
            return None
        self.flow = flow
        return started

    def _on_sign_in(self, _button: Any = None) -> None:
        flow = BrowserLogin(self.auth, self._done, self.timeout)
        url = self._begin(flow, flow.start)
        if url is None:
            return
        self.link.value = (f"<a href='{html.escape(url, quote=True)}' target='_blank' "
                           f"rel='noopener'>Open the {html.escape(self.spec.title)} sign-in "
                           "page</a>")
        self._say("Waiting for the sign-in in the browser…")
        if self.browser is not None:
            self.browser(url)

    def _on_finish(self, _button: Any = None) -> None:
        pasted, self.paste.value = self.paste.value, ""  # it carries the one-time code
        flow = self.flow
        if not isinstance(flow, BrowserLogin):
            self._say("Press Sign in first, then paste the address the browser ended on.",
                      _ERROR)
            return
        try:
            flow.paste(pasted)
        except IntegkitError as exc:
            self._say(str(exc), _ERROR)

    def _on_device(self, _button: Any = None) -> None:
        flow = DeviceFlow(self.auth, self._done, self.timeout)
        device = self._begin(flow, flow.start)
        if device is None:
            return
        self.device_login = device
        self.link.value = device._repr_html_()
        self._say("Waiting for the device login to be approved…")

    def _on_logout(self, _button: Any = None) -> None:
        self._stop()
        try:
            self.auth.revoke()
        except IntegkitError as exc:
            self._say(f"Logging out failed: {exc}", _ERROR)
            return
        self.scopes.value = ""
        self._say(f"Logged out: the tokens of {self.auth.token_id} are forgotten.")
