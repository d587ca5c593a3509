"""Time-range partitioning: a listing newest first, filtered by a unix-seconds range parameter
(Stripe's ``created={"gte": ..., "lt": ...}``), cut into equal ranges for ``parallel=``.

Registered as ``created_time``: a definition names it on a resource (``partition:
created_time``), or a connector registers it for its whole service. Any API that lists newest
first and filters on a ``gte``/``gt``/``lt``/``lte`` range of unix seconds can reuse it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .._jsonpath import find_records
from .._results import Result, Stats
from ._history import last_run
from ._listing import Listing, Strategies, register_partitioning

__all__ = ["TimeRanges"]


@dataclass(frozen=True)
class TimeRanges:
    """Cut by ``field`` (a range of unix seconds), newest range first. A listing given a
    cursor of its own (``cursor_params``) or one exact time is left whole. Without a lower
    bound, a few one-record probes (``page_size_param=1``) find the oldest record first; a
    complete read remembers it (:meth:`facts`), so the next one needs one probe."""

    field: str = "created"
    page_size_param: str = "limit"
    cursor_params: tuple[str, ...] = ("starting_after", "ending_before")

    @property
    def fact(self) -> str:
        """The name the oldest time read is remembered under."""
        return f"oldest_{self.field}"

    def partition(self, listing: Listing, parts: int,
                  stats: Stats | None) -> Sequence[Listing] | None:
        """``parts`` equal ranges of ``field``, newest first (the listing's own order)."""
        bounds = listing.params.get(self.field)
        if isinstance(bounds, int) or any(p in listing.params for p in self.cursor_params):
            return None
        bounds = dict(bounds or {})
        hi = bounds["lt"] if "lt" in bounds else bounds.get("lte", int(time.time())) + 1
        lo = bounds["gte"] if "gte" in bounds else (
            bounds["gt"] + 1 if "gt" in bounds else self._oldest_bound(listing, hi, stats))
        if lo is None or hi - lo < parts:
            return None
        edges = [lo + (hi - lo) * i // parts for i in range(parts + 1)]
        return [listing.with_params(**{self.field: {"gte": edges[i], "lt": edges[i + 1]}})
                for i in reversed(range(parts))]

    def split_remaining(self, listing: Listing, last: dict[str, Any] | None,
                        read: int) -> tuple[dict[str, Any], Listing, Listing] | None:
        """A partition [lo, hi) read newest first down to ``last`` keeps [mid, last] and hands
        [lo, mid) on, when what is left (at the density read so far) fills three pages."""
        bounds = listing.params.get(self.field)
        if not isinstance(bounds, dict) or last is None or "gte" not in bounds \
                or "lt" not in bounds:
            return None
        lo, hi, at = int(bounds["gte"]), int(bounds["lt"]), int(last[self.field])
        page = listing.page_size() or 10
        left = read * (at - lo) / max(1, hi - at)
        if at - lo < 2 or left < 4 * page:
            return None
        mid = lo + (at - lo + 1) // 2
        changes = {self.field: {"gte": mid, "lt": hi}}
        narrowed = listing.with_params(**changes)
        narrowed.keeps = lambda record: int(record[self.field]) >= mid
        return changes, narrowed, listing.with_params(**{self.field: {"gte": lo, "lt": mid}})

    def facts(self, listing: Listing, result: Result) -> dict[str, Any]:
        """The oldest time read (newest first: the last record), so the next read of the
        listing needs one probe instead of nine to find its start."""
        oldest = None
        for page in result.pages():
            if page.records:
                oldest = page.records[-1].get(self.field)
        return {self.fact: int(oldest)} if isinstance(oldest, int | float) else {}

    def _oldest_bound(self, listing: Listing, hi: int, stats: Stats | None) -> int | None:
        """A time at or before the oldest record. When an earlier complete read noted its
        oldest, one probe confirms nothing is older. Otherwise one-record probes ``< hi -
        span`` go together (span 0, then a day times powers of 4 up to ~45 years): the first
        empty one bounds the listing within a factor of 4. Each probe costs one call of the
        rate limit. None if the list is empty."""

        def older_exists(span: int) -> bool:
            probe = listing.with_params(**{self.field: {"lt": hi - span},
                                           self.page_size_param: 1})
            _, data, trace = listing.conn.send(probe.first_request(),
                                               endpoint=listing.endpoint,
                                               priority=listing.priority)
            if stats is not None:
                stats.add(trace)
            return bool(data and find_records(data, listing.records_path))

        known = last_run(listing.conn.state, listing.history_key())
        oldest = known.facts.get(self.fact) if known is not None else None
        if isinstance(oldest, int) and oldest < hi and not older_exists(hi - oldest):
            return oldest
        spans = [0, *(86_400 * 4**k for k in range(8))]
        with ThreadPoolExecutor(len(spans)) as pool:
            found = list(pool.map(older_exists, spans))
        if not found[0]:
            return None
        empty = next((span for span, more in zip(spans, found, strict=True) if not more), None)
        return 0 if empty is None else hi - empty


CREATED_TIME = TimeRanges()
register_partitioning("created_time", Strategies(partition=CREATED_TIME,
                                                 facts=CREATED_TIME.facts))
