"""The refresh lock: one holder at a time per token set, across threads and processes.

A refresher takes it, re-reads the store and refreshes only if nobody did meanwhile, so N
workers sharing a token refresh it once (and a rotated refresh token is never spent twice).
Across processes it is a lease with an expiry (a row of ``ik_token_locks`` in SQLite, ``SET NX
PX`` in Redis), so a holder that died frees it after ``ttl``; in one process a thread lock
comes first; a thread already holding it may take it again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from .._state import StateBackend

__all__ = ["LOCKS_TABLE", "Lease", "hold"]

LOCKS_TABLE = ("CREATE TABLE IF NOT EXISTS ik_token_locks (name TEXT PRIMARY KEY, "
               "owner TEXT NOT NULL, expires REAL NOT NULL)")
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Lease:
    """A lease in a state backend named ``name`` (SQLite) or ``redis_key`` (Redis): held by
    one owner until released, or until ``ttl`` seconds pass."""

    def __init__(self, state: StateBackend, name: str, redis_key: str, ttl: float) -> None:
        self.state = state
        self.name = name
        self.redis_key = redis_key
        self.ttl = ttl

    def acquire(self, owner: str) -> bool:
        """Take the lease for ``owner`` unless someone else holds it; whether it was taken."""
        now = time.time()
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_token_locks WHERE name = ? AND expires < ?",
                             (self.name, now))
                cur = conn.execute("INSERT OR IGNORE INTO ik_token_locks VALUES (?, ?, ?)",
                                   (self.name, owner, now + self.ttl))
                return cur.rowcount == 1
        return bool(self.state.redis().set(self.redis_key, owner, nx=True,
                                           px=int(self.ttl * 1000)))

    def release(self, owner: str) -> None:
        """Give the lease back, if ``owner`` still holds it (it may have expired)."""
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_token_locks WHERE name = ? AND owner = ?",
                             (self.name, owner))
            return
        self.state.redis().eval(_RELEASE, 1, self.redis_key, owner)


class _Held(threading.local):
    def __init__(self) -> None:
        self.names: dict[str, int] = {}


_held = _Held()
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(name: str) -> threading.Lock:
    with _thread_locks_guard:
        lock = _thread_locks.get(name)
        if lock is None:
            lock = _thread_locks[name] = threading.Lock()
        return lock


@contextmanager
def hold(name: str, lease: Lease | None, wait: float,
         timed_out: Callable[[], NoReturn]) -> Iterator[None]:
    """Hold the lock ``name`` (this process's threads) and ``lease`` (other processes; None:
    this process only), waiting at most ``wait`` seconds, else ``timed_out()`` raises.
    Re-entrant in one thread."""
    if _held.names.get(name):
        _held.names[name] += 1
        try:
            yield
        finally:
            _held.names[name] -= 1
        return
    deadline = time.monotonic() + wait
    thread_lock = _thread_lock(name)
    if not thread_lock.acquire(timeout=wait):
        timed_out()
    owner = uuid.uuid4().hex
    try:
        if lease is not None:
            delay = 0.005
            while not lease.acquire(owner):
                if time.monotonic() > deadline:
                    timed_out()
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        _held.names[name] = 1
        try:
            yield
        finally:
            _held.names.pop(name, None)
            if lease is not None:
                lease.release(owner)
    finally:
        thread_lock.release()
