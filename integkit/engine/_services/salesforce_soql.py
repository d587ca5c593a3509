"""SOQL from Python values: literals quoted and escaped, filters from a dict, clauses split.

>>> build_soql("Opportunity", ["Id", "Amount"], where={"Amount": {"gte": 10000},
...            "StageName": ["Closed Won", "Negotiation/Review"]}, order_by="-CloseDate", limit=5)
"SELECT Id, Amount FROM Opportunity WHERE Amount >= 10000 AND StageName IN ('Closed Won', \
'Negotiation/Review') ORDER BY CloseDate DESC LIMIT 5"

Names (objects, fields, ORDER BY terms) are checked against SOQL's identifier grammar, and
values are always literals, so a value can never change the shape of the query.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..._errors import ConfigError
from ..._params import utc_text

__all__ = [
    "OPERATORS",
    "SoqlParts",
    "build_soql",
    "count_soql",
    "quote",
    "split_soql",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_ORDER = re.compile(
    r"^\s*(?P<field>[A-Za-z][A-Za-z0-9_.]*)\s*(?P<dir>ASC|DESC)?\s*(?P<nulls>NULLS\s+(FIRST|LAST))?"
    r"\s*$", re.IGNORECASE)
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}

#: ``where={"Field": {op: value}}`` operators and their SOQL.
OPERATORS: dict[str, str] = {
    "eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
    "like": "LIKE", "in": "IN", "not_in": "NOT IN", "nin": "NOT IN",
}


def quote(value: Any) -> str:
    """``value`` as a SOQL literal: strings quoted with backslash escapes, dates and datetimes
    unquoted ISO (naive datetimes are UTC), numbers without exponent, ``null``/``true``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | decimal.Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"SOQL has no literal for {value!r}")
        return str(format(decimal.Decimal(str(value)), "f"))
    if isinstance(value, dt.datetime):  # before date: a datetime is a date (pandas too)
        return utc_text(value, name="SOQL literal", millis=True)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"
    to_pydatetime = getattr(value, "to_pydatetime", None)  # pandas.Timestamp
    if callable(to_pydatetime):
        return quote(to_pydatetime())
    raise ConfigError(f"SOQL has no literal for a {type(value).__name__}: {value!r}")


def _field(name: str) -> str:
    if not isinstance(name, str) or not _FIELD.match(name):
        raise ConfigError(f"{name!r} is not a SOQL field name (letters, digits, _ and . only)")
    return name


def _object(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{name!r} is not an sObject name, e.g. 'Account' or 'Invoice__c'")
    return name


def _list(values: Any, name: str) -> str:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ConfigError(f"{name}: IN needs a list of values, not {values!r}")
    items = [quote(v) for v in values]
    if not items:
        raise ConfigError(f"{name}: IN needs at least one value")
    return "(" + ", ".join(items) + ")"


def _condition(name: str, spec: Any) -> list[str]:
    """The SOQL conditions one ``where`` entry stands for."""
    field = _field(name)
    if spec is None:
        return [f"{field} = null"]
    if isinstance(spec, list | tuple | set | frozenset):
        return [f"{field} IN {_list(spec, field)}"]
    if not isinstance(spec, Mapping):
        return [f"{field} = {quote(spec)}"]
    out = []
    for op, value in spec.items():
        if op == "null":
            out.append(f"{field} = null" if value else f"{field} != null")
        elif op in ("in", "not_in", "nin"):
            out.append(f"{field} {OPERATORS[op]} {_list(value, field)}")
        elif op in OPERATORS:
            if value is None and op not in ("eq", "ne"):
                raise ConfigError(f"{field}: {op} null is not SOQL; use {{'null': True}}")
            out.append(f"{field} {OPERATORS[op]} {quote(value)}")
        else:
            known = ", ".join([*OPERATORS, "null"])
            raise ConfigError(f"{field}: unknown operator {op!r}; use one of {known}")
    return out


def where_clause(where: Mapping[str, Any] | str | None) -> str | None:
    """The WHERE condition (without the keyword) of a ``where`` dict: entries are ANDed."""
    if where is None:
        return None
    if isinstance(where, str):
        return where.strip() or None
    parts = [c for name, spec in where.items() for c in _condition(name, spec)]
    return " AND ".join(parts) or None


def _order(order_by: str | Sequence[str] | None) -> str | None:
    if order_by is None:
        return None
    terms = [order_by] if isinstance(order_by, str) else list(order_by)
    out = []
    for term in terms:
        text = term.strip()
        descending = text.startswith("-")
        match = _ORDER.match(text.lstrip("-"))
        if not match or (descending and match.group("dir")):
            raise ConfigError(f"order_by {term!r}: use 'Field', 'Field DESC', '-Field' or "
                              "'Field ASC NULLS LAST'")
        parts = [_field(match.group("field"))]
        direction = "DESC" if descending else (match.group("dir") or "").upper()
        if direction:
            parts.append(direction)
        if match.group("nulls"):
            parts.append(" ".join(match.group("nulls").upper().split()))
        out.append(" ".join(parts))
    return ", ".join(out) or None


def build_soql(
    object: str,
    fields: Sequence[str] | str,
    *,
    where: Mapping[str, Any] | str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> str:
    """A SELECT query; ``where`` maps fields to a value (``=``), a list (``IN``), None
    (``= null``) or ``{op: value}`` with ops ``eq ne lt lte gt gte like in not_in null``."""
    names = [fields] if isinstance(fields, str) else list(fields)
    if not names:
        raise ConfigError("a query needs at least one field")
    soql = f"SELECT {', '.join(_field(f) for f in names)} FROM {_object(object)}"
    condition = where_clause(where)
    if condition:
        soql += f" WHERE {condition}"
    order = _order(order_by)
    if order:
        soql += f" ORDER BY {order}"
    for word, value in (("LIMIT", limit), ("OFFSET", offset)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{word.lower()} must be a whole number >= 0, not {value!r}")
            soql += f" {word} {value}"
    return soql


# -- reading a query back ------------------------------------------------------------------------

_CLAUSES = ("SELECT", "FROM", "WHERE", "WITH", "GROUP BY", "HAVING", "ORDER BY", "LIMIT",
            "OFFSET", "FOR", "UPDATE")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SoqlParts:
    """The top-level clauses of a query (text as written, keywords removed)."""

    select: str
    object: str
    clauses: dict[str, str]

    @property
    def fields(self) -> list[str]:
        """The selected items, split at top-level commas."""
        return [f.strip() for f in _split_commas(self.select) if f.strip()]

    def clause(self, name: str) -> str | None:
        return self.clauses.get(name)


def _top_level(text: str) -> Iterator[int]:
    """The index of each character of ``text`` outside quoted literals and parentheses."""
    depth, quoted, i = 0, False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == "'":
                quoted = False
        elif ch == "'":
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            yield i
        i += 1


def _split_commas(text: str) -> list[str]:
    cuts = [-1, *(i for i in _top_level(text) if text[i] == ","), len(text)]
    return [text[a + 1:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def _top_level_keywords(soql: str) -> list[tuple[int, int, str]]:
    """``(start, end, KEYWORD)`` of each clause keyword outside quotes and parentheses."""
    found: list[tuple[int, int, str]] = []
    read_to = 0  # the end of the last word read
    for i in _top_level(soql):
        ch = soql[i]
        if i < read_to or not (ch.isalpha() or ch == "_") or (
                i > 0 and (soql[i - 1].isalnum() or soql[i - 1] in "_.")):
            continue
        match = _WORD.match(soql, i)
        assert match is not None
        word, read_to = match.group().upper(), match.end()
        if word in ("GROUP", "ORDER"):
            by = re.compile(r"\s+BY\b", re.IGNORECASE).match(soql, read_to)
            if by:
                found.append((i, by.end(), f"{word} BY"))
                read_to = by.end()
        elif word in _CLAUSES:
            found.append((i, read_to, word))
    return found


def split_soql(soql: str) -> SoqlParts | None:
    """The clauses of a simple SELECT (None when it does not start ``SELECT ... FROM obj``)."""
    marks = _top_level_keywords(soql)
    if len(marks) < 2 or marks[0][2] != "SELECT" or marks[1][2] != "FROM":
        return None
    clauses: dict[str, str] = {}
    for index, (_, end, word) in enumerate(marks[1:], 1):
        stop = marks[index + 1][0] if index + 1 < len(marks) else len(soql)
        clauses[word] = soql[end:stop].strip()
    obj = clauses.pop("FROM").split()
    if not obj or not _NAME.match(obj[0]):
        return None
    return SoqlParts(select=soql[marks[0][1]:marks[1][0]].strip(), object=obj[0],
                     clauses=clauses)


def count_soql(soql: str) -> tuple[str, int | None] | None:
    """``SELECT COUNT() FROM ...`` with the same filter, and the query's LIMIT (the count is
    capped by it); None for queries a plain count cannot size (GROUP BY, OFFSET, FOR...)."""
    parts = split_soql(soql)
    if parts is None or any(k in parts.clauses for k in ("GROUP BY", "HAVING", "OFFSET",
                                                         "FOR", "UPDATE")):
        return None
    if any("(" in f for f in parts.fields):  # aggregates and subqueries change the row count
        return None
    out = f"SELECT COUNT() FROM {parts.object}"
    for word in ("WHERE", "WITH"):
        if parts.clause(word):
            out += f" {word} {parts.clauses[word]}"
    limit = parts.clause("LIMIT")
    return out, int(limit) if limit and limit.isdigit() else None
