"""Where shared state lives: one SQLite file (default) or Redis, chosen by URL.

Every part that must be shared by several processes — rate-limit buckets, quota ledgers, the
HTTP cache, the call log, tokens — asks the backend for its own storage instead of opening
files or sockets itself, so ``ik.configure(state="redis://...")`` moves all of it at once.

    sqlite:///home/me/.local/share/integkit/integkit.db     (embedded default, one machine)
    redis://127.0.0.1:6379/0                                (many processes on many machines)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .._errors import ConfigError
from .._private import private_file

__all__ = ["StateBackend", "open_state"]

_BUSY_TIMEOUT_S = 30.0


class StateBackend:
    """A handle on the shared state store; cheap to keep, one per URL and process."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.url = url
        self.kind = parsed.scheme
        self._local = threading.local()
        self._redis: Any = None
        if self.kind == "sqlite":
            raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
            self.path: Path | None = Path(raw or "integkit.db").expanduser()
            private_file(self.path)  # 0600: SQLite gives its -wal and -shm files the same mode
            self.connection().execute("PRAGMA journal_mode=WAL")
        elif self.kind in ("redis", "rediss", "unix"):
            self.path = None
        else:
            raise ConfigError(
                f"state URL {url!r} is neither sqlite:///path nor redis://host:port/db"
            )

    # -- SQLite ------------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection to the SQLite file (WAL; waits for other writers)."""
        if self.path is None:
            raise ConfigError(f"state {self.url} is not SQLite")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def sqlite(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection; ``immediate`` takes the write lock first,
        so read-modify-write sequences are atomic across processes."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- Redis ---------------------------------------------------------------------------------
    def redis(self) -> Any:
        """A shared redis-py client (thread-safe pool); needs the ``redis`` extra."""
        if self.kind == "sqlite":
            raise ConfigError(f"state {self.url} is not Redis")
        if self._redis is None:
            try:
                import redis
            except ImportError as exc:
                raise ImportError(
                    'Redis state needs the redis extra: pip install "integkit[redis]"'
                ) from exc
            client = redis.Redis.from_url(self.url, socket_timeout=10, socket_connect_timeout=5)
            try:
                client.ping()
            except redis.RedisError as exc:
                raise ConfigError(
                    f"cannot reach Redis at {self.url}: {exc}. Start it, or use the embedded "
                    "default: ik.configure(state=None)"
                ) from None
            self._redis = client
        return self._redis

    def key(self, *parts: str) -> str:
        """A namespaced key for Redis: ``integkit:<part>:<part>``."""
        return ":".join(("integkit", *parts))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def __repr__(self) -> str:
        return f"<StateBackend {self.kind} {self.url}>"


_open: dict[str, StateBackend] = {}
_open_lock = threading.Lock()


def open_state(url: str | None = None) -> StateBackend:
    """The backend for ``url`` (default: the configured one), opened once per process."""
    if url is None:
        from .._config import get_settings

        url = get_settings().state_url
    with _open_lock:
        backend = _open.get(url)
        if backend is None:
            backend = _open[url] = StateBackend(url)
        return backend
