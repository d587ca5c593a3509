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

__all__ = ["Penalties", "SQLiteStateStore", "sliding_window", "token_bucket"]

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
    process of the state backend so that one 429 pauses them all.

    Each pause keeps two times: ``until``, how long calls are held (the limiter bounds it, so
    a hostile or broken hint cannot stop a key for a year, across restarts), and ``asked``,
    when the server said calls may resume (later than ``until`` when the pause was bounded).
    (Pauses of versions that stored no bound, in ``ik_penalty`` / ``integkit:penalty:``, are
    not read.)
    """

    def __init__(self, state: StateBackend) -> None:
        self.state = state
        if state.kind == "sqlite":
            with state.sqlite(immediate=True) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS ik_pause "
                             "(key TEXT PRIMARY KEY, until REAL NOT NULL, asked REAL NOT NULL)")

    def set(self, key: str, until: float, asked: float | None = None) -> None:
        """Pause ``key`` until ``until`` (epoch seconds; the server asked for ``asked``);
        never shortens a longer pause."""
        asked = max(until, asked or until)
        now = _WALL.now() / 1000
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_pause WHERE until < ?", (now,))
                conn.execute(
                    "INSERT INTO ik_pause VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "until = MAX(until, excluded.until), asked = MAX(asked, excluded.asked)",
                    (key, until, asked))
            return
        client = self.state.redis()
        name = self.state.key("pause", key)
        current_until, current_asked = _parse_pause(client.get(name))
        if current_until < until or current_asked < asked:
            until, asked = max(until, current_until), max(asked, current_asked)
            client.set(name, f"{until!r} {asked!r}", px=max(1, int((until - now) * 1000)))

    def get(self, key: str) -> tuple[float, float]:
        """``(until, asked)`` of ``key``'s pause, ``(0.0, 0.0)`` when it has none."""
        if self.state.kind == "sqlite":
            with self.state.sqlite() as conn:
                row = conn.execute("SELECT until, asked FROM ik_pause WHERE key = ?",
                                   (key,)).fetchone()
            return (float(row[0]), float(row[1])) if row else (0.0, 0.0)
        return _parse_pause(self.state.redis().get(self.state.key("pause", key)))

    def until(self, key: str) -> float:
        """Epoch seconds until which ``key`` is paused (0 when it is not)."""
        return self.get(key)[0]

    def active(self, scopes: list[str]) -> dict[str, tuple[float, float]]:
        """Every pause in force on one of ``scopes`` or a key under one (``scope:...``)."""
        now = _WALL.now() / 1000
        found: dict[str, tuple[float, float]] = {}
        if self.state.kind == "sqlite":
            with self.state.sqlite() as conn:
                for scope in scopes:
                    rows = conn.execute(
                        "SELECT key, until, asked FROM ik_pause WHERE until > ? AND "
                        "(key = ? OR substr(key, 1, ?) = ?)",
                        (now, scope, len(scope) + 1, scope + ":")).fetchall()
                    found.update({k: (float(u), float(a)) for k, u, a in rows})
            return found
        client = self.state.redis()
        base = self.state.key("pause", "")
        for scope in scopes:
            names = [base + scope, *client.scan_iter(
                match=_glob_escape(base + scope + ":") + "*", count=500)]
            for name in names:
                name = name.decode() if isinstance(name, bytes) else name
                pause = _parse_pause(client.get(name))
                if pause[0] > now:
                    found[name[len(base):]] = pause
        return found

    def clear(self, scopes: list[str]) -> int:
        """Lift every pause on one of ``scopes`` or under one; how many there were."""
        paused = self.active(scopes)
        if not paused:
            return 0
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.executemany("DELETE FROM ik_pause WHERE key = ?", [(k,) for k in paused])
        else:
            self.state.redis().delete(*(self.state.key("pause", k) for k in paused))
        return len(paused)


def _parse_pause(raw: Any) -> tuple[float, float]:
    """A pause as stored in Redis: ``"until asked"``."""
    if raw is None:
        return 0.0, 0.0
    until, asked = (raw.decode() if isinstance(raw, bytes) else str(raw)).split()
    return float(until), float(asked)


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
