"""The call pipeline over real HTTP: retry, hints, breaker, failover, coalescing, headers."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import warnings
from email.utils import formatdate

import httpx
import pytest

import integkit as ik
from integkit._http import (
    CircuitBreaker,
    PipelineOptions,
    RetryPolicy,
    build_transport,
    retry_after,
)

from .. import apps

FAST = {"initialDelay": 0.01, "maxDelay": 0.05}


def conn(api: str, sleeps, **kw) -> ik.Connection:
    kw.setdefault("retry", {"maxAttempts": 4, **FAST})
    return ik.rest(api, sleep=sleeps, **kw)


def dead_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_transient_5xx_is_retried_with_jittered_backoff(api, sleeps) -> None:
    events: list[ik.CallEvent] = []
    ik.on("call", events.append)
    try:
        body = conn(api, sleeps).request("GET", "/flaky", params={"key": "a", "fail": 2})
    finally:
        ik.off("call", events.append)
    assert body == {"ok": True, "hits": 3}
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.01 and 0 <= sleeps[1] <= 0.02  # full jitter under the caps
    mine = [e for e in events if "/flaky" in e.url]
    assert [(e.attempt, e.status) for e in mine] == [(1, 503), (2, 503), (3, 200)]
    assert mine[0].request_id == "req_a_1"


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("date", 0.0)])
def test_retry_after_is_waited_for(api, sleeps, header, expected) -> None:
    conn(api, sleeps).request("GET", "/flaky", params={
        "key": "ra", "fail": 1, "status": 429, "retry_after": header})
    assert len(sleeps) == 1
    assert sleeps[0] == pytest.approx(expected, abs=1.0)


def test_retry_after_beyond_the_limit_raises_rate_limit_error(api, sleeps) -> None:
    c = conn(api, sleeps, retry={"maxRetryAfter": 60, **FAST})
    with pytest.raises(ik.RateLimitError) as info:
        c.request("GET", "/flaky", params={"key": "rl", "fail": 5, "status": 429,
                                           "retry_after": "3600"})
    err = info.value
    assert err.retry_after == pytest.approx(3600)
    assert err.transient and err.status == 429
    assert "3600s" in str(err) and sleeps == []


def test_permanent_4xx_is_not_retried(api, sleeps) -> None:
    with pytest.raises(ik.InvalidRequestError) as info:
        conn(api, sleeps).request("GET", "/flaky", params={"key": "p", "fail": 9, "status": 400})
    assert apps.hits["p"] == 1 and sleeps == []
    err = info.value
    assert err.request_id == "req_p_1" and str(err).startswith("[req_p_1] 400")
    assert "boom 1" in str(err) and not err.transient


@pytest.mark.parametrize(
    ("status", "hint", "hits"), [(503, "false", 1), (409, "true", 2), (400, "true", 2)]
)
def test_should_retry_hint_overrides_status(api, sleeps, status, hint, hits) -> None:
    c = conn(api, sleeps)
    params = {"key": f"h{status}", "fail": 1, "status": status, "should_retry": hint}
    if hits == 1:
        with pytest.raises(ik.ApiError):
            c.request("GET", "/flaky", params=params)
    else:
        assert c.request("GET", "/flaky", params=params)["ok"]
    assert apps.hits[f"h{status}"] == hits


def test_post_without_idempotency_key_is_not_retried(api, sleeps) -> None:
    with pytest.raises(ik.ServerError):
        conn(api, sleeps).request("POST", "/flaky", params={"key": "w", "fail": 1})
    assert apps.hits["w"] == 1


def test_post_with_idempotency_key_reuses_it_on_every_retry(api, sleeps) -> None:
    c = conn(api, sleeps, idempotency_header="Idempotency-Key")
    assert c.request("POST", "/write", json={"a": 1}) == {"applied": 2}
    assert len(apps.written) == 2 and apps.written[0] == apps.written[1] != ""
    c.request("POST", "/write", json={"a": 1})
    assert apps.written[2] != apps.written[0]  # a new logical call gets a new key


def test_circuit_opens_then_recovers_through_a_probe(api, sleeps) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30, clock=lambda: now[0])
    c = conn(api, sleeps, breaker=breaker, retry={"maxAttempts": 3, **FAST})
    params = {"key": "cb", "fail": 3}
    with pytest.raises(ik.ServerError, match="still failing after 2 retries"):
        c.request("GET", "/flaky", params=params, endpoint="flaky")
    assert apps.hits["cb"] == 3
    with pytest.raises(ik.CircuitOpenError) as info:
        c.request("GET", "/flaky", params=params, endpoint="flaky")
    assert apps.hits["cb"] == 3  # nothing reached the server
    assert info.value.retry_after == pytest.approx(30)
    now[0] = 31.0  # past reset_timeout: one probe goes through, succeeds, closes the circuit
    assert c.request("GET", "/flaky", params=params, endpoint="flaky")["ok"]
    assert breaker.state(next(iter(breaker._circuits))) == "closed"  # noqa: SLF001


def test_half_open_probe_failure_reopens(api, sleeps) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10, clock=lambda: now[0])
    c = conn(api, sleeps, breaker=breaker, retry={"maxAttempts": 1})
    params = {"key": "ho", "fail": 3}
    for _ in range(2):
        with pytest.raises(ik.ServerError):
            c.request("GET", "/flaky", params=params, endpoint="ho")
    now[0] = 11
    with pytest.raises(ik.ServerError):  # the probe fails
        c.request("GET", "/flaky", params=params, endpoint="ho")
    with pytest.raises(ik.CircuitOpenError):
        c.request("GET", "/flaky", params=params, endpoint="ho")
    assert apps.hits["ho"] == 3


def test_failover_to_backup_base_url(api, sleeps) -> None:
    c = ik.rest(dead_url(), backup_base_urls=[api], sleep=sleeps,
                retry={"maxAttempts": 2, **FAST})
    result = c.list("/stripe/items", paginator="starting_after")
    assert len(list(result)) == apps.TOTAL
    assert result.stats.failovers == result.stats.calls >= 1


def test_dead_endpoint_raises_network_error_naming_it(sleeps) -> None:
    url = dead_url()
    with pytest.raises(ik.NetworkError, match=f"could not connect to {url}"):
        ik.rest(url, sleep=sleeps, retry={"maxAttempts": 2, **FAST}).request("GET", "/x")
    assert len(sleeps) == 1


def test_concurrent_identical_gets_are_coalesced(api, sleeps) -> None:
    c = conn(api, sleeps)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(c.request("GET", "/slow")))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert apps.hits["slow"] == 1
    assert results == [{"hits": 1}] * 6


def test_async_pipeline_coalesces_and_retries(api) -> None:
    options = PipelineOptions(retry=RetryPolicy(initial_delay=0.001))

    async def main() -> list:
        transport = build_transport(options, is_async=True)
        async with httpx.AsyncClient(base_url=api, transport=transport) as client:
            slow = [client.get("/slow") for _ in range(4)]
            flaky = client.get("/flaky", params={"key": "async", "fail": 2})
            return await asyncio.gather(*slow, flaky)

    responses = asyncio.run(main())
    assert apps.hits["slow"] == 1 and apps.hits["async"] == 3
    assert [r.json()["hits"] for r in responses] == [1, 1, 1, 1, 3]


def test_deprecation_and_sunset_warn_once(api, sleeps) -> None:
    c = conn(api, sleeps)
    with pytest.warns(ik.ApiDeprecationWarning, match="stop working on Wed, 11 Nov 2026"):
        c.request("GET", "/deprecated", endpoint="old.endpoint")
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        c.request("GET", "/deprecated", endpoint="old.endpoint")
    assert not [w for w in again if issubclass(w.category, ik.ApiDeprecationWarning)]


def test_compressed_responses_are_requested_and_decoded(api, sleeps) -> None:
    c = conn(api, sleeps)
    assert "gzip" in c.request("GET", "/echo")["headers"]["accept-encoding"]
    assert len(c.request("GET", "/big")["data"]) == apps.TOTAL * 10


def test_malformed_body_raises_clear_error(api, sleeps) -> None:
    with pytest.raises(ik.ServerError, match="not valid JSON.*gateway hiccup"):
        conn(api, sleeps).request("GET", "/not-json")


def test_api_version_is_pinned_and_secrets_stay_out_of_logs(api, sleeps, caplog) -> None:
    secret = "sk_test_DoNotLeak1234567890"
    c = ik.connect("stripe", api_key=secret, base_url=api, sleep=sleeps)
    with caplog.at_level(logging.DEBUG, logger="integkit"):
        echoed = c.request("GET", "/echo", params={"note": secret})
    assert echoed["headers"]["stripe-version"] == "2023-08-16"
    assert echoed["headers"]["authorization"] == f"Bearer {secret}"
    assert caplog.records and secret not in caplog.text
    assert secret not in repr(c)
    c2 = ik.connect("stripe", api_key=secret, base_url=api, api_version="2024-06-20")
    assert c2.request("GET", "/echo")["headers"]["stripe-version"] == "2024-06-20"


def test_retry_policy_from_definition_shape() -> None:
    policy = RetryPolicy.from_config({"maxAttempts": 7, "backoffMultiplier": 3,
                                      "initialDelay": 0.2, "maxDelay": 5})
    assert (policy.max_attempts, policy.backoff_multiplier, policy.initial_delay,
            policy.max_delay) == (7, 3, 0.2, 5)
    capped = RetryPolicy(initial_delay=1, backoff_multiplier=2, max_delay=5, random=lambda: 1.0)
    assert [capped.backoff(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_retry_after_parsing() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "12"})) == 12
    assert retry_after(httpx.Headers({"Retry-After": "-3"})) == 0
    assert retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    later = formatdate(1_000_100, usegmt=True)
    assert retry_after(httpx.Headers({"Retry-After": later}), now=1_000_000) == 100


def test_every_attempt_is_signed_afresh(api, sleeps) -> None:
    signatures: list[str] = []

    def sign(request: httpx.Request) -> None:
        request.headers["X-Signature"] = f"sig-{len(signatures)}"
        signatures.append(request.headers["X-Signature"])

    conn = ik.rest(api, auth=ik.auth.Signed(sign), sleep=sleeps)
    assert conn.request("GET", "/flaky", params={"key": "signed", "fail": 2})["ok"]
    assert signatures == ["sig-0", "sig-1", "sig-2"]  # three attempts, three signatures
