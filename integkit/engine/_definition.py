"""Connector definitions: the declarative description of a service, validated into typed objects.

A definition (``connectors/<service>.yaml``) says where the API is, how it authenticates and
pages, how it retries, which resources it lists and which operations it offers. Unknown keys
and wrong types are rejected with a ConfigError that names the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError

__all__ = ["ConnectorDef", "Operation", "Resource"]


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

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], *, source: str = "<definition>") -> ConnectorDef:
        """Validate a decoded definition; every problem found is named in one ConfigError."""
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: a connector definition must be a mapping")
        data = dict(raw)
        problems: list[str] = []
        known = set(cls.__dataclass_fields__)
        for key in sorted(set(data) - known):
            problems.append(f"unknown key {key!r}")
            data.pop(key)
        for key in ("service", "base_url"):
            if not isinstance(data.get(key), str) or not data.get(key):
                problems.append(f"{key!r} is required and must be a string")
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
        return cls(resources=resources, operations=operations, **data)

    def resource(self, name: str) -> Resource:
        """The named resource, or a ConfigError listing the ones there are."""
        try:
            return self.resources[name]
        except KeyError:
            raise ConfigError(
                f"{self.service} has no resource {name!r}; available: {', '.join(self.resources)}."
                " For any other path use conn.list_path('/path')."
            ) from None
