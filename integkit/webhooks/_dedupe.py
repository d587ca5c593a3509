"""Memories of delivery ids already handled: bounded in this process (least recent goes first),
or shared through the state backend by every process behind one webhook URL."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from .._state import StateBackend, open_state

__all__ = ["SeenIds", "SharedSeenIds"]


class SeenIds:
    """The last ``maxsize`` ids seen in this process.

    >>> seen = SeenIds(2)
    >>> seen.add("a"), seen.add("a")
    (True, False)
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Remember ``key``; True if it is new, False if it was already seen."""
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return False
            self._ids[key] = None
            if len(self._ids) > self.maxsize:
                self._ids.popitem(last=False)
            return True

    def discard(self, key: str) -> None:
        """Forget ``key`` (its handling failed, so the service's retry must run again)."""
        with self._lock:
            self._ids.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class SharedSeenIds:
    """Ids seen by every process sharing a state backend (SQLite file or Redis), each kept for
    ``ttl`` seconds: several workers behind one webhook URL handle a delivery once.

    >>> seen = SharedSeenIds("sqlite:///tmp/hooks.db")   # doctest: +SKIP
    """

    def __init__(self, state: Any = None, *, ttl: float = 3 * 86400.0,
                 namespace: str = "webhook_seen") -> None:
        self.state = state if isinstance(state, StateBackend) else open_state(state)
        self.ttl = ttl
        self.namespace = namespace
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS ik_webhook_seen "
                             "(key TEXT PRIMARY KEY, expires REAL NOT NULL)")

    def add(self, key: str) -> bool:
        """Remember ``key`` for everyone; True if no process had seen it (within ``ttl``)."""
        now = time.time()
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_webhook_seen WHERE expires < ?", (now,))
                cursor = conn.execute("INSERT OR IGNORE INTO ik_webhook_seen VALUES (?, ?)",
                                      (key, now + self.ttl))
                return cursor.rowcount == 1
        name = self.state.key(self.namespace, key)
        return bool(self.state.redis().set(name, b"1", nx=True, ex=max(1, int(self.ttl))))

    def discard(self, key: str) -> None:
        """Forget ``key`` everywhere (its handling failed: the service's retry must run)."""
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_webhook_seen WHERE key = ?", (key,))
        else:
            self.state.redis().delete(self.state.key(self.namespace, key))

    def clear(self) -> None:
        """Forget every id (tests, or a fresh start)."""
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_webhook_seen")
        else:
            client = self.state.redis()
            for name in client.scan_iter(self.state.key(self.namespace, "*")):
                client.delete(name)
