"""The login without a notebook frontend: a terminal (tty) asks for the key with getpass, or
signs in to an OAuth service with a device code (or, when the service has none, the browser
and a loopback listener). Nothing typed is echoed or printed back.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

from ..auth import TokenExpiry
from ._login_key import KeyLogin, save_key
from ._login_spec import LoginSpec

__all__ = ["text_login"]


def text_login(
    spec: LoginSpec,
    profile: str,
    *,
    check: bool = True,
    timeout: float = 300.0,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
    say: Callable[[str], Any] = print,
) -> KeyLogin | TokenExpiry:
    """Log in to ``spec.service`` for ``profile`` in a terminal; what was stored, masked."""
    if not spec.is_oauth:
        username = None
        if spec.scheme == "basic":
            username = ask(f"{spec.title} user name: ").strip()
        label = "password" if spec.scheme == "basic" else "key"
        secret = ask_secret(f"{spec.title} {label} for profile {profile!r} (hidden): ")
        result = save_key(spec, secret, profile=profile, username=username, check=check)
        say(str(result))
        return result
    auth = spec.oauth(profile)
    if auth.device_authorization_url:
        device = auth.start_device()
        say(str(device))
        auth.poll_device(timeout=timeout)
    else:
        auth.login_loopback(timeout=timeout)
    expiry = auth.expiry()
    token = auth.token
    scopes = " ".join(sorted(token.scopes)) if token is not None and "scope" in token else "?"
    say(f"Logged in: {expiry}; granted scopes: {scopes}")
    return expiry
