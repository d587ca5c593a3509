"""The feedback parsers a definition may name (``feedback: [x_ratelimit, retry_hints]``):
integkit._http's generic ones and those integkit's connector modules register.

Every connector module under ``integkit.engine._services`` is imported once, the first time a
name is looked up, so a definition may name a parser before its connector was used, and a
connection whose definition names none reads every one (as integkit always did).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterable

from .._http import check_feedback, feedback_names

__all__ = ["connection_feedback", "known_feedback"]

_loaded = threading.Event()
_lock = threading.Lock()


def _load_connector_modules() -> None:
    """Import integkit's connector modules: each registers its own parsers."""
    if _loaded.is_set():
        return
    with _lock:
        if _loaded.is_set():
            return
        from . import _services as services

        for module in pkgutil.iter_modules(services.__path__):
            importlib.import_module(f"{services.__name__}.{module.name}")
        _loaded.set()


def known_feedback() -> tuple[str, ...]:
    """Every parser name a definition may use."""
    _load_connector_modules()
    return feedback_names()


def connection_feedback(names: Iterable[str] | None) -> tuple[str, ...]:
    """The parsers a connection reads: those its definition names, or every known one when it
    names none; an unknown name is a ConfigError naming the known ones."""
    _load_connector_modules()
    checked = check_feedback(names)
    return feedback_names() if checked is None else checked
