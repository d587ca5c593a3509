"""Response classifiers (a definition's ``responses:``) against a small API on 127.0.0.1: a
200 whose body says "failed" is retried inside the call pipeline and then raised as the
right error; "rate limited, wait N" pauses the limits every connection of the key shares;
a write that cannot be replayed is not sent again; the call's deadline bounds the waiting;
and no body, however hostile, crashes the classifier."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik
from integkit._http import RetryPolicy, classify, response_rules

DEFINITION = """
service: bodyfail
base_url: https://api.bodyfail.example.com
auth: {type: none}
request_id_header: X-Request-Id
retry: {max_attempts: 4, initial_delay: 0.5, max_delay: 10, max_retry_after: 30}
errors:
  message: error
  code: error
  codes: {no_such_thing: NotFoundError}
  meanings: {no_such_thing: "nothing is called {name}"}
  hints: {no_such_thing: "Ask for something that exists."}
responses:
  - name: busy
    status: 2xx
    body: {ok: false, error: {one_of: [busy, overloaded]}}
    outcome: retry
  - name: slow_down
    status: 2xx
    body: {ok: false, error: slow_down}
    outcome: rate_limited
    wait: [{path: retry_in}, {header: x-reset}, 2]
  - name: quota
    status: 2xx
    text: {contains: quota spent}
    outcome: error
    error: QuotaExceededError
    hint: The daily quota is spent.
  - {name: failed, status: 2xx, body: {ok: false}, outcome: error}
operations:
  set_item: {method: POST, path: /items, idempotent: true, doc: Set an item (same result twice).}
warnings:
  paths: [warning]
  advice: {old_method: use the new one}
rate_limits:
  - {name: requests, limit: 100, per: 1s, burst: 100}
"""


@pytest.fixture
def definition(tmp_path: Path) -> str:
    path = tmp_path / "bodyfail.yaml"
    path.write_text(DEFINITION)
    return str(path)


def answers(home: Any, *bodies: Any, status: int = 200, headers: dict[str, str] | None = None
            ) -> None:
    """Script ``/items`` to give ``bodies`` in turn (the last one from then on)."""
    queue = list(bodies)

    def handler(request: Request) -> Response:
        body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, Response):
            return body
        return JSONResponse(body, status_code=status,
                            headers={"X-Request-Id": "req_42", **(headers or {})})
    home.route("/items", handler)


def connect(definition: str, home: Any, sleeps: Any, **options: Any) -> Any:
    return ik.connect(definition, base_url=home.url, sleep=sleeps, cache=False,
                      **{"rate_limit": False, **options})


def test_a_failure_in_a_200_is_retried_then_raised_as_the_right_error(
        definition, home, sleeps) -> None:
    answers(home, {"ok": False, "error": "busy"})
    conn = connect(definition, home, sleeps)
    with pytest.raises(ik.ServerError, match=r"busy.*still failing after 3 retries") as info:
        conn.request("GET", "/items")
    err = info.value
    assert len(home.seen) == 4 and len(sleeps) == 3  # the definition's max_attempts
    assert err.status == 200 and err.code == "busy" and err.request_id == "req_42"
    assert err.transient

    home.reset()
    answers(home, {"ok": False, "error": "overloaded"}, {"ok": False, "error": "busy"},
            {"ok": True, "items": [1, 2]})
    assert conn.request("GET", "/items") == {"ok": True, "items": [1, 2]}
    assert len(home.seen) == 3


def test_a_permanent_failure_is_raised_at_once_with_the_code_meaning_and_hint(
        definition, home, sleeps) -> None:
    answers(home, {"ok": False, "error": "no_such_thing", "name": "widget"})
    conn = connect(definition, home, sleeps)
    with pytest.raises(ik.NotFoundError, match="no_such_thing: nothing is called widget") as info:
        conn.request("GET", "/items")
    assert info.value.hint == "Ask for something that exists." and not info.value.transient
    assert len(home.seen) == 1 and sleeps == []
    home.reset()
    answers(home, {"ok": False, "error": "whatever"})
    with pytest.raises(ik.InvalidRequestError, match="whatever"):
        conn.request("GET", "/items")
    home.reset()
    answers(home, Response("sorry: the quota spent for today", media_type="text/plain"))
    with pytest.raises(ik.QuotaExceededError, match="quota is spent") as quota:
        conn.request("GET", "/items")
    assert quota.value.hint == "The daily quota is spent." and len(home.seen) == 1


def test_rate_limited_waits_what_the_body_says_and_pauses_every_connection_of_the_key(
        definition, home, sleeps, state_url) -> None:
    answers(home, {"ok": False, "error": "slow_down", "retry_in": 0.2}, {"ok": True})
    first = connect(definition, home, sleeps, rate_limit=None, state=state_url)
    first.limiter.clear_pauses()
    assert first.request("GET", "/items") == {"ok": True}
    assert sleeps == [0.2] and len(home.seen) == 2

    home.reset()
    answers(home, {"ok": False, "error": "slow_down", "retry_in": 25})
    spent = connect(definition, home, sleeps, rate_limit=None, state=state_url,
                    retry={"max_attempts": 1})
    with pytest.raises(ik.RateLimitError, match="slow_down") as info:
        spent.request("GET", "/items")
    assert info.value.retry_after == 25 and info.value.status == 200
    # another connection of the same key (same state) holds its calls until then
    other = connect(definition, home, sleeps, rate_limit=None, state=state_url, deadline=1)
    until = max(until for until, _ in other.limiter.pauses().values())
    assert 20 < until - time.time() <= 25
    with pytest.raises(ik.TimeoutError, match="rate limits hold this call"):
        other.request("GET", "/items")
    assert len(home.seen) == 1  # the held call never reached the service
    other.limiter.clear_pauses()


def test_a_pause_longer_than_calls_are_held_is_clamped_and_said(
        definition, home, sleeps, state_url) -> None:
    answers(home, {"ok": False, "error": "slow_down", "retry_in": 1000})
    conn = connect(definition, home, sleeps, rate_limit=None, state=state_url)
    conn.limiter.clear_pauses()
    with pytest.raises(ik.RateLimitError) as info:
        conn.request("GET", "/items")
    assert info.value.retry_after == 1000 and sleeps == []  # beyond max_retry_after (30s)
    other = connect(definition, home, sleeps, rate_limit=None, state=state_url)
    (until, asked), = other.limiter.pauses().values()
    assert until - time.time() <= 30 and asked - time.time() > 990  # held 30s, 1000 asked
    with pytest.raises(ik.RateLimitError, match="longer than integkit holds calls"):
        other.request("GET", "/items")
    assert len(home.seen) == 1
    other.limiter.clear_pauses()


def test_the_wait_falls_back_to_a_header_then_the_default(definition, home, sleeps) -> None:
    answers(home, {"ok": False, "error": "slow_down"}, {"ok": True}, headers={"X-Reset": "3"})
    conn = connect(definition, home, sleeps)
    conn.request("GET", "/items")
    home.reset()
    answers(home, {"ok": False, "error": "slow_down", "retry_in": "soon"}, {"ok": True})
    conn.request("GET", "/items")
    assert sleeps == [3.0, 2.0]


def test_a_write_is_not_sent_again_after_retry_but_is_after_rate_limited(
        definition, home, sleeps) -> None:
    answers(home, {"ok": False, "error": "busy"})
    conn = connect(definition, home, sleeps)
    with pytest.raises(ik.ServerError, match="busy") as info:
        conn.request("POST", "/items", json={"name": "once"})
    assert "Not retried" in str(info.value) and len(home.seen) == 1 and sleeps == []

    home.reset()
    answers(home, {"ok": False, "error": "slow_down", "retry_in": 1}, {"ok": True, "id": 7})
    assert conn.request("POST", "/items", json={"name": "twice"}) == {"ok": True, "id": 7}
    assert len(home.seen) == 2 and sleeps == [1.0]  # refused before processing: safe again


def test_an_idempotent_operation_is_retried_though_it_is_a_post(definition, home, sleeps
                                                                ) -> None:
    answers(home, {"ok": False, "error": "busy"}, {"ok": True})
    conn = connect(definition, home, sleeps)
    assert conn.set_item() == {"ok": True}
    assert len(home.seen) == 2 and len(sleeps) == 1


def test_waits_beyond_the_deadline_or_max_retry_after_are_not_slept(
        definition, home, sleeps) -> None:
    answers(home, {"ok": False, "error": "slow_down", "retry_in": 20})
    conn = connect(definition, home, sleeps, deadline=5)
    started = time.monotonic()
    with pytest.raises(ik.RateLimitError) as info:
        conn.request("GET", "/items")
    assert info.value.retry_after == 20 and sleeps == [] and len(home.seen) == 1
    assert time.monotonic() - started < 5
    home.reset()
    answers(home, {"ok": False, "error": "slow_down", "retry_in": 31})  # max_retry_after: 30
    with pytest.raises(ik.RateLimitError):
        connect(definition, home, sleeps).request("GET", "/items")
    assert sleeps == [] and len(home.seen) == 1


def test_warnings_in_a_served_answer_become_python_warnings(definition, home, sleeps) -> None:
    answers(home, {"ok": True, "warning": "old_method,other"})
    conn = connect(definition, home, sleeps)
    with pytest.warns(UserWarning) as record:
        assert conn.request("GET", "/items")["ok"] is True
    assert [str(w.message) for w in record] == [
        "bodyfail GET /items: old_method (use the new one)", "bodyfail GET /items: other"]


HOSTILE = [
    Response("<html><body>proxy says hi</body></html>", media_type="text/html"),
    Response(b"\xff\xfe\x00garbage", media_type="application/json"),
    Response("[" * 100_000 + "]" * 100_000, media_type="application/json"),
    JSONResponse({"ok": "false", "error": 3}),
    JSONResponse({"ok": False, "error": {"nested": [1, 2]}}),
    JSONResponse([1, 2, {"ok": False}]),
    JSONResponse("just a string"),
    JSONResponse({"ok": False, "error": ["busy"], "retry_in": {"x": 1}}),
    JSONResponse({"ok": False, "error": "slow_down", "retry_in": 1e300}),
    JSONResponse({"items": list(range(300_000)), "ok": True}),
]


@pytest.mark.filterwarnings("ignore::integkit._http.ServerHintWarning")  # the 1e300s wait
@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_never_crash_the_classifier(definition, home, sleeps, body) -> None:
    answers(home, body)
    conn = connect(definition, home, sleeps, retry={"max_attempts": 2})
    try:
        conn.request("GET", "/items")
    except ik.IntegkitError:
        pass  # a mapped error is fine; anything else (TypeError, RecursionError...) is not
    assert all(s < 31 for s in sleeps)


def test_rules_are_checked_at_load_naming_the_rule_and_key(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFINITION.replace("outcome: retry", "outcome: retyr"))
    with pytest.raises(ik.ConfigError, match=r"bad.yaml:\d+: responses\[0\] \(busy\) outcome"):
        ik.connect(str(bad))
    bad.write_text(DEFINITION.replace("wait: [{path: retry_in}", "wait: [{feedback: nope}"))
    with pytest.raises(ik.ConfigError, match=r"responses\[1\] \(slow_down\) wait\[0\].*nope"):
        ik.connect(str(bad))
    for rule, problem in [
        ({"outcome": "error", "body": {"ok": [False]}}, "one_of"),
        ({"outcome": "error", "status": "6xx"}, "status"),
        ({"outcome": "error", "error": "OopsError"}, "error must be one of"),
        ({"outcome": "error", "headers": {"x": {"matches": "y"}}}, "one key of"),
        ({"status": 200}, "outcome"),
    ]:
        with pytest.raises(ik.ConfigError, match=problem):
            response_rules([rule])


def test_a_policy_without_rules_classifies_nothing() -> None:
    import httpx

    response = httpx.Response(200, json={"ok": False})
    assert classify(response, ()) is None
    rules = response_rules([{"status": 200, "body": {"ok": False}, "outcome": "error"}])
    found = classify(response, rules)
    assert found is not None and found.outcome == "error"
    request = httpx.Request("GET", "https://example.com/")
    assert not RetryPolicy(responses=rules).decide(request, response, 1).retry
    assert not RetryPolicy().decide(request, response, 1).retry


def test_no_connector_overrides_send_or_loops_over_attempts() -> None:
    services = Path(__file__).resolve().parents[2] / "integkit" / "engine" / "_services"
    modules = sorted(services.glob("*.py"))
    assert len(modules) > 5  # the connectors' code is where this test looks
    for module in modules:
        text = module.read_text()
        assert "def send(" not in text, module.name
        assert "time.sleep(" not in text, module.name  # waits belong to the pipeline


def test_a_200_that_says_it_failed_is_never_cached(definition, home, sleeps) -> None:
    answers(home, {"ok": False, "error": "no_such_thing", "name": "x"}, {"ok": True, "n": 1})
    conn = ik.connect(definition, base_url=home.url, sleep=sleeps, rate_limit=False,
                      cache={"default_ttl": "1h"})
    with pytest.raises(ik.NotFoundError):
        conn.request("GET", "/items")
    assert conn.request("GET", "/items") == {"ok": True, "n": 1}  # asked again, not cached
    assert conn.request("GET", "/items") == {"ok": True, "n": 1}  # this one is kept
    assert len(home.seen) == 2
