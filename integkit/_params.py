"""Typed request parameters: what a user passes for a declared parameter, turned into what the
service reads, by one set of rules for every connector.

A definition declares a parameter by type name (``oldest: slack_ts``) or as a mapping
(``created: {type: range, of: unix}``). Times may be given as a date, a datetime (naive = UTC),
a pandas Timestamp, ISO 8601 text (``"2024-01-31"``, ``"2024-01-31T12:00:00Z"``), unix
seconds, or a Slack ts (``"1712345678.000100"``); each time type sends its own form. A value
that is none of what its type accepts is a ConfigError naming the parameter and the forms.

>>> convert("created", {"gte": "2024-01-01"}, param_type({"type": "range", "of": "unix"}, "p"))
{'gte': 1704067200}
>>> convert("oldest", "2024-01-02", param_type("slack_ts", "p"))
'1704153600.000000'
>>> convert("labels", ["bug", "ui"], param_type("list", "p"))
'bug,ui'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ._errors import ConfigError
from ._spec import Key, Spec
from ._spec_schema import described, spec_schema
from ._validate import choice, exact_seconds, text, texts

__all__ = ["PARAMETER", "RANGE_OPS", "TIME_TYPES", "TYPES", "ParamType", "convert",
           "convert_all", "param_type", "parameters", "utc_text"]

#: How each time type is sent: a day, an ISO 8601 instant in UTC, unix seconds or
#: milliseconds, Slack's ``"%.6f"`` seconds.
TIME_TYPES = ("date", "datetime", "unix", "unix_ms", "slack_ts")
TYPES = (*TIME_TYPES, "boolean", "integer", "string", "enum", "list", "range")
#: A range's bounds, and the operators GitHub's search syntax writes them with.
RANGE_OPS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_TIME_FORMS = ("a date ('2024-01-31'), an ISO 8601 time ('2024-01-31T12:00:00Z'), a date, "
               "datetime or pandas.Timestamp, unix seconds (1706702400) or a Slack ts "
               "('1706702400.000100')")


@dataclass(frozen=True)
class ParamType:
    """A declared parameter's type (see the module doc).

    Args:
        type: one of :data:`TYPES`.
        of: a list's item type, a range's time type.
        values: what an enum takes.
        separator: what joins a list's items (``","``), or splits a value into ``parts``.
        form: how a range is sent: ``nested`` (``created[gte]=``, as the body encoding
            writes a mapping) or ``text`` (``2024-01-01..2024-02-01``, GitHub's search).
        parts: path parameters a value holding ``separator`` fills, in order
            (``repo: {parts: [owner, repo], separator: /}`` reads ``"octo/atlas"``).
        hint: what a ConfigError says when a path needs this parameter and none was given.
    """

    type: str
    of: str | None = None
    values: tuple[str, ...] = ()
    separator: str = ","
    form: str = "nested"
    parts: tuple[str, ...] = ()
    hint: str = ""


PARAMETER = Spec("parameter", [
    Key("type", choice(*TYPES), required=True), Key("of", choice(*TYPES)),
    Key("values", texts), Key("separator", text), Key("form", choice("nested", "text")),
    Key("parts", texts), Key("hint", text),
])


@described(lambda: {"anyOf": [{"enum": list(TYPES)}, spec_schema(PARAMETER)]})
def param_type(value: Any, where: str) -> ParamType:
    """A parameter's declaration (a type name, or a mapping read by :data:`PARAMETER`),
    checked: a range ``of`` a time type, a list ``of`` a plain type, an enum with values."""
    if isinstance(value, ParamType):
        return value
    spec = PARAMETER.read({"type": value} if isinstance(value, str) else value, what=where)
    options: dict[str, Any] = {k: tuple(v) if k in ("values", "parts") else v
                               for k, v in spec.items()}
    kind = ParamType(**options)
    if kind.type == "range" and kind.of not in TIME_TYPES:
        raise ConfigError(f"{where}: a range needs of: one of {', '.join(TIME_TYPES)}")
    if kind.type == "list" and kind.of in ("list", "range"):
        raise ConfigError(f"{where}: a list's items are of a plain type, not {kind.of}")
    if kind.of is not None and kind.type not in ("list", "range"):
        raise ConfigError(f"{where}: of: is for a list or a range, not a {kind.type}")
    if ("enum" in (kind.type, kind.of)) != bool(kind.values):
        raise ConfigError(f"{where}: an enum (or a list of one) needs values:, and only it "
                          "takes them")
    if kind.form != "nested" and kind.type != "range":
        raise ConfigError(f"{where}: form: is for a range, not a {kind.type}")
    return kind


@described(lambda: {"type": "object", "additionalProperties": {
    "anyOf": [{"enum": list(TYPES)}, spec_schema(PARAMETER)]}})
def parameters(value: Any, where: str) -> dict[str, ParamType]:
    """A ``parameters:`` section: parameter name -> its declaration."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where} must map parameter names to types, not {value!r}")
    return {name: param_type(kind, f"{where} {name}") for name, kind in value.items()}


# -- times -----------------------------------------------------------------------------------
def _time(name: str, value: Any, kind: str, *, millis: bool = False) -> Any:
    try:
        moment = exact_seconds(value)
        if moment is None:
            raise ValueError
        if kind == "unix":
            return int(moment)
        if kind == "unix_ms":
            return int(moment * 1000)
        if kind == "slack_ts":
            return f"{moment:.6f}"
        when = _EPOCH + dt.timedelta(microseconds=int(moment * 1_000_000))
    except (ValueError, OverflowError, InvalidOperation):
        raise ConfigError(f"{name}={value!r} is not a date or a time: pass "
                          f"{_TIME_FORMS}") from None
    if kind == "date":
        return when.strftime("%Y-%m-%d")
    fraction = f".{when.microsecond // 1000:03d}" if millis and when.microsecond else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def utc_text(value: Any, *, name: str = "time", millis: bool = False) -> str:
    """``value`` (any accepted time) as an ISO 8601 instant in UTC, ``2024-01-31T12:00:00Z``:
    the ``datetime`` type's form; ``millis`` adds ``.mmm`` when the time has a fraction (how
    SOQL writes a datetime literal)."""
    return str(_time(name, value, "datetime", millis=millis))


# -- every type ------------------------------------------------------------------------------
def _scalar(name: str, value: Any, kind: ParamType) -> Any:
    if kind.type in TIME_TYPES:
        return _time(name, value, kind.type)
    if kind.type == "boolean":
        word = str(value).lower() if isinstance(value, bool | int | str) else None
        if word in ("true", "1", "false", "0"):
            return "true" if word in ("true", "1") else "false"
        raise ConfigError(f"{name}={value!r} is not a boolean: pass True or False")
    if kind.type == "integer":
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
            if not isinstance(value, bool) and number == number.to_integral_value():
                return int(number)
        except (InvalidOperation, TypeError, ValueError):
            pass
        raise ConfigError(f"{name}={value!r} is not a whole number: pass an int like 42")
    if kind.type == "enum":
        if isinstance(value, str | int) and not isinstance(value, bool) and \
                str(value) in kind.values:
            return str(value)
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(kind.values)}")
    if isinstance(value, str) or (isinstance(value, int | float | Decimal)
                                  and not isinstance(value, bool)):
        return str(value)
    raise ConfigError(f"{name}={value!r} is not text: pass a string")


def _list(name: str, value: Any, kind: ParamType) -> str:
    item = ParamType(kind.of or "string", values=kind.values)
    if isinstance(value, str):
        items: list[Any] = value.split(kind.separator)
    elif isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, set | frozenset):
        items = sorted(value, key=str)  # one order, so that one request has one cache key
    else:
        raise ConfigError(f"{name}={value!r} is not a list: pass a list of values or one "
                          f"string joined by {kind.separator!r}")
    return kind.separator.join(str(_scalar(f"{name}[{i}]", v, item))
                               for i, v in enumerate(items))


def _range(name: str, value: Any, kind: ParamType) -> Any:
    bound = ParamType(kind.of or "unix")
    if not isinstance(value, Mapping):
        if kind.form == "text" and isinstance(value, str):
            return value  # already the service's own syntax (">=2024-01-01", "a..b")
        return _scalar(name, value, bound)
    unknown = sorted(map(str, set(value) - set(RANGE_OPS)))
    if unknown:
        raise ConfigError(f"{name}: a range's keys are {', '.join(RANGE_OPS)}, not "
                          f"{', '.join(unknown)} (e.g. {name}={{'gte': '2024-01-01'}})")
    bounds = {k: _scalar(f"{name}[{k!r}]", v, bound) for k, v in value.items()}
    if kind.form == "nested":
        return bounds
    if set(bounds) == {"gte", "lte"}:
        return f"{bounds['gte']}..{bounds['lte']}"
    if len(bounds) != 1:
        raise ConfigError(f"{name}: this service takes one bound, or gte and lte together")
    ((op, edge),) = bounds.items()
    return f"{RANGE_OPS[op]}{edge}"


def convert(name: str, value: Any, kind: ParamType) -> Any:
    """``value`` of the parameter ``name`` as the service reads it (None stays None)."""
    if value is None:
        return None
    if kind.type == "list":
        return _list(name, value, kind)
    if kind.type == "range":
        return _range(name, value, kind)
    return _scalar(name, value, kind)


def convert_all(params: Mapping[str, Any], declared: Mapping[str, ParamType]) -> dict[str, Any]:
    """``params`` with every declared one converted; the others as they are."""
    return {name: convert(name, value, declared[name]) if name in declared else value
            for name, value in params.items()}
