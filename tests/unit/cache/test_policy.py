"""The pure cache policy: settings from a definition, decisions, lifetimes."""

from __future__ import annotations

import httpx
import pytest

import integkit as ik
from integkit.cache import CachedEntry, CacheSettings, decide
from integkit.cache._policy import NEVER, Action, RequestInfo, expiry, parse_ttl

GET = RequestInfo("GET", "items.list", "/v1/items")


def entry(expires_at: float = 100.0, etag: str | None = None, lm: str | None = None) -> CachedEntry:
    return CachedEntry(status=200, headers=(), body=b"{}", created_at=0.0, expires_at=expires_at,
                       etag=etag, last_modified=lm)


def test_from_config_reads_the_definition_shape() -> None:
    s = CacheSettings.from_config({
        "defaultTtl": "5m", "ttl": {"*.retrieve": "1h", "events.*": "never", "/v1/x*": 30},
        "staleIfError": "1d", "revalidate": False, "methods": ["get", "post"],
        "ignoredParams": ["_"], "secretParams": ["hk"], "varyHeaders": ["X-Tenant"],
        "respectCacheControl": False,
    })
    assert s.default_ttl == 300 and s.stale_if_error == 86400 and not s.revalidate
    assert s.ttl == (("*.retrieve", 3600.0), ("events.*", NEVER), ("/v1/x*", 30.0))
    assert s.methods == frozenset({"GET", "POST"}) and s.ignored_params == ("_",)
    assert s.secret_params == ("hk",) and s.vary_headers == ("X-Tenant",)
    assert CacheSettings.from_config({"default_ttl": 10}).default_ttl == 10
    assert CacheSettings.from_config(None) == CacheSettings()
    assert CacheSettings.from_config({}, offline=True).offline


@pytest.mark.parametrize(("raw", "seconds"), [
    (5, 5.0), ("90", 90.0), ("2.5s", 2.5), ("10m", 600.0), ("1h", 3600.0), ("2d", 172800.0),
    ("1w", 604800.0), ("never", NEVER), ("NEVER", NEVER),
])
def test_ttl_values(raw, seconds) -> None:
    assert parse_ttl(raw) == seconds


@pytest.mark.parametrize("config", [
    {"ttl": {"x": "soon"}}, {"defaultTtl": -1}, {"staleIfErr": 5}, {"ttl": {"x": True}},
])
def test_bad_config_names_the_problem(config) -> None:
    with pytest.raises(ik.ConfigError, match="cache"):
        CacheSettings.from_config(config)


def test_ttl_patterns_match_endpoint_or_path_first_wins() -> None:
    s = CacheSettings(ttl=(("charges.*", 60.0), ("/v1/charges/*", 5.0), ("*", NEVER)))
    assert s.ttl_for("charges.retrieve", "/v1/charges/ch_1") == 60.0
    assert s.ttl_for("GET /v1/charges/ch_1", "/v1/charges/ch_1") == 5.0
    assert s.ttl_for("customers.list", "/v1/customers") == NEVER
    assert CacheSettings().ttl_for("a", "/a") is None


def test_decisions() -> None:
    s = CacheSettings(default_ttl=100, stale_if_error=50)
    assert decide(GET, s, None, 10).action is Action.FETCH
    assert decide(GET, s, entry(), 10).action is Action.FRESH
    # expired, no validator: refetch, and the old answer may stand in if that fails
    d = decide(GET, s, entry(), 120)
    assert (d.action, d.stale_fallback) == (Action.FETCH, True)
    assert decide(GET, s, entry(), 151).stale_fallback is False
    # expired with validators: a conditional request
    d = decide(GET, s, entry(etag='"v1"', lm="Tue, 14 Nov 2023 22:13:20 GMT"), 120)
    assert d.action is Action.REVALIDATE
    assert dict(d.headers) == {"If-None-Match": '"v1"',
                               "If-Modified-Since": "Tue, 14 Nov 2023 22:13:20 GMT"}
    no_reval = s.with_(revalidate=False)
    assert decide(GET, no_reval, entry(etag='"v1"'), 120).action is Action.FETCH
    # the caller asks for a validated answer
    fresh_but = RequestInfo("GET", "items.list", "/v1/items", no_cache=True)
    assert decide(fresh_but, s, entry(etag='"v1"'), 10).action is Action.REVALIDATE


def test_what_the_cache_stays_out_of() -> None:
    s = CacheSettings(default_ttl=100)
    post = RequestInfo("POST", "items.create", "/v1/items")
    assert decide(post, s, None, 0).action is Action.BYPASS
    assert decide(GET, s.with_(enabled=False), entry(), 0).action is Action.BYPASS
    assert decide(GET, s.with_(ttl=(("items.*", NEVER),)), entry(), 0).action is Action.BYPASS
    for info in (RequestInfo("GET", "e", "/p", no_store=True),
                 RequestInfo("GET", "e", "/p", conditional=True)):
        assert decide(info, s, entry(), 0).action is Action.BYPASS


def test_offline_decisions() -> None:
    s = CacheSettings(default_ttl=100)
    offline = RequestInfo("GET", "items.list", "/v1/items", offline=True)
    assert decide(offline, s, entry(), 10_000).action is Action.OFFLINE_HIT  # however old
    assert decide(offline, s, None, 0).action is Action.OFFLINE_MISS
    assert decide(GET, s.with_(offline=True), None, 0).action is Action.OFFLINE_MISS
    post = RequestInfo("POST", "items.create", "/v1/items", offline=True)
    assert decide(post, s, None, 0).action is Action.OFFLINE_MISS  # no network at all


def test_request_info_reads_request_directives() -> None:
    r = httpx.Request("GET", "https://h/x", headers={"Cache-Control": "no-cache"})
    assert RequestInfo.from_request(r).no_cache
    r = httpx.Request("GET", "https://h/x", headers={"Cache-Control": "max-age=0"})
    assert RequestInfo.from_request(r).no_cache
    r = httpx.Request("GET", "https://h/x", headers={"cache-control": "no-store"})
    assert RequestInfo.from_request(r).no_store
    r = httpx.Request("GET", "https://h/x", headers={"If-None-Match": '"a"'})
    info = RequestInfo.from_request(r, endpoint="x.list")
    assert info.conditional and info.endpoint == "x.list" and info.path == "/x"


def h(**headers: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()})


def test_lifetimes() -> None:
    server = CacheSettings()
    assert expiry(server, GET, 200, h(), 1000) is None  # nothing said, default 0
    assert expiry(server, GET, 200, h(cache_control="max-age=60"), 1000) == 1060
    assert expiry(server, GET, 200, h(cache_control="public, max-age=60", age="20"), 1000) == 1040
    assert expiry(server, GET, 200, h(cache_control="no-store, max-age=60"), 1000) is None
    assert expiry(server, GET, 200, h(
        date="Tue, 14 Nov 2023 22:13:20 GMT", expires="Tue, 14 Nov 2023 22:23:20 GMT"), 5) == 605
    assert expiry(server, GET, 200, h(expires="0"), 5) is None  # invalid = expired, no validator
    # zero lifetime, but a validator: kept, to be revalidated on every use
    assert expiry(server, GET, 200, h(cache_control="no-cache", etag='"x"'), 7) == 7
    assert expiry(server.with_(revalidate=False), GET, 200, h(cache_control="no-cache",
                                                              etag='"x"'), 7) is None
    # settings beat the server: pattern first, then default_ttl
    pattern = CacheSettings(ttl=(("items.*", 30.0),), default_ttl=10)
    assert expiry(pattern, GET, 200, h(cache_control="no-store"), 0) == 30
    assert expiry(CacheSettings(default_ttl=10), GET, 200, h(cache_control="no-store"), 0) == 10
    assert expiry(server.with_(respect_cache_control=False), GET, 200,
                  h(cache_control="max-age=60"), 0) is None


@pytest.mark.parametrize("status", [201, 204, 206, 304, 400, 401, 404, 429, 500, 503])
def test_statuses_never_stored(status) -> None:
    assert expiry(CacheSettings(default_ttl=10), GET, status, h(), 0) is None


def test_vary_star_is_never_stored() -> None:
    assert expiry(CacheSettings(default_ttl=10), GET, 200, h(vary="*"), 0) is None
