"""Cache tests; shared helpers live here (the backends, a settable clock)."""

from __future__ import annotations

import uuid

from ..._redis import redis_url


class Clock:
    """An injected wall clock the tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def redis_state():
    """The test Redis (db 15) as a state backend, or skip (a failure when CI=true)."""
    from integkit._state import open_state

    return open_state(redis_url())


def unique_namespace() -> str:
    return f"http_cache_t{uuid.uuid4().hex[:12]}"
