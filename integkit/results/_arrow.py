"""Records -> one flat, typed pyarrow Table; the single conversion behind frames and Parquet.

Nested objects become dotted columns (``billing_details.address.city``); the schema is the union
over every record, so a field that only later pages carry still gets its column; declared
timestamp fields become UTC timestamps, whatever mix of epoch numbers and ISO strings they
arrive as. A field whose type changes mid-listing (``"12"`` after ``12``) keeps the type it
started with when its values can be cast to it losslessly; otherwise it falls back to text and
a :class:`FieldTypeWarning` names the field, rather than failing the extraction.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .._errors import ServerError
from .._events import redact

__all__ = [
    "FieldTypeWarning",
    "combine_arrays",
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
                "records_path='data'); an API that lists plain values needs a connector whose "
                "page_records turns them into objects.",
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


def _instant(value: Any, unit: str) -> dt.datetime | None:
    """A timestamp field's value as an instant: epoch numbers in ``unit`` (also as text),
    ISO-8601 strings; ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        return _epoch(float(value), unit)
    if isinstance(value, str):
        text = value.strip()
        try:
            return _epoch(float(text), unit)
        except ValueError:
            pass
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise ValueError(f"{value!r} is not a time")


def _timestamp_column(values: list[Any], spec: dict[str, Any], name: str) -> pa.Array | None:
    """A declared timestamp field whose values came in mixed forms, as timestamps; None (and a
    warning) when one of them is no time at all."""
    unit = spec.get("unit", "s")
    target = pa.timestamp("ms" if unit == "s" else unit, tz="UTC")
    try:
        return pa.array([_instant(v, unit) for v in values], type=target)
    except (ValueError, TypeError, OverflowError, pa.ArrowInvalid):
        warnings.warn(f"integkit: timestamp field {name!r} holds values that are no time; "
                      "the column is text", FieldTypeWarning, stacklevel=4)
        return None


def _is_timestamp_field(name: str, spec: dict[str, Any] | None) -> bool:
    return bool(spec and spec.get("fields")) and any(
        fnmatch.fnmatchcase(name, p) for p in spec["fields"])  # type: ignore[index]


def _slow_path(records: Sequence[dict[str, Any]],
               timestamps: dict[str, Any] | None = None) -> pa.Table:
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
        if _is_timestamp_field(name, timestamps):
            try:
                plain = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                column = _timestamp_column(values, timestamps or {}, name)
            else:
                column = plain  # one form throughout: type_timestamps casts it as a whole
        columns[name] = column if column is not None else _column(values, name)
    return pa.table(columns)


def type_timestamps(table: pa.Table, spec: dict[str, Any] | None) -> pa.Table:
    """Cast the columns matching ``spec["fields"]`` (globs) to ``timestamp[unit, UTC]``.

    Integers are read as epoch values in ``spec["unit"]`` (default seconds); ISO-8601 strings
    are parsed. Columns of any other type are left alone.
    """
    if not spec or not spec.get("fields"):
        return table
    unit = spec.get("unit", "s")
    if unit not in _UNITS:
        raise ValueError(f"timestamp unit must be one of {sorted(_UNITS)}, not {unit!r}")
    # Seconds are stored as milliseconds: Parquet has no seconds unit, and a frame should read
    # back from Parquet exactly as it was written.
    target = pa.timestamp("ms" if unit == "s" else unit, tz="UTC")
    patterns = list(spec["fields"])
    columns = list(table.columns)
    for index, name in enumerate(table.column_names):
        if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        column = columns[index]
        kind = column.type
        try:
            epoch = pa.timestamp(unit, tz="UTC")
            if pa.types.is_integer(kind) or pa.types.is_null(kind):
                columns[index] = column.cast(pa.int64()).cast(epoch).cast(target)
            elif pa.types.is_floating(kind):
                columns[index] = pc.round(column).cast(pa.int64()).cast(epoch).cast(target)
            elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
                columns[index] = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue  # not what the definition promised; keep the raw values
    return pa.Table.from_arrays(columns, names=table.column_names)


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
) -> pa.Table:
    """Flat, typed Arrow table of ``records``; pass ``arrays`` when pages were converted ahead."""
    rows = records if isinstance(records, list) else list(records)
    if not rows:
        return pa.table({})
    table = None
    if arrays is None:
        arrays = [records_to_array(rows)]
    if all(a is not None for a in arrays):
        table = combine_arrays(arrays)
    if table is None:
        table = _slow_path(rows, timestamps)
    return type_timestamps(table, timestamps)
