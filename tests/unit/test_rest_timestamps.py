"""``ik.rest`` is told which fields are times (``timestamps=``: fields, with their unit or
format) and finds ISO 8601 date-times by itself, only where a whole column consistently holds
them. Pages come over real HTTP from ``home`` (tests/hostile.py).
"""

from __future__ import annotations

import datetime as dt
import warnings

import pyarrow as pa
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik

UTC_MS = pa.timestamp("ms", tz="UTC")
JULY_1 = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)


def read(home, pages: list[list[dict]], **options) -> tuple[pa.Table, list[str]]:
    def page(request: Request) -> JSONResponse:
        number = int(request.query_params.get("page", 0))
        nxt = str(number + 1) if number + 1 < len(pages) else None
        return JSONResponse({"data": pages[number], "next": nxt})

    home.route("/v1/rows", page)
    conn = ik.rest(home.url, rate_limit=False, cache=False, records_path="data",
                   paginator={"type": "cursor", "cursor_path": "next", "cursor_param": "page"},
                   **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = conn.list("/v1/rows").to_arrow(progress=False)
    return table, [str(w.message) for w in caught if issubclass(w.category, ik.FieldTypeWarning)]


def times(table: pa.Table, name: str) -> list[dt.datetime | None]:
    return [None if v is None else v.astimezone(dt.UTC) for v in table.column(name).to_pylist()]


def test_fields_named_as_times_are_read_in_their_unit(home) -> None:
    epoch = int(JULY_1.timestamp())
    table, warned = read(home, [[{"paid": epoch, "seen": epoch * 1000, "shipped": str(epoch)}]],
                         timestamps={"paid": "s", "seen": "ms", "shipped": "s"})
    assert warned == []
    for name in ("paid", "shipped"):
        assert table.schema.field(name).type == UTC_MS and times(table, name) == [JULY_1]
    assert table.schema.field("seen").type == UTC_MS and times(table, "seen") == [JULY_1]


def test_a_list_of_fields_reads_epoch_seconds_and_iso_text(home) -> None:
    table, _ = read(home, [[{"a_at": int(JULY_1.timestamp()), "b_at": "2025-07-01T14:00+02:00"}]],
                    timestamps=["*_at"])
    assert times(table, "a_at") == [JULY_1] and times(table, "b_at") == [JULY_1]


def test_a_field_in_a_format_of_its_own(home) -> None:
    table, warned = read(home, [[{"day": "01/07/2025 12:00"}, {"day": None}],
                                [{"day": "02/07/2025 08:30"}]],
                         timestamps={"day": "%d/%m/%Y %H:%M"})
    assert warned == []
    assert times(table, "day") == [JULY_1, None, dt.datetime(2025, 7, 2, 8, 30, tzinfo=dt.UTC)]


def test_a_value_that_is_no_time_in_the_format_keeps_the_column_text_and_says_so(home) -> None:
    table, warned = read(home, [[{"day": "01/07/2025 12:00"}, {"day": "soon"}]],
                         timestamps={"day": "%d/%m/%Y %H:%M"})
    assert table.schema.field("day").type == pa.string()
    assert len(warned) == 1 and "'day'" in warned[0] and "soon" in warned[0]


def test_consistent_iso_date_times_are_found_without_being_named(home) -> None:
    table, _ = read(home, [
        [{"id": 1, "created": "2025-07-01T12:00:00Z", "local": "2025-07-01 12:00:00"}],
        [{"id": 2, "created": "2025-07-01T14:00:00.250+02:00", "local": "2025-07-01T12:00"}],
    ])
    assert table.schema.field("created").type == UTC_MS
    assert times(table, "created") == [JULY_1, JULY_1.replace(microsecond=250_000)]
    assert times(table, "local") == [JULY_1, JULY_1]  # no zone on any: read as UTC


@pytest.mark.parametrize("values", [
    ["2025-07-01T12:00:00Z", "2025-07-02", "tomorrow"],       # one row looks like a time
    ["2025-07-01T12:00:00Z", None, None],                     # a single value, among nulls
    ["2025-07-01", "2025-07-02"],                             # dates, not date-times
    ["2025-07-01T12:00:00Z", "2025-07-01T12:00:00"],          # zoned and naive mixed
    ["2025-13-01T12:00:00Z", "2025-07-01T12:00:00Z"],         # no 13th month
    ["20250701T120000Z", "20250701T130000Z"],                 # the basic format: ids, often
])
def test_text_that_only_looks_like_time_stays_text(home, values) -> None:
    table, warned = read(home, [[{"v": v}] for v in values])
    assert table.schema.field("v").type == pa.string() and warned == []


def test_a_page_of_other_text_keeps_the_whole_column_text(home) -> None:
    table, _ = read(home, [[{"v": "2025-07-01T12:00:00Z"}, {"v": "2025-07-02T12:00:00Z"}],
                           [{"v": "not yet"}]])
    assert table.column("v").to_pylist() == ["2025-07-01T12:00:00Z", "2025-07-02T12:00:00Z",
                                             "not yet"]


def test_detection_can_be_turned_off_and_a_declared_type_wins(home) -> None:
    rows = [[{"a": "2025-07-01T12:00:00Z", "b": "2025-07-01T12:00:00Z"},
             {"a": "2025-07-02T12:00:00Z", "b": "2025-07-02T12:00:00Z"}]]
    off, _ = read(home, rows, timestamps=False)
    assert off.schema.types == [pa.string(), pa.string()]
    declared, _ = read(home, rows, schema={"b": "string"})
    assert declared.schema.field("a").type == UTC_MS
    assert declared.schema.field("b").type == pa.string()


@pytest.mark.parametrize("timestamps, words", [
    ({"paid": "hours"}, ["'paid'", "hours", "strptime"]),
    ({"unit": "h", "fields": ["x"]}, ["unit", "'h'"]),
    (42, ["list of fields"]),
])
def test_a_reading_that_is_no_unit_or_format_is_refused(home, timestamps, words) -> None:
    with pytest.raises(ik.ConfigError) as caught:
        ik.rest(home.url, timestamps=timestamps)
    assert all(w in str(caught.value) for w in words)
