"""Slack's rate limits as the emulator enforces them: per method, per token (workspace x app).

https://docs.slack.dev/apis/web-api/rate-limits: Tier 1 allows 1+ calls a minute, Tier 2
20+, Tier 3 50+, Tier 4 100+, each with bursts up to a minute's worth; ``chat.postMessage``
is its own tier, about one message a second per channel with short bursts. A refused call is
answered HTTP 429 with ``Retry-After`` (whole seconds) and ``{"ok": false, "error":
"ratelimited"}``. The table is written here from Slack's documentation, never read from
integkit's connector definition: a wrong limit there meets this emulator's 429s.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from .._limits import TokenBucket

__all__ = ["METHOD_TIERS", "POST_MESSAGE", "PER_MINUTE", "TierLimiter", "client_tiers"]

PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
"""Calls a minute each tier allows (bursts up to the same number)."""

METHOD_TIERS = {
    "apps.connections.open": 1,
    "conversations.list": 2,
    "users.list": 2,
    "conversations.history": 3,
    "conversations.info": 3,
    "files.list": 3,
    "chat.update": 3,
    "conversations.members": 4,
    "users.info": 4,
    "auth.test": 4,  # a "special" tier at Slack, at least this generous
}

POST_MESSAGE = (1.0, 3)
"""chat.postMessage per channel: one message a second, bursts of 3."""


def client_tiers() -> list[dict[str, Any]]:
    """This table as ``ik.connect(rate_limit=...)`` tiers: per method (the connector's
    endpoints are Slack's method names), ``chat.postMessage`` per channel (its endpoint is
    ``chat.postMessage:<channel>``)."""
    tiers: list[dict[str, Any]] = [
        {"name": f"tier{tier}", "limit": calls, "per": 60, "burst": calls, "scope": "endpoint",
         "endpoints": sorted(m for m, t in METHOD_TIERS.items() if t == tier)}
        for tier, calls in PER_MINUTE.items()]
    rate, burst = POST_MESSAGE
    tiers.append({"name": "post_message", "limit": int(rate), "per": 1, "burst": burst,
                  "scope": "endpoint", "endpoints": ["chat.postMessage:*"]})
    return tiers


class TierLimiter:
    """Token buckets per (token, method) and per (token, channel) for chat.postMessage."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: tuple[str, str], rate: float, burst: int) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, burst, clock=self._clock)
        return bucket

    def check(self, token: str, method: str, channel: str | None = None) -> int | None:
        """None if the call may go, else the whole seconds Slack would put in Retry-After."""
        if method == "chat.postMessage":
            rate, burst = POST_MESSAGE
            key = (token, f"{method}:{channel or ''}")
        elif method in METHOD_TIERS:
            per_minute = PER_MINUTE[METHOD_TIERS[method]]
            rate, burst = per_minute / 60.0, per_minute
            key = (token, method)
        else:
            return None
        with self._lock:
            bucket = self._bucket(key, rate, burst)
            if bucket.take():
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / bucket.rate))
