"""``stats.seconds`` is wall-clock time: pages fetched at once by parallel workers count once
(``stats.call_seconds`` adds their own times up). Pages come from a real loopback server
that takes a quarter of a second over each; the bounds leave room for a loaded machine.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik

LATENCY = 0.25
PAGES = 8
PER_PAGE = 10


def slow_pages(home) -> None:
    async def page(request: Request) -> JSONResponse:
        await asyncio.sleep(LATENCY)
        offset = int(request.query_params.get("offset", 0))
        rows = [{"n": n} for n in range(offset, min(offset + PER_PAGE, PAGES * PER_PAGE))]
        return JSONResponse({"items": rows, "total": PAGES * PER_PAGE})

    home.route("/rows", page)


def listing(home) -> ik.Connection:
    return ik.rest(home.url, records_path="items", rate_limit=False, cache=False,
                   paginator={"type": "offset", "limit": PER_PAGE, "total_path": "total"})


def test_parallel_workers_times_are_not_added_up(home) -> None:
    slow_pages(home)
    result = listing(home).list("/rows", parallel=4)
    began = time.perf_counter()
    frame = result.to_frame(progress=False)
    wall = time.perf_counter() - began
    assert list(frame["n"]) == list(range(PAGES * PER_PAGE))
    stats = result.stats
    # 9 calls (a probe for the total, then 8 pages) of at least LATENCY each, added up ...
    assert stats.calls == PAGES + 1
    assert stats.call_seconds >= (PAGES + 1) * LATENCY
    # ... and the wall time they took: within the measured wall time, far below the sum
    # (4 workers: about 3 rounds of LATENCY, where the sum is 9).
    assert stats.seconds <= wall + 0.01
    assert stats.seconds >= 2 * LATENCY  # the probe, then at least one round of pages
    assert stats.seconds < stats.call_seconds / 1.8
    assert f"in {stats.seconds:.2f}s" in str(stats)


def test_a_sequential_read_reports_the_time_its_pages_took(home) -> None:
    slow_pages(home)
    result = listing(home).list("/rows", prefetch=False)
    began = time.perf_counter()
    result.to_frame(progress=False)
    wall = time.perf_counter() - began
    stats = result.stats
    assert stats.calls == PAGES
    assert PAGES * LATENCY <= stats.seconds <= wall + 0.01
    # one fetch at a time: the wall time is the calls' times, to the rounding of the clock
    assert abs(stats.seconds - stats.call_seconds) < 0.01


def test_a_pause_between_pages_is_not_reading_time(home) -> None:
    slow_pages(home)
    result = listing(home).list("/rows", prefetch=False)
    pages = result.pages()
    next(pages)
    time.sleep(4 * LATENCY)  # the reader looks at the first page for a while
    for _ in pages:
        pass
    stats = result.stats
    assert stats.seconds >= PAGES * LATENCY
    assert stats.seconds < stats.call_seconds + 2 * LATENCY  # the pause (4 x) left out
