"""Read what a service answered: decode a good body, map a failed one to an IntegkitError."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._errors import (
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)
from .._errors import TimeoutError as CallTimeout
from .._events import redact
from .._jsonpath import find
from ..http import CallTrace, json_body, retry_after

__all__ = ["ERROR_CLASSES", "decode_json", "error_for_response", "error_for_transport",
           "in_doubt"]

_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}
ERROR_CLASSES: dict[str, type[ApiError]] = {
    cls.__name__: cls
    for cls in (AuthenticationError, InvalidRequestError, NotFoundError, PermissionDeniedError,
                QuotaExceededError, RateLimitError, ServerError)
}
# Where services commonly put their message, when a definition does not say.
_MESSAGE_PATHS = ("error.message", "message", "error_description", "errors.0.message",
                  "error", "detail", "title")


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _text(found: Any) -> str | None:
    """A message found as a field map or a list (Rails-style ``{"errors": {"title": ["can't
    be blank"]}}``) as one readable line; a string as it is."""
    if found is None or isinstance(found, str):
        return found or None
    if isinstance(found, dict):
        return "; ".join(f"{key}: {_text(value)}" for key, value in found.items()) or None
    if isinstance(found, list):
        return "; ".join(filter(None, map(_text, found))) or None
    return str(found)


def error_for_response(
    response: httpx.Response,
    *,
    service: str,
    endpoint: str,
    paths: dict[str, Any] | None = None,
    request_id_header: str = "request-id",
    retries: int = 0,
) -> ApiError:
    """The error a non-2xx ``response`` stands for, with the service's own message and code.

    ``paths`` (a definition's ``errors``) says where the message/code/type/param live and may
    map codes to classes: ``codes: {rate_limit: RateLimitError}``.
    """
    paths = paths or {}
    status = response.status_code
    data = _decode(response)
    message = _text(find(data, paths.get("message"))) if paths.get("message") else None
    for path in () if message else _MESSAGE_PATHS:
        found = find(data, path)
        if isinstance(found, str) and found:
            message = found
            break
    message = message or f"{response.reason_phrase or 'HTTP error'}"
    code = find(data, paths.get("code")) if paths.get("code") else None
    param = find(data, paths.get("param")) if paths.get("param") else None
    if param:
        message = f"{message} (parameter: {param})"

    cls = ERROR_CLASSES.get(str((paths.get("codes") or {}).get(code, "")))
    if cls is None:
        cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else InvalidRequestError)
    fields: dict[str, Any] = dict(
        service=service, endpoint=endpoint, status=status, code=code,
        request_id=response.headers.get(request_id_header), body=response.text,
    )
    if cls is RateLimitError:
        wait = retry_after(response.headers)
        tried = f" after {retries} retries" if retries else ""
        return RateLimitError(f"rate limit hit{tried}: {message}", retry_after=wait, **fields)
    if cls is QuotaExceededError:
        return QuotaExceededError(message, retry_after=retry_after(response.headers), **fields)
    if cls is ServerError and retries:
        message = f"{message} (still failing after {retries} retries)"
    return cls(message, **fields)


def error_for_transport(exc: Exception, *, service: str, endpoint: str, url: str) -> NetworkError:
    """A NetworkError that says what broke and where (a TimeoutError for timeouts)."""
    if isinstance(exc, httpx.TimeoutException):
        return CallTimeout(f"timed out ({type(exc).__name__})", service=service,
                           endpoint=endpoint)
    if isinstance(exc, httpx.ConnectError):
        what = f"could not connect to {url}"
    else:
        what = f"connection failed mid-call ({type(exc).__name__}: {exc})"
    return NetworkError(what, service=service, endpoint=endpoint)


def in_doubt(error: ApiError, trace: CallTrace) -> ApiError:
    """``error`` of a write that may have been applied before it failed (it carries no
    idempotency key, so it was not sent again): its hint says to check before resending."""
    if trace.write_in_doubt:
        error.hint = ("The write may have been applied before the failure; it carries no "
                      "idempotency key, so integkit did not send it again: check whether it "
                      "took effect before sending it again.")
    return error


def decode_json(response: httpx.Response, *, service: str, endpoint: str, retries: int = 0) -> Any:
    """The decoded body of a 2xx answer (orjson: several times faster on large pages), or a
    ServerError saying what came instead of JSON (after ``retries`` retries), with a masked
    excerpt."""
    try:
        return json_body(response)
    except (ValueError, UnicodeDecodeError):
        pass
    kind = response.headers.get("content-type", "")
    what = "an HTML page" if "html" in kind.lower() else "a malformed body"
    excerpt = redact(response.text)[:200]
    tried = f", still after {retries} retries" if retries else ""
    raise ServerError(
        f"the response is not valid JSON ({what}{tried}; content-type {kind!r}, starts with "
        f"{json.dumps(excerpt)})",
        service=service, endpoint=endpoint, status=response.status_code, body=response.text,
        hint="The service, or a proxy or portal in front of it, answered with something else "
        "than JSON: check base_url and the network (a login page of a proxy is the usual "
        "cause). Re-running retries; a paged extraction resumes from its last good page.",
    )
