"""A Result whose listing is split into partitions fetched concurrently, read in order.

Each partition is an ordinary sequential Result (its own cursor, its own exactly-once commits),
drained by a pool of worker threads; the parent yields partition 0's pages, then partition 1's,
and so on, so the records come in the same stable order a single cursor would give. Every
call still passes the connection's rate limiter: workers add concurrency, never extra rate.
After a failure, reading again resumes each partition from its own last page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._errors import ConfigError
from ._result import Page, PageSource, Result, Stats

__all__ = ["ParallelResult"]


class ParallelResult(Result):
    """Pages of ``partitions(stats)`` (computed on first read) fetched by ``workers`` threads."""

    def __init__(
        self,
        source: PageSource,
        partitions: Callable[[Stats], Sequence[PageSource]],
        *,
        workers: int,
        max_records: int | None = None,
        on_complete: Callable[[Result], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"parallel must be at least 1, not {workers}")
        super().__init__(source, prefetch=False, max_records=max_records,
                         on_complete=on_complete)
        self.workers = workers
        self._partitioner = partitions
        self._children: list[Result] | None = None
        self._taken: list[int] = []
        self._merged_records = 0
        self._pool: ThreadPoolExecutor | None = None
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
            sources = self._partitioner(self.stats)  # probes it sends count in the stats
            self._children = [Result(s, prefetch=False, stats=self.stats) for s in sources]
            self._taken = [0] * len(self._children)
        return self._children

    def _merge(self, page: Page) -> None:
        page.number = len(self._pages) + 1
        self._pages.append(page)
        self._merged_records += len(page)
        self._table = None

    def fetch_all(self, *, progress: bool | None = None) -> Result:
        """As :meth:`Result.fetch_all`; the workers convert their own pages to Arrow while
        waiting on the limits, so the reader, taking partitions in order, is not left with
        the other partitions' pages to convert at the end."""
        self._convert = True
        return super().fetch_all(progress=progress)

    def _steal(self, running: set[int], queued: set[int]) -> Result | None:
        """Split the running partition with the most left in two (caller holds the lock): the
        new partition goes right after it, so the order of records is kept."""
        if queued:  # partitions nobody has started yet come first
            return None
        children = self._children or []
        candidates = sorted((c for c in children if id(c) in running and not c.complete),
                            key=len)  # the least read so far has the most left, roughly
        for child in candidates:
            rest = child.split_off()
            if rest is not None:
                at = children.index(child) + 1
                children.insert(at, rest)
                self._taken.insert(at, 0)
                running.add(id(rest))
                return rest
        return None

    def _new_pages(self, prefetch: bool) -> Iterator[Page]:
        if self._pool is not None:  # workers of an interrupted read finish their page first
            self._pool.shutdown(wait=True)
        children = self._split()
        changed = threading.Condition()
        stop = threading.Event()
        errors: list[BaseException] = []
        running = {id(c) for c in children if not c.complete}
        queued = set(running)

        def drain(child: Result | None) -> None:
            with changed:
                queued.discard(id(child))
            while child is not None:
                try:
                    for page in child._new_pages(prefetch=False):  # noqa: SLF001
                        if self._convert:
                            page.array()
                        with changed:
                            changed.notify_all()
                        if stop.is_set():
                            return
                except BaseException as exc:  # raised by the reader, in order
                    with changed:
                        errors.append(exc)
                    return
                finally:
                    with changed:
                        running.discard(id(child))
                        changed.notify_all()
                with changed:  # idle: take over half of what a busy worker has left
                    child = None
                    while not (stop.is_set() or errors or queued) and running:
                        child = self._steal(running, queued)
                        if child is not None:
                            break
                        changed.wait(0.5)  # a busy one may be worth splitting after its next page

        pool = self._pool = ThreadPoolExecutor(self.workers,
                                               thread_name_prefix=f"integkit-{self.service}")
        for child in children:
            if id(child) in running:
                pool.submit(drain, child)
        try:
            index = 0
            while True:
                with changed:
                    if index >= len(children):
                        return
                    child = children[index]
                    while (self._taken[index] >= len(child._pages)  # noqa: SLF001
                           and id(child) in running and not errors):
                        changed.wait(0.5)
                    if errors:
                        raise errors[0]
                if self._taken[index] < len(child._pages):  # noqa: SLF001
                    page = child._pages[self._taken[index]]  # noqa: SLF001
                    self._taken[index] += 1
                    self._merge(page)
                    yield page
                    if self._capped():
                        return
                elif child.complete:
                    index += 1
                else:  # its worker stopped without finishing: resume it on the next read
                    return
        finally:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
