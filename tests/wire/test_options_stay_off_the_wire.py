"""integkit's own options (``records_path=``, ``primary_key=``, ``paginator=``, ``cache=``...)
never travel as query parameters: the recording server sees only the API's own. Options that
belong to a listing are honoured by ``list()``; a connection's option given to ``list()`` or
``retrieve()`` is a ConfigError before anything is sent."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik
from integkit.sandbox import SandboxServer, create_emulator

from ._recorder import Recorder

CURSOR = {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "cursor"}


def _orders(request: Request) -> JSONResponse:
    """Two pages of orders under ``result.rows`` (not the connection's ``items``)."""
    second = request.query_params.get("cursor") == "page-2"
    rows = [{"order_id": n, "status": "open"} for n in ((3, 4, 4) if second else (1, 2))]
    return JSONResponse({"result": {"rows": rows},
                         "meta": {"next": None if second else "page-2"}})


def _one(request: Request) -> JSONResponse:
    return JSONResponse({"order_id": 7, "status": "open"})


def _rest(home: Any, **options: Any) -> ik.Connection:
    home.route("/orders", _orders)
    home.route("/orders/7", _one)
    return ik.rest(home.url, paginator=CURSOR, records_path="items", cache=False,
                   rate_limit=False, account=uuid.uuid4().hex[:10], **options)


def _queries(home: Any) -> list[dict[str, list[str]]]:
    return [parse_qs(seen.query, keep_blank_values=True) for seen in home.seen]


def test_listing_options_are_honoured_and_never_sent(home: Any, tmp_path: Path) -> None:
    api = _rest(home)
    result = api.list("/orders", status="open", records_path="result.rows",
                      primary_key="order_id", paginator=CURSOR, max_records=50,
                      max_empty_pages=3, deadline="1m", priority="bulk", prefetch=False,
                      parallel=1, checkpoint=str(tmp_path / "ck"), cache=False)
    with pytest.warns(ik.DuplicateRecordWarning):
        frame = result.to_frame()
    assert list(frame["order_id"]) == [1, 2, 3, 4]  # records_path and primary_key applied
    assert result.stats.duplicates == 1
    assert _queries(home) == [{"status": ["open"]}, {"status": ["open"], "cursor": ["page-2"]}]


def test_the_connections_records_path_still_applies_without_an_override(home: Any) -> None:
    api = ik.rest(home.url, paginator=CURSOR, records_path="result.rows", cache=False,
                  rate_limit=False, account=uuid.uuid4().hex[:10])
    home.route("/orders", _orders)
    assert len(api.list("/orders").to_frame()) == 5
    assert _queries(home) == [{}, {"cursor": ["page-2"]}]


@pytest.mark.parametrize("option", ["headers", "timestamps", "rate_limit", "base_url",
                                    "allowed_origins", "idempotency_header", "quotas",
                                    "breaker", "key_prefix"])
def test_a_connections_option_given_to_list_is_refused_before_any_call(
        home: Any, option: str) -> None:
    api = _rest(home)
    with pytest.raises(ik.ConfigError, match=rf"{option}= is integkit's.*ik\.rest") as caught:
        api.list("/orders", status="open", **{option: {"x": 1}})
    assert "Nothing was sent" in str(caught.value)
    assert home.seen == []


def test_retrieve_and_request_send_only_the_apis_parameters(home: Any) -> None:
    api = _rest(home)
    assert api.retrieve("/orders", 7, fields="status")["order_id"] == 7
    assert api.request("GET", "/orders/7", params={"fields": "status"}, endpoint="orders.get",
                       priority="bulk", headers={"X-Trace": "t-1"})["status"] == "open"
    assert _queries(home) == [{"fields": ["status"]}, {"fields": ["status"]}]
    for option in ("records_path", "primary_key", "max_records", "headers"):
        with pytest.raises(ik.ConfigError, match=rf"{option}= is integkit's"):
            api.retrieve("/orders", 7, **{option: "x"})
    assert len(home.seen) == 2


def test_shipped_connectors_keep_them_off_the_wire_too() -> None:
    emulator = create_emulator("stripe", records=30)
    recorder = Recorder(emulator)
    with SandboxServer(recorder) as server:
        stripe = ik.connect("stripe", base_url=server.url, api_key=emulator.api_key,
                            cache=False, rate_limit=False)
        frame = stripe.list("charges", limit=10, primary_key="id", max_records=25,
                            deadline="2m", records_path="data").to_frame()
        assert len(frame) == 25
        listed = recorder.to("/v1/charges")
        assert len(listed) == 3
        assert {name for r in listed for name in r.params} <= {"limit", "starting_after"}
        with pytest.raises(ik.ConfigError, match="records_path= is integkit's"):
            stripe.retrieve("charges", frame["id"][0], records_path="data")
        assert len(recorder.received) == 3
        stripe.close()
