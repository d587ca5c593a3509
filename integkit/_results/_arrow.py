"""Records -> one flat, typed pyarrow Table; the single conversion behind frames and Parquet.

Nested objects become dotted columns (``billing_details.address.city``); the schema is the union
over every record, so a field that only later pages carry still gets its column; time fields
(see ``_schema.time_spec``) become UTC timestamps, whatever mix of epoch numbers and ISO
strings they arrive as, and, where detection is on (``ik.rest``), so do text columns that
consistently hold ISO 8601 date-times. A field whose type changes mid-listing (``"12"`` after
``12``) keeps the type it started with when its values can be cast to it losslessly; otherwise
it falls back to text and a :class:`FieldTypeWarning` names the field, rather than failing the
extraction. Last, a declared schema types its columns and adds those no record carried, so
no records at all still make a table of the listing's columns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .._errors import ConfigError, ServerError
from .._events import redact
from ._schema import (
    ISO_NAIVE,
    ISO_ZONED,
    arrow_type,
    empty_table,
    items,
    retyped,
    time_rule,
    time_spec,
    time_target,
)
from ._schema import columns as declared_columns

__all__ = [
    "FieldTypeWarning",
    "apply_schema",
    "combine_arrays",
    "detect_timestamps",
    "flatten_table",
    "records_to_array",
    "records_to_table",
    "require_objects",
    "type_timestamps",
]

_UNITS = {"s", "ms", "us", "ns"}


class FieldTypeWarning(UserWarning):
    """A field changed type mid-listing in a way its first type cannot hold: it is text now."""


def require_objects(records: Sequence[Any], *, service: str, endpoint: str) -> None:
    """Every record is a JSON object (a row), or a ServerError that says what came instead."""
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            shown = redact(json.dumps(record, default=str))[:80]
            raise ServerError(
                f"record {index} of the page is not an object but a {type(record).__name__} "
                f"({shown}): records must be JSON objects to become rows",
                service=service, endpoint=endpoint, transient=False,
                hint="Point records_path= at the list of objects in the page (e.g. "
                "records_path='data'); an API that lists plain values needs a records strategy "
                "that turns them into objects (integkit.engine.Strategies).",
            )


def flatten_table(table: pa.Table) -> pa.Table:
    """Flatten struct columns into dotted columns until none is left."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def _flatten_record(record: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten_record(value, name + ".", out)
        elif not (isinstance(value, dict) and not value):
            out[name] = value


def _established(values: list[Any]) -> pa.DataType | None:
    """The type a field started with: that of its first value (None: no value, or one Arrow
    cannot type on its own)."""
    for value in values:
        if value is not None:
            try:
                return pa.array([value]).type
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                return None
    return None


def _cast(value: Any, target: pa.DataType) -> Any:
    """``value`` as a Python value of ``target``'s kind, losslessly; ValueError if it is not
    one (a bool is never a number here, a number never a bool, ``1.5`` never an int)."""
    if value is None:
        return None
    if pa.types.is_integer(target) and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
    elif pa.types.is_floating(target) and not isinstance(value, bool):
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    elif pa.types.is_boolean(target):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif pa.types.is_string(target) or pa.types.is_large_string(target):
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
    raise ValueError(f"{value!r} is not a {target}")


def _as_text(values: list[Any]) -> pa.Array:
    return pa.array(
        [None if v is None else v if isinstance(v, str) else json.dumps(v, default=str)
         for v in values],
        type=pa.string(),
    )


def _column(values: list[Any], name: str = "") -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    target = _established(values)
    if target is not None and not pa.types.is_nested(target):
        try:
            return pa.array([_cast(v, target) for v in values], type=target)
        except (ValueError, TypeError, pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    odd = next((v for v in values if v is not None and (
        target is None or _fits_not(v, target))), None)
    warnings.warn(
        f"integkit: field {name!r} changed type mid-listing ({target or 'mixed'} first, then "
        f"{type(odd).__name__} {redact(repr(odd))[:40]}): the column is text. Cast it in "
        "the frame if you know better.", FieldTypeWarning, stacklevel=4,
    )
    return _as_text(values)


def _fits_not(value: Any, target: pa.DataType) -> bool:
    try:
        _cast(value, target)
    except (ValueError, TypeError, OverflowError):
        return True
    return False


def _epoch(value: float, unit: str) -> dt.datetime:
    scale = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
    return dt.datetime.fromtimestamp(value / scale, tz=dt.UTC)


def _instant(value: Any, how: str) -> dt.datetime | None:
    """A time field's value as an instant: epoch numbers in unit ``how`` (also as text; in
    seconds when ``how`` is ``"iso"`` or a format), text in the strptime format ``how``, else
    ISO 8601 text (naive times are UTC); ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    unit = how if how in _UNITS else "s"
    if isinstance(value, int | float):
        return _epoch(float(value), unit)
    if isinstance(value, str):
        text = value.strip()
        if "%" in how:
            parsed = dt.datetime.strptime(text, how)
        else:
            try:
                return _epoch(float(text), unit)
            except ValueError:
                pass
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise ValueError(f"{value!r} is not a time")


def _timestamp_column(values: list[Any], how: str, name: str) -> pa.Array | None:
    """A time field whose values came in mixed forms, as timestamps; None (and a warning)
    when one of them is no time at all."""
    try:
        return pa.array([_instant(v, how) for v in values], type=time_target(how))
    except (ValueError, TypeError, OverflowError, pa.ArrowInvalid):
        warnings.warn(f"integkit: timestamp field {name!r} holds values that are no time; "
                      "the column is text", FieldTypeWarning, stacklevel=4)
        return None


def _slow_path(records: Sequence[dict[str, Any]], timestamps: dict[str, Any] | None = None,
               schema: Mapping[str, str] | None = None) -> pa.Table:
    """Column by column, for records whose fields disagree in type."""
    flat: list[dict[str, Any]] = []
    for record in records:
        out: dict[str, Any] = {}
        _flatten_record(record, "", out)
        flat.append(out)
    names: dict[str, None] = {}
    for row in flat:
        names.update(dict.fromkeys(row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in flat]
        column = None
        how = time_rule(name, timestamps, schema)
        if how is not None:
            try:
                plain = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                column = _timestamp_column(values, how, name)
            else:
                column = plain  # one form throughout: type_timestamps casts it as a whole
        columns[name] = column if column is not None else _column(values, name)
    return pa.table(columns)


def _parsed_times(column: pa.ChunkedArray | pa.Array, how: str, target: pa.DataType,
                  name: str) -> pa.ChunkedArray | pa.Array | None:
    """Text read as times (ISO 8601, epoch numbers as text, or the strptime format ``how``):
    by Arrow where it can, else value by value (naive times are UTC); None when a value is
    no time (and a warning)."""
    try:
        if "%" in how:
            return pc.strptime(column, format=how, unit=target.unit,
                               error_is_null=False).cast(target)
        return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return pa.array([_instant(v, how) for v in column.to_pylist()], type=target)
    except (ValueError, TypeError, OverflowError, pa.ArrowInvalid):
        pass
    odd = next((v for v in column.to_pylist() if v is not None and _no_time(v, how)), None)
    shape = f" in the format {how!r}" if "%" in how else ""
    warnings.warn(f"integkit: timestamp field {name!r} holds {redact(repr(odd))[:40]}, which is "
                  f"no time{shape}; the column is text", FieldTypeWarning, stacklevel=5)
    return None


def _no_time(value: Any, how: str) -> bool:
    try:
        _instant(value, how)
    except (ValueError, TypeError, OverflowError):
        return True
    return False


def _as_time(column: pa.ChunkedArray | pa.Array, how: str,
             name: str) -> pa.ChunkedArray | pa.Array | None:
    """``column`` as the time column ``how`` says, or None to keep it as it is."""
    target = time_target(how)
    kind = column.type
    unit = how if how in _UNITS else "s"
    epoch = pa.timestamp(unit, tz="UTC")
    try:
        if pa.types.is_timestamp(kind):
            moment = column if kind.tz else column.cast(pa.timestamp(kind.unit, tz="UTC"))
            return moment.cast(target)
        if pa.types.is_integer(kind) or pa.types.is_null(kind):
            return column.cast(pa.int64()).cast(epoch).cast(target)
        if pa.types.is_floating(kind):
            return pc.round(column).cast(pa.int64()).cast(epoch).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # not what the definition promised; keep the raw values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parsed_times(column, how, target, name)
    return None


def type_timestamps(table: pa.Table, spec: dict[str, Any] | None,
                    schema: Mapping[str, str] | None = None) -> pa.Table:
    """Cast the time columns (``spec``'s globs, and fields ``schema`` declares ``timestamp``)
    to UTC timestamps.

    Numbers are epoch values in the field's unit (default ``spec["unit"]``, seconds); text is
    ISO 8601 (or the field's strptime format). Columns of any other type are left alone.
    """
    if not spec and not schema:
        return table
    if spec and "how" not in spec:  # a definition's raw form
        try:
            spec = time_spec(spec)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    columns = list(table.columns)
    for index, name in enumerate(table.column_names):
        how = time_rule(name, spec, schema)
        if how is None:
            continue
        typed = _as_time(columns[index], how, name)
        if typed is not None:
            columns[index] = typed
    return pa.Table.from_arrays(columns, names=table.column_names)


def _iso_times(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array | None:
    """A text column as UTC timestamps when its values are consistently ISO 8601 date-times:
    every value (nulls aside) a date with a time of day, all with a zone or all without (then
    UTC), and at least two of them or one on every row. None otherwise."""
    valid = len(column) - column.null_count
    if valid == 0 or (valid < 2 and column.null_count):
        return None
    first = column.drop_null()[0].as_py()
    zoned = re.match(ISO_ZONED, first) is not None
    if not zoned and re.match(ISO_NAIVE, first) is None:
        return None  # most text columns stop here, at their first value
    pattern = ISO_ZONED if zoned else ISO_NAIVE
    if pc.sum(pc.match_substring_regex(column, pattern)).as_py() != valid:
        return None
    target = pa.timestamp("ms", tz="UTC")
    try:  # Arrow parses ISO 8601 itself; sub-millisecond digits are cut, as below
        parsed = pc.cast(column, pa.timestamp("ns", tz="UTC") if zoned else pa.timestamp("ns"))
        return parsed.cast(pa.timestamp("ns", tz="UTC")).cast(target, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:  # forms Arrow does not read (no seconds, "+02" zones), or years past 2262
        return pa.array([_instant(v, "iso") for v in column.to_pylist()], type=target)
    except (ValueError, OverflowError, pa.ArrowInvalid):
        return None


def detect_timestamps(table: pa.Table, skip: Iterable[str] = ()) -> pa.Table:
    """Text columns (but those in ``skip``) holding consistent ISO 8601 date-times, as UTC
    timestamps; a column where some value is no such time stays text."""
    skipped = set(skip)
    columns = list(table.columns)
    changed = False
    for index, name in enumerate(table.column_names):
        kind = columns[index].type
        if name in skipped or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        typed = _iso_times(columns[index])
        if typed is not None:
            columns[index], changed = typed, True
    return pa.Table.from_arrays(columns, names=table.column_names) if changed else table


def _conform(column: pa.ChunkedArray, target: pa.DataType, kind: str,
             name: str) -> pa.ChunkedArray | None:
    """``column`` as its declared ``target`` type, or None to keep it (with a warning when
    its values are not what was declared)."""
    have = column.type
    if have == target or (kind == "list" and (pa.types.is_list(have)
                                              or pa.types.is_large_list(have))):
        return None
    if pa.types.is_null(have):
        return column.cast(target)
    if pa.types.is_timestamp(target):
        return None  # type_timestamps has read it (and said so when it could not)
    if pa.types.is_nested(have) or kind == "list":
        return None  # an object or list where the definition says otherwise: as it came
    if pa.types.is_string(target) and (pa.types.is_boolean(have)):
        return pc.if_else(column, "true", "false")
    try:
        if pa.types.is_date(target) and (pa.types.is_string(have) or pa.types.is_timestamp(have)):
            return pc.cast(column, target)
        if pa.types.is_boolean(target) and not (pa.types.is_boolean(have)
                                                or pa.types.is_string(have)):
            raise ValueError("only text becomes a boolean")
        return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError):
        pass
    try:  # text with spaces, "1e3" for an integer...: value by value, losslessly
        return pa.chunked_array([pa.array([_cast(v, target) for v in column.to_pylist()],
                                          type=target)])
    except (ValueError, TypeError, OverflowError, pa.ArrowInvalid):
        pass
    odd = next((v for v in column.to_pylist() if v is not None and _fits_not(v, target)), None)
    warnings.warn(f"integkit: field {name!r} is declared {kind} but holds "
                  f"{redact(repr(odd))[:40]}; the column stays {have}", FieldTypeWarning,
                  stacklevel=4)
    return None


def _nested(column: pa.ChunkedArray, target: pa.DataType,
            name: str) -> pa.ChunkedArray | None:
    """A list of objects with its items' declared fields cast (None: as it is, with a
    warning when a value is not what was declared)."""
    if column.type == target:
        return None
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        warnings.warn(f"integkit: the items of {name!r} hold a field that is not what the "
                      f"schema declares ({redact(str(exc))[:80]}); the column stays as it came",
                      FieldTypeWarning, stacklevel=4)
        return None


def apply_schema(table: pa.Table, schema: Mapping[str, str] | None,
                 spec: Mapping[str, Any] | None = None) -> pa.Table:
    """``table`` with every declared column in its declared type. Columns present are cast;
    a declared field no record carried is added as a column of nulls, unless the records
    carried it in another shape (an object where an id was declared: an expanded field) or
    carried its object as null (one column of nulls says so already). Columns the schema does
    not name are kept as they came."""
    if not schema:
        return table
    names = table.column_names
    columns = dict(zip(names, table.columns, strict=True))
    present = set(names)
    for name in names:  # every object a column belongs to was carried too
        parts = name.split(".")
        present.update(".".join(parts[:i]) for i in range(1, len(parts)))
    added: dict[str, pa.Array] = {}
    for name, kind in declared_columns(schema).items():
        target = arrow_type(name, kind, spec, schema)
        column = columns.get(name)
        if column is not None:
            fields = items(name, schema) if kind == "list" else None
            if fields and (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
                target = retyped(column.type, {"[]." + k: v for k, v in fields.items()}, spec)
                typed = _nested(column, target, name)
            else:
                typed = _conform(column, target, kind, name)
            if typed is not None:
                columns[name] = typed
            continue
        parts = name.split(".")
        if name in present or any(".".join(parts[:i]) in columns for i in range(1, len(parts))):
            continue
        added[name] = pa.nulls(table.num_rows, target)
    return pa.table([*(columns[n] for n in names), *added.values()], names=[*names, *added])


def records_to_array(records: list[dict[str, Any]]) -> pa.StructArray | None:
    """One page's records as a nested struct array, or None if their fields disagree in type."""
    try:
        array = pa.array(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    return array if pa.types.is_struct(array.type) else None


def _drop_empty_structs(table: pa.Table) -> pa.Table:
    # An always-empty object ({}) flattens to a struct with no fields: nothing to show.
    keep = [i for i, f in enumerate(table.schema)
            if not (pa.types.is_struct(f.type) and f.type.num_fields == 0)]
    return table if len(keep) == table.num_columns else table.select(keep)


def combine_arrays(arrays: Sequence[pa.StructArray]) -> pa.Table | None:
    """Pages converted one by one -> one flat table over the union of their fields; None if
    two pages disagree on a field's type."""
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return pa.table({})
    types = list(dict.fromkeys(a.type for a in arrays))
    if len(types) > 1:
        try:
            unified = pa.unify_schemas(
                [pa.schema([pa.field("r", t)]) for t in types], promote_options="permissive"
            ).field("r").type
            arrays = [a if a.type == unified else a.cast(unified) for a in arrays]
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
    table = pa.Table.from_struct_array(pa.chunked_array(arrays))
    return _drop_empty_structs(flatten_table(table))


def records_to_table(
    records: Iterable[dict[str, Any]],
    *,
    timestamps: dict[str, Any] | None = None,
    arrays: Sequence[pa.StructArray | None] | None = None,
    schema: Mapping[str, str] | None = None,
) -> pa.Table:
    """Flat, typed Arrow table of ``records``; pass ``arrays`` when pages were converted ahead.

    ``timestamps`` (see :func:`time_spec`) types the time fields, ``schema`` (dotted column ->
    type name) the declared ones: with it, no records still make a table of its columns.
    """
    if timestamps and "how" not in timestamps:  # a definition's raw form
        timestamps = time_spec(timestamps)
    rows = records if isinstance(records, list) else list(records)
    if not rows:
        return empty_table(schema, timestamps)
    table = None
    if arrays is None:
        arrays = [records_to_array(rows)]
    if all(a is not None for a in arrays):
        table = combine_arrays(arrays)
    if table is None:
        table = _slow_path(rows, timestamps, schema)
    table = type_timestamps(table, timestamps, schema)
    if timestamps and timestamps.get("detect"):
        table = detect_timestamps(table, skip=[
            n for n in table.column_names
            if (schema and n in schema) or time_rule(n, timestamps) is not None])
    return apply_schema(table, schema, timestamps)
