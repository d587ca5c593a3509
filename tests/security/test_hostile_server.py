"""The hostile test server itself: it records what it receives and answers as scripted."""

from __future__ import annotations

import httpx
from starlette.responses import JSONResponse


def test_two_origins_record_what_each_receives(home, elsewhere) -> None:
    assert home.origin != elsewhere.origin
    home.route("/x", lambda request: JSONResponse({"where": "home"}))
    assert httpx.get(home.url + "/x?a=1", headers={"Authorization": "Bearer s3cret"}).json() == {
        "where": "home"}
    assert httpx.get(elsewhere.url + "/y").status_code == 404
    assert [s.path for s in home.seen] == ["/x"] and home.seen[0].carries("s3cret")
    assert [s.path for s in elsewhere.seen] == ["/y"] and not elsewhere.seen[0].carries("s3cret")
