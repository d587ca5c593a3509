"""JSON Schema from the :class:`~integkit._spec.Spec` declarations the loaders enforce, so the
published schema of a settings mapping (a connector definition's, above all) is generated from
the one source of truth, never written twice.

A check says what JSON Schema its values take with :func:`described`; a :class:`Spec` becomes
an object schema whose properties are every accepted spelling of every key (canonical,
camelCase, kebab-case, aliases), unknown keys refused (``additionalProperties: false``) as
the spec refuses them. A check with no description is an error here, not a looser schema.

>>> from integkit._spec import Key, Spec
>>> from integkit._validate import whole
>>> tier = spec_schema(Spec("tier", [Key("limit", whole, required=True), Key("burst", whole)]))
>>> tier["required"], tier["properties"]["burst"], sorted(tier["properties"])
(['limit'], {'type': 'integer', 'minimum': 1}, ['burst', 'limit'])
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._spec import Key, Spec, spellings

__all__ = ["described", "schema_of", "shared", "spec_schema"]

F = TypeVar("F", bound=Callable[..., Any])
#: A fragment, or a function of the keyword arguments a ``functools.partial`` binds.
Description = Mapping[str, Any] | Callable[..., Mapping[str, Any]]
_ATTRIBUTE = "__integkit_json_schema__"
_SETS = "__integkit_sets__"


def described(schema: Description, *, sets: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Mark a check (or a shorthand's expand function) with the JSON Schema of the values it
    accepts; ``sets``: the canonical keys a shorthand stands for (a required key is given by
    any of them)."""
    def mark(check: F) -> F:
        setattr(check, _ATTRIBUTE, schema)
        setattr(check, _SETS, sets)
        return check
    return mark


def schema_of(check: Any) -> dict[str, Any]:
    """The JSON Schema of the values ``check`` accepts: its own description, a
    ``functools.partial`` of a described function (the bound keywords passed on), or a
    :class:`Spec` (an object schema)."""
    if isinstance(check, Spec):
        return spec_schema(check)
    keywords: dict[str, Any] = {}
    if isinstance(check, functools.partial):
        keywords = dict(check.keywords)
        check = check.func
    description = getattr(check, _ATTRIBUTE, None)
    if description is None:
        raise TypeError(f"{getattr(check, '__qualname__', check)!r} has no JSON Schema: mark "
                        "it with integkit._spec_schema.described")
    if callable(description):
        return dict(description(**keywords))
    if keywords:
        raise TypeError(f"{check.__qualname__!r} is described by a fixed schema; it cannot "
                        f"take {sorted(keywords)}")
    return dict(description)


def _value(key: Key) -> dict[str, Any]:
    check = key.expand if key.expand is not None else key.check  # a shorthand reads first
    schema = {} if check is None else schema_of(check)
    if key.optional and schema:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _one_of_spellings(names: list[str]) -> dict[str, Any]:
    if len(names) == 1:
        return {"required": names}
    return {"anyOf": [{"required": [name]} for name in names]}


def spec_schema(spec: Spec, *, extensions: str | None = None,
                title: str | None = None) -> dict[str, Any]:
    """An object schema for ``spec``: every spelling of every key, each with its value's
    schema; unknown keys refused, except those matching the regular expression ``extensions``
    (``"^x-"``). A mapping with no required key may also be null (an empty section)."""
    properties: dict[str, Any] = {}
    givers: dict[str, list[str]] = {name: [] for name in spec.keys}
    for key in spec.keys.values():
        value = _value(key)
        names = [s for alias in (key.name, *key.aliases) for s in spellings(alias)]
        for spelling in dict.fromkeys(names):
            properties[spelling] = value
        sets = getattr(key.expand, _SETS, ()) if key.expand is not None else ()
        for target in (key.name, *sets):
            if target in givers:
                givers[target] += [s for s in dict.fromkeys(names) if s not in givers[target]]
    required = [name for name, key in spec.keys.items() if key.required]
    schema: dict[str, Any] = {"type": "object" if required else ["object", "null"]}
    if title:
        schema["title"] = title
    schema["properties"] = properties
    if extensions:
        schema["patternProperties"] = {extensions: {}}
    schema["additionalProperties"] = False
    plain = [name for name in required if givers[name] == list(spellings(name))
             and len(givers[name]) == 1]
    if plain:
        schema["required"] = plain
    others = [_one_of_spellings(givers[name]) for name in required if name not in plain]
    if others:
        schema["allOf"] = others
    return schema


def _walk(node: Any, name: str, named: bool, seen: Counter[str], names: dict[str, str],
          min_size: int) -> None:
    """Count the subschemas of ``node`` by their JSON; ``named``: ``node`` maps names
    (``properties``, ``$defs``) to subschemas, which are then named after them."""
    if isinstance(node, list):
        for item in node:
            _walk(item, name, False, seen, names, min_size)
        return
    if not isinstance(node, dict):
        return
    if not named:
        text = json.dumps(node, sort_keys=True)
        if len(text) >= min_size and set(node) != {"$ref"}:
            seen[text] += 1
            title = node.get("title")
            names.setdefault(text, title if isinstance(title, str) and title.isidentifier()
                             else name)
    for key, value in node.items():
        _walk(value, key if named else name,
              not named and key in ("properties", "$defs"), seen, names, min_size)


def _replace(node: Any, text: str, ref: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_replace(item, text, ref) for item in node]
    if not isinstance(node, dict):
        return node
    if json.dumps(node, sort_keys=True) == text:
        return dict(ref)
    return {key: _replace(value, text, ref) for key, value in node.items()}


def shared(schema: dict[str, Any], *, min_size: int = 120) -> dict[str, Any]:
    """``schema`` with every subschema of ``min_size`` characters or more that occurs more
    than once (a section under its aliases and camelCase and kebab-case spellings) written
    once in ``$defs``, named by its ``title`` or else after the first property holding it,
    and referred to."""
    out = dict(schema)
    defs: dict[str, Any] = dict(out.pop("$defs", {}))
    while True:
        seen: Counter[str] = Counter()
        names: dict[str, str] = {}
        _walk(out, "shared", False, seen, names, min_size)
        _walk(defs, "shared", True, seen, names, min_size)
        repeated = [text for text, count in seen.items() if count > 1]
        if not repeated:
            break
        text = max(repeated, key=lambda t: (len(t), t))
        name, n = names[text], 2
        while name in defs:
            name, n = f"{names[text]}_{n}", n + 1
        ref = {"$ref": f"#/$defs/{name}"}
        out = _replace(out, text, ref)
        defs = {key: _replace(value, text, ref) for key, value in defs.items()}
        defs[name] = json.loads(text)
    out["$defs"] = dict(sorted(defs.items()))
    return out
