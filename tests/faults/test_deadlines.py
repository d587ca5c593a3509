"""Deadlines: a call ends within its total deadline however slowly the server answers (httpx's
own timeouts are per step: a body trickling a byte a second never trips them), and a listing
can be given one too. Over real loopback HTTP against the scriptable ``home`` server.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

from starlette.responses import JSONResponse, StreamingResponse

import integkit as ik

MARGIN = 3.0  # generous: the machine may be busy; a missing deadline would take minutes


def trickle(request):
    """Headers at once, then a JSON body one byte a second for two minutes."""

    async def body():
        yield b'{"data": ['
        for _ in range(120):
            await asyncio.sleep(1)
            yield b" "
        yield b"]}"

    return StreamingResponse(body(), media_type="application/json")


async def never_answers(request):
    await asyncio.sleep(60)
    return JSONResponse({})


def connect(home, **options) -> ik.Connection:
    options.setdefault("retry", {"maxAttempts": 3, "initialDelay": 0.01})
    return ik.rest(home.url, cache=False, account=uuid.uuid4().hex[:10], **options)


def elapsed(fn, *args, **kwargs) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - returned to the test
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_body_trickling_a_byte_a_second_fails_within_the_deadline(home) -> None:
    home.route("/items", trickle)
    c = connect(home, deadline=2)
    took, error = elapsed(c.request, "GET", "/items")
    assert isinstance(error, ik.TimeoutError), error
    assert isinstance(error, TimeoutError) and isinstance(error, ik.NetworkError)
    assert took < 2 + MARGIN, took
    assert "deadline of 2s passed while the answer was still arriving" in str(error)
    assert error.endpoint == "GET /items"
    assert len(home.seen) == 1  # the deadline is spent: not tried again


def test_the_default_deadline_applies_and_a_definition_can_set_its_own(home) -> None:
    assert connect(home).deadline == 300  # ik.rest / ik.connect default
    home.route("/items", trickle)
    definition = ik.engine.ConnectorDef(service="trickly", base_url=home.url,
                                        timeout={"total": 1.5})
    c = ik.Connection(definition, cache=False)
    took, error = elapsed(c.request, "GET", "/items")
    assert isinstance(error, ik.TimeoutError) and took < 1.5 + MARGIN, (took, error)


def test_headers_that_never_come_fail_at_the_deadline_not_at_the_read_timeout(home) -> None:
    home.route("/items", never_answers)
    c = connect(home, deadline=1.5, timeout=60)
    took, error = elapsed(c.request, "GET", "/items")
    assert isinstance(error, ik.TimeoutError), error
    assert took < 1.5 + MARGIN, took
    assert "deadline of 1.5s passed" in str(error)


def test_retries_stop_at_the_deadline(home) -> None:
    home.route("/items", lambda request: JSONResponse({"error": "down"}, status_code=503))
    c = connect(home, deadline=1.5, breaker={"failureThreshold": 1000},
                retry={"maxAttempts": 50, "initialDelay": 0.4, "backoffMultiplier": 1,
                       "maxDelay": 0.4})
    took, error = elapsed(c.request, "GET", "/items")
    assert isinstance(error, ik.ServerError), error
    assert took < 1.5 + MARGIN, took
    assert 1 < len(home.seen) < 20  # retried while there was time, then gave up


def test_a_wait_for_the_rate_limit_past_the_deadline_fails_at_once(home, state_url) -> None:
    home.route("/items", lambda request: JSONResponse({"data": []}))
    c = connect(home, deadline=1, state=state_url,
                rate_limit={"limit": 1, "per": "20s", "burst": 1, "margin": 0})
    c.request("GET", "/items")
    took, error = elapsed(c.request, "GET", "/items")  # the next token is ~20 s away
    assert isinstance(error, ik.TimeoutError) and "rate limits hold this call" in str(error)
    assert took < 1.0, took
    assert len(home.seen) == 1


def test_a_wait_for_a_concurrency_slot_ends_at_the_deadline(home, state_url) -> None:
    release = threading.Event()

    async def slow(request):
        while not release.is_set():
            await asyncio.sleep(0.05)
        return JSONResponse({"data": []})

    home.route("/slow", slow)
    home.route("/items", lambda request: JSONResponse({"data": []}))
    account = uuid.uuid4().hex[:10]
    holder = ik.rest(home.url, cache=False, account=account, state=state_url,
                     quotas={"concurrent": 1})
    waiter = ik.rest(home.url, cache=False, account=account, state=state_url,
                     quotas={"concurrent": 1}, deadline=1)
    busy = threading.Thread(target=holder.request, args=("GET", "/slow"))
    busy.start()
    try:
        time.sleep(0.3)  # the one slot is taken
        took, error = elapsed(waiter.request, "GET", "/items")
    finally:
        release.set()
        busy.join()
    assert isinstance(error, ik.TimeoutError) and "concurrency slots" in str(error), error
    assert took < 1 + MARGIN, took
    assert waiter.request("GET", "/items") == {"data": []}  # the slot came back


def test_a_listing_deadline_bounds_the_whole_listing_and_keeps_what_was_read(home) -> None:
    async def page(request):
        await asyncio.sleep(0.3)
        n = int(request.query_params.get("cursor", 0))
        return JSONResponse({"data": [{"id": n}], "next": str(n + 1)})

    home.route("/items", page)
    c = connect(home)
    result = c.list("/items", paginator={"type": "cursor", "cursor_path": "next",
                                         "cursor_param": "cursor"},
                    records_path="data", deadline=1.5)
    took, error = elapsed(result.to_frame)
    assert isinstance(error, ik.TimeoutError), error
    assert "listing's deadline of 1.5s passed" in str(error)
    assert took < 1.5 + MARGIN, took
    assert 1 <= len(result) <= 8  # what arrived in time is kept
    assert result.cursor is not None


def test_a_listing_deadline_is_shared_by_its_parallel_partitions(home) -> None:
    async def offset_page(request):
        await asyncio.sleep(0.5)
        offset = int(request.query_params.get("offset", 0))
        records = [{"id": i} for i in range(offset, min(offset + 10, 10_000))]
        return JSONResponse({"items": records, "total": 10_000})

    home.route("/offset", offset_page)
    c = connect(home)
    result = c.list("/offset", paginator={"type": "offset", "limit": 10,
                                          "total_path": "total"},
                    records_path="items", parallel=4, deadline=2)
    took, error = elapsed(result.to_frame)
    assert isinstance(error, ik.TimeoutError), error
    assert took < 2 + MARGIN, took
