"""The test Redis (db 15 on 127.0.0.1:6379, or ``INTEGKIT_TEST_REDIS_URL``): reachable, or a
skip, or, when CI=true, a failure."""

from __future__ import annotations

import os

import pytest

REDIS_URL = os.environ.get("INTEGKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_url() -> str:
    """The URL of the test Redis; skips when it is unreachable, except in CI where it fails."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis must be reachable at {REDIS_URL} in CI: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return REDIS_URL
