"""Several OS processes writing one ledger, and processes dying right after record()."""

from __future__ import annotations

import multiprocessing
import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from integkit import CallEvent
from integkit.ledger import Ledger

from . import redis_url

JUNE = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
# 400 calls at 0.01, then 0.001: every row's cost shows which position it took in the month
TIERED = {"plans": {"p": {"model": "per_call", "tiers": [
    {"up_to": 400, "price": 0.01}, {"up_to": None, "price": 0.001}]}}}
SPAWN = multiprocessing.get_context("spawn")


def _event(i: int, worker: int) -> CallEvent:
    return CallEvent(service="metered", endpoint="/v1/items", method="GET",
                     url="http://127.0.0.1:9/v1/items", status=200, duration=0.01,
                     attempt=1, bytes=10, timestamp=JUNE + i, request_id=f"w{worker}-{i}")


def _writer(url: str, namespace: str, worker: int, count: int, go: Any) -> None:
    book = Ledger(url, pricing={"metered": TIERED}, namespace=namespace)
    go.wait(30)
    for i in range(count):
        book.record(_event(i, worker))


def _record_then_exit(url: str, namespace: str, count: int) -> None:
    book = Ledger(url, pricing={"metered": TIERED}, namespace=namespace)
    for i in range(count):
        book.record(_event(i, 0))
    os._exit(0)  # no atexit, no finalizers, no connection close


def _record_until_killed(url: str, namespace: str, acks: Any) -> None:
    book = Ledger(url, pricing={"metered": TIERED}, namespace=namespace)
    for i in range(100_000):
        book.record(_event(i, 0))
        acks.send(i + 1)


@pytest.fixture(params=["sqlite", "redis"])
def where(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[tuple[str, str]]:
    """(state URL, namespace) of an empty ledger on each backend."""
    namespace = f"test-{uuid.uuid4().hex}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}", namespace
        return
    url = redis_url()
    try:
        yield url, namespace
    finally:
        Ledger(url, namespace=namespace).clear()


def test_four_processes_writing_at_once_keep_every_row(where: tuple[str, str]) -> None:
    url, namespace = where
    Ledger(url, namespace=namespace).rows()  # the schema exists before the race
    go = SPAWN.Event()
    workers = [SPAWN.Process(target=_writer, args=(url, namespace, w, 200, go))
               for w in range(4)]
    for process in workers:
        process.start()
    go.set()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    book = Ledger(url, pricing={"metered": TIERED}, namespace=namespace)
    rows = book.rows()
    assert len(rows) == 800
    assert len({r["request_id"] for r in rows}) == 800
    assert book.totals("metered", "2024-06") == (800, 8000)
    # each month position was priced exactly once: 400 in the first tier, 400 after it
    assert sorted(r["cost"] for r in rows) == [0.001] * 400 + [0.01] * 400


def test_a_process_exiting_right_after_record_loses_nothing(where: tuple[str, str]) -> None:
    url, namespace = where
    child = SPAWN.Process(target=_record_then_exit, args=(url, namespace, 25))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert len(Ledger(url, namespace=namespace).rows()) == 25


def test_a_killed_process_keeps_every_acknowledged_row(where: tuple[str, str]) -> None:
    url, namespace = where
    receive, send = SPAWN.Pipe(duplex=False)
    child = SPAWN.Process(target=_record_until_killed, args=(url, namespace, send))
    child.start()
    acknowledged = 0
    while acknowledged < 30:
        assert receive.poll(60), "the writer never recorded"
        acknowledged = receive.recv()
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join(10)
    while receive.poll():
        acknowledged = receive.recv()
    rows = Ledger(url, namespace=namespace).rows()
    assert len(rows) >= acknowledged
    assert [r["request_id"] for r in rows[:acknowledged]] == [
        f"w0-{i}" for i in range(acknowledged)]
