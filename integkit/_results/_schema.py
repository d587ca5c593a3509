"""Declared shapes: a listing's columns and their types, and which fields are times.

A definition's resource (or ``ik.rest(schema=...)``, or ``conn.list(..., schema=...)``) may
declare its fields: ``{"id": "string", "amount": "integer", "billing": {"city": "string"}}``
(nested mappings are nested objects, which become dotted columns). With a schema an empty
listing's frame still has its columns, typed, and every frame types them the same way
whatever the pages held: a column null on every record stays an integer column, a price sent
as text (``"19.99"``) is a number, and a field no record carried is a column of nulls.

``timestamps`` says which fields are times: globs, each read as epoch numbers in a unit
(``s``, ``ms``, ``us``, ``ns``), ISO 8601 text (``iso``) or text in a ``strptime`` format
(``"%d/%m/%Y %H:%M"``). With ``detect`` on (``ik.rest``), a text column whose every value is
an ISO 8601 date-time becomes a timestamp column too.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from .._errors import ConfigError

__all__ = [
    "TYPE_ALIASES",
    "TYPE_NAMES",
    "arrow_type",
    "columns",
    "declared_type",
    "empty_table",
    "flatten_schema",
    "items",
    "merge_schemas",
    "merge_time_specs",
    "retyped",
    "time_rule",
    "time_spec",
    "time_target",
]

_PLAIN: dict[str, pa.DataType] = {
    "string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
    "boolean": pa.bool_(), "date": pa.date32(), "list": pa.list_(pa.null()),
}
#: The type names a schema may use (``timestamp`` takes the listing's time unit).
TYPE_NAMES: tuple[str, ...] = (*_PLAIN, "timestamp")
#: Other spellings of the type names (``int`` for ``integer``).
TYPE_ALIASES = _ALIASES = {"str": "string", "text": "string", "int": "integer", "float": "number",
            "double": "number", "bool": "boolean", "datetime": "timestamp", "array": "list"}
_UNITS = ("s", "ms", "us", "ns")
_SPEC_KEYS = frozenset({"unit", "fields", "detect"})


def _type_name(value: Any, field: str, where: str) -> str:
    name = _ALIASES.get(value, value) if isinstance(value, str) else None
    if name not in TYPE_NAMES:
        raise ConfigError(f"{where}: field {field!r} has type {value!r}; a type is one of "
                          f"{', '.join(TYPE_NAMES)} (a mapping for a nested object, "
                          "[mapping] for a list of objects)")
    return str(name)


def flatten_schema(raw: Any, *, where: str = "schema") -> dict[str, str]:
    """A declared schema as ``{dotted column: type name}``, in declaration order; a list of
    objects (``[{...}]``) is one list column whose items' fields are named ``column[].field``.

    >>> flatten_schema({"id": "string", "billing": {"city": "str"}, "tags": [{"n": "int"}]})
    {'id': 'string', 'billing.city': 'string', 'tags': 'list', 'tags[].n': 'integer'}
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping of field -> type (e.g. "
                          f"{{'id': 'string', 'amount': 'integer'}}), not {raw!r}")
    out: dict[str, str] = {}

    def walk(node: Mapping[Any, Any], prefix: str) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{where}: field names are text, not {key!r}")
            name = prefix + key
            if isinstance(value, Mapping):
                walk(value, name + ".")
            elif (isinstance(value, list) and len(value) == 1
                  and isinstance(value[0], Mapping)):
                out[name] = "list"  # a list of objects with these fields: name[].field
                walk(value[0], name + "[].")
            else:
                out[name] = _type_name(value, name, where)

    walk(raw, "")
    return out


def merge_schemas(*schemas: Mapping[str, str] | None) -> dict[str, str]:
    """Later schemas add fields and override the types of earlier ones."""
    out: dict[str, str] = {}
    for schema in schemas:
        out.update(schema or {})
    return out


def merge_time_specs(*specs: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One spec reading every time field any of ``specs`` reads (the first one's unit and
    reading win where they differ), detecting where any detects."""
    given = [time_spec(dict(s)) if "how" not in s else s for s in specs if s]
    if not given:
        return None
    fields: dict[str, None] = {}
    how: dict[str, str] = {}
    for spec in given:
        # A glob's reading is its own or its spec's unit: kept explicit, since units differ.
        for pattern in spec["fields"]:
            if pattern not in fields:
                fields[pattern] = None
                how[pattern] = spec["how"].get(pattern, spec["unit"])
    return {"unit": given[0]["unit"], "fields": list(fields), "how": how,
            "detect": any(s["detect"] for s in given)}


def _check_how(value: Any, field: str, where: str) -> str:
    if isinstance(value, str) and (value in _UNITS or value == "iso" or "%" in value):
        return value
    raise ConfigError(f"{where}: timestamp field {field!r} is read as {value!r}; say 's', "
                      "'ms', 'us' or 'ns' (epoch numbers), 'iso' (ISO 8601 text) or a "
                      "strptime format such as '%d/%m/%Y %H:%M'")


def time_spec(raw: Any, *, where: str = "timestamps", detect: bool = False) -> dict[str, Any]:
    """Which fields are times, in one form: ``{"unit", "fields", "how", "detect"}``.

    Accepts a definition's ``{"unit": "s", "fields": [globs]}`` (``fields`` may also map each
    glob to its unit or format, and ``detect`` turns ISO 8601 detection on or off), a list of
    globs, a mapping of glob -> unit / ``"iso"`` / strptime format, or False (no time field,
    no detection). ``detect`` is the default for detection.

    >>> time_spec({"paid": "ms", "day": "%d/%m/%Y"})["how"]
    {'paid': 'ms', 'day': '%d/%m/%Y'}
    """
    if raw is False:
        return {"unit": "s", "fields": [], "how": {}, "detect": False}
    if raw is None or raw is True:
        raw = {}
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, list | tuple):
        raw = {"fields": list(raw)}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must name the time fields: a list of fields (globs), a "
                          "mapping of field -> unit or format, or False; not "
                          f"{type(raw).__name__}")
    if raw and not set(raw) <= _SPEC_KEYS | {"how"}:
        raw = {"fields": dict(raw)}
    unit = raw.get("unit", "s")
    if unit not in _UNITS:
        raise ConfigError(f"{where}: unit must be one of {', '.join(_UNITS)}, not {unit!r}")
    fields = raw.get("fields") or []
    how = {str(k): _check_how(v, str(k), where) for k, v in (raw.get("how") or {}).items()}
    if isinstance(fields, Mapping):
        how.update({str(k): _check_how(v, str(k), where) for k, v in fields.items()})
        fields = list(fields)
    if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f"{where}: fields must be a list of field names or globs, not "
                          f"{fields!r}")
    found = raw.get("detect", detect)
    if not isinstance(found, bool):
        raise ConfigError(f"{where}: detect must be True or False, not {found!r}")
    return {"unit": unit, "fields": list(fields), "how": how, "detect": found}


def time_rule(name: str, spec: Mapping[str, Any] | None,
              schema: Mapping[str, str] | None = None) -> str | None:
    """How column ``name`` reads as a time (a unit, ``"iso"`` or a format), or None when it
    is no time field: declared ``timestamp`` in the schema, or matching a glob of ``spec``."""
    unit = str((spec or {}).get("unit", "s"))
    if schema and schema.get(name) == "timestamp":
        return str((spec or {}).get("how", {}).get(name, unit))
    if not spec:
        return None
    for pattern in spec.get("fields") or ():
        if pattern == name or fnmatch.fnmatchcase(name, pattern):
            return str((spec.get("how") or {}).get(pattern, unit))
    return None


def time_target(how: str) -> pa.DataType:
    """The Arrow type of a time column read as ``how``: UTC, in the unit the numbers come in
    (seconds and text as milliseconds: Parquet has no seconds unit)."""
    return pa.timestamp(how if how in ("ms", "us", "ns") else "ms", tz="UTC")


def columns(schema: Mapping[str, str]) -> dict[str, str]:
    """The declared columns (item fields of lists left out: they type their list column)."""
    return {n: k for n, k in schema.items() if "[]" not in n}


def items(name: str, schema: Mapping[str, str]) -> dict[str, str]:
    """The declared fields of the items of list column ``name``, relative to an item."""
    prefix = name + "[]."
    return {n[len(prefix):]: k for n, k in schema.items() if n.startswith(prefix)}


def _leaf(kind: str, spec: Mapping[str, Any] | None) -> pa.DataType:
    return _PLAIN.get(kind) or time_target(str((spec or {}).get("unit", "s")))


def _children(fields: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``{"a.b": t, "c": u}`` grouped by first name: ``{"a": {"b": t}, "c": {"": u}}``;
    ``"x[].y"`` stays under ``x[]``."""
    groups: dict[str, dict[str, str]] = {}
    for path, kind in fields.items():
        head, _, rest = path.partition(".")
        groups.setdefault(head, {})[rest] = kind
    return groups


def declared_type(fields: Mapping[str, str], spec: Mapping[str, Any] | None) -> pa.DataType:
    """A struct of ``fields`` (paths relative to it, ``x[].y`` for lists of objects)."""
    out = []
    for head, rest in _children(fields).items():
        if head.endswith("[]"):
            continue  # typed with its list (below)
        if "" in rest:
            kind = rest[""]
            item = {p[len(head) + 3:]: k for p, k in fields.items()
                    if p.startswith(head + "[].")}
            typed = pa.list_(declared_type(item, spec)) if kind == "list" and item else \
                _leaf(kind, spec)
            out.append(pa.field(head, typed))
        else:
            out.append(pa.field(head, declared_type(rest, spec)))
    return pa.struct(out)


def retyped(have: pa.DataType, fields: Mapping[str, str],
            spec: Mapping[str, Any] | None) -> pa.DataType:
    """``have`` (a struct, or a list of them) with the declared ``fields`` in their types;
    fields not declared, and declared ones arriving as objects, keep theirs."""
    if pa.types.is_list(have) or pa.types.is_large_list(have):
        inner = {p[3:]: k for p, k in fields.items() if p.startswith("[].")}
        return pa.list_(retyped(have.value_type, inner, spec)) if inner else have
    if not pa.types.is_struct(have):
        return have
    groups = _children(fields)
    out = []
    for child in have:
        name = child.name
        leaf = groups.get(name, {}).get("")
        nested = {k: v for k, v in groups.get(name, {}).items() if k}
        nested.update({"[]." + k: v for k, v in groups.get(name + "[]", {}).items()})
        if nested and pa.types.is_nested(child.type):
            out.append(child.with_type(retyped(child.type, nested, spec)))
        elif leaf and leaf != "list" and not pa.types.is_nested(child.type):
            out.append(child.with_type(_leaf(leaf, spec)))
        else:
            out.append(child)
    return pa.struct(out)


def arrow_type(name: str, kind: str, spec: Mapping[str, Any] | None,
               schema: Mapping[str, str] | None = None) -> pa.DataType:
    """The Arrow type column ``name`` declared as ``kind`` gets (time fields are times; a list
    whose items' fields are declared is a list of those objects)."""
    how = time_rule(name, spec, schema)
    if how is not None:
        return time_target(how)
    fields = items(name, schema or {})
    if kind == "list" and fields:
        return pa.list_(declared_type(fields, spec))
    return _leaf(kind, spec)


def empty_table(schema: Mapping[str, str] | None, spec: Mapping[str, Any] | None) -> pa.Table:
    """No rows, and the declared columns with their types (none without a schema)."""
    if not schema:
        return pa.table({})
    return pa.schema([pa.field(n, arrow_type(n, k, spec, schema))
                      for n, k in columns(schema).items()]).empty_table()


# ISO 8601 date-times (a date and a time of day, optional fraction and zone), nothing looser;
# with and without a zone, for Arrow's regex engine (RE2) to check whole columns.
_ISO_BASE = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d"
             r"(:[0-5]\d(\.\d{1,9})?)?")
ISO_ZONED = _ISO_BASE + r"(Z|[+-]\d{2}(:?\d{2})?)$"
ISO_NAIVE = _ISO_BASE + "$"
