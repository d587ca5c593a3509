"""Cache tests; shared helpers live here (the backends, a settable clock)."""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = "redis://127.0.0.1:6379/15"


class Clock:
    """An injected wall clock the tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def redis_state():
    """The test Redis (db 15), or skip; on CI (CI=true) an unreachable Redis fails the test."""
    from integkit import ConfigError
    from integkit.state import open_state

    state = open_state(REDIS_URL)
    try:
        state.redis()
    except (ConfigError, ImportError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Redis is unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); set CI=true to make this a failure")
    return state


def unique_namespace() -> str:
    return f"http_cache_t{uuid.uuid4().hex[:12]}"
