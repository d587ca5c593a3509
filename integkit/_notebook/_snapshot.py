"""What the dashboard shows, as numbers: ledger rows + quota status -> one small Snapshot.

:func:`snapshot` is pure (rows and a status dict in, a frozen dataclass out), so every number
on the panel can be tested against ``ik.usage()`` / ``ik.quota()`` without a browser.
:func:`read_snapshot` is the one place that reads: the call ledger on the state backend (so
calls made by other processes sharing the key count too), the connection's quota status and
the month's bill under the chosen plan.

Definitions (one ledger row = one HTTP attempt or one cache hit):

- ``calls``: rows; ``cache_hits``: rows served from the cache; ``cache_hit_ratio`` their share.
- ``rate_limited``: rows answered 429; ``retries``: rows of a second or later attempt;
  ``errors``: rows with status >= 400 or a failed connection.
- ``latency_p50`` / ``latency_p95``: seconds, over real attempts (cache hits excluded), linear
  interpolation between order statistics (as ``pandas.Series.quantile``).
- ``cost``: the ledger's cost column summed (each row priced under the default plan when it
  was recorded); ``month_total`` / ``month_projected``: ``ik.costs(plan=...)`` for the month.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._errors import StateError
from .._events import logger
from ..ledger import costs, ledger_for, to_epoch

__all__ = [
    "Budget",
    "EndpointUsage",
    "Snapshot",
    "Tier",
    "month_bill",
    "percentile",
    "read_snapshot",
    "shown",
    "snapshot",
]

_T = TypeVar("_T")

_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 3600)  # seconds per point of the calls-over-time line
_POINTS = 60
_HIST_BINS = 20


@dataclass(frozen=True)
class Budget:
    """One quota: a daily or monthly budget (``resets_in`` seconds), or concurrency slots."""

    period: str
    used: int
    limit: int
    resets_in: float | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def fraction_used(self) -> float:
        return self.used / self.limit if self.limit else 0.0


@dataclass(frozen=True)
class Tier:
    """One rate-limit bucket: ``in_use`` of ``burst`` tokens (None when the store cannot say)."""

    name: str
    limit: int
    per_seconds: float
    burst: int
    in_use: int | None
    paused_for: float = 0.0


@dataclass(frozen=True)
class EndpointUsage:
    """Calls and cost of one endpoint in the window."""

    endpoint: str
    calls: int
    cost: float


@dataclass(frozen=True)
class Snapshot:
    """The dashboard's numbers for one service at ``taken_at`` (epoch seconds)."""

    service: str
    taken_at: float
    since: float | None = None
    calls: int = 0
    cache_hits: int = 0
    rate_limited: int = 0
    retries: int = 0
    errors: int = 0
    bytes: int = 0
    calls_last_minute: int = 0
    latency_p50: float | None = None
    latency_p95: float | None = None
    cost: float | None = None
    endpoints: tuple[EndpointUsage, ...] = ()
    bucket_seconds: int = 60
    timeline: tuple[tuple[float, int, int], ...] = field(default=(), repr=False)
    latency_histogram: tuple[tuple[float, float, int], ...] = field(default=(), repr=False)
    budgets: tuple[Budget, ...] = ()
    tiers: tuple[Tier, ...] = ()
    throttled: bool = False
    resumes_in: float = 0.0
    seconds_waited: float = 0.0
    plan: str | None = None
    currency: str | None = None
    month_total: float | None = None
    month_projected: float | None = None

    @property
    def cache_hit_ratio(self) -> float | None:
        """Cache hits per call (None before the first call)."""
        return self.cache_hits / self.calls if self.calls else None

    @property
    def has_quota(self) -> bool:
        return bool(self.budgets or self.tiers)

    def budget(self, period: str) -> Budget | None:
        """The ``daily`` / ``monthly`` / ``concurrent`` budget, if the service has one."""
        return next((b for b in self.budgets if b.period == period), None)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values``, interpolated linearly; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value)


def _budgets(quota: Mapping[str, Any], now: float) -> tuple[Budget, ...]:
    out = []
    for period, info in (quota.get("budgets") or {}).items():
        if "used" in info:
            resets = _epoch(info.get("resets_at"))
            out.append(Budget(period, int(info["used"]), int(info["limit"]),
                              None if resets is None else max(0.0, resets - now)))
        elif "in_use" in info:
            out.append(Budget(period, int(info["in_use"]), int(info["limit"])))
    return tuple(out)


def _tiers(quota: Mapping[str, Any], now: float) -> tuple[Tier, ...]:
    out = []
    for info in quota.get("limits") or ():
        paused = _epoch(info.get("paused_until"))
        out.append(Tier(str(info.get("tier")), int(info["limit"]), float(info["per_seconds"]),
                        int(info.get("burst") or info["limit"]), info.get("in_use"),
                        max(0.0, paused - now) if paused else 0.0))
    return tuple(out)


def _timeline(times: Sequence[float], limited: Sequence[bool], now: float
              ) -> tuple[int, tuple[tuple[float, int, int], ...]]:
    """Calls and 429s per bucket, for at most ``_POINTS`` buckets ending now."""
    if not times:
        return 60, ()
    span = max(1.0, now - times[0])
    width = next((b for b in _BUCKETS if span / b <= _POINTS), _BUCKETS[-1])
    first = max(math.floor(times[0] / width), math.floor(now / width) - _POINTS + 1)
    last = math.floor(now / width)
    calls = [0] * (last - first + 1)
    rejected = [0] * (last - first + 1)
    for ts, was_limited in zip(times, limited, strict=True):
        index = math.floor(ts / width) - first
        if 0 <= index < len(calls):
            calls[index] += 1
            rejected[index] += int(was_limited)
    return width, tuple(((first + i) * width, calls[i], rejected[i]) for i in range(len(calls)))


def _histogram(values: Sequence[float]) -> tuple[tuple[float, float, int], ...]:
    """Counts of latencies in equal bins up to the 99th percentile (the rest in the last)."""
    if not values:
        return ()
    top = percentile(values, 0.99) or 0.0
    top = top if top > 0 else max(values) or 1e-3
    width = top / _HIST_BINS
    counts = [0] * _HIST_BINS
    for value in values:
        counts[min(_HIST_BINS - 1, int(value / width))] += 1
    return tuple((i * width, (i + 1) * width, counts[i]) for i in range(_HIST_BINS))


def snapshot(
    service: str,
    rows: Sequence[Mapping[str, Any]],
    quota: Mapping[str, Any] | None = None,
    *,
    bill: Mapping[str, Any] | None = None,
    now: float | None = None,
    since: float | None = None,
) -> Snapshot:
    """The numbers of one service from its ledger ``rows`` (as ``Ledger.rows`` gives them,
    in time order), its ``quota`` status (``conn.quota_status()``) and its month's ``bill``
    (a row of ``ik.costs(plan=...)``); pure: no I/O, ``now`` is the clock."""
    now = time.time() if now is None else now
    quota = quota or {}
    latencies: list[float] = []
    times: list[float] = []
    limited: list[bool] = []
    endpoints: dict[str, list[float]] = {}
    cache_hits = rate_limited = retries = errors = size = recent = 0
    cost = 0.0
    priced = False
    for row in rows:
        ts = float(row["time"])
        status = row.get("status")
        times.append(ts)
        limited.append(status == 429)
        recent += int(ts >= now - 60)
        cached = bool(row.get("cached"))
        cache_hits += int(cached)
        rate_limited += int(status == 429)
        retries += int((row.get("attempt") or 1) > 1)
        errors += int((status is not None and status >= 400)
                      or (status is None and bool(row.get("error"))))
        size += int(row.get("bytes") or 0)
        latency = row.get("latency")
        if not cached and latency is not None:
            latencies.append(float(latency))
        row_cost = row.get("cost")
        entry = endpoints.setdefault(str(row.get("endpoint") or "?"), [0, 0.0])
        entry[0] += 1
        if row_cost is not None and not (isinstance(row_cost, float) and math.isnan(row_cost)):
            priced = True
            cost += float(row_cost)
            entry[1] += float(row_cost)
    width, timeline = _timeline(times, limited, now)
    by_endpoint = tuple(sorted((EndpointUsage(name, int(n), c) for name, (n, c)
                                in endpoints.items()), key=lambda e: (-e.cost, -e.calls)))
    return Snapshot(
        service=service, taken_at=now, since=since, calls=len(times), cache_hits=cache_hits,
        rate_limited=rate_limited, retries=retries, errors=errors, bytes=size,
        calls_last_minute=recent, latency_p50=percentile(latencies, 0.5),
        latency_p95=percentile(latencies, 0.95), cost=cost if priced else None,
        endpoints=by_endpoint, bucket_seconds=width, timeline=timeline,
        latency_histogram=_histogram(latencies), budgets=_budgets(quota, now),
        tiers=_tiers(quota, now), throttled=bool(quota.get("throttled")),
        resumes_in=float(quota.get("resumes_in") or 0.0),
        seconds_waited=float(quota.get("seconds_waited") or 0.0),
        plan=None if bill is None else str(bill["plan"]),
        currency=None if bill is None else str(bill["currency"]),
        month_total=None if bill is None else float(bill["total"]),
        month_projected=None if bill is None else float(bill["projected_total"]),
    )


def month_bill(service: str, plan: str | None = None, state: Any = None
               ) -> dict[str, Any] | None:
    """This month's row of ``ik.costs`` for ``service`` under ``plan`` (its default plan when
    None or when the service has no such plan); None when the service is not priced."""
    table = ledger_for(state).pricing_for(service)
    if table is None:
        return None
    chosen = plan if plan in table.plans else table.default_plan
    frame = costs(chosen, service=service, state=state)
    if frame.empty:
        return None
    row: dict[str, Any] = frame.iloc[0].to_dict()
    return row


def read_snapshot(
    service: str,
    conn: Any = None,
    *,
    since: Any = None,
    plan: str | None = None,
    state: Any = None,
    bill: Mapping[str, Any] | None = None,
    read_bill: bool = True,
    now: float | None = None,
) -> Snapshot:
    """Read the ledger rows of ``service`` since ``since``, ``conn``'s quota status (none
    without a connection) and, with ``read_bill``, the month's bill under ``plan`` (else
    ``bill`` as given); then :func:`snapshot`."""
    start = to_epoch(since)
    # one connection's broken backend (its own state=) does not blank the panel
    none: list[dict[str, Any]] = []
    rows = shown(lambda: ledger_for(state).rows(service, start), none, service, "calls")
    quota = None if conn is None else shown(conn.quota_status, None, service, "limits")
    if read_bill:
        bill = shown(lambda: month_bill(service, plan, state), None, service, "bill")
    return snapshot(service, rows, quota, bill=bill, now=now, since=start)


def shown(read: Callable[[], _T], instead: _T, service: str, what: str) -> _T:
    """What ``read`` gives, or ``instead`` with a warning when its state backend fails."""
    try:
        return read()
    except StateError as exc:
        logger.warning("integkit: %s %s not shown: %s", service, what, exc.message)
        return instead
