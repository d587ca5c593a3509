"""CacheTransport over real HTTP (tests/cache_app.py on 127.0.0.1): hits, TTLs, revalidation,
stale-if-error, offline mode, invalidation, credentials, secrets at rest, both backends, async."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

import integkit as ik
from integkit._events import register_secret
from integkit._http import CircuitBreaker, PipelineOptions, RetryPolicy, build_transport
from integkit._http._context import TRACE_KEY, CallTrace
from integkit._state import open_state
from integkit.cache import CacheSettings, CacheTransport, cache_storage, invalidate
from integkit.sandbox._server import SandboxServer

from ... import cache_app
from . import Clock, redis_state, unique_namespace

ALICE, BOB = "sk_test_alice_9f8e7d6c5b4a", "sk_test_bob_1a2b3c4d5e6f"


@pytest.fixture
def state(tmp_path):
    return open_state(f"sqlite:///{tmp_path}/s.db")


@pytest.fixture
def store(state):
    return cache_storage(state)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events():
    got: list[ik.CallEvent] = []
    ik.on("call", got.append)
    yield got
    ik.off("call", got.append)


def client(url, store, clock, *, inner=None, **settings) -> httpx.Client:
    transport = CacheTransport(inner or httpx.HTTPTransport(), CacheSettings(**settings), store,
                               clock=clock)
    return httpx.Client(base_url=url, transport=transport)


def get(c: httpx.Client, path: str, *, endpoint: str | None = None, **kw) -> httpx.Response:
    trace = CallTrace(service="testsvc", endpoint=endpoint or f"GET {path.split('?')[0]}")
    response = c.get(path, extensions={TRACE_KEY: trace}, **kw)
    response.extensions["trace"] = trace
    return response


# -- hits, misses, lifetimes ---------------------------------------------------------------------
def test_hit_miss_and_expiry_with_an_injected_clock(url, store, clock, events) -> None:
    c = client(url, store, clock, default_ttl=60)
    first = get(c, "/data?id=a")
    assert first.json()["hits"] == 1 and "x-integkit-cache" not in first.headers
    clock.advance(59)
    second = get(c, "/data?id=a")
    assert second.json()["hits"] == 1 and second.status_code == 200
    assert second.headers["x-integkit-cache"] == "hit" and second.headers["age"] == "59"
    assert second.extensions["trace"].cached and not first.extensions["trace"].cached
    hit = [e for e in events if e.cached]
    assert len(hit) == 1 and hit[0].attempt == 0 and hit[0].status == 200
    assert hit[0].service == "testsvc" and hit[0].endpoint == "GET /data"
    assert hit[0].bytes == len(second.content) and hit[0].url.endswith("/data?id=a")
    clock.advance(2)
    assert get(c, "/data?id=a").json()["hits"] == 2  # expired: fetched again
    assert get(c, "/data?id=b").json()["hits"] == 1  # another URL, another entry
    assert cache_app.hits == {"a": 2, "b": 1}


def test_ttl_patterns_per_endpoint(url, store, clock) -> None:
    c = client(url, store, clock, ttl=(
        ("items.retrieve", 300.0), ("/items/never*", "never"), ("/items/short*", 5.0)))
    for _ in range(2):
        get(c, "/items/x?id=long", endpoint="items.retrieve")
        get(c, "/items/never?id=never")
        get(c, "/items/short?id=short")
        get(c, "/items/other?id=other")  # no pattern, no default TTL, server silent
    assert cache_app.hits == {"long": 1, "never": 2, "short": 1, "other": 2}
    clock.advance(10)
    get(c, "/items/x?id=long", endpoint="items.retrieve")
    get(c, "/items/short?id=short")
    assert cache_app.hits["long"] == 1 and cache_app.hits["short"] == 2


def test_from_config_settings_drive_the_transport(url, store, clock) -> None:
    settings = CacheSettings.from_config({"ttl": {"*.list": "1m"}})
    c = httpx.Client(base_url=url, transport=CacheTransport(
        httpx.HTTPTransport(), settings, store, clock=clock))
    for _ in range(3):
        get(c, "/data?id=cfg", endpoint="data.list")
    assert cache_app.hits["cfg"] == 1


def test_server_cache_control_when_no_ttl_is_set(url, store, clock) -> None:
    c = client(url, store, clock)
    for _ in range(2):
        get(c, "/data?id=ma&max_age=30")
        get(c, "/data?id=ns&cc=no-store")
        get(c, "/data?id=aged&max_age=30&age=25")
    assert cache_app.hits == {"ma": 1, "ns": 2, "aged": 1}
    clock.advance(10)  # past max-age minus Age
    get(c, "/data?id=aged&max_age=30&age=25")
    get(c, "/data?id=ma&max_age=30")
    assert cache_app.hits == {"ma": 1, "ns": 2, "aged": 2}
    # an explicit TTL beats the server's no-store
    c2 = client(url, store, clock, default_ttl=60)
    get(c2, "/data?id=ns&cc=no-store")
    get(c2, "/data?id=ns&cc=no-store")
    assert cache_app.hits["ns"] == 3


def test_writes_pass_through_untouched(url, store, clock) -> None:
    c = client(url, store, clock, default_ttl=60)
    assert [c.post("/write").json()["hits"] for _ in range(2)] == [1, 2]
    assert len(store) == 0


def test_request_cache_control_no_cache_and_no_store(url, store, clock) -> None:
    c = client(url, store, clock, default_ttl=60)
    get(c, "/data?id=r")
    get(c, "/data?id=r", headers={"Cache-Control": "no-cache"})
    get(c, "/data?id=r", headers={"Cache-Control": "no-store"})
    assert cache_app.hits["r"] == 3
    assert get(c, "/data?id=r").json()["hits"] == 2  # no-cache stored its answer; no-store not


def test_gzip_bodies_are_stored_decoded(url, store, clock) -> None:
    c = client(url, store, clock)
    first = get(c, "/big", headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    again = get(c, "/big", headers={"Accept-Encoding": "gzip"})
    assert again.headers["x-integkit-cache"] == "hit" and "content-encoding" not in again.headers
    assert again.json() == first.json() and int(again.headers["content-length"]) == len(
        again.content)


def test_vary_pins_the_request_header(url, store, clock) -> None:
    c = client(url, store, clock, default_ttl=60)
    a = get(c, "/data?id=v&vary=X-Tenant", headers={"X-Tenant": "a"})
    b = get(c, "/data?id=v&vary=X-Tenant", headers={"X-Tenant": "b"})
    assert (a.json()["tenant"], b.json()["tenant"]) == ("a", "b")
    assert get(c, "/data?id=v&vary=X-Tenant", headers={"X-Tenant": "b"}).json()["hits"] == 2
    assert cache_app.hits["v"] == 2


# -- conditional requests ------------------------------------------------------------------------
def test_etag_revalidation_gets_a_304_and_serves_the_stored_body(url, store, clock) -> None:
    c = client(url, store, clock)  # the server says no-cache + ETag: keep, revalidate each use
    first = get(c, "/etag?id=e")
    assert first.json() == {"key": "e", "version": 0, "hits": 1}
    second = get(c, "/etag?id=e")
    assert second.status_code == 200 and second.json() == first.json()
    assert second.headers["x-integkit-cache"] == "revalidated"
    assert not second.extensions["trace"].cached  # a call was made: a 304
    assert (cache_app.hits["e"], cache_app.conditional["e"]) == (1, 1)
    cache_app.versions["e"] += 1  # the resource changes: a full answer, stored in turn
    third = get(c, "/etag?id=e")
    assert third.json()["version"] == 1 and cache_app.hits["e"] == 2
    get(c, "/etag?id=e")
    assert cache_app.conditional["e"] == 2


def test_a_304_refreshes_the_lifetime(url, store, clock) -> None:
    c = client(url, store, clock)
    get(c, "/etag?id=m&cc=max-age%3D30")
    clock.advance(31)
    assert get(c, "/etag?id=m&cc=max-age%3D30").headers["x-integkit-cache"] == "revalidated"
    clock.advance(20)  # within the renewed 30 s
    assert get(c, "/etag?id=m&cc=max-age%3D30").headers["x-integkit-cache"] == "hit"
    assert (cache_app.hits["m"], cache_app.conditional["m"]) == (1, 1)


def test_last_modified_revalidation(url, store, clock) -> None:
    c = client(url, store, clock)
    first = get(c, "/lastmod?id=l")
    second = get(c, "/lastmod?id=l")
    assert second.json() == first.json() and second.headers["x-integkit-cache"] == "revalidated"
    assert (cache_app.hits["l"], cache_app.conditional["l"]) == (1, 1)
    cache_app.versions["l"] += 1
    assert get(c, "/lastmod?id=l").json()["version"] == 1


def test_a_callers_own_validators_bypass_the_cache(url, store, clock) -> None:
    c = client(url, store, clock)
    tag = get(c, "/etag?id=own").headers["etag"]
    mine = get(c, "/etag?id=own", headers={"If-None-Match": tag})
    assert mine.status_code == 304  # the caller asked for it, the caller gets it


# -- stale-if-error ------------------------------------------------------------------------------
def test_stale_if_error_on_503(url, store, clock, caplog) -> None:
    c = client(url, store, clock, default_ttl=10, stale_if_error=60)
    get(c, "/data?id=s")
    cache_app.fail["s"] = 503
    clock.advance(30)
    with caplog.at_level(logging.WARNING, logger="integkit"):
        stale = get(c, "/data?id=s")
    assert stale.status_code == 200 and stale.json()["hits"] == 1
    assert stale.headers["x-integkit-stale"] == "true" and stale.extensions["trace"].cached
    assert "serving the cached answer" in caplog.text
    clock.advance(60)  # beyond the stale window: the failure shows
    assert get(c, "/data?id=s").status_code == 503


def test_without_stale_if_error_a_failure_is_a_failure(url, store, clock) -> None:
    c = client(url, store, clock, default_ttl=10)
    get(c, "/data?id=f")
    cache_app.fail["f"] = 503
    clock.advance(11)
    assert get(c, "/data?id=f").status_code == 503
    del cache_app.fail["f"]
    assert get(c, "/data?id=f").json()["hits"] == 2


def test_stale_if_error_on_a_dead_server(store, clock) -> None:
    dying = SandboxServer(cache_app.app).start()
    c = client(dying.url, store, clock, default_ttl=10, stale_if_error=600)
    cache_app.reset()
    get(c, "/data?id=dead")
    dying.stop()
    clock.advance(100)
    stale = get(c, "/data?id=dead")
    assert stale.headers["x-integkit-stale"] == "true" and stale.json()["key"] == "dead"
    with pytest.raises(httpx.ConnectError):
        get(c, "/data?id=never-cached")


def test_stale_if_error_through_the_pipeline_and_an_open_circuit(url, store, clock, sleeps,
                                                                events) -> None:
    options = PipelineOptions(
        retry=RetryPolicy(max_attempts=2, initial_delay=0.01), sleep=sleeps,
        breaker=CircuitBreaker(failure_threshold=2, reset_timeout=300), coalesce=False,
    )
    c = client(url, store, clock, inner=build_transport(options), default_ttl=10,
               stale_if_error=3600)
    get(c, "/data?id=p")
    cache_app.fail["p"] = 503
    clock.advance(20)
    assert get(c, "/data?id=p").headers["x-integkit-stale"] == "true"  # 2 attempts, then stale
    served = get(c, "/data?id=p")  # the circuit is open now: CircuitOpenError -> stale
    assert served.headers["x-integkit-stale"] == "true" and served.json()["hits"] == 1
    attempts = [e for e in events if not e.cached and "id=p" in e.url]
    assert [e.status for e in attempts] == [200, 503, 503]  # nothing sent once the circuit opened
    assert len([e for e in events if e.cached]) == 2


# -- offline -------------------------------------------------------------------------------------
def test_offline_serves_expired_answers_and_misses_say_what_to_do(url, store, clock) -> None:
    c = client(url, store, clock, default_ttl=10)
    register_secret("sk_offline_secret_42")
    get(c, "/data?id=o")
    clock.advance(10_000)
    ik.configure(offline=True)
    try:
        old = get(c, "/data?id=o")
        assert old.json()["hits"] == 1 and old.headers["x-integkit-cache"] == "offline"
        with pytest.raises(ik.NetworkError) as info:
            get(c, "/data?id=missing&api_key=sk_offline_secret_42")
        with pytest.raises(ik.NetworkError):
            c.post("/write")
    finally:
        ik.configure(offline=False)
    message = str(info.value)
    assert "offline mode: no cached answer for GET" in message
    assert "/data?id=missing" in message and "sk_offline" not in message
    assert "ik.configure(offline=False)" in message and not info.value.transient
    assert cache_app.hits == {"o": 1}


def test_offline_setting_on_the_connection(url, store, clock) -> None:
    get(client(url, store, clock, default_ttl=10), "/data?id=os")
    offline = client(url, store, clock, default_ttl=10, offline=True)
    clock.advance(50)
    assert get(offline, "/data?id=os").json()["hits"] == 1
    with pytest.raises(ik.NetworkError, match="offline mode"):
        get(offline, "/data?id=other")


# -- invalidation --------------------------------------------------------------------------------
def test_invalidation_by_service_endpoint_and_url_glob(url, state, store, clock) -> None:
    c = client(url, store, clock, default_ttl=600)
    get(c, "/items/a?id=a", endpoint="items.retrieve")
    get(c, "/items/b?id=b", endpoint="items.retrieve")
    get(c, "/data?id=d", endpoint="data.list")
    get(c, "/etag?id=e", endpoint="etag.get")
    assert invalidate(endpoint="items.*", url="*/items/a*", state=state) == 1
    assert invalidate(service="testsvc", endpoint="data.list", state=state) == 1
    assert invalidate(url=f"{url}/etag*", state=state) == 1
    for path, endpoint in [("/items/a?id=a", "items.retrieve"), ("/items/b?id=b",
                           "items.retrieve"), ("/data?id=d", "data.list")]:
        get(c, path, endpoint=endpoint)
    assert cache_app.hits == {"a": 2, "b": 1, "d": 2, "e": 1}
    assert invalidate(service="testsvc", state=state) == 3
    assert len(store) == 0


# -- credentials and secrets ---------------------------------------------------------------------
def test_two_credentials_never_share_an_entry(url, store, clock) -> None:
    c = client(url, store, clock)
    users = []
    for secret in (ALICE, BOB, ALICE, BOB):
        users.append(get(c, "/whoami", headers={"Authorization": f"Bearer {secret}"}).json())
    for secret in (ALICE, BOB, BOB):
        users.append(get(c, f"/whoami?api_key={secret}").json())
    assert [u["user"] for u in users] == ["alice", "bob"] * 2 + ["alice", "bob", "bob"]
    assert cache_app.hits == {"alice": 2, "bob": 2}  # header and query param are two callers
    assert len(store) == 4


def _cache_secrets(c: httpx.Client) -> None:
    get(c, "/whoami", headers={"Authorization": f"Bearer {ALICE}"})
    get(c, f"/whoami?api_key={BOB}")
    get(c, "/data?id=cookie&cookie=1&max_age=60")
    get(c, f"/echo?value={ALICE}")  # the body holds a registered secret: never stored
    assert c.cookies  # the client keeps the cookie and would send it: another caller
    c.cookies.clear()
    hit = get(c, "/data?id=cookie&cookie=1&max_age=60")
    assert hit.headers["x-integkit-cache"] == "hit"
    assert "set-cookie" not in hit.headers and "x-session-token" not in hit.headers


SECRETS = (ALICE, BOB, cache_app.COOKIE_SECRET, cache_app.RESPONSE_TOKEN)


def test_no_secret_in_the_sqlite_file(url, tmp_path, clock) -> None:
    register_secret(ALICE)
    state = open_state(f"sqlite:///{tmp_path}/secrets.db")
    store = cache_storage(state)
    c = client(url, store, clock)
    _cache_secrets(c)
    assert len(store) == 3 and cache_app.hits["echo"] == 1
    get(c, f"/echo?value={ALICE}")
    assert cache_app.hits["echo"] == 2
    state.connection().execute("PRAGMA wal_checkpoint(FULL)")
    blobs = b"".join(p.read_bytes() for p in Path(tmp_path).glob("secrets.db*"))
    assert b"/whoami" in blobs  # the entries are there ...
    for secret in SECRETS:
        assert secret.encode() not in blobs, secret  # ... their secrets are not


def test_redis_backend_shares_entries_and_holds_no_secret(url, clock) -> None:
    register_secret(ALICE)
    state = redis_state()
    namespace = unique_namespace()
    store = cache_storage(state, namespace)
    try:
        _cache_secrets(client(url, store, clock))
        other_process = client(url, cache_storage(state, namespace), clock)
        assert get(other_process, "/whoami", headers={"Authorization": f"Bearer {ALICE}"}
                   ).headers["x-integkit-cache"] == "hit"
        r = state.redis()
        keys = list(r.scan_iter(f"integkit:{namespace}:*"))
        assert len(keys) == 3
        for key in keys:
            value = r.get(key)
            assert value.startswith(b"IKC1") and 0 < r.ttl(key)
            for secret in SECRETS:
                assert secret.encode() not in key and secret.encode() not in value
        assert invalidate(url="*/whoami*", state=state, namespace=namespace) == 2
    finally:
        store.clear()
    assert not list(state.redis().scan_iter(f"integkit:{namespace}:*"))


# -- async ---------------------------------------------------------------------------------------
def test_async_client_path(url, store, clock) -> None:
    async def run() -> list[httpx.Response]:
        transport = CacheTransport(httpx.AsyncHTTPTransport(), CacheSettings(default_ttl=60),
                                   store, clock=clock)
        async with httpx.AsyncClient(base_url=url, transport=transport) as c:
            out = [await c.get("/data?id=as"), await c.get("/data?id=as")]
            out += [await c.get("/etag?id=ae"), await c.get("/etag?id=ae")]
            clock.advance(61)
            out.append(await c.get("/etag?id=ae"))
            return out

    first, hit, etag, etag_hit, revalidated = asyncio.run(run())
    assert hit.json() == first.json() and hit.headers["x-integkit-cache"] == "hit"
    assert etag_hit.headers["x-integkit-cache"] == "hit"
    assert revalidated.headers["x-integkit-cache"] == "revalidated"
    assert revalidated.json() == etag.json()
    assert cache_app.hits == {"as": 1, "ae": 1} and cache_app.conditional["ae"] == 1


def test_async_over_the_pipeline_with_stale_if_error(url, store, clock, events) -> None:
    async def run() -> list[httpx.Response]:
        inner = build_transport(PipelineOptions(retry=RetryPolicy(max_attempts=1)), is_async=True)
        transport = CacheTransport(inner, CacheSettings(default_ttl=5, stale_if_error=60), store,
                                   clock=clock)
        async with httpx.AsyncClient(base_url=url, transport=transport) as c:
            out = [await c.get("/data?id=ap"), await c.get("/data?id=ap")]
            cache_app.fail["ap"] = 500
            clock.advance(10)
            out.append(await c.get("/data?id=ap"))
            return out

    first, hit, stale = asyncio.run(run())
    assert hit.headers["x-integkit-cache"] == "hit" and stale.headers["x-integkit-stale"] == "true"
    assert [(e.cached, e.attempt, e.status) for e in events if "id=ap" in e.url] == [
        (False, 1, 200), (True, 0, 200), (False, 1, 500), (True, 0, 200)]


def test_a_broken_storage_only_makes_calls_uncached(url, clock, caplog) -> None:
    class Broken(dict):
        def get(self, key, default=None):
            raise OSError("disk gone")

        def __setitem__(self, key, value):
            raise OSError("disk gone")

    c = client(url, Broken(), clock, default_ttl=60)
    with caplog.at_level(logging.WARNING, logger="integkit"):
        assert [get(c, "/data?id=b").json()["hits"] for _ in range(2)] == [1, 2]
    assert "cache read failed" in caplog.text and "cache write failed" in caplog.text


def test_storage_opens_lazily_from_a_factory(url, store, clock) -> None:
    opened: list[int] = []

    def factory():
        opened.append(1)
        return store

    transport = CacheTransport(httpx.HTTPTransport(), CacheSettings(default_ttl=60), factory,
                               clock=clock)
    c = httpx.Client(base_url=url, transport=transport)
    c.post("/write")
    assert opened == []
    get(c, "/data?id=lz")
    get(c, "/data?id=lz")
    assert opened == [1] and cache_app.hits["lz"] == 1


def test_a_client_side_limit_error_is_degraded_to_stale_but_a_rejection_is_not(store, clock):
    raised: list[Exception] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if raised:
            raise raised[-1]
        return httpx.Response(200, json={"n": 1}, headers={"ETag": '"n1"'})

    c = client("http://api.test", store, clock, inner=httpx.MockTransport(handler),
               default_ttl=10, stale_if_error=100)
    get(c, "/x")
    clock.advance(20)
    raised.append(ik.RateLimitError("local budget", retry_after=5))
    assert get(c, "/x").headers["x-integkit-stale"] == "true"
    raised.append(ik.QuotaExceededError("daily budget spent"))
    assert get(c, "/x").headers["x-integkit-stale"] == "true"
    raised.append(ik.InvalidRequestError("bad"))
    with pytest.raises(ik.InvalidRequestError):
        get(c, "/x")


def test_a_304_that_forbids_storing_drops_the_entry(store, clock) -> None:
    calls: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"a"':
            return httpx.Response(304, headers={"Cache-Control": "no-store", "ETag": '"a"'})
        return httpx.Response(200, json={"v": "a"},
                              headers={"ETag": '"a"', "Cache-Control": "no-cache"})

    c = client("http://api.test", store, clock, inner=httpx.MockTransport(handler))
    get(c, "/y")
    second = get(c, "/y")
    assert second.json() == {"v": "a"} and second.headers["x-integkit-cache"] == "revalidated"
    assert len(store) == 0
    get(c, "/y")
    assert calls == [None, '"a"', None]


def test_head_requests_are_cached_apart_from_get(url, store, clock) -> None:
    c = client(url, store, clock, default_ttl=60)
    for _ in range(2):
        assert c.head("/data?id=h").status_code == 200
        get(c, "/data?id=h")
    assert cache_app.hits["h"] == 2 and len(store) == 2
