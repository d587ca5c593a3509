"""Where analysts meet integkit in Jupyter: the login and dashboard panels, progress, rich reprs.

ipywidgets, tqdm and matplotlib come with the ``notebook`` extra and load only when a panel is
asked for, so ``import integkit`` stays light and headless runs (papermill, CI) never need them.
The cards and the progress bar of the lower layers are registered in :mod:`integkit._display`
here (lower layers never import this package); their modules too load only when first drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .. import _display

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


def _drawn_by(name: str) -> Callable[[Any], str]:
    """The builder ``name`` of ``_html``, imported when a card is first drawn."""

    def draw(obj: Any) -> str:
        from . import _html

        build: Callable[[Any], str] = getattr(_html, name)
        return build(obj)

    return draw


def _track(result: Any, shown: bool | None) -> AbstractContextManager[_display.Bar]:
    """The bar following ``result``'s read (``_progress`` loads with the first long read)."""
    from ._progress import track

    return track(result, shown)


_CARDS: tuple[_display.Kind, ...] = ("connection", "error", "quota", "result", "sandbox", "stats")
_TEXTS: tuple[_display.Kind, ...] = ("connection", "error")
for _kind in _CARDS:
    _display.register_html(_kind, _drawn_by(f"{_kind}_html"))
for _kind in _TEXTS:
    _display.register_text(_kind, _drawn_by(f"{_kind}_text"))
_display.register_progress(_track)
