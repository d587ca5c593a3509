"""Find connector definitions: shipped in the wheel, in a source checkout, or a user's file."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._errors import ConfigError
from ._definition import ConnectorDef

__all__ = ["available_services", "definition_dirs", "load_definition"]


def definition_dirs() -> list[Path]:
    """Where shipped definitions live: ``integkit/_connectors`` in a wheel, else the
    checkout's top-level ``connectors/`` (editable installs)."""
    dirs = []
    packaged = resources.files("integkit") / "_connectors"
    if packaged.is_dir():
        dirs.append(Path(str(packaged)))
    checkout = Path(__file__).resolve().parents[2] / "connectors"
    if checkout.is_dir():
        dirs.append(checkout)
    return dirs


def available_services() -> list[str]:
    """Names of every shipped connector."""
    return sorted({p.stem for d in definition_dirs() for p in d.glob("*.yaml")})


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read connector definition {path}: {exc}") from None
    return data or {}


@functools.cache
def load_definition(name_or_path: str) -> ConnectorDef:
    """The definition of a shipped service by name, or of a user's YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return ConnectorDef.from_mapping(_read(path), source=str(path))
    for directory in definition_dirs():
        candidate = directory / f"{name_or_path}.yaml"
        if candidate.exists():
            return ConnectorDef.from_mapping(_read(candidate), source=str(candidate))
    raise ConfigError(
        f"unknown service {name_or_path!r}; available: {', '.join(available_services())}. "
        "For any other REST API use ik.rest(base_url=...)."
    )
