"""Shared state: an embedded SQLite file by default, Redis for many processes or machines."""

from ._backend import StateBackend, open_state, safe_url
from ._fallback import StateFallbackWarning, local_state_url

__all__ = ["StateBackend", "StateFallbackWarning", "local_state_url", "open_state", "safe_url"]
