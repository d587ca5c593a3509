"""``ik.login(service)``: the login panel of a service, or its terminal fallback, or, where
nobody can answer (papermill, CI, no frontend), the credential that is there already (its env
var, a stored login) or else an AuthenticationError naming what to set.

Voila runs the notebook in a kernel without stdin, which looks headless, yet renders every
widget to the person viewing the page: there the panel is shown (see ``_frontend``).

    ik.login("stripe")                      # masked key entry; ik.connect("stripe") finds it
    ik.login("salesforce")                  # sign in with the browser (or a device code)

What a login stores goes to the encrypted token store of the configured state backend, so a
scheduled run of the same notebook uses it without asking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .._config import get_settings
from .._errors import ConfigError
from .._validate import positive_duration
from ..auth import TokenStore, headless_reason, ipython_shell
from ._frontend import frontend_missing
from ._login_spec import login_spec

__all__ = ["LoginFound", "login"]

Ui = Literal["auto", "widget", "text"]


@dataclass(frozen=True)
class LoginFound:
    """What ``ik.login`` found instead of asking, in a run where nobody can answer: the
    credential (named, never shown) that ``ik.connect`` uses there."""

    service: str
    profile: str
    credential: str  # e.g. "SALESFORCE_REFRESH_TOKEN, which is set"
    reason: str  # why nobody was asked, e.g. "CI=true"

    def __str__(self) -> str:
        return (f"{self.service}/{self.profile}: nothing asked ({self.reason}); "
                f"ik.connect({self.service!r}) uses {self.credential}")


def _in_notebook() -> bool:
    """Whether a Jupyter frontend (not a terminal) shows this kernel's output."""
    shell = ipython_shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


def login(
    service: str,
    *,
    profile: str | None = None,
    store: TokenStore | None = None,
    ui: Ui = "auto",
    check: bool | str | Mapping[str, Any] = True,
    timeout: float | str = 300.0,
    browser: Callable[[str], Any] | None = None,
    **options: Any,
) -> Any:
    """Log in to ``service`` (a shipped connector or a definition file's path).

    Args:
        profile: the profile (tenant) to store the login for (default: the current one).
        store: a TokenStore (default: the configured state backend's).
        ui: ``widget`` (a panel), ``text`` (a terminal prompt) or ``auto``: the panel in a
            Jupyter frontend, else the terminal prompt.
        check: before storing a key, make the definition's check call (``auth.check``),
            this one (a path, or ``{"path": ..., "params": {...}}``), or none (False).
        timeout: how long an OAuth sign-in may take (seconds or a duration: ``"10m"``).
        browser: called with the sign-in URL (default: the panel shows a link).
        options: ``base_url``, ``client_id``, ``client_secret``, ``scopes``, ``check``
            ... (see :class:`~integkit._notebook._login_spec.LoginSpec`).

    Returns the panel (``ui="widget"``), or what the terminal login stored (masked); where
    nobody can answer (papermill, CI) and the credential is there already (its env var, or a
    login stored for the profile), a :class:`LoginFound` naming it, so a scheduled run of a
    notebook with a login cell goes on. Raises AuthenticationError when nobody can answer here
    and no credential is there, ConfigError when the service needs no login or lacks settings
    (an OAuth app's client id).
    """
    if not isinstance(check, bool):
        options["check"] = check
    seconds = positive_duration(timeout, "ik.login: timeout")
    spec = login_spec(service, store=store, **options)
    # A panel needs someone who sees it (Voila counts); the terminal prompt needs stdin.
    reason = headless_reason() if ui == "text" else frontend_missing()
    profile = profile or get_settings().profile
    if reason is not None:
        found = spec.found(profile)
        if found is None:
            raise spec.headless_error(reason)
        return LoginFound(spec.service, profile, found, reason)
    if ui == "auto":
        ui = "widget" if _in_notebook() else "text"
    if ui == "text":
        from ._login_text import text_login

        return text_login(spec, profile, check=check is not False, timeout=seconds)
    if ui != "widget":
        raise ConfigError(f"ui must be 'auto', 'widget' or 'text', not {ui!r}")
    try:
        from ._login_widget import KeyPanel, OAuthPanel
    except ImportError as exc:
        raise ImportError(f"the login panel needs the notebook extra ({exc.name} is missing): "
                          'pip install "integkit[notebook]"') from exc
    if spec.is_oauth:
        return OAuthPanel(spec, profile, timeout=seconds, browser=browser)
    return KeyPanel(spec, profile, check=check is not False)
