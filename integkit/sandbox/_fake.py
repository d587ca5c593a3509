"""Values generated from JSON schemas (OpenAPI 3.0 and 3.1), the same for a seed.

Realistic where the schema says what a value is: formats (``email``, ``date-time``, ``date``,
``uuid``, ``uri``), enums, examples, and names (``*amount*``/``*price*`` are currency amounts,
``id`` an identifier, ``*name*`` a person's name); bounds (``minimum``, ``maxLength``,
``minItems``) honoured so generated answers validate against the schema they came from.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["Faker", "deref"]

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances",
          "Linus", "Radia", "Tim", "Katherine", "Dennis", "Hedy", "John")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson",
         "Allen", "Torvalds", "Perlman", "Berners-Lee", "Johnson", "Ritchie", "Lamarr", "Backus")
_WORDS = ("alpha", "bravo", "delta", "echo", "harbor", "maple", "orbit", "quartz", "river",
          "summit", "tango", "velvet")
_MONEY = re.compile(r"amount|price|total|cost|balance|fee|revenue")
_TWO_YEARS = 2 * 365 * 86400
_DEPTH = 6


def deref(doc: Mapping[str, Any], node: Any) -> Any:
    """``node`` with its local ``$ref`` followed (to the end of a chain)."""
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 32:
        target: Any = doc
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


class Faker:
    """Generates values from the schemas of one description, fixed by ``seed``; timestamps
    fall in the two years before ``now`` (the sandbox clock, epoch seconds)."""

    def __init__(self, doc: Mapping[str, Any], seed: int, now: float) -> None:
        self.doc = doc
        self.seed = seed
        self.now = now

    # -- schema shape --------------------------------------------------------------------------
    def merged(self, schema: Any) -> dict[str, Any]:
        """The schema with ``$ref`` followed, ``allOf`` merged and the first ``oneOf``/``anyOf``
        branch that is not null taken."""
        schema = deref(self.doc, schema)
        if not isinstance(schema, Mapping):
            return {}
        out = dict(schema)
        for part in out.pop("allOf", ()):
            part = self.merged(part)
            props = {**out.get("properties", {}), **part.get("properties", {})}
            required = [*out.get("required", ()), *part.get("required", ())]
            out = {**part, **out, "properties": props, "required": required}
        for key in ("oneOf", "anyOf"):
            branches = out.pop(key, None)
            if branches:
                pick = next((b for b in branches
                             if self.merged(b).get("type") not in ("null", ["null"])),
                            branches[0])
                out = {**self.merged(pick), **out}
        return out

    def kind(self, schema: Any) -> str:
        """The schema's type (the first that is not null; ``object`` when it has properties)."""
        schema = self.merged(schema)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else \
                "array" if "items" in schema else "string"
        return str(kind)

    def properties(self, schema: Any) -> dict[str, Any]:
        return dict(self.merged(schema).get("properties") or {})

    # -- values --------------------------------------------------------------------------------
    def record(self, schema: Any, where: str, index: int) -> dict[str, Any]:
        """One stored object; its ``id`` (when the schema has one) is unique by ``index``."""
        value = self.value(schema, where, index)
        return value if isinstance(value, dict) else {"value": value}

    def value(self, schema: Any, where: str, index: int, name: str = "",
              depth: int = 0) -> Any:
        """A value valid for ``schema``, fixed by the seed, ``where`` and ``index``."""
        rng = random.Random(f"{self.seed}:{where}:{depth}:{name}:{index}")
        schema = self.merged(schema)
        kind = self.kind(schema)
        if "enum" in schema:
            choices = [c for c in schema["enum"] if c is not None] or [None]
            return rng.choice(choices)
        if "const" in schema:
            return schema["const"]
        if kind == "object":
            if depth >= _DEPTH:
                return {}
            props = schema.get("properties") or {}
            required = set(schema.get("required") or ())
            example = schema.get("example") if isinstance(schema.get("example"), dict) else {}
            return {key: self.value({"example": example[key], **self.merged(sub)}
                                    if key in example and "pattern" in self.merged(sub)
                                    else sub,
                                    where, index, key, depth + 1)
                    for key, sub in props.items()
                    if key in required or depth < _DEPTH - 2}
        if kind == "array":
            if depth >= _DEPTH:
                return []
            low = int(schema.get("minItems", 0))
            count = max(low, min(int(schema.get("maxItems", 3)), rng.randint(1, 3)))
            return [self.value(schema.get("items") or {}, where, index * 7 + i,
                               name.rstrip("s"), depth + 1) for i in range(count)]
        if kind in ("integer", "number"):
            return self._number(schema, kind, name.lower(), rng, index)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, name.lower(), rng, index)

    def _number(self, schema: Mapping[str, Any], kind: str, name: str, rng: random.Random,
                index: int) -> int | float:
        low = schema.get("minimum", 0)
        high = schema.get("maximum", 100_000 if _MONEY.search(name) else 1000)
        if isinstance(schema.get("exclusiveMinimum"), int | float):
            low = schema["exclusiveMinimum"] + 1
        if isinstance(schema.get("exclusiveMaximum"), int | float):
            high = schema["exclusiveMaximum"] - 1
        if kind == "integer":
            if name in ("id",) or name.endswith("_id"):
                return int(low) + index + 1
            if name.startswith("created") or name.endswith(("_at", "time", "timestamp")):
                return int(self.now - rng.random() * _TWO_YEARS)
            return rng.randint(int(low), max(int(low), int(high)))
        amount = round(rng.uniform(float(low), float(high)), 2)
        return amount if _MONEY.search(name) else round(amount, 4)

    def _string(self, schema: Mapping[str, Any], name: str, rng: random.Random,
                index: int) -> str:
        fmt = schema.get("format", "")
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        when = dt.datetime.fromtimestamp(self.now - rng.random() * _TWO_YEARS, dt.UTC)
        if fmt == "date-time" or (not fmt and name.endswith("_at") and "pattern" not in schema):
            return when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return when.date().isoformat()
        if fmt == "email" or name in ("email", "email_address"):
            return f"{first.lower()}.{last.lower()}{index}@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if fmt in ("uri", "url") or name.endswith(("url", "uri")):
            return f"https://example.com/{rng.choice(_WORDS)}/{index}"
        if "pattern" in schema:
            return self._patterned(str(schema["pattern"]), schema.get("example"), when, name,
                                   rng, index)
        if "example" in schema and isinstance(schema["example"], str) and name != "id":
            return schema["example"]
        if name == "id" or name.endswith("_id"):
            text = f"{name.removesuffix('_id')[:3] or 'obj'}_{index:06d}{rng.getrandbits(24):06x}"
        elif name in ("currency", "currency_code"):
            text = rng.choice(("usd", "eur", "gbp"))
        elif "name" in name:
            text = first if "first" in name else last if "last" in name else f"{first} {last}"
        elif name in ("phone", "phone_number"):
            text = f"+1555{rng.randint(1000000, 9999999)}"
        else:
            text = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[: int(high)] if high is not None else text

    def _patterned(self, pattern: str, example: Any, when: dt.datetime, name: str,
                   rng: random.Random, index: int) -> str:
        """A string matching ``pattern``: a timestamp, date, id or word written the ways APIs
        write them, else the schema's example (patterns are not generated from)."""
        candidates = [when.strftime("%Y-%m-%d %H:%M:%S"), when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      when.date().isoformat(), f"{name[:3] or 'id'}_{index:06d}",
                      str(rng.randint(10**5, 10**6)), rng.choice(_WORDS)]
        found = next((c for c in candidates if re.search(pattern, c)), None)
        if found is None and isinstance(example, str):
            return example
        return found if found is not None else candidates[-1]
