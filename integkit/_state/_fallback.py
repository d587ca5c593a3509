"""Local limits when the shared state backend fails: ``ik.configure(state_fallback="local")``.

By default a failing backend (a damaged SQLite file, Redis down or not answering) raises a
StateError: the limits and budgets other processes share cannot be kept, and a run that
carries on regardless could overrun them. A run that prefers to go on opts in; its limits and
budgets then live in a SQLite file of its own machine (``integkit-local.db`` in the data
dir) until the connection is made again, and it says so once with a warning.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Protocol, TypeVar

from .._config import get_settings
from .._errors import StateError
from .._events import logger
from ._backend import StateBackend, open_state, safe_url

__all__ = ["StateFallbackWarning", "fallback_for", "guarded", "local_state_url"]

T = TypeVar("T")
_warned: set[str] = set()
_warned_lock = threading.Lock()


class StateFallbackWarning(RuntimeWarning):
    """The state backend failed and limits went on in a local file (``state_fallback``)."""


def local_state_url() -> str:
    """Where limits go when the configured backend fails: a file apart from the default one,
    so a damaged default file is not where they fall back to."""
    return f"sqlite:///{get_settings().data_dir / 'integkit-local.db'}"


def fallback_for(failed: str, error: StateError) -> StateBackend:
    """The local backend to go on with after ``failed`` (a state URL) raised ``error``, when
    the settings allow it (``state_fallback="local"``); else ``error`` is raised."""
    local_url = local_state_url()
    if get_settings().state_fallback != "local" or failed == local_url:
        raise error
    local = open_state(local_url)
    with _warned_lock:
        first = failed not in _warned
        _warned.add(failed)
    if first:
        message = (f"integkit: the state backend {safe_url(failed)} failed ({error.message}); "
                   f"limits and budgets go on locally in {safe_url(local_url)}, not shared "
                   "with other machines, until the connection is made again")
        logger.warning("%s", message)
        warnings.warn(message, StateFallbackWarning, stacklevel=3)
    return local


class _OnState(Protocol):
    state: StateBackend

    def use_state(self, state: StateBackend) -> None: ...


def guarded(owner: _OnState, call: Callable[[], T]) -> T:
    """``call()``; when the owner's backend fails and the settings allow it, the owner is
    moved to the local backend and ``call()`` runs again there."""
    try:
        return call()
    except StateError as exc:
        owner.use_state(fallback_for(owner.state.url, exc))
        return call()
