"""The one error hierarchy every integkit call raises.

    IntegkitError
    ├── ConfigError (ValueError)          bad settings, unknown service, missing credential
    │   └── CheckpointError               a checkpoint folder that is damaged or not this one's
    ├── SignatureError (ValueError)       a webhook signature that does not verify
    ├── StateError                        the state backend (SQLite file, Redis) failed
    └── ApiError                          something an API call ended with
        ├── AuthenticationError           401: the credential is wrong or expired
        ├── PermissionDeniedError         403: the credential lacks a permission or scope
        ├── NotFoundError                 404
        ├── InvalidRequestError           other 4xx: the request itself must change
        ├── RateLimitError                429 (retry_after): a limit was hit
        ├── QuotaExceededError            a daily/monthly budget is spent
        ├── ServerError                   5xx or a malformed answer
        ├── PaginationError               pages that loop, never end, or lose their records
        ├── NetworkError                  connect/read failures, resets
        │   └── TimeoutError (TimeoutError)   a timeout or the call's total deadline passed
        ├── CircuitOpenError              the endpoint failed repeatedly; calls are paused
        └── OriginError                   a next page or redirect pointed at another origin

Each ApiError carries ``service``, ``endpoint``, ``status``, ``request_id``, a body excerpt and
``transient`` (whether trying again later can succeed); ``str()`` leads with the request id.
Secrets are masked in every message, body excerpt and hint (a server may echo a key back).
"""

from __future__ import annotations

import builtins
from typing import Any

from . import _display
from ._events import redact

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CheckpointError",
    "CircuitOpenError",
    "ConfigError",
    "IntegkitError",
    "InvalidRequestError",
    "NetworkError",
    "NotFoundError",
    "OriginError",
    "PaginationError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "SignatureError",
    "StateError",
    "TimeoutError",
]

_BODY_EXCERPT = 500


class IntegkitError(Exception):
    """Base of every error integkit raises."""

    transient: bool = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        return redact(super().__str__())

    def __repr__(self) -> str:
        return _display.text("error", self)

    def _repr_html_(self) -> str:
        return _display.html("error", self)


class ConfigError(IntegkitError, ValueError):
    """Settings are wrong or missing: the message names what to set."""


class CheckpointError(ConfigError):
    """A checkpoint folder cannot be resumed from: the message names the file to delete."""


class SignatureError(IntegkitError, ValueError):
    """A webhook payload's signature does not match, or is outside the replay window."""


class StateError(IntegkitError):
    """The state backend (the SQLite file or Redis holding limits, budgets, caches, tokens)
    cannot be used: damaged, down, or not answering. ``backend`` names it (no password)."""

    def __init__(self, message: str, *, backend: str, transient: bool = True) -> None:
        self.message = message
        self.backend = backend
        self.transient = transient
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_state_error, (self.message, self.backend, self.transient))


def _rebuild_state_error(message: str, backend: str, transient: bool) -> StateError:
    return StateError(message, backend=backend, transient=transient)


class ApiError(IntegkitError):
    """A call to a service failed; see the subclass for why."""

    transient = False
    default_hint = ""

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        endpoint: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        body: str | None = None,
        code: str | None = None,
        hint: str | None = None,
        transient: bool | None = None,
    ) -> None:
        self.message = redact(message)
        self.service = service
        self.endpoint = endpoint
        self.status = status
        self.request_id = request_id
        # Masked before it is cut, so that no secret survives half-cut at the end.
        self.body = redact(body)[:_BODY_EXCERPT] if body else body
        self.code = code
        self.hint = redact(self.default_hint if hint is None else hint)
        if transient is not None:
            self.transient = transient
        super().__init__(str(self))

    def __str__(self) -> str:
        where = " ".join(p for p in (self.service, self.endpoint) if p)
        head = f"[{self.request_id}] " if self.request_id else ""
        status = f"{self.status} " if self.status else ""
        body = f"{where}: {self.message}" if where else self.message
        text = f"{head}{status}{body}"
        return redact(f"{text} {self.hint}".rstrip())

    # Keep the keyword fields across pickling (papermill, multiprocessing).
    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[ApiError], message: str, fields: dict[str, Any]) -> ApiError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(fields)
    return err


class AuthenticationError(ApiError):
    default_hint = "Check the API key or token (it may be wrong, revoked or expired)."


class PermissionDeniedError(ApiError):
    default_hint = "The credential works but lacks the permission or scope this call needs."


class NotFoundError(ApiError):
    default_hint = "Check the id and the path; the object may not exist in this account or mode."


class InvalidRequestError(ApiError):
    default_hint = "Fix the parameters named above; retrying the same request will fail again."


class RateLimitError(ApiError):
    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        if kw.get("hint") is None:
            kw["hint"] = (
                f"A retry can succeed in {retry_after:.0f}s." if retry_after is not None
                else "The service gave no Retry-After: retry in a few seconds, and read fewer "
                "pages at once if it keeps happening."
            )
        super().__init__(message, **kw)


class QuotaExceededError(ApiError):
    default_hint = "The budget resets at the time shown by ik.quota(service)."

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after  # when the service said (a 429's Retry-After)
        super().__init__(message, **kw)


class ServerError(ApiError):
    transient = True
    default_hint = "The service failed; integkit already retried. Try again later."


class PaginationError(ApiError):
    """A listing's pages do not end the way the service's paging promises: a cursor or URL
    that comes back (a loop), a run of empty pages that keep saying "more", a page that says
    "more" but gives nothing to continue from, or a page without its records. ``cursor`` is
    the request it stopped at, with secret-looking values masked."""

    default_hint = (
        "Stopped rather than loop for ever or return a partial listing as if it were whole. "
        "Reading again meets the same pages: report it to the API's owner, or pass "
        "max_records= to read fewer."
    )

    def __init__(self, message: str, *, cursor: str | None = None, **kw: Any) -> None:
        self.cursor = cursor
        super().__init__(message, **kw)


class NetworkError(ApiError):
    transient = True
    default_hint = "The service could not be reached; check the network or base_url. Re-running " \
        "resumes a paged extraction from its last page."


class CircuitOpenError(ApiError):
    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        if kw.get("hint") is None and retry_after is not None:
            kw["hint"] = f"Calls resume with a probe in {retry_after:.1f}s."
        super().__init__(message, **kw)


class TimeoutError(NetworkError, builtins.TimeoutError):
    """A call took longer than it may: a timeout of the connection, or the total deadline of
    a request or a listing (``deadline=``), however slowly the answer kept arriving. Also a
    builtin ``TimeoutError``, so ``except TimeoutError`` catches it."""

    default_hint = "The service answered too slowly; try again later, or allow more time " \
        "with deadline= (and timeout=) on ik.connect or on the listing."


class OriginError(ApiError):
    """A request (a next-page link, a redirect, an absolute URL) pointed at an origin that is
    not the connection's: nothing was sent there, so the credentials stay with their origin."""

    default_hint = ("If that origin really is the service's, allow it: ik.connect(..., "
                    "allowed_origins=[...]) or ik.rest(..., allowed_origins=[...]).")
