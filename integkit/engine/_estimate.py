"""``Result.estimate()``: records, calls, seconds and cost of a listing, before reading it.

Records come from the service's own count where its counting strategy can ask for one
(``Strategies.count``), else from the last complete read of the same listing by any process
sharing the state (see :mod:`._history`). Time is the larger of what the rate-limit tiers allow
and what the observed latency allows with the workers at hand; cost is priced on this month's
usage by the ledger's pricing table.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import TYPE_CHECKING, Any

from .._http import RateTier
from .._results import Estimate
from ..ledger import estimate_cost, ledger_for, pricing_for
from ._history import ListingRun, last_run

if TYPE_CHECKING:
    from ._listing import Listing

__all__ = ["estimate_listing", "limiter_seconds"]

_RECENT_S = 7 * 86400.0


def limiter_seconds(tiers: list[RateTier], calls: int) -> float:
    """The least time ``calls`` can take under every tier, starting with full buckets."""
    worst = 0.0
    for tier in tiers:
        if tier.algorithm == "token_bucket":
            rate = tier.limit / tier.per * (1 - tier.margin)
            burst = (tier.burst or tier.limit) * (1 - tier.margin)
            need = max(0.0, calls - burst) / rate
        else:  # a sliding window lets ``limit`` through per window
            need = max(0, math.ceil(calls / tier.limit) - 1) * tier.per
        worst = max(worst, need)
    return worst


def _observed(conn: Any, endpoint: str) -> tuple[float | None, float | None]:
    """Median latency and response size of recent calls to ``endpoint`` (the rows of the
    connection's own ledger, where its calls are recorded)."""
    try:
        rows = ledger_for(conn.state).rows(conn.service, since=time.time() - _RECENT_S)
    except Exception:  # noqa: BLE001 - an estimate without the ledger is still an estimate
        return None, None
    live = [r for r in rows if r["endpoint"] == endpoint and not r["cached"]
            and r["status"] is not None and r["status"] < 400][-500:]
    if not live:
        return None, None
    return (statistics.median(r["latency"] for r in live),
            statistics.median(r["bytes"] for r in live))


def estimate_listing(listing: Listing, *, workers: int = 1,
                     max_records: int | None = None) -> Estimate:
    """See :meth:`Result.estimate`."""
    conn = listing.conn
    notes: list[str] = []
    counted = listing.count()
    run: ListingRun | None = last_run(conn.state, listing.history_key())
    if counted is not None:
        records: int | None = counted
        basis = f"{conn.service} counted the records"
    elif run is not None:
        records = run.records
        age = (time.time() - run.finished_at) / 3600
        basis = f"the last complete read of this listing, {age:,.1f} h ago"
    else:
        records = None
        basis = (f"{conn.service} does not say how many records this listing holds and it has "
                 "not been read in full yet")
    if max_records is not None and (records is None or max_records < records):
        records = max_records
        basis += f"; capped at max_records={max_records:,}"
    if records is None:
        return Estimate(None, None, None, None, basis=basis)

    per_page = listing.page_size()
    if run is not None and run.pages and run.records:
        calls = math.ceil(run.calls * records / run.records)  # includes partition probes
    elif per_page:
        calls = max(1, math.ceil(records / per_page))
    else:
        calls = records  # no page size known: the worst case, one record a page
        notes.append("page size unknown: assumed one record a page")

    latency, size = _observed(conn, listing.endpoint)
    network = None
    if latency is not None:
        network = calls * latency / max(1, workers)
    elif run is not None and run.calls:
        network = run.seconds * calls / run.calls
    tiers = [t for t in (conn.limiter.tiers if conn.limiter else [])
             if t.applies_to(listing.endpoint)]
    seconds = max(limiter_seconds(tiers, calls), network or 0.0)
    if network is None and not tiers:
        seconds_out: float | None = None
        notes.append("no latency observed yet and no rate limit: time unknown")
    else:
        seconds_out = seconds

    if conn.quota is not None:
        for period, budget in conn.quota.status().items():
            left = budget.get("remaining") if isinstance(budget, dict) else None
            if left is not None and calls > left:
                notes.append(f"needs {calls:,} calls but the {period} quota has {left:,} left "
                              f"(resets {budget['resets_at']:%Y-%m-%d %H:%M} UTC)")

    table = pricing_for(conn.service)
    body = int(size or (run.bytes / run.calls if run and run.calls else 0))
    reads, writes = (calls, 0) if listing.method in ("GET", "HEAD") else (0, calls)
    cost: Any = None
    if table is not None:
        cost = estimate_cost(conn.service, reads=reads, writes=writes, bytes=body * calls)
    else:
        notes.append(f"{conn.service} has no pricing table: cost unknown")
    return Estimate(records, calls, seconds_out, cost,
                    currency=table.currency if table is not None else None,
                    basis=basis, notes=tuple(notes))
