"""How objects of the lower layers show themselves in a notebook without importing it.

Layers import one way (notebook -> connect -> engine -> results -> cache -> http -> state), yet
a Connection, a Result, its Stats, an error, ``ik.quota()``'s answer and a sandbox draw cards
that the notebook layer builds, and a long read shows its bar. So those classes keep one-line
``__repr__`` / ``_repr_html_`` methods that ask here, and integkit._notebook registers what draws
them when ``import integkit`` loads it. Until something is registered (a lower layer used on its
own), reprs are plain and no bar shows.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from html import escape
from typing import Any, Literal, Protocol

__all__ = ["Bar", "Kind", "html", "progress", "register_html", "register_progress",
           "register_text", "text"]

Kind = Literal["connection", "error", "quota", "result", "sandbox", "stats"]
"""What is drawn; one card builder (and maybe a text one) per kind."""


class Bar(Protocol):
    """A progress bar that follows a read: ``update()`` after each page."""

    def update(self) -> None: ...


Tracker = Callable[[Any, "bool | None"], AbstractContextManager[Bar]]

_html: dict[str, Callable[[Any], str]] = {}
_text: dict[str, Callable[[Any], str]] = {}
_trackers: list[Tracker] = []


def register_html(kind: Kind, build: Callable[[Any], str]) -> None:
    """Draw ``kind``'s HTML card (``_repr_html_``) with ``build(obj)``."""
    _html[kind] = build


def register_text(kind: Kind, build: Callable[[Any], str]) -> None:
    """Write ``kind``'s ``repr`` with ``build(obj)``."""
    _text[kind] = build


def register_progress(track: Tracker) -> None:
    """Follow long reads with ``track(result, progress)``, a context manager giving a Bar."""
    _trackers[:] = [track]


def text(kind: Kind, obj: object) -> str:
    """``obj``'s repr as the notebook layer writes it (else the plain ``object`` repr)."""
    build = _text.get(kind)
    return build(obj) if build is not None else object.__repr__(obj)


def html(kind: Kind, obj: object) -> str:
    """``obj``'s HTML card as the notebook layer draws it (else its escaped repr)."""
    build = _html.get(kind)
    return build(obj) if build is not None else f"<pre>{escape(repr(obj))}</pre>"


class _NoBar:
    """What follows a read when no notebook layer is registered: nothing shows."""

    def update(self) -> None:
        return None


def progress(result: Any, shown: bool | None) -> AbstractContextManager[Bar]:
    """The bar following ``result``'s read; ``shown`` as ``Result.fetch_all(progress=)``."""
    if _trackers:
        return _trackers[0](result, shown)
    return nullcontext(_NoBar())
