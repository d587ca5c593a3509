"""Client-side limits, server feedback and quotas, over real HTTP (tests/apps.py), with the state
in SQLite and in the real Redis."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

import integkit as ik

from .. import apps


def conn(api: str, state: str, **options):
    """A fresh account on ``state`` so no test sees another's buckets or budgets."""
    options.setdefault("account", uuid.uuid4().hex[:8])
    return ik.rest(api, state=state, retry={"maxAttempts": 3, "initialDelay": 0.01}, **options)


def timed(fn, *args, **kwargs) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


# -- client-side tiers -----------------------------------------------------------------------
def test_token_bucket_lets_the_burst_through_then_paces(api, state_url) -> None:
    c = conn(api, state_url, rate_limit={"limit": 10, "per": "1s", "burst": 3})
    took = timed(lambda: [c.request("GET", "/feedback") for _ in range(13)])
    # 3 at once (the burst, less the 3% margin: 2), then 10/s less 3%
    assert 0.95 <= took <= 2.4, took
    assert apps.arrivals[1] - apps.arrivals[0] < 0.05  # the burst went at once


def test_sliding_window_admits_limit_per_window(api, state_url) -> None:
    c = conn(api, state_url, rate_limit={"algorithm": "sliding_window", "limit": 3,
                                         "per": "0.5s", "margin": 0})
    took = timed(lambda: [c.request("GET", "/feedback") for _ in range(7)])
    assert 1.0 <= took <= 2.2, took
    arrivals = apps.arrivals
    # never 4 calls inside one window; the tolerance is the loopback's jitter on a loaded
    # machine (a limiter that let a fourth through would show a gap near 0)
    for i in range(len(arrivals) - 3):
        assert arrivals[i + 3] - arrivals[i] >= 0.5 - 0.1


def test_several_windows_at_once_the_tightest_wins(api, state_url) -> None:
    c = conn(api, state_url, rate_limit=[
        {"name": "second", "limit": 100, "per": "1s", "burst": 100},
        {"name": "window", "algorithm": "sliding_window", "limit": 4, "per": "0.5s",
         "margin": 0},
    ])
    took = timed(lambda: [c.request("GET", "/feedback") for _ in range(8)])
    assert 0.5 <= took <= 1.5, took
    assert {t["tier"] for t in ik.quota(c)["limits"]} == {"second", "window"}


def test_endpoint_tier_limits_only_its_endpoint(api, state_url) -> None:
    c = conn(api, state_url, rate_limit={"name": "feedback", "limit": 1, "per": "1s",
                                         "burst": 1, "margin": 0, "scope": "endpoint",
                                         "endpoints": ["GET /feedback"]})
    c.request("GET", "/feedback")
    assert timed(lambda: [c.request("GET", "/echo") for _ in range(5)]) < 0.5
    assert timed(c.request, "GET", "/feedback") >= 0.7


def test_user_tier_separates_users_of_one_key(api, state_url) -> None:
    account = uuid.uuid4().hex[:8]
    tier = {"name": "per_user", "limit": 1, "per": "1s", "burst": 1, "margin": 0,
            "scope": "user"}
    ann = conn(api, state_url, rate_limit=tier, account=account, user="ann")
    bob = conn(api, state_url, rate_limit=tier, account=account, user="bob")
    ann_again = conn(api, state_url, rate_limit=tier, account=account, user="ann")
    ann.request("GET", "/feedback")
    assert timed(bob.request, "GET", "/feedback") < 0.45  # bob has his own bucket
    assert timed(ann_again.request, "GET", "/feedback") >= 0.7  # ann shares hers


def test_interactive_calls_go_before_queued_bulk_calls(api, state_url) -> None:
    account = uuid.uuid4().hex[:8]
    tier = {"limit": 5, "per": "1s", "burst": 1, "margin": 0}
    bulk = conn(api, state_url, rate_limit=tier, account=account, priority="bulk")
    notebook = conn(api, state_url, rate_limit=tier, account=account)
    stop = threading.Event()

    def backfill() -> None:
        while not stop.is_set():
            bulk.request("GET", "/feedback")

    workers = [threading.Thread(target=backfill) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)  # the bulk queue is full
        interactive = [timed(notebook.request, "GET", "/echo") for _ in range(3)]
        interactive += [timed(bulk.request, "GET", "/echo", priority="interactive")]
    finally:
        stop.set()
        for w in workers:
            w.join()
    # one token every 0.2 s; with 4 bulk callers waiting, a fair share would be ~1 s
    assert max(interactive) <= 0.35, interactive


# -- what the server says -------------------------------------------------------------------
def test_ratelimit_remaining_zero_pauses_every_client_of_the_key(api, state_url) -> None:
    account = uuid.uuid4().hex[:8]
    tier = {"limit": 100, "per": "1s", "burst": 100}
    first = conn(api, state_url, rate_limit=tier, account=account)
    other = conn(api, state_url, rate_limit=tier, account=account)  # another notebook
    first.request("GET", "/feedback", params={"h_X-RateLimit-Remaining": "0",
                                               "h_X-RateLimit-Limit": "5000", "reset_in": "1"})
    assert ik.quota(other)["throttled"]
    waited = timed(other.request, "GET", "/feedback")
    assert 0.5 <= waited <= 2.6, waited
    assert not ik.quota(other)["throttled"]


def test_429_retry_after_is_waited_out_and_shared(api, state_url) -> None:
    account = uuid.uuid4().hex[:8]
    tier = {"limit": 100, "per": "1s", "burst": 100}
    first = conn(api, state_url, rate_limit=tier, account=account)
    other = conn(api, state_url, rate_limit=tier, account=account)
    key = uuid.uuid4().hex
    took = timed(first.request, "GET", "/flaky",
                 params={"key": key, "fail": 1, "status": 429, "retry_after": 1})
    assert took >= 0.9  # the retry waited for Retry-After
    threading.Thread(target=first.request, args=("GET", "/flaky"), kwargs={
        "params": {"key": key + "b", "fail": 1, "status": 429, "retry_after": 1}}).start()
    time.sleep(0.2)
    assert timed(other.request, "GET", "/feedback") >= 0.6  # the pause reached it


def test_shopify_call_limit_header_backs_off(api, state_url) -> None:
    c = conn(api, state_url, rate_limit={"limit": 100, "per": "1s", "burst": 100})
    c.request("GET", "/feedback", params={"h_X-Shopify-Shop-Api-Call-Limit": "39/40"})
    assert timed(c.request, "GET", "/feedback") >= 0.8


def test_graphql_cost_extension_waits_for_the_points(api, state_url) -> None:
    c = conn(api, state_url, rate_limit={"limit": 100, "per": "1s", "burst": 100})
    c.request("POST", "/feedback", params={"cost": "10/110/100"}, json={"query": "{ shop }"})
    assert 0.8 <= timed(c.request, "GET", "/feedback") <= 2.2  # (110 - 10) / 100 per second


# -- quotas ----------------------------------------------------------------------------------
def test_spent_daily_quota_raises_before_calling(api, state_url) -> None:
    c = conn(api, state_url, quotas={"daily": 3})
    for _ in range(3):
        c.request("GET", "/feedback")
    with pytest.raises(ik.QuotaExceededError) as err:
        c.request("GET", "/feedback")
    assert len(apps.arrivals) == 3  # the fourth never left
    message = str(err.value)
    assert "daily quota spent" in message and "resets at" in message and "ik.quota" in message
    status = ik.quota(c)["budgets"]["daily"]
    assert (status["used"], status["limit"], status["remaining"]) == (3, 3, 0)
    assert status["resets_at"].tzinfo is not None


def test_quota_is_shared_by_connections_on_one_state(api, state_url) -> None:
    account = uuid.uuid4().hex[:8]
    a = conn(api, state_url, quotas={"daily": 4}, account=account)
    b = conn(api, state_url, quotas={"daily": 4}, account=account)
    a.request("GET", "/feedback")
    a.request("GET", "/feedback")
    b.request("GET", "/feedback")
    assert ik.quota(b)["budgets"]["daily"]["remaining"] == 1


def test_bulk_work_stops_short_leaving_the_reserve_for_notebooks(api, state_url) -> None:
    account = uuid.uuid4().hex[:8]
    bulk = conn(api, state_url, quotas={"daily": 10, "bulk_reserve": 0.5}, account=account,
                priority="bulk")
    notebook = conn(api, state_url, quotas={"daily": 10, "bulk_reserve": 0.5},
                    account=account)
    for _ in range(5):
        bulk.request("GET", "/feedback")
    with pytest.raises(ik.QuotaExceededError, match="bulk calls stop at 5"):
        bulk.request("GET", "/feedback")
    for _ in range(5):
        notebook.request("GET", "/feedback")
    with pytest.raises(ik.QuotaExceededError):
        notebook.request("GET", "/feedback")


def test_overage_alerts_fire_once_per_threshold(api, state_url) -> None:
    events = []
    ik.on("quota", events.append)
    try:
        c = conn(api, state_url, quotas={"daily": 10, "alerts": [0.5, 0.9]})
        for _ in range(10):
            c.request("GET", "/feedback")
    finally:
        ik.off("quota", events.append)
    mine = [e for e in events if e.limit == 10]
    assert [(e.fraction, e.used) for e in mine] == [(0.5, 5), (0.9, 9)]
    assert mine[0].period == "daily"


def test_sforce_limit_info_catches_the_local_count_up(api, state_url) -> None:
    c = conn(api, state_url, quotas={"daily": 100})
    c.request("GET", "/feedback", params={"h_Sforce-Limit-Info": "api-usage=98/100"})
    assert ik.quota(c)["budgets"]["daily"]["used"] == 98
    c.request("GET", "/feedback")
    c.request("GET", "/feedback")
    with pytest.raises(ik.QuotaExceededError):
        c.request("GET", "/feedback")


def test_concurrency_quota_holds_calls_in_flight_to_the_limit(api, state_url) -> None:
    c = conn(api, state_url, quotas={"concurrent": 2})
    threads = [threading.Thread(target=c.request, args=("GET", "/slow"),
                                kwargs={"params": {"i": i}}) for i in range(6)]
    took = timed(lambda: ([t.start() for t in threads], [t.join() for t in threads]))
    assert apps.hits["in_flight_max"] == 2
    assert took >= 0.55  # three rounds of 0.2 s
    assert ik.quota(c)["budgets"]["concurrent"] == {"in_use": 0, "limit": 2}


def test_quota_by_service_name_reports_the_latest_connection(api, state_url) -> None:
    c = conn(api, state_url, quotas={"daily": 7}, name="mine")
    c.request("GET", "/feedback")
    report = ik.quota("mine")
    assert report["service"] == "mine"
    assert report["budgets"]["daily"]["remaining"] == 6
    assert report["throttled"] is False


def test_quota_by_service_name_reports_the_connection_made_or_used_last(api, state_url) -> None:
    """A short-lived connection (a sandbox's, a one-line listing's) made after the one a
    notebook keeps hides it from ik.quota and the dashboard only until the kept one is used
    again, or until it is gone."""
    import gc

    from integkit._connect import live_connections

    def tiers() -> list[int]:
        return [t["limit"] for t in ik.quota("kept")["limits"]]

    kept = conn(api, state_url, name="kept", rate_limit={"limit": 9, "per": "1s", "burst": 9})
    brief = conn(api, state_url, name="kept", rate_limit=False)
    assert tiers() == [] and [c for c in live_connections() if c.service == "kept"] == [brief]
    kept.request("GET", "/feedback")
    assert tiers() == [9] and [c for c in live_connections() if c.service == "kept"] == [kept]
    brief.request("GET", "/feedback")
    assert tiers() == []
    del brief
    gc.collect()
    assert tiers() == [9] and [c for c in live_connections() if c.service == "kept"] == [kept]
