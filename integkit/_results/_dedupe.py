"""Declared primary keys hold: a record that comes again on a later page is kept once.

Pages overlap when a listing shifts under its cursor (a record inserted while offset paging,
a partition boundary, a server that repeats its last record): the connector definition's
``primary_key`` (``ik.rest(..., primary_key=)`` for any API) says which field names a
record, and a Result keeps the first record of each key, counts the others in
``stats.duplicates`` and warns once with :class:`DuplicateRecordWarning`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

from .._jsonpath import find

__all__ = ["DuplicateRecordWarning", "RecordKeys", "warn_duplicates"]


class DuplicateRecordWarning(UserWarning):
    """Records with a primary key already read came again and were dropped."""


class RecordKeys:
    """The primary keys of the records kept so far (``field``, ``"a.b"`` or several fields);
    records without a key are always kept, since nothing tells them apart."""

    def __init__(self, primary_key: str | Sequence[str]) -> None:
        fields = [primary_key] if isinstance(primary_key, str) else list(primary_key)
        self.fields = [f.strip() for item in fields for f in item.split(",") if f.strip()]
        self._seen: set[Any] = set()

    def _key(self, record: Any) -> Any:
        if not isinstance(record, dict):
            return None
        values = []
        for name in self.fields:
            value = record.get(name) if "." not in name else find(record, name)
            if value is None:
                return None
            if isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True, default=str)
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)

    def describe(self, record: Any) -> str:
        """``id='ch_1'`` (or ``a=1, b=2``) for a message."""
        return ", ".join(f"{name}={find(record, name)!r}" for name in self.fields)

    def remember(self, records: list[Any]) -> None:
        """Count ``records`` (already kept, e.g. restored from a checkpoint) as seen."""
        for record in records:
            key = self._key(record)
            if key is not None:
                self._seen.add(key)

    def keep_new(self, records: list[Any]) -> tuple[list[Any], int, Any, set[Any]]:
        """``records`` without those whose key was seen (on this page or before): the kept
        ones, how many were dropped, the first dropped record, and the keys to :meth:`add`
        once the page is committed (nothing is remembered before: a failed commit is
        fetched again)."""
        kept: list[Any] = []
        dropped, first = 0, None
        seen, new = self._seen, set()
        for record in records:
            key = self._key(record)
            if key is not None:
                if key in seen or key in new:
                    if dropped == 0:
                        first = record
                    dropped += 1
                    continue
                new.add(key)
            kept.append(record)
        return (records if not dropped else kept), dropped, first, new

    def add(self, keys: set[Any]) -> None:
        """Remember the keys of a committed page (from :meth:`keep_new`)."""
        self._seen |= keys


def warn_duplicates(where: str, page: int, dropped: int, first: str) -> None:
    """Say (once per Result: the caller keeps track) that records came again; ``first``
    names the first one dropped (:meth:`RecordKeys.describe`)."""
    warnings.warn(
        f"{where}: {dropped} record(s) on page {page} repeat ones already read (first: "
        f"{first}) and were dropped: each primary key is kept once. "
        "result.stats.duplicates counts every repeat; the service's pages overlap, often "
        "because records changed while the listing was read.",
        DuplicateRecordWarning, stacklevel=5)
