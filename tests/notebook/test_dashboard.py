"""The dashboard, progress bars and rich reprs, without a browser.

A real extraction runs over HTTP against the rate-limited Stripe emulator (25/s, bursts of 50)
with 429s and 503s injected, on a private state backend; the dashboard's numbers and its
widgets' values must then equal what ``ik.usage()`` and ``ik.quota()`` say.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import integkit as ik
from integkit._notebook._dashboard import (
    Dashboard,
    TextDashboard,
    format_duration,
    format_money,
    format_ms,
    format_ratio,
)
from integkit._notebook._progress import progress_enabled, track
from integkit._notebook._snapshot import percentile, read_snapshot, snapshot

ipywidgets = pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

PRICING = {
    "currency": "USD",
    "default_plan": "metered",
    "plans": {
        "metered": {"model": "per_call", "read": 0.0004, "write": 0.002},
        "team": {"model": "monthly", "fee": 49.0, "included_calls": 50_000, "overage": 0.0008},
    },
}
QUOTAS = {"daily": 20_000, "monthly": 400_000, "concurrent": 8}


@pytest.fixture
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI run: no frontend."""
    for name in ("INTEGKIT_INTERACTIVE", "VOILA_KERNEL_ID", "VOILA_SERVER_URL",
                 "VOILA_BASE_URL", "VOILA_APP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The emulator, a private state backend (ledger, limits, budgets) and a metered plan."""
    before = ik.get_settings()
    path = tmp_path_factory.mktemp("dashboard") / "state.db"
    ik.configure(state=f"sqlite:///{path}")
    ik.ledger.register_pricing("stripe", PRICING)
    try:
        # the sandbox's connections share the configured state, as other processes here do
        with ik.sandbox("stripe", records=2_500, rate_limit="25/50",
                        state=ik.get_settings().state_url) as sandbox:
            yield sandbox
    finally:
        ik.ledger.register_pricing("stripe", None)
        ik.configure(state=before.state)


@pytest.fixture(scope="module")
def run(sb: Any) -> dict[str, Any]:
    """A parallel extraction with 429s and 503s on the way, then cached re-reads."""
    since = time.time()
    conn = sb.connect(quotas=QUOTAS, cache={"ttl": {"*.retrieve": "1h"}},
                      retry={"initialDelay": 0.01, "maxDelay": 0.05})
    sb.faults.fail(429, times=3, after=8, path="/v1/charges*")
    sb.faults.fail(503, times=2, after=14, path="/v1/charges*")
    result = conn.list("charges", parallel=3)
    frame = result.to_frame()
    for _ in range(2):  # the second round comes from the HTTP cache
        for charge_id in frame["id"].head(4):
            conn.retrieve("charges", charge_id)
    sb.faults.clear()
    return {"conn": conn, "since": since, "result": result, "frame": frame}


@pytest.fixture
def usage(run: dict[str, Any]) -> pd.DataFrame:
    return ik.usage(service="stripe", since=run["since"])


# -- the numbers -----------------------------------------------------------------------------
def test_snapshot_matches_usage_and_quota(run: dict[str, Any], usage: pd.DataFrame) -> None:
    conn = run["conn"]
    snap = read_snapshot("stripe", conn, since=run["since"], plan="metered")
    quota = ik.quota(conn)
    assert len(run["frame"]) == 2_500 and run["frame"]["id"].is_unique
    assert snap.calls == len(usage) > 0
    assert snap.rate_limited == int((usage["status"] == 429).sum()) >= 3
    assert snap.retries == int((usage["attempt"] > 1).sum()) >= 5
    assert snap.errors == int((usage["status"] >= 400).sum())
    assert snap.cache_hits == int(usage["cached"].sum()) == 4
    assert snap.cache_hit_ratio == pytest.approx(usage["cached"].mean())
    real = usage.loc[~usage["cached"], "latency"]
    assert snap.latency_p50 == pytest.approx(real.quantile(0.5))
    assert snap.latency_p95 == pytest.approx(real.quantile(0.95))
    assert snap.cost == pytest.approx(usage["cost"].sum()) and snap.cost > 0
    assert snap.bytes == int(usage["bytes"].sum())
    assert sum(c for _, c, _ in snap.timeline) == snap.calls
    assert sum(r for _, _, r in snap.timeline) == snap.rate_limited
    assert sum(n for _, _, n in snap.latency_histogram) == len(real)
    by_endpoint = {e.endpoint: e for e in snap.endpoints}
    assert by_endpoint["charges.list"].calls == int((usage["endpoint"] == "charges.list").sum())
    for period in ("daily", "monthly"):
        budget, expected = snap.budget(period), quota["budgets"][period]
        assert budget is not None
        assert (budget.used, budget.limit, budget.remaining) == (
            expected["used"], expected["limit"], expected["remaining"])
        left = (expected["resets_at"] - dt.datetime.now(dt.UTC)).total_seconds()
        assert budget.resets_in == pytest.approx(left, abs=5)
    assert snap.budget("concurrent") is not None
    assert snap.budget("concurrent").limit == 8  # type: ignore[union-attr]
    assert [t.name for t in snap.tiers] == [t["tier"] for t in quota["limits"]]
    assert snap.throttled == quota["throttled"]
    bill = ik.costs(plan="metered", service="stripe").iloc[0]
    assert snap.plan == "metered" and snap.currency == "USD"
    assert snap.month_total == pytest.approx(bill["total"])
    assert snap.month_projected == pytest.approx(bill["projected_total"], rel=1e-3)


def test_widgets_show_the_same_numbers(run: dict[str, Any], usage: pd.DataFrame) -> None:
    conn = run["conn"]
    panel = ik.dashboard(conn, since=run["since"], plan="team", widget=True, live=False)
    assert isinstance(panel, Dashboard) and not panel.running
    section = panel.sections["stripe"]
    quota = ik.quota(conn)["budgets"]
    for period in ("daily", "monthly"):
        bar, label = section.bars[period]
        assert (bar.value, bar.max) == (quota[period]["remaining"], quota[period]["limit"])
        assert bar.description == period and "resets in" in label.value
    bar, label = section.bars["concurrent"]
    assert bar.max == 8 and "slots in use" in label.value
    tier, _ = section.bars["tier:requests"]
    assert tier.max == 50
    metrics = {key: w.value for key, w in section.metrics.items()}
    real = usage.loc[~usage["cached"], "latency"]
    assert f"<b>{len(usage):,}</b>" == metrics["calls"]
    assert f"<b>{int((usage['status'] == 429).sum())}</b>" == metrics["rate_limited"]
    assert f"<b>{int((usage['attempt'] > 1).sum())}</b>" == metrics["retries"]
    assert format_ratio(usage["cached"].mean()) in metrics["cache_hit_ratio"]
    assert format_ms(real.quantile(0.5)) in metrics["latency_p50"]
    assert format_ms(real.quantile(0.95)) in metrics["latency_p95"]
    assert format_money(usage["cost"].sum(), "USD") in metrics["cost"]
    team = ik.costs(plan="team", service="stripe").iloc[0]
    assert format_money(team["total"], "USD") in metrics["month"] == "<b>49.00 USD</b>"
    assert section.calls_chart.value.startswith("<svg") and "calls per minute" in \
        section.calls_chart.value
    assert "p95" in section.latency_chart.value
    assert "charges.list" in panel.cost_chart.value
    assert "not throttled" in section.throttle.value
    assert "stripe: " in str(panel) and "daily quota" in str(panel)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    other = ipywidgets.Label("not the dashboard's")
    panel.close()
    assert panel.widget.comm is None and section.calls_chart.comm is None
    assert other.comm is not None  # closing the panel closes its widgets only


def test_counts_calls_of_other_processes_sharing_the_key(run: dict[str, Any], sb: Any) -> None:
    conn = run["conn"]
    before = read_snapshot("stripe", conn, since=run["since"])
    child = textwrap.dedent(f"""
        import integkit as ik
        ik.configure(state={ik.get_settings().state!r})
        conn = ik.connect("stripe", api_key={sb.api_key!r}, base_url={sb.url!r},
                          quotas={QUOTAS!r}, rate_limit=False)
        for _ in range(7):
            conn.request("GET", "/v1/charges", params={{"limit": 1}})
    """)
    subprocess.run([sys.executable, "-c", child], check=True, timeout=60)
    after = read_snapshot("stripe", conn, since=run["since"])
    assert after.calls == before.calls + 7
    daily_before, daily_after = before.budget("daily"), after.budget("daily")
    assert daily_before is not None and daily_after is not None
    assert daily_after.used == daily_before.used + 7  # one budget for every process


def test_timer_refreshes_live_and_stops(run: dict[str, Any]) -> None:
    conn = run["conn"]
    panel = ik.dashboard(conn, since=run["since"], widget=True, interval=0.1)
    assert isinstance(panel, Dashboard)
    try:
        assert panel.running
        calls = panel.sections["stripe"].metrics["calls"]
        before = calls.value
        conn.request("GET", "/v1/charges", params={"limit": 1})
        deadline = time.monotonic() + 5
        while calls.value == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls.value != before  # the timer saw the new ledger row, nobody called refresh
    finally:
        panel.stop()
    assert not panel.running
    assert not [t for t in threading.enumerate() if t.name == "integkit-dashboard"]
    panel.close()


def test_headless_returns_text_and_starts_no_timer(run: dict[str, Any], headless: None) -> None:
    text = ik.dashboard(run["conn"], since=run["since"], plan="metered")
    assert isinstance(text, TextDashboard) and not text.running
    shown = repr(text)
    assert shown.startswith("integkit dashboard since")
    assert "stripe:" in shown and "x 429" in shown and "daily quota" in shown
    assert "resets in" in shown and "projected" in shown and "CI=true" in shown
    assert not [t for t in threading.enumerate() if t.name == "integkit-dashboard"]
    before = text.snapshots[0].calls
    run["conn"].request("GET", "/v1/charges", params={"limit": 1})
    assert text.refresh()[0].calls == before + 1
    assert "<" not in str(text)  # plain text, no markup


def test_default_is_every_live_connection(run: dict[str, Any], headless: None) -> None:
    panel = ik.dashboard(since=run["since"])
    assert "stripe" in [s.service for s in panel.snapshots]
    named = ik.dashboard("stripe", since=run["since"])
    assert named.snapshots[0].budgets  # the live connection's quota, found by name


def test_voila_counts_as_a_frontend(headless: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from integkit._notebook._frontend import frontend_missing

    assert frontend_missing() == "CI=true"
    monkeypatch.setenv("VOILA_KERNEL_ID", "k1")
    assert frontend_missing() is None
    monkeypatch.setenv("INTEGKIT_INTERACTIVE", "0")
    assert frontend_missing() == "INTEGKIT_INTERACTIVE=0"


# -- the pure parts --------------------------------------------------------------------------
def test_snapshot_of_synthetic_rows() -> None:
    now = 1_700_000_000.0
    rows = [
        {"time": now - 50 + i, "service": "x", "endpoint": "a" if i % 2 else "b",
         "status": 429 if i == 3 else 200, "latency": 0.01 * (i + 1), "cached": i == 9,
         "bytes": 10, "cost": 0.5 if i % 2 else None, "attempt": 2 if i == 4 else 1}
        for i in range(10)
    ]
    quota = {"budgets": {"daily": {"used": 10, "limit": 100, "remaining": 90,
                                   "resets_at": dt.datetime.fromtimestamp(now + 3600, dt.UTC)}},
             "limits": [{"tier": "requests", "limit": 5, "per_seconds": 1.0, "burst": 10,
                         "in_use": 3, "paused_until": now + 2}],
             "throttled": True, "resumes_in": 2.0, "seconds_waited": 1.5}
    snap = snapshot("x", rows, quota, now=now)
    assert (snap.calls, snap.rate_limited, snap.retries, snap.cache_hits) == (10, 1, 1, 1)
    assert snap.errors == 1 and snap.bytes == 100 and snap.calls_last_minute == 10
    assert snap.cost == pytest.approx(2.5)
    assert snap.latency_p50 == pytest.approx(pd.Series([0.01 * (i + 1) for i in range(9)])
                                             .quantile(0.5))
    assert snap.budget("daily").resets_in == pytest.approx(3600)  # type: ignore[union-attr]
    assert snap.tiers[0].paused_for == pytest.approx(2) and snap.throttled
    assert snap.bucket_seconds == 1 and snap.endpoints[0].endpoint == "a"
    assert snapshot("x", [], None, now=now).cache_hit_ratio is None
    assert percentile([], 0.5) is None and percentile([3.0], 0.95) == 3.0
    assert format_duration(3 * 3600 + 65) == "3h 01m" and format_duration(None) == "-"


# -- progress ------------------------------------------------------------------------------
def test_progress_off_headless(run: dict[str, Any], headless: None,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert not progress_enabled(None)
    result = run["conn"].list("charges")
    assert not track(result).enabled
    result.fetch_all()
    assert "records" not in capsys.readouterr().err


def test_progress_on_when_forced(run: dict[str, Any], headless: None,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    result = run["conn"].list("charges")
    result.fetch_all(progress=True)
    err = capsys.readouterr().err
    assert "stripe charges.list" in err and "records" in err and "pages=" in err
    assert "waited=" in err and "2.50k" in err
    parallel = run["conn"].list("charges", parallel=3)
    parallel.progress = True  # to_frame() reads the attribute
    assert len(parallel.to_frame()) == 2_500
    err = capsys.readouterr().err
    assert "partitions=" in err and "2.50k" in err


def test_progress_skips_one_page_reads_and_missing_tqdm(
        run: dict[str, Any], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    run["conn"].list("charges", max_records=50).fetch_all(progress=True)
    assert "records" not in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails: no bar, no error
    result = run["conn"].list("charges").fetch_all(progress=True)
    assert result.complete and "records" not in capsys.readouterr().err


# -- rich reprs ------------------------------------------------------------------------------
def test_connection_repr_html(run: dict[str, Any], sb: Any) -> None:
    conn = run["conn"]
    html, text = conn._repr_html_(), repr(conn)
    for shown in (html, text):
        assert "stripe" in shown.lower() and sb.url in shown
        assert "Bearer(sk_t***)" in shown and sb.api_key not in shown
        assert "25 per 1s" in shown
    assert "daily: " in html and "of 20,000 left" in html and "concurrent" in html
    assert "2023-08-16" in html and "not throttled" in html


def test_result_repr_html(run: dict[str, Any]) -> None:
    lazy = run["conn"].list("customers")
    assert "nothing fetched yet" in lazy._repr_html_()
    html = run["result"]._repr_html_()
    assert "stripe charges.list" in html and "complete" in html
    assert "2,500" in html and "records so far" in html and "partitions" in html
    assert "<code>amount</code>" in html and "int64" in html and "more columns" in html
    assert run["result"].stats.retries and f"{run['result'].stats.retries:,} retries" in html


def test_error_repr_html_escapes_and_redacts(sb: Any) -> None:
    conn = sb.connect()
    with pytest.raises(ik.NotFoundError) as info:
        conn.retrieve("charges", "ch_missing")
    err = info.value
    html = err._repr_html_()
    assert "NotFoundError" in html and "what happened" in html and "what to do" in html
    assert err.request_id and err.request_id in html and "404" in html
    assert "no: the same call will fail again" in html
    assert err.request_id in repr(err) and "status=404" in repr(err)
    forged = ik.RateLimitError(f"<script>alert(1)</script> key {sb.api_key}", status=429,
                               service="stripe", request_id="req_<b>", retry_after=3,
                               body=f'{{"key": "{sb.api_key}"}}')
    html = forged._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "req_&lt;b&gt;" in html
    assert sb.api_key not in html and sb.api_key not in repr(forged)
    assert "3.0s" in html and "yes: trying again later can succeed" in html
    config = ik.ConfigError(f"set STRIPE_SECRET_KEY, not {sb.api_key}")
    assert sb.api_key not in config._repr_html_() and sb.api_key not in repr(config)
    assert "ConfigError" in config._repr_html_()


def test_a_connection_whose_own_state_is_down_does_not_blank_the_panel(
        headless: None, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ik.sandbox("stripe", records=3) as sb:
        working = sb.connect()
        working.list("charges").to_frame()
        down = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url, rate_limit=False,
                          state=f"redis://127.0.0.1:{port}/0")
        panel = ik.dashboard(working, down)
    assert [s.calls for s in panel.snapshots] == [1, 0]
    assert "stripe calls not shown: the Redis state backend" in caplog.text
