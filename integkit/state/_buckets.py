"""pyrate-limiter buckets whose state lives in the state backend, shared by every process.

Token buckets (GCRA) keep a few numbers per key: Redis through pyrate-limiter's own Lua store,
SQLite through :class:`SQLiteStateStore` below (one row per key, changed in an IMMEDIATE
transaction so concurrent processes never interleave). Sliding windows keep a log of recent
calls: pyrate-limiter's Redis bucket, or :class:`SQLiteWindowStore` here.
"""

from __future__ import annotations

import json
from typing import Any

from pyrate_limiter import (
    AbstractBucket,
    Rate,
    RedisBucket,
    RedisStateStore,
    StateBucket,
    StateStore,
    TokenBucket,
    WallClock,
)
from pyrate_limiter.abstracts.algorithm import Decision, State, StateAlgorithm

from ._backend import StateBackend

__all__ = ["SQLiteStateStore", "token_bucket", "sliding_window", "Penalties"]

_WALL = WallClock()


class SQLiteStateStore(StateStore):
    """One key's GCRA state in the SQLite state file; atomic across processes."""

    default_clock = _WALL

    def __init__(self, state: StateBackend, key: str) -> None:
        self.state = state
        self.key = key
        with state.sqlite(immediate=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS ik_bucket_state "
                         "(key TEXT PRIMARY KEY, state TEXT NOT NULL)")

    def _load(self, conn: Any, algorithm: StateAlgorithm, rates: list[Rate]) -> State:
        row = conn.execute("SELECT state FROM ik_bucket_state WHERE key = ?",
                           (self.key,)).fetchone()
        stored = tuple(json.loads(row[0])) if row else ()
        return stored if len(stored) == len(rates) else algorithm.initial(rates)

    def check(self, algorithm: StateAlgorithm, rates: list[Rate], now: int,
              weight: int) -> Decision:
        with self.state.sqlite(immediate=True) as conn:
            new_state, decision = algorithm.step(rates, self._load(conn, algorithm, rates),
                                                 now, weight)
            if decision.allowed:
                conn.execute("INSERT OR REPLACE INTO ik_bucket_state VALUES (?, ?)",
                             (self.key, json.dumps(list(new_state))))
        return decision

    def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> State:
        with self.state.sqlite() as conn:
            return self._load(conn, algorithm, rates)

    def reset(self) -> None:
        with self.state.sqlite(immediate=True) as conn:
            conn.execute("DELETE FROM ik_bucket_state WHERE key = ?", (self.key,))


def token_bucket(state: StateBackend, key: str, rate: Rate) -> StateBucket:
    """A shared token bucket: ``rate.limit`` per ``rate.interval`` ms, ``rate.burst`` at once."""
    if state.kind == "sqlite":
        store: StateStore = SQLiteStateStore(state, key)
    else:
        store = RedisStateStore(state.redis(), state.key("bucket", key))
    return StateBucket([rate], algorithm=TokenBucket(), store=store, clock=_WALL)


def sliding_window(state: StateBackend, key: str, rate: Rate) -> AbstractBucket:
    """A shared sliding-window log: at most ``rate.limit`` in any ``rate.interval`` ms."""
    if state.kind == "sqlite":
        return SQLiteWindowBucket(state, key, rate)
    bucket: AbstractBucket = RedisBucket.init([rate], state.redis(), state.key("window", key))
    return bucket


class SQLiteWindowBucket(AbstractBucket):
    """A sliding-window log in the SQLite state file (one row per admitted call)."""

    def __init__(self, state: StateBackend, key: str, rate: Rate) -> None:
        self.state = state
        self.key = key
        self.rates = [rate]
        with state.sqlite(immediate=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS ik_window_log "
                         "(key TEXT NOT NULL, at INTEGER NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS ik_window_log_key ON ik_window_log(key, at)")

    def now(self) -> int:
        return _WALL.now()

    def put(self, item: Any) -> bool:
        rate = self.rates[0]
        with self.state.sqlite(immediate=True) as conn:
            since = item.timestamp - rate.interval
            conn.execute("DELETE FROM ik_window_log WHERE key = ? AND at <= ?", (self.key, since))
            count, oldest = conn.execute(
                "SELECT COUNT(*), MIN(at) FROM ik_window_log WHERE key = ?", (self.key,)
            ).fetchone()
            if count + item.weight > rate.limit:
                self.failing_rate = rate
                self._wait_ms = max(1, int(oldest + rate.interval - item.timestamp))
                return False
            conn.executemany("INSERT INTO ik_window_log VALUES (?, ?)",
                             [(self.key, item.timestamp)] * item.weight)
        self.failing_rate = None
        return True

    def waiting(self, item: Any) -> int:
        return getattr(self, "_wait_ms", 0) if self.failing_rate is not None else 0

    def leak(self, current_timestamp: int | None = None) -> int:
        return 0

    def flush(self) -> None:
        with self.state.sqlite(immediate=True) as conn:
            conn.execute("DELETE FROM ik_window_log WHERE key = ?", (self.key,))

    def count(self) -> int:
        since = self.now() - self.rates[0].interval
        with self.state.sqlite() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ik_window_log WHERE key = ? AND at > ?",
                                    (self.key, since)).fetchone()[0])

    def peek(self, index: int) -> Any:
        return None


class Penalties:
    """"Wait until T" verdicts from servers (429 + Retry-After, Remaining: 0), shared by every
    process of the state backend so that one 429 pauses them all."""

    def __init__(self, state: StateBackend) -> None:
        self.state = state
        if state.kind == "sqlite":
            with state.sqlite(immediate=True) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS ik_penalty "
                             "(key TEXT PRIMARY KEY, until REAL NOT NULL)")

    def set(self, key: str, until: float) -> None:
        """Pause ``key`` until ``until`` (epoch seconds); never shortens a longer pause."""
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute(
                    "INSERT INTO ik_penalty VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "until = MAX(until, excluded.until)", (key, until))
            return
        client = self.state.redis()
        name = self.state.key("penalty", key)
        current = client.get(name)
        if current is None or float(current) < until:
            client.set(name, repr(until), px=max(1, int((until - _WALL.now() / 1000) * 1000)))

    def until(self, key: str) -> float:
        """Epoch seconds until which ``key`` is paused (0 when it is not)."""
        if self.state.kind == "sqlite":
            with self.state.sqlite() as conn:
                row = conn.execute("SELECT until FROM ik_penalty WHERE key = ?", (key,)).fetchone()
            return float(row[0]) if row else 0.0
        value = self.state.redis().get(self.state.key("penalty", key))
        return float(value) if value is not None else 0.0
