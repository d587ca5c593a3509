"""Read what a server says about retrying: Retry-After and service-specific headers."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["retry_after", "should_retry_hint"]


def retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or HTTP-date), never negative."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def should_retry_hint(headers: httpx.Headers) -> bool | None:
    """A service's explicit verdict (``Stripe-Should-Retry``, ``X-Should-Retry``), if any."""
    for name in ("stripe-should-retry", "x-should-retry"):
        value: str | None = headers.get(name)
        if value is not None:
            return value.strip().lower() == "true"
    return None
