"""Whether a successful answer is what was asked for: JSON, not a proxy's HTML page.

A captive portal, a login page of a corporate proxy or a load balancer's error page often
arrives with status 200. To the retry layer such an answer to a request that asked for JSON is
transient (the next attempt usually reaches the service); what is still wrong after the
retries is reported by the engine with a masked excerpt.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

import httpx
import orjson

__all__ = ["json_body", "malformed_json", "peek_json"]

# A body the retry layer decoded to judge it, handed to the one caller that reads it next
# (popped), so a page is parsed once however many layers look at it.
_decoded: weakref.WeakKeyDictionary[httpx.Response, Any] = weakref.WeakKeyDictionary()
_decoded_lock = threading.Lock()


def _decode(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(response.text)  # raises ValueError (JSONDecodeError) in turn
    except RecursionError:  # nested deeper than any answer: a hostile body, not JSON to us
        raise ValueError("JSON nested too deeply") from None


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body (orjson; the lenient decoder for NaN literals or another
    encoding); ValueError when it is not JSON."""
    with _decoded_lock:
        if response in _decoded:
            return _decoded.pop(response)
    return _decode(response)


_NOT_JSON = object()


def peek_json(response: httpx.Response) -> Any:
    """The decoded body for a layer that only looks at it (a response classifier), kept for
    :func:`json_body` so a page is still parsed once; None when the body is not JSON (or
    not decodable at all: a hostile body never raises here)."""
    with _decoded_lock:
        if response in _decoded:
            found = _decoded[response]
            return None if found is _NOT_JSON else found
    try:
        data = _decode(response) if response.content else _NOT_JSON
    except Exception:  # noqa: BLE001 - not JSON, too deep, undecodable: all "not JSON"
        data = _NOT_JSON
    if data is not _NOT_JSON:  # json_body decodes (and raises) again for what is no JSON
        with _decoded_lock:
            _decoded[response] = data
    return None if data is _NOT_JSON else data


def _asks_for_json(request: httpx.Request) -> bool:
    return "json" in request.headers.get("accept", "").lower()


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def malformed_json(request: httpx.Request, response: httpx.Response) -> str | None:
    """Why a 2xx answer to a request that accepts JSON is not JSON ("an HTML page", "invalid
    JSON"), or None when it is JSON, empty, or of another type the caller may have wanted
    (CSV, a file)."""
    if not (200 <= response.status_code < 300) or response.status_code == 204:
        return None
    if not response.content or not _asks_for_json(request):
        return None
    kind = _content_type(response)
    if kind in ("text/html", "application/xhtml+xml"):
        return "an HTML page instead of JSON"
    if kind and "json" not in kind and kind != "text/plain":
        return None
    with _decoded_lock:
        if response in _decoded:
            return None
    try:
        data = _decode(response)
    except (ValueError, UnicodeDecodeError):
        return "invalid JSON"
    with _decoded_lock:
        _decoded[response] = data
    return None
