"""A sandbox's own state backend: emulated calls stay out of the user's books."""

from __future__ import annotations

import atexit
import shutil
import tempfile

__all__ = ["own_state"]


def own_state() -> str:
    """A private SQLite state file (in a 0700 folder) for one sandbox's connections: their
    limits, budgets, caches, tokens and ledger rows. Removed when the process exits, so the
    ledger stays readable after the sandbox stops."""
    folder = tempfile.mkdtemp(prefix="integkit-sandbox-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder}/state.db"
