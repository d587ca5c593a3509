"""Is a person there to log in? Interactive logins (a browser, a widget, a pasted URL) only
make sense when one is; a scheduled papermill run or a CI job must fail fast instead, with an
error naming what to set.

Interactive means: a Jupyter kernel whose current frontend takes input (JupyterLab, Notebook,
VS Code; papermill and nbconvert execute with ``allow_stdin=False``), a terminal IPython, or a
plain Python whose stdin is a terminal, and no ``CI`` in the environment.
``INTEGKIT_INTERACTIVE=1`` or ``=0`` overrides the guess.
"""

from __future__ import annotations

import os
import sys

__all__ = ["INTERACTIVE_ENV", "headless_reason", "is_interactive", "ipython_shell"]

INTERACTIVE_ENV = "INTEGKIT_INTERACTIVE"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def headless_reason() -> str | None:
    """Why this process cannot ask a person to log in (None when it can)."""
    forced = os.environ.get(INTERACTIVE_ENV, "").strip().lower()
    if forced in _TRUE:
        return None
    if forced in _FALSE:
        return f"{INTERACTIVE_ENV}={forced}"
    ci = os.environ.get("CI", "").strip().lower()
    if ci and ci not in _FALSE:
        return f"CI={os.environ['CI']}"
    if "papermill" in sys.modules:
        return "running under papermill"
    shell = ipython_shell()
    if shell is not None:
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:  # a Jupyter kernel: does the frontend running this cell answer?
            if getattr(kernel, "_allow_stdin", False):
                return None
            return "a Jupyter kernel executed without a frontend (papermill, nbconvert, nbclient)"
        # A terminal IPython falls through to the tty test.
    stdin = sys.stdin
    try:
        if stdin is not None and stdin.isatty():
            return None
    except (ValueError, OSError):  # closed or detached stdin
        pass
    return "stdin is not a terminal"


def is_interactive() -> bool:
    """Whether a person can be asked to log in here (see the module doc for the rules)."""
    return headless_reason() is None


def ipython_shell() -> object | None:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    get = getattr(ipython, "get_ipython", None)
    try:
        return get() if get is not None else None
    except Exception:  # noqa: BLE001 - a half-initialised IPython counts as none
        return None
