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

import keyword
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .._errors import ConfigError
from .._http import (
    CircuitBreaker,
    QuotaConfig,
    RateTier,
    ResponseRule,
    RetryPolicy,
    response_rules,
)
from .._pagination import ALIASES, paginator_from_config, paginator_options
from .._params import ParamType, parameters
from .._results import TYPE_ALIASES, TYPE_NAMES, flatten_schema, time_spec
from .._spec import Check, Key, Spec, spellings
from .._spec_schema import described, schema_of, shared, spec_schema
from .._validate import choice, flag, positive_duration, text, texts
from ..auth import GRANTS
from ..cache import CacheSettings
from ..ledger import MODELS, PLAN_KEYS, TABLE_KEYS, PricingTable
from ._feedback import known_feedback
from ._responses import ERROR_CLASSES

__all__ = ["API_VERSION", "AUTH", "DEFINITION", "ERRORS", "OPERATION", "PARAM", "RESOURCE",
           "TIMEOUT", "TIMESTAMPS", "WARNINGS", "ConnectorDef", "KeyLines", "Operation", "Param",
           "Resource", "check_service_name", "definition_schema"]

_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: Where each key of a definition file is: its path of keys (list items by index) -> line.
KeyLines = dict[tuple[str | int, ...], int]


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
    params: dict[str, Any] = field(default_factory=dict)  # fixed query values, sent as they are
    # typed parameters a call may give (name -> type; see integkit._params), path ones too
    parameters: dict[str, ParamType] = field(default_factory=dict)
    retrieve_path: str | None = None
    endpoint: str | None = None  # the name limits and the ledger use; default "<name>.list"
    # The fields its records carry, as the service documents them (field -> type; nested
    # mappings for objects): an empty listing's frame has these columns, every frame their types.
    schema: dict[str, str] = field(default_factory=dict)
    # how ``parallel=`` cuts it: a partitioning registered by name (``created_time``)
    partition: str | None = None
    # where its partition is named (``file:LINE``): a connector module registers its own
    # partitionings when imported, so the name is checked when a connection is made
    partition_at: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", flatten_schema(
            self.schema, where=f"resource {self.name!r}: schema"))


#: The types an operation's parameter may declare (JSON Schema's names).
PARAM_TYPES = ("string", "integer", "number", "boolean", "array", "object")
#: Body encodings of an operation: a JSON body, a form body, or the query string.
BODIES = ("json", "form", "query")


@dataclass(frozen=True)
class Param:
    """One documented parameter of an operation: its doc line, JSON type, whether it may be
    given by position, and its default (None: not sent)."""

    name: str
    doc: str = ""
    type: str | None = None
    positional: bool = False
    default: Any = None


@dataclass(frozen=True, eq=False)
class Operation:
    """A write or action, named as in the service's docs (``create_payment_intent``), that
    a connection offers as a typed method (see integkit/engine/_operations.py).

    ``path`` may hold ``{placeholders}``, each filled with one percent-encoded path segment
    of the argument of that name. ``body`` is how the other arguments travel (None: the
    query for GET and DELETE, else the definition's ``body:``). ``idempotent`` says that
    applying it twice gives the result of applying it once, so it may be resent after a
    failure without an idempotency key. ``endpoint`` names it for limits and the ledger
    (``chat.postMessage:{channel}``; default: its name). ``one_of`` groups need at least one
    of their parameters; ``unwrap`` is the path of the answer to return."""

    name: str
    method: str
    path: str
    doc: str = ""
    required: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    body: str | None = None
    idempotent: bool = False
    endpoint: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    one_of: tuple[tuple[str, ...], ...] = ()
    unwrap: str | None = None

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of the path's placeholders, in order."""
        return tuple(dict.fromkeys(re.findall(r"{(\w+)}", self.path)))


# -- what a definition may hold --------------------------------------------------------------
# Each section's keys and checks, declared once. A section added to ConnectorDef adds its Key
# to DEFINITION (tests/faults/test_strict_config_keys.py checks that they agree).
@described({"type": "object"})
def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where} must be a mapping with string keys, not {value!r}")
    return dict(value)


@described({"type": "object", "additionalProperties": {"type": "string"}})
def _strings(value: Any, where: str) -> dict[str, str]:
    """A mapping of strings to strings (header values, env var names); numbers must be
    quoted so that ``2024-10`` or ``1.0`` stay what was written."""
    mapping = _mapping(value, where)
    wrong = [k for k, v in mapping.items() if not isinstance(v, str)]
    if wrong:
        raise ConfigError(f"{where}: {', '.join(map(repr, wrong))} must be strings (quote them)")
    return mapping


@described({"type": ["string", "number"]})
def _version(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where} must be a version string like '2024-10', not {value!r}")
    return str(value)


def _paginator_schema() -> dict[str, Any]:
    """An alias, or ``{type: alias, ...options}`` with the options that paginator takes."""
    forms: list[dict[str, Any]] = [{"enum": ["auto", *ALIASES]}]
    for alias, cls in ALIASES.items():
        options: dict[str, Any] = {s: {} for name in paginator_options(cls)
                                   for s in spellings(name)}
        forms.append({"type": "object", "properties": {"type": {"const": alias}, **options},
                      "required": ["type"], "additionalProperties": False})
    return {"anyOf": forms}


@described(_paginator_schema)
def _paginator(value: Any, where: str) -> Any:
    try:
        paginator_from_config(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return value


def _section(spec: Spec) -> Check:
    """A section read by ``spec``: kept with canonical keys and its values as written."""
    return described(lambda: spec_schema(spec))(
        lambda value, where: spec.canonical(value, where))


@described(lambda: {"type": "array", "items": {**spec_schema(RateTier.spec), "type": "object"}})
def _tiers(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list of tiers like {{limit: 25, per: 1s}}")
    tiers = []
    for i, tier in enumerate(value):
        RateTier.from_config(tier)
        tiers.append(RateTier.spec.canonical(tier, f"{where}[{i}]"))
    return tiers


@described({"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}})
def _feedback(value: Any, where: str) -> tuple[str, ...]:
    """The feedback parsers the limiter, quota and retry layers read (``integkit._http``'s
    generic ones, ``x_ratelimit``..., and those connector modules register)."""
    names = texts(value, where)
    known = known_feedback()
    for name in names:
        if name not in known:
            raise ConfigError(f"{where}: {name!r} is not a feedback parser; known: "
                              f"{', '.join(sorted(known))}")
    return names


@described(lambda: schema_of(response_rules))
def _responses(value: Any, where: str) -> tuple[ResponseRule, ...]:
    """The response classifiers (``integkit._http``'s rules); a wait may name any feedback
    parser, connector modules' too."""
    known_feedback()  # the connector modules register theirs
    return response_rules(value, where)


@described({"type": "object", "additionalProperties": {"enum": sorted(ERROR_CLASSES)}})
def _codes(value: Any, where: str) -> dict[str, str]:
    codes = _strings(value, where)
    for code, name in codes.items():
        if name not in ERROR_CLASSES:
            raise ConfigError(f"{where}[{code!r}] must name an error class: one of "
                              f"{', '.join(sorted(ERROR_CLASSES))}; not {name!r}")
    return codes


@described(lambda: {"anyOf": [schema_of(text), spec_schema(CHECK)]})
def _check_call(value: Any, where: str) -> Any:
    return value if isinstance(value, str) and value else _section(CHECK)(value, where)


@described(lambda: {"anyOf": [schema_of(text), spec_schema(AUTH_ENV)]})
def _env(value: Any, where: str) -> Any:
    return text(value, where) if isinstance(value, str) else _section(AUTH_ENV)(value, where)


@described(lambda: {"anyOf": [{"type": "string"}, schema_of(texts)]})
def _scopes(value: Any, where: str) -> Any:
    return value if isinstance(value, str) else list(texts(value, where))


def _pricing_schema() -> dict[str, Any]:
    """The ``pricing:`` block as integkit.ledger reads it: plans, each of one model."""
    plan = {"type": "object", "required": ["model"],
            "properties": {"model": {"enum": list(MODELS)}},
            "allOf": [{"if": {"properties": {"model": {"const": model}}},
                       "then": {"propertyNames": {"enum": sorted(PLAN_KEYS[model])}}}
                      for model in MODELS]}
    return {"type": "object", "required": ["plans"],
            "properties": {"currency": schema_of(text), "default_plan": schema_of(text),
                           "bill_errors": schema_of(flag),
                           "plans": {"type": "object", "minProperties": 1,
                                     "additionalProperties": plan}},
            "propertyNames": {"enum": sorted(TABLE_KEYS)}}


@described(_pricing_schema)
def _pricing(value: Any, where: str) -> dict[str, Any]:
    PricingTable.from_mapping(value, source=where)
    return dict(value)


def _named(check: Check) -> Check:
    """A top-level scalar, named in quotes as a definition's keys are (``'body' must...``)."""
    return described(lambda: schema_of(check))(lambda value, where: check(value, repr(where)))


_MODULE = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"


@described({"type": "string", "pattern": f"^{_MODULE}$"})
def _module(value: Any, where: str) -> str:
    if not (isinstance(value, str) and re.fullmatch(_MODULE, value, re.ASCII)):
        raise ConfigError(f"{where} {value!r} must be a dotted module name")
    return value


#: How a time field reads: an epoch unit, ISO 8601 text or a strptime format.
_HOW = {"title": "time_reading", "type": "string",
        "anyOf": [{"enum": ["s", "ms", "us", "ns", "iso"]}, {"pattern": "%"}]}
_READINGS = {"title": "time_readings", "type": "object", "additionalProperties": _HOW}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@described({"anyOf": [_READINGS, schema_of(texts)]})
def _time_fields(value: Any, where: str) -> Any:
    return value if isinstance(value, Mapping) else list(texts(value, where))


@described(_READINGS)
def _how(value: Any, where: str) -> dict[str, Any]:
    return _mapping(value, where)


@described({"enum": [*_METHODS, *(m.lower() for m in _METHODS)]})
def _method(value: Any, where: str) -> str:
    """An HTTP method, in any case (kept upper case)."""
    return choice(*_METHODS)(value.upper() if isinstance(value, str) else value, where)


@described({"$ref": "#/$defs/fields"})
def _fields(value: Any, where: str) -> dict[str, Any]:
    """A declared schema (field -> type), checked in full by flatten_schema."""
    return _mapping(value, where)


def _fields_schema() -> dict[str, Any]:
    """The JSON Schema of a declared schema: a type name, a nested mapping, or a list of one
    mapping (a list of objects); recursive, so kept in ``$defs``."""
    nested = {"$ref": "#/$defs/fields"}
    return {"type": "object", "additionalProperties": {"anyOf": [
        {"enum": [*TYPE_NAMES, *TYPE_ALIASES]}, nested,
        {"type": "array", "minItems": 1, "maxItems": 1, "items": nested}]}}


@described({"type": "string", "format": "regex"})
def _pattern(value: Any, where: str) -> str:
    try:
        re.compile(text(value, where))
    except re.error as exc:
        raise ConfigError(f"{where} {value!r} is not a regular expression: {exc}") from None
    return str(value)


#: ``api_version:``: its value, sent in a header, as a path prefix every relative path goes
#: under, or as a query parameter; ``pattern`` is what a version must match.
API_VERSION = Spec("api_version", [
    Key("value", _version, required=True, aliases=("version",)),
    Key("header", text),
    Key("path", text),
    Key("query", text),
    Key("pattern", _pattern),
])
CHECK: Spec = Spec("auth check", [Key("path", text, required=True), Key("params", _mapping)])
AUTH_ENV: Spec = Spec("auth env", [Key(name, text) for name in (
    "client_id", "client_secret", "refresh_token", "access_token", "instance_url", "login_url")])
AUTH = Spec("auth", [
    Key("type", choice("none", "bearer", "api_key", "basic", "oauth2"), aliases=("scheme",)),
    Key("param", text), Key("env", _env), Key("password_env", text),
    Key("header", text), Key("query", text), Key("prefix", text), Key("check", _check_call),
    Key("grant", choice(*GRANTS)), Key("scopes", _scopes),
    Key("token_url", text), Key("token_path", text),
    Key("authorize_url", text), Key("authorize_path", text),
    Key("device_authorization_url", text),
    Key("device_authorization_path", text, aliases=("device_path",)),
    Key("revoke_url", text), Key("revoke_path", text),
    Key("authorize_params", _strings), Key("client_id", text), Key("login_url", text),
    Key("token_endpoint_auth_method",
        choice("client_secret_basic", "client_secret_post", "none")),
    Key("refresh_skew", positive_duration, aliases=("leeway",)),
])
#: ``timeout:``: seconds (any duration) per network step, and ``total`` for a whole call.
TIMEOUT = Spec("timeout", [
    *(Key(step, positive_duration) for step in ("connect", "read", "write", "pool")),
    Key("total", positive_duration, aliases=("deadline",)),
])
#: Where a failure's details are (Salesforce's ``fields``, GitHub's ``errors``), and how they
#: join the message: ``{path: "0.fields", format: "{message} (fields: {details})"}``.
ERROR_DETAILS = Spec("error details", [
    Key("path", text, required=True), Key("format", text), Key("separator", text),
    Key("item", text),
])
ERRORS = Spec("errors", [
    Key("message", text), Key("code", text), Key("type", text), Key("param", text),
    Key("codes", _codes),
    # per code: what it means (after the message) and what to do; ``{field}`` of the body
    Key("meanings", _strings), Key("hints", _strings),
    Key("details", _section(ERROR_DETAILS)),
])
#: Non-fatal advice in a served answer (``warning: missing_charset``), raised as Python
#: warnings: the body paths holding codes, and advice per code.
WARNINGS = Spec("warnings", [Key("paths", texts, required=True), Key("advice", _strings)])
TIMESTAMPS = Spec("timestamps", [
    Key("unit", choice("s", "ms", "us", "ns")),
    Key("fields", _time_fields), Key("how", _how), Key("detect", flag),
])
RESOURCE = Spec("resource", [
    Key("path", text, required=True), Key("records_path", text, optional=True),
    Key("primary_key", text, optional=True), Key("cursor_field", text, optional=True),
    Key("paginator", _paginator, optional=True), Key("params", _mapping),
    Key("retrieve_path", text, optional=True), Key("endpoint", text, optional=True),
    Key("schema", _fields), Key("partition", text, optional=True),
    Key("parameters", parameters),
])
PARAM = Spec("operation parameter", [
    Key("doc", text), Key("type", choice(*PARAM_TYPES)), Key("positional", flag),
    Key("default"),
])


@described(lambda: {"type": "object", "additionalProperties": {
    "anyOf": [schema_of(text), spec_schema(PARAM)]}})
def _params(value: Any, where: str) -> dict[str, Any]:
    """Documented parameters by name: each its doc line, or a mapping checked by PARAM."""
    params = _mapping(value, where)
    for name, spec in params.items():
        if not isinstance(spec, str):
            PARAM.read(spec, what=f"{where} {name!r}")
    return params


@described({"type": "array", "items": {"type": "array", "items": {"type": "string"},
                                       "minItems": 2}})
def _groups(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{where} must be a list of groups like [[charge, payment_intent]]")
    groups = tuple(texts(group, f"{where}[{i}]") for i, group in enumerate(value))
    if any(len(group) < 2 for group in groups):
        raise ConfigError(f"{where}: each group names at least two parameters")
    return groups


OPERATION = Spec("operation", [
    Key("path", text, required=True),
    Key("method", _method),
    Key("doc", text), Key("required", texts),
    Key("params", _params, aliases=("parameters",)),
    Key("body", choice(*BODIES)),
    Key("idempotent", flag),
    Key("endpoint", text),
    Key("headers", _strings),
    Key("one_of", _groups),
    Key("unwrap", text),
])


@described(lambda: spec_schema(TIMESTAMPS))
def _timestamps(value: Any, where: str) -> dict[str, Any]:
    return time_spec(TIMESTAMPS.canonical(value, where), where=where)


@described(lambda: {"type": "object", "additionalProperties": {
    "anyOf": [schema_of(text), spec_schema(RESOURCE)]}})
def _resources(value: Any, where: str) -> dict[str, Any]:
    """Resources by name: each a path, or a mapping checked by RESOURCE (in from_mapping)."""
    return _mapping(value, where)


@described(lambda: {"type": "object", "additionalProperties": spec_schema(OPERATION)})
def _operations(value: Any, where: str) -> dict[str, Any]:
    """Operations by name, each checked by OPERATION (in from_mapping)."""
    return _mapping(value, where)


#: The sections of a definition, one Key each. Definitions are data: where it came from and
#: what it may read (ConnectorDef's origin, source, allowed_env) are integkit's to set.
DEFINITION = Spec("definition", [
    Key("service", _named(text)), Key("base_url", _named(text)),
    Key("title", _named(text)), Key("docs", _named(text)),
    Key("backup_base_urls", _named(texts)),
    Key("module", _named(_module), optional=True),
    Key("api_version", _section(API_VERSION)),
    Key("auth", _section(AUTH)),
    Key("headers", _strings),
    Key("body", _named(choice("json", "form"))),
    Key("idempotency", _section(Spec("idempotency", [Key("header", text)]))),
    Key("request_id_header", _named(text)),
    Key("retry", _section(RetryPolicy.spec)),
    Key("breaker", _section(CircuitBreaker.spec), aliases=("circuit_breaker",)),
    Key("timeout", _section(TIMEOUT), aliases=("timeouts",)),
    Key("paginator", _paginator, aliases=("pagination",), optional=True),
    Key("records_path", _named(text), optional=True),
    Key("primary_key", _named(text), optional=True),
    Key("timestamps", _timestamps),
    Key("schema", _fields),  # fields every listing has
    Key("errors", _section(ERRORS)),
    Key("responses", _responses),
    Key("warnings", _section(WARNINGS)),
    Key("rate_limits", _tiers, aliases=("rate_limit",)),
    Key("quotas", _section(QuotaConfig.spec), aliases=("quota",)),
    Key("feedback", _named(_feedback), optional=True),
    Key("cache", _section(CacheSettings.spec)),
    Key("pricing", _pricing),
    Key("parameters", _named(parameters)),  # typed parameters every resource takes
    Key("resources", _resources),
    Key("operations", _operations),
])
_REQUIRED = ("service", "base_url")


def definition_schema() -> dict[str, Any]:
    """The JSON Schema of a connector definition (``integkit/connector.schema.json``, written
    by ``tools/definition_schema.py``), generated from :data:`DEFINITION` and the specs of its
    sections: what the loader accepts, for editors and linters. The loader stays the judge of
    what no schema says (a duration's unit, a shorthand given besides the key it sets)."""
    body = spec_schema(DEFINITION, extensions="^x-")
    body["type"] = "object"
    body["properties"]["service"] = {**body["properties"]["service"],
                                     "pattern": _SERVICE_NAME.pattern}
    body["allOf"] = [{"anyOf": [{"required": [s]} for s in spellings(name)]}
                     if len(spellings(name)) > 1 else {"required": [name]}
                     for name in _REQUIRED]
    return shared({"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "integkit connector definition",
            "description": "A connector definition (connectors/<service>.yaml, or a file "
                           "passed to ik.connect). Keys are snake_case; their camelCase and "
                           "kebab-case spellings are the same key. Keys starting with x- are "
                           "free (YAML anchors).",
            **body, "$defs": {"fields": _fields_schema()}})


def _read(name: str, spelling: str, value: Any) -> Any:
    """One top-level section, checked: its value as the definition keeps it."""
    key = DEFINITION.keys[name]
    return value if key.check is None or (key.optional and value is None) else \
        key.check(value, spelling)


def _line(lines: KeyLines, path: tuple[str | int, ...], problem: str) -> int | None:
    """The line of the key a problem found under ``path`` is about: of the keys at most two
    levels below, the one the message names first (quoted names before bare ones), else the
    line of ``path`` itself."""
    best: tuple[tuple[int, int, int], int] | None = None
    for where, line in lines.items():
        key = where[-1] if where else None
        if not isinstance(key, str) or not len(path) < len(where) <= len(path) + 2 or \
                where[:len(path)] != path:
            continue
        quoted = problem.find(repr(key))
        bare = re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", problem)
        if quoted >= 0:
            rank = (0, quoted, line)
        elif bare:
            rank = (1, bare.start(), line)
        else:
            continue
        if best is None or rank < best[0]:
            best = (rank, line)
    return best[1] if best else lines.get(path)


def _where(source: str, lines: KeyLines | None, path: tuple[str | int, ...]) -> str:
    """``source:LINE`` of the key at ``path`` (or of its parent), else ``source``."""
    line = (lines or {}).get(path) or (lines or {}).get(path[:-1])
    return f"{source}:{line}" if line else source


def _located(source: str, problems: list[tuple[tuple[str | int, ...], str]],
             lines: KeyLines | None) -> str:
    """``problems`` as one message: each one after ``source:LINE:`` when the line of the key
    it is about is known, else after ``source:``."""
    if not lines:
        return f"{source}: " + "; ".join(problem for _, problem in problems)
    parts = []
    for path, problem in problems:
        line = _line(lines, path, problem)
        parts.append(f"{source}:{line}: {problem}" if line else f"{source}: {problem}")
    return "; ".join(parts)


def _argument_name(name: str, where: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or name in _TAKEN:
        raise ConfigError(f"{where}: {name!r} cannot be the name of a method's argument (use "
                          f"a Python identifier, not a keyword nor one of {sorted(_TAKEN)})")
    return name


# Names a generated method uses itself (integkit/engine/_operations.py).
_TAKEN = frozenset({"self", "params", "idempotency_key"})


def _operation(name: str, spec: Any) -> Operation:
    what = f"operation {name!r}"
    values = OPERATION.read(spec or {"path": None}, what=what)
    _argument_name(name, what)
    values["method"] = values.get("method", "POST")
    values["required"] = tuple(values.get("required", ()))
    params = []
    for pname, pspec in (values.get("params") or {}).items():
        read = PARAM.read({"doc": pspec} if isinstance(pspec, str) else pspec,
                          what=f"{what} params {pname!r}")
        params.append(Param(name=pname, **read))
    values["params"] = tuple(params)
    op = Operation(name=name, **values)
    declared = {*op.path_params, *op.required, *(p.name for p in op.params)}
    for arg in declared:
        _argument_name(arg, what)
    for key, names in (("endpoint", re.findall(r"{(\w+)}", op.endpoint or "")),
                       ("one_of", [n for group in op.one_of for n in group])):
        unknown = sorted(set(names) - declared)
        if unknown:
            raise ConfigError(f"{what}: {key} names {', '.join(map(repr, unknown))}, which is "
                              "no path placeholder, required name or documented param")
    return op


@dataclass(frozen=True)
class ConnectorDef:
    """A validated connector definition (its sections keyed by canonical snake_case names;
    see :data:`DEFINITION`)."""

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
    timeout: dict[str, Any] = field(default_factory=dict)
    paginator: Any = None
    records_path: str | None = None
    primary_key: str | None = None
    timestamps: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, str] = field(default_factory=dict)  # fields every listing has
    errors: dict[str, Any] = field(default_factory=dict)
    responses: tuple[ResponseRule, ...] = ()  # what answers mean beyond their status
    warnings: dict[str, Any] = field(default_factory=dict)
    rate_limits: list[dict[str, Any]] = field(default_factory=list)
    quotas: dict[str, Any] = field(default_factory=dict)
    feedback: tuple[str, ...] | None = None  # the parsers of server feedback; None: every one
    cache: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, ParamType] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    module: str | None = None
    origin: str = "code"  # "shipped" (integkit's), "file" (a user's path), "code" (ik.rest)
    source: str = "<definition>"
    allowed_env: frozenset[str] = frozenset()  # what a "file" definition may read (consent)

    def __post_init__(self) -> None:
        check_service_name(self.service, where=f"{self.source}: service")
        # One form for the time fields and the schema, checked here (names the file).
        object.__setattr__(self, "timestamps", time_spec(
            self.timestamps, where=f"{self.source}: timestamps"))
        object.__setattr__(self, "schema", flatten_schema(
            self.schema, where=f"{self.source}: schema"))

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], *, source: str = "<definition>",
                     origin: str = "file", lines: KeyLines | None = None) -> ConnectorDef:
        """Validate a decoded definition; every problem found is named in one ConfigError.
        ``origin`` is ``"shipped"`` for integkit's own definitions, else ``"file"``. Keys may
        be spelt as any settings' (``rateLimits``, ``maxAttempts``: see integkit._spec);
        the definition keeps them under their canonical names. ``lines`` (where each key of
        the file is) puts ``source:LINE`` before each problem."""
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: a connector definition must be a mapping")
        problems: list[tuple[tuple[str | int, ...], str]] = []
        data: dict[str, Any] = {}
        spelt: dict[str, str] = {}
        for spelling, value in raw.items():
            if isinstance(spelling, str) and spelling.startswith("x-"):
                continue  # extension fields: room for YAML anchors (shared schemas)
            name = DEFINITION.name_of(spelling)
            if name is None:
                problems.append(((spelling,), str(DEFINITION.unknown(spelling, what=""))))
            elif name in spelt:
                problems.append(((spelling,), f"{spelt[name]!r} and {spelling!r} are the same "
                                              f"key ({name}); give it once"))
            else:
                spelt[name] = spelling
                try:
                    data[name] = _read(name, spelling, value)
                except ConfigError as exc:
                    problems.append(((spelling,), str(exc)))
        for key in _REQUIRED:
            if not isinstance(data.get(key), str) and key not in spelt:
                problems.append(((), f"{key!r} is required and must be a string"))
        if isinstance(data.get("service"), str) and not _SERVICE_NAME.match(data["service"]):
            problems.append(((spelt["service"],), f"'service' {data['service']!r} must be a "
                             "plain name (letters, digits, '_' and '-')"))
        resources, operations = {}, {}
        for name, spec in (data.pop("resources", None) or {}).items():
            spec = {"path": spec} if isinstance(spec, str) else spec
            try:
                values = RESOURCE.canonical(spec, f"resource {name!r}")
                values["parameters"] = parameters(values.get("parameters") or {},
                                                  f"resource {name!r} parameters")
                resources[name] = Resource(name=name, **values)
            except ConfigError as exc:
                problems.append(((spelt["resources"], name), str(exc)))
        for name, resource in resources.items():  # the line a partitioning is named on
            if resource.partition:
                resources[name] = replace(resource, partition_at=_where(
                    source, lines, (spelt["resources"], name, "partition")))
        for name, spec in (data.pop("operations", None) or {}).items():
            try:
                operations[name] = _operation(name, spec)
            except ConfigError as exc:
                problems.append(((spelt["operations"], name), str(exc)))
        if problems:
            raise ConfigError(_located(source, problems, lines))
        data["backup_base_urls"] = tuple(data.get("backup_base_urls") or ())
        try:
            return cls(resources=resources, operations=operations, origin=origin,
                       source=source, **data)
        except ConfigError as exc:
            problem = str(exc).removeprefix(f"{source}: ")
            section = re.match(r"\w+", problem)
            name = DEFINITION.name_of(section.group() if section else None)
            path = (spelt[name],) if name in spelt else ()
            raise ConfigError(_located(source, [(path, problem)], lines)) from None

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
