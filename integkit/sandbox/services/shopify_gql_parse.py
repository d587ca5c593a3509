"""A small GraphQL parser for the Shopify emulator: the executable subset of the language.

Operations (query / mutation, named or anonymous, variable definitions with defaults),
selection sets, aliases, arguments (every literal kind, variables, lists, input objects),
fragment definitions, fragment spreads and inline fragments. Directives are parsed and
``@include`` / ``@skip`` honoured. Errors read like graphql-ruby's (Shopify's server):
``Parse error on "}" (RCURLY) at [3, 5]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Field", "FragmentSpread", "GraphQLSyntaxError", "InlineFragment",
           "Operation", "Variable", "parse"]


class GraphQLSyntaxError(ValueError):
    """A document that is not valid GraphQL; ``line``/``column`` say where."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    selections: list[Selection] | None = None
    line: int = 1
    column: int = 1

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class FragmentSpread:
    name: str
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class InlineFragment:
    type_condition: str | None
    selections: list[Selection]
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


Selection = Field | FragmentSpread | InlineFragment


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    name: str | None
    variables: dict[str, Any]  # name -> default value (None when no default)
    selections: list[Selection]


@dataclass
class Document:
    operations: list[Operation]
    fragments: dict[str, tuple[str, list[Selection]]]

    def operation(self, name: str | None) -> Operation:
        """The operation to run: the named one, or the only one."""
        if name is not None:
            for op in self.operations:
                if op.name == name:
                    return op
            raise KeyError(f'No operation named "{name}"')
        if len(self.operations) != 1:
            raise KeyError("An operation name is required")
        return self.operations[0]


_TOKEN = re.compile(r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\:=@\[\]{}|])
  | (?P<float>-?(?:0|[1-9]\d*)(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+))
  | (?P<int>-?(?:0|[1-9]\d*))
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n\r])*")
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
""", re.VERBOSE)
_PUNCT_NAMES = {"!": "BANG", "$": "VAR_SIGN", "(": "LPAREN", ")": "RPAREN", ":": "COLON",
                "=": "EQUALS", "@": "DIR_SIGN", "[": "LBRACKET", "]": "RBRACKET",
                "{": "LCURLY", "}": "RCURLY", "|": "PIPE", "&": "AMP", "...": "ELLIPSIS"}


@dataclass
class _Tok:
    kind: str
    text: str
    line: int
    column: int


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise GraphQLSyntaxError(
                f'Parse error on "{source[pos]}" (error) at [{line}, {pos - line_start + 1}]',
                line, pos - line_start + 1)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "ignored":
            tokens.append(_Tok(kind, text, line, pos - line_start + 1))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rindex("\n") + 1
        pos = match.end()
    tokens.append(_Tok("eof", "", line, pos - line_start + 1))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0

    # -- tokens ----------------------------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def error(self) -> GraphQLSyntaxError:
        tok = self.tok
        if tok.kind == "eof":
            return GraphQLSyntaxError(f"Unexpected end of document at [{tok.line}, "
                                      f"{tok.column}]", tok.line, tok.column)
        name = _PUNCT_NAMES.get(tok.text, tok.kind.upper() if tok.kind != "name"
                                else "IDENTIFIER")
        return GraphQLSyntaxError(f'Parse error on "{tok.text}" ({name}) at [{tok.line}, '
                                  f"{tok.column}]", tok.line, tok.column)

    def peek(self, text: str) -> bool:
        tok = self.tok
        return tok.kind in ("punct", "spread") and tok.text == text

    def expect(self, text: str) -> _Tok:
        if not self.peek(text):
            raise self.error()
        tok = self.tok
        self.i += 1
        return tok

    def name(self) -> str:
        tok = self.tok
        if tok.kind != "name":
            raise self.error()
        self.i += 1
        return tok.text

    # -- grammar ---------------------------------------------------------------------------------
    def document(self) -> Document:
        operations: list[Operation] = []
        fragments: dict[str, tuple[str, list[Selection]]] = {}
        while self.tok.kind != "eof":
            if self.peek("{"):
                operations.append(Operation("query", None, {}, self.selection_set()))
                continue
            keyword = self.name()
            if keyword == "fragment":
                name = self.name()
                if self.name() != "on":
                    self.i -= 1
                    raise self.error()
                type_name = self.name()
                self.directives()
                fragments[name] = (type_name, self.selection_set())
            elif keyword in ("query", "mutation", "subscription"):
                op_name = self.name() if self.tok.kind == "name" else None
                variables = self.variable_definitions() if self.peek("(") else {}
                self.directives()
                operations.append(Operation(keyword, op_name, variables, self.selection_set()))
            else:
                self.i -= 1
                raise self.error()
        if not operations and not fragments:
            raise self.error()
        return Document(operations, fragments)

    def variable_definitions(self) -> dict[str, Any]:
        self.expect("(")
        out: dict[str, Any] = {}
        while not self.peek(")"):
            self.expect("$")
            name = self.name()
            self.expect(":")
            self.type_ref()
            default = None
            if self.peek("="):
                self.expect("=")
                default = self.value(const=True)
            out[name] = default
            self.directives()
        self.expect(")")
        return out

    def type_ref(self) -> None:
        if self.peek("["):
            self.expect("[")
            self.type_ref()
            self.expect("]")
        else:
            self.name()
        if self.peek("!"):
            self.expect("!")

    def directives(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while self.peek("@"):
            self.expect("@")
            name = self.name()
            out.append((name, self.arguments() if self.peek("(") else {}))
        return out

    def selection_set(self) -> list[Selection]:
        self.expect("{")
        selections: list[Selection] = []
        while not self.peek("}"):
            selections.append(self.selection())
        self.expect("}")
        if not selections:
            raise self.error()
        return selections

    def selection(self) -> Selection:
        if self.peek("..."):
            self.expect("...")
            if self.tok.kind == "name" and self.tok.text != "on":
                return FragmentSpread(self.name(), self.directives())
            type_condition = None
            if self.tok.kind == "name" and self.tok.text == "on":
                self.i += 1
                type_condition = self.name()
            directives = self.directives()
            return InlineFragment(type_condition, self.selection_set(), directives)
        start = self.tok
        name = self.name()
        alias = None
        if self.peek(":"):
            self.expect(":")
            alias, name = name, self.name()
        arguments = self.arguments() if self.peek("(") else {}
        directives = self.directives()
        selections = self.selection_set() if self.peek("{") else None
        return Field(name, alias, arguments, directives, selections, start.line, start.column)

    def arguments(self) -> dict[str, Any]:
        self.expect("(")
        out: dict[str, Any] = {}
        while not self.peek(")"):
            name = self.name()
            self.expect(":")
            out[name] = self.value(const=False)
        self.expect(")")
        return out

    def value(self, *, const: bool) -> Any:
        tok = self.tok
        if tok.kind == "punct" and tok.text == "$" and not const:
            self.i += 1
            return Variable(self.name())
        if tok.kind == "punct" and tok.text == "[":
            self.i += 1
            items = []
            while not self.peek("]"):
                items.append(self.value(const=const))
            self.i += 1
            return items
        if tok.kind == "punct" and tok.text == "{":
            self.i += 1
            obj = {}
            while not self.peek("}"):
                key = self.name()
                self.expect(":")
                obj[key] = self.value(const=const)
            self.i += 1
            return obj
        self.i += 1
        if tok.kind == "int":
            return int(tok.text)
        if tok.kind == "float":
            return float(tok.text)
        if tok.kind == "string":
            return json.loads(tok.text)
        if tok.kind == "block":
            return tok.text[3:-3].replace('\\"""', '"""').strip()
        if tok.kind == "name":
            return {"true": True, "false": False, "null": None}.get(tok.text, _Enum(tok.text))
        self.i -= 1
        raise self.error()


class _Enum(str):
    """An enum literal (``sortKey: CREATED_AT``): a str, told apart from a string literal."""


def parse(source: str) -> Document:
    """The document in ``source``; GraphQLSyntaxError says where it is not GraphQL."""
    return _Parser(source).document()
