"""Read what a service answered: decode a good body, map a failed one to an IntegkitError."""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Mapping
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
from .._http import CallTrace, Classified, error_classes, json_body, peek_json, retry_after
from .._jsonpath import find, find_all

__all__ = ["ERROR_CLASSES", "ServiceWarning", "decode_json", "error_for_response",
           "error_for_transport", "in_doubt", "register_warning", "warn_about"]

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
_ALL_CLASSES = error_classes()
# Where services commonly put their message, when a definition does not say.
_MESSAGE_PATHS = ("error.message", "message", "error_description", "errors.0.message",
                  "error", "detail", "title")


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


_FIELD = re.compile(r"\{([^{}]+)\}")


def _filled(template: str, data: Any) -> str:
    """``template`` with each ``{path}`` replaced by that value of the body (a list as a
    comma list; absent: empty)."""
    def value(match: re.Match[str]) -> str:
        found = find(data, match.group(1))
        if isinstance(found, list):
            return ",".join(map(str, found))
        return "" if found is None or isinstance(found, dict) else str(found)
    return _FIELD.sub(value, template)


def _details(data: Any, spec: Mapping[str, Any], message: str) -> str:
    """``message`` with the failure's details (``errors.details``) joined as it says."""
    parts = []
    for item in find_all(data, spec["path"]):
        for one in item if isinstance(item, list) else [item]:
            if isinstance(one, dict) and not one.get("message") and spec.get("item"):
                parts.append(_filled(str(spec["item"]), one))
            elif isinstance(one, dict) and one.get("message"):
                parts.append(str(one["message"]))
            else:
                parts.append(_text(one) or "")
    details = str(spec.get("separator", "; ")).join(p for p in parts if p)
    if not details:
        return message
    return str(spec.get("format", "{message}: {details}")).replace(
        "{message}", message).replace("{details}", details)


def _error_class(paths: dict[str, Any], code: Any, status: int,
                 classified: Classified | None) -> type[ApiError]:
    """The class of the error: a response rule's, its outcome's, the code's, the status's."""
    rule = classified.rule if classified is not None else None
    if rule is not None and rule.error:
        return ERROR_CLASSES.get(rule.error) or _ALL_CLASSES[rule.error]
    if rule is not None and rule.outcome == "rate_limited":
        return RateLimitError
    key = code if isinstance(code, str | int) and not isinstance(code, bool) else ""
    cls = ERROR_CLASSES.get(str((paths.get("codes") or {}).get(key, "")))
    if cls is not None:
        return cls
    if rule is not None and rule.outcome == "retry" and status < 500:
        return ServerError
    return _BY_STATUS.get(status) or (ServerError if status >= 500 else InvalidRequestError)


def error_for_response(
    response: httpx.Response,
    *,
    service: str,
    endpoint: str,
    paths: dict[str, Any] | None = None,
    request_id_header: str = "request-id",
    retries: int = 0,
    classified: Classified | None = None,
) -> ApiError:
    """The error a failed ``response`` stands for, with the service's own message and code:
    a non-2xx one, or one a response rule (``classified``) calls a failure.

    ``paths`` (a definition's ``errors``) says where the message/code/type/param live, may
    map codes to classes (``codes: {rate_limit: RateLimitError}``), say what codes mean and
    what to do (``meanings``, ``hints``) and where details are (``details``).
    """
    paths = paths or {}
    rule = classified.rule if classified is not None else None
    status = response.status_code
    data = peek_json(response)
    message_path = (rule.message if rule else None) or paths.get("message")
    message = _text(find_all(data, message_path)) if message_path else None
    for path in () if message else _MESSAGE_PATHS:
        found = find(data, path)
        if isinstance(found, str) and found:
            message = found
            break
    message = message or f"{response.reason_phrase or 'HTTP error'}"
    code_path = (rule.code if rule else None) or paths.get("code")
    code = find(data, code_path) if code_path else None
    if isinstance(code, dict | list):  # a body of another shape than the paths expect
        code = None
    meaning = (paths.get("meanings") or {}).get(code) if isinstance(code, str) else None
    if meaning:
        message = f"{message}: {_filled(meaning, data)}"
    if paths.get("details"):
        message = _details(data, paths["details"], message)
    param = find(data, paths.get("param")) if paths.get("param") else None
    if param:
        message = f"{message} (parameter: {param})"
    hint = (rule.hint if rule else None) or \
        (paths.get("hints") or {}).get(code if isinstance(code, str) else "")
    cls = _error_class(paths, code, status, classified)
    fields: dict[str, Any] = dict(
        service=service, endpoint=endpoint, status=status, code=code,
        request_id=response.headers.get(request_id_header), body=response.text,
        hint=_filled(hint, data) if hint else None,
    )
    wait = classified.wait if classified is not None and classified.wait is not None \
        else retry_after(response.headers)
    if cls is RateLimitError:
        tried = f" after {retries} retries" if retries else ""
        return RateLimitError(f"rate limit hit{tried}: {message}", retry_after=wait, **fields)
    if cls is QuotaExceededError:
        return QuotaExceededError(message, retry_after=wait, **fields)
    if retries and (cls is ServerError or classified is not None):
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
        error.hint = ("Not retried: the write may have been applied before the failure; it "
                      "carries no idempotency key, so integkit did not send it again: check "
                      "whether it took effect before sending it again.")
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


class ServiceWarning(UserWarning):
    """A service served the call but says something about it should change (a definition's
    ``warnings:``); a connector may register its own subclass (``SlackWarning``)."""


_warning_classes: dict[str, type[ServiceWarning]] = {}
_warning_lock = threading.Lock()


def register_warning(service: str, cls: type[ServiceWarning]) -> None:
    """Raise ``service``'s answer warnings as ``cls``."""
    with _warning_lock:
        _warning_classes[service] = cls


def warn_about(data: Any, spec: Mapping[str, Any], *, service: str, endpoint: str) -> list[str]:
    """Warn once per code the answer's ``spec["paths"]`` hold (a comma list or a list of
    codes), with ``spec["advice"]`` for the code; returns the codes."""
    if not spec or not isinstance(data, dict):
        return []
    found: list[str] = []
    for path in spec.get("paths") or ():
        for value in find_all(data, path):
            items = value.split(",") if isinstance(value, str) else \
                value if isinstance(value, list) else []
            found += [str(item).strip() for item in items if str(item).strip()]
    codes = list(dict.fromkeys(found))
    cls = _warning_classes.get(service, ServiceWarning)
    advice = spec.get("advice") or {}
    for code in codes:
        extra = f" ({advice[code]})" if advice.get(code) else ""
        warnings.warn(f"{service} {endpoint}: {code}{extra}", cls, stacklevel=4)
    return codes