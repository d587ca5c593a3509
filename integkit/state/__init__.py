"""Shared state: an embedded SQLite file by default, Redis for many processes or machines."""

from ._backend import StateBackend, open_state

__all__ = ["StateBackend", "open_state"]
