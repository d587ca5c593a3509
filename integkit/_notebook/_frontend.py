"""Is there a frontend that renders widgets and live bars here?

A Jupyter frontend or a terminal does (:func:`integkit.auth.is_interactive`), and so does
Voila, which executes the notebook without stdin (so it looks headless to that rule) but
renders every widget it produces to the person viewing the page: the dashboard, progress bars
and the login panel all show there. Only the terminal login prompt needs stdin. Papermill,
nbconvert, nbval and CI runs get plain text and no background timer.
"""

from __future__ import annotations

import os

from ..auth import INTERACTIVE_ENV, headless_reason

__all__ = ["frontend_missing", "has_frontend", "in_voila"]

_VOILA_ENV = ("VOILA_KERNEL_ID", "VOILA_SERVER_URL", "VOILA_BASE_URL", "VOILA_APP_PORT")


def in_voila() -> bool:
    """Whether this kernel was started by Voila (it sets these variables in the kernel's env)."""
    return any(os.environ.get(name) for name in _VOILA_ENV)


def frontend_missing() -> str | None:
    """Why nothing would render a widget here (None when something would)."""
    forced = os.environ.get(INTERACTIVE_ENV, "").strip()
    if not forced and in_voila():
        return None
    return headless_reason()


def has_frontend() -> bool:
    """Whether widgets and progress bars drawn here are seen by someone."""
    return frontend_missing() is None
