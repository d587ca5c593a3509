"""Find connector definitions: shipped in the wheel, in a source checkout, or a user's file."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._errors import ConfigError
from ._definition import ConnectorDef, KeyLines, check_service_name

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


def _key_lines(node: yaml.Node | None, path: tuple[str | int, ...], out: KeyLines,
               inside: frozenset[int] = frozenset()) -> None:
    """The line (1-based) of every mapping key under ``node``, by its path of keys (list
    items by index). An alias is followed once per path, never into itself."""
    if node is None or id(node) in inside:
        return
    inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                here = (*path, key.value)
                out.setdefault(here, key.start_mark.line + 1)
                _key_lines(value, here, out, inside)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _key_lines(item, (*path, i), out, inside)


def _read(path: Path) -> tuple[dict[str, Any], KeyLines]:
    """A definition file's mapping, and the line of each of its keys (for errors naming
    ``file.yaml:LINE``)."""
    lines: KeyLines = {}
    try:
        loader = yaml.SafeLoader(path.read_text())
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read connector definition {path}: {exc}") from None
    _key_lines(node, (), lines)
    return data or {}, lines


def _is_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or "/" in name or "\\" in name or \
        name.startswith(("~", "."))


def load_definition(name_or_path: str) -> ConnectorDef:
    """The definition of a shipped service by name, or of a user's YAML file by path.

    A name is a plain name (``"stripe"``): never a path, so ``"../x"`` cannot reach a file
    outside the shipped definitions. A path ends in ``.yaml`` / ``.yml``; what it holds is a
    user's definition (``origin="file"``: it reads no environment variable without consent).
    A file is read again once it changed (edited in the notebook that uses it).
    """
    if not isinstance(name_or_path, str):
        raise ConfigError(f"a service is named by a string, not {type(name_or_path).__name__}")
    if _is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if path.suffix not in (".yaml", ".yml"):
            raise ConfigError(f"{name_or_path!r} is neither a shipped service's name nor a "
                              "definition file (.yaml / .yml)")
        try:
            stat = path.stat()
        except OSError:
            stat = None
        if stat is None or not path.is_file():
            raise ConfigError(f"no connector definition file at {path}")
        return _definition_file(str(path), stat.st_mtime_ns, stat.st_size)
    return _shipped_definition(name_or_path)


@functools.cache
def _definition_file(path: str, mtime_ns: int, size: int) -> ConnectorDef:
    """A user's definition file as it was at ``mtime_ns`` / ``size`` (the cache key)."""
    data, lines = _read(Path(path))
    definition = ConnectorDef.from_mapping(data, source=path, origin="file", lines=lines)
    if definition.service.lower() in available_services():
        raise ConfigError(
            f"{path}: its service name {definition.service!r} is a shipped connector's; "
            "a definition from a file must use its own name (under that one it would be "
            f"handed {definition.service}'s settings, stored credentials and limits)"
        )
    return definition


@functools.cache
def _shipped_definition(name: str) -> ConnectorDef:
    """A shipped service's definition, by its plain name."""
    check_service_name(name)
    for directory in definition_dirs():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            data, lines = _read(candidate)
            return ConnectorDef.from_mapping(data, source=str(candidate), origin="shipped",
                                             lines=lines)
    raise ConfigError(
        f"unknown service {name!r}; available: {', '.join(available_services())}. "
        "For any other REST API use ik.rest(base_url=...), or a definition file "
        "(ik.connect('mine.yaml'))."
    )
