"""Server hints are bounded: a Retry-After or rate-limit reset from a hostile or broken server
can pause the shared limiter for at most the configured bound, a longer one raises at once with
the server's time, nonsense is ignored with a warning, and ik.quota shows and clears a pause.

Over real loopback HTTP (the scriptable ``home`` server), on SQLite and on the real Redis.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.responses import JSONResponse

import integkit as ik
from integkit._http import reset_after, retry_after

ROOT = Path(__file__).resolve().parents[2]
YEAR = 31_536_000
TIER = {"limit": 100, "per": "1s", "burst": 100}


def connect(home, state_url: str, account: str | None = None, **options) -> ik.Connection:
    """A fresh account (no other test's pauses) on ``state_url``, talking to ``home``."""
    options.setdefault("retry", {"maxAttempts": 3, "initialDelay": 0.01})
    return ik.rest(home.url, state=state_url, account=account or uuid.uuid4().hex[:10],
                   rate_limit=TIER, cache=False, **options)


def answers(*responses):
    """A handler giving ``responses`` in turn, then the last one for ever."""
    queue = list(responses)

    def handler(request):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def ok() -> JSONResponse:
    return JSONResponse({"data": [{"id": 1}]})


def timed(fn, *args, **kwargs) -> float:
    started = time.monotonic()
    fn(*args, **kwargs)
    return time.monotonic() - started


def test_a_year_long_retry_after_raises_at_once_with_its_time_and_stores_a_bounded_pause(
        home, state_url) -> None:
    home.route("/items", lambda request: JSONResponse(
        {"error": "slow down"}, status_code=429, headers={"Retry-After": str(YEAR)}))
    account = uuid.uuid4().hex[:10]
    first = connect(home, state_url, account)
    started = time.monotonic()
    with pytest.raises(ik.RateLimitError) as info:
        first.request("GET", "/items")
    assert time.monotonic() - started < 5  # not a year, nor even the 120 s bound
    assert info.value.retry_after == pytest.approx(YEAR, abs=5)

    # another notebook on the same key: refused at once, with the server's time, no call
    other = connect(home, state_url, account)
    calls = len(home.seen)
    started = time.monotonic()
    with pytest.raises(ik.RateLimitError, match="clear_pause=True") as info:
        other.request("GET", "/items")
    assert time.monotonic() - started < 2
    assert info.value.retry_after == pytest.approx(YEAR, abs=5)
    assert len(home.seen) == calls

    report = ik.quota(other)
    assert report["throttled"]
    (pause,) = report["pauses"]
    assert 100 < pause["seconds_left"] <= 120  # what is stored: the bound, not a year
    assert pause["server_asked_seconds"] == pytest.approx(YEAR, abs=5)
    if state_url.startswith("redis"):  # and it expires on its own, whoever restarts
        import redis

        client = redis.Redis.from_url(state_url)
        ttl = client.pttl(f"integkit:pause:rest:requests:{account}")
        assert 0 < ttl <= 120_000


def test_a_fresh_process_on_the_same_state_is_refused_at_once_not_put_to_sleep(
        home, state_url) -> None:
    home.route("/items", lambda request: JSONResponse(
        {}, status_code=429, headers={"Retry-After": str(YEAR)}))
    account = uuid.uuid4().hex[:10]
    with pytest.raises(ik.RateLimitError):
        connect(home, state_url, account).request("GET", "/items")
    script = (
        "import sys, time, integkit as ik\n"
        "url, state, account = sys.argv[1:4]\n"
        "c = ik.rest(url, state=state, account=account, cache=False,\n"
        "            rate_limit={'limit': 100, 'per': '1s', 'burst': 100})\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    c.request('GET', '/items'); print('called')\n"
        "except ik.RateLimitError as e:\n"
        "    print('refused', round(e.retry_after), round(time.monotonic() - t, 2))\n")
    calls = len(home.seen)
    done = subprocess.run([sys.executable, "-c", script, home.url, state_url, account],
                          cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    verdict, asked, took = done.stdout.split()
    assert verdict == "refused" and abs(int(asked) - YEAR) <= 90 and float(took) < 5
    assert len(home.seen) == calls


def test_clear_pause_lifts_the_pause_for_every_connection_of_the_key(home, state_url) -> None:
    home.route("/items", answers(
        JSONResponse({}, status_code=429, headers={"Retry-After": str(YEAR)}), ok()))
    account = uuid.uuid4().hex[:10]
    first, other = connect(home, state_url, account), connect(home, state_url, account)
    with pytest.raises(ik.RateLimitError):
        first.request("GET", "/items")
    report = ik.quota(other, clear_pause=True)
    assert report["pauses_cleared"] == 1 and not report["throttled"] and not report["pauses"]
    assert first.request("GET", "/items") == {"data": [{"id": 1}]}
    assert not ik.quota(first)["throttled"]


def test_the_bound_is_the_retry_policys_max_retry_after(home, state_url) -> None:
    home.route("/items", answers(
        JSONResponse({}, status_code=429, headers={"Retry-After": "30"}), ok()))
    c = connect(home, state_url, retry={"maxAttempts": 3, "maxRetryAfter": 1.5})
    with pytest.raises(ik.RateLimitError) as info:  # 30 s is beyond what a call waits
        c.request("GET", "/items")
    assert info.value.retry_after == pytest.approx(30, abs=2)
    (pause,) = ik.quota(c)["pauses"]
    assert pause["seconds_left"] <= 1.5 and pause["server_asked_seconds"] > 25
    time.sleep(1.6)  # the bounded pause is over: calls go again
    assert c.request("GET", "/items") == {"data": [{"id": 1}]}


def test_a_pause_within_the_bound_is_still_waited_out_by_everyone(home, state_url) -> None:
    home.route("/items", answers(
        ok(), JSONResponse({}, headers={"X-RateLimit-Remaining": "0",
                                         "X-RateLimit-Reset": "2"}), ok()))
    account = uuid.uuid4().hex[:10]
    first, other = connect(home, state_url, account), connect(home, state_url, account)
    first.request("GET", "/items")
    first.request("GET", "/items")  # says: nothing left for 2 s
    waited = timed(other.request, "GET", "/items")
    assert 1.0 <= waited <= 5.0, waited


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "Infinity"])
def test_a_non_finite_retry_after_is_ignored_with_a_warning(home, state_url, value) -> None:
    home.route("/items", answers(
        JSONResponse({}, status_code=429, headers={"Retry-After": value}), ok()))
    c = connect(home, state_url)
    with pytest.warns(ik.ServerHintWarning, match="not a finite number"):
        assert c.request("GET", "/items") == {"data": [{"id": 1}]}  # retried, no OverflowError
    assert len(home.seen) == 2
    assert all(p["seconds_left"] <= 1.0 for p in ik.quota(c)["pauses"])  # the default pause


def test_a_reset_in_epoch_milliseconds_is_read_as_such(home, state_url) -> None:
    reset_ms = str(int((time.time() + 2) * 1000))
    home.route("/items", answers(
        JSONResponse({}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_ms}),
        ok()))
    c = connect(home, state_url)
    c.request("GET", "/items")  # no OverflowError, no year-long pause
    (pause,) = ik.quota(c)["pauses"]
    assert 0 < pause["seconds_left"] <= 2.5 and pause["server_asked_seconds"] is None
    waited = timed(c.request, "GET", "/items")
    assert 0.5 <= waited <= 5.0, waited


def test_an_implausible_reset_is_ignored_with_a_warning(home, state_url) -> None:
    home.route("/items", answers(
        JSONResponse({}, headers={"X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset": "99999999999999999999"}), ok()))
    c = connect(home, state_url)
    with pytest.warns(ik.ServerHintWarning, match="beyond a year"):
        c.request("GET", "/items")
    assert not ik.quota(c)["throttled"]
    assert timed(c.request, "GET", "/items") < 1.0


def test_a_long_reset_on_a_good_answer_keeps_the_data_and_refuses_the_next_call(
        home, state_url) -> None:
    two_hours = str(int(time.time()) + 7200)  # GitHub's form: epoch seconds
    home.route("/items", answers(
        JSONResponse({"data": [{"id": 7}]}, headers={"X-RateLimit-Remaining": "0",
                                                      "X-RateLimit-Reset": two_hours}), ok()))
    c = connect(home, state_url)
    assert c.request("GET", "/items") == {"data": [{"id": 7}]}
    calls = len(home.seen)
    with pytest.raises(ik.RateLimitError, match="UTC") as info:
        c.request("GET", "/items")
    assert 7100 < (info.value.retry_after or 0) <= 7201 and len(home.seen) == calls


def test_hint_parsing_by_size_and_plausibility() -> None:
    now = 1_700_000_000.0
    assert reset_after("30", now=now) == 30  # seconds from now
    assert reset_after(str(now + 60), now=now) == 60  # epoch seconds
    assert reset_after(str((now + 60) * 1000), now=now) == pytest.approx(60)  # epoch ms
    assert reset_after(str(now - 5), now=now) == 0  # already past
    with pytest.warns(ik.ServerHintWarning):
        assert reset_after("5e8", now=now) is None  # 16 years from now
    with pytest.warns(ik.ServerHintWarning):
        assert retry_after(httpx.Headers({"Retry-After": "nan"})) is None
    assert retry_after(httpx.Headers({"Retry-After": str(YEAR)})) == YEAR  # long, plausible
    later = (now + 60) * 1000
    assert retry_after(httpx.Headers({"Retry-After": f"{later:.0f}"}), now=now) == \
        pytest.approx(60)
    with pytest.warns(ik.ServerHintWarning):
        far = httpx.Headers({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"})
        assert retry_after(far, now=now) is None
