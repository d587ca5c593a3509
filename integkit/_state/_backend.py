"""Where shared state lives: one SQLite file (default) or Redis, chosen by URL.

Every part that must be shared by several processes — rate-limit buckets, quota ledgers, the
HTTP cache, the call log, tokens — asks the backend for its own storage instead of opening
files or sockets itself, so ``ik.configure(state="redis://...")`` moves all of it at once.

    sqlite:///home/me/.local/share/integkit/integkit.db     (embedded default, one machine)
    redis://127.0.0.1:6379/0                                (many processes on many machines)
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from .._config import get_settings
from .._errors import ConfigError, StateError
from .._events import register_secret
from .._memo import OncePerKey
from .._private import private_file
from .._validate import duration

__all__ = ["StateBackend", "open_state", "safe_url"]

_BUSY_TIMEOUT_S = 30.0
_COOLDOWN_S = 5.0  # after Redis failed, fail at once for this long instead of waiting again
_FALLBACK_HINT = ('or go on with limits kept on this machine: '
                  'ik.configure(state_fallback="local")')


def safe_url(url: str) -> str:
    """``url`` as it may be shown: no password, in the user part or the query."""
    parsed = urlparse(url)
    pairs = parse_qsl(parsed.query, keep_blank_values=True)
    if "@" not in parsed.netloc and not any("pass" in k.lower() for k, _ in pairs):
        return url  # nothing to hide (and sqlite:////abs/path keeps its slashes)
    netloc = parsed.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:***@{host}" if ":" in user else f"{name}@{host}" if name else host
    query = urlencode([(k, "***" if "pass" in k.lower() else v) for k, v in pairs], safe="*")
    return parsed._replace(netloc=netloc, query=query).geturl()


def _sqlite_failure(exc: BaseException, where: str, path: Path | None) -> StateError | None:
    """The StateError a SQLite failure stands for, or None for a bug of the caller's (a
    constraint, a misuse), which is left as it is."""
    if not isinstance(exc, sqlite3.DatabaseError | OSError) or isinstance(
            exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return None
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StateError(
            f"the state file {path} is damaged ({text}). It holds limits, budgets, the HTTP "
            f"cache, the call log and stored tokens: move it aside (mv '{path}' "
            f"'{path}.broken') and integkit starts a fresh one (run ik.login again for stored "
            f"tokens), {_FALLBACK_HINT}.", backend=where, transient=False)
    if "locked" in text or "busy" in text:
        return StateError(
            f"the state file {path} stayed locked by another process for "
            f"{_BUSY_TIMEOUT_S:.0f}s ({text}); try again when it is done, "
            f"{_FALLBACK_HINT}.", backend=where)
    return StateError(
        f"cannot use the state file {path} ({type(exc).__name__}: {text}). Check that its "
        "folder exists, is writable and has free space, or choose another with "
        f"ik.configure(state='sqlite:///path/to/file.db'), {_FALLBACK_HINT}.",
        backend=where, transient=False)


@contextmanager
def _state_errors(where: str, path: Path | None,
                  kind: type[Exception] = sqlite3.Error) -> Iterator[None]:
    """Raise a ``kind`` error from inside as the StateError it stands for, if any (other
    errors, and ones that stand for none, pass as they are)."""
    try:
        yield
    except kind as exc:
        failure = _sqlite_failure(exc, where, path)
        if failure is not None:
            raise failure from exc
        raise


class _GuardedSQLite(sqlite3.Connection):
    """A connection whose failures (a damaged file, a lock held too long, a full disk) come
    out as StateError naming the file and what to do."""

    ik_where = "sqlite"
    ik_path: Path | None = None

    def execute(self, *args: Any) -> sqlite3.Cursor:
        with _state_errors(self.ik_where, self.ik_path):
            return super().execute(*args)

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        with _state_errors(self.ik_where, self.ik_path):
            return super().executemany(*args)

    def executescript(self, *args: Any) -> sqlite3.Cursor:
        with _state_errors(self.ik_where, self.ik_path):
            return super().executescript(*args)


class _RedisGuard:
    """Turns Redis failures into StateError, and after one, fails at once for a few seconds
    (a stalled server would otherwise cost every call a full timeout)."""

    def __init__(self, where: str, timeout: float) -> None:
        self.where = where
        self.timeout = timeout
        self.failed_at = 0.0
        self.failure: StateError | None = None

    def check(self) -> None:
        failure = self.failure
        if failure is not None and time.monotonic() - self.failed_at < _COOLDOWN_S:
            raise StateError(failure.message, backend=failure.backend,
                             transient=failure.transient)

    def failed(self, exc: BaseException) -> StateError:
        import redis

        if isinstance(exc, redis.TimeoutError):
            error = StateError(
                f"the Redis state backend {self.where} did not answer within "
                f"{self.timeout:g}s ({exc}): it is stalled or overloaded. Check it, allow it "
                f"more time with ik.configure(state_timeout=...), {_FALLBACK_HINT}.",
                backend=self.where)
        elif isinstance(exc, redis.AuthenticationError):
            error = StateError(
                f"the Redis state backend {self.where} refused the credentials ({exc}); fix "
                "the user or password in the state URL.", backend=self.where, transient=False)
        else:
            error = StateError(
                f"the Redis state backend {self.where} cannot be reached ({exc}). Start it or "
                f"check the URL, {_FALLBACK_HINT}.", backend=self.where)
        self.failure, self.failed_at = error, time.monotonic()
        return error

    @contextmanager
    def __call__(self) -> Iterator[None]:
        import redis

        self.check()
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self.failed(exc) from exc
        self.failure = None


def _redis_client(url: str, guard: _RedisGuard, timeout: float) -> Any:
    """A redis-py client (thread-safe pool) whose every command and pipeline goes through
    ``guard``; timeouts bound how long a stalled server can hold a call."""
    import redis
    from redis.backoff import NoBackoff
    from redis.client import Pipeline
    from redis.retry import Retry

    class GuardedPipeline(Pipeline):
        def execute(self, raise_on_error: bool = True) -> Any:
            with guard():
                return super().execute(raise_on_error)

        def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
            with guard():
                return super().immediate_execute_command(*args, **options)  # type: ignore[no-untyped-call]

    class GuardedRedis(redis.Redis):
        def execute_command(self, *args: Any, **options: Any) -> Any:
            with guard():
                return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

        def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
            return GuardedPipeline(self.connection_pool, self.response_callbacks, transaction,
                                   shard_hint)

    # One retry, on a dropped connection only (Redis closes idle ones): a timeout is not
    # tried again, so a stalled server is known within one timeout.
    retry = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
    return GuardedRedis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                 retry=retry)


class StateBackend:
    """A handle on the shared state store; cheap to keep, one per URL and process.

    Its failures (a damaged SQLite file, Redis down or stalled) raise StateError naming the
    backend (without its password) and what to do; Redis commands time out after
    ``ik.configure(state_timeout=...)`` seconds (a ``socket_timeout`` in the URL wins).
    """

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.url = url
        self.kind = parsed.scheme
        self.where = safe_url(url)
        register_secret(parsed.password)  # masked wherever the full URL might be logged
        self._local = threading.local()
        self._redis: Any = None
        self._redis_lock = threading.Lock()
        self._guard = _RedisGuard(self.where, get_settings().state_timeout)
        if self.kind == "sqlite":
            raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
            self.path: Path | None = Path(raw or "integkit.db").expanduser()
            with _state_errors(self.where, self.path, OSError):
                private_file(self.path)  # 0600: SQLite gives its -wal and -shm files that mode
            self.connection().execute("PRAGMA journal_mode=WAL")
        elif self.kind in ("redis", "rediss", "unix"):
            self.path = None
        else:
            raise ConfigError(
                f"state URL {self.where!r} is neither sqlite:///path nor redis://host:port/db"
            )

    # -- SQLite ------------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection to the SQLite file (WAL; waits for other writers)."""
        if self.path is None:
            raise ConfigError(f"state {self.where} is not SQLite")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with _state_errors(self.where, self.path):
                conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None,
                                       check_same_thread=False, factory=_GuardedSQLite)
            conn.ik_where, conn.ik_path = self.where, self.path
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
            if conn.in_transaction:  # a damaged file may have ended it already
                with contextlib.suppress(StateError, sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- Redis ---------------------------------------------------------------------------------
    def redis(self) -> Any:
        """A shared redis-py client (thread-safe pool); needs the ``redis`` extra."""
        if self.kind == "sqlite":
            raise ConfigError(f"state {self.where} is not Redis")
        self._guard.check()
        with self._redis_lock:
            if self._redis is None:
                try:
                    import redis  # noqa: F401 - only to say which extra is missing
                except ImportError as exc:
                    raise ImportError(
                        'Redis state needs the redis extra: pip install "integkit[redis]"'
                    ) from exc
                # the setting when the client is made; a socket_timeout in the URL wins
                given = dict(parse_qsl(urlparse(self.url).query)).get("socket_timeout")
                self._guard.timeout = get_settings().state_timeout if given is None else \
                    duration(given, "the state URL's socket_timeout", positive=True)
                client = _redis_client(self.url, self._guard, self._guard.timeout)
                client.ping()  # a StateError naming the backend when it is down or stalled
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
        return f"<StateBackend {self.kind} {self.where}>"


_open: OncePerKey[str, StateBackend] = OncePerKey()


def open_state(url: str | None = None) -> StateBackend:
    """The backend for ``url`` (default: the configured one), opened once per process."""
    if url is None:
        url = get_settings().state_url
    return _open.get(url, lambda: StateBackend(url))
