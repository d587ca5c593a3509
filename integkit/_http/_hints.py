"""Read what a server says about retrying: Retry-After, rate-limit resets, retry verdicts.

A hint is only believed when it makes sense: ``Retry-After: inf``, NaN, or a wait of more
than :data:`PLAUSIBLE` are ignored with a warning (a server bug or a hostile answer must not
pause every process of a key for ever). A reset time may come as seconds from now, epoch
seconds or epoch milliseconds; a number that only makes sense as epoch milliseconds is read
as such.
"""

from __future__ import annotations

import math
import time
import warnings
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["PLAUSIBLE", "ServerHintWarning", "reset_after", "retry_after", "should_retry_hint"]

# The longest wait a server can mean: a year (a day more for calendars and clock skew).
PLAUSIBLE = 366 * 86400.0
_EPOCH_S = 1e9  # seconds-from-now below this (31 years); epoch seconds above it
_EPOCH_MS = 1e11  # epoch milliseconds above this (as seconds: the year 5138)


class ServerHintWarning(RuntimeWarning):
    """A server's Retry-After or rate-limit reset made no sense and was ignored."""


def _ignored(header: str, value: str, why: str) -> None:
    warnings.warn(f"integkit ignored {header}: {value!r} from the server ({why}); waiting "
                  "as if the server had not said", ServerHintWarning, stacklevel=3)


def _plausible(header: str, raw: str, seconds: float) -> float | None:
    """``seconds`` when plausible (a time already past is 0), else None with a warning."""
    if seconds > PLAUSIBLE:
        _ignored(header, raw, f"a wait of {seconds:,.0f}s is beyond a year")
        return None
    return max(0.0, seconds)


def _from_number(header: str, raw: str, clock: float) -> float | None:
    """Seconds from now that the number ``raw`` stands for: by its size, seconds from now,
    epoch seconds (31 years from now makes no sense) or epoch milliseconds (so does the
    year 5138); None when it is no number, or not a finite one (with a warning)."""
    try:
        number = float(raw)
    except ValueError:
        return None
    if not math.isfinite(number):
        _ignored(header, raw, "not a finite number")
        return None
    if number >= _EPOCH_MS:
        return _plausible(header, raw, number / 1000 - clock)
    if number >= _EPOCH_S:
        return _plausible(header, raw, number - clock)
    return _plausible(header, raw, number)


def _is_number(raw: str) -> bool:
    try:
        float(raw)
    except ValueError:
        return False
    return True


def retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or HTTP-date), never negative; None
    when absent, unreadable or implausible."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    clock = time.time() if now is None else now
    if _is_number(value):
        return _from_number("Retry-After", value, clock)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return _plausible("Retry-After", value, when.timestamp() - clock)


def reset_after(value: str, *, now: float | None = None,
                header: str = "X-RateLimit-Reset") -> float | None:
    """Seconds until a rate-limit window resets, from seconds-from-now (most services), epoch
    seconds or epoch milliseconds; None when unreadable or implausible."""
    return _from_number(header, value.strip(), time.time() if now is None else now)


def should_retry_hint(headers: httpx.Headers) -> bool | None:
    """A service's explicit verdict, if any: a ``<Vendor>-Should-Retry: true|false`` header
    (the generic ``X-Should-Retry`` only when no vendor's own is there)."""
    verdicts = [(name == "x-should-retry", value) for name, value in headers.items()
                if name.endswith("-should-retry")]
    if not verdicts:
        return None
    _, value = min(verdicts, key=lambda verdict: verdict[0])
    return value.strip().lower() == "true"
