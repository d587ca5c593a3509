"""A field whose type changes mid-listing (``"250"`` on page 2 after ``100`` on page 1) keeps the
type it started with when its values can be cast to it without loss; otherwise the column is
text and a FieldTypeWarning names the field. Declared timestamp fields stay timestamps whatever
mix of epoch numbers and ISO strings the pages send.

Pages come over real HTTP from ``home`` (a scripted server on 127.0.0.1), one page per request.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pyarrow as pa
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik


def serve(home, pages: list[list[dict]]) -> ik.Result:
    def page(request: Request) -> JSONResponse:
        number = int(request.query_params.get("page", 0))
        nxt = str(number + 1) if number + 1 < len(pages) else None
        return JSONResponse({"data": pages[number], "next": nxt})

    home.route("/v1/rows", page)
    conn = ik.rest(home.url, rate_limit=False, cache=False,
                   timestamps={"fields": ["created", "*.at"], "unit": "s"},
                   paginator={"type": "cursor", "cursor_path": "next", "cursor_param": "page"})
    return conn.list("/v1/rows")


def quietly(result: ik.Result) -> tuple[pa.Table, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = result.to_arrow()
    return table, [w for w in caught if issubclass(w.category, ik.FieldTypeWarning)]


def test_values_that_can_be_cast_keep_the_fields_first_type(home):
    result = serve(home, [
        [{"id": 1, "amount": 100, "paid": True, "ref": "A-1", "meta": {"n": 1}}],
        [{"id": 2, "amount": "250", "paid": "false", "ref": 7, "meta": {"n": "2"}}],
        [{"id": 3, "amount": 300.0, "paid": False, "ref": "C-3", "meta": {"n": 3}}],
    ])
    table, warned = quietly(result)
    assert warned == []
    assert table.schema.field("amount").type == pa.int64()
    assert table.column("amount").to_pylist() == [100, 250, 300]
    assert table.schema.field("paid").type == pa.bool_()
    assert table.column("paid").to_pylist() == [True, False, False]
    assert table.column("ref").to_pylist() == ["A-1", "7", "C-3"]  # text stays text
    assert table.column("meta.n").to_pylist() == [1, 2, 3]


def test_a_field_that_cannot_keep_its_type_becomes_text_and_is_named(home):
    result = serve(home, [
        [{"id": 1, "zip": 12345, "score": 1}],
        [{"id": 2, "zip": "K1A 0B1", "score": 2.5}],
    ])
    table, warned = quietly(result)
    assert [str(w.message).split("'")[1] for w in warned] == ["zip"]
    assert "zip" in str(warned[0].message) and "int64" in str(warned[0].message)
    assert table.column("zip").to_pylist() == ["12345", "K1A 0B1"]
    assert table.column("score").to_pylist() == [1.0, 2.5]  # widened, no value lost


@pytest.mark.parametrize("value", [True, 1.5, "abc", [1, 2]])
def test_lossy_casts_are_refused(home, value):
    result = serve(home, [[{"n": 1}], [{"n": value}]])
    table, warned = quietly(result)
    if isinstance(value, float):  # an int column meeting 1.5 widens to float: no loss
        assert table.column("n").to_pylist() == [1.0, 1.5] and warned == []
        return
    assert len(warned) == 1 and "'n'" in str(warned[0].message)
    assert table.schema.field("n").type == pa.string()


def test_timestamps_keep_theirs_whatever_form_each_page_sends(home):
    moment = 1_700_000_000
    iso = dt.datetime.fromtimestamp(moment + 60, tz=dt.UTC).isoformat()
    result = serve(home, [
        [{"id": 1, "created": moment, "event": {"at": str(moment)}}],
        [{"id": 2, "created": iso, "event": {"at": moment + 120}}],
        [{"id": 3, "created": str(moment + 180), "event": {"at": None}}],
    ])
    table, warned = quietly(result)
    assert warned == []
    for name in ("created", "event.at"):
        assert pa.types.is_timestamp(table.schema.field(name).type), name
    created = [t.timestamp() for t in table.column("created").to_pylist()]
    assert created == [moment, moment + 60, moment + 180]
    assert table.column("event.at").to_pylist()[2] is None
    frame = result.to_frame()
    assert str(frame["created"].dt.tz) == "UTC"


def test_a_timestamp_field_with_no_time_in_it_is_named(home):
    result = serve(home, [[{"created": 1_700_000_000}], [{"created": "soon"}]])
    table, warned = quietly(result)
    assert any("'created'" in str(w.message) for w in warned)
    assert table.column("created").to_pylist()[1] == "soon"
