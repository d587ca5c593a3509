"""Empty results keep their shape: a declared schema (``ik.rest(schema=)``, ``list(schema=)``,
a definition's ``schema:``) gives an empty listing's frame its columns and types, and types
every other frame the same way. Pages come over real HTTP from ``home`` (tests/hostile.py).
"""

from __future__ import annotations

import textwrap
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik

SCHEMA = {"id": "string", "amount": "integer", "price": "number", "paid": "boolean",
          "created": "timestamp", "due": "date", "tags": "list",
          "customer": {"name": "string", "vip": "bool"}}


def serve(home, pages: list[list[dict]], path: str = "/v1/rows") -> None:
    def page(request: Request) -> JSONResponse:
        number = int(request.query_params.get("page", 0))
        nxt = str(number + 1) if number + 1 < len(pages) else None
        return JSONResponse({"data": pages[number] if pages else [], "next": nxt})

    home.route(path, page)


def connect(home, **options) -> ik.Connection:
    options.setdefault("schema", SCHEMA)
    return ik.rest(home.url, rate_limit=False, cache=False, records_path="data",
                   paginator={"type": "cursor", "cursor_path": "next", "cursor_param": "page"},
                   timestamps={"created": "s"}, **options)


def quietly(result: ik.Result) -> tuple[pa.Table, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = result.to_arrow(progress=False)
    return table, [str(w.message) for w in caught if issubclass(w.category, ik.FieldTypeWarning)]


EXPECTED = {"id": pa.string(), "amount": pa.int64(), "price": pa.float64(),
            "paid": pa.bool_(), "created": pa.timestamp("ms", tz="UTC"), "due": pa.date32(),
            "tags": pa.list_(pa.null()), "customer.name": pa.string(),
            "customer.vip": pa.bool_()}


def test_an_empty_listing_has_the_declared_columns_with_their_types(home) -> None:
    serve(home, [[]])
    result = connect(home).list("/v1/rows")
    table = result.to_arrow()
    assert table.num_rows == 0
    assert dict(zip(table.column_names, table.schema.types, strict=True)) == EXPECTED
    frame = result.to_frame()
    assert frame["amount"].sum() == 0 and str(frame["amount"].dtype) == "int64"
    assert str(frame["created"].dtype) == "datetime64[ms, UTC]"
    assert str(frame["due"].dtype).startswith("datetime64")
    assert frame[frame["price"] > 10].empty  # arithmetic and filters work on nothing
    head = connect(home).list("/v1/rows").head(3)
    assert list(head.columns) == list(EXPECTED)


def test_the_empty_frame_round_trips_through_parquet(home, tmp_path) -> None:
    serve(home, [[]])
    path = connect(home).list("/v1/rows").to_parquet(tmp_path / "empty.parquet")
    back = pq.read_table(path)
    assert back.num_rows == 0 and back.schema.types == list(EXPECTED.values())


def test_declared_types_hold_whatever_the_pages_carried(home) -> None:
    serve(home, [
        [{"id": 7, "amount": None, "price": "19.99", "paid": "true", "created": 1751371200,
          "customer": {"name": "Ada", "vip": None}, "extra": "kept"}],
        [{"id": "8", "amount": None, "price": "0.10", "paid": False, "created": None,
          "customer": {"name": "Bo", "vip": True}}],
    ])
    table, warned = quietly(connect(home).list("/v1/rows"))
    assert warned == []
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert {k: types[k] for k in EXPECTED} == EXPECTED  # declared, whatever came
    assert table.column("id").to_pylist() == ["7", "8"]
    assert table.column("amount").to_pylist() == [None, None]  # null all along: int64
    assert table.column("price").to_pylist() == [19.99, 0.10]
    assert table.column("paid").to_pylist() == [True, False]
    assert table.column("extra").to_pylist() == ["kept", None]  # undeclared: as it came
    # fields no record carried are columns of nulls, after those the records had
    assert table.column_names == ["id", "amount", "price", "paid", "created", "customer.name",
                                  "customer.vip", "extra", "due", "tags"]
    assert table.column("due").null_count == 2 and table.column("tags").null_count == 2


def test_money_sent_as_text_sums_to_the_cent(home) -> None:
    amounts = ["0.10", "0.20", "19.99", "1234567.89", "0.01", "3.30"]
    serve(home, [[{"id": str(i), "price": a}] for i, a in enumerate(amounts)])
    frame = connect(home).list("/v1/rows").to_frame()
    assert frame["price"].dtype == "float64"
    assert round(frame["price"].sum(), 2) == 1234591.49
    assert [f"{v:.2f}" for v in frame["price"]] == amounts


def test_an_object_carried_in_another_shape_is_not_declared_twice(home) -> None:
    schema = {"id": "string", "customer": "string", "card": {"brand": "string"}}
    serve(home, [[{"id": "a", "customer": {"id": "cus_1", "email": "x@example.com"},
                   "card": None}]])
    table, warned = quietly(connect(home, schema=schema).list("/v1/rows"))
    assert warned == []
    # an expanded id stays expanded; an object the records say is null stays one column
    assert table.column_names == ["id", "customer.id", "customer.email", "card"]


def test_a_value_that_is_not_the_declared_type_is_kept_and_named(home) -> None:
    serve(home, [[{"id": "a", "amount": "12"}, {"id": "b", "amount": "twelve"}]])
    table, warned = quietly(connect(home).list("/v1/rows"))
    assert len(warned) == 1 and "'amount'" in warned[0] and "integer" in warned[0]
    assert table.column("amount").to_pylist() == ["12", "twelve"]


def test_a_listing_declares_its_own_fields_over_the_connections(home) -> None:
    serve(home, [[]], path="/v1/other")
    result = connect(home).list("/v1/other", schema={"amount": "number", "note": "string"})
    frame = result.to_frame()
    assert frame["amount"].dtype == "float64" and "note" in frame and "id" in frame
    assert "schema" not in home.seen[-1].query  # integkit's option, not the API's


def test_a_parallel_listing_with_nothing_keeps_its_columns(home) -> None:
    home.route("/v1/offset", lambda r: JSONResponse({"data": [], "total": 0}))
    conn = ik.rest(home.url, rate_limit=False, cache=False, records_path="data",
                   schema=SCHEMA, paginator={"type": "offset", "limit": 10,
                                             "total_path": "total"})
    frame = conn.list("/v1/offset", parallel=3).to_frame()
    assert frame.empty and list(frame.columns) == list(EXPECTED)
    assert frame["amount"].dtype == "int64"


def test_gathered_empty_listings_keep_every_listings_columns(home) -> None:
    serve(home, [[]], path="/v1/a")
    serve(home, [[]], path="/v1/b")
    conn = connect(home, schema={"id": "string"})
    gathered = ik.gather(conn.list("/v1/a", schema={"a": "integer"}),
                         conn.list("/v1/b", schema={"b": "number"}))
    frame = gathered.to_frame()
    assert frame.empty and list(frame.columns) == ["id", "a", "b"]
    assert (frame["a"].dtype, frame["b"].dtype) == ("int64", "float64")


def test_a_cached_empty_listing_reads_back_with_its_columns(home) -> None:
    serve(home, [[]], path="/v1/cached-empty-shape")
    first = connect(home).list("/v1/cached-empty-shape", cache="1h")
    assert list(first.to_frame().columns) == list(EXPECTED)
    calls = len(home.seen)
    again = connect(home).list("/v1/cached-empty-shape", cache="1h")
    frame = again.to_frame()
    assert len(home.seen) == calls and again.stats.cache_hits == 1  # from Parquet, no call
    assert list(frame.columns) == list(EXPECTED) and frame["amount"].dtype == "int64"


def test_the_result_cache_keeps_apart_what_another_schema_or_paging_would_give(home) -> None:
    serve(home, [[{"id": "a", "amount": "7"}], [{"id": "b", "amount": "8"}]],
          path="/v1/cached-by-shape")
    texts = connect(home, schema={"amount": "string"}).list("/v1/cached-by-shape", cache="1h")
    assert list(texts.to_frame()["amount"]) == ["7", "8"]
    numbers = connect(home, schema={"amount": "integer"}).list("/v1/cached-by-shape",
                                                               cache="1h")
    assert list(numbers.to_frame()["amount"]) == [7, 8] and numbers.stats.cache_hits == 0
    one_page = connect(home, schema={"amount": "integer"})
    first = one_page.list("/v1/cached-by-shape", cache="1h", paginator="single_page").to_frame()
    assert list(first["id"]) == ["a"]
    again = connect(home, schema={"amount": "integer"}).list("/v1/cached-by-shape", cache="1h")
    assert list(again.to_frame()["id"]) == ["a", "b"] and again.stats.cache_hits == 1


@pytest.mark.parametrize("schema, words", [
    ({"amount": "money"}, ["'amount'", "money", "integer"]),
    ({"a": {"b": 5}}, ["'a.b'", "5"]),
    (["id"], ["mapping"]),
])
def test_a_schema_that_names_no_type_is_refused_before_any_call(home, schema, words) -> None:
    with pytest.raises(ik.ConfigError) as caught:
        ik.rest(home.url, schema=schema)
    assert all(w in str(caught.value) for w in words)
    assert home.seen == []


def test_a_definition_file_declares_each_resources_fields(home, tmp_path) -> None:
    serve(home, [[]], path="/v1/orders")
    path = tmp_path / "shop.yaml"
    path.write_text(textwrap.dedent(f"""\
        service: myshop
        base_url: {home.url}
        records_path: data
        paginator: {{type: cursor, cursor_path: next, cursor_param: page}}
        x-shapes:
          money: &money {{amount: number, currency: string}}
        resources:
          orders:
            path: /v1/orders
            schema: {{id: integer, total: *money, lines: [{{sku: string, price: number}}],
                      placed_at: timestamp}}
        """))
    conn = ik.connect(str(path), rate_limit=False, cache=False)
    table = conn.list("orders").to_arrow()
    assert table.schema == pa.schema([
        ("id", pa.int64()), ("total.amount", pa.float64()), ("total.currency", pa.string()),
        ("lines", pa.list_(pa.struct([("sku", pa.string()), ("price", pa.float64())]))),
        ("placed_at", pa.timestamp("ms", tz="UTC"))])
    broken = tmp_path / "broken.yaml"  # (definitions are read once per path)
    broken.write_text(path.read_text().replace("placed_at: timestamp", "placed_at: when"))
    with pytest.raises(ik.ConfigError) as caught:
        ik.connect(str(broken))
    assert str(broken) in str(caught.value) and "'placed_at'" in str(caught.value)


def test_items_of_a_list_take_their_declared_types(home) -> None:
    schema = {"id": "integer", "lines": [{"price": "number", "qty": "integer"}]}
    serve(home, [[{"id": 1, "lines": [{"price": "9.50", "qty": 2, "sku": "A"}]},
                  {"id": 2, "lines": []}]])
    frame = connect(home, schema=schema).list("/v1/rows").to_frame()
    assert frame["lines"][0] == [{"price": 9.5, "qty": 2, "sku": "A"}]
    exploded = pd.json_normalize(frame.explode("lines")["lines"].dropna().tolist())
    assert exploded["price"].dtype == "float64"
