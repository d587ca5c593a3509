"""Connector definitions: the declarative description of a service, validated into typed objects.

A definition (``connectors/<service>.yaml``) says where the API is, how it authenticates and
pages, how it retries, which resources it lists and which operations it offers. Unknown keys
and wrong types are rejected with a ConfigError that names the file and the key.

A definition is data. One read from a user's file (``ik.connect("mine.yaml")``) reads no
environment variable without the caller's consent (``allow_env=``): otherwise a file handed
around could name ``STRIPE_SECRET_KEY`` as its credential and send it to its own host. Nothing
in a definition is interpolated (``${VAR}`` stays text), and its service name is a plain name,
never a path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .._errors import ConfigError

__all__ = ["ConnectorDef", "Operation", "Resource", "check_service_name"]

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Fields integkit sets, never a definition file: where it came from and what it may read.
_INTERNAL = frozenset({"origin", "source", "allowed_env"})


def check_service_name(name: object, *, where: str = "service name") -> str:
    """``name`` if it is a plain service name (letters, digits, ``_``, ``-``; no path, no
    dots), else a ConfigError: names become keys and file names in the state backend."""
    if not isinstance(name, str) or not _SERVICE_NAME.match(name):
        raise ConfigError(
            f"{where} {name!r} is not a service name: use letters, digits, '_' and '-' only "
            "(at most 64). A definition file is named by its path, ending in .yaml"
        )
    return name


@dataclass(frozen=True)
class Resource:
    """A listable (and usually retrievable) collection, e.g. Stripe ``charges``."""

    name: str
    path: str
    records_path: str | None = None
    primary_key: str | None = None
    cursor_field: str | None = None
    paginator: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    retrieve_path: str | None = None
    endpoint: str | None = None  # the name limits and the ledger use; default "<name>.list"


@dataclass(frozen=True)
class Operation:
    """A write or action, named as in the service's docs (``create_payment_intent``)."""

    name: str
    method: str
    path: str
    doc: str = ""
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectorDef:
    """A validated connector definition."""

    service: str
    base_url: str
    title: str = ""
    docs: str = ""
    backup_base_urls: tuple[str, ...] = ()
    api_version: dict[str, str] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "json"
    idempotency: dict[str, Any] = field(default_factory=dict)
    request_id_header: str = "request-id"
    retry: dict[str, Any] = field(default_factory=dict)
    breaker: dict[str, Any] = field(default_factory=dict)
    timeout: dict[str, float] = field(default_factory=dict)
    paginator: Any = None
    records_path: str | None = None
    primary_key: str | None = None
    timestamps: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    rate_limits: list[dict[str, Any]] = field(default_factory=list)
    quotas: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    module: str | None = None
    origin: str = "code"  # "shipped" (integkit's), "file" (a user's path), "code" (ik.rest)
    source: str = "<definition>"
    allowed_env: frozenset[str] = frozenset()  # what a "file" definition may read (consent)

    def __post_init__(self) -> None:
        check_service_name(self.service, where=f"{self.source}: service")

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], *, source: str = "<definition>",
                     origin: str = "file") -> ConnectorDef:
        """Validate a decoded definition; every problem found is named in one ConfigError.
        ``origin`` is ``"shipped"`` for integkit's own definitions, else ``"file"``."""
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: a connector definition must be a mapping")
        data = dict(raw)
        problems: list[str] = []
        known = set(cls.__dataclass_fields__) - _INTERNAL
        for key in sorted(set(data) - known):
            problems.append(f"unknown key {key!r}")
            data.pop(key)
        for key in ("service", "base_url"):
            if not isinstance(data.get(key), str) or not data.get(key):
                problems.append(f"{key!r} is required and must be a string")
        if isinstance(data.get("service"), str) and data["service"] and \
                not _SERVICE_NAME.match(data["service"]):
            problems.append(f"'service' {data['service']!r} must be a plain name (letters, "
                            "digits, '_' and '-')")
        module = data.get("module")
        if module is not None and not (isinstance(module, str) and re.fullmatch(
                r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", module)):
            problems.append(f"'module' {module!r} must be a dotted module name")
        if data.get("body", "json") not in ("json", "form"):
            problems.append("'body' must be 'json' or 'form'")
        resources = {}
        for name, spec in (data.pop("resources", None) or {}).items():
            spec = {"path": spec} if isinstance(spec, str) else dict(spec or {})
            try:
                resources[name] = Resource(name=name, **spec)
            except TypeError as exc:
                problems.append(f"resource {name!r}: {exc}")
        operations = {}
        for name, spec in (data.pop("operations", None) or {}).items():
            spec = dict(spec or {})
            spec["method"] = str(spec.get("method", "POST")).upper()
            spec["required"] = tuple(spec.get("required", ()))
            try:
                operations[name] = Operation(name=name, **spec)
            except TypeError as exc:
                problems.append(f"operation {name!r}: {exc}")
        if problems:
            raise ConfigError(f"{source}: " + "; ".join(problems))
        data["backup_base_urls"] = tuple(data.get("backup_base_urls") or ())
        return cls(resources=resources, operations=operations, origin=origin, source=source,
                   **data)

    # -- the environment: read only with consent for a user's file ------------------------
    def env_names(self) -> list[str]:
        """The environment variables the auth section names (``env``, ``password_env``)."""
        env = self.auth.get("env")
        names = list(env.values()) if isinstance(env, dict) else [env]
        names.append(self.auth.get("password_env"))
        return [str(n) for n in names if n]

    def with_consent(self, allow_env: bool | Iterable[str] | None) -> ConnectorDef:
        """This definition, allowed to read ``allow_env`` (names, or True: every variable its
        auth section names). Shipped and in-code definitions need no consent."""
        if allow_env is None or allow_env is False:
            return self
        if allow_env is True:
            names = frozenset(self.env_names())
        elif isinstance(allow_env, str) or not isinstance(allow_env, Iterable):
            raise ConfigError(f"allow_env must be a list of environment variable names or "
                              f"True, not {allow_env!r}")
        else:
            names = frozenset(str(n) for n in allow_env)
        return replace(self, allowed_env=self.allowed_env | names)

    def may_read_env(self, name: str | None) -> bool:
        """Whether this definition may read the environment variable ``name``."""
        return bool(name) and (self.origin != "file" or name in self.allowed_env)

    def environ(self, name: str | None) -> str | None:
        """The value of the environment variable ``name`` for this definition's credentials.

        A definition from a user's file reads only the variables it was allowed
        (``ik.connect(path, allow_env=[...])``); one it was not allowed is a ConfigError when
        it is set (an unset one is simply absent).
        """
        if not name:
            return None
        value = os.environ.get(name)
        if value is None or self.may_read_env(name):
            return value
        raise ConfigError(
            f"{self.source} is a connector definition from a file and names the environment "
            f"variable {name} for its credentials; integkit reads the environment for such a "
            f"definition only with your consent, since the file decides where the credential "
            f"is sent ({self.base_url}). If you trust it: ik.connect({self.source!r}, "
            f"allow_env=[{name!r}]) (or allow_env=True for every variable its auth section "
            f"names); else pass the credential yourself."
        )

    def resource(self, name: str) -> Resource:
        """The named resource, or a ConfigError listing the ones there are."""
        try:
            return self.resources[name]
        except KeyError:
            raise ConfigError(
                f"{self.service} has no resource {name!r}; available: {', '.join(self.resources)}."
                " For any other path use conn.list('/path')."
            ) from None
