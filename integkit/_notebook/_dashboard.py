"""``ik.dashboard()``: a live panel of quota, throttling, calls, latency, cache hits and cost.

One section per connection, fed only by the state backend (the call ledger and the shared
limits and budgets), so it also shows what other processes sharing the key spend. With a
frontend the panel is an ipywidgets box refreshed by a background timer every ``interval``
seconds (the kernel's main thread is busy running the extraction; the timer is what keeps the
panel moving) until :meth:`Dashboard.stop`. Without one (papermill, nbval, CI, a script with no
terminal) ``ik.dashboard()`` returns a :class:`TextDashboard`: the same numbers as plain text,
and no timer.

The numbers come from :mod:`._snapshot` (pure, tested without a browser); this module only
lays them out.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from .._connect import live_connections
from .._events import logger
from .._validate import positive_duration
from ..ledger import ledger_for, to_epoch
from ._frontend import frontend_missing
from ._snapshot import Snapshot, month_bill, read_snapshot, shown

__all__ = [
    "Dashboard",
    "TextDashboard",
    "dashboard",
    "format_duration",
    "format_money",
    "format_ms",
    "format_ratio",
    "summary_text",
]

_BILL_EVERY_S = 5.0  # the month's bill re-reads the month's rows: not on every tick


# -- formatting (shared by the text summary and the widgets) -----------------------------------
def format_duration(seconds: float | None) -> str:
    """``3d 4h``, ``5h 19m``, ``4m 05s``, ``2.5s``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def format_ms(seconds: float | None) -> str:
    """A latency in milliseconds (``-`` before the first attempt)."""
    return "-" if seconds is None else f"{seconds * 1e3:,.0f} ms"


def format_ratio(ratio: float | None) -> str:
    """A share as a percentage (``-`` before the first call)."""
    return "-" if ratio is None else f"{ratio:.0%}"


def format_money(amount: float | None, currency: str | None = None) -> str:
    """An amount with its currency (``unpriced`` when the service has no pricing table)."""
    if amount is None:
        return "unpriced"
    places = 2 if amount == 0 or abs(amount) >= 1 else 4
    return f"{amount:,.{places}f} {currency or ''}".rstrip()


def _budget_text(snap: Snapshot) -> list[str]:
    parts = []
    for b in snap.budgets:
        if b.period == "concurrent":
            parts.append(f"concurrent: {b.used:,} of {b.limit:,} in use")
        else:
            parts.append(f"{b.period} quota: {b.remaining:,} of {b.limit:,} left, "
                         f"resets in {format_duration(b.resets_in)}")
    return parts


def _tier_text(snap: Snapshot) -> list[str]:
    return [f"rate limit {t.name}: {'?' if t.in_use is None else f'{t.in_use:,}'}/{t.burst:,} "
            f"in use ({t.limit:,} per {t.per_seconds:g}s)" for t in snap.tiers]


def _throttle_text(snap: Snapshot) -> str:
    if snap.throttled:
        return f"throttled, resumes in {format_duration(snap.resumes_in)}"
    return "not throttled"


def _window_cost(snap: Snapshot) -> str:
    return "-" if snap.calls == 0 else format_money(snap.cost, snap.currency)


def _cost_text(snap: Snapshot) -> str:
    text = f"cost {_window_cost(snap)} in this window"
    if snap.month_total is not None:
        text += (f"; month under plan {snap.plan}: {format_money(snap.month_total, snap.currency)}"
                 f" so far, {format_money(snap.month_projected, snap.currency)} projected")
    return text


def summary_text(snaps: Sequence[Snapshot], *, since: float | None = None) -> str:
    """The dashboard's numbers as plain text, one block per service."""
    start = "" if since is None else (
        " since " + dt.datetime.fromtimestamp(since, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    lines = [f"integkit dashboard{start}"]
    if not snaps:
        lines.append("no connection and no recorded call yet")
    for s in snaps:
        lines.append(
            f"{s.service}: {s.calls:,} calls ({s.calls_last_minute:,} in the last minute), "
            f"{s.rate_limited:,} x 429, {s.retries:,} retries, {s.errors:,} errors, "
            f"cache hits {format_ratio(s.cache_hit_ratio)}, latency p50 "
            f"{format_ms(s.latency_p50)}, p95 {format_ms(s.latency_p95)}")
        limits = [*_budget_text(s), *_tier_text(s)]
        if limits:
            lines.append("  " + "; ".join(limits))
        waited = f" ({s.seconds_waited:.1f}s waited on limits here)" if s.seconds_waited else ""
        lines.append(f"  {_throttle_text(s)}{waited}")
        lines.append(f"  {_cost_text(s)}")
    return "\n".join(lines)


# -- what to show --------------------------------------------------------------------------------
@dataclass
class _Target:
    service: str
    conn: Any = None  # a Connection, or None: ledger only (no quota status)

    def books(self, state: Any) -> Any:
        """Where this target's ledger rows are: ``state`` when the dashboard was given one,
        else its connection's state backend (a sandbox's own), else the configured one."""
        if state is not None or self.conn is None:
            return state
        return self.conn.state


def _start_of_day(now: float) -> float:
    day = dt.datetime.fromtimestamp(now, dt.UTC).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    return day.timestamp()


def _targets(connections: Iterable[Any], since: float, state: Any) -> list[_Target]:
    """Each connection (or service name) asked for; by default every live connection, else
    every service the ledger has calls of since ``since``."""
    live = {c.service: c for c in live_connections()}
    chosen = list(connections)
    if not chosen:
        chosen = list(live.values()) or sorted({r["service"] for r in
                                                ledger_for(state).rows(since=since)})
    out = []
    for item in chosen:
        if isinstance(item, str):
            out.append(_Target(item, live.get(item)))
        else:
            out.append(_Target(str(item.service), item))
    return out


class _Reader:
    """Reads a Snapshot per target; the month's bill at most every few seconds."""

    def __init__(self, targets: list[_Target], *, since: float, plan: str | None,
                 state: Any) -> None:
        self.targets = targets
        self.since = since
        self.plan = plan
        self.state = state
        self._bills: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def _bill(self, target: _Target, force: bool) -> dict[str, Any] | None:
        key = f"{target.service}@{id(target)}"
        read_at, bill = self._bills.get(key, (0.0, None))
        if force or time.monotonic() - read_at >= _BILL_EVERY_S:
            bill = shown(lambda: month_bill(target.service, self.plan,
                                            target.books(self.state)),
                         None, target.service, "bill")
            self._bills[key] = (time.monotonic(), bill)
        return bill

    def read(self, *, force: bool = False) -> list[Snapshot]:
        return [read_snapshot(t.service, t.conn, since=self.since, state=t.books(self.state),
                              bill=self._bill(t, force), read_bill=False)
                for t in self.targets]


# -- the text panel (headless) -------------------------------------------------------------------
class TextDashboard:
    """The dashboard without a frontend: its repr is the plain-text summary; no timer runs."""

    running = False

    def __init__(self, reader: _Reader, reason: str) -> None:
        self._reader = reader
        self.reason = reason
        self.snapshots = reader.read(force=True)

    def refresh(self) -> list[Snapshot]:
        """Read the numbers again (on demand: nothing refreshes by itself here)."""
        self.snapshots = self._reader.read(force=True)
        return self.snapshots

    def stop(self) -> None:
        """Nothing to stop (kept so notebook code runs the same headless)."""

    def __str__(self) -> str:
        return summary_text(self.snapshots, since=self._reader.since)

    def __repr__(self) -> str:
        return f"{self}\n(plain text: {self.reason})"


# -- the widget panel ----------------------------------------------------------------------------
_METRICS = (
    ("calls", "calls"), ("per_minute", "last minute"), ("rate_limited", "429s"),
    ("retries", "retries"), ("errors", "errors"), ("cache_hit_ratio", "cache hits"),
    ("latency_p50", "latency p50"), ("latency_p95", "latency p95"),
    ("cost", "cost (window)"), ("month", "month so far"), ("projected", "month projected"),
)


def metric_values(snap: Snapshot) -> dict[str, str]:
    """The text of each metric tile of ``snap``'s section, by key."""
    return {
        "calls": f"{snap.calls:,}", "per_minute": f"{snap.calls_last_minute:,}",
        "rate_limited": f"{snap.rate_limited:,}", "retries": f"{snap.retries:,}",
        "errors": f"{snap.errors:,}", "cache_hit_ratio": format_ratio(snap.cache_hit_ratio),
        "latency_p50": format_ms(snap.latency_p50), "latency_p95": format_ms(snap.latency_p95),
        "cost": _window_cost(snap),
        "month": "-" if snap.month_total is None else format_money(snap.month_total,
                                                                   snap.currency),
        "projected": "-" if snap.month_projected is None else format_money(
            snap.month_projected, snap.currency),
    }


def _tile(label: str) -> Any:
    import ipywidgets as widgets

    return widgets.HTML(value="-", description=label,
                        style={"description_width": "110px"},
                        layout=widgets.Layout(width="250px"))


class _Section:
    """One service's part of the panel: quota bars, throttle state, metric tiles, charts."""

    def __init__(self, target: _Target) -> None:
        import ipywidgets as widgets

        self.service = target.service
        where = "" if target.conn is None else f" <code>{escape(target.conn.base_url)}</code>"
        self.title = widgets.HTML(f"<h3 style='margin:4px 0'>{escape(self.service)}{where}</h3>")
        self.throttle = widgets.HTML()
        self.quota_box = widgets.VBox()
        self.bars: dict[str, tuple[Any, Any]] = {}
        self.metrics = {key: _tile(label) for key, label in _METRICS}
        for key, tile in self.metrics.items():
            tile.add_class(f"integkit-metric-{key.replace('_', '-')}")
        grid = widgets.GridBox(list(self.metrics.values()), layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, 250px)"))
        self.calls_chart = widgets.HTML()
        self.latency_chart = widgets.HTML()
        self._chart_keys: dict[str, Any] = {}
        self.box = widgets.VBox(
            [self.title, self.throttle, self.quota_box, grid,
             widgets.HBox([self.calls_chart, self.latency_chart])],
            layout=widgets.Layout(border="1px solid #ddd", padding="6px", margin="0 0 8px 0"),
        )
        self.box.add_class("integkit-dashboard-section")

    def _bar(self, key: str, label: str) -> tuple[Any, Any]:
        import ipywidgets as widgets

        if key not in self.bars:
            bar = widgets.IntProgress(value=0, min=0, max=1, description=label,
                                      style={"description_width": "110px"},
                                      layout=widgets.Layout(width="360px"))
            text = widgets.Label()
            self.bars[key] = (bar, text)
            self.quota_box.children = [widgets.HBox(list(pair)) for pair in self.bars.values()]
        return self.bars[key]

    def update(self, snap: Snapshot) -> None:
        color = "#c0392b" if snap.throttled else "#2e7d32"
        waited = (f" &middot; {snap.seconds_waited:.1f}s waited on limits here"
                  if snap.seconds_waited else "")
        self.throttle.value = (f"<span style='color:{color}'><b>{escape(_throttle_text(snap))}"
                               f"</b></span>{waited}")
        for b in snap.budgets:
            bar, text = self._bar(b.period, b.period)
            if b.period == "concurrent":
                bar.max, bar.value = max(1, b.limit), min(b.used, b.limit)
                text.value = f"{b.used:,} of {b.limit:,} slots in use"
            else:
                bar.max, bar.value = max(1, b.limit), b.remaining
                text.value = (f"{b.remaining:,} of {b.limit:,} left · resets in "
                              f"{format_duration(b.resets_in)}")
            bar.bar_style = "danger" if b.fraction_used >= 0.9 else (
                "warning" if b.fraction_used >= 0.8 else "success")
        for t in snap.tiers:
            bar, text = self._bar(f"tier:{t.name}", t.name)
            used = t.in_use or 0
            bar.max, bar.value = max(1, t.burst), min(used, t.burst)
            paused = f" · paused {format_duration(t.paused_for)}" if t.paused_for else ""
            text.value = (f"{'?' if t.in_use is None else f'{used:,}'}/{t.burst:,} tokens in use"
                          f" ({t.limit:,} per {t.per_seconds:g}s){paused}")
            bar.bar_style = "warning" if t.paused_for else "info"
        for key, value in metric_values(snap).items():
            self.metrics[key].value = f"<b>{escape(value)}</b>"
        self._chart("calls", (snap.timeline, snap.bucket_seconds), self.calls_chart, snap)
        self._chart("latency", snap.latency_histogram, self.latency_chart, snap)

    def _chart(self, name: str, key: Any, widget: Any, snap: Snapshot) -> None:
        from ._charts import calls_chart, latency_chart

        if self._chart_keys.get(name) != key:
            widget.value = (calls_chart if name == "calls" else latency_chart)(snap)
            self._chart_keys[name] = key


def _close_tree(widget: Any) -> None:
    """Close ``widget`` and every widget inside it (only these: not every widget alive)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


class Dashboard:
    """The live panel: ``.widget`` (an ipywidgets VBox, also what displaying this shows),
    ``.sections`` by service, ``refresh()``, ``start()`` / ``stop()`` of the timer."""

    def __init__(self, reader: _Reader, *, interval: float = 1.0) -> None:
        import ipywidgets as widgets

        self._reader = reader
        self.interval = interval
        self.sections = {t.service: _Section(t) for t in reader.targets}
        self.header = widgets.HTML()
        self.header.add_class("integkit-dashboard-header")
        self.cost_chart = widgets.HTML()
        self._cost_key: Any = None
        empty = [] if self.sections else [widgets.HTML(
            "<i>no connection and no recorded call yet: make one, then ik.dashboard()</i>")]
        self.widget = widgets.VBox([self.header, *empty,
                                    *(s.box for s in self.sections.values()),
                                    self.cost_chart])
        self.widget.add_class("integkit-dashboard")
        self.snapshots: list[Snapshot] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    @property
    def running(self) -> bool:
        """Whether the timer is refreshing the panel."""
        return self._thread is not None and self._thread.is_alive()

    def refresh(self) -> list[Snapshot]:
        """Read the numbers now and update every widget; returns the snapshots."""
        with self._lock:
            return self._refresh(force=True)

    def _refresh(self, *, force: bool) -> list[Snapshot]:
        from ._charts import cost_chart

        snaps = self._reader.read(force=force)
        self.snapshots = snaps
        for snap in snaps:
            self.sections[snap.service].update(snap)
        state = "live, every " + format_duration(self.interval) if self.running else "paused"
        since = dt.datetime.fromtimestamp(self._reader.since, dt.UTC).strftime("%H:%M UTC")
        self.header.value = (
            f"<b>integkit dashboard</b> &middot; calls since {since} &middot; {state} &middot; "
            f"updated {dt.datetime.now(dt.UTC):%H:%M:%S} UTC")
        key = tuple((s.service, s.endpoints, s.currency) for s in snaps)
        if key != self._cost_key:
            self.cost_chart.value = cost_chart(snaps)
            self._cost_key = key
        return snaps

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self.interval):
            try:
                with self._lock:
                    self._refresh(force=False)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a bad tick must not kill the panel
                failures += 1
                if failures == 1:
                    logger.warning("integkit: the dashboard could not refresh (%s: %s)",
                                   type(exc).__name__, exc)
                if failures >= 30:
                    logger.warning("integkit: the dashboard stopped after 30 failed refreshes")
                    return

    def start(self) -> Dashboard:
        """Refresh every ``interval`` seconds in a background thread (idempotent)."""
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="integkit-dashboard")
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the timer; the panel keeps its last numbers (``refresh()`` still works)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            self._refresh(force=True)

    def close(self) -> None:
        """Stop the timer and close the widgets."""
        self._stop.set()
        self._thread = None
        _close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __str__(self) -> str:
        return summary_text(self.snapshots, since=self._reader.since)

    def __repr__(self) -> str:
        return f"<Dashboard of {', '.join(self.sections) or 'nothing'}, " \
               f"{'live' if self.running else 'paused'}>"


def dashboard(
    *connections: Any,
    plan: str | None = None,
    since: Any = None,
    interval: float | str = 1.0,
    state: Any = None,
    widget: bool | None = None,
    live: bool | None = None,
) -> Dashboard | TextDashboard:
    """A panel per connection (or service name; default: every live connection).

    ``plan`` picks the pricing plan of the month's projection (a service without it uses its
    default plan); ``since`` starts the window of calls (default: today, UTC, the daily
    budget's day); ``interval`` the refresh period (seconds or a duration: ``"5s"``);
    ``state`` the state backend of the ledger (default: each connection's
    own, as a sandbox's has, else the configured one).
    ``widget=None`` draws widgets when a frontend shows them (Jupyter, Voila) and returns a
    :class:`TextDashboard` otherwise; ``live=None`` starts the refresh timer with widgets.
    """
    period = positive_duration(interval, "dashboard: interval")
    start = to_epoch(since)
    start = _start_of_day(time.time()) if start is None else start
    reader = _Reader(_targets(connections, start, state), since=start, plan=plan, state=state)
    reason = frontend_missing() if widget is None else (None if widget else "widget=False")
    if reason is None:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            reason = 'ipywidgets is not installed: pip install "integkit[notebook]"'
    if reason is not None:
        return TextDashboard(reader, reason)
    panel = Dashboard(reader, interval=period)
    if live is None or live:
        panel.start()
    return panel
