"""A page request written down masked (``PageRequest.masked()``), and put back on resume.

``Result.cursor`` and checkpoint files hold the request for the next page. A next-page URL a
server handed out may carry the key (``?api_key=...``, ``&sig=...``) and a caller may pass a
token as a parameter, so both are masked there. A process resuming from a checkpoint puts the
masked values back from the listing it is asked to resume (the same parameters, as the
checkpoint's fingerprint guarantees); a masked value the listing does not have was the
server's, and is dropped: the auth layer applies the connection's own credentials afresh.
"""

from __future__ import annotations

from typing import Any

import httpx

from .._events import MASK
from ._base import PageRequest

__all__ = ["restored_request"]


def _masked(value: Any) -> bool:
    return isinstance(value, str) and MASK in value


def _restore_mapping(saved: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in saved.items():
        if _masked(value):
            if key in live:
                out[key] = live[key]
        elif isinstance(value, dict) and isinstance(live.get(key), dict):
            out[key] = _restore_mapping(value, live[key])
        else:
            out[key] = value
    return out


def _restore_url(url: str, live: dict[str, Any]) -> str:
    if MASK not in url:
        return url
    parsed = httpx.URL(url)
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in parsed.params.multi_items():
        if _masked(value):
            if name in live and live[name] is not None:
                pairs.append((name, str(live[name])))
        else:
            pairs.append((name, value))
    restored = parsed.copy_with(params=httpx.QueryParams(pairs))
    if parsed.password and _masked(parsed.password):
        restored = restored.copy_with(username=None, password=None)
    return str(restored)


def restored_request(saved: dict[str, Any], live: PageRequest) -> PageRequest:
    """The request ``saved`` by :meth:`PageRequest.masked`, its masked values taken from ``live``
    (the resumed listing's first request) or dropped when ``live`` has none."""
    live_query = {**dict(httpx.URL(live.url).params), **live.params}
    json_value = saved.get("json")
    if isinstance(json_value, dict) and isinstance(live.json, dict):
        json_value = _restore_mapping(json_value, live.json)
    data = saved.get("data")
    if isinstance(data, dict):
        data = _restore_mapping(data, live.data or {})
    return PageRequest(
        method=saved.get("method", live.method),
        url=_restore_url(str(saved.get("url", live.url)), live_query),
        params=_restore_mapping(dict(saved.get("params") or {}), live_query),
        json=json_value, data=data,
        headers=_restore_mapping(dict(saved.get("headers") or {}), live.headers),
    )
