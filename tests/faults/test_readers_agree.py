"""Readers of one Result agree (issue 9, item 7).

An iteration (or ``pages()``) is paused, another reader of the same Result runs (``head``,
``to_frame``, ``to_arrow``, ``to_parquet``, ``pages()``, a second iteration), then the first
resumes: every reader sees one record set, in order, every record once, and no page is
fetched twice. Every interleaving, on sequential Results (with and without the page
ahead) and parallel ones, over real loopback HTTP (tests/apps.py).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik

from .. import apps

IDS = [r["id"] for r in apps.RECORDS]
PAGES = 12  # 237 records, 20 a page


def sequential(prefetch: bool) -> Callable[[str], ik.Result]:
    def make(api: str) -> ik.Result:
        conn = ik.rest(api, paginator={"type": "starting_after", "limit": 20},
                       primary_key="id", rate_limit=False)
        return conn.list("/stripe/items", prefetch=prefetch)
    return make


def parallel(api: str) -> ik.Result:
    conn = ik.rest(api, records_path="items", primary_key="id", rate_limit=False,
                   paginator={"type": "offset", "limit": 20, "total_path": "total"})
    return conn.list("/offset/items", parallel=3)


KINDS = {"prefetch": sequential(True), "no prefetch": sequential(False),
         "parallel": parallel}
EXTRA_CALLS = {"prefetch": 0, "no prefetch": 0, "parallel": 1}  # parallel: the probe


def records(it: Iterator[Any]) -> Iterator[str]:
    """Record ids from a record iterator, or from a pages() iterator."""
    for item in it:
        if isinstance(item, ik.Page):
            yield from (r["id"] for r in item.records)
        else:
            yield item["id"]


def read(reader: str, result: ik.Result, tmp_path) -> list[str]:
    """What the second reader sees."""
    if reader == "head 3":
        return list(result.head(3)["id"])
    if reader == "head 100":
        return list(result.head(100)["id"])
    if reader == "to_frame":
        return list(result.to_frame()["id"])
    if reader == "to_arrow":
        return result.to_arrow().column("id").to_pylist()
    if reader == "to_parquet":
        return pq.read_table(result.to_parquet(tmp_path / "out.parquet")).column(
            "id").to_pylist()
    if reader == "pages":
        return list(records(result.pages()))
    if reader == "iter":
        return list(records(iter(result)))
    if reader == "iter 50":
        return list(itertools.islice(records(iter(result)), 50))
    raise AssertionError(reader)


EXPECTED = {"head 3": IDS[:3], "head 100": IDS[:100], "iter 50": IDS[:50]}
SECOND = ["head 3", "head 100", "to_frame", "to_arrow", "to_parquet", "pages", "iter",
          "iter 50"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("first", ["iter", "pages"])
@pytest.mark.parametrize("paused_after", [1, 90])
@pytest.mark.parametrize("second", SECOND)
def test_a_paused_reader_resumes_after_another_reader_with_every_record_once(
        api, tmp_path, kind, first, paused_after, second) -> None:
    result = KINDS[kind](api)
    reader = records(iter(result) if first == "iter" else result.pages())
    before = list(itertools.islice(reader, paused_after))
    assert before == IDS[:len(before)]
    assert read(second, result, tmp_path) == EXPECTED.get(second, IDS)
    after = list(reader)
    assert before + after == IDS  # one record set, in order, each once
    assert len(result) == len(IDS) and result.complete
    assert list(result.to_frame()["id"]) == IDS and [r["id"] for r in result] == IDS
    assert result.stats.records == len(IDS) and result.stats.pages == PAGES
    assert result.stats.calls == PAGES + EXTRA_CALLS[kind]  # no page fetched twice


@pytest.mark.parametrize("kind", KINDS)
def test_two_iterations_taking_turns_each_see_every_record_once(api, kind) -> None:
    result = KINDS[kind](api)
    a, b = records(iter(result)), records(result.pages())
    seen_a, seen_b = [], []
    for step in itertools.count():
        got_a = list(itertools.islice(a, 7 + step % 5))
        got_b = list(itertools.islice(b, 30))
        seen_a += got_a
        seen_b += got_b
        if not got_a and not got_b:
            break
    assert seen_a == IDS and seen_b == IDS
    assert result.stats.calls == PAGES + EXTRA_CALLS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_head_between_two_pages_then_to_frame_then_the_rest(api, kind) -> None:
    result = KINDS[kind](api)
    pages = result.pages()
    first = next(pages)
    assert list(result.head(45)["id"]) == IDS[:45]
    frame = result.to_frame()
    rest = [r["id"] for page in pages for r in page.records]
    assert [r["id"] for r in first.records] + rest == IDS == list(frame["id"])


@pytest.mark.parametrize("kind", KINDS)
def test_readers_in_two_threads_agree(api, kind) -> None:
    result = KINDS[kind](api)
    seen: dict[str, list[str]] = {}

    def iterate() -> None:
        seen["iter"] = [r["id"] for r in result]

    def frame() -> None:
        seen["frame"] = list(result.to_frame()["id"])

    threads = [threading.Thread(target=iterate), threading.Thread(target=frame)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen == {"iter": IDS, "frame": IDS}
    assert result.stats.calls == PAGES + EXTRA_CALLS[kind]


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_failure_under_one_reader_leaves_the_paused_one_whole(home, prefetch) -> None:
    """``to_frame`` fails on page 3 (the server answers 500 once); the paused iteration
    then resumes and reads every record once."""
    records_ = [{"id": f"r{i:03d}"} for i in range(50)]
    ids = [r["id"] for r in records_]
    failed: list[str] = []

    def handler(request: Request) -> Response:
        after = request.query_params.get("starting_after")
        start = ids.index(after) + 1 if after else 0
        if start == 20 and not failed:
            failed.append(after or "")
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        return JSONResponse({"data": records_[start:start + 10],
                             "has_more": start + 10 < len(ids)})

    home.route("/v1/items", handler)
    conn = ik.rest(home.url, paginator={"type": "starting_after", "limit": 10},
                   records_path="data", primary_key="id", rate_limit=False,
                   retry={"maxAttempts": 1})
    result = conn.list("/v1/items", prefetch=prefetch)
    it = iter(result)
    before = [next(it)["id"] for _ in range(5)]
    with pytest.raises(ik.ServerError):
        result.to_frame()
    assert len(result) == 20
    after = [r["id"] for r in it]
    assert before + after == ids and list(result.to_frame()["id"]) == ids
    assert result.stats.duplicates == 0
