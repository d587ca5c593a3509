"""Records -> one flat, typed pyarrow Table; the single conversion behind frames and Parquet.

Nested objects become dotted columns (``billing_details.address.city``); the schema is the union
over every record, so a field that only later pages carry still gets its column; declared
timestamp fields become UTC timestamps. Fields whose values disagree in type across records
(a number here, a string there) fall back to strings rather than failing the extraction.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "combine_arrays",
    "flatten_table",
    "records_to_array",
    "records_to_table",
    "type_timestamps",
]

_UNITS = {"s", "ms", "us", "ns"}


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


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array(
            [None if v is None else v if isinstance(v, str) else json.dumps(v, default=str)
             for v in values],
            type=pa.string(),
        )


def _slow_path(records: Sequence[dict[str, Any]]) -> pa.Table:
    """Column by column, for records whose fields disagree in type."""
    flat: list[dict[str, Any]] = []
    for record in records:
        out: dict[str, Any] = {}
        _flatten_record(record, "", out)
        flat.append(out)
    names: dict[str, None] = {}
    for row in flat:
        names.update(dict.fromkeys(row))
    return pa.table({name: _column([row.get(name) for row in flat]) for name in names})


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
        table = _slow_path(rows)
    return type_timestamps(table, timestamps)
