"""Offset and page-number listings with a known total are read in parallel slices over HTTP:
every record once, in the order one cursor gives, one extra call to learn the total."""

from __future__ import annotations

import integkit as ik

from .. import apps


def test_offset_listing_is_sliced_by_its_total(api) -> None:
    conn = ik.rest(api, records_path="items",
                   paginator={"type": "offset", "limit": 20, "total_path": "total"})
    result = conn.list("/offset/items", parallel=3)
    frame = result.to_frame()
    assert list(frame["n"]) == list(range(apps.TOTAL))
    assert result.partitions == 3  # 12 pages of 20, 4 pages a slice
    assert result.stats.calls == 12 + 1 and result.stats.pages == 12


def test_page_number_listing_is_sliced_by_its_page_count(api) -> None:
    conn = ik.rest(api, records_path="data", paginator={
        "type": "page_number", "limit": 25, "total_pages_path": "total_pages"})
    result = conn.list("/page/items", parallel=2)
    assert list(result.to_frame()["n"]) == list(range(apps.TOTAL))
    assert result.stats.calls == 10 + 1 and result.partitions == 2


def test_without_a_total_the_listing_is_read_by_one_cursor(api) -> None:
    conn = ik.rest(api, records_path="items", paginator={"type": "offset", "limit": 50})
    result = conn.list("/offset/items", parallel=3)
    assert len(result.to_frame()) == apps.TOTAL
    assert result.partitions == 1 and result.stats.calls == 5  # no call to learn a total
