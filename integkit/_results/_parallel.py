"""A Result whose listing is split into partitions fetched concurrently, read in order.

Each partition is an ordinary sequential Result (its own cursor, its own exactly-once commits),
drained by a pool of worker threads; the parent yields partition 0's pages, then partition 1's,
and so on, so the records come in the same stable order a single cursor would give. Every
call still passes the connection's rate limiter: workers add concurrency, never extra rate.
After a failure, reading again resumes each partition from its own last page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError
from ._result import Page, PageSource, Result, Stats
from ._schema import merge_schemas, merge_time_specs

__all__ = ["ParallelResult"]


@dataclass
class _Run:
    """One round of workers draining partitions (a new one after a failure or a pause)."""

    pool: ThreadPoolExecutor
    changed: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    running: set[int] = field(default_factory=set)
    queued: set[int] = field(default_factory=set)


class ParallelResult(Result):
    """Pages of ``partitions(stats)`` (computed on first read) fetched by ``workers`` threads.

    ``across`` (partitions of one listing) drops a record whose primary key another
    partition gave already; ``ik.gather`` turns it off, since its listings are independent
    (two Slack channels may hold the same ``ts``), and each partition keeps its own keys.
    """

    def __init__(
        self,
        source: PageSource,
        partitions: Callable[[Stats], Sequence[PageSource]],
        *,
        workers: int,
        max_records: int | None = None,
        on_complete: Callable[[Result], None] | None = None,
        across: bool = True,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"parallel must be at least 1, not {workers}")
        super().__init__(source, prefetch=False, max_records=max_records,
                         on_complete=on_complete, dedupe=across)
        self.workers = workers
        self._partitioner = partitions
        self._children: list[Result] | None = None
        self._taken: list[int] = []
        self._merged_records = 0
        self._pool: ThreadPoolExecutor | None = None
        self._run: _Run | None = None
        self._convert = False  # workers turn their pages into Arrow as they fetch them

    @property
    def partitions(self) -> int:
        """How many partitions the listing was split into (0 before the first read)."""
        return len(self._children or ())

    @property
    def complete(self) -> bool:
        if self._capped():
            return True
        if self._children is None:
            return False
        return all(c.complete and taken == len(c._pages)  # noqa: SLF001
                   for c, taken in zip(self._children, self._taken, strict=True))

    @property
    def cursor(self) -> dict[str, Any] | None:
        if self.complete:
            return None
        return {"partitions": [c.cursor for c in self._children or ()]}

    def _capped(self) -> bool:
        return self.max_records is not None and self._merged_records >= self.max_records

    def _split(self) -> list[Result]:
        if self._children is None:
            with self.stats.timing():  # probes it sends count in the stats
                sources = self._partitioner(self.stats)
            # partitions of one listing: this Result drops repeats across them; independent
            # listings (gather): each drops its own. Warnings come from here, the reader.
            self._children = [Result(s, prefetch=False, stats=self.stats,
                                     dedupe=self._keys is None, warn=False)
                              for s in sources]
            self._taken = [0] * len(self._children)
        return self._children

    def _shape(self) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
        """The partitions' time fields and schemas together (gathered listings may differ:
        each one's columns are typed as its own source declares)."""
        sources = [c._source for c in self._children or ()]  # noqa: SLF001
        if not sources or all(s is self._source for s in sources):
            return super()._shape()
        return (merge_time_specs(*(s.timestamps for s in sources)),
                merge_schemas(*(getattr(s, "schema", None) for s in sources)) or None)

    def _merge(self, page: Page) -> Page:
        """Add a partition's page to this Result (without records another gave before)."""
        if self._keys is not None and page.records:
            kept, dropped, first, keys = self._keys.keep_new(page.records)
            self._keys.add(keys)
            if dropped:
                self.stats.count_duplicates(dropped)
                page = Page(page.number, kept, page.request, page.status,
                            page.duplicates + dropped,
                            page.first_duplicate or self._keys.describe(first))
        page.number = len(self._pages) + 1
        self._pages.append(page)
        self._merged_records += len(page)
        self._table = None
        if page.duplicates:
            self._note_duplicates(page)
        return page

    def fetch_all(self, *, progress: bool | None = None) -> Result:
        """As :meth:`Result.fetch_all`; the workers convert their own pages to Arrow while
        waiting on the limits, so the reader, taking partitions in order, is not left with
        the other partitions' pages to convert at the end."""
        self._convert = True
        return super().fetch_all(progress=progress)

    def _steal(self, run: _Run) -> Result | None:
        """Split the running partition with the most left in two (caller holds the lock): the
        new partition goes right after it, so the order of records is kept."""
        if run.queued:  # partitions nobody has started yet come first
            return None
        children = self._children or []
        candidates = sorted((c for c in children if id(c) in run.running and not c.complete),
                            key=len)  # the least read so far has the most left, roughly
        for child in candidates:
            rest = child.split_off()
            if rest is not None:
                at = children.index(child) + 1
                children.insert(at, rest)
                self._taken.insert(at, 0)
                run.running.add(id(rest))
                return rest
        return None

    def _drain(self, run: _Run, child: Result | None) -> None:
        """A worker: read ``child`` to its end, then help the busiest partition."""
        with run.changed:
            run.queued.discard(id(child))
        while child is not None:
            try:
                for page in child._new_pages(prefetch=False):  # noqa: SLF001
                    if self._convert:
                        page.array()
                    with run.changed:
                        run.changed.notify_all()
                    if run.stop.is_set():
                        return
            except BaseException as exc:  # raised by the reader, in order
                with run.changed:
                    run.errors.append(exc)
                return
            finally:
                with run.changed:
                    run.running.discard(id(child))
                    run.changed.notify_all()
            with run.changed:  # idle: take over half of what a busy worker has left
                child = None
                while not (run.stop.is_set() or run.errors or run.queued) and run.running:
                    child = self._steal(run)
                    if child is not None:
                        break
                    run.changed.wait(0.5)  # a busy one may be worth splitting after its page

    def _start(self) -> _Run:
        if self._pool is not None:  # workers of an interrupted read finish their page first
            self._pool.shutdown(wait=True)
        children = self._split()
        pool = self._pool = ThreadPoolExecutor(self.workers,
                                               thread_name_prefix=f"integkit-{self.service}")
        run = _Run(pool)
        run.running = {id(c) for c in children if not c.complete}
        run.queued = set(run.running)
        for child in children:
            if id(child) in run.running:
                pool.submit(self._drain, run, child)
        return run

    def _next_merged(self, run: _Run) -> Page | None:
        """The next page in partition order, waiting for its worker; None when a partition's
        worker stopped without finishing it (the next read resumes it)."""
        children = self._split()
        while True:
            with run.changed:
                index = next((i for i, c in enumerate(children)
                              if not (c.complete and self._taken[i] == len(c._pages))),  # noqa: SLF001
                             None)
                if index is None:
                    return None
                child = children[index]
                while (self._taken[index] >= len(child._pages)  # noqa: SLF001
                       and id(child) in run.running and not run.errors):
                    run.changed.wait(0.5)
                if run.errors:
                    raise run.errors[0]
            if self._taken[index] < len(child._pages):  # noqa: SLF001
                page = child._pages[self._taken[index]]  # noqa: SLF001
                self._taken[index] += 1
                return self._merge(page)
            if not child.complete:
                return None

    def _advance(self, prefetch: bool) -> Page | None:
        with self._read_lock:
            if self.complete:
                return None
            run = self._run
            if run is None:
                run = self._run = self._start()
            try:
                page = self._next_merged(run)
            except BaseException:
                self._stop_ahead()
                raise
            if page is None or self.complete or self._readers == 0:
                self._stop_ahead()
            if self.complete:
                self._finished()
            return page

    def _stop_ahead(self) -> None:
        with self._read_lock:
            run, self._run = self._run, None
            if run is not None:
                run.stop.set()
                run.pool.shutdown(wait=False, cancel_futures=True)
