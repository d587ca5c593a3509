"""Tests of the call ledger, pricing tables and cost estimates."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
METERED = HERE / "metered.yaml"
REDIS_URL = "redis://127.0.0.1:6379/15"


def metered_pricing() -> dict[str, Any]:
    """The ``pricing:`` block of the example definition tests/unit/ledger/metered.yaml."""
    from integkit.engine import load_definition

    return dict(load_definition(str(METERED)).pricing)


def redis_url() -> str:
    """The test Redis (db 15); skip without it, but fail under CI=true, where it must run."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any reason Redis is not usable
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis at {REDIS_URL} for the ledger tests: {exc!r}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc!r}")
    return REDIS_URL
