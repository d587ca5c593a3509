"""Declared primary keys hold (issue 9, item 6).

A scripted server over real loopback HTTP (``home``) sends overlapping pages, as an API
does when records move while it is paged: a record repeated across pages is kept once
(sequential, parallel partitions, resumed from a checkpoint), counted in
``stats.duplicates`` and warned about once with ``ik.DuplicateRecordWarning``. The key
comes from the connector definition (``primary_key``), or ``ik.rest(primary_key=)``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik

RECORDS = [{"id": f"r{i:03d}", "n": i} for i in range(50)]
IDS = [r["id"] for r in RECORDS]


def overlapping_pages(request: Request) -> Response:
    """Page p (10 a page) starts with the last two records of page p - 1."""
    page = int(request.query_params.get("page", 1))
    start = max(0, (page - 1) * 10 - 2)
    return JSONResponse({"data": RECORDS[start:page * 10], "total_pages": 5})


def page_numbers(home, **options) -> ik.Connection:
    return ik.rest(home.url, records_path="data", rate_limit=False, paginator={
        "type": "page_number", "limit": 10, "total_pages_path": "total_pages"}, **options)


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_record_repeated_on_the_next_page_is_kept_once_counted_and_warned(
        home, prefetch) -> None:
    home.route("/items", overlapping_pages)
    result = page_numbers(home, primary_key="id").list("/items", prefetch=prefetch)
    with pytest.warns(ik.DuplicateRecordWarning) as warned:
        frame = result.to_frame()
    assert list(frame["id"]) == IDS
    assert result.stats.duplicates == 8 and result.stats.records == 50
    ours = [w for w in warned if w.category is ik.DuplicateRecordWarning]
    assert len(ours) == 1  # once per Result; the stats count every repeat
    message = str(ours[0].message)
    assert "id='r008'" in message and "page 2" in message and "stats.duplicates" in message
    assert "8 repeated records dropped" in str(result.stats)
    assert result.stats.as_dict()["duplicates"] == 8


def test_parallel_partitions_keep_a_record_once_across_their_boundaries(home) -> None:
    home.route("/items", overlapping_pages)
    result = page_numbers(home, primary_key="id").list("/items", parallel=3)
    with pytest.warns(ik.DuplicateRecordWarning) as warned:
        frame = result.to_frame()
    assert result.partitions == 3  # pages 1-2, 3-4 and 5: pages 3 and 5 repeat another's
    assert list(frame["id"]) == IDS and result.stats.duplicates == 8
    assert [w.category for w in warned].count(ik.DuplicateRecordWarning) == 1
    assert len(result) == 50


def test_a_resumed_listing_remembers_the_keys_read_before_the_process_died(
        home, tmp_path) -> None:
    home.route("/items", overlapping_pages)
    checkpoint = tmp_path / "ckpt"
    script = textwrap.dedent(f"""
        import os, warnings, integkit as ik
        warnings.simplefilter("ignore")
        conn = ik.rest({home.url!r}, records_path="data", rate_limit=False, primary_key="id",
                       paginator={{"type": "page_number", "limit": 10,
                                   "total_pages_path": "total_pages"}})
        result = conn.list("/items", checkpoint={str(checkpoint)!r}, prefetch=False)
        for page in result.pages():
            if page.number == 3:
                os._exit(9)
    """)
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    resumed = page_numbers(home, primary_key="id").list("/items", checkpoint=str(checkpoint))
    assert len(resumed) == 30 and resumed.stats.duplicates == 4  # pages 2 and 3 each had 2
    with pytest.warns(ik.DuplicateRecordWarning):
        frame = resumed.to_frame()
    assert list(frame["id"]) == IDS and resumed.stats.duplicates == 8
    assert resumed.stats.calls == 2  # pages 4 and 5 only


def test_a_page_repeating_an_earlier_page_after_a_resume_adds_no_record(home,
                                                                          tmp_path) -> None:
    """The server serves page 1's records again as page 3, after a resume: all dropped."""
    def handler(request: Request) -> Response:
        page = int(request.query_params.get("page", 1))
        start = 0 if page == 3 else (page - 1) * 10
        return JSONResponse({"data": RECORDS[start:start + 10], "total_pages": 3})

    home.route("/again", handler)
    checkpoint = str(tmp_path / "again")
    first = page_numbers(home, primary_key="id").list("/again", checkpoint=checkpoint)
    assert list(first.head(20)["id"]) == IDS[:20]
    resumed = page_numbers(home, primary_key="id").list("/again", checkpoint=checkpoint)
    with pytest.warns(ik.DuplicateRecordWarning, match="10 record"):
        assert [r["id"] for r in resumed] == IDS[:20]
    assert resumed.stats.duplicates == 10 and resumed.stats.pages == 3


def test_the_connector_definitions_primary_key_is_used(home) -> None:
    """GitHub's definition declares ``id``; Slack's history declares ``ts``."""
    def issues(request: Request) -> Response:
        page = int(request.query_params.get("page", 1))
        numbers = range(1, 4) if page == 1 else range(3, 6)  # issue 3 on both pages
        link = {"Link": f'<{home.url}/repos/o/r/issues?page=2>; rel="next"'} if page == 1 \
            else {}
        return JSONResponse([{"id": 1000 + n, "number": n} for n in numbers], headers=link)

    def history(request: Request) -> Response:
        cursor = request.query_params.get("cursor")
        ts = ["1.1", "1.2"] if cursor is None else ["1.2", "1.3"]
        return JSONResponse({"ok": True, "messages": [{"ts": t, "text": t} for t in ts],
                             "response_metadata": {"next_cursor": "" if cursor else "n2"}})

    home.route("/repos/o/r/issues", issues)
    home.route("/conversations.history", history)
    gh = ik.connect("github", token="ghp_" + "x" * 36, base_url=home.url, rate_limit=False)
    slack = ik.connect("slack", token="xoxb-" + "1" * 30, base_url=home.url, rate_limit=False)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        got = gh.list("issues", repo="o/r").to_frame()
        messages = slack.history("C1").to_frame()
    assert list(got["number"]) == [1, 2, 3, 4, 5]
    assert list(messages["ts"]) == ["1.1", "1.2", "1.3"]
    assert [w.category for w in warned].count(ik.DuplicateRecordWarning) == 2


def test_records_without_the_key_and_listings_without_one_are_kept_as_sent(home) -> None:
    home.route("/items", overlapping_pages)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ik.DuplicateRecordWarning)
        result = page_numbers(home).list("/items")  # no primary key declared
        assert len(result.to_frame()) == 58 and result.stats.duplicates == 0
        home.route("/keyless", lambda r: JSONResponse({"data": [{"n": 1}, {"n": 1}],
                                                        "total_pages": 1}))
        assert len(page_numbers(home, primary_key="id").list("/keyless").to_frame()) == 2


def test_a_composite_key_keeps_records_that_differ_in_one_part(home) -> None:
    rows = [{"channel": "C1", "ts": "1.1"}, {"channel": "C2", "ts": "1.1"},
            {"channel": "C1", "ts": "1.1"}]
    home.route("/rows", lambda r: JSONResponse({"data": rows, "total_pages": 1}))
    with pytest.warns(ik.DuplicateRecordWarning, match="channel='C1', ts='1.1'"):
        result = page_numbers(home, primary_key="channel,ts").list("/rows")
        assert len(result.to_frame()) == 2
    assert result.stats.duplicates == 1


def test_gathered_listings_keep_their_own_keys(home) -> None:
    """Two channels' histories may hold the same ``ts``: gather keeps both, and drops only
    what repeats inside one channel."""
    def history(request: Request) -> Response:
        channel = request.query_params["channel"]
        cursor = request.query_params.get("cursor")
        ts = ["1.1", "1.2"] if cursor is None else ["1.2", "1.3"]
        return JSONResponse({"ok": True, "messages": [{"ts": t, "channel": channel}
                                                      for t in ts],
                             "response_metadata": {"next_cursor": "" if cursor else "n2"}})

    home.route("/conversations.history", history)
    slack = ik.connect("slack", token="xoxb-" + "1" * 30, base_url=home.url, rate_limit=False)
    both = ik.gather(slack.history("C1"), slack.history("C2"), parallel=2)
    with pytest.warns(ik.DuplicateRecordWarning):
        frame = both.to_frame()
    assert list(zip(frame["channel"], frame["ts"], strict=True)) == [
        ("C1", "1.1"), ("C1", "1.2"), ("C1", "1.3"), ("C2", "1.1"), ("C2", "1.2"),
        ("C2", "1.3")]
    assert both.stats.duplicates == 2
