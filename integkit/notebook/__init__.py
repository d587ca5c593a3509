"""Where analysts meet integkit in Jupyter: the login and dashboard panels, progress, rich reprs.

ipywidgets, tqdm and matplotlib come with the ``notebook`` extra and load only when a panel is
asked for, so ``import integkit`` stays light and headless runs (papermill, CI) never need them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["dashboard", "login"]


def login(service: str, **options: Any) -> Any:
    """The login panel for ``service`` (OAuth sign-in, or masked API-key entry); what it stores
    goes to the encrypted token store, so scheduled runs of the notebook use it later."""
    from ._login import login as panel

    return panel(service, **options)


def dashboard(*connections: Any, **options: Any) -> Any:
    """A live panel per connection: quota, throttling, calls, latency, cache hits and cost."""
    from ._dashboard import dashboard as panel

    return panel(*connections, **options)
