"""One duration grammar everywhere: every option that takes a length of time (cache TTLs and
``cache=``, retry delays, limits' ``per``, the breaker's pause, quotas' leases, OAuth's leeway,
deadlines, timeouts, webhook windows...) reads numbers as seconds, ``"90s"``, ``"5min"`` /
``"5m"``, ``"1h"``, ``"1d"``, ``"1w"`` and ISO 8601 (``"PT1H"``, ``"P1D"``, ``"P1W"``) through
one parser, and refuses anything else with a ConfigError naming the option.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

import integkit as ik
from integkit._http import CircuitBreaker, QuotaConfig, RateTier, RetryPolicy
from integkit._validate import duration
from integkit.cache import CacheSettings

UNITS = {"ms": 0.001, "s": 1, "sec": 1, "seconds": 1, "m": 60, "min": 60, "minutes": 60,
         "h": 3600, "hr": 3600, "hours": 3600, "d": 86400, "days": 86400, "w": 604800,
         "weeks": 604800}
LARGEST_FIRST = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def spelt(seconds: int) -> str:
    """``seconds`` in the largest unit that divides it: 7200 -> "2h"."""
    for unit, size in LARGEST_FIRST:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError


def iso(weeks: int, days: int, hours: int, minutes: int, seconds: int) -> str:
    time_part = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S"))
                        if n)
    date_part = "".join(f"{n}{u}" for n, u in ((weeks, "W"), (days, "D")) if n)
    return "P" + date_part + (f"T{time_part}" if time_part else "") if (
        date_part or time_part) else "PT0S"


# -- the grammar -----------------------------------------------------------------------------
@given(number=st.integers(min_value=0, max_value=10**6) | st.decimals(
    min_value=0, max_value=10**4, places=3, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(sorted(UNITS)), space=st.sampled_from(["", " "]))
def test_a_number_and_a_unit_is_that_many_units(number, unit, space) -> None:
    text = f"{number}{space}{unit}"
    assert math.isclose(duration(text, "x"), float(number) * UNITS[unit], rel_tol=1e-12)
    assert math.isclose(duration(text.upper(), "x"), float(number) * UNITS[unit],
                        rel_tol=1e-12)


@given(st.integers(min_value=0, max_value=10**9))
def test_seconds_spelt_in_a_unit_read_back_as_the_same_seconds(seconds) -> None:
    assert duration(spelt(seconds), "x") == seconds
    assert duration(seconds, "x") == duration(str(seconds), "x") == seconds
    assert duration(dt.timedelta(seconds=seconds), "x") == seconds


@given(*(st.integers(min_value=0, max_value=400) for _ in range(5)))
def test_equivalent_spellings_are_equal(weeks, days, hours, minutes, seconds) -> None:
    total = weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds
    spellings = [
        total, str(total), f"{total}s", iso(weeks, days, hours, minutes, seconds),
        f"{weeks}w{days}d{hours}h{minutes}m{seconds}s",
        f"{weeks}w {days}d {hours}h {minutes}min {seconds}s",
        dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds),
    ]
    assert {duration(s, "x") for s in spellings} == {float(total)}


@given(st.text(max_size=12))
def test_any_text_is_a_duration_or_a_config_error_naming_the_option(text) -> None:
    try:
        seconds = duration(text, "the_option")
    except ik.ConfigError as exc:
        assert "the_option" in str(exc) and "'1w'" in str(exc) and "PT1H" in str(exc)
    else:
        assert math.isfinite(seconds) and seconds >= 0


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("5min", 300), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1w", 604800),
    ("PT1H", 3600), ("P1D", 86400), ("P1W", 604800), ("PT1.5S", 1.5), ("PT0,5H", 1800),
    ("p1dt12h", 129600), ("500ms", 0.5), ("1h30m", 5400), ("2 hours", 7200), (".5s", 0.5),
])
def test_the_spellings_the_docs_use(text, seconds) -> None:
    assert duration(text, "x") == seconds


@pytest.mark.parametrize("value", [
    "-1s", "soon", "1x", "P", "PT", "P1DT", "1h1", "1e3s", "inf", "", float("nan"),
    float("inf"), -5, True, None, [], "1 s s",
])
def test_nonsense_is_refused_naming_the_option(value) -> None:
    with pytest.raises(ik.ConfigError, match="the_option must be 0 or more seconds"):
        duration(value, "the_option")


@pytest.mark.parametrize("value", ["P1M", "P1Y", "1mo", "2 months", "1y"])
def test_months_and_years_are_refused_since_their_length_varies(value) -> None:
    with pytest.raises(ik.ConfigError, match="no fixed length.*'30d'"):
        duration(value, "ttl")


def test_zero_is_refused_where_a_positive_duration_is_needed() -> None:
    assert duration("0s", "x") == 0
    with pytest.raises(ik.ConfigError, match="per must be more than 0 seconds"):
        duration("PT0S", "per", positive=True)


# -- every place that takes a duration ------------------------------------------------------
def rest(home, **options) -> ik.Connection:
    options.setdefault("cache", False)
    return ik.rest(home.url, account=uuid.uuid4().hex[:10], **options)


def test_cache_ttls_take_weeks_and_iso(home) -> None:
    settings = CacheSettings.from_config({"defaultTtl": "1w", "ttl": {"*.retrieve": "PT1H"},
                                          "stale_if_error": "P1D"})
    assert (settings.default_ttl, settings.ttl, settings.stale_if_error) == (
        604800.0, (("*.retrieve", 3600.0),), 86400.0)
    assert CacheSettings(default_ttl="5min").default_ttl == 300
    conn = rest(home, cache={"default_ttl": "P1W"})
    assert conn._cache_config.default_ttl == 604800  # noqa: SLF001
    assert rest(home, cache="1h")._cache_config.default_ttl == 3600  # noqa: SLF001
    with pytest.raises(ik.ConfigError, match="cache must be"):
        rest(home, cache="for a while")
    with pytest.raises(ik.ConfigError, match="cache stale_if_error must be"):
        rest(home, cache={"stale_if_error": "a while"})


@pytest.mark.parametrize("cache", ["1w", "P1D", "PT90M", 3600, "1h30m"])
def test_list_cache_takes_any_duration_and_a_rerun_reads_no_page(home, cache) -> None:
    marker = uuid.uuid4().hex
    home.route("/items", lambda request: JSONResponse({"data": [{"id": 1, "m": marker}]}))
    conn = rest(home, paginator="single_page", records_path="data")
    first = conn.list("/items", cache=cache, tag=marker).to_frame()
    again = conn.list("/items", cache=cache, tag=marker).to_frame()
    assert list(first["m"]) == list(again["m"]) == [marker]
    assert len([s for s in home.seen if s.path == "/items"]) == 1


def test_retry_delays_take_durations_and_the_first_retry_waits_them(home, sleeps) -> None:
    answers = iter([JSONResponse({"e": 1}, status_code=503), JSONResponse({"ok": True})])
    home.route("/flaky", lambda request: next(answers))
    conn = rest(home, sleep=sleeps, retry={"initialDelay": "1s", "maxDelay": "PT2S",
                                           "maxAttempts": 2})
    assert conn.request("GET", "/flaky") == {"ok": True}
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 1.0
    direct = RetryPolicy(initial_delay="1s", max_delay="PT30S", max_retry_after="2m")
    assert (direct.initial_delay, direct.max_delay, direct.max_retry_after) == (1, 30, 120)
    assert 0 <= direct.backoff(1) <= 1.0  # was a TypeError on the first retry
    with pytest.raises(ik.ConfigError, match="retry initial_delay must be"):
        RetryPolicy(initial_delay="a second")


def test_rate_limit_per_takes_durations() -> None:
    assert RateTier.from_config({"limit": 5, "per": "PT1M"}).per == 60
    assert RateTier.from_config({"limit": 5, "per": "1w"}).per == 604800
    assert RateTier(name="x", limit=5, per="90s").per == 90
    with pytest.raises(ik.ConfigError, match="rate limit tier 'x' per must be more than 0"):
        RateTier(name="x", limit=5, per="0s")


def test_the_breaker_pause_takes_durations() -> None:
    assert CircuitBreaker(reset_timeout="2m").reset_timeout == 120
    assert CircuitBreaker.from_config({"resetTimeout": "PT30S"}).reset_timeout == 30
    with pytest.raises(ik.ConfigError, match="breaker reset_timeout must be more than 0"):
        CircuitBreaker(reset_timeout="0s")


def test_quota_leases_take_durations() -> None:
    assert QuotaConfig.from_config({"lease_seconds": "2m"}).lease_seconds == 120
    assert QuotaConfig(lease_seconds="PT90S").lease_seconds == 90


def test_oauth_leeway_and_lifetimes_take_durations(tmp_path) -> None:
    auth = ik.auth.OAuth2(token_url="https://login.example.com/token", client_id="app",
                          client_secret="s3cret-duration-test", refresh_skew="5m",
                          refresh_token_lifetime="P7D", warn_before="1d", timeout="PT10S",
                          store=False)
    assert (auth.refresh_skew, auth.refresh_token_lifetime, auth.warn_before) == (
        300, 604800, 86400)
    path = tmp_path / "leeway.yaml"
    path.write_text("service: leeway_api\nbase_url: https://api.example.com\n"
                    "auth: {type: oauth2, grant: client_credentials, token_path: /token,\n"
                    "       leeway: 2m}\n")
    conn = ik.connect(str(path), client_id="app", client_secret="s3cret-duration-test")
    assert isinstance(conn.auth, ik.auth.OAuth2) and conn.auth.refresh_skew == 120
    with pytest.raises(ik.ConfigError, match="refresh_skew must be"):
        ik.auth.OAuth2(token_url="https://login.example.com/token", client_id="app",
                       client_secret="s3cret-duration-test", refresh_skew="early")


def test_deadlines_and_timeouts_take_durations(home, tmp_path) -> None:
    conn = rest(home, deadline="PT5M", timeout="10s")
    assert conn.deadline == 300 and conn.client.timeout.read == 10
    path = tmp_path / "slow.yaml"
    path.write_text(f"service: slow_api\nbase_url: {home.url}\n"
                    "timeout: {connect: 5s, read: 1m, total: PT10M}\n")
    defined = ik.connect(str(path))
    assert defined.deadline == 600
    assert (defined.client.timeout.connect, defined.client.timeout.read) == (5, 60)
    home.route("/items", lambda request: JSONResponse({"data": []}))
    assert rest(home).list("/items", deadline="1w").to_frame().empty
    zero = tmp_path / "zero.yaml"
    zero.write_text(f"service: zero_api\nbase_url: {home.url}\ntimeout: {{read: 0s}}\n")
    with pytest.raises(ik.ConfigError, match="timeout read must be more than 0"):
        ik.connect(str(zero))


def test_webhook_tolerance_takes_durations() -> None:
    secret, body = "whsec_duration_test_123", json.dumps({"id": "evt_1"}).encode()
    signed_at = int(time.time()) - 600  # ten minutes ago
    headers = ik.webhooks.sign("stripe", body, secret=secret, timestamp=signed_at)
    assert ik.webhooks.verify("stripe", body, headers, secret=secret,
                              tolerance="15min")["id"] == "evt_1"
    with pytest.raises(ik.SignatureError, match="replay window"):
        ik.webhooks.verify("stripe", body, headers, secret=secret, tolerance="PT5M")
    with pytest.raises(ik.ConfigError, match="tolerance must be"):
        ik.webhooks.verify("stripe", body, headers, secret=secret, tolerance="lenient")


def test_other_waits_take_durations() -> None:
    before = ik.get_settings()
    try:
        assert ik.configure(state_timeout="PT2S").state_timeout == 2
    finally:
        ik.configure(state_timeout=before.state_timeout)
    signed = httpx.Request("GET", "https://api.example.com/x")
    hmac = ik.auth.Hmac("key_1", "hmac-secret-duration-1")
    signed = next(hmac.auth_flow(signed))
    assert ik.auth.verify_hmac("GET", str(signed.url), signed.headers, b"",
                               {"key_1": "hmac-secret-duration-1"}, max_age="5m") == "key_1"
    with pytest.raises(ik.ConfigError, match="max_age must be"):
        ik.auth.verify_hmac("GET", str(signed.url), signed.headers, b"",
                            {"key_1": "hmac-secret-duration-1"}, max_age="recent")
    with pytest.raises(ik.ConfigError, match="remember_for must be more than 0"):
        ik.webhooks.Router(state=True, remember_for="0s")
    store = ik.auth.TokenStore("memory", lock_ttl="1m", lock_timeout="PT90S")
    assert (store.lock_ttl, store.lock_timeout) == (60, 90)


def test_credential_waits_take_durations() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    app = ik.auth.GitHubApp(12345, key, installation_id=1, refresh_margin="10m")
    assert app.refresh_margin == 600
    with pytest.raises(ik.ConfigError, match="refresh_margin must be"):
        ik.auth.GitHubApp(12345, key, installation_id=1, refresh_margin="early")
    browser = ik.auth.OAuth2(token_url="https://login.example.com/token", client_id="app",
                             authorize_url="https://login.example.com/authorize", store=False)
    with pytest.raises(ik.ConfigError, match="timeout must be more than 0"):
        browser.login_loopback(timeout="whenever", on_url=print)


def test_service_options_take_durations(home) -> None:
    salesforce = ik.connect("salesforce", access_token="00D_duration_token_123",
                            instance_url=home.url, bulk_poll_interval="250ms")
    assert salesforce.bulk_poll_interval == 0.25
    github = ik.connect("github", token="ghp_duration_test_123456", base_url=home.url,
                        rate_limit=False)
    with pytest.raises(ik.ConfigError, match="max_interval must be"):
        github.watch_workflow("octo", "repo", "ci.yml", run_id=1, max_interval="a minute")
    assert home.seen == []


def test_panels_sandboxes_and_aws_sessions_take_durations() -> None:
    from integkit.auth._aws import aws_session

    panel = ik.dashboard(widget=True, live=False, interval="PT2S")
    assert panel.interval == 2
    with pytest.raises(ik.ConfigError, match="dashboard: interval must be"):
        ik.dashboard(widget=False, interval="often")
    with pytest.raises(ik.ConfigError, match="ik.login: timeout must be"):
        ik.login("stripe", timeout="whenever")
    with ik.sandbox("stripe", records=1, latency="50ms") as sb:
        assert sb.emulator.latency == 0.05
    with pytest.raises(ik.ConfigError, match="15 minutes to 12 hours"):
        aws_session(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/r",
                    duration="10m")
    with pytest.raises(ik.ConfigError, match="aws_session: duration must be"):
        aws_session(region="us-east-1", role_arn="arn:aws:iam::123456789012:role/r",
                    duration="a while")
