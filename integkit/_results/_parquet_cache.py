"""A whole Result materialised to Parquet, so a notebook re-run reads it back without a call.

One file per fingerprint (what was asked: service, resource, params), written atomically (a
temp file in the same folder, then ``os.replace``), so a crash or a concurrent reader never sees
half a file. When and for what it was written sits in the Parquet schema metadata under
``integkit``; ``get`` reads only that footer to decide whether the file is young enough.

>>> cache = ParquetCache("~/.cache/integkit/results")           # doctest: +SKIP
>>> cache.put("stripe:charges:abc123", table, {"service": "stripe"})   # doctest: +SKIP
>>> cache.get("stripe:charges:abc123", max_age=3600)             # doctest: +SKIP
pyarrow.Table ...
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._events import logger, redact, secret_masks
from .._private import private_dir

__all__ = ["ParquetCache"]

_META_KEY = b"integkit"
_SAFE = re.compile(r"^[A-Za-z0-9_.=-]{1,96}$")


def _masked_array(array: pa.Array, masks: list[tuple[str, str]]) -> pa.Array:
    """``array`` with registered secrets masked in its text, inside structs and lists too."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        for secret, shown in masks:
            if pc.any(pc.match_substring(array, secret)).as_py():
                array = pc.replace_substring(array, secret, shown)
        return array
    if pa.types.is_struct(kind):
        fields = [_masked_array(array.field(i), masks) for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(fields, fields=list(kind), mask=array.is_null())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = _masked_array(array.values, masks)
        return type(array).from_arrays(array.offsets, values, mask=array.is_null())
    return array


def _without_secrets(table: pa.Table) -> pa.Table:
    """``table`` with every registered secret masked in its text: a server that echoes the
    key into a record must not leave it at rest in plain text."""
    masks = secret_masks()
    if not masks:
        return table
    columns = [pa.chunked_array([_masked_array(c, masks) for c in column.chunks], column.type)
               for column in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


class ParquetCache:
    """Parquet files in ``directory``, one per fingerprint, with their age in the metadata."""

    def __init__(
        self, directory: str | os.PathLike[str], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.directory = Path(directory).expanduser()
        self.clock = clock

    def path(self, fingerprint: str) -> Path:
        """The file for ``fingerprint``: readable when the fingerprint is, a digest otherwise."""
        if _SAFE.match(fingerprint) and not fingerprint.startswith("."):
            name = fingerprint
        else:
            name = hashlib.blake2b(fingerprint.encode(), digest_size=16).hexdigest()
        return self.directory / f"{name}.parquet"

    def meta(self, fingerprint: str) -> dict[str, Any] | None:
        """What ``put`` recorded (``created_at``, ``fingerprint``, ``meta``), or None."""
        path = self.path(fingerprint)
        try:
            schema = pq.read_schema(path)
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException) as exc:
            logger.warning("integkit: unreadable cached result %s (%s); ignoring it", path, exc)
            return None
        raw = (schema.metadata or {}).get(_META_KEY)
        if raw is None:
            return None
        try:
            info = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(info, dict) or info.get("fingerprint") != fingerprint:
            return None  # a digest collision, or a file not written by us
        return info

    def fresh(self, fingerprint: str, max_age: float | None = None) -> bool:
        """Whether a table no older than ``max_age`` seconds (None: any age) is stored."""
        info = self.meta(fingerprint)
        return info is not None and (
            max_age is None or self.clock() - float(info.get("created_at", 0)) <= max_age
        )

    def get(self, fingerprint: str, max_age: float | None = None) -> pa.Table | None:
        """The stored table if there is one no older than ``max_age`` seconds (None: any age)."""
        if not self.fresh(fingerprint, max_age):
            return None
        try:
            table = pq.read_table(self.path(fingerprint))
        except (OSError, pa.ArrowException) as exc:
            logger.warning("integkit: unreadable cached result for %s (%s)", fingerprint, exc)
            return None
        return table

    def put(self, fingerprint: str, table: pa.Table, meta: dict[str, Any] | None = None) -> Path:
        """Store ``table`` for ``fingerprint`` (replacing any older one), atomically."""
        table = _without_secrets(table)
        info = {"fingerprint": fingerprint, "created_at": self.clock(), "meta": meta or {}}
        # Registered secrets are masked even here: the metadata is plain text in the file.
        encoded = redact(json.dumps(info, default=str, sort_keys=True)).encode()
        metadata = dict(table.schema.metadata or {})
        metadata[_META_KEY] = encoded
        table = table.replace_schema_metadata(metadata)
        path = self.path(fingerprint)
        private_dir(self.directory)  # its files are 0600 already (mkstemp)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=self.directory)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def invalidate(self, fingerprint: str | None = None) -> int:
        """Remove one fingerprint's file, or every file (None); how many went."""
        if fingerprint is not None:
            path = self.path(fingerprint)
            if path.exists():
                path.unlink(missing_ok=True)
                return 1
            return 0
        if not self.directory.is_dir():
            return 0
        removed = 0
        for path in self.directory.glob("*.parquet"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def __repr__(self) -> str:
        return f"<ParquetCache {self.directory}>"
