"""The call ledger: one durable row per HTTP attempt and cache hit, priced when recorded.

Rows live in the state backend, so every process sharing it shares one ledger:

- SQLite: a ``calls`` table (indexed by time and by service, time) plus ``call_totals``, the
  month's billable calls and bytes per service, which prices each row by its volume tier.
  Each row is its own committed transaction (WAL) on the ledger's own connection, so it
  survives the process being killed and never rides on another component's transaction.
- Redis: one stream per service and month, ``integkit:ledger:calls:<service>:<YYYY-MM>``,
  a hash of the month's totals beside it, and a set indexing the streams. A billable row and
  its totals are written in one MULTI/EXEC, retried when another writer got in between.

Months are calendar months in UTC. :func:`install` hooks the ledger to ``ik.on("call")``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import orjson

from .._config import get_settings
from .._errors import ConfigError
from .._events import logger, off, on
from .._memo import OncePerKey
from .._state import StateBackend, open_state
from ._pricing import Plan, PricingTable, is_billable, price_call

__all__ = [
    "COLUMNS",
    "Ledger",
    "hook_in",
    "install",
    "ledger_for",
    "month_bounds",
    "month_of",
    "priced_services",
    "pricing_for",
    "read_definitions_with",
    "register_pricing",
    "to_epoch",
    "uninstall",
]

COLUMNS = ("time", "service", "endpoint", "method", "status", "latency", "cached", "bytes",
           "cost", "attempt", "error", "request_id", "plan")
_PAUSE_S = 5.0
_BUSY_TIMEOUT_S = 30.0
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL, service TEXT NOT NULL, endpoint TEXT, method TEXT, status INTEGER,
        latency REAL, cached INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
        cost REAL, attempt INTEGER, error TEXT, request_id TEXT, plan TEXT)""",
    "CREATE INDEX IF NOT EXISTS calls_time ON calls (time)",
    "CREATE INDEX IF NOT EXISTS calls_service_time ON calls (service, time)",
    """CREATE TABLE IF NOT EXISTS call_totals (
        service TEXT NOT NULL, month TEXT NOT NULL, calls INTEGER NOT NULL,
        bytes INTEGER NOT NULL, PRIMARY KEY (service, month))""",
)
_INSERT = (f"INSERT INTO calls ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in COLUMNS)})")


# -- time ----------------------------------------------------------------------------------------
def to_epoch(value: Any) -> float | None:
    """Epoch seconds from a number, a datetime (naive = UTC), a date, or an ISO string."""
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise ConfigError(f"cannot read {value!r} as a time: use ISO 8601 "
                              "(2024-05-01 or 2024-05-01T12:00:00Z) or epoch seconds") from None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise ConfigError(f"cannot read {value!r} as a time: give a datetime, ISO string or epoch")


def month_of(ts: float) -> str:
    """The UTC calendar month of epoch ``ts`` as ``YYYY-MM``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[float, float]:
    """Epoch seconds of the start of ``YYYY-MM`` and of the month after it (UTC)."""
    try:
        year, mon = (int(p) for p in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=UTC)
    except ValueError:
        raise ConfigError(f"month {month!r} must look like 2024-05") from None
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


# -- pricing tables by service -------------------------------------------------------------------
_registered: dict[str, PricingTable] = {}
_from_definitions: dict[str, PricingTable | None] = {}
_tables_lock = threading.Lock()
# Where shipped definitions come from: the engine sits above the ledger, so it hands its loader
# down (read_definitions_with) rather than the ledger importing it.
_definitions: list[tuple[Callable[[str], Mapping[str, Any] | None], Callable[[], Iterable[str]]]]
_definitions = []


def read_definitions_with(pricing: Callable[[str], Mapping[str, Any] | None],
                          services: Callable[[], Iterable[str]]) -> None:
    """Read shipped definitions' pricing tables with ``pricing(service)`` (raising ConfigError
    for an unknown service) among ``services()``; the engine registers its loader here."""
    with _tables_lock:
        _definitions[:] = [(pricing, services)]
        _from_definitions.clear()


def _table(service: str, table: PricingTable | Mapping[str, Any]) -> PricingTable:
    if isinstance(table, PricingTable):
        return table
    return PricingTable.from_mapping(table, service=service)


def register_pricing(service: str, table: PricingTable | Mapping[str, Any] | None, *,
                     replace: bool = True) -> None:
    """Price ``service`` with ``table`` (a ``pricing:`` mapping or a PricingTable) in this
    process, ahead of its definition; ``None`` forgets it. ``replace=False`` keeps a table
    registered before (a connection made from a definition file registers the file's table
    that way, so one the user registered wins)."""
    with _tables_lock:
        if table is None:
            _registered.pop(service, None)
        elif replace or service not in _registered:
            _registered[service] = _table(service, table)


def pricing_for(service: str) -> PricingTable | None:
    """The pricing table of ``service``: registered, else its shipped definition's; None
    when it has none. An invalid table is logged once and treated as none."""
    with _tables_lock:
        if service in _registered:
            return _registered[service]
        if service in _from_definitions:
            return _from_definitions[service]
    table: PricingTable | None = None
    try:
        raw = _definitions[0][0](service) if _definitions else None
        if raw:
            table = PricingTable.from_mapping(raw, service=service)
    except ConfigError as exc:
        if not str(exc).startswith(f"unknown service {service!r}"):
            logger.warning("integkit: calls to %s are not priced: %s", service, exc)
    with _tables_lock:
        _from_definitions[service] = table
    return table


def priced_services() -> list[str]:
    """The services this process has a pricing table for: registered, and the shipped
    definitions' (what ``ik.costs(plan=)`` can choose among)."""
    with _tables_lock:
        registered = set(_registered)
        definitions = list(_definitions)
    shipped = set(definitions[0][1]()) if definitions else set()
    return sorted(s for s in shipped | registered if pricing_for(s) is not None)


# -- the ledger ----------------------------------------------------------------------------------
def _resolve(state: StateBackend | str | None) -> StateBackend:
    return state if isinstance(state, StateBackend) else open_state(state)


class Ledger:
    """The call log in a state backend: :meth:`record` a CallEvent, read back :meth:`rows`."""

    def __init__(self, state: StateBackend | str | None = None, *,
                 pricing: Mapping[str, PricingTable | Mapping[str, Any]] | None = None,
                 namespace: str = "ledger") -> None:
        self.state = _resolve(state)
        self.namespace = namespace
        self._pricing = {s: _table(s, t) for s, t in (pricing or {}).items()}
        self._ready = False
        self._lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<Ledger {self.state.kind} {self.state.url}>"

    def pricing_for(self, service: str) -> PricingTable | None:
        """This ledger's table for ``service``, else the process-wide one (:func:`pricing_for`)."""
        return self._pricing.get(service) or pricing_for(service)

    # -- writing -------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """This thread's own connection to the state file, so a row commits on its own
        rather than with whatever the backend's shared connection is doing."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.state.path or "", timeout=_BUSY_TIMEOUT_S,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: committed rows outlive a crash
            self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of its own; or, when this thread is inside a transaction on the
        backend's shared connection (which may hold the write lock we would wait for), a
        savepoint in it, so reporting a call from there cannot deadlock."""
        shared = self.state.connection()
        conn, begin, end, undo = (
            (shared, "SAVEPOINT ik_ledger", "RELEASE ik_ledger",
             "ROLLBACK TO ik_ledger; RELEASE ik_ledger") if shared.in_transaction else
            (self._connection(), "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        )
        conn.execute(begin)
        try:
            yield conn
        except BaseException:
            for statement in undo.split("; "):
                conn.execute(statement)
            raise
        conn.execute(end)

    def _schema(self) -> None:
        if self._ready or self.state.kind != "sqlite":
            return
        with self._lock:
            if not self._ready:
                with self._transaction() as conn:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                self._ready = True

    def record(self, event: Any) -> None:
        """Write one row for ``event`` (a CallEvent); durable when this returns."""
        table = self.pricing_for(event.service)
        plan = table.plan() if table is not None else None
        ts = float(event.timestamp or time.time())
        row: dict[str, Any] = {
            "time": ts, "service": event.service, "endpoint": event.endpoint,
            "method": event.method, "status": event.status, "latency": float(event.duration),
            "cached": bool(event.cached), "bytes": int(event.bytes or 0), "cost": None,
            "attempt": int(event.attempt), "error": event.error,
            "request_id": event.request_id, "plan": plan.name if plan is not None else None,
        }
        free = bool(event.cached or getattr(event, "coalesced", False))
        billable = is_billable(event, plan)
        if self.state.kind == "sqlite":
            self._record_sqlite(row, event, plan, billable, free)
        else:
            self._record_redis(row, event, plan, billable, free)

    @staticmethod
    def _price(row: dict[str, Any], event: Any, plan: Plan | None, free: bool,
               calls: int, size: int) -> None:
        if plan is not None:
            row["cost"] = price_call(event, plan, calls_before=calls, bytes_before=size)
        elif free:
            row["cost"] = 0.0

    def _record_sqlite(self, row: dict[str, Any], event: Any, plan: Plan | None,
                       billable: bool, free: bool) -> None:
        self._schema()
        month = month_of(row["time"])
        if not billable:
            self._price(row, event, plan, free, 0, 0)
        with self._transaction() as conn:
            if not billable:
                conn.execute(_INSERT, [row[c] for c in COLUMNS])
                return
            found = conn.execute(
                "SELECT calls, bytes FROM call_totals WHERE service = ? AND month = ?",
                (row["service"], month),
            ).fetchone()
            calls, size = found or (0, 0)
            self._price(row, event, plan, free, calls, size)
            conn.execute(
                "INSERT INTO call_totals (service, month, calls, bytes) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (service, month) DO UPDATE SET calls = calls + 1, "
                "bytes = bytes + excluded.bytes",
                (row["service"], month, row["bytes"]),
            )
            conn.execute(_INSERT, [row[c] for c in COLUMNS])

    def _keys(self, service: str, month: str) -> tuple[str, str]:
        return (self.state.key(self.namespace, "calls", service, month),
                self.state.key(self.namespace, "totals", service, month))

    def _record_redis(self, row: dict[str, Any], event: Any, plan: Plan | None,
                      billable: bool, free: bool) -> None:
        import redis

        client = self.state.redis()
        month = month_of(row["time"])
        stream, totals = self._keys(row["service"], month)
        index = self.state.key(self.namespace, "streams")
        member = orjson.dumps([row["service"], month])
        with client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    calls = size = 0
                    if billable:
                        pipe.watch(totals)
                        found = pipe.hmget(totals, "calls", "bytes")
                        calls, size = (int(v or 0) for v in found)
                    self._price(row, event, plan, free, calls, size)
                    pipe.multi()
                    if billable:
                        pipe.hincrby(totals, "calls", 1)
                        pipe.hincrby(totals, "bytes", row["bytes"])
                    pipe.xadd(stream, {"row": orjson.dumps(row)})
                    pipe.sadd(index, member)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    # -- reading -------------------------------------------------------------------------------
    def rows(self, service: str | None = None, since: Any = None,
             until: Any = None) -> list[dict[str, Any]]:
        """Rows in time order, of ``service`` (default all), ``since <= time < until``."""
        start, end = to_epoch(since), to_epoch(until)
        if self.state.kind == "sqlite":
            return self._rows_sqlite(service, start, end)
        return self._rows_redis(service, start, end)

    def _rows_sqlite(self, service: str | None, start: float | None,
                     end: float | None) -> list[dict[str, Any]]:
        self._schema()
        where, args = [], []
        for clause, value in (("service = ?", service), ("time >= ?", start),
                              ("time < ?", end)):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = f"SELECT {', '.join(COLUMNS)} FROM calls"
        if where:
            sql += " WHERE " + " AND ".join(where)
        cursor = self._connection().execute(sql + " ORDER BY time, id", args)
        out = []
        for values in cursor:
            row = dict(zip(COLUMNS, values, strict=True))
            row["cached"] = bool(row["cached"])
            out.append(row)
        return out

    def _rows_redis(self, service: str | None, start: float | None,
                    end: float | None) -> list[dict[str, Any]]:
        client = self.state.redis()
        first = month_of(start) if start is not None else ""
        last = month_of(end) if end is not None else "9999-12"
        out: list[dict[str, Any]] = []
        for member in client.smembers(self.state.key(self.namespace, "streams")):
            svc, month = orjson.loads(member)
            if (service is not None and svc != service) or not first <= month <= last:
                continue
            stream = self._keys(svc, month)[0]
            low = "-"
            while True:
                batch = client.xrange(stream, min=low, max="+", count=5000)
                for _id, fields in batch:
                    row = orjson.loads(fields[b"row"])
                    if (start is None or row["time"] >= start) and (
                            end is None or row["time"] < end):
                        out.append(row)
                if len(batch) < 5000:
                    break
                low = "(" + batch[-1][0].decode()
        out.sort(key=lambda r: r["time"])
        return out

    def totals(self, service: str, month: str) -> tuple[int, int]:
        """Billable calls and response bytes of ``service`` in ``month`` (``YYYY-MM``)."""
        if self.state.kind == "sqlite":
            self._schema()
            found = self._connection().execute(
                "SELECT calls, bytes FROM call_totals WHERE service = ? AND month = ?",
                (service, month),
            ).fetchone()
            return (int(found[0]), int(found[1])) if found else (0, 0)
        calls, size = self.state.redis().hmget(self._keys(service, month)[1], "calls", "bytes")
        return int(calls or 0), int(size or 0)

    def close(self) -> None:
        """Close this thread's SQLite connection (the backend's own stay open)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def clear(self) -> None:
        """Delete every row and total (tests, or starting a fresh ledger)."""
        if self.state.kind == "sqlite":
            self._schema()
            with self._transaction() as conn:
                conn.execute("DELETE FROM calls")
                conn.execute("DELETE FROM call_totals")
            return
        client = self.state.redis()
        index = self.state.key(self.namespace, "streams")
        for member in client.smembers(index):
            client.delete(*self._keys(*orjson.loads(member)))
        client.delete(index)


_ledgers: OncePerKey[StateBackend, Ledger] = OncePerKey()


def ledger_for(state: StateBackend | str | Ledger | None = None) -> Ledger:
    """``state`` if it is a Ledger, else the process's Ledger on that backend (a
    StateBackend or its URL; default: the configured one)."""
    if isinstance(state, Ledger):
        return state
    backend = _resolve(state)
    return _ledgers.get(backend, lambda: Ledger(backend))


# -- the hook ------------------------------------------------------------------------------------
class _Recorder:
    """The one ``on("call")`` hook: records each event in the ledger of its connection's own
    state backend, else in ``state``'s; a failure is logged, never raised, and pauses
    recording briefly so an unreachable backend cannot slow every call."""

    def __init__(self, state: StateBackend | str | Ledger | None) -> None:
        self.state = state
        self.paused_until = 0.0
        self.dropped = 0

    def __call__(self, event: Any) -> None:
        if not get_settings().ledger:
            return
        now = time.monotonic()
        if now < self.paused_until:
            self.dropped += 1
            return
        try:
            ledger_for(getattr(event, "state", None) or self.state).record(event)
        except Exception as exc:  # noqa: BLE001 - the ledger must never break a call
            self.paused_until = time.monotonic() + _PAUSE_S
            self.dropped += 1
            logger.warning("integkit: the call ledger could not record a call to %s (%s: %s); "
                           "not recording for %.0fs", getattr(event, "service", "?"),
                           type(exc).__name__, exc, _PAUSE_S)
            return
        if self.dropped:
            logger.warning("integkit: the call ledger is recording again; %d calls were not "
                           "recorded", self.dropped)
            self.dropped = 0


_hook: _Recorder | None = None
_hook_lock = threading.Lock()
_stopped = False  # uninstall() was called: connections made later do not hook it in again


def hook_in() -> None:
    """Record calls from the first connection on (``import integkit`` hooks nothing): the
    ledger on the configured backend, unless :func:`install` chose another or
    :func:`uninstall` stopped it."""
    global _hook
    with _hook_lock:
        if _hook is None and not _stopped:
            _hook = _Recorder(None)
            on("call", _hook)


def install(state: StateBackend | str | Ledger | None = None) -> None:
    """Record every call of this process in the ledger on ``state`` (a backend, its URL or a
    Ledger; default: the backend configured at the time of each call); the calls of a
    connection given its own ``state=`` (a sandbox's) go to that backend's ledger instead.
    Idempotent: one hook per process; calling it again only changes where rows go."""
    global _hook, _stopped
    with _hook_lock:
        _stopped = False
        if _hook is None:
            _hook = _Recorder(state)
            on("call", _hook)
        else:
            _hook.state = state
            _hook.paused_until = 0.0  # a new place to record to is tried at once


def uninstall() -> None:
    """Stop recording calls (the rows already written stay), also for connections made
    later, until :func:`install`."""
    global _hook, _stopped
    with _hook_lock:
        _stopped = True
        if _hook is not None:
            off("call", _hook)
            _hook = None
