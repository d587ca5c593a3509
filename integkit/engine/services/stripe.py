"""Stripe: ``created`` ranges split for parallel reads, and the documented writes with typed
arguments (its time parameters are typed in the definition).

>>> stripe = ik.connect("stripe", api_key="sk_test_...")                  # doctest: +SKIP
>>> stripe.list("charges", created={"gte": "2024-01-01"}, expand=["data.customer"]).to_frame()
>>> stripe.create_payment_intent(amount=2000, currency="usd", metadata={"order": "42"})
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..._params import ParamType, convert
from ...results import Result, Stats
from .._history import last_run
from .._rest import Connection, Listing

__all__ = ["StripeConnection", "to_unix"]

def to_unix(value: Any) -> int:
    """Seconds since the epoch from an int, a date, a datetime (naive = UTC) or an ISO string:
    the ``unix`` parameter type (:mod:`integkit._params`), which the definition's time
    parameters (``created``...) go through."""
    return int(convert("time", value, ParamType("unix")))


class StripeConnection(Connection):
    """Stripe's REST API: form-encoded bodies, ``starting_after`` paging, idempotent POSTs."""

    def partition(
        self, listing: Listing, parts: int, stats: Stats | None = None
    ) -> Sequence[Listing] | None:
        """Split a listing into ``parts`` equal ``created`` ranges, newest first (Stripe's own
        order). Without a lower bound, a few one-record probes find the oldest object first."""
        created = listing.params.get("created")
        if isinstance(created, int) or "starting_after" in listing.params \
                or "ending_before" in listing.params:
            return None
        bounds = dict(created or {})
        hi = bounds["lt"] if "lt" in bounds else bounds.get("lte", int(time.time())) + 1
        lo = bounds["gte"] if "gte" in bounds else (
            bounds["gt"] + 1 if "gt" in bounds else self._oldest_bound(listing, hi, stats))
        if lo is None or hi - lo < parts:
            return None
        edges = [lo + (hi - lo) * i // parts for i in range(parts + 1)]
        return [listing.with_params(created={"gte": edges[i], "lt": edges[i + 1]})
                for i in reversed(range(parts))]

    def split_remaining(
        self, listing: Listing, last: dict[str, Any] | None, read: int
    ) -> tuple[dict[str, Any], Listing, Listing] | None:
        """A partition ``created`` in [lo, hi) read newest first down to ``last`` keeps
        [mid, last] and hands [lo, mid) on, when what is left (at the density read so far)
        fills at least three pages."""
        created = listing.params.get("created")
        if not isinstance(created, dict) or last is None or "gte" not in created \
                or "lt" not in created:
            return None
        lo, hi, at = int(created["gte"]), int(created["lt"]), int(last["created"])
        page = listing.page_size() or 10
        left = read * (at - lo) / max(1, hi - at)
        if at - lo < 2 or left < 4 * page:
            return None
        mid = lo + (at - lo + 1) // 2
        changes = {"created": {"gte": mid, "lt": hi}}
        narrowed = listing.with_params(**changes)
        narrowed.keeps = lambda record: int(record["created"]) >= mid
        return changes, narrowed, listing.with_params(created={"gte": lo, "lt": mid})

    def run_facts(self, listing: Listing, result: Result) -> dict[str, Any]:
        """The oldest ``created`` read (Stripe lists newest first: the last record), so the
        next read of the listing needs one probe instead of nine to find its start."""
        oldest = None
        for page in result.pages():
            if page.records:
                oldest = page.records[-1].get("created")
        return {"oldest_created": int(oldest)} if isinstance(oldest, int | float) else {}

    def _oldest_bound(self, listing: Listing, hi: int, stats: Stats | None) -> int | None:
        """A time at or before the oldest object. When an earlier complete read noted its
        oldest ``created``, one probe confirms nothing is older. Otherwise one-record probes
        ``created < hi - span`` go together (span 0, then a day times powers of 4 up to ~45
        years): the first empty one bounds the listing within a factor of 4. Each probe costs
        one call of the rate limit. None if the list is empty."""

        def older_exists(span: int) -> bool:
            probe = listing.with_params(created={"lt": hi - span}, limit=1)
            _, data, trace = self.send(probe.first_request(), endpoint=listing.endpoint,
                                       priority=listing.priority)
            if stats is not None:
                stats.add(trace)
            return bool(data and data.get("data"))

        known = last_run(self.state, listing.history_key())
        oldest = known.facts.get("oldest_created") if known is not None else None
        if isinstance(oldest, int) and oldest < hi and not older_exists(hi - oldest):
            return oldest
        spans = [0, *(86_400 * 4**k for k in range(8))]
        with ThreadPoolExecutor(len(spans)) as pool:
            found = list(pool.map(older_exists, spans))
        if not found[0]:
            return None
        empty = next((span for span, more in zip(spans, found, strict=True) if not more), None)
        return 0 if empty is None else hi - empty


CONNECTION = StripeConnection
