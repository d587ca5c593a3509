"""What callers hand integkit, checked once where it comes in (``ik.connect``, ``ik.rest``,
``conn.list``, rate-limit tiers and quotas), so a wrong type or a nonsense value fails at once
with an error naming the parameter, never later as a raw Python exception, a wait that never
ends or a silently empty answer.

>>> duration("15m", "deadline")
900.0
>>> whole(0, "max_records")
Traceback (most recent call last):
...
integkit._errors.ConfigError: max_records must be a whole number of at least 1, not 0
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import httpx

from ._errors import ConfigError, InvalidRequestError

__all__ = [
    "MAX_PARALLEL",
    "check_params",
    "duration",
    "epoch_seconds",
    "fraction",
    "parallel",
    "timeout",
    "whole",
]

# Threads one listing may read with: beyond this, the service's limits set the pace, and
# each thread only costs memory and connections.
MAX_PARALLEL = 64

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$")
_RANGE_KEYS = frozenset({"gt", "gte", "lt", "lte"})
# Query parameters that bound a time range from below and from above, in the services' words.
_PAIRS = (("since", "until"), ("oldest", "latest"), ("ts_from", "ts_to"), ("start", "end"),
          ("start_date", "end_date"), ("start_time", "end_time"), ("from", "to"),
          ("created_after", "created_before"), ("updated_after", "updated_before"))


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})" if isinstance(value, str) else repr(value)


def duration(value: Any, name: str, *, positive: bool = False) -> float:
    """Seconds from ``30``, ``"1s"``, ``"15m"``, ``"1h"``, ``"1d"``: finite, not negative
    (above zero when ``positive``), or a ConfigError naming ``name``."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds is None or not math.isfinite(seconds) or seconds < 0 or (
            positive and seconds == 0):
        least = "more than 0" if positive else "0 or more"
        raise ConfigError(f"{name} must be {least} seconds, or a duration like '1s', '15m', "
                          f"'1h', '1d'; not {_shown(value)}")
    return seconds


def whole(value: Any, name: str, *, least: int = 1, most: int | None = None) -> int:
    """An int in ``[least, most]``, or a ConfigError naming ``name`` (no bools, no strings)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least or (
            most is not None and value > most):
        span = f"between {least} and {most}" if most is not None else f"of at least {least}"
        raise ConfigError(f"{name} must be a whole number {span}, not {_shown(value)}")
    return value


def fraction(value: Any, name: str, *, low: float = 0.0, high: float = 1.0,
             include_high: bool = False) -> float:
    """A number in ``[low, high)`` (``[low, high]`` with ``include_high``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value) and low <= value and (value <= high if include_high
                                                   else value < high)
    if not ok:
        bracket = "]" if include_high else ")"
        raise ConfigError(f"{name} must be a number in [{low:g}, {high:g}{bracket}, "
                          f"not {_shown(value)}")
    return float(value)


def parallel(value: Any) -> int:
    """``parallel=``: how many partitions to read at once, 1 to :data:`MAX_PARALLEL`."""
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_PARALLEL:
        raise ConfigError(
            f"parallel={value} is more than integkit reads at once (at most {MAX_PARALLEL}): "
            "the service's rate limits, not threads, set the pace; parallel=8 is usually "
            "plenty")
    return whole(value, "parallel", most=MAX_PARALLEL)


def timeout(value: Any) -> httpx.Timeout | None:
    """``timeout=``: seconds (or a duration) for each network step, or an ``httpx.Timeout``
    whose parts are each None or above zero."""
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            given = getattr(value, part)
            if given is not None:
                duration(given, f"timeout.{part}", positive=True)
        return value
    return httpx.Timeout(duration(value, "timeout", positive=True))


def epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch from a number, a date, a datetime (naive = UTC), an ISO string
    or a pandas Timestamp; None when ``value`` is none of these (not a time). Non-finite
    numbers raise ValueError."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
        else:
            return epoch_seconds(number)
    if isinstance(value, dt.datetime):
        when: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return when.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    stamp = getattr(value, "timestamp", None)  # pandas.Timestamp (NaT raises ValueError)
    if callable(stamp):
        seconds = float(stamp())
        if not math.isfinite(seconds):
            raise ValueError(f"{value!r} is not a time")
        return seconds
    return None


def _finite(value: Any, where: str, fail: Any) -> None:
    """Every number inside ``value`` is finite (NaN and infinities are never a parameter)."""
    if isinstance(value, float) and not math.isfinite(value):
        fail(f"{where} is {value!r}, which no service can read; pass a finite number")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _finite(item, f"{where}[{key!r}]", fail)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _finite(item, where, fail)
    elif getattr(value, "timestamp", None) is not None and not isinstance(value, dt.date):
        try:
            epoch_seconds(value)
        except ValueError:
            fail(f"{where} is {value!r}, which is not a time")


def _moment(value: Any, where: str, fail: Any) -> float | None:
    try:
        return epoch_seconds(value)
    except ValueError as exc:
        fail(f"{where}: {exc}")
        return None


def check_params(params: Mapping[str, Any], *, service: str, endpoint: str) -> None:
    """Query parameters of a listing, before a single call: numbers finite, and every time
    range (``{"gte": a, "lt": b}``, ``since``/``until``, ``oldest``/``latest``...) not
    inverted, since a service answers an impossible range with no records, not an error."""

    def fail(message: str) -> None:
        raise InvalidRequestError(message, service=service, endpoint=endpoint)

    for name, value in params.items():
        _finite(value, name, fail)
        if isinstance(value, Mapping) and value and set(value) <= _RANGE_KEYS:
            lows = [(k, _moment(value[k], f"{name}[{k!r}]", fail)) for k in ("gt", "gte")
                    if k in value]
            highs = [(k, _moment(value[k], f"{name}[{k!r}]", fail)) for k in ("lt", "lte")
                     if k in value]
            for low_key, low in lows:
                for high_key, high in highs:
                    if low is None or high is None:
                        continue
                    empty = low > high or (low == high and (low_key, high_key) != ("gte", "lte"))
                    if empty:
                        fail(f"{name} range is empty: {low_key} {value[low_key]!r} is not "
                             f"before {high_key} {value[high_key]!r}; swap the bounds")
    for low_name, high_name in _PAIRS:
        if params.get(low_name) is None or params.get(high_name) is None:
            continue
        low = _moment(params[low_name], low_name, fail)
        high = _moment(params[high_name], high_name, fail)
        if low is not None and high is not None and low > high:
            fail(f"{low_name}={params[low_name]!r} is after {high_name}="
                 f"{params[high_name]!r}: the range is empty; swap them")
