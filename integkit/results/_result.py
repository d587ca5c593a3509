"""Result: a lazy, paged answer that fetches nothing until read, and resumes after a failure.

Pages are committed one at a time together with the request for the next page (and the
paginator's state). A failure or a KeyboardInterrupt leaves the Result at its last committed
page: reading it again continues from there, so no record is lost or yielded twice. With a
``checkpoint`` folder the same holds across processes.

While the caller converts page N, page N+1 is already being fetched in a helper thread (one
page ahead, never more), so the network wait overlaps the work on the data.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import pyarrow as pa

from .._errors import ConfigError, ServerError
from ..http._context import CallTrace
from ..pagination import (
    PageRequest,
    Paginator,
    detect_paginator,
    masked_state,
    restored_request,
)
from ._arrow import records_to_array, records_to_table, require_objects
from ._checkpoint import Checkpoint, fingerprint
from ._estimate import Estimate
from ._parquet_cache import ParquetCache

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Fetched", "Page", "PageSource", "Result", "Stats"]


@dataclass
class Fetched:
    """One page as the engine got it: decoded body and the records in it."""

    response: httpx.Response | None
    data: Any
    records: list[dict[str, Any]]
    trace: CallTrace


class PageSource(Protocol):
    """What a Result reads pages from (the connector engine implements it)."""

    service: str
    endpoint: str
    timestamps: dict[str, Any] | None

    def first_request(self) -> PageRequest: ...

    def new_paginator(self) -> Paginator | None: ...

    def fetch(self, request: PageRequest) -> Fetched: ...


@dataclass
class Page:
    """One committed page: its records and the request that fetched them."""

    number: int
    records: list[dict[str, Any]]
    request: PageRequest
    status: int | None = None
    _array: Any = field(default=None, repr=False)

    def array(self) -> pa.StructArray | None:
        if self._array is None:
            self._array = records_to_array(self.records) if self.records else False
        return self._array or None

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class Stats:
    """What reading a Result cost so far."""

    calls: int = 0
    attempts: int = 0
    pages: int = 0
    records: int = 0
    retries: int = 0
    seconds_waited: float = 0.0
    cache_hits: int = 0
    coalesced: int = 0
    failovers: int = 0
    bytes: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, trace: CallTrace) -> None:
        with self._lock:
            self._add(trace)

    def _add(self, trace: CallTrace) -> None:
        self.calls += 1
        self.attempts += trace.attempts
        self.retries += trace.retries
        self.seconds_waited += trace.waited
        self.cache_hits += int(trace.cached)
        self.coalesced += int(trace.coalesced)
        self.failovers += trace.failovers
        self.bytes += trace.bytes

    def count_page(self, records: int) -> None:
        with self._lock:
            self.pages += 1
            self.records += records

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    def __str__(self) -> str:
        return (
            f"{self.records:,} records in {self.pages:,} pages, {self.calls:,} calls "
            f"({self.retries} retries, {self.seconds_waited:.1f}s waited, "
            f"{self.cache_hits} cache hits) in {self.seconds:.2f}s"
        )


_END = object()
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic GC while a whole extraction is decoded and converted.

    JSON records hold no reference cycles, but millions of fresh containers make CPython's
    full collections re-scan everything read so far again and again: pausing them halves the
    client's CPU time on large listings. Nested and concurrent uses restore the state once.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class Result:
    """A lazy listing: iterate it, or convert it (``to_frame``, ``to_arrow``, ``to_parquet``).

    >>> charges = ik.stripe.list("charges", created={"gte": "2024-01-01"})   # doctest: +SKIP
    >>> charges.head(5)           # fetches one page
    >>> df = charges.to_frame()   # fetches the rest; re-run after a failure to resume
    """

    def __init__(
        self,
        source: PageSource,
        *,
        checkpoint: str | Path | None = None,
        prefetch: bool = True,
        max_records: int | None = None,
        stats: Stats | None = None,
        on_complete: Callable[[Result], None] | None = None,
    ) -> None:
        self._source = source
        self._on_complete = on_complete
        self.service = source.service
        self.endpoint = source.endpoint
        self.prefetch = prefetch
        self.max_records = max_records
        self.stats = stats or Stats()
        self.progress: bool | None = None  # a bar while reading: see fetch_all
        self._pages: list[Page] = []
        self._next: PageRequest | None = source.first_request()
        self._paginator: Paginator | None = source.new_paginator()
        if self._paginator is not None:
            self._paginator.init_request(self._next)
        self._lock = threading.Lock()
        self._split_lock = threading.Lock()  # a commit and a split_off never interleave
        self._bounds: dict[str, Any] | None = None  # params a split_off narrowed us to
        self._table: pa.Table | None = None
        self._result_cache: tuple[ParquetCache, float | None, str] | None = None
        self._checkpoint = None
        if checkpoint is not None:
            self._checkpoint = Checkpoint(checkpoint, fingerprint(self._next.as_dict()))
            self._restore()

    # -- state -----------------------------------------------------------------------------
    def _restore(self) -> None:
        assert self._checkpoint is not None
        saved = self._checkpoint.load()
        for records in saved.pages:
            self._pages.append(Page(len(self._pages) + 1, records, PageRequest("GET", "")))
        self.stats.pages = len(self._pages)
        self.stats.records = sum(len(p) for p in self._pages)
        if saved.pages:
            self._next = (
                None if saved.done or saved.next_request is None or self._next is None
                else restored_request(saved.next_request, self._next)
            )
            if saved.paginator is not None and self._next is not None:
                self._paginator = self._paginator or self._source.new_paginator()
                if self._paginator is not None:
                    vars(self._paginator).update(saved.paginator)

    @property
    def complete(self) -> bool:
        """Whether every page has been fetched."""
        return self._next is None or self._capped()

    @property
    def cursor(self) -> dict[str, Any] | None:
        """The request for the next page (None when complete): where a resume starts, with
        credentials masked (a next-page URL may carry the key)."""
        return None if self._next is None else self._next.masked()

    def _capped(self) -> bool:
        return self.max_records is not None and self.stats.records >= self.max_records

    def _fetch(
        self, request: PageRequest, paginator: Paginator | None
    ) -> tuple[Page, PageRequest | None, Paginator]:
        """Fetch one page and work out the next request, touching no committed state."""
        started = time.perf_counter()
        fetched = self._source.fetch(request)
        self.stats.add(fetched.trace)
        with self._lock:
            self.stats.seconds += time.perf_counter() - started
        require_objects(fetched.records, service=self.service, endpoint=self.endpoint)
        if paginator is None:
            paginator = detect_paginator(fetched.response, fetched.data)  # type: ignore[arg-type]
        else:
            paginator = copy.deepcopy(paginator)
        paginator.update_state(fetched.response, fetched.data, fetched.records)  # type: ignore[arg-type]
        nxt = None
        if paginator.has_next_page:
            nxt = request.copy()
            paginator.update_request(nxt)
            if nxt == request:
                raise ServerError(
                    f"the next-page request equals the last one ({request.url}); stopping "
                    "rather than looping forever", service=self.service, endpoint=self.endpoint,
                )
        status = fetched.response.status_code if fetched.response is not None else None
        page = Page(len(self._pages) + 1, fetched.records, request, status)
        return page, nxt, paginator

    def _commit(self, page: Page, nxt: PageRequest | None, paginator: Paginator) -> None:
        with self._split_lock:
            if self._bounds is not None:  # split while this page was on its way
                keeps = getattr(self._source, "keeps", None)
                kept = [r for r in page.records if keeps is None or keeps(r)]
                if len(kept) < len(page.records):  # past our new end: the rest is another's
                    page.records, nxt = kept, None
                elif nxt is not None:
                    nxt.params.update(self._bounds)
            self._commit_page(page, nxt, paginator)

    def split_off(self) -> Result | None:
        """Give the older part of what is left to a new Result, for an idle worker (work
        stealing); None when the source cannot split or too little is left to be worth it.
        This Result keeps reading up to the cut; records past it arriving on a page already
        in flight are dropped here and read by the new one."""
        with self._split_lock:
            splitter = getattr(self._source, "split_remaining", None)
            if splitter is None or self.complete or not self._pages:
                return None
            last = next((p.records[-1] for p in reversed(self._pages) if p.records), None)
            cut = splitter(last, len(self))
            if cut is None:
                return None
            changes, narrowed, rest = cut
            self._source, self._bounds = narrowed, changes
            if self._next is not None:
                self._next.params.update(changes)
            return Result(rest, prefetch=False, stats=self.stats)

    def _commit_page(self, page: Page, nxt: PageRequest | None, paginator: Paginator) -> None:
        if self._checkpoint is not None:
            self._checkpoint.commit(
                page.records, None if nxt is None else nxt.masked(),
                masked_state(dict(vars(paginator))),
            )
        page.number = len(self._pages) + 1
        self._pages.append(page)
        self._next, self._paginator, self._table = nxt, paginator, None
        self.stats.count_page(len(page))

    # -- reading ---------------------------------------------------------------------------
    def _new_pages(self, prefetch: bool) -> Iterator[Page]:
        """Fetch and commit pages from the current cursor to the end."""
        if not prefetch:
            while self._next is not None and not self._capped():
                fetched = self._fetch(self._next, self._paginator)
                self._commit(*fetched)
                yield fetched[0]
            return
        yield from self._prefetched_pages()

    def _prefetched_pages(self) -> Iterator[Page]:
        handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
        stop = threading.Event()

        def offer(item: Any) -> None:
            while not stop.is_set():
                try:
                    handoff.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def worker(request: PageRequest | None, paginator: Paginator | None) -> None:
            try:
                while request is not None and not stop.is_set():
                    item = self._fetch(request, paginator)
                    _, request, paginator = item
                    offer(item)
                offer(_END)
            except BaseException as exc:  # handed to the reader, raised there
                offer(exc)

        thread = threading.Thread(
            target=worker, args=(self._next, self._paginator), daemon=True,
            name=f"integkit-prefetch-{self.service}",
        )
        thread.start()
        try:
            while self._next is not None and not self._capped():
                item = handoff.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                self._commit(*item)
                yield item[0]
        finally:
            stop.set()  # an uncommitted page in flight is dropped and fetched again on resume

    def pages(self) -> Iterator[Page]:
        """Every page: those already fetched, then the rest as they arrive."""
        index = 0
        while True:
            while index < len(self._pages):
                yield self._pages[index]
                index += 1
            if self.complete:
                return
            for page in self._new_pages(self.prefetch):
                index += 1
                yield page
            if self.complete:
                self._finished()
                return

    def _finished(self) -> None:
        """Tell ``on_complete`` (once) that the whole listing has been read."""
        hook, self._on_complete = self._on_complete, None
        if hook is not None and not self._capped():
            hook(self)

    def estimate(self) -> Estimate:
        """How many records, calls, seconds and what cost reading this Result will take,
        before any page is read: from the service's count where it gives one, else from the
        last complete read of the same listing by any process sharing the state, with the
        connection's current limits, quota and pricing."""
        estimator = getattr(self._source, "estimate", None)
        if estimator is None:
            raise ConfigError(f"{self.service} {self.endpoint}: this listing cannot be "
                              "estimated (its source has no estimate())")
        if self._from_cache_available():
            return Estimate(records=None, calls=0, seconds=0.0, cost=0.0,
                            basis="a fresh Parquet copy of this result is cached")
        result: Estimate = estimator(workers=getattr(self, "workers", 1),
                                     max_records=self.max_records)
        return result

    def _from_cache_available(self) -> bool:
        if self._result_cache is None or self._pages:
            return False
        cache, max_age, key = self._result_cache
        return cache.fresh(key, max_age)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        count = 0
        for page in self.pages():
            for record in page.records:
                if self.max_records is not None and count >= self.max_records:
                    return
                count += 1
                yield record

    def fetch_all(self, *, progress: bool | None = None) -> Result:
        """Fetch every remaining page (resuming where a failed read stopped); returns self.

        ``progress`` (default: the ``progress`` attribute) shows a bar once past the first
        page; None shows it where someone sees it: not under papermill, CI or without a
        terminal (see integkit.notebook._progress)."""
        from ..notebook._progress import track

        shown = self.progress if progress is None else progress
        with _bulk_allocation(), track(self, shown) as bar:
            for page in self.pages():
                page.array()  # convert while the next page is on its way
                bar.update()
        return self

    def cache_results(self, cache: ParquetCache, *, max_age: float | None, key: str) -> Result:
        """Serve ``to_arrow``/``to_frame`` from a Parquet file no older than ``max_age`` when
        there is one, and write one after a complete extraction; returns self."""
        self._result_cache = (cache, max_age, key)
        return self

    def _from_cache(self) -> pa.Table | None:
        if self._result_cache is None or self._pages or self._table is not None:
            return None
        cache, max_age, key = self._result_cache
        table = cache.get(key, max_age)
        if table is not None:
            self.stats.cache_hits += 1
            self.stats.records = table.num_rows
        return table

    def to_arrow(self, *, progress: bool | None = None) -> pa.Table:
        """All records as one flat Arrow table (fetches what is missing; ``progress`` as for
        :meth:`fetch_all`)."""
        cached = self._from_cache()
        if cached is not None:
            self._table = cached
            return cached
        if self._table is not None and self._served_from_cache():
            return self._table
        self.fetch_all(progress=progress)
        if self._table is None:
            records = [r for p in self._pages for r in p.records]
            arrays: list[pa.StructArray | None] | None = [
                p.array() for p in self._pages if p.records
            ]
            if self.max_records is not None and len(records) > self.max_records:
                records, arrays = records[: self.max_records], None
            with _bulk_allocation():
                self._table = records_to_table(
                    records, timestamps=self._source.timestamps, arrays=arrays
                )
            if self._result_cache is not None and self.max_records is None:
                cache, _, key = self._result_cache
                cache.put(key, self._table, {"service": self.service, "endpoint": self.endpoint})
        return self._table

    def _served_from_cache(self) -> bool:
        return self._result_cache is not None and not self._pages

    def to_frame(self, *, progress: bool | None = None) -> pd.DataFrame:
        """All records as a pandas DataFrame: dotted columns for nested fields, typed times
        (``progress``: a bar while pages arrive; default: where someone sees it)."""
        return self.to_arrow(progress=progress).to_pandas()

    def to_parquet(self, path: str | Path, **options: Any) -> Path:
        """Write all records to a Parquet file; returns its path."""
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.to_arrow(), path, **options)
        return path

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` records as a DataFrame, fetching only the pages they need."""
        records: list[dict[str, Any]] = []
        pages = iter(self._pages)
        while len(records) < n:
            page = next(pages, None)
            if page is None:
                if self.complete:
                    break
                page = next(self._new_pages(prefetch=False), None)
                if page is None:
                    break
            records.extend(page.records[: n - len(records)])
        return records_to_table(records, timestamps=self._source.timestamps).to_pandas()

    def __len__(self) -> int:
        """Records fetched so far (not the total, which most APIs do not tell)."""
        return sum(len(p) for p in self._pages)

    def __repr__(self) -> str:
        state = "complete" if self.complete else "more to fetch"
        return (
            f"<Result {self.service} {self.endpoint}: {len(self._pages)} pages, "
            f"{len(self):,} records so far, {state}>"
        )

    def _repr_html_(self) -> str:
        from ..notebook._html import result_html

        return result_html(self)
