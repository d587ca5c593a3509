"""Shared state: an embedded SQLite file by default, Redis for many processes or machines."""

from ._backend import StateBackend, open_state, safe_url
from ._buckets import Penalties, sliding_window, token_bucket
from ._fallback import StateFallbackWarning, fallback_for, guarded, local_state_url

__all__ = [
    "Penalties",
    "StateBackend",
    "StateFallbackWarning",
    "fallback_for",
    "guarded",
    "local_state_url",
    "open_state",
    "safe_url",
    "sliding_window",
    "token_bucket",
]
