"""Salesforce field types -> Arrow/pandas dtypes, so a query's frame is typed by its describe.

REST answers carry JSON numbers and ISO strings; Bulk API 2.0 answers carry CSV text. Both end
up the same: booleans as ``bool``, ``int`` as ``int64``, ``double``/``currency``/``percent`` as
``float64``, ``date`` as a date (``datetime64`` in pandas), ``datetime`` as UTC timestamps, and
ids, references, picklists and text as strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from ..._results import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ARROW_TYPES", "SalesforceResult", "convert_text", "type_table"]

_TEXT = ("id", "reference", "string", "textarea", "picklist", "multipicklist", "email",
         "phone", "url", "combobox", "encryptedstring")
#: Salesforce field type -> the Arrow type its column gets.
ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(), "int": pa.int64(), "long": pa.int64(),
    "double": pa.float64(), "currency": pa.float64(), "percent": pa.float64(),
    "date": pa.date32(), "datetime": pa.timestamp("ms", tz="UTC"),
    **{name: pa.string() for name in _TEXT},
}


def convert_text(value: str, sf_type: str | None) -> Any:
    """A CSV cell (Bulk API 2.0) as the JSON value the REST API gives for the same field:
    empty is null, ``true``/``false`` booleans, numbers as numbers; dates stay ISO text."""
    if value == "":
        return None
    try:
        if sf_type == "boolean":
            return value.lower() == "true"
        if sf_type in ("int", "long"):
            return int(float(value))
        if sf_type in ("double", "currency", "percent"):
            return float(value)
    except ValueError:
        return value
    return value


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray | None:
    kind = column.type
    if kind == target:
        return None
    try:
        if pa.types.is_null(kind):
            return column.cast(target)
        if pa.types.is_timestamp(target) and (pa.types.is_string(kind)
                                              or pa.types.is_large_string(kind)):
            return pc.cast(column, target)
        if pa.types.is_date(target) and pa.types.is_timestamp(kind):
            return column.cast(target)
        if pa.types.is_string(target) and not (pa.types.is_string(kind)
                                               or pa.types.is_large_string(kind)):
            return None  # a nested value where text was expected: leave it
        return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None  # not what the describe promised: keep the raw values


def type_table(table: pa.Table, types: Mapping[str, str]) -> pa.Table:
    """``table`` with each column named in ``types`` (column -> Salesforce type, matched
    without regard to case) cast to its Arrow type."""
    lowered = {name.lower(): kind for name, kind in types.items()}
    columns = list(table.columns)
    changed = False
    for index, name in enumerate(table.column_names):
        target = ARROW_TYPES.get(lowered.get(name.lower(), ""))
        if target is None:
            continue
        cast = _cast(columns[index], target)
        if cast is not None:
            columns[index] = cast
            changed = True
    return pa.Table.from_arrays(columns, names=table.column_names) if changed else table


class SalesforceResult(Result):
    """A query's Result whose frames take their dtypes from the object's describe.

    ``types`` is called once, when a table is first built (it may describe objects).
    """

    def __init__(self, *args: Any, types: Callable[[list[str]], Mapping[str, str]],
                 columns: Callable[[], list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._types = types
        self._columns = columns  # a query's columns, for its frame when no row comes
        self._raw: pa.Table | None = None  # the untyped table ``_typed`` was made from
        self._typed: pa.Table | None = None

    def _apply(self, table: pa.Table) -> pa.Table:
        if not table.num_columns:
            if table.num_rows or self._columns is None:
                return table
            names = self._columns()  # no row: the selected fields, typed by the describe
            types = self._types(names)
            return pa.schema([pa.field(n, ARROW_TYPES.get(types.get(n, ""), pa.string()))
                              for n in names]).empty_table()
        return type_table(table, self._types(table.column_names))

    def to_arrow(self, *, progress: bool | None = None) -> pa.Table:
        """All records as one flat Arrow table, typed by the object's describe."""
        table = super().to_arrow(progress=progress)
        if self._typed is None or self._raw is not table:
            self._raw, self._typed = table, self._apply(table)
        return self._typed

    def to_frame(self, *, progress: bool | None = None) -> pd.DataFrame:
        """All records as a pandas DataFrame: dates and datetimes as ``datetime64``,
        booleans, integers and currency as numbers."""
        return self.to_arrow(progress=progress).to_pandas(date_as_object=False)

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` records as a typed DataFrame, fetching only the pages they need."""
        frame = super().head(n)
        if not len(frame):
            return self._apply(pa.table({})).to_pandas(date_as_object=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        return self._apply(table).to_pandas(date_as_object=False)
