"""Storing an API key a person typed: checked with one cheap call when the definition names one,
then kept encrypted in the token store under ``TokenId(service, profile)``, where
``ik.connect(service)`` looks when neither an argument nor the env var gives a key.

The stored token set is ``{"access_token": <key>, "grant": "api_key", "token_type": <scheme>}``
(plus ``username`` for the basic scheme, whose password is the ``access_token``): the token
store masks ``access_token`` in every repr and registers it as a secret on the way in and out.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .._config import load_config_file
from .._connect import connect
from .._errors import AuthenticationError, ConfigError, PermissionDeniedError
from .._events import register_secret
from ..auth import TokenId
from ._login_spec import LoginSpec

__all__ = ["KeyLogin", "save_key"]


@dataclass(frozen=True)
class KeyLogin:
    """What a key login did (nothing secret): where the key went and how it was checked."""

    token_id: TokenId
    checked: str | None  # e.g. "GET /v1/charges answered 200"; None: not checked
    shadowed_by: str | None  # an env var that is set and wins over the stored key

    def __str__(self) -> str:
        service = self.token_id.service
        text = f"Key saved (encrypted) for {self.token_id.service}/{self.token_id.profile}"
        text += f"; checked: {self.checked}" if self.checked else "; not checked (no check call)"
        if self.shadowed_by:
            return text + (f". Note: {self.shadowed_by} is set in this process and wins over "
                           "the stored key.")
        return text + f". ik.connect({service!r}) uses it."


def _prefix(secret: str) -> str:
    parts = secret.split("_", 2)
    return "_".join(parts[:2]) + "_" if len(parts) > 2 else ""


def _configured(profile: str) -> str | None:
    """``profile`` when the config file has settings for it (its base_url...), else None: a
    profile may exist only in the token store."""
    try:
        profiles = load_config_file().get("profiles") or {}
    except ConfigError:
        return None
    return profile if profile in profiles else None


def _check(spec: LoginSpec, secret: str, username: str | None, profile: str) -> str | None:
    """Make the definition's check call with the key; raises when the key is refused."""
    call = spec.check_call()
    if call is None:
        return None
    path, params = call
    credentials = {spec.param: username if spec.scheme == "basic" else secret}
    if spec.scheme == "basic":
        credentials["password"] = secret
    conn = connect(spec.service, profile=_configured(profile), cache=False, **credentials,
                   **spec.connect_options())
    try:
        conn.request("GET", path, params=params or None, endpoint="auth.check")
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise AuthenticationError(
            f"{spec.title} refused the key (GET {path} answered {exc.status}); nothing was "
            "stored", service=spec.service, status=exc.status, request_id=exc.request_id,
            hint="Check that the key is complete and for the right account and mode.") from None
    finally:
        conn.close()
    return f"GET {path} answered 200"


def save_key(spec: LoginSpec, secret: str, *, profile: str, username: str | None = None,
             check: bool = True) -> KeyLogin:
    """Check ``secret`` (when the definition allows and ``check``), then store it encrypted
    for ``(service, profile)``. Raises AuthenticationError when the service refuses it."""
    secret = secret.strip()
    if not secret:
        raise ConfigError(f"enter the {spec.title} key first")
    register_secret(secret)
    if spec.scheme == "basic" and not username:
        raise ConfigError(f"{spec.title} needs a user name with the password")
    checked = _check(spec, secret, username, profile) if check else None
    token: dict[str, object] = {"access_token": secret, "grant": "api_key",
                                "token_type": spec.scheme, "obtained_at": time.time()}
    if username:
        token["username"] = username
    if spec.scheme != "basic" and _prefix(secret):
        token["key_prefix"] = _prefix(secret)  # public (sk_test_): says which kind of key
    token_id = TokenId(spec.service, profile)
    spec.token_store.put(token_id, token)
    env = spec.env_var()
    shadowed = env if env and os.environ.get(env) else None
    return KeyLogin(token_id, checked, shadowed)
