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
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from ._errors import ConfigError, InvalidRequestError
from ._spec_schema import described

__all__ = [
    "DURATION_EXAMPLES",
    "MAX_PARALLEL",
    "check_params",
    "choice",
    "duration",
    "epoch_seconds",
    "exact_seconds",
    "flag",
    "fraction",
    "parallel",
    "positive_duration",
    "text",
    "texts",
    "timeout",
    "whole",
]

# Threads one listing may read with: beyond this, the service's limits set the pace, and
# each thread only costs memory and connections.
MAX_PARALLEL = 64

# The one duration grammar (see :func:`duration`): unit spellings -> seconds.
_UNITS = {
    **dict.fromkeys(("ms", "msec", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 604800.0),
}
# Units whose length varies (a month is 28 to 31 days): refused with a hint, never guessed.
_VAGUE = ("mo", "mon", "mos", "month", "months", "y", "yr", "yrs", "year", "years")
_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_PART = re.compile(_NUMBER + r"\s*([a-z]+)\s*", re.IGNORECASE | re.ASCII)
_PARTS = re.compile(r"^\s*(?:" + _NUMBER + r"\s*[a-z]+\s*)+$", re.IGNORECASE | re.ASCII)
_BARE = re.compile(r"^\s*" + _NUMBER + r"\s*$", re.ASCII)
_ISO = re.compile(
    r"^\s*P(?!\s*$)(?:(?P<Y>\d+(?:[.,]\d+)?)Y)?(?:(?P<MO>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<W>\d+(?:[.,]\d+)?)W)?(?:(?P<D>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d|[.,]\d)(?:(?P<H>\d+(?:[.,]\d+)?)H)?(?:(?P<MI>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<S>\d+(?:[.,]\d+)?)S)?)?\s*$", re.IGNORECASE | re.ASCII)
_ISO_SECONDS = {"W": 604800.0, "D": 86400.0, "H": 3600.0, "MI": 60.0, "S": 1.0}
DURATION_EXAMPLES = "'90s', '5min', '1h', '1d', '1w' or 'PT1H'"
# The duration grammar's text, as a JSON Schema pattern (ECMA 262: no flags, no named groups):
# a bare number, numbers with units, or an ISO 8601 duration. Units are checked by the loader.
_DURATION_PATTERN = (r"^\s*(?:(?:\d+(?:\.\d+)?|\.\d+)\s*(?:[A-Za-z]+\s*)?)+$"
                     r"|^\s*[Pp][0-9.,YMWDTHSymwdths]+\s*$")
_RANGE_KEYS = frozenset({"gt", "gte", "lt", "lte"})
# Query parameters that bound a time range from below and from above, in the services' words.
_PAIRS = (("since", "until"), ("oldest", "latest"), ("ts_from", "ts_to"), ("start", "end"),
          ("start_date", "end_date"), ("start_time", "end_time"), ("from", "to"),
          ("created_after", "created_before"), ("updated_after", "updated_before"))


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})" if isinstance(value, str) else repr(value)


def _seconds(text: str) -> float | None:
    """Seconds spelt by ``text`` in the duration grammar, or None (ValueError for a unit
    whose length varies)."""
    if _BARE.match(text):
        return float(text)
    iso = _ISO.match(text)
    if iso:
        if iso.group("Y") or iso.group("MO"):
            raise ValueError("years and months have no fixed length in seconds")
        return sum(float(iso.group(unit).replace(",", ".")) * size
                   for unit, size in _ISO_SECONDS.items() if iso.group(unit))
    if not _PARTS.match(text):
        return None
    total = 0.0
    for number, unit in _PART.findall(text):
        unit = unit.lower()
        if unit in _VAGUE:
            raise ValueError(f"{unit!r} has no fixed length in seconds")
        if unit not in _UNITS:
            return None
        total += float(number) * _UNITS[unit]
    return total


def _duration_schema(positive: bool = False) -> dict[str, Any]:
    number = {"type": "number", "exclusiveMinimum" if positive else "minimum": 0}
    spelt = {"title": "duration_text", "type": "string", "pattern": _DURATION_PATTERN}
    return {"title": "positive_duration" if positive else "duration",
            "description": f"seconds, or a duration like {DURATION_EXAMPLES}",
            "anyOf": [number, spelt]}


@described(_duration_schema)
def duration(value: Any, name: str, *, positive: bool = False) -> float:
    """Seconds, from the one duration grammar every integkit option speaks: a number of
    seconds (``30``, ``2.5``, ``"30"``), a number and a unit (``"500ms"``, ``"90s"``,
    ``"5min"`` or ``"5m"``, ``"1h"``, ``"1d"``, ``"1w"``; also spelt out: ``"2 hours"``),
    several of them (``"1h30m"``), an ISO 8601 duration (``"PT1H"``, ``"P1D"``, ``"P1W"``,
    ``"P1DT12H"``) or a ``datetime.timedelta``. Finite and not negative (above zero when
    ``positive``), else a ConfigError naming ``name``. Months and years are refused: their
    length varies.

    >>> duration("1h30m", "deadline") == duration("PT90M", "deadline") == 5400
    True
    """
    seconds: float | None = None
    vague = ""
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = _seconds(value)
        except ValueError as exc:
            vague = f" ({exc}: use days or weeks, e.g. '30d')"
    if seconds is None or not math.isfinite(seconds) or seconds < 0 or (
            positive and seconds == 0):
        least = "more than 0" if positive else "0 or more"
        raise ConfigError(f"{name} must be {least} seconds, or a duration like "
                          f"{DURATION_EXAMPLES}; not {_shown(value)}{vague}")
    return seconds


@described(_duration_schema(positive=True))
def positive_duration(value: Any, name: str) -> float:
    """:func:`duration`, above zero (a period, a timeout: 0 would mean "never" or "at once")."""
    return duration(value, name, positive=True)


@described({"type": "boolean"})
def flag(value: Any, name: str) -> bool:
    """True or False (no 1, no "yes": a flag spelt otherwise is usually a different key)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {_shown(value)}")
    return value


@described({"type": "string", "minLength": 1})
def text(value: Any, name: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string, not {_shown(value)}")
    return value


@described({"type": "array", "items": {"type": "string"}})
def texts(value: Any, name: str) -> tuple[str, ...]:
    """A list of strings (one string alone is refused: it is usually a missing list)."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset) \
            or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name} must be a list of strings, not {_shown(value)}")
    return tuple(value)


def choice(*options: str) -> Callable[[Any, str], str]:
    """A check that the value is one of ``options``."""
    def check(value: Any, name: str) -> str:
        if value not in options:
            raise ConfigError(f"{name} must be one of {', '.join(map(repr, options))}, "
                              f"not {_shown(value)}")
        return str(value)
    return described({"enum": list(options)})(check)


def _whole_schema(least: int = 1, most: int | None = None) -> dict[str, Any]:
    return {"type": "integer", "minimum": least,
            **({"maximum": most} if most is not None else {})}


@described(_whole_schema)
def whole(value: Any, name: str, *, least: int = 1, most: int | None = None) -> int:
    """An int in ``[least, most]``, or a ConfigError naming ``name`` (no bools, no strings)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least or (
            most is not None and value > most):
        span = f"between {least} and {most}" if most is not None else f"of at least {least}"
        raise ConfigError(f"{name} must be a whole number {span}, not {_shown(value)}")
    return value


def _fraction_schema(low: float = 0.0, high: float = 1.0,
                     include_high: bool = False) -> dict[str, Any]:
    return {"type": "number", "minimum": low,
            "maximum" if include_high else "exclusiveMaximum": high}


@described(_fraction_schema)
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


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def exact_seconds(value: Any) -> Decimal | None:
    """Exact seconds since the epoch from a number, a numeric string (unix seconds or a Slack
    ts, ``"1712345678.000100"``), a date, a datetime (naive = UTC), ISO 8601 text or a pandas
    Timestamp; None when ``value`` is none of these (not a time). Non-finite numbers and NaT
    raise ValueError. The one reader of times integkit's parameters go through
    (:mod:`integkit._params`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if isinstance(value, str):
        stripped = value.strip()
        try:
            return exact_seconds(Decimal(stripped))
        except InvalidOperation:
            pass
        try:
            value = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, dt.datetime):  # pandas.NaT too: a time of no value
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        delta = when - _EPOCH
        return exact_seconds(Decimal(delta.days * 86_400 + delta.seconds)
                             + Decimal(delta.microseconds) / 1_000_000)
    if isinstance(value, dt.date):
        return Decimal((value - _EPOCH.date()).days * 86_400)
    stamp = getattr(value, "timestamp", None)  # pandas.NaT raises ValueError
    return exact_seconds(float(stamp())) if callable(stamp) else None


def epoch_seconds(value: Any) -> float | None:
    """:func:`exact_seconds` as a float."""
    exact = exact_seconds(value)
    return None if exact is None else float(exact)


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
