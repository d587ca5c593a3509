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
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import pyarrow as pa

from .. import _display
from .._errors import ConfigError, PaginationError
from .._events import logger
from .._http import CallTrace
from .._pagination import (
    DEFAULT_MAX_EMPTY_PAGES,
    PageRequest,
    PageTrail,
    PaginationWarning,
    Paginator,
    check_max_empty_pages,
    describe_request,
    detect,
    masked_state,
    request_identity,
    restored_request,
)
from ._arrow import apply_schema, records_to_array, records_to_table, require_objects
from ._checkpoint import Checkpoint, fingerprint
from ._dedupe import RecordKeys, warn_duplicates
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
    """What a Result reads pages from (the connector engine implements it). A source may also
    declare ``schema`` (dotted column -> type name: see integkit._results._schema)."""

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
    duplicates: int = 0  # records dropped from it: their primary key came before
    first_duplicate: str | None = field(default=None, repr=False)  # its key, for messages
    _array: Any = field(default=None, repr=False)

    def array(self) -> pa.StructArray | None:
        if self._array is None:
            self._array = records_to_array(self.records) if self.records else False
        return self._array or None

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class Stats:
    """What reading a Result cost so far.

    ``seconds`` is wall-clock time: how long at least one page was being fetched, so pages
    fetched at once by parallel workers count once (a read paused between pages does not
    count). ``call_seconds`` adds up every page's fetch, worker by worker.
    """

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
    duplicates: int = 0
    call_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _active: int = field(default=0, repr=False, compare=False)  # fetches in flight
    _mark: float = field(default=0.0, repr=False, compare=False)  # wall time counted up to

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        """Time one fetch (or a partition probe): wall time while any is in flight goes to
        ``seconds`` (kept up to date as each one ends), its own duration to ``call_seconds``."""
        begin = time.perf_counter()
        with self._lock:
            if self._active == 0:
                self._mark = begin
            self._active += 1
        try:
            yield
        finally:
            end = time.perf_counter()
            with self._lock:
                self.seconds += end - self._mark
                self._mark = end
                self._active -= 1
                self.call_seconds += end - begin

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

    def count_page(self, records: int, *, duplicates: int = 0) -> None:
        with self._lock:
            self.pages += 1
            self.records += records
            self.duplicates += duplicates

    def count_duplicates(self, dropped: int) -> None:
        with self._lock:
            self.duplicates += dropped

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    def _repr_html_(self) -> str:
        return _display.html("stats", self)

    def __str__(self) -> str:
        return (
            f"{self.records:,} records in {self.pages:,} pages, {self.calls:,} calls "
            f"({self.retries} retries, {self.seconds_waited:.1f}s waited, "
            f"{self.cache_hits} cache hits) in {self.seconds:.2f}s"
            + (f"; {self.duplicates:,} repeated records dropped" if self.duplicates else "")
        )


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


@dataclass
class _Step:
    """One fetched, not yet committed page, with what reading it taught about the next."""

    page: Page
    next: PageRequest | None
    paginator: Paginator
    key: str
    empty_run: int
    advice: str | None = None  # the first page looks partial, yet no paging was detected


_END = object()
_STOPPED = object()


class _PageAhead:
    """The pages after the committed one, fetched by a helper thread while the reader works
    on the last one (one page ahead). Its steps chain from the committed state it started
    at, so every reader of the Result takes from this one, in order, or from none."""

    def __init__(self, result: Result, request: PageRequest, paginator: Paginator | None,
                 trail: PageTrail) -> None:
        self._handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, args=(result, request, paginator, trail), daemon=True,
            name=f"integkit-prefetch-{result.service}",
        )
        self._thread.start()

    def _offer(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._handoff.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _work(self, result: Result, request: PageRequest | None,
              paginator: Paginator | None, trail: PageTrail) -> None:
        try:
            while request is not None and not self._stop.is_set():
                step = result._fetch(request, paginator, trail)  # noqa: SLF001
                trail.record(step.key, step.empty_run)
                request, paginator = step.next, step.paginator
                self._offer(step)
            self._offer(_END)
        except BaseException as exc:  # handed to the reader, raised there
            self._offer(exc)

    def take(self) -> Any:
        """The next step; ``_END`` after the last, ``_STOPPED`` once stopped; raises what the
        helper thread met."""
        while True:
            try:
                item = self._handoff.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return _STOPPED
                continue
            if isinstance(item, BaseException):
                raise item
            return item

    def stop(self) -> None:
        """Drop what is in flight: an uncommitted page is fetched again on the next read."""
        self._stop.set()


class Result:
    """A lazy listing: iterate it, or convert it (``to_frame``, ``to_arrow``, ``to_parquet``).

    >>> charges = ik.stripe.list("charges", created={"gte": "2024-01-01"})   # doctest: +SKIP
    >>> charges.head(5)           # fetches one page
    >>> df = charges.to_frame()   # fetches the rest; re-run after a failure to resume

    Every reader (iteration, ``pages()``, ``head``, the conversions), however interleaved,
    reads the one sequence of committed pages: a paused iterator resumes after the pages a
    ``to_frame()`` fetched meanwhile, and no page is committed twice. Records whose primary
    key (the connector's ``primary_key``) was already read are dropped and counted in
    ``stats.duplicates``; pages that loop, or stay empty while saying "more" more than
    ``max_empty_pages`` times in a row, raise PaginationError.
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
        max_empty_pages: int | None = None,
        dedupe: bool = True,
        warn: bool = True,
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
        if max_empty_pages is None:
            max_empty_pages = getattr(source, "max_empty_pages", None)
        self._trail = PageTrail(self.service, self.endpoint, check_max_empty_pages(
            DEFAULT_MAX_EMPTY_PAGES if max_empty_pages is None else max_empty_pages))
        primary_key = getattr(source, "primary_key", None) if dedupe else None
        self._keys = RecordKeys(primary_key) if primary_key else None
        self._warn_repeats = warn
        self._read_lock = threading.RLock()  # one reader commits at a time
        self._readers = 0  # open pages() iterators: the page ahead lives while one does
        self._ahead: _PageAhead | None = None
        self._split_lock = threading.Lock()  # a commit and a split_off never interleave
        self._bounds: dict[str, Any] | None = None  # params a split_off narrowed us to
        self._table: pa.Table | None = None
        self._result_cache: tuple[ParquetCache, float | None, str] | None = None
        self._checkpoint = None
        if checkpoint is not None:
            self._checkpoint = Checkpoint(checkpoint, self._listing_key())
            self._restore()

    # -- state -----------------------------------------------------------------------------
    def _listing_key(self) -> str:
        """Whose listing a checkpoint holds: the source's key (the caller's identity, account
        and answer-changing headers with the first request) where it has one, so a folder
        resumed with someone else's credentials refuses rather than mixes their pages."""
        key = getattr(self._source, "history_key", None)
        if key is not None:
            return str(key())
        return fingerprint(self._source.first_request().as_dict())

    def _restore(self) -> None:
        assert self._checkpoint is not None
        saved = self._checkpoint.load()
        for records, key in zip(saved.pages, saved.requests, strict=True):
            self._pages.append(Page(len(self._pages) + 1, records, PageRequest("GET", "")))
            if self._keys is not None:
                self._keys.remember(records)
            self._trail.record(key, 0)
        self._trail.empty_run = saved.empty_run
        self.stats.pages = len(self._pages)
        self.stats.records = sum(len(p) for p in self._pages)
        self.stats.duplicates = saved.duplicates
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

    def _identity(self, request: PageRequest) -> str:
        """What ``request`` asks for, as the source resolves it (base URL, encoding)."""
        resolve = getattr(self._source, "request_identity", None)
        return str(resolve(request)) if resolve is not None else request_identity(request)

    def _fetch(self, request: PageRequest, paginator: Paginator | None,
               trail: PageTrail) -> _Step:
        """Fetch one page and work out the next request, touching no committed state; a
        next request that repeats one of ``trail`` raises PaginationError."""
        with self.stats.timing():
            fetched = self._source.fetch(request)
        self.stats.add(fetched.trace)
        require_objects(fetched.records, service=self.service, endpoint=self.endpoint)
        advice = None
        if paginator is None:
            found = detect(fetched.response, fetched.data, fetched.records)
            paginator, advice = found.paginator, found.advice
            logger.debug("integkit: %s %s pages by %s (detected: %s)", self.service,
                         self.endpoint, type(paginator).__name__, found.shape)
        else:
            paginator = copy.deepcopy(paginator)
        try:
            paginator.update_state(fetched.response, fetched.data, fetched.records)  # type: ignore[arg-type]
        except PaginationError as exc:  # the paginator knows no service: name it here
            cursor = describe_request(request)
            raise PaginationError(
                f"{exc.message}; the page was read with {cursor}", cursor=cursor,
                service=self.service, endpoint=self.endpoint) from None
        nxt = nxt_key = None
        if paginator.has_next_page:
            nxt = request.copy()
            paginator.update_request(nxt)
            nxt_key = self._identity(nxt)
        key = self._identity(request)
        empty_run = trail.follow(key, len(fetched.records), nxt, nxt_key)
        status = fetched.response.status_code if fetched.response is not None else None
        page = Page(len(self._pages) + 1, fetched.records, request, status)
        return _Step(page, nxt, paginator, key, empty_run, advice)

    def _commit(self, step: _Step) -> None:
        with self._split_lock:
            if self._bounds is not None:  # split while this page was on its way
                keeps = getattr(self._source, "keeps", None)
                page = step.page
                kept = [r for r in page.records if keeps is None or keeps(r)]
                if len(kept) < len(page.records):  # past our new end: the rest is another's
                    page.records, step.next = kept, None
                elif step.next is not None:
                    step.next.params.update(self._bounds)
            self._commit_page(step)

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
            return Result(rest, prefetch=False, stats=self.stats,
                          max_empty_pages=self._trail.max_empty_pages,
                          dedupe=self._keys is not None, warn=self._warn_repeats)

    def _commit_page(self, step: _Step) -> None:
        """Make ``step`` part of the Result: checkpoint first (a failure there changes
        nothing here), then memory. Repeated primary keys are dropped on the way."""
        page, nxt, paginator = step.page, step.next, step.paginator
        kept, dropped, first, keys = page.records, 0, None, None
        if self._keys is not None:
            kept, dropped, first, keys = self._keys.keep_new(page.records)
        if self._checkpoint is not None:
            self._checkpoint.commit(
                kept, None if nxt is None else nxt.masked(),
                masked_state(dict(vars(paginator))),
                request=step.key, duplicates=self.stats.duplicates + dropped,
                empty_run=step.empty_run,
            )
        if self._keys is not None and keys:
            self._keys.add(keys)
        self._trail.record(step.key, step.empty_run)
        page.records, page.duplicates = kept, dropped
        page.number = len(self._pages) + 1
        self._pages.append(page)
        self._next, self._paginator, self._table = nxt, paginator, None
        self.stats.count_page(len(page), duplicates=dropped)
        if step.advice is not None and not self._capped():  # max_records= asked for less
            warnings.warn(f"{self.service} {self.endpoint}: {step.advice}", PaginationWarning,
                          stacklevel=2)
        if dropped:
            assert self._keys is not None
            page.first_duplicate = self._keys.describe(first)
            self._note_duplicates(page)

    def _note_duplicates(self, page: Page) -> None:
        if self._warn_repeats:
            self._warn_repeats = False  # once per Result: the count is in the stats
            warn_duplicates(f"{self.service} {self.endpoint}", page.number, page.duplicates,
                            page.first_duplicate or "?")

    # -- reading ---------------------------------------------------------------------------
    def _advance(self, prefetch: bool) -> Page | None:
        """Commit the next page (taking it from the page ahead when one is being fetched,
        else fetching it; ``prefetch`` starts fetching ahead); None once complete."""
        with self._read_lock:
            while not self.complete:
                assert self._next is not None
                ahead = self._ahead
                if ahead is None and prefetch:
                    ahead = self._ahead = _PageAhead(self, self._next, self._paginator,
                                                     self._trail.fork())
                try:
                    if ahead is None:
                        step = self._fetch(self._next, self._paginator, self._trail)
                    else:
                        item = ahead.take()
                        if item is _STOPPED or item is _END:  # stopped under us: start again
                            self._ahead = None
                            continue
                        step = item
                    self._commit(step)
                except BaseException:
                    self._stop_ahead()  # what it holds may not follow the committed page
                    raise
                if self.complete:
                    self._stop_ahead()
                    self._finished()
                elif self._readers == 0:  # head(): nobody will read the page ahead soon
                    self._stop_ahead()
                return step.page
            return None

    def _stop_ahead(self) -> None:
        with self._read_lock:
            ahead, self._ahead = self._ahead, None
            if ahead is not None:
                ahead.stop()

    def _new_pages(self, prefetch: bool) -> Iterator[Page]:
        """Commit pages from the current cursor to the end, yielding each."""
        while (page := self._advance(prefetch)) is not None:
            yield page

    def pages(self) -> Iterator[Page]:
        """Every page: those already fetched, then the rest as they arrive."""
        with self._read_lock:
            self._readers += 1
        try:
            index = 0
            while True:
                while index < len(self._pages):
                    yield self._pages[index]
                    index += 1
                if self._advance(self.prefetch) is None and index >= len(self._pages):
                    return
        finally:
            with self._read_lock:
                self._readers -= 1
                if self._readers == 0:
                    self._stop_ahead()

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
        terminal (see integkit._notebook._progress)."""
        shown = self.progress if progress is None else progress
        with _bulk_allocation(), _display.progress(self, shown) as bar:
            for page in self.pages():
                page.array()  # convert while the next page is on its way
                bar.update()
        return self

    def cache_results(self, cache: ParquetCache, *, max_age: float | None, key: str) -> Result:
        """Serve ``to_arrow``/``to_frame`` from a Parquet file no older than ``max_age`` when
        there is one, and write one after a complete extraction; returns self."""
        self._result_cache = (cache, max_age, key)
        return self

    def _shape(self) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
        """How this Result's records become a table: its source's time fields and schema."""
        return self._source.timestamps, getattr(self._source, "schema", None)

    def _from_cache(self) -> pa.Table | None:
        if self._result_cache is None or self._pages or self._table is not None:
            return None
        cache, max_age, key = self._result_cache
        table = cache.get(key, max_age)
        if table is not None:
            self.stats.cache_hits += 1
            self.stats.records = table.num_rows
            timestamps, schema = self._shape()
            table = apply_schema(table, schema, timestamps)  # written by an older schema
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
            timestamps, schema = self._shape()
            with _bulk_allocation():
                self._table = records_to_table(
                    records, timestamps=timestamps, arrays=arrays, schema=schema
                )
            if self._result_cache is not None and self.max_records is None:
                cache, _, key = self._result_cache
                cache.put(key, self._table, {"service": self.service, "endpoint": self.endpoint})
        return self._table

    def _served_from_cache(self) -> bool:
        return self._result_cache is not None and not self._pages

    def to_frame(self, *, progress: bool | None = None) -> pd.DataFrame:
        """All records as a pandas DataFrame: dotted columns for nested fields, typed times
        (``progress``: a bar while pages arrive; default: where someone sees it). Declared
        dates are ``datetime64`` too."""
        return self.to_arrow(progress=progress).to_pandas(date_as_object=False)

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
        index = 0
        while len(records) < n:
            if index >= len(self._pages):
                if self._advance(prefetch=False) is None and index >= len(self._pages):
                    break
                continue
            records.extend(self._pages[index].records[: n - len(records)])
            index += 1
        timestamps, schema = self._shape()
        return records_to_table(records, timestamps=timestamps, schema=schema).to_pandas(
            date_as_object=False)

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
        return _display.html("result", self)
