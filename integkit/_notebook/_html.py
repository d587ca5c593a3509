"""Rich output for Jupyter: the HTML (and plain text) that Connection, Result, its stats,
errors, ``ik.quota()`` and a running sandbox show.

The classes keep one-line ``_repr_html_`` methods that call these builders, so the markup and
its rules live in one place: every value is HTML-escaped, and every text that could carry a
credential (URLs, auth reprs, messages, response excerpts) passes through
:func:`integkit._events.redact` first. Building a repr never raises and never makes a call to
the service (it may read the shared state backend for budgets left).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from .._events import redact
from .._results import records_to_table
from ..auth import mask
from ._dashboard import format_duration

__all__ = [
    "connection_html",
    "connection_text",
    "error_html",
    "error_text",
    "quota_html",
    "result_html",
    "sandbox_html",
    "stats_html",
]

_STYLE = ("font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;"
          "border-left:3px solid {color};padding:2px 8px;margin:2px 0")
_TH = "text-align:left;padding:1px 12px 1px 0;font-weight:600;vertical-align:top"
_TD = "text-align:left;padding:1px 12px 1px 0"
_SCHEMA_ROWS = 30
_SCHEMA_SAMPLE = 200


def _safe(value: Any) -> str:
    """``value`` as escaped, redacted text."""
    return escape(redact(str(value)))


def _rows(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th style='{_TH}'>{escape(k)}</th><td style='{_TD}'>{v}</td></tr>"
                   for k, v in pairs)


def _box(title: str, body: str, *, color: str = "#3b75af", kind: str = "") -> str:
    return (f"<div class='integkit-repr {kind}' style='{_STYLE.format(color=color)}'>"
            f"<div style='font-weight:600;margin-bottom:2px'>{title}</div>{body}</div>")


def _table(pairs: Iterable[tuple[str, Any]]) -> str:
    return f"<table style='border-collapse:collapse'>{_rows(pairs)}</table>"


def _bar(used: float, limit: float) -> str:
    """A small bar of how much of ``limit`` is used (red from 90%)."""
    share = 0.0 if limit <= 0 else min(max(used / limit, 0.0), 1.0)
    color = "#c0392b" if share >= 0.9 else "#e67e22" if share >= 0.8 else "#2e7d32"
    return (f"<span style='display:inline-block;width:90px;height:8px;background:#e0e0e0;"
            f"margin-right:6px;vertical-align:middle'><span style='display:block;height:8px;"
            f"width:{share:.0%};background:{color}'></span></span>")


def _per(seconds: Any) -> str:
    """A window's length: ``1s``, ``1min``, ``1h``, ``1d``, else seconds."""
    value = float(seconds or 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value / size:g}{unit}"
    return f"{value:g}s"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _when(moment: Any, now: float) -> str:
    """``2026-12-05 00:00 UTC (in 3h 05m)`` from a datetime or epoch seconds."""
    if isinstance(moment, dt.datetime):
        epoch = moment.timestamp()
    elif isinstance(moment, int | float):
        epoch = float(moment)
    else:
        return _safe(moment)
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{stamp} (in {format_duration(max(epoch - now, 0.0))})"


# -- Connection ----------------------------------------------------------------------------------
def _auth_state(conn: Any) -> str:
    auth = getattr(conn, "auth", None)
    return "no auth" if auth is None else redact(repr(auth))


def _limits(conn: Any) -> list[str]:
    limiter = getattr(conn, "limiter", None)
    out = []
    for tier in getattr(limiter, "tiers", None) or ():
        burst = f", burst {tier.burst}" if tier.burst else ""
        scope = "" if tier.scope == "key" else f", per {tier.scope}"
        out.append(f"{tier.name}: {tier.limit} per {tier.per:g}s{burst}{scope}")
    return out


def _budgets(conn: Any) -> tuple[list[str], str]:
    """Budgets with what is left (read from the state backend), and the throttle state."""
    try:
        status = conn.quota_status()
    except Exception:  # noqa: BLE001 - a repr must not fail on an unreachable backend
        status = {}
    out = []
    for period, info in (status.get("budgets") or {}).items():
        if "remaining" in info:
            out.append(f"{period}: {info['remaining']:,} of {info['limit']:,} left")
        elif "in_use" in info:
            out.append(f"{period}: {info['in_use']:,} of {info['limit']:,} in flight")
    throttled = (f"throttled, resumes in {status.get('resumes_in', 0):.1f}s"
                 if status.get("throttled") else "not throttled")
    return out, throttled


def connection_text(conn: Any) -> str:
    """One line: class, service, base URL, masked auth, limits."""
    limits = "; ".join(_limits(conn))
    return (f"<{type(conn).__name__} {conn.service} {redact(conn.base_url)} {_auth_state(conn)}"
            f"{' limits ' + limits if limits else ''}>")


def connection_html(conn: Any) -> str:
    """A card: service, base URL, API version, masked auth, limits, budgets left, throttling."""
    definition = getattr(conn, "definition", None)
    version = getattr(conn, "api_version", None) or \
        (getattr(definition, "api_version", None) or {}).get("value")
    budgets, throttled = _budgets(conn)
    limits = _limits(conn)
    pairs: list[tuple[str, Any]] = [
        ("base URL", f"<code>{_safe(conn.base_url)}</code>"),
        ("auth", f"<code>{_safe(_auth_state(conn))}</code>"),
    ]
    if version:
        pairs.append(("API version", _safe(version)))
    pairs.append(("rate limits", "<br>".join(map(_safe, limits)) or "none"))
    pairs.append(("quotas", "<br>".join(map(_safe, budgets)) or "none"))
    pairs.append(("state", _safe(throttled)))
    title = getattr(definition, "title", "") or conn.service
    return _box(f"{_safe(type(conn).__name__)} &middot; {_safe(title)}", _table(pairs),
                kind="integkit-connection")


# -- Result --------------------------------------------------------------------------------------
def _schema(result: Any) -> list[tuple[str, str]]:
    """Columns and Arrow types of the records fetched so far (a sample of the first ones)."""
    sample: list[dict[str, Any]] = []
    for page in getattr(result, "_pages", ()):
        sample.extend(page.records[: _SCHEMA_SAMPLE - len(sample)])
        if len(sample) >= _SCHEMA_SAMPLE:
            break
    if not sample:
        return []
    source = getattr(result, "_source", None)
    try:
        table = records_to_table(sample, timestamps=getattr(source, "timestamps", None))
    except Exception:  # noqa: BLE001 - odd records must not break a repr
        return []
    return [(f.name, str(f.type)) for f in table.schema]


def _stats_rows(stats: Any) -> list[tuple[str, Any]]:
    """What reading cost, as a Result card and a Stats card both show it."""
    return [
        ("pages", f"{stats.pages:,}"),
        ("calls", f"{stats.calls:,} ({stats.retries:,} retries, {stats.cache_hits:,} "
                  f"cache hits)"),
        ("waited on limits", f"{stats.seconds_waited:.1f}s"),
        ("time reading", f"{stats.seconds:.2f}s"),
        ("bytes", f"{stats.bytes:,}"),
    ]


def result_html(result: Any) -> str:
    """A card: what is listed, how far the read got, its stats, and the schema so far."""
    stats = result.stats
    done = result.complete
    state = "complete" if done else ("more to fetch" if len(result) else "nothing fetched yet")
    pairs: list[tuple[str, Any]] = [("records so far", f"{len(result):,}"), *_stats_rows(stats)]
    partitions = getattr(result, "partitions", None)
    if isinstance(partitions, int) and partitions:
        pairs.append(("partitions", f"{partitions} read by {getattr(result, 'workers', 1)}"))
    schema = _schema(result)
    if schema:
        shown = schema[:_SCHEMA_ROWS]
        more = (f"<div style='color:#888'>&hellip; {len(schema) - len(shown)} more columns</div>"
                if len(schema) > len(shown) else "")
        columns = "".join(f"<tr><td style='{_TD}'><code>{_safe(name)}</code></td>"
                          f"<td style='{_TD};color:#666'>{_safe(kind)}</td></tr>"
                          for name, kind in shown)
        opened = " open" if len(schema) <= 12 else ""
        pairs.append(("schema", f"<details{opened}><summary>{len(schema)} columns so far"
                                f"</summary><table style='border-collapse:collapse'>{columns}"
                                f"</table>{more}</details>"))
    else:
        pairs.append(("schema", "<i>known after the first page: .head(), .to_frame()</i>"))
    title = (f"Result &middot; {_safe(result.service)} {_safe(result.endpoint)} &middot; "
             f"{escape(state)}")
    return _box(title, _table(pairs), color="#2e7d32" if done else "#3b75af",
                kind="integkit-result")


# -- Stats ---------------------------------------------------------------------------------------
_STATS_SHOWN = {"records", "pages", "calls", "retries", "cache_hits", "seconds_waited", "seconds",
                "bytes", "attempts", "coalesced", "failovers", "duplicates"}


def stats_html(stats: Any) -> str:
    """A card: what reading a Result cost (calls, attempts, pages, waits, time, bytes...)."""
    pairs = [("records", f"{stats.records:,}"), *_stats_rows(stats),
             ("attempts", f"{stats.attempts:,} (every try on the wire, retries included)")]
    if stats.coalesced or stats.failovers:
        pairs.append(("shared / failed over", f"{stats.coalesced:,} answers shared with an "
                                              f"identical call, {stats.failovers:,} failovers"))
    if stats.duplicates:
        pairs.append(("repeated records", f"{stats.duplicates:,} dropped (primary key)"))
    # fields a later version adds still show, by their own name
    extra: dict[str, Any] = stats.as_dict() if hasattr(stats, "as_dict") else {}
    pairs += [(name.replace("_", " "), _safe(value)) for name, value in extra.items()
              if name not in _STATS_SHOWN]
    title = f"Stats &middot; {stats.records:,} records in {stats.pages:,} pages"
    return _box(title, _table(pairs), color="#546e7a", kind="integkit-stats")


# -- ik.quota() ----------------------------------------------------------------------------------
def quota_html(status: Mapping[str, Any], *, now: float | None = None) -> str:
    """A card of ``ik.quota(service)``: budgets left with bars and reset times, the limiter's
    tiers, the server's pauses and whether calls are held back."""
    now = time.time() if now is None else now
    budgets = []
    for period, info in (status.get("budgets") or {}).items():
        limit = info.get("limit") or 0
        if "remaining" in info:
            used = limit - info["remaining"]
            text = f"{info['remaining']:,} of {limit:,} left"
            if info.get("resets_at") is not None:
                text += f" &middot; resets {_when(info['resets_at'], now)}"
        else:
            used = info.get("in_use", 0)
            text = f"{used:,} of {limit:,} in flight"
        budgets.append(f"{_bar(used, limit)}<b>{_safe(period)}</b> {text}")
    tiers = []
    for tier in status.get("limits") or ():
        burst = tier.get("burst") or tier.get("limit") or 0
        in_use = tier.get("in_use")
        used = f"{in_use:,} of {burst:,} in use, " if in_use is not None else ""
        line = (f"{_bar(in_use or 0, burst)}<b>{_safe(tier.get('tier'))}</b> {used}"
                f"{tier.get('limit', 0):,} per {_per(tier.get('per_seconds'))}")
        if tier.get("paused_until") and tier["paused_until"] > now:
            line += f" &middot; <b>paused</b> until {_when(tier['paused_until'], now)}"
        tiers.append(line)
    pauses = []
    for pause in status.get("pauses") or ():
        asked = pause.get("server_asked_seconds")
        pauses.append(f"{_safe(pause.get('tier'))}: {format_duration(pause['seconds_left'])} "
                      "left" + (f" (the server asked for {format_duration(asked)})"
                                if asked else ""))
    throttled = status.get("throttled")
    state = (f"throttled, resumes in {format_duration(status.get('resumes_in', 0.0))}"
             if throttled else "not throttled")
    pairs: list[tuple[str, Any]] = [
        ("budgets", "<br>".join(budgets) or "none"),
        ("rate limits", "<br>".join(tiers) or "none"),
    ]
    if pauses:
        pairs.append(("server pauses", "<br>".join(pauses)
                      + "<br><i>ik.quota(service, clear_pause=True) lifts them</i>"))
    if status.get("pauses_cleared"):
        pairs.append(("pauses lifted", f"{status['pauses_cleared']:,}"))
    pairs.append(("waited on limits", f"{status.get('seconds_waited', 0.0):.1f}s "
                                      "(this process)"))
    title = f"Quota &middot; {_safe(status.get('service', ''))} &middot; {escape(state)}"
    return _box(title, _table(pairs), color="#c0392b" if throttled else "#2e7d32",
                kind="integkit-quota")


# -- a running sandbox ---------------------------------------------------------------------------
_SECRET_WORDS = ("key", "token", "secret", "password")


def _credential(name: str, value: Any) -> str:
    if any(word in name.lower() for word in _SECRET_WORDS) and isinstance(value, str):
        return f"{escape(name)}=<code>{escape(mask(value))}</code>"
    return f"{escape(name)}=<code>{_safe(value)}</code>"


def sandbox_html(sb: Any) -> str:
    """A card of a running emulator: where, which credentials open it (masked), its clock,
    what it served, its limits and the faults programmed."""
    emulator = sb.emulator
    running = bool(getattr(sb, "running", True))
    pairs: list[tuple[str, Any]] = [("URL", f"<code>{_safe(sb.url)}</code>")]
    credentials = {k: v for k, v in (sb.credentials or {}).items() if v is not None
                   and not isinstance(v, list | dict | bool)}
    pairs.append(("credentials", ", ".join(_credential(k, v) for k, v in credentials.items())
                  + " <i>(sb.connect() uses them)</i>"))
    pairs.append(("emulated clock", f"{_safe(sb.now.strftime('%Y-%m-%d %H:%M UTC'))} "
                                    "<i>(its data is the same on any day)</i>"))
    stats = emulator.stats()
    created = ", ".join(f"{_safe(kind)} {count:,}" for kind, count in
                        sorted((stats.get("objects") or {}).items()))
    pairs.append(("served", f"{_count(stats.get('requests', 0), 'request')}, "
                            f"{stats.get('rate_limited', 0):,} answered 429"
                  + (f"; created: {created}" if created else "")))
    pairs.append(("rate limits", "<br>".join(map(_safe, emulator.limits_text())) or "none"))
    if getattr(emulator, "latency", 0):
        pairs.append(("latency", f"{emulator.latency:g}s per request"))
    rules = []
    for rule in sb.faults.rules:
        scope = " ".join(p for p in (rule.method, rule.path) if p) or "every request"
        times = "always" if rule.times is None else f"{rule.fired}/{rule.times} fired"
        what = f"fail {rule.status}" if rule.kind == "fail" else rule.kind
        rules.append(f"{_safe(what)} on {_safe(scope)} ({times})")
    pairs.append(("faults", "<br>".join(rules) or "none"))
    webhooks = getattr(emulator, "webhooks", None)
    if webhooks is not None and webhooks.endpoints:
        pairs.append(("webhooks", f"{len(webhooks.endpoints)} subscriber(s), "
                                  f"{len(webhooks.deliveries):,} deliveries"))
    state = "running" if running else "stopped"
    title = f"Sandbox &middot; {_safe(sb.service)} &middot; {state}"
    return _box(title, _table(pairs), color="#6a1b9a" if running else "#9e9e9e",
                kind="integkit-sandbox")


# -- errors --------------------------------------------------------------------------------------
def error_text(err: Any) -> str:
    """``Type(status=..., service=..., request_id=..., message=...)``, redacted."""
    fields = [f"{name}={getattr(err, name)!r}" for name in ("status", "service", "endpoint",
                                                            "request_id", "code")
              if getattr(err, name, None) is not None]
    message = getattr(err, "message", None) or str(err)
    fields.append(f"message={message!r}")
    return redact(f"{type(err).__name__}({', '.join(fields)})")


def error_html(err: Any) -> str:
    """A card: what happened, what to do, whether retrying can help, status and request id."""
    message = getattr(err, "message", None) or str(err)
    where = " ".join(p for p in (getattr(err, "service", None), getattr(err, "endpoint", None))
                     if p)
    pairs: list[tuple[str, Any]] = [("what happened", _safe(message))]
    hint = getattr(err, "hint", None)
    if hint:
        pairs.append(("what to do", _safe(hint)))
    if where:
        pairs.append(("where", _safe(where)))
    for label, name in (("status", "status"), ("request id", "request_id"), ("code", "code")):
        value = getattr(err, name, None)
        if value is not None:
            pairs.append((label, f"<code>{_safe(value)}</code>"))
    retry_after = getattr(err, "retry_after", None)
    if retry_after is not None:
        pairs.append(("retry after", f"{float(retry_after):.1f}s"))
    pairs.append(("transient", "yes: trying again later can succeed" if err.transient
                  else "no: the same call will fail again"))
    body = getattr(err, "body", None)
    if body:
        pairs.append(("response", f"<details><summary>excerpt</summary><pre style='white-space:"
                                  f"pre-wrap'>{_safe(body)}</pre></details>"))
    return _box(_safe(type(err).__name__), _table(pairs), color="#c0392b",
                kind="integkit-error")
