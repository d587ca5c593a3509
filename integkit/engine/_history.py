"""What the last complete read of each listing took: records, pages, calls, seconds, bytes.

Kept in the state backend (so every notebook and worker sharing it learns from the others)
under the listing's fingerprint, and read back by :mod:`._estimate` to answer "how big is
this?" for services that do not say how many records a listing holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from .._state import StateBackend

__all__ = ["ListingRun", "last_run", "record_run"]

_TABLE = (
    "CREATE TABLE IF NOT EXISTS ik_listing_runs (key TEXT PRIMARY KEY, run TEXT NOT NULL)"
)


@dataclass(frozen=True)
class ListingRun:
    """One complete read of a listing."""

    records: int
    pages: int
    calls: int
    seconds: float
    bytes: int = 0
    finished_at: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)  # what the connector noted (oldest...)


def record_run(state: StateBackend, key: str, run: ListingRun) -> None:
    """Remember ``run`` as the latest complete read of the listing ``key``."""
    blob = orjson.dumps(asdict(run)).decode()
    if state.kind == "sqlite":
        with state.sqlite(immediate=True) as conn:
            conn.execute(_TABLE)
            conn.execute("INSERT OR REPLACE INTO ik_listing_runs (key, run) VALUES (?, ?)",
                         (key, blob))
    else:
        state.redis().set(state.key("listing_runs", key), blob)


def last_run(state: StateBackend, key: str) -> ListingRun | None:
    """The latest complete read of the listing ``key``, if any process has made one."""
    if state.kind == "sqlite":
        with state.sqlite() as conn:
            conn.execute(_TABLE)
            row = conn.execute("SELECT run FROM ik_listing_runs WHERE key = ?",
                               (key,)).fetchone()
        blob = row[0] if row else None
    else:
        blob = state.redis().get(state.key("listing_runs", key))
    return ListingRun(**orjson.loads(blob)) if blob else None


