"""``ik.on`` / ``ik.off``: the public side of the event hooks in ``_events``, checked where
they come in. A mistyped event name (``ik.on("quoat", alert)``) would register a hook that
never fires, so it is a ConfigError naming the closest event and every event there is.

>>> on("quoat", print)
Traceback (most recent call last):
...
integkit._errors.ConfigError: ik.on('quoat'): there is no such event; did you mean 'quota'? \
Events: auth (an AuthEvent when a credential is refreshed, rotated or refused), call (a \
CallEvent per HTTP attempt, cache hits too), quota (a QuotaEvent when a budget crosses 80, \
90 or 100 %)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _events
from ._errors import ConfigError
from ._events import EVENTS
from ._suggest import closest

__all__ = ["off", "on"]


def _check(call: str, event: Any) -> None:
    if isinstance(event, str) and event in EVENTS:
        return
    guess = closest(event, EVENTS) if isinstance(event, str) else None
    meant = f"; did you mean {guess!r}?" if guess else "."
    listed = ", ".join(f"{name} ({what})" for name, what in sorted(EVENTS.items()))
    raise ConfigError(f"{call}({event!r}): there is no such event{meant} Events: {listed}")


def on(event: str, fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """Call ``fn(payload)`` on every ``event``: ``"call"`` (a CallEvent per HTTP attempt),
    ``"auth"`` (credentials refreshed or rotated), ``"quota"`` (a budget crossing 80, 90 or
    100 %); returns ``fn`` so it works as a decorator."""
    _check("ik.on", event)
    if not callable(fn):
        raise ConfigError(f"ik.on({event!r}, fn): fn must be a function taking the event, not "
                          f"{type(fn).__name__}")
    return _events.on(event, fn)


def off(event: str, fn: Callable[[Any], None] | None = None) -> None:
    """Remove one hook of ``event``, or all of them."""
    _check("ik.off", event)
    _events.off(event, fn)
