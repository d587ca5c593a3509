"""Budgets: calls per day and per month, and calls in flight, shared through the state backend.

    quotas: {daily: 100000, monthly: 2500000, concurrent: 25, bulk_reserve: 0.1}

Every attempt spends one unit of the day's and the month's budget (UTC periods). A spent budget
raises QuotaExceededError naming when it resets; bulk calls stop ``bulk_reserve`` short of it so
interactive work can still run. Concurrency is a semaphore of leases that expire: a worker
killed mid-call holds its slot for at most ``lease_seconds``. Crossing 80/90/100 % of a budget
fires ``ik.on("quota", fn)`` once per period.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from .._errors import ConfigError, QuotaExceededError, StateError
from .._errors import TimeoutError as CallTimeout
from .._events import emit, logger
from .._spec import Key, Spec
from .._spec_schema import described
from .._state import StateBackend, guarded
from .._validate import flag, positive_duration, whole
from .._validate import fraction as in_range
from ._context import trace_of
from ._feedback import check_feedback, read_feedback
from ._layer import Flow, Layer, settle
from ._limits import PRIORITY_KEY

__all__ = ["QUOTAS", "Quota", "QuotaConfig", "QuotaEvent", "QuotaTransport"]


@described({"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}})
def _alerts(value: Any, where: str) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{where} must be a list of fractions like [0.8, 1.0], not {value!r}")
    return tuple(sorted(in_range(a, where, include_high=True) for a in value))


#: The keys of budgets (``quotas:`` in a definition, ``quotas=`` on ``ik.connect``).
QUOTAS = Spec("quotas", [
    Key("daily", whole, optional=True, aliases=("requests_per_day", "daily_limit")),
    Key("monthly", whole, optional=True, aliases=("requests_per_month", "monthly_limit")),
    Key("concurrent", whole, optional=True, aliases=("concurrency", "max_concurrency")),
    Key("lease_seconds", positive_duration, aliases=("lease",)),
    Key("bulk_reserve", in_range),
    Key("alerts", _alerts),
    Key("not_modified_free", flag),
])


@dataclass(frozen=True)
class QuotaConfig:
    """Budgets: calls a day and a month, calls in flight (``lease_seconds`` takes any
    duration: ``120``, ``"2m"``), the share kept for interactive calls, alert thresholds."""

    daily: int | None = None
    monthly: int | None = None
    concurrent: int | None = None
    lease_seconds: float = 120.0
    bulk_reserve: float = 0.1
    alerts: tuple[float, ...] = (0.8, 0.9, 1.0)
    not_modified_free: bool = False  # a 304 is not counted (some services' conditional reads)
    spec: ClassVar[Spec] = QUOTAS  # the keys from_config reads

    def __post_init__(self) -> None:
        QUOTAS.check_fields(self)

    @classmethod
    def from_config(cls, config: Any) -> QuotaConfig:
        """Budgets from a definition's (or ``quotas=``'s) mapping; every value is checked, so
        ``{"concurrent": -1}`` fails here rather than waiting for a slot for ever."""
        return cls(**QUOTAS.read(config))

    @property
    def empty(self) -> bool:
        return not (self.daily or self.monthly or self.concurrent)


@dataclass(frozen=True)
class QuotaEvent:
    """A budget crossed ``fraction`` of its size (sent to ``ik.on("quota", fn)``)."""

    service: str
    period: str
    used: int
    limit: int
    fraction: float
    resets_at: dt.datetime


def _period(period: str, now: float) -> tuple[str, dt.datetime]:
    """The period's id and the moment it resets."""
    day = dt.datetime.fromtimestamp(now, dt.UTC)
    if period == "daily":
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start + dt.timedelta(days=1)
    start = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), nxt


# Drop expired leases, then take one if fewer than the limit are held: one atomic step.
_TAKE_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
"""


class Quota:
    """One connection's budgets and concurrency slots."""

    def __init__(
        self,
        service: str,
        config: QuotaConfig,
        state: StateBackend,
        *,
        account: str = "default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.config = config
        self.account = account
        self.clock = clock
        self.use_state(state)

    def use_state(self, state: StateBackend) -> None:
        """Keep the budgets in ``state`` from now on (the configured one failed)."""
        if state.kind == "sqlite":
            with state.sqlite(immediate=True) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS ik_quota (key TEXT PRIMARY KEY, "
                             "used INTEGER NOT NULL, expires REAL NOT NULL)")
                conn.execute("CREATE TABLE IF NOT EXISTS ik_lease (key TEXT NOT NULL, "
                             "holder TEXT PRIMARY KEY, expires REAL NOT NULL)")
        self.state = state

    def _budgets(self) -> list[tuple[str, int]]:
        return [(p, n) for p, n in (("daily", self.config.daily),
                                    ("monthly", self.config.monthly)) if n]

    def _key(self, period: str, now: float) -> tuple[str, dt.datetime]:
        ident, resets = _period(period, now)
        return f"{self.service}:{self.account}:{period}:{ident}", resets

    # -- budgets ---------------------------------------------------------------------------
    def spend(self, endpoint: str, *, priority: str = "interactive", units: int = 1) -> None:
        """Count ``units`` against every budget, or raise QuotaExceededError."""
        guarded(self, lambda: self._spend(endpoint, priority, units))

    def _spend(self, endpoint: str, priority: str, units: int) -> None:
        now = self.clock()
        for period, limit in self._budgets():
            key, resets = self._key(period, now)
            ceiling = limit if priority != "bulk" else int(limit * (1 - self.config.bulk_reserve))
            used = self._increment(key, units, ceiling, resets.timestamp())
            if used is None:
                who = "bulk calls stop at" if ceiling < limit else "the budget is"
                raise QuotaExceededError(
                    f"{period} quota spent: {who} {ceiling:,} of {limit:,} calls.",
                    service=self.service, endpoint=endpoint,
                    hint=f"It resets at {resets:%Y-%m-%d %H:%M} UTC; ik.quota({self.service!r})"
                         " shows what is left.",
                )
            self._alert(period, used, limit, resets, units)

    def refund(self, units: int = 1) -> None:
        """Give back ``units`` the service did not count (a 304 to a conditional request)."""
        guarded(self, lambda: self._refund(units))

    def _refund(self, units: int) -> None:
        now = self.clock()
        for period, _ in self._budgets():
            key, _ = self._key(period, now)
            if self.state.kind == "sqlite":
                with self.state.sqlite(immediate=True) as conn:
                    conn.execute("UPDATE ik_quota SET used = MAX(0, used - ?) WHERE key = ?",
                                 (units, key))
            else:
                self.state.redis().decrby(self.state.key("quota", key), units)

    def _increment(self, key: str, units: int, ceiling: int, expires: float) -> int | None:
        """Add ``units`` unless that passes ``ceiling``; the new total, or None if refused."""
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_quota WHERE expires < ?", (self.clock(),))
                row = conn.execute("SELECT used FROM ik_quota WHERE key = ?", (key,)).fetchone()
                used = (row[0] if row else 0) + units
                if used > ceiling:
                    return None
                conn.execute("INSERT OR REPLACE INTO ik_quota VALUES (?, ?, ?)",
                             (key, used, expires))
                return int(used)
        client = self.state.redis()
        name = self.state.key("quota", key)
        used = int(client.incrby(name, units))
        if used == units:
            client.expireat(name, int(expires) + 1)
        if used > ceiling:
            client.decrby(name, units)
            return None
        return used

    def _alert(self, period: str, used: int, limit: int, resets: dt.datetime, units: int) -> None:
        for fraction in self.config.alerts:
            mark = int(limit * fraction)
            if used - units < mark <= used:
                logger.warning("integkit: %s %s quota at %d%% (%d of %d calls)", self.service,
                               period, int(fraction * 100), used, limit)
                emit("quota", QuotaEvent(self.service, period, used, limit, fraction, resets))

    def observe(self, used: int, limit: int, period: str = "daily") -> None:
        """The service's own count (a feedback parser's ``used``): local counters never lag
        behind it."""
        guarded(self, lambda: self._observe(used, period))

    def _observe(self, used: int, period: str) -> None:
        key, resets = self._key(period, self.clock())
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute(
                    "INSERT INTO ik_quota VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "used = MAX(used, excluded.used)", (key, used, resets.timestamp()))
            return
        client = self.state.redis()
        name = self.state.key("quota", key)
        current = client.get(name)
        if current is None or int(current) < used:
            client.set(name, used, exat=int(resets.timestamp()) + 1)

    def used(self, period: str) -> int:
        key, _ = self._key(period, self.clock())
        if self.state.kind == "sqlite":
            with self.state.sqlite() as conn:
                row = conn.execute("SELECT used FROM ik_quota WHERE key = ?", (key,)).fetchone()
            return int(row[0]) if row else 0
        value = self.state.redis().get(self.state.key("quota", key))
        return int(value) if value is not None else 0

    # -- concurrency -----------------------------------------------------------------------------
    def _try_lease(self, holder: str) -> bool:
        return guarded(self, lambda: self._take_lease(holder))

    def _take_lease(self, holder: str) -> bool:
        limit = self.config.concurrent
        assert limit
        key = f"{self.service}:{self.account}:concurrent"
        now = self.clock()
        expires = now + self.config.lease_seconds
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_lease WHERE expires < ?", (now,))
                (held,) = conn.execute("SELECT COUNT(*) FROM ik_lease WHERE key = ?",
                                       (key,)).fetchone()
                if held >= limit:
                    return False
                conn.execute("INSERT INTO ik_lease VALUES (?, ?, ?)", (key, holder, expires))
                return True
        client = self.state.redis()
        name = self.state.key("lease", key)
        return bool(client.eval(_TAKE_LEASE, 1, name, now, expires, holder, limit))

    def _release(self, holder: str) -> None:
        """Give the slot back; if the state backend fails now, the call's answer still
        stands: the slot expires by itself after ``lease_seconds``."""
        try:
            guarded(self, lambda: self._give_back(holder))
        except StateError as exc:
            logger.warning("integkit: %s: a concurrency slot could not be given back (%s); it "
                           "frees itself in %.0fs", self.service, exc.message,
                           self.config.lease_seconds)

    def _give_back(self, holder: str) -> None:
        key = f"{self.service}:{self.account}:concurrent"
        if self.state.kind == "sqlite":
            with self.state.sqlite(immediate=True) as conn:
                conn.execute("DELETE FROM ik_lease WHERE holder = ?", (holder,))
        else:
            self.state.redis().zrem(self.state.key("lease", key), holder)

    def _no_slot(self, endpoint: str) -> CallTimeout:
        return CallTimeout(
            f"all {self.config.concurrent} concurrency slots stayed taken until the call's "
            "deadline", service=self.service, endpoint=endpoint,
            hint=f"Other calls on this key hold them (ik.quota({self.service!r}) shows how "
                 "many); read with fewer workers, or allow more time with deadline=.")

    def _lease_waits(self, holder: str, endpoint: str,
                     deadline: float | None) -> Iterator[float]:
        """Try to take a slot for ``holder``, yielding the pause before each new try (the
        caller sleeps, sync or async); CallTimeout once ``deadline`` has passed."""
        while not self._try_lease(holder):
            if deadline is not None and time.monotonic() >= deadline:
                raise self._no_slot(endpoint)
            yield 0.01

    @contextmanager
    def lease(self, endpoint: str = "", deadline: float | None = None) -> Iterator[None]:
        """Hold one concurrency slot for the duration of a call (waits for a free one, until
        ``deadline``, a ``time.monotonic()`` instant, if given)."""
        if not self.config.concurrent:
            yield
            return
        holder = uuid.uuid4().hex
        for pause in self._lease_waits(holder, endpoint, deadline):
            time.sleep(pause)
        try:
            yield
        finally:
            self._release(holder)

    @asynccontextmanager
    async def alease(self, endpoint: str = "",
                     deadline: float | None = None) -> AsyncIterator[None]:
        if not self.config.concurrent:
            yield
            return
        holder = uuid.uuid4().hex
        for pause in self._lease_waits(holder, endpoint, deadline):
            await asyncio.sleep(pause)
        try:
            yield
        finally:
            self._release(holder)

    def in_flight(self) -> int:
        key = f"{self.service}:{self.account}:concurrent"
        now = self.clock()
        if self.state.kind == "sqlite":
            with self.state.sqlite() as conn:
                return int(conn.execute("SELECT COUNT(*) FROM ik_lease WHERE key = ? AND "
                                        "expires >= ?", (key, now)).fetchone()[0])
        return int(self.state.redis().zcount(self.state.key("lease", key), now, "+inf"))

    def status(self) -> dict[str, Any]:
        """Used, limit, remaining and reset time of each budget; slots in use."""
        return guarded(self, self._status)

    def _status(self) -> dict[str, Any]:
        now = self.clock()
        out: dict[str, Any] = {}
        for period, limit in self._budgets():
            _, resets = self._key(period, now)
            used = self.used(period)
            out[period] = {"used": used, "limit": limit, "remaining": max(0, limit - used),
                           "resets_at": resets}
        if self.config.concurrent:
            out["concurrent"] = {"in_use": self.in_flight(), "limit": self.config.concurrent}
        return out


class QuotaTransport(Layer):
    """Spends budget and holds a concurrency slot for each real attempt."""

    def __init__(self, inner: Any, quota: Quota, *, default_priority: str = "interactive",
                 feedback: Iterable[str] | None = None):
        super().__init__(inner)
        self.quota = quota
        self.default_priority = default_priority
        self.feedback = check_feedback(feedback)  # the parsers read (None: every one)

    def _spend(self, request: httpx.Request) -> None:
        priority = str(request.extensions.get(PRIORITY_KEY, self.default_priority))
        self.quota.spend(trace_of(request).endpoint, priority=priority)

    def send(self, request: httpx.Request) -> httpx.Response:
        self._spend(request)
        trace = trace_of(request)
        with self.quota.lease(trace.endpoint, trace.deadline):
            return super().send(request)

    async def asend(self, request: httpx.Request) -> httpx.Response:
        self._spend(request)
        trace = trace_of(request)
        async with self.quota.alease(trace.endpoint, trace.deadline):
            return await super().asend(request)

    def flow(self, request: httpx.Request) -> Flow:
        outcome = yield request
        if isinstance(outcome, httpx.Response):
            usage = read_feedback(outcome, self.feedback, "used")
            if usage is not None and usage.used is not None and usage.limit is not None:
                self.quota.observe(usage.used, usage.limit)
            elif outcome.status_code == 304 and self.quota.config.not_modified_free:
                self.quota.refund()
        return settle(outcome)
