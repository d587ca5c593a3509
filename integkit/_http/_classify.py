"""Response classifiers: what an answer means when its status alone does not say it.

Many services answer a failure with a 200 and say so in the body (``{"ok": false, "error":
"ratelimited"}``, a GraphQL ``errors[*].extensions.code == "THROTTLED"``), or answer a rate
limit with a 403 whose headers or text tell it apart from a refusal. A definition lists rules
(``responses:``); the first whose conditions all hold gives the answer's outcome:

- ``retry``: transient; sent again like a 5xx (a write that cannot be replayed is not: it
  may have been applied);
- ``rate_limited``: refused before it was processed; every process of the key pauses for
  ``wait`` (the first of its sources that answers) and the call goes again, like a 429;
- ``error``: a permanent failure, raised at once.

A failure still classified so after the retries is raised as the error the rule names (or
the one its outcome implies), with the rule's ``code`` and ``message`` paths.

    responses:
      - {status: 200, body: {ok: false, error: {one_of: [ratelimited]}},
         outcome: rate_limited, wait: [{header: retry-after}, 1]}
      - {status: [403, 429], text: {contains: secondary rate limit},
         outcome: rate_limited, wait: [{header: retry-after}, 60]}

Conditions: ``status`` (a status, a list, or ``"4xx"``), ``headers`` (name -> condition on
its value), ``body`` (a path into the decoded JSON, ``*`` for every item -> condition: any
value found may meet it) and ``text`` (a condition on the raw body). A condition is a value
(equals), or one of ``{equals: v}``, ``{one_of: [...]}``, ``{exists: bool}``,
``{contains: "text"}`` (case-insensitive). A body that is not JSON, huge or of another shape
than the rule expects simply does not meet its body conditions.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .. import _errors
from .._errors import ConfigError
from .._jsonpath import find_all
from .._spec import Key, Spec
from .._spec_schema import described, schema_of, spec_schema
from .._validate import choice, duration, text
from ._content import peek_json
from ._feedback import check_feedback, read_feedback
from ._hints import reset_after, retry_after

__all__ = ["OUTCOMES", "RESPONSE_RULE", "Classified", "ResponseRule", "classified_failure",
           "classify", "error_classes", "response_rules"]

#: What a rule may say an answer is.
OUTCOMES = ("retry", "rate_limited", "error")
# The raw body a ``text`` condition searches: enough for any message, cheap on a huge body.
_TEXT_LIMIT = 1 << 20
_CONDITION_KEYS = ("equals", "one_of", "exists", "contains")
_SCALAR = {"type": ["string", "number", "boolean", "null"]}


def error_classes() -> dict[str, type[_errors.ApiError]]:
    """The shared error classes a rule (or a definition's ``errors.codes``) may name."""
    found: dict[str, type[_errors.ApiError]] = {}
    todo: list[type[_errors.ApiError]] = [_errors.ApiError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ == _errors.__name__:
                found[sub.__name__] = sub
                todo.append(sub)
    return dict(sorted(found.items()))


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of a value (or of every value a body path finds: any may meet it)."""

    kind: str  # one of _CONDITION_KEYS
    value: Any

    def holds(self, values: list[Any]) -> bool:
        if self.kind == "exists":
            return bool(values) is bool(self.value)
        for found in values:
            if self.kind == "equals" and _same(found, self.value):
                return True
            if self.kind == "one_of" and any(_same(found, v) for v in self.value):
                return True
            if self.kind == "contains" and isinstance(found, str | int | float) and \
                    str(self.value).lower() in str(found).lower():
                return True
        return False


def _same(found: Any, wanted: Any) -> bool:
    """Equal, a bool only to a bool (``ok: false`` is not met by a ``0``)."""
    if isinstance(found, bool) or isinstance(wanted, bool):
        return isinstance(found, bool) and isinstance(wanted, bool) and found is wanted
    if isinstance(found, dict | list):
        return False
    return bool(found == wanted)


_CONDITION_SCHEMA = {"anyOf": [
    _SCALAR,
    {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
     "properties": {"equals": _SCALAR, "one_of": {"type": "array", "items": _SCALAR},
                    "exists": {"type": "boolean"}, "contains": {"type": "string"}}},
]}


@described(_CONDITION_SCHEMA)
def _condition(value: Any, where: str) -> Condition:
    if not isinstance(value, Mapping):
        if isinstance(value, list | tuple | set):
            raise ConfigError(f"{where} must be a value or one of {{one_of: [...]}}, "
                              f"{{equals: ...}}, {{exists: true}}, {{contains: ...}}; not "
                              f"{value!r} (a list: write {{one_of: {list(value)!r}}})")
        return Condition("equals", value)
    if len(value) != 1 or next(iter(value)) not in _CONDITION_KEYS:
        raise ConfigError(f"{where} must have one key of {', '.join(_CONDITION_KEYS)}, not "
                          f"{dict(value)!r}")
    ((kind, wanted),) = value.items()
    if kind == "one_of" and not (isinstance(wanted, list) and wanted and
                                 not any(isinstance(v, dict | list) for v in wanted)):
        raise ConfigError(f"{where} one_of must be a list of plain values, not {wanted!r}")
    if kind == "exists" and not isinstance(wanted, bool):
        raise ConfigError(f"{where} exists must be true or false, not {wanted!r}")
    if kind == "contains" and not (isinstance(wanted, str) and wanted):
        raise ConfigError(f"{where} contains must be some text, not {wanted!r}")
    if kind == "equals" and isinstance(wanted, dict | list):
        raise ConfigError(f"{where} equals must be a plain value, not {wanted!r}")
    return Condition(kind, tuple(wanted) if kind == "one_of" else wanted)


def _conditions(described_as: str) -> Any:
    @described({"type": "object", "minProperties": 1, "additionalProperties": _CONDITION_SCHEMA})
    def check(value: Any, where: str) -> tuple[tuple[str, Condition], ...]:
        if not isinstance(value, Mapping) or not value:
            raise ConfigError(f"{where} must map {described_as} to conditions, like "
                              f"{{ok: false}}, not {value!r}")
        out = []
        for name, condition in value.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}: {name!r} is not a {described_as}")
            out.append((name.lower() if described_as == "header names" else name,
                        _condition(condition, f"{where} {name}")))
        return tuple(out)
    return check


_STATUS_ITEM = {"anyOf": [{"type": "integer", "minimum": 100, "maximum": 599},
                          {"type": "string", "pattern": "^[1-5]xx$"}]}


@described({"anyOf": [_STATUS_ITEM, {"type": "array", "items": _STATUS_ITEM, "minItems": 1}]})
def _status(value: Any, where: str) -> tuple[int | str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[int | str] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            out.append(item)
        elif isinstance(item, str) and len(item) == 3 and item[0] in "12345" and \
                item[1:].lower() == "xx":
            out.append(item[0])
        else:
            raise ConfigError(f"{where} must be HTTP statuses (200, [403, 429], '5xx'), not "
                              f"{value!r}")
    return tuple(out) if out else _status(None, where)


#: One place a rate-limited answer says how long to wait.
WAIT = Spec("wait source", [
    Key("header", text), Key("path", text), Key("feedback", text),
    Key("seconds", duration), Key("add", duration),
])


def _wait_schema() -> dict[str, Any]:
    one = {"anyOf": [{"type": ["number", "string"]}, {**spec_schema(WAIT), "type": "object"}]}
    return {"anyOf": [one, {"type": "array", "minItems": 1, "items": one}]}


@described(_wait_schema)
def _wait(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            item = {"seconds": item}
        source = WAIT.read(item, what=at)
        given = [k for k in ("header", "path", "feedback", "seconds") if k in source]
        if len(given) != 1:
            raise ConfigError(f"{at} must give one of header, path, feedback or seconds, not "
                              f"{dict(item)!r}")
        if "feedback" in source:
            try:
                check_feedback([source["feedback"]])
            except ConfigError as exc:
                raise ConfigError(f"{at}: {exc}") from None
        out.append(source)
    if not out:
        raise ConfigError(f"{where} must list where the wait is said, e.g. "
                          "[{header: retry-after}, 60]")
    return tuple(out)


#: The keys of one rule of a definition's ``responses:``.
RESPONSE_RULE = Spec("response rule", [
    Key("name", text),
    Key("status", _status),
    Key("headers", _conditions("header names"), aliases=("header",)),
    Key("body", _conditions("body paths")),
    Key("text", _condition),
    Key("outcome", choice(*OUTCOMES), required=True),
    Key("wait", _wait),
    Key("error", choice(*error_classes())),  # the class raised
    Key("code", text), Key("message", text), Key("hint", text),
])


@dataclass(frozen=True)
class ResponseRule:
    """One rule: conditions on an answer, and what the answer then is (see the module doc)."""

    outcome: str
    name: str = ""
    status: tuple[int | str, ...] = ()
    headers: tuple[tuple[str, Condition], ...] = ()
    body: tuple[tuple[str, Condition], ...] = ()
    text: Condition | None = None
    wait: tuple[dict[str, Any], ...] = ()
    error: str | None = None  # the error class raised (None: the outcome's, or by code)
    code: str | None = None  # body paths of the code and message (None: the errors: ones)
    message: str | None = None
    hint: str | None = None

    @classmethod
    def from_config(cls, config: Any, where: str = "response rule") -> ResponseRule:
        """A rule from a definition's mapping; every key is checked, errors name it."""
        return cls(**RESPONSE_RULE.read(config, what=where))

    def _status_holds(self, status: int) -> bool:
        return not self.status or any(
            status == s if isinstance(s, int) else str(status)[0] == s for s in self.status)

    def matches(self, response: httpx.Response) -> bool:
        """Whether every condition holds (cheap ones first: the body is decoded last)."""
        if not self._status_holds(response.status_code):
            return False
        for name, condition in self.headers:
            value = response.headers.get(name)
            if not condition.holds([] if value is None else [value.strip()]):
                return False
        if self.text is not None:
            raw = response.content[:_TEXT_LIMIT].decode("utf-8", "replace")
            if not self.text.holds([raw] if raw else []):
                return False
        if self.body:
            data = peek_json(response)
            if not all(condition.holds(find_all(data, path)) for path, condition in self.body):
                return False
        return True

    def wait_of(self, response: httpx.Response) -> float | None:
        """Seconds to wait, from the first source that says (None: none does)."""
        for source in self.wait:
            seconds = _wait_from(source, response)
            if seconds is not None and math.isfinite(seconds):
                return max(0.0, seconds + float(source.get("add") or 0.0))
        return None


def _wait_from(source: Mapping[str, Any], response: httpx.Response) -> float | None:
    if "seconds" in source:
        return float(source["seconds"])
    if "header" in source:
        name = str(source["header"]).lower()
        value = response.headers.get(name)
        if not value:
            return None
        if name == "retry-after":
            return retry_after(response.headers)
        return reset_after(value, header=source["header"])
    if "feedback" in source:
        found = read_feedback(response, (source["feedback"],), "pause")
        return None if found is None else found.pause
    values = find_all(peek_json(response), source["path"])
    value = values[0] if values else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return reset_after(str(value), header=f"body {source['path']}")


@described(lambda: {"type": "array", "items": {**schema_of(RESPONSE_RULE), "type": "object"}})
def response_rules(config: Any, where: str = "responses") -> tuple[ResponseRule, ...]:
    """The rules of a definition's ``responses:`` list, each checked (errors name the rule
    by its position and name, and the key)."""
    if config is None:
        return ()
    if not isinstance(config, list | tuple):
        raise ConfigError(f"{where} must be a list of rules like {{status: 200, body: {{ok: "
                          f"false}}, outcome: error}}, not {config!r}")
    rules = []
    for i, rule in enumerate(config):
        name = rule.get("name") if isinstance(rule, Mapping) else None
        label = f"{where}[{i}]" + (f" ({name})" if isinstance(name, str) and name else "")
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{label} must be a mapping with outcome: and conditions")
        rules.append(ResponseRule.from_config(rule, label))
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class Classified:
    """The rule an answer met, and the wait it says (None: it says none)."""

    rule: ResponseRule
    wait: float | None

    @property
    def outcome(self) -> str:
        return self.rule.outcome


# One evaluation per answer and rule set: the limiter, retry layer and engine all ask.
_seen: weakref.WeakKeyDictionary[httpx.Response, tuple[Any, Classified | None]] = \
    weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def classify(response: httpx.Response, rules: tuple[ResponseRule, ...] | None
             ) -> Classified | None:
    """The first of ``rules`` ``response`` meets, with its wait; None when none does (its
    status then says what it is). Never raises on a hostile body."""
    if not rules:
        return None
    with _seen_lock:
        seen = _seen.get(response)
    if seen is not None and seen[0] is rules:
        return seen[1]
    found = None
    for rule in rules:
        if rule.matches(response):
            found = Classified(rule, rule.wait_of(response))
            break
    with _seen_lock:
        _seen[response] = (rules, found)
    return found


def classified_failure(response: httpx.Response) -> bool:
    """Whether the pipeline's layers found ``response`` to be a failure by a response rule
    (so that a layer knowing no rules, the HTTP cache, never keeps it)."""
    with _seen_lock:
        seen = _seen.get(response)
    return seen is not None and seen[1] is not None
