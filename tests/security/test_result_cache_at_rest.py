"""A server that echoes the caller's key into its records does not put the key at rest: the
Result cache's Parquet file holds it masked, in plain columns, structs and lists alike."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik
from integkit._config import get_settings

TOKEN = "tok_live_echoed_back_by_a_careless_server_0042"


def echo(request: Request) -> JSONResponse:
    seen = request.headers["authorization"]
    return JSONResponse({"data": [
        {"id": 1, "note": f"called with {seen}", "meta": {"auth": seen}, "tags": [seen, "x"]},
        {"id": 2, "note": "nothing to hide", "meta": {"auth": None}, "tags": []},
    ]})


def test_an_echoed_key_is_masked_in_the_result_cache(home, tmp_path) -> None:
    home.route("/items", echo)
    results = Path(get_settings().data_dir, "results")
    before = set(results.glob("*.parquet"))
    api = ik.rest(home.url, auth=ik.auth.Bearer(TOKEN), records_path="data",
                  paginator="single_page")
    frame = api.list("/items", cache="1h").to_frame()
    assert TOKEN in frame.loc[0, "note"]  # the live frame is what the server sent

    written = set(results.glob("*.parquet")) - before
    assert len(written) == 1, "the listing was cached"
    for path in written:
        assert TOKEN.encode() not in path.read_bytes()
        table = pq.read_table(path).to_pylist()
        assert TOKEN not in repr(table) and "tok_" in repr(table)

    again = api.list("/items", cache="1h")
    cached = again.to_frame()
    assert again.stats.calls == 0 and TOKEN not in cached.to_string()
    assert cached.loc[1, "note"] == "nothing to hide"
