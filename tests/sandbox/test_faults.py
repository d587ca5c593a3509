"""Injected faults as a raw httpx client sees them, programmed from Python and over HTTP."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from integkit._errors import ConfigError
from integkit.sandbox import Faults

from .conftest import http

BROKEN = (httpx.RemoteProtocolError, httpx.ReadError)


def test_fail_bursts_then_recovers_with_stripe_error_bodies(client, stripe_sb) -> None:
    stripe_sb.faults.fail(503, times=2, path="/v1/charges*")
    first, second = client.get("/v1/charges"), client.get("/v1/charges/ch_x")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json() == {"error": {"message": "An unknown error occurred",
                                      "type": "api_error"}}
    assert first.headers["request-id"].startswith("req_")
    assert client.get("/v1/customers").status_code == 200  # another path: untouched
    assert client.get("/v1/charges").status_code == 200  # the burst is spent
    stripe_sb.faults.fail(429)
    limited = client.get("/v1/customers")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit"
    assert "retry-after" not in limited.headers


def test_after_and_method_scope_the_rule(client, stripe_sb) -> None:
    rule = stripe_sb.faults.fail(500, times=1, after=2, method="GET", path="/v1/events")
    statuses = [client.get("/v1/events", params={"limit": 1}).status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]
    assert (rule.seen, rule.fired) == (4, 1)
    unlimited = stripe_sb.faults.fail(502, times=None, method="POST")
    assert client.get("/v1/events", params={"limit": 1}).status_code == 200
    assert [client.post("/v1/customers").status_code for _ in range(3)] == [502] * 3
    assert unlimited.fired == 3


def test_rules_stack_like_proxies(client, stripe_sb) -> None:
    outer = stripe_sb.faults.fail(503, times=2)
    inner = stripe_sb.faults.fail(500, times=1, after=1)  # counts what gets past `outer`
    statuses = [client.get("/v1/charges/ch_nope").status_code for _ in range(5)]
    assert statuses == [503, 503, 404, 500, 404]
    assert (outer.seen, outer.fired, inner.seen, inner.fired) == (5, 2, 3, 1)


def test_reset_drops_the_connection(client, stripe_sb) -> None:
    stripe_sb.faults.reset(times=1)
    with pytest.raises(BROKEN):
        client.get("/v1/charges")
    assert client.get("/v1/charges").status_code == 200


def test_truncate_leaves_an_incomplete_body(client, stripe_sb) -> None:
    for encoding in ("identity", "gzip"):
        stripe_sb.faults.truncate()
        with client.stream("GET", "/v1/charges", params={"limit": 30},
                           headers={"Accept-Encoding": encoding}) as r:
            assert r.status_code == 200
            declared = int(r.headers["content-length"])
            assert declared > 1000
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete|complete message"):
                r.read()
        assert client.get("/v1/charges", params={"limit": 30}).status_code == 200


def test_reset_after_processing_applies_the_side_effect(fresh) -> None:
    sb = fresh(records=20)
    sb.faults.reset_after_processing(path="/v1/customers", method="POST")
    data = {"email": "lost@example.com"}
    with http(sb) as c:
        with pytest.raises(BROKEN):
            c.post("/v1/customers", data=data, headers={"Idempotency-Key": "retry-me"})
        assert sb.emulator.objects["customer"] == 1  # it happened, the answer got lost
        created = c.get("/v1/customers", params={"limit": 1}).json()["data"][0]
        assert created["email"] == "lost@example.com"
        retry = c.post("/v1/customers", data=data, headers={"Idempotency-Key": "retry-me"})
        assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["id"] == created["id"]
    assert sb.emulator.objects["customer"] == 1


def test_latency_fault_delays_only_matching_requests(client, stripe_sb) -> None:
    stripe_sb.faults.latency(0.3, path="/v1/invoices")
    t = time.perf_counter()
    assert client.get("/v1/customers", params={"limit": 1}).status_code == 200
    fast = time.perf_counter() - t
    t = time.perf_counter()
    assert client.get("/v1/invoices", params={"limit": 1}).status_code == 200
    slow = time.perf_counter() - t
    assert fast < 0.2 <= 0.3 <= slow


def test_headers_fault_adds_deprecation_headers(client, stripe_sb) -> None:
    stripe_sb.faults.headers({"Deprecation": "true", "Sunset": "Sat, 01 Nov 2025 00:00:00 GMT"},
                             path="/v1/charges")
    marked = client.get("/v1/charges", params={"limit": 1})
    assert marked.headers["deprecation"] == "true" and marked.headers["sunset"].startswith("Sat")
    assert marked.headers["request-id"].startswith("req_")
    assert "deprecation" not in client.get("/v1/customers", params={"limit": 1}).headers


def test_hits_count_requests(client, stripe_sb) -> None:
    before = stripe_sb.faults.hits
    for _ in range(3):
        client.get("/v1/charges/ch_nope")
    assert stripe_sb.faults.hits == before + 3


def test_counters_are_exact_under_concurrency(client, stripe_sb) -> None:
    stripe_sb.faults.fail(503, times=7)
    headers = {"Authorization": client.headers["authorization"]}

    def call(_: int) -> int:
        with httpx.Client(base_url=stripe_sb.url, headers=headers) as c:
            return c.get("/v1/charges/ch_nope").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(40)))
    assert statuses.count(503) == 7 and statuses.count(404) == 33


def test_programming_from_another_thread_while_serving(client, stripe_sb) -> None:
    done = threading.Event()
    statuses: list[int] = []

    def hammer() -> None:
        while not done.is_set():
            statuses.append(client.get("/v1/charges/ch_nope").status_code)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        time.sleep(0.05)
        rule = stripe_sb.faults.fail(500, times=3)
        while rule.fired < 3:
            time.sleep(0.01)
    finally:
        done.set()
        worker.join()
    assert statuses.count(500) == 3 and set(statuses) == {404, 500}


def test_admin_endpoint_programs_faults_over_http(stripe_sb) -> None:
    admin = stripe_sb.url + "/__sandbox__/faults"
    with http(stripe_sb) as c:
        r = httpx.post(admin, json={"faults": [
            {"kind": "fail", "status": 502, "path": "/v1/refunds*", "times": 2},
            {"kind": "headers", "headers": {"Sunset": "soon"}},
        ]})
        assert r.status_code == 200 and len(r.json()["rules"]) == 2
        assert [c.get("/v1/refunds").status_code for _ in range(3)] == [502, 502, 200]
        assert c.get("/v1/charges").headers["sunset"] == "soon"
        state = httpx.get(admin).json()
        assert state["rules"][0]["fired"] == 2 and state["hits"] >= 4
        assert httpx.post(admin, json={"kind": "explode"}).status_code == 400
        assert httpx.post(admin, json={"kind": "fail", "status": 418}).status_code == 400
        assert httpx.delete(admin).json()["rules"] == []
        assert "sunset" not in c.get("/v1/charges").headers
        httpx.post(admin, json={"kind": "reset"})
        with pytest.raises(BROKEN):
            c.get("/v1/charges")
        assert c.get("/v1/charges").status_code == 200


def test_bad_rules_are_config_errors() -> None:
    faults = Faults()
    with pytest.raises(ConfigError, match="418"):
        faults.fail(418)
    with pytest.raises(ConfigError, match="unknown fault kind"):
        faults.add("melt")
    with pytest.raises(ConfigError):
        faults.latency(-1)
    assert faults.rules == []
