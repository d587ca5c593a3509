"""Result over real HTTP: laziness, head(), conversion, stats, and resuming after failures."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import integkit as ik
from integkit._results import records_to_table

from .. import apps

IDS = [r["id"] for r in apps.RECORDS]


class CutAfter(httpx.HTTPTransport):
    """A real network transport that loses the connection after ``n`` requests until healed."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.sent = 0
        self.down = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.down or self.sent > self.n:
            self.down = True
            raise httpx.ConnectError("network is unreachable", request=request)
        return super().handle_request(request)


def stripe_like(api: str, **kw) -> ik.Connection:
    kw.setdefault("retry", {"maxAttempts": 2, "initialDelay": 0.001})
    return ik.rest(api, paginator={"type": "starting_after", "limit": 20},
                   timestamps={"fields": ["created"]}, sleep=lambda s: None, **kw)


def test_nothing_is_fetched_until_read(api) -> None:
    events = []
    ik.on("call", events.append)
    try:
        result = stripe_like(api).list("/stripe/items")
        assert events == [] and result.stats.calls == 0 and not result.complete
        assert "0 pages" in repr(result)
    finally:
        ik.off("call", events.append)


def test_head_fetches_only_the_pages_it_needs(api) -> None:
    result = stripe_like(api).list("/stripe/items")
    frame = result.head(25)
    assert list(frame["id"]) == IDS[:25]
    assert result.stats.calls == 2  # pages of 20: two pages, no prefetch beyond
    assert list(result.head(3)["id"]) == IDS[:3] and result.stats.calls == 2


def test_to_frame_flattens_types_and_keeps_order(api) -> None:
    result = stripe_like(api).list("/stripe/items")
    df = result.to_frame()
    assert list(df["id"]) == IDS
    assert "meta.even" in df.columns and df["meta.even"].dtype == bool
    assert isinstance(df["created"].dtype, pd.DatetimeTZDtype)
    assert df["created"].iloc[0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert result.stats.pages == 12 and result.stats.records == apps.TOTAL
    assert result.to_arrow().num_rows == apps.TOTAL and result.stats.calls == 12  # no refetch


def test_iteration_replays_fetched_pages(api) -> None:
    result = stripe_like(api).list("/stripe/items")
    assert [r["id"] for r in result] == IDS
    assert [r["id"] for r in result] == IDS and result.stats.calls == 12
    assert [p.number for p in result.pages()] == list(range(1, 13))


def test_max_records_stops_early(api) -> None:
    result = stripe_like(api).list("/stripe/items", max_records=30)
    assert len(result.to_frame()) == 30 and result.stats.calls <= 3


def test_to_parquet_roundtrip(api, tmp_path) -> None:
    path = stripe_like(api).list("/stripe/items").to_parquet(tmp_path / "out" / "items.parquet")
    table = pq.read_table(path)
    assert table.num_rows == apps.TOTAL and table.column("id").to_pylist() == IDS


def test_schema_is_stable_when_later_pages_add_fields() -> None:
    page1 = [{"id": 1, "a": None, "meta": {}}, {"id": 2, "a": None, "meta": {}}]
    page2 = [{"id": 3, "a": 5, "meta": {"k": "v"}, "late": {"x": 1.5}}]
    from integkit._results._arrow import records_to_array

    table = records_to_table(page1 + page2, arrays=[records_to_array(page1),
                                                    records_to_array(page2)])
    assert table.column_names == ["id", "a", "meta.k", "late.x"]
    assert table.schema.field("a").type == pa.int64()
    assert table.column("late.x").to_pylist() == [None, None, 1.5]


def test_conflicting_types_fall_back_to_strings() -> None:
    with pytest.warns(ik.FieldTypeWarning, match="'v'"):
        table = records_to_table([{"v": 1, "o": {"a": 1}}, {"v": "x", "o": [1]}])
    assert table.schema.field("v").type == pa.string()
    assert table.column("v").to_pylist() == ["1", "x"]


@pytest.mark.parametrize("prefetch", [True, False])
def test_network_loss_mid_extraction_resumes_exactly_once(api, prefetch) -> None:
    network = CutAfter(5)
    result = stripe_like(api, network=network).list("/stripe/items", prefetch=prefetch)
    with pytest.raises(ik.NetworkError, match="could not connect"):
        result.to_frame()
    assert 0 < len(result) < apps.TOTAL and not result.complete
    cursor = result.cursor
    assert cursor["params"]["starting_after"] == IDS[len(result) - 1]
    network.down, network.n = False, 10_000  # the network is back
    df = result.to_frame()
    assert list(df["id"]) == IDS


def test_keyboard_interrupt_then_resume(api) -> None:
    result = stripe_like(api).list("/stripe/items")
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for page in result.pages():
            seen.extend(r["id"] for r in page.records)
            if page.number == 4:
                raise KeyboardInterrupt
    assert len(result) == 80
    rest = [r["id"] for r in result][80:]
    assert seen + rest == IDS


def test_checkpoint_resumes_in_a_new_process(api, tmp_path) -> None:
    """A process killed mid-extraction; a second one finishes from the checkpoint."""
    checkpoint = tmp_path / "ckpt"
    script = textwrap.dedent(f"""
        import os, integkit as ik
        conn = ik.rest({api!r}, paginator={{"type": "starting_after", "limit": 20}})
        result = conn.list("/stripe/items", checkpoint={str(checkpoint)!r}, prefetch=False)
        for page in result.pages():
            if page.number == 5 and os.environ.get("DIE"):
                os._exit(9)  # as if killed: no cleanup, no flush
        print(len(result.to_frame()), result.stats.calls)
    """)
    died = subprocess.run([sys.executable, "-c", script], env={"DIE": "1", **_env()},
                          capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    done = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True,
                          text=True, check=True)
    rows, calls = map(int, done.stdout.split())
    assert rows == apps.TOTAL and calls == 12 - 5  # only the pages not yet committed
    again = stripe_like(api).list("/stripe/items", checkpoint=str(checkpoint))
    assert list(again.to_frame()["id"]) == IDS and again.stats.calls == 0


def test_checkpoint_of_another_listing_is_refused(api, tmp_path) -> None:
    stripe_like(api).list("/stripe/items", checkpoint=str(tmp_path)).head(1)
    with pytest.raises(ik.ConfigError, match="belongs to another listing"):
        stripe_like(api).list("/offset/items", checkpoint=str(tmp_path))


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "DIE"}
