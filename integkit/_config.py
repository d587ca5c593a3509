"""Settings, config files with ``${ENV_VAR}`` interpolation, and named profiles.

Connection settings are merged from, lowest first: the connector definition, the config file's
profile section for the service (``INTEGKIT_CONFIG`` or ``~/.config/integkit/config.yaml``),
the service's own env vars (``STRIPE_SECRET_KEY``), and the arguments of ``ik.connect``.

A config file looks like the services' own examples::

    profiles:
      default:
        stripe: {api_key: "${STRIPE_SECRET_KEY}"}
      staging:
        stripe: {api_key: "${STRIPE_STAGING_KEY}", base_url: "https://stripe-proxy.internal"}
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ._errors import ConfigError
from ._spec import Check, Key, Spec, suggest
from ._validate import flag, positive_duration, text

__all__ = ["CONFIG_FILE", "SETTINGS", "Settings", "configure", "get_settings", "interpolate",
           "load_config_file", "profile"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _data_dir() -> Path:
    if os.environ.get("INTEGKIT_HOME"):
        return Path(os.environ["INTEGKIT_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "integkit"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings; change them with :func:`configure`."""

    data_dir: Path = field(default_factory=_data_dir)
    state: str | None = None
    profile: str = field(default_factory=lambda: os.environ.get("INTEGKIT_PROFILE", "default"))
    config_file: Path | None = None
    offline: bool = False  # answer only from the HTTP cache; a miss raises NetworkError
    ledger: bool = True  # record every call in the state backend (ik.usage, ik.costs)
    state_timeout: float = 3.0  # seconds a Redis state backend may take to answer
    state_fallback: str | None = None  # "local": limits go on locally when the state fails

    @property
    def state_url(self) -> str:
        return self.state or f"sqlite:///{self.data_dir / 'integkit.db'}"

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_dir / "checkpoints"


_settings = Settings()


def get_settings() -> Settings:
    return _settings


def _path(value: Any, where: str) -> Path:
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ConfigError(f"{where} must be a path, not {value!r}")
    return Path(value).expanduser()


def _fallback(value: Any, where: str) -> str | None:
    if value not in (None, "local"):
        raise ConfigError(f"{where} must be 'local' or None, not {value!r}")
    return None if value is None else "local"


# How each setting is checked; a setting without an entry takes any value.
_CHECKS: dict[str, Check] = {
    "data_dir": _path, "config_file": _path, "state": text, "profile": text,
    "offline": flag, "ledger": flag, "state_timeout": positive_duration,
    "state_fallback": _fallback,
}
#: The keys of ``ik.configure`` (every field of :class:`Settings`).
SETTINGS = Spec("configure()", [
    Key(f.name, _CHECKS.get(f.name), optional=f.name in ("state", "config_file"))
    for f in fields(Settings)])
#: The top-level keys of a config file.
CONFIG_FILE = Spec("config file", [Key("profiles")])


def configure(**changes: Any) -> Settings:
    """Change process-wide settings: ``ik.configure(state="redis://...", profile="staging")``.
    An unknown setting is a ConfigError naming the closest one; ``state_timeout`` takes any
    duration (``3``, ``"3s"``)."""
    global _settings
    _settings = replace(_settings, **SETTINGS.read(changes))
    return _settings


def interpolate(value: Any, *, where: str = "config") -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of ``value`` from the env."""
    if isinstance(value, dict):
        return {k: interpolate(v, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, where=where) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{where} needs the environment variable {name}; set it (export {name}=...)"
        )

    return _ENV.sub(substitute, value)


def _config_path(settings: Settings) -> Path | None:
    if settings.config_file:
        return settings.config_file
    if os.environ.get("INTEGKIT_CONFIG"):
        return Path(os.environ["INTEGKIT_CONFIG"]).expanduser()
    default = Path.home() / ".config" / "integkit" / "config.yaml"
    return default if default.exists() else None


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    """The raw (not yet interpolated) config file: YAML, JSON or TOML by extension."""
    path = path or _config_path(_settings)
    if path is None:
        return {}
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top")
    CONFIG_FILE.given(data, f"config file {path}")
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict) or not all(
            isinstance(p, dict) and all(isinstance(s, dict | None) for s in p.values())
            for p in profiles.values() if p is not None):
        raise ConfigError(f"config file {path}: profiles must map a profile name to services' "
                          "settings (profiles: {default: {stripe: {api_key: ...}}})")
    return data


def profile(service: str, name: str | None = None) -> dict[str, Any]:
    """The interpolated settings of ``service`` in profile ``name`` (default: the current one)."""
    name = name or _settings.profile
    profiles = load_config_file().get("profiles") or {}
    if name != "default" and name not in profiles:
        guess = suggest(name, profiles)
        raise ConfigError(
            f"profile {name!r} is not in the config file"
            + (f" (did you mean {guess!r}?)" if guess else "")
            + f"; profiles: {sorted(profiles) or 'none'}"
        )
    section = (profiles.get(name) or {}).get(service) or {}
    return dict(interpolate(section, where=f"profiles.{name}.{service}"))
