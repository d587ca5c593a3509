"""Tests of the call ledger, pricing tables and cost estimates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._redis import redis_url  # noqa: F401 - the ledger tests import it from here

HERE = Path(__file__).parent
METERED = HERE / "metered.yaml"


def metered_pricing() -> dict[str, Any]:
    """The ``pricing:`` block of the example definition tests/unit/ledger/metered.yaml."""
    from integkit.engine import load_definition

    return dict(load_definition(str(METERED)).pricing)
