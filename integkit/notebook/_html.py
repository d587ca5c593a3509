"""Rich output for Jupyter: the HTML (and plain text) that Connection, Result and errors show.

The classes keep one-line ``_repr_html_`` methods that call these builders, so the markup and
its rules live in one place: every value is HTML-escaped, and every text that could carry a
credential (URLs, auth reprs, messages, response excerpts) passes through
:func:`integkit._events.redact` first. Building a repr never raises and never makes a call to
the service (it may read the shared state backend for budgets left).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from .._events import redact

__all__ = ["connection_html", "connection_text", "error_html", "error_text", "result_html"]

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
    version = (getattr(definition, "api_version", None) or {}).get("value")
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
    from ..results._arrow import records_to_table

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


def result_html(result: Any) -> str:
    """A card: what is listed, how far the read got, its stats, and the schema so far."""
    stats = result.stats
    done = result.complete
    state = "complete" if done else ("more to fetch" if len(result) else "nothing fetched yet")
    pairs: list[tuple[str, Any]] = [
        ("records so far", f"{len(result):,}"),
        ("pages", f"{stats.pages:,}"),
        ("calls", f"{stats.calls:,} ({stats.retries:,} retries, {stats.cache_hits:,} "
                  f"cache hits)"),
        ("waited on limits", f"{stats.seconds_waited:.1f}s"),
        ("time reading", f"{stats.seconds:.2f}s"),
        ("bytes", f"{stats.bytes:,}"),
    ]
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
