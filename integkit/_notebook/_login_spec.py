"""What logging in to one service takes, read from its connector definition: OAuth sign-in or
an API key, the env var that would make a login unnecessary, the cheap call that checks a key,
the OAuth endpoints, and the profiles (tenants) a user may pick.

No widget and no I/O beyond reading the definition and the config file: the panels, the
terminal fallback and the headless error all start from a :class:`LoginSpec`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._config import get_settings, load_config_file
from .._errors import AuthenticationError, ConfigError
from ..auth import OAuth2, TokenStore, default_store
from ..engine import ConnectorDef, load_definition

__all__ = ["KEY_SCHEMES", "LoginSpec", "login_spec"]

KEY_SCHEMES = ("bearer", "api_key", "basic")
_CONNECT_OPTIONS = ("base_url", "endpoint_url", "rate_limit", "timeout", "retry", "headers",
                    "allow_env", "allow_modules")


@dataclass
class LoginSpec:
    """How to log in to ``service`` (see the module doc).

    ``options`` are what ``ik.login`` was given beyond the service: ``base_url`` (also for
    the key check), ``client_id`` / ``client_secret`` / ``scopes`` / ``authorize_url`` /
    ``token_url`` / ``device_authorization_url`` for OAuth, ``check`` (a path, a mapping
    ``{path, params}``, or False) for keys.
    """

    definition: ConnectorDef
    options: dict[str, Any] = field(default_factory=dict)
    store: TokenStore | None = None

    @property
    def service(self) -> str:
        return self.definition.service

    @property
    def title(self) -> str:
        return self.definition.title or self.definition.service

    @property
    def auth(self) -> dict[str, Any]:
        return dict(self.definition.auth)

    @property
    def scheme(self) -> str:
        """``oauth2``, ``bearer``, ``api_key``, ``basic`` (or ``none``)."""
        spec = self.auth
        return str(spec.get("type") or spec.get("scheme") or "none").lower()

    @property
    def is_oauth(self) -> bool:
        return self.scheme in ("oauth2", "oauth")

    @property
    def param(self) -> str:
        """The ``ik.connect`` argument the key goes to (``api_key``, ``token``...)."""
        return str(self.auth.get("param", "api_key"))

    def env_var(self, name: str | None = None) -> str | None:
        """The env var of the credential (of ``name`` in an OAuth ``env:`` mapping)."""
        env = self.auth.get("env")
        if isinstance(env, Mapping):
            value = env.get(name or "")
            return str(value) if value else None
        return str(env) if env and name is None else None

    @property
    def fix_env(self) -> str:
        """The env var that makes a login unnecessary in a scheduled run."""
        if self.is_oauth:
            return self.env_var("refresh_token") or re.sub(
                r"[^A-Za-z0-9]+", "_", self.service).strip("_").upper() + "_REFRESH_TOKEN"
        return self.env_var() or f"ik.connect({self.service!r}, {self.param}=...)"

    @property
    def token_store(self) -> TokenStore:
        """Where logins are stored: the given store, else the configured state backend's."""
        return self.store if self.store is not None else default_store()

    # -- profiles ------------------------------------------------------------------------------
    def profiles(self, current: str) -> list[str]:
        """Profiles to offer: ``current``, the config file's, and those with a stored login."""
        found = {current, get_settings().profile}
        try:
            found.update((load_config_file().get("profiles") or {}).keys())
        except ConfigError:
            pass
        try:
            found.update(token_id.profile for token_id in self.token_store.ids(self.service))
        except Exception:  # noqa: BLE001 - an unreadable store still leaves the defaults
            pass
        return sorted(found)

    # -- API keys ------------------------------------------------------------------------------
    def check_call(self) -> tuple[str, dict[str, Any]] | None:
        """The cheap GET that proves a key works (``auth.check`` in the definition, or the
        ``check=`` option): its path and params, or None when there is none."""
        check = self.options.get("check", self.auth.get("check"))
        if not check:
            return None
        if isinstance(check, str):
            return check, {}
        if isinstance(check, Mapping) and check.get("path"):
            return str(check["path"]), dict(check.get("params") or {})
        raise ConfigError(f"{self.service}: check must be a path or {{path, params}}, "
                          f"not {check!r}")

    def connect_options(self) -> dict[str, Any]:
        """The ``ik.connect`` options ``ik.login`` passes on (base_url, timeouts...)."""
        return {k: self.options[k] for k in _CONNECT_OPTIONS if k in self.options}

    # -- OAuth ---------------------------------------------------------------------------------
    def _setting(self, name: str) -> Any:
        if self.options.get(name) is not None:
            return self.options[name]
        if self.auth.get(name) is not None:
            return self.auth[name]
        return self.definition.environ(self.env_var(name)) or None

    def _endpoint(self, name: str, base: str) -> str | None:
        explicit = self._setting(name)
        if explicit:
            return str(explicit)
        kind = name.removesuffix("_url")
        path = self.auth.get(f"{kind}_path")
        if kind == "device_authorization":
            path = path or self.auth.get("device_path")
        if path:
            return base + str(path)
        token_path = str(self.auth.get("token_path") or "/oauth/token")
        if kind == "token":
            return base + token_path
        if kind == "authorize" and token_path.endswith("/token"):
            return base + token_path.removesuffix("token") + "authorize"
        return None

    def oauth(self, profile: str) -> OAuth2:
        """The OAuth2 credentials of ``profile``, keyed in the store as the connector's own
        are (service, profile, client id), so ``ik.connect`` finds what a login stored."""
        base = str(self.options.get("login_url") or self.options.get("base_url")
                   or self._setting("login_url") or self.definition.base_url).rstrip("/")
        client_id = self._setting("client_id")
        if not client_id:
            var = self.env_var("client_id")
            where = f"set {var} or pass " if var else "pass "
            raise ConfigError(f"logging in to {self.service} needs the app's client id: "
                              f"{where}ik.login({self.service!r}, client_id=...)")
        secret = self._setting("client_secret")
        method = self._setting("token_endpoint_auth_method") or (None if secret else "none")
        return OAuth2(
            token_url=self._endpoint("token_url", base),
            authorize_url=self._endpoint("authorize_url", base),
            device_authorization_url=self._endpoint("device_authorization_url", base),
            revoke_url=self._endpoint("revoke_url", base),
            client_id=str(client_id), client_secret=secret, scopes=self._setting("scopes"),
            grant="authorization_code", store=self.store, service=self.service,
            profile=profile, account=self.options.get("account"),
            redirect_uri=self.options.get("redirect_uri"),
            refresh_token_env=self.env_var("refresh_token"),
            authorize_params=self.auth.get("authorize_params"),
            token_endpoint_auth_method=method,
        )

    # -- headless ------------------------------------------------------------------------------
    def found(self, profile: str) -> str | None:
        """The credential that makes a login of ``profile`` unnecessary, when there is one
        (named, never shown): the env var the headless error would ask for, set, or a login
        stored for ``profile``. None when a run would have to log in first."""
        names = ([self.fix_env, self.env_var("access_token")] if self.is_oauth
                 else [self.env_var()])
        for name in names:
            if name and self.definition.may_read_env(name) and os.environ.get(name):
                return f"{name}, which is set"
        try:
            stored = [i for i in self.token_store.ids(self.service)
                      if i.profile == profile and not i.owner]
        except Exception:  # noqa: BLE001 - an unreadable store leaves the headless error
            return None
        return f"the login stored for {stored[0]}" if stored else None

    def headless_error(self, reason: str) -> AuthenticationError:
        """Why nothing is asked here, and what makes the run work without a login."""
        command = f"ik.login({self.service!r})"
        terminal = f"python -c \"import integkit as ik; {command}\""
        what = "sign in" if self.is_oauth else f"ask for the {self.title} key"
        if self.is_oauth:
            fix = (f"set {self.fix_env} to a refresh token, or run {command} once in a notebook "
                   f"or a terminal ({terminal}): the token is stored encrypted and refreshed "
                   "by later runs")
        else:
            env = self.env_var()
            first = f"set {env}" if env else f"pass {self.param}= to ik.connect"
            fix = (f"{first}, or run {command} once in a notebook or a terminal ({terminal}): "
                   f"the key is stored encrypted and ik.connect({self.service!r}) finds it")
        return AuthenticationError(f"{command} cannot {what} here: this run is headless "
                                   f"({reason})", service=self.service, hint=f"To fix it, {fix}.")


def login_spec(service: str, *, store: TokenStore | None = None, **options: Any) -> LoginSpec:
    """The :class:`LoginSpec` of a shipped service's name or a definition file's path."""
    definition = load_definition(service).with_consent(options.get("allow_env"))
    spec = LoginSpec(definition, dict(options), store)
    if not spec.is_oauth and spec.scheme not in KEY_SCHEMES:
        raise ConfigError(f"{spec.service} needs no login (its auth type is {spec.scheme!r})"
                          if spec.scheme == "none" else
                          f"ik.login cannot log in to {spec.service}: auth type {spec.scheme!r}")
    return spec
