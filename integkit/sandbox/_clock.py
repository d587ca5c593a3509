"""The emulated world's time, which starts at a fixed instant so the sandbox is the same any day.

An emulator's records are seeded relative to its "now": with the wall clock as that now, the
charges of the first half of 2024 would be there in 2025 and gone in 2027, and every stored
notebook output would hold only on the day it was recorded. So a sandbox starts at
:data:`SANDBOX_NOW` (unless told otherwise) and its clock runs at real speed from there:
creation times, SOQL's ``TODAY``, new objects' timestamps and workflow runs follow it.

What the client checks against its own clock stays real: rate-limit windows and their reset
headers, token and code expiry, webhook signature timestamps, JWT ``iat``/``exp``.

>>> clock = SandboxClock("2025-07-01T12:00:00Z")
>>> clock.today().isoformat()
'2025-07-01'
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from .._errors import ConfigError

__all__ = ["SANDBOX_NOW", "SandboxClock", "Moment"]

#: Where a sandbox's clock starts by default: its seeded data ends here and spans the years
#: before it (2024 whole included, which the README and the notebooks use).
SANDBOX_NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)

#: What ``now=`` accepts: an aware datetime, a date (its midnight, UTC), ISO 8601 text,
#: epoch seconds, "wall" for the real clock, or None for :data:`SANDBOX_NOW`.
Moment = dt.datetime | dt.date | str | float | int | None

_DAY = 86_400


def _instant(now: Moment, real: float) -> float:
    """Epoch seconds of ``now`` (see :data:`Moment`)."""
    if now is None:
        return SANDBOX_NOW.timestamp()
    if isinstance(now, bool):
        raise ConfigError(f"now={now!r}: give a datetime, an ISO 8601 string or 'wall'")
    if isinstance(now, int | float):
        return float(now)
    if isinstance(now, str):
        if now == "wall":
            return real
        try:
            parsed: dt.date = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"now={now!r} is not ISO 8601 (e.g. '2025-07-01T12:00:00Z'), "
                              "nor 'wall' for the real clock") from None
        now = parsed
    if isinstance(now, dt.datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        return now.timestamp()
    if isinstance(now, dt.date):
        return dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC).timestamp()
    raise ConfigError(f"now={now!r}: give a datetime, an ISO 8601 string or 'wall'")


class SandboxClock:
    """A clock that reads ``now`` at creation and then runs at the speed of ``real``.

    ``real`` is the clock it follows (``time.time``; tests inject their own to move time).
    Calling the clock returns epoch seconds, so it stands wherever a ``Callable[[], float]``
    clock is expected.
    """

    __slots__ = ("_real", "_offset")

    def __init__(self, now: Moment = None, *, real: Callable[[], float] = time.time) -> None:
        started = real()
        self._real = real
        self._offset = _instant(now, started) - started

    def __call__(self) -> float:
        return self._real() + self._offset

    def time(self) -> float:
        """Epoch seconds in the emulated world."""
        return self()

    def datetime(self) -> dt.datetime:
        """The emulated world's now, an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self(), dt.UTC)

    def today(self) -> dt.date:
        """The emulated world's UTC day."""
        return self.datetime().date()

    def midnight(self) -> int:
        """Epoch seconds of the start of :meth:`today` (seeded data is anchored here, so it
        does not shift while the clock runs)."""
        return int(self()) // _DAY * _DAY

    def __repr__(self) -> str:
        return f"SandboxClock({self.datetime().isoformat(timespec='seconds')})"
