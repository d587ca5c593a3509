"""Waiting for a connection to be gone (garbage-collected), for tests of what outlives it."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import integkit as ik
from integkit._connect import live_connections


def gone(which: Callable[[ik.Connection], bool]) -> bool:
    """Whether the connection ``which`` picks is gone (collected), waiting a few seconds for
    the reader thread that fetched its last page to end."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        gc.collect()
        if not [c for c in live_connections() if which(c)]:
            return True
        time.sleep(0.05)
    return False
