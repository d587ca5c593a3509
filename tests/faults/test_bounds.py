"""Bounds: wrong types and nonsense values fail at the public entry points (ik.connect, ik.rest,
conn.list, rate-limit tiers and quotas, ik.configure) with an integkit error naming the
parameter, before a single call: never a raw Python exception, a wait that never ends, a
runaway thread pool or a silently empty answer. The ``home`` server records that nothing was
sent.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from starlette.responses import JSONResponse

import integkit as ik

NAN = float("nan")


def rest(home, **options) -> ik.Connection:
    return ik.rest(home.url, cache=False, account=uuid.uuid4().hex[:10], **options)


def refused(error_type, name: str, fn, *args, **kwargs) -> ik.IntegkitError:
    """``fn`` fails with ``error_type``, naming ``name``."""
    with pytest.raises(error_type) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, ik.IntegkitError)
    assert name in str(info.value), str(info.value)
    return info.value


@pytest.mark.parametrize(("option", "value"), [
    ("timeout", -1), ("timeout", NAN), ("timeout", "soon"), ("timeout", 0),
    ("deadline", 0), ("deadline", -5), ("deadline", "tomorrow"), ("deadline", float("inf")),
    ("priority", "urgent"),
])
def test_connection_options_are_checked_by_ik_rest_and_ik_connect(home, option, value) -> None:
    refused(ik.ConfigError, option, rest, home, **{option: value})
    refused(ik.ConfigError, option, ik.connect, "stripe", api_key="sk_test_bounds_123456",
            base_url=home.url, **{option: value})
    assert home.seen == []


@pytest.mark.parametrize(("tier", "name"), [
    ({"limit": 0}, "limit"), ({"limit": -3}, "limit"), ({"limit": "10"}, "limit"),
    ({"limit": 2.5}, "limit"), ({"limit": True}, "limit"), ({"per": "1s"}, "limit"),
    ({"limit": 10, "per": "-1s"}, "per"), ({"limit": 10, "per": 0}, "per"),
    ({"limit": 10, "per": NAN}, "per"), ({"limit": 10, "burst": 0}, "burst"),
    ({"limit": 10, "margin": 1.5}, "margin"), ({"limit": 10, "margin": NAN}, "margin"),
    ({"limit": 10, "scope": "planet"}, "scope"), ({"limit": 10, "endpoints": "x*"}, "endpoints"),
    ({"limit": 10, "speed": 3}, "speed"),
])
def test_rate_limit_tiers_are_validated(home, tier, name) -> None:
    refused(ik.ConfigError, name, rest, home, rate_limit=tier)
    refused(ik.ConfigError, name, ik._http.RateTier.from_config, tier)
    assert home.seen == []


def test_a_rate_limit_that_is_not_a_tier_is_refused(home) -> None:
    refused(ik.ConfigError, "rate_limit", rest, home, rate_limit="fast")
    refused(ik.ConfigError, "rate limit tier", rest, home, rate_limit=[{"limit": 5}, 7])


@pytest.mark.parametrize(("quotas", "name"), [
    ({"concurrent": -1}, "concurrent"), ({"concurrent": 0}, "concurrent"),
    ({"daily": 0}, "daily"), ({"daily": "100"}, "daily"), ({"monthly": 1.5}, "monthly"),
    ({"lease_seconds": 0}, "lease_seconds"), ({"bulk_reserve": 2}, "bulk_reserve"),
    ({"bulk_reserve": NAN}, "bulk_reserve"), ({"alerts": [2.0]}, "alerts"),
    ({"alerts": 0.8}, "alerts"), ({"not_modified_free": "yes"}, "not_modified_free"),
    ({"weekly": 5}, "weekly"),
])
def test_quotas_are_validated_so_a_negative_slot_count_cannot_wait_for_ever(
        home, quotas, name) -> None:
    refused(ik.ConfigError, name, rest, home, quotas=quotas)
    refused(ik.ConfigError, name, ik._http.QuotaConfig.from_config, quotas)
    assert home.seen == []


@pytest.mark.parametrize(("retry", "name"), [
    ({"maxAttempts": 0}, "maxAttempts"), ({"maxAttempts": "5"}, "maxAttempts"),
    ({"initialDelay": -1}, "initialDelay"), ({"maxRetryAfter": NAN}, "maxRetryAfter"),
    ({"backoffMultiplier": 0.5}, "backoffMultiplier"), ({"retryStatuses": "503"},
                                                        "retryStatuses"),
    ({"tries": 3}, "tries"),
])
def test_retry_settings_are_validated(home, retry, name) -> None:
    refused(ik.ConfigError, name, rest, home, retry=retry)


@pytest.mark.parametrize(("breaker", "name"), [
    ({"failureThreshold": 0}, "failureThreshold"), ({"failureThreshold": "8"},
                                                    "failureThreshold"),
    ({"resetTimeout": -1}, "resetTimeout"), ({"resetAfter": 3}, "resetAfter"),
])
def test_breaker_settings_are_validated(home, breaker, name) -> None:
    refused(ik.ConfigError, name, rest, home, breaker=breaker)


@pytest.mark.parametrize(("option", "value"), [
    ("max_records", "10"), ("max_records", 0), ("max_records", -1), ("max_records", 2.5),
    ("parallel", "4"), ("parallel", 0), ("parallel", -2), ("parallel", True),
    ("parallel", 3000), ("deadline", -1), ("deadline", NAN), ("cache", "-1h"),
    ("cache", "forever"), ("checkpoint", 42), ("priority", "now"),
])
def test_listing_options_are_validated_before_any_call(home, option, value) -> None:
    home.route("/items", lambda request: JSONResponse({"data": [{"id": 1}]}))
    c = rest(home)
    refused(ik.ConfigError, option, c.list, "/items", **{option: value})
    assert home.seen == []


def test_parallel_3000_starts_no_thread_and_says_what_to_do(home) -> None:
    home.route("/items", lambda request: JSONResponse({"data": []}))
    before = threading.active_count()
    error = refused(ik.ConfigError, "parallel", rest(home).list, "/items", parallel=3000)
    assert "at most 64" in str(error) and "rate limits" in str(error)
    assert threading.active_count() <= before + 1 and home.seen == []
    refused(ik.ConfigError, "parallel", ik.gather, rest(home).list("/items"), parallel=3000)
    refused(ik.ConfigError, "parallel", ik.gather, rest(home).list("/items"), parallel="2")


@pytest.mark.parametrize(("params", "name"), [
    ({"created": {"gte": "2024-02-01", "lt": "2024-01-01"}}, "created"),
    ({"created": {"gt": 1_700_000_000, "lte": 1_600_000_000}}, "created"),
    ({"created": {"gte": "2024-01-01", "lt": "2024-01-01"}}, "created"),
    ({"created": {"gte": NAN}}, "created"),
    ({"created": {"lt": float("inf")}}, "created"),
    ({"since": "2024-03-01", "until": "2024-01-01"}, "since"),
    ({"oldest": "1712345678.000100", "latest": "1712000000"}, "oldest"),
    ({"amount": NAN}, "amount"),
    ({"ids": [1, 2, NAN]}, "ids"),
])
def test_nan_and_inverted_ranges_are_refused_rather_than_answered_empty(
        home, params, name) -> None:
    home.route("/items", lambda request: JSONResponse({"data": []}))
    error = refused(ik.InvalidRequestError, name, rest(home).list, "/items", **params)
    assert error.endpoint == "/items"
    assert home.seen == []


def test_ranges_that_hold_records_are_sent(home) -> None:
    home.route("/items", lambda request: JSONResponse({"data": [{"id": 1}]}))
    c = rest(home)
    c.list("/items", records_path="data", created={"gte": "2024-01-01", "lte": "2024-01-01"},
           since="2024-01-01", until="2024-02-01").to_frame()
    assert len(home.seen) == 1


def test_a_connectors_own_date_ranges_are_checked_too(home) -> None:
    stripe = ik.connect("stripe", api_key="sk_test_bounds_123456", base_url=home.url,
                        cache=False)
    refused(ik.InvalidRequestError, "created", stripe.list, "charges",
            created={"gte": "2024-06-01", "lt": "2024-01-01"})
    refused(ik.InvalidRequestError, "created", stripe.list, "charges", created={"gte": NAN},
            parallel=4)
    slack = ik.connect("slack", token="xoxb-bounds-123456", base_url=home.url, cache=False)
    refused(ik.InvalidRequestError, "oldest", slack.list, "history", channel="C1",
            oldest="2024-05-01", latest="2024-04-01")
    assert home.seen == []


@pytest.mark.parametrize(("setting", "value"), [
    ("state_timeout", 0), ("state_timeout", -1), ("state_timeout", "slow"),
    ("state_fallback", "maybe"),
])
def test_state_settings_are_validated(setting, value) -> None:
    before = ik.get_settings()
    refused(ik.ConfigError, setting, ik.configure, **{setting: value})
    assert ik.get_settings() == before


def test_clear_pause_must_be_a_bool(home) -> None:
    c = rest(home, rate_limit={"limit": 5})
    refused(ik.ConfigError, "clear_pause", ik.quota, c, clear_pause="yes")
