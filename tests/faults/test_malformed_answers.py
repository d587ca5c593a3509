"""A 200 that is not what was asked for: a proxy's or captive portal's HTML page, a garbled
JSON body. It is retried as transient a bounded number of times (never a write that could be
applied twice), never cached, and then reported as a clear error with a masked excerpt. Records
that are not objects are a clear error too, not a raw exception in the Arrow conversion.

The service is ``home``, a scripted server on 127.0.0.1.
"""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik

KEY = "sk_test_PortalEcho7Hq2Lw9Zr4Xn1"
PORTAL = f"<html><body>Sign in to the guest network (session for {KEY})</body></html>"


class Script:
    """Answers ``bad`` for the first ``times`` requests, then ``good``."""

    def __init__(self, bad: Response, good: Response | None = None, times: int = 10**6):
        self.bad, self.good, self.times, self.calls = bad, good, times, 0

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        return self.bad if self.calls <= self.times else self.good  # type: ignore[return-value]


def html() -> Response:
    return Response(PORTAL, media_type="text/html")


def rest(home, sleeps, **options) -> ik.Connection:
    options.setdefault("retry", {"maxAttempts": 4, "initialDelay": 0.01})
    return ik.rest(home.url, auth=ik.auth.Bearer(KEY), sleep=sleeps, rate_limit=False,
                   **options)


def test_an_html_page_with_status_200_is_retried_then_reported_masked(home, sleeps):
    script = Script(html())
    home.route("/v1/items", script)
    with pytest.raises(ik.ServerError) as caught:
        rest(home, sleeps, cache=False).request("GET", "/v1/items")
    err = caught.value
    assert script.calls == 4 and len(sleeps) == 3  # bounded by the retry budget, with backoff
    assert "not valid JSON (an HTML page, still after 3 retries" in str(err)
    assert "Sign in to the guest network" in str(err)  # the excerpt says what came
    assert KEY not in str(err) and KEY not in (err.body or "") and KEY not in repr(err)
    assert "proxy" in err.hint


def test_a_listing_recovers_when_the_portal_goes_away(home, sleeps):
    good = JSONResponse({"data": [{"id": 1}, {"id": 2}], "has_more": False})
    home.route("/v1/items", Script(html(), good, times=2))
    result = rest(home, sleeps, cache=False).list("/v1/items")
    assert result.to_frame()["id"].tolist() == [1, 2]
    assert result.stats.retries == 2


def test_invalid_json_under_a_json_content_type_is_retried(home, sleeps):
    cut = Response('{"data": [{"id": 1}, {"id"', media_type="application/json")
    script = Script(cut, JSONResponse({"data": [{"id": 1}]}), times=1)
    home.route("/v1/items", script)
    assert rest(home, sleeps, cache=False).request("GET", "/v1/items") == {"data": [{"id": 1}]}
    assert script.calls == 2


def test_a_write_answered_by_a_portal_is_not_sent_again(home, sleeps):
    script = Script(html())
    home.route("/v1/orders", script)
    with pytest.raises(ik.ServerError, match="HTML page"):
        rest(home, sleeps, cache=False).request("POST", "/v1/orders", json={"qty": 1})
    assert script.calls == 1  # a POST without an idempotency key may have been applied
    script.calls = 0
    stripe_like = ik.rest(home.url, auth=ik.auth.Bearer(KEY), sleep=sleeps, rate_limit=False,
                          idempotency_header="Idempotency-Key", cache=False,
                          retry={"maxAttempts": 3, "initialDelay": 0.01})
    with pytest.raises(ik.ServerError):
        stripe_like.request("POST", "/v1/orders", json={"qty": 1})
    assert script.calls == 3  # replaying it is safe: the key makes it one write
    keys = {s.headers["idempotency-key"] for s in home.seen[-3:]}
    assert len(keys) == 1


def test_an_html_page_is_never_cached(home, sleeps):
    portal = Response("<html>Sign in to the guest network</html>", media_type="text/html",
                      headers={"Cache-Control": "public, max-age=3600"})
    script = Script(portal, JSONResponse({"ok": True}, headers={
        "Cache-Control": "public, max-age=3600"}), times=2)
    home.route("/v1/status", script)
    conn = rest(home, sleeps, retry={"maxAttempts": 2, "initialDelay": 0.01},
                cache={"defaultTtl": "1h"})
    with pytest.raises(ik.ServerError):
        conn.request("GET", "/v1/status")
    assert conn.request("GET", "/v1/status") == {"ok": True}  # the page was not stored
    assert conn.request("GET", "/v1/status") == {"ok": True}  # the good answer was
    assert script.calls == 3


def test_a_body_of_another_type_that_was_asked_for_is_not_retried(home, sleeps):
    script = Script(Response("id,name\n1,a\n", media_type="text/csv"))
    home.route("/v1/export", script)
    with pytest.raises(ik.ServerError, match="malformed body"):
        rest(home, sleeps, cache=False).request("GET", "/v1/export")
    assert script.calls == 1  # a CSV is not a portal: no point asking again


@pytest.mark.parametrize("records", [[1, 2, 3], [["a", 1]], ["ch_1", "ch_2"],
                                     [{"id": 1}, None]])
def test_records_that_are_not_objects_are_a_clear_error(home, sleeps, records):
    home.route("/v1/items", lambda request: JSONResponse({"data": records}))
    result = rest(home, sleeps, cache=False).list("/v1/items", paginator="single_page")
    with pytest.raises(ik.ServerError, match="is not an object") as caught:
        result.to_frame()
    assert "records_path" in caught.value.hint
