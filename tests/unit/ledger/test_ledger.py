"""The ledger on a real SQLite file and the real Redis: rows, usage(), costs(), estimates, and
the process-wide hook."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

import integkit as ik
from integkit import _events
from integkit.ledger import Ledger, costs, estimate_cost, install, uninstall, usage
from integkit.ledger._ledger import _Recorder

from . import metered_pricing, redis_url

JUNE = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0


def event(**fields: Any) -> ik.CallEvent:
    base: dict[str, Any] = {
        "service": "metered", "endpoint": "/v1/items", "method": "GET",
        "url": "http://127.0.0.1:9/v1/items", "status": 200, "duration": 0.25, "attempt": 1,
        "request_id": "req_1", "bytes": 1000, "timestamp": JUNE + DAY,
    }
    return ik.CallEvent(**{**base, **fields})


@pytest.fixture(params=["sqlite", "redis"])
def ledger(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Ledger]:
    """An empty ledger pricing ``metered`` with tests/unit/ledger/metered.yaml, on each backend."""
    if request.param == "sqlite":
        yield Ledger(f"sqlite:///{tmp_path / 'state.db'}", pricing={"metered": metered_pricing()})
        return
    book = Ledger(redis_url(), pricing={"metered": metered_pricing()},
                  namespace=f"test-{uuid.uuid4().hex}")
    try:
        yield book
    finally:
        book.clear()


def test_record_rows_roundtrip(ledger: Ledger) -> None:
    ledger.record(event(method="GET", timestamp=JUNE + 2 * DAY))
    ledger.record(event(method="POST", status=503, error=None, timestamp=JUNE + 3 * DAY,
                        request_id="req_2", attempt=1))
    ledger.record(event(method="POST", timestamp=JUNE + 3 * DAY + 1, attempt=2))
    ledger.record(event(cached=True, attempt=0, bytes=5000, timestamp=JUNE + 4 * DAY))
    ledger.record(event(service="other", status=None, error="ConnectError('refused')",
                        bytes=0, timestamp=JUNE + 5 * DAY, request_id=None))
    rows = ledger.rows()
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    first = rows[0]
    assert first == {
        "time": JUNE + 2 * DAY, "service": "metered", "endpoint": "/v1/items", "method": "GET",
        "status": 200, "latency": 0.25, "cached": False, "bytes": 1000, "cost": 0.0001,
        "attempt": 1, "error": None, "request_id": "req_1", "plan": "pay_as_you_go",
    }
    assert [r["cost"] for r in rows] == [0.0001, 0.0, 0.0005, 0.0, None]  # None: not priced
    assert rows[3]["cached"] is True and rows[3]["attempt"] == 0
    assert rows[4]["error"] == "ConnectError('refused')" and rows[4]["status"] is None
    assert [r["service"] for r in ledger.rows(service="other")] == ["other"]
    window = ledger.rows(since=JUNE + 3 * DAY, until=datetime(2024, 6, 5, 1, tzinfo=UTC))
    assert [r["method"] for r in window] == ["POST", "POST", "GET"]
    assert ledger.rows(since="2024-07") == []
    assert ledger.totals("metered", "2024-06") == (2, 2000)  # the 503 and the cache hit are free


def test_rows_span_months_and_tiers_restart_each_month(ledger: Ledger) -> None:
    july = datetime(2024, 7, 1, tzinfo=UTC).timestamp()
    for _ in range(2):
        ledger.record(event(method="POST", timestamp=JUNE + DAY, bytes=0))
    ledger.record(event(method="POST", timestamp=july + DAY, bytes=0))
    assert ledger.totals("metered", "2024-06") == (2, 0)
    assert ledger.totals("metered", "2024-07") == (1, 0)
    assert len(ledger.rows(since="2024-06-15")) == 1
    assert len(ledger.rows(until="2024-07-01")) == 2


def test_usage_frame_columns_and_dtypes(ledger: Ledger) -> None:
    ledger.record(event())
    ledger.record(event(service="other", status=None, error="ReadTimeout()", request_id=None,
                        timestamp=JUNE + 2 * DAY))
    frame = usage(state=ledger)
    assert list(frame.columns) == ["time", "service", "endpoint", "method", "status", "latency",
                                   "cached", "bytes", "cost", "attempt", "error", "request_id",
                                   "plan"]
    assert isinstance(frame["time"].dtype, pd.DatetimeTZDtype)
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame["time"].iloc[0] == pd.Timestamp("2024-06-02", tz="UTC")
    dtypes = {c: str(t) for c, t in frame.dtypes.items() if c != "time"}
    assert dtypes == {
        "service": "string", "endpoint": "string", "method": "string", "status": "Int64",
        "latency": "float64", "cached": "bool", "bytes": "int64", "cost": "float64",
        "attempt": "int64", "error": "string", "request_id": "string", "plan": "string",
    }
    assert frame["status"].isna().tolist() == [False, True]
    assert frame["cost"].iloc[0] == 0.0001 and pd.isna(frame["cost"].iloc[1])
    assert usage(service="metered", state=ledger)["service"].tolist() == ["metered"]
    empty = usage(since="2030-01-01", state=ledger)
    assert empty.empty and empty.dtypes.equals(frame.dtypes)


def test_costs_month_to_date_and_projection(ledger: Ledger) -> None:
    for i in range(30):
        ledger.record(event(timestamp=JUNE + i * 60, bytes=0))
    for i in range(3):
        ledger.record(event(method="POST", timestamp=JUNE + DAY + i, bytes=0))
    ledger.record(event(cached=True, timestamp=JUNE + 2 * DAY))
    ledger.record(event(service="unpriced"))
    ten_days_in = datetime(2024, 6, 11, tzinfo=UTC)  # a third of June
    frame = costs(state=ledger, now=ten_days_in).set_index("plan")
    assert list(frame.index) == ["hybrid", "pay_as_you_go", "team", "volume"]
    assert set(frame["service"]) == {"metered"}  # no pricing table, no bill
    payg = frame.loc["pay_as_you_go"]
    assert bool(payg["default"]) and payg["month"] == "2024-06"
    assert payg["elapsed"] == pytest.approx(1 / 3)
    assert (payg["calls"], payg["cached_calls"], payg["billable_calls"]) == (34, 1, 33)
    assert payg["total"] == 0.0045  # 30 reads at 0.0001 + 3 writes at 0.0005
    assert payg["projected_calls"] == 99.0
    assert payg["projected_total"] == 0.0135  # 90 reads + 9 writes
    assert frame.loc["team", "total"] == 49.0 and frame.loc["team", "projected_total"] == 49.0
    assert frame.loc["hybrid", "projected_total"] == 10.0
    # volume tiers: 3 at 0.01, 2 at 0.005 (reads), then 28 at 0.001
    assert frame.loc["volume", "total"] == pytest.approx(0.068)
    # the month is over: the projection is the bill
    done = costs("volume", service="metered", month="2024-06", state=ledger,
                 now=datetime(2024, 8, 1, tzinfo=UTC))
    assert done["elapsed"].tolist() == [1.0]
    assert done["projected_total"].tolist() == done["total"].tolist()
    with pytest.raises(ik.ConfigError, match="no plan 'gold'"):
        costs("gold", service="metered", state=ledger, now=ten_days_in)
    with pytest.raises(ik.ConfigError, match="unpriced has no pricing table"):
        costs(service="unpriced", state=ledger, now=ten_days_in)
    assert costs(state=ledger, now="2024-09-02").empty
    quiet = costs(service="metered", state=ledger, now="2024-09-02").set_index("plan")
    assert quiet["total"].to_dict() == {"hybrid": 10.0, "pay_as_you_go": 0.0, "team": 49.0,
                                        "volume": 0.0}


def test_estimate_cost_uses_this_months_usage(ledger: Ledger) -> None:
    now = JUNE + 2 * DAY
    assert estimate_cost("metered", reads=10, writes=2, state=ledger, now=now) == 0.002
    for _ in range(3):
        ledger.record(event(method="GET", bytes=0))
    # volume: 3 calls used, so 2 more cross tier 2 (0.005 a read), then tier 3
    assert estimate_cost("metered", reads=4, plan="volume", state=ledger, now=now) == 0.012
    assert estimate_cost("metered", reads=9_997, plan="hybrid", state=ledger, now=now) == 0.0
    assert estimate_cost("metered", writes=9_998, plan="hybrid", state=ledger, now=now) == 0.001
    assert estimate_cost("metered", bytes=2 * 10**9, state=ledger, now=now) == 0.09
    assert estimate_cost("metered", reads=5, state=ledger, now="2024-07-02") == 0.0005
    assert estimate_cost("unpriced", reads=100, state=ledger) == 0.0


def test_install_is_idempotent_and_records_real_calls(tmp_path: Any, api: str) -> None:
    book = Ledger(f"sqlite:///{tmp_path / 'hook.db'}", pricing={"metered": metered_pricing()})

    def recorders() -> int:
        return sum(isinstance(fn, _Recorder) for fn in _events._hooks.get("call", []))

    install()
    install(book)
    try:
        assert recorders() == 1
        conn = ik.rest(api, name="metered")
        conn.request("GET", "/echo")
        conn.request("POST", "/echo", json={"a": 1})
        rows = book.rows()
        assert [(r["service"], r["method"], r["status"]) for r in rows] == [
            ("metered", "GET", 200), ("metered", "POST", 200)]
        assert [r["cost"] for r in rows] == [0.0001, 0.0005]
        assert rows[0]["bytes"] > 0 and rows[0]["latency"] > 0
    finally:
        uninstall()
    assert recorders() == 0
    ik.rest(api, name="metered").request("GET", "/echo")
    assert len(book.rows()) == 2
    uninstall()  # twice is fine


def test_a_failing_ledger_never_breaks_emit(monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture,
                                            tmp_path: Any) -> None:
    attempts: list[Any] = []

    def broken(self: Ledger, event: Any) -> None:
        attempts.append(event)
        raise OSError("disk full")

    seen: list[Any] = []
    book = Ledger(f"sqlite:///{tmp_path / 'broken.db'}")
    monkeypatch.setattr(Ledger, "record", broken)
    install(book)
    ik.on("call", seen.append)
    try:
        with caplog.at_level(logging.WARNING, logger="integkit"):
            _events.emit("call", event())
            _events.emit("call", event())  # paused: not even tried
        assert len(seen) == 2 and len(attempts) == 1
        assert "could not record a call to metered (OSError: disk full)" in caplog.text
        monkeypatch.undo()
        hook = next(fn for fn in _events._hooks["call"] if isinstance(fn, _Recorder))
        hook.paused_until = 0.0
        with caplog.at_level(logging.WARNING, logger="integkit"):
            _events.emit("call", event())
        assert "recording again; 2 calls were not recorded" in caplog.text
        assert len(book.rows()) == 1
    finally:
        ik.off("call", seen.append)
        uninstall()


def test_unreachable_redis_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    install("redis://127.0.0.1:1/0")
    try:
        with caplog.at_level(logging.WARNING, logger="integkit"):
            _events.emit("call", event())
        assert "the call ledger could not record" in caplog.text
    finally:
        uninstall()


def test_recording_inside_an_open_write_transaction_does_not_deadlock(tmp_path: Any) -> None:
    """A call reported while this thread holds the state file's write lock (say, from inside
    a quota update) joins that transaction instead of waiting 30 s for the lock."""
    from integkit._state import StateBackend

    state = StateBackend(f"sqlite:///{tmp_path / 'busy.db'}")
    book = Ledger(state, pricing={"metered": metered_pricing()})
    book.record(event())
    with state.sqlite(immediate=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS other (x)")
        book.record(event(method="POST"))
        book.record(event(cached=True))
    assert [r["cost"] for r in book.rows()] == [0.0001, 0.0005, 0.0]
    assert book.totals("metered", "2024-06") == (2, 2000)
    state.close()


def test_importing_integkit_hooks_nothing_and_the_first_connection_hooks_the_ledger(
        tmp_path: Any) -> None:
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import integkit as ik
        from integkit import _events
        from integkit.ledger._ledger import _Recorder
        count = lambda: sum(isinstance(f, _Recorder) for f in _events._hooks.get("call", []))
        print(count())
        ik.rest("http://127.0.0.1:9")
        ik.rest("http://127.0.0.1:9")
        print(count())
        ik.ledger.uninstall()
        ik.rest("http://127.0.0.1:9")
        print(count())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "INTEGKIT_HOME": str(tmp_path)}, timeout=60,
                          check=True)
    assert done.stdout.split() == ["0", "1", "0"]
