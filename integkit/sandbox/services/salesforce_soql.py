"""The SOQL the emulator understands, parsed and evaluated as Salesforce does:

    SELECT COUNT() | field, Rel.field, ... FROM Object
    [WHERE cond] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Conditions: ``AND``/``OR``/``NOT`` and parentheses over ``= != <> < <= > >= LIKE IN NOT IN``;
literals: quoted strings (backslash escapes), numbers, ``true``/``false``/``null``, dates,
datetimes and the date literals ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``,
``NEXT_N_DAYS:n``. Keywords and names are case-insensitive; ``=``, ``LIKE`` and ``IN`` on text
too. ``!=`` matches nulls, as in SOQL. A literal whose kind does not fit the field is refused
the way Salesforce refuses it (INVALID_FIELD), a syntax error is MALFORMED_QUERY.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .salesforce_data import SCHEMA, Field, SObject

__all__ = ["Query", "SoqlError", "parse"]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
""", re.VERBOSE)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"',
             "\\": "\\", "%": "\\%", "_": "\\_"}
_TEXT = ("id", "reference", "string", "textarea", "picklist", "email", "phone", "url")
_NUMBER = ("int", "double", "currency", "percent")
_KEYWORDS = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT",
             "IN", "LIKE", "ASC", "DESC", "NULLS", "FIRST", "LAST", "NULL", "TRUE", "FALSE"}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Getter = Callable[[str, str], dict[str, Any] | None]
Check = Callable[[dict[str, Any], Getter], bool]


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class Column:
    """A selected or filtered field: its path from the queried object, and the field."""

    path: tuple[str, ...]  # canonical names: ("Account", "Name")
    field: Field
    objects: tuple[SObject, ...]  # the object each path step is read from


@dataclass
class Query:
    """A parsed query, ready to run over the org's records."""

    object: SObject
    count: bool
    columns: list[Column]
    where: Check | None
    order: list[tuple[Column, bool, bool]]  # column, descending, nulls first
    limit: int | None
    offset: int | None
    text: str


def _tokens(soql: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise _malformed(soql, pos, soql[pos])
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, match.group(), pos))
        pos = match.end()
    return out


def _malformed(soql: str, pos: int, token: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:"
                                        f"{pos + 1}\nunexpected token: {token}")


def _unquote(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_UNESCAPE.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _like(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _date_range(word: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    name, _, n = word.upper().partition(":")
    days = int(n) if n else 0
    if name == "TODAY":
        return today, today
    if name == "YESTERDAY":
        day = today - dt.timedelta(days=1)
        return day, day
    if name == "TOMORROW":
        day = today + dt.timedelta(days=1)
        return day, day
    if name == "LAST_N_DAYS" and n:
        return today - dt.timedelta(days=days), today
    if name == "NEXT_N_DAYS" and n:
        return today + dt.timedelta(days=1), today + dt.timedelta(days=days)
    return None


class _Parser:
    def __init__(self, soql: str, today: dt.date) -> None:
        self.soql = soql
        self.toks = _tokens(soql)
        self.i = 0
        self.today = today

    # -- tokens ------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise SoqlError("MALFORMED_QUERY", f"\n{self.soql}\n{' ' * len(self.soql)}^\n"
                            f"ERROR at Row:1:Column:{len(self.soql) + 1}\nunexpected token: "
                            "<EOF>")
        self.i += 1
        return tok

    def at(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.upper in words

    def expect(self, word: str) -> _Tok:
        tok = self.take()
        if tok.upper != word:
            raise _malformed(self.soql, tok.pos, tok.text)
        return tok

    # -- names -------------------------------------------------------------------------------
    def column(self, obj: SObject, tok: _Tok) -> Column:
        if tok.kind != "word" or tok.upper in _KEYWORDS or ":" in tok.text:
            raise _malformed(self.soql, tok.pos, tok.text)
        parts = tok.text.split(".")
        if len(parts) > 1 and parts[0].lower() == obj.name.lower():
            parts = parts[1:]  # Account.Name FROM Account
        path, objects, current = [], [], obj
        for part in parts[:-1]:
            ref = current.relationship(part)
            if ref is None or len(ref.reference_to) != 1:
                raise SoqlError("INVALID_FIELD", self._no_column(tok, part, current))
            path.append(str(ref.relationship))
            objects.append(current)
            current = SCHEMA[ref.reference_to[0].lower()]
        field = current.field(parts[-1])
        if field is None:
            raise SoqlError("INVALID_FIELD", self._no_column(tok, parts[-1], current))
        path.append(field.name)
        objects.append(current)
        return Column(tuple(path), field, tuple(objects))

    def _no_column(self, tok: _Tok, name: str, obj: SObject) -> str:
        return (f"\n{self.soql}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{tok.pos + 1}\n"
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use "
                "a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.")

    # -- the query -----------------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect("SELECT")
        count = False
        raw_columns: list[_Tok] = []
        if self.at("COUNT") and self.peek(1) is not None and self.peek(1).text == "(":  # type: ignore[union-attr]
            self.take(), self.take()
            if self.take().text != ")":
                raise SoqlError("MALFORMED_QUERY", "COUNT() takes no field here")
            count = True
        else:
            while True:
                raw_columns.append(self.take())
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.take()
                    continue
                break
        self.expect("FROM")
        obj_tok = self.take()
        obj = SCHEMA.get(obj_tok.text.lower())
        if obj is None or obj_tok.kind != "word":
            raise SoqlError("INVALID_TYPE", f"\n{self.soql}\n{' ' * obj_tok.pos}^\nERROR at "
                            f"Row:1:Column:{obj_tok.pos + 1}\nsObject type '{obj_tok.text}' is "
                            "not supported. If you are attempting to use a custom object, be "
                            "sure to append the '__c' after the entity name. Please reference "
                            "your WSDL or the describe call for the appropriate names.")
        columns = []
        seen: set[tuple[str, ...]] = set()
        for tok in raw_columns:
            col = self.column(obj, tok)
            key = tuple(p.lower() for p in col.path)
            if key in seen:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {tok.text}")
            seen.add(key)
            columns.append(col)
        where = None
        if self.at("WHERE"):
            self.take()
            where = self.condition(obj)
        order: list[tuple[Column, bool, bool]] = []
        if self.at("ORDER"):
            self.take()
            self.expect("BY")
            while True:
                col = self.column(obj, self.take())
                desc = False
                if self.at("ASC", "DESC"):
                    desc = self.take().upper == "DESC"
                nulls_first = not desc
                if self.at("NULLS"):
                    self.take()
                    nulls_first = self.take().upper == "FIRST"
                order.append((col, desc, nulls_first))
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.take()
                    continue
                break
        limit = self.number_clause("LIMIT")
        offset = self.number_clause("OFFSET")
        if offset is not None and offset > 2000:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        rest = self.peek()
        if rest is not None:
            raise _malformed(self.soql, rest.pos, rest.text)
        return Query(obj, count, columns, where, order, limit, offset, self.soql)

    def number_clause(self, word: str) -> int | None:
        if not self.at(word):
            return None
        self.take()
        tok = self.take()
        if tok.kind != "number" or "." in tok.text or tok.text.startswith("-"):
            raise _malformed(self.soql, tok.pos, tok.text)
        return int(tok.text)

    # -- conditions ----------------------------------------------------------------------------
    def condition(self, obj: SObject) -> Check:
        left = self.conjunction(obj)
        while self.at("OR"):
            self.take()
            right = self.conjunction(obj)
            left = (lambda a, b: lambda r, get: a(r, get) or b(r, get))(left, right)
        return left

    def conjunction(self, obj: SObject) -> Check:
        left = self.negation(obj)
        while self.at("AND"):
            self.take()
            right = self.negation(obj)
            left = (lambda a, b: lambda r, get: a(r, get) and b(r, get))(left, right)
        return left

    def negation(self, obj: SObject) -> Check:
        if self.at("NOT"):
            self.take()
            inner = self.negation(obj)
            return lambda r, get: not inner(r, get)
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.take()
            inner = self.condition(obj)
            if self.take().text != ")":
                raise _malformed(self.soql, self.toks[self.i - 1].pos, self.toks[self.i - 1].text)
            return inner
        return self.comparison(obj)

    def comparison(self, obj: SObject) -> Check:
        col = self.column(obj, self.take())
        tok = self.take()
        op = tok.upper if tok.kind == "word" else tok.text
        if op == "NOT" and self.at("IN"):
            self.take()
            op = "NOT IN"
        if op in ("IN", "NOT IN"):
            if self.take().text != "(":
                raise _malformed(self.soql, tok.pos, tok.text)
            values = []
            while True:
                values.append(self.literal(col))
                sep = self.take()
                if sep.text == ")":
                    break
                if sep.text != ",":
                    raise _malformed(self.soql, sep.pos, sep.text)
            wanted = {_fold(v) for v in values}
            negate = op == "NOT IN"
            return lambda r, get: (_fold(_read(r, col, get)) in wanted) != negate
        if op == "LIKE":
            if col.field.type not in _TEXT:
                raise SoqlError("INVALID_FIELD", f"invalid operator on {col.field.type} field: "
                                f"LIKE ({col.field.name})")
            pattern = self.literal(col)
            if not isinstance(pattern, str):
                raise SoqlError("MALFORMED_QUERY", "LIKE needs a quoted pattern")
            regex = _like(pattern)
            return lambda r, get: (lambda v: isinstance(v, str) and bool(regex.fullmatch(v)))(
                _read(r, col, get))
        if tok.kind != "op":
            raise _malformed(self.soql, tok.pos, tok.text)
        value = self.literal(col)
        return _compare(col, "!=" if op == "<>" else op, value)

    def literal(self, col: Column) -> Any:
        tok = self.take()
        kind, ftype = tok.kind, col.field.type
        name = col.field.name
        if kind == "word" and tok.upper == "NULL":
            return None
        if kind == "word" and (tok.upper in ("TRUE", "FALSE")):
            if ftype != "boolean":
                raise self._wrong(name, ftype, quoted=ftype in _TEXT)
            return tok.upper == "TRUE"
        if ftype in _TEXT:
            if kind != "string":
                raise self._wrong(name, "string", quoted=True)
            return _unquote(tok.text)
        if ftype == "boolean":
            raise self._wrong(name, "boolean", quoted=False)
        if kind == "string":
            raise self._wrong(name, ftype, quoted=False)
        if ftype in _NUMBER:
            if kind != "number":
                raise self._wrong(name, ftype, quoted=False)
            return float(tok.text) if ftype != "int" else int(float(tok.text))
        if kind == "word":
            span = _date_range(tok.text, self.today)
            if span is None:
                raise _malformed(self.soql, tok.pos, tok.text)
            return span
        if ftype == "date":
            if kind != "date":
                raise self._wrong(name, "date", quoted=False)
            return dt.date.fromisoformat(tok.text)
        if kind != "datetime":
            raise self._wrong(name, "dateTime", quoted=False)
        text = tok.text.replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)

    @staticmethod
    def _wrong(name: str, kind: str, *, quoted: bool) -> SoqlError:
        how = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return SoqlError("INVALID_FIELD", f"value of filter criterion for field '{name}' must "
                         f"be of type {kind} and {how}")


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _read(record: dict[str, Any], col: Column,
          get: Callable[[str, str], dict[str, Any] | None]) -> Any:
    """The value of ``col`` for ``record``, following relationships (None if broken)."""
    node: dict[str, Any] | None = record
    for step, obj in zip(col.path[:-1], col.objects[:-1], strict=True):
        ref = obj.relationship(step)
        assert ref is not None and node is not None
        target = node.get(ref.name)
        node = get(ref.reference_to[0], target) if target else None
        if node is None:
            return None
    return node.get(col.field.name) if node is not None else None


def _compare(col: Column, op: str, value: Any) -> Check:
    if isinstance(value, tuple):  # a date literal: a range of days
        lo, hi = value
        as_date = col.field.type == "datetime"

        def day(v: Any) -> dt.date | None:
            if v is None:
                return None
            return v.date() if as_date else v  # type: ignore[no-any-return]

        tests: dict[str, Callable[[dt.date], bool]] = {
            "=": lambda d: lo <= d <= hi, "!=": lambda d: not lo <= d <= hi,
            "<": lambda d: d < lo, "<=": lambda d: d <= hi,
            ">": lambda d: d > hi, ">=": lambda d: d >= lo,
        }
        test = tests[op]
        return lambda r, get: (lambda d: d is not None and test(d) if op != "!=" else
                               d is None or test(d))(day(_read(r, col, get)))
    want = _fold(value)
    if op == "=":
        return lambda r, get: _fold(_read(r, col, get)) == want
    if op == "!=":
        return lambda r, get: _fold(_read(r, col, get)) != want
    if value is None:
        return lambda r, get: False
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
    fn = ops[op]
    return lambda r, get: (lambda v: v is not None and fn(v, want))(_fold(_read(r, col, get)))


def parse(soql: str, *, today: dt.date | None = None) -> Query:
    """Parse ``soql`` against the emulated schema, or raise SoqlError."""
    return _Parser(soql, today or dt.datetime.now(dt.UTC).date()).parse()


def read(record: dict[str, Any], col: Column,
         get: Callable[[str, str], dict[str, Any] | None]) -> Any:
    """The value of a selected column for ``record`` (public face of the reader)."""
    return _read(record, col, get)
