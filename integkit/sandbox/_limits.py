"""Server-side rate limits for the emulators: one token bucket per API key, as services do."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from .._errors import ConfigError

__all__ = ["RateLimiter", "TokenBucket", "parse_rate_limit"]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; each request takes one.

    >>> bucket = TokenBucket(1.0, 2, clock=lambda: 0.0)
    >>> [bucket.take() for _ in range(3)]
    [True, True, False]
    """

    __slots__ = ("rate", "burst", "tokens", "stamp", "clock")

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock()

    def take(self, n: float = 1.0) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class RateLimiter:
    """Token buckets keyed by API key, so two keys never share a budget (as at Stripe)."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ConfigError(f"rate_limit needs rate > 0 and burst >= 1, got ({rate}, {burst})")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Take a token from ``key``'s bucket; False means answer 429."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, clock=self._clock)
            return bucket.take()


_RATE = re.compile(r"^\s*\(?\s*([0-9]*\.?[0-9]+)\s*[/,:]\s*([0-9]+)\s*\)?\s*$")


def parse_rate_limit(value: str | tuple[float, int] | None) -> tuple[float, int] | None:
    """``"25/50"`` (or ``(25, 50)``, ``"25,50"``) -> ``(25.0, 50)``: rate per second, burst."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, tuple):
        rate, burst = value
        return float(rate), int(burst)
    match = _RATE.match(value)
    if not match:
        raise ConfigError(f"rate limit {value!r} is not RATE/BURST, e.g. '25/50'")
    return float(match.group(1)), int(match.group(2))
