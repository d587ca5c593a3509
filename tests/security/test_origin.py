"""Credentials go only to their own origin: next-page URLs, redirects and absolute URLs that
point anywhere else are refused before a byte is sent, with an error saying what to do.

``home`` stands for the service, ``elsewhere`` (another port on 127.0.0.1, so another origin)
for whoever a hostile or broken answer names. The connector-by-connector cases are in
test_origin_connectors.py.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik
from integkit._http import (
    Origin,
    Origins,
    PipelineOptions,
    RetryPolicy,
    build_transport,
    origin_of,
    refusal,
)

SECRET = "sk_test_0rigin5ecret4f9a2c7e"


def rest(home, **options):
    options.setdefault("auth", ik.auth.Bearer(SECRET))
    return ik.rest(home.url, rate_limit=False, cache=False, **options)


def redirect(status: int, location: str):
    return lambda request: Response(status_code=status, headers={"Location": location})


def untouched(elsewhere) -> None:
    """``elsewhere`` received nothing at all (so neither a credential nor a body)."""
    assert elsewhere.seen == [], [(s.method, s.path) for s in elsewhere.seen]


def refused(excinfo, elsewhere) -> str:
    """The error names the origin it refused and the documented way to allow one."""
    text = str(excinfo.value)
    assert elsewhere.origin in text and "allowed_origins" in text, text
    assert SECRET not in text and SECRET not in repr(excinfo.value)
    return text


# -- the decision, as a pure function --------------------------------------------------------

def test_an_origin_is_scheme_host_and_port_with_default_ports_normalised() -> None:
    assert origin_of("https://API.Example.com:443/v1?x=1") == Origin("https", "api.example.com",
                                                                      443)
    assert origin_of("http://api.example.com") == origin_of("http://api.example.com:80/")
    assert origin_of("https://api.example.com:8443") != origin_of("https://api.example.com")
    assert origin_of("https://api.example.com") != origin_of("http://api.example.com")
    assert origin_of("https://bücher.example") == origin_of("https://xn--bcher-kva.example")
    assert str(origin_of("https://api.example.com:443/x")) == "https://api.example.com"
    assert str(origin_of("http://[::1]:8080/")) == "http://[::1]:8080"
    for bad in ("ftp://api.example.com/x", "/relative/path", "mailto:someone@example.com"):
        with pytest.raises(ValueError):
            origin_of(bad)


def test_only_listed_origins_are_allowed() -> None:
    allowed = Origins(["https://api.example.com/v1", "https://backup.example.com"])
    assert refusal(allowed, "https://api.example.com/v2/other?page=2") is None
    assert refusal(allowed, "https://backup.example.com:443/v1") is None
    for foreign in ("https://api.example.com.evil.test/v1", "https://evil.test/v1",
                    "https://api.example.com:444/v1", "https://user@evil.test/v1"):
        reason = refusal(allowed, foreign)
        assert reason is not None and "not one of this connection's origins" in reason, foreign
        assert "https://api.example.com" in reason and "https://backup.example.com" in reason
    assert "not an http(s) URL" in (refusal(allowed, "ftp://api.example.com/x") or "")
    assert "names no host" in (refusal(allowed, "https:///v1") or "")
    assert refusal(allowed, "http://[::1") == "it is not a valid URL"


def test_https_never_downgrades_to_http_even_on_the_same_host() -> None:
    allowed = [origin_of("https://api.example.com")]
    reason = refusal(allowed, "http://api.example.com/v1/items")
    assert reason is not None and "never downgrades https to http" in reason
    # Even where plain http is listed too, a redirect from https to it is refused.
    both = [*allowed, origin_of("http://api.example.com")]
    assert refusal(both, "http://api.example.com/v1") is None
    reason = refusal(both, "http://api.example.com/v1", came_from="https://api.example.com/v1")
    assert reason is not None and "never downgrades https to http" in reason
    assert refusal(both, "https://api.example.com/v2",
                   came_from="http://api.example.com/v1") is None


def test_a_redirect_from_https_to_http_is_refused_before_it_is_followed() -> None:
    origins = Origins(["https://api.example.com", "http://api.example.com"])
    for status, method in ((302, "GET"), (307, "POST"), (308, "PUT")):
        request = httpx.Request(method, "https://api.example.com/v1/charges", content=b"a=1")
        answer = httpx.Response(status, headers={"Location": "http://api.example.com/v1/c"},
                                request=request)
        with pytest.raises(ik.OriginError, match="never downgrades https to http") as excinfo:
            origins.check_redirect(answer)
        assert excinfo.value.status == status
    relative = httpx.Response(302, headers={"Location": "/v1/elsewhere"}, request=httpx.Request(
        "GET", "https://api.example.com/v1/charges"))
    origins.check_redirect(relative)  # same origin: followed


def test_an_origin_the_service_hands_out_is_adopted_unless_it_steps_down_to_http() -> None:
    origins = Origins(["https://login.example.com"])
    origins.adopt("https://eu12.example.com", came_from="https://login.example.com/oauth/token")
    assert "https://eu12.example.com/data/v1/query" in origins
    with pytest.raises(ik.OriginError, match="never downgrades https to http"):
        origins.adopt("http://eu13.example.com", came_from="https://login.example.com/token")
    assert "http://eu13.example.com/x" not in origins
    for bad in ("javascript:alert(1)", "http://[::1", "/relative"):
        with pytest.raises(ik.OriginError):
            origins.adopt(bad, came_from="https://login.example.com/token")
    with pytest.raises(ik.ConfigError, match="http\\(s\\) URL"):
        Origins(["ftp://files.example.com"])


# -- next-page URLs --------------------------------------------------------------------------

URL_PAGINATORS = {
    "link header": ("link_header", lambda url: JSONResponse(
        [{"id": 1}], headers={"Link": f'<{url}/items?page=2>; rel="next"'})),
    "next url in the body": ({"type": "next_url", "next_url_path": "next"}, lambda url:
                             JSONResponse({"data": [{"id": 1}], "next": f"{url}/items?p=2"})),
    "scheme-relative next url": ({"type": "next_url", "next_url_path": "next"}, lambda url:
                                 JSONResponse({"data": [{"id": 1}],
                                               "next": "//" + url.split("://")[1] + "/p2"})),
    "detected link header": (None, lambda url: JSONResponse(
        [{"id": 1}], headers={"Link": f'<{url}/items?page=2>; rel="next"'})),
    "detected next url": (None, lambda url: JSONResponse(
        {"data": [{"id": 1}], "next": f"{url}/items?page=2"})),
    "detected nextRecordsUrl": (None, lambda url: JSONResponse(
        {"records": [{"id": 1}], "done": False, "nextRecordsUrl": f"{url}/query/01g-2"})),
    "detected links.next": (None, lambda url: JSONResponse(
        {"data": [{"id": 1}], "links": {"next": f"{url}/items?page=2"}})),
}


@pytest.mark.parametrize("style", sorted(URL_PAGINATORS))
def test_a_next_page_url_to_another_origin_is_refused(home, elsewhere, style) -> None:
    paginator, first_page = URL_PAGINATORS[style]
    elsewhere.route("*", lambda request: JSONResponse({"data": []}))
    home.route("/items", lambda request: first_page(elsewhere.url))
    api = rest(home, paginator=paginator)
    result = api.list("/items")
    with pytest.raises(ik.OriginError) as excinfo:
        result.to_frame()
    refused(excinfo, elsewhere)
    untouched(elsewhere)
    assert [s.path for s in home.seen] == ["/items"] and home.seen[0].carries(SECRET)


def test_a_next_page_url_to_an_allowed_origin_is_followed_and_signed(home, elsewhere) -> None:
    home.route("/items", lambda request: JSONResponse(
        [{"id": 1}], headers={"Link": f'<{elsewhere.url}/items?page=2>; rel="next"'}))
    elsewhere.route("/items", lambda request: JSONResponse([{"id": 2}]))
    api = rest(home, paginator="link_header", allowed_origins=[elsewhere.url + "/any/path"])
    assert [r["id"] for r in api.list("/items")] == [1, 2]
    assert [s.path for s in elsewhere.seen] == ["/items"] and elsewhere.seen[0].carries(SECRET)


def test_a_same_origin_next_page_url_is_followed_and_signed(home, elsewhere) -> None:
    home.route("/items", lambda request: JSONResponse(
        {"data": [{"id": 1}], "next": f"{home.url}/items2?page=2"}))
    home.route("/items2", lambda request: JSONResponse({"data": [{"id": 2}]}))
    api = rest(home, paginator={"type": "next_url", "next_url_path": "next"})
    assert [r["id"] for r in api.list("/items")] == [1, 2]
    assert [s.path for s in home.seen] == ["/items", "/items2"]
    assert all(s.carries(SECRET) for s in home.seen)


async def _second_page_carries(request: Request, evil: str) -> bool:
    return evil in request.query_params.values() or evil in (await request.body()).decode()


def value_cursor_page(evil: str, first: dict, last: dict):
    async def handler(request: Request) -> Response:
        return JSONResponse(last if await _second_page_carries(request, evil) else first)
    return handler


# Paginators whose cursor is a value sent back to the service: a URL in it stays a value.
VALUE_PAGINATORS = {
    "starting_after": ({"type": "starting_after", "limit": 1}, "data",
                       lambda evil: {"data": [{"id": evil}], "has_more": True},
                       {"data": [], "has_more": False}),
    "cursor": ({"type": "cursor", "cursor_path": "meta.next", "cursor_param": "cursor"}, "data",
               lambda evil: {"data": [{"id": 1}], "meta": {"next": evil}},
               {"data": [{"id": 2}], "meta": {"next": None}}),
    "page_token": ("page_token", "data",
                   lambda evil: {"data": [{"id": 1}], "nextPageToken": evil},
                   {"data": [{"id": 2}]}),
    "offset": ({"type": "offset", "limit": 1}, "data",
               lambda evil: {"data": [{"id": 1}], "next": evil}, {"data": []}),
    "page_number": ({"type": "page_number", "limit": 1}, "data",
                    lambda evil: {"data": [{"id": 1}], "next": evil}, {"data": []}),
}


@pytest.mark.parametrize("style", sorted(VALUE_PAGINATORS))
def test_a_url_given_as_a_cursor_value_never_leaves_the_origin(home, elsewhere, style) -> None:
    paginator, records_path, first, last = VALUE_PAGINATORS[style]
    evil = f"{elsewhere.url}/steal"
    if style in ("offset", "page_number"):  # these never read a cursor: only the count moves
        home.route("/items", lambda request: JSONResponse(
            first(evil) if request.query_params.get("offset") == "0"
            or request.query_params.get("page") == "1" else last))
    else:
        home.route("/items", value_cursor_page(evil, first(evil), last))
    api = rest(home, paginator=paginator, records_path=records_path)
    records = list(api.list("/items"))
    assert records and len(home.seen) == 2 and all(s.carries(SECRET) for s in home.seen)
    untouched(elsewhere)


def test_a_url_given_as_a_graphql_end_cursor_stays_a_variable(home, elsewhere) -> None:
    evil = f"{elsewhere.url}/steal"
    page = {"data": {"items": {"nodes": [{"id": 1}],
                               "pageInfo": {"hasNextPage": True, "endCursor": evil}}}}
    end = {"data": {"items": {"nodes": [{"id": 2}],
                              "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
    home.route("/graphql", value_cursor_page(evil, page, end))
    api = rest(home, paginator={"type": "graphql", "page_info_path": "data.items.pageInfo"},
               records_path="data.items.nodes")
    listing = api.list("/graphql", method="POST", json={"query": "{ items }", "variables": {}})
    assert [r["id"] for r in listing] == [1, 2]
    assert evil.encode() in home.seen[1].body
    untouched(elsewhere)


# -- absolute URLs and plain headers -----------------------------------------------------------

def test_an_absolute_url_to_another_origin_is_refused_even_without_an_auth_scheme(
        home, elsewhere) -> None:
    """A key given as a plain header (no auth scheme) must not travel either."""
    api = ik.rest(home.url, headers={"X-Api-Key": SECRET}, rate_limit=False, cache=False)
    with pytest.raises(ik.OriginError) as excinfo:
        api.request("GET", f"{elsewhere.url}/v1/items")
    refused(excinfo, elsewhere)
    with pytest.raises(ik.OriginError):
        list(api.list(f"{elsewhere.url}/v1/items"))
    untouched(elsewhere)


def test_a_refused_request_spends_no_quota_and_no_rate_limit_token(
        home, elsewhere, state_url) -> None:
    home.route("/items", lambda request: JSONResponse(
        [{"id": 1}], headers={"Link": f'<{elsewhere.url}/items?page=2>; rel="next"'}))
    api = ik.rest(home.url, auth=ik.auth.Bearer(SECRET), paginator="link_header", cache=False,
                  state=state_url, quotas={"daily": 10},
                  rate_limit={"limit": 1, "per": "2s", "burst": 1})
    with pytest.raises(ik.OriginError):
        api.list("/items").to_frame()  # refused above the quota, so above the limiter too:
    assert api.quota_status()["budgets"]["daily"]["used"] == 1  # no wait for a 2nd token
    untouched(elsewhere)


def test_allowed_origins_must_be_http_urls(home) -> None:
    with pytest.raises(ik.ConfigError, match="allowed|origins"):
        ik.rest(home.url, allowed_origins=["ftp://files.example.com"])
    api = ik.rest(home.url, allowed_origins="https://files.example.com/any/path")
    assert "https://files.example.com:443/x" in api.origins


def test_a_backup_base_url_is_an_origin_of_the_connection(home, elsewhere, sleeps) -> None:
    home.route("/items", lambda request: JSONResponse({"error": "down"}, status_code=503))
    elsewhere.route("/items", lambda request: JSONResponse({"data": [{"id": 7}]}))
    api = rest(home, backup_base_urls=[elsewhere.url], paginator="single_page",
               records_path="data", retry={"maxAttempts": 1}, sleep=sleeps)
    assert [r["id"] for r in api.list("/items")] == [7]
    assert elsewhere.seen[0].carries(SECRET)


def test_an_async_client_on_the_pipeline_refuses_other_origins_too(home, elsewhere) -> None:
    home.route("/x", lambda request: JSONResponse({"ok": True}))
    options = PipelineOptions(base_urls=[home.url], auth=ik.auth.Bearer(SECRET),
                              retry=RetryPolicy(max_attempts=1))

    async def run() -> None:
        transport = build_transport(options, is_async=True)
        async with httpx.AsyncClient(base_url=home.url, transport=transport) as client:
            assert (await client.get("/x")).json() == {"ok": True}
            with pytest.raises(ik.OriginError):
                await client.get(f"{elsewhere.url}/x")

    asyncio.run(run())
    assert home.seen[0].carries(SECRET)
    untouched(elsewhere)


# -- redirects -------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_read_redirected_to_another_origin_is_refused(home, elsewhere, status) -> None:
    home.route("/items", redirect(status, f"{elsewhere.url}/items"))
    elsewhere.route("*", lambda request: JSONResponse({"data": []}))
    with pytest.raises(ik.OriginError) as excinfo:
        rest(home).request("GET", "/items")
    assert excinfo.value.status == status
    refused(excinfo, elsewhere)
    untouched(elsewhere)


@pytest.mark.parametrize(("status", "method"), [(307, "POST"), (308, "PUT"), (307, "PATCH"),
                                                (308, "DELETE"), (302, "POST"), (303, "POST")])
def test_a_write_redirected_to_another_origin_sends_nothing_there(
        home, elsewhere, status, method) -> None:
    home.route("/orders", redirect(status, f"{elsewhere.url}/orders"))
    elsewhere.route("*", lambda request: JSONResponse({"id": "from elsewhere"}))
    api = rest(home, idempotency_header="Idempotency-Key")
    with pytest.raises(ik.OriginError) as excinfo:
        api.request(method, "/orders", json={"amount": 2000, "card": "4242"},
                    idempotency_key="idem-origin-1")
    text = refused(excinfo, elsewhere)
    assert "did not follow the redirect" in text
    untouched(elsewhere)
    assert len(home.seen) == 1 and b"4242" in home.seen[0].body


def test_a_redirect_chain_that_ends_elsewhere_is_refused_at_the_hop_that_leaves(
        home, elsewhere) -> None:
    home.route("/a", redirect(302, "/b"))
    home.route("/b", redirect(302, f"{elsewhere.url}/c"))
    with pytest.raises(ik.OriginError):
        rest(home).request("GET", "/a")
    assert [s.path for s in home.seen] == ["/a", "/b"] and all(
        s.carries(SECRET) for s in home.seen)
    untouched(elsewhere)


def test_a_same_origin_redirect_is_followed_and_signed_again(home, elsewhere) -> None:
    home.route("/old", redirect(301, "/new?x=1"))
    home.route("/new", lambda request: JSONResponse({"moved": True}))
    assert rest(home).request("GET", "/old") == {"moved": True}
    assert [s.path for s in home.seen] == ["/old", "/new"]
    assert all(s.authorization == f"Bearer {SECRET}" for s in home.seen)
    untouched(elsewhere)


def test_a_same_origin_307_replays_the_write_with_the_same_idempotency_key(home) -> None:
    home.route("/orders", redirect(307, "/v2/orders"))
    home.route("/v2/orders", lambda request: JSONResponse({"id": "ord_1"}))
    api = rest(home, idempotency_header="Idempotency-Key")
    assert api.request("POST", "/orders", json={"amount": 5}) == {"id": "ord_1"}
    first, second = home.seen
    assert second.path == "/v2/orders" and second.body == first.body
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert second.carries(SECRET)
