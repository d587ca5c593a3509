"""Write the fields a service documents into its connector definition, from its OpenAPI.

Run from a checkout, with the vendors' descriptions at hand (../shared/specs by default):

    python tools/openapi_schemas.py stripe github            # rewrite the generated blocks
    python tools/openapi_schemas.py --check stripe github    # exit 1 when a block is stale

For each resource of ``connectors/<service>.yaml`` whose GET operation the description has,
the records' schema (the items of the response's ``records_path`` array) becomes a ``schema``
(field -> type, nested mappings for objects) in a generated ``x-schemas:`` block, between the
``# >>> schemas`` and ``# <<< schemas`` lines the definition holds; its resources refer to them
by YAML alias (``schema: *charges``). Objects used more than once are written once, under an
anchor named after their component. Nothing at run time reads the descriptions.

Which fields: those a record carries. A field is kept when the description requires it,
when it is an optional plain value (text, number, flag, time, list; for GitHub only on the
record itself, since its nested objects document more than its listings send), or, for
Stripe, whose description leaves nullable fields out of ``required`` although they always
come (as null), when it is nullable. Optional objects (GitHub's ``repository`` on an issue,
Stripe's per-method ``payment_method_details.card``) are left to the records: their columns
come when they do.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "# >>> schemas"
END = "# <<< schemas"
MAX_DEPTH = 6  # nesting levels followed (the descriptions' objects nest 4 deep at most)
Tree = dict[str, Any]  # field -> type name, or a nested Tree


class Named(dict[str, Any]):
    """A nested object's fields, with the name it goes by (its component, else its field)."""

    name = "object"


@dataclass(frozen=True)
class Service:
    """Where a service's description is and how to read it."""

    spec: str
    nullable_present: bool  # nullable fields always come, though not in ``required``
    # How deep optional plain values are kept: GitHub's nested objects (a pull's head.repo)
    # document more optional fields than the listings send; its required ones are exact.
    optional_depth: int = MAX_DEPTH
    time_formats: tuple[str, ...] = ("date-time",)
    epoch_formats: tuple[str, ...] = ()
    # Fields the description lists that the service leaves out unless asked (resource ->
    # top-level fields), as its changelog and reference say.
    omit: tuple[tuple[str, tuple[str, ...]], ...] = ()


SERVICES = {
    # Charge.refunds is no longer included by default since 2022-11-15; Customer.cash_balance
    # comes only when expanded (docs.stripe.com/api/customers/object).
    "stripe": Service("stripe/spec3.yaml", nullable_present=True,
                      epoch_formats=("unix-time",),
                      omit=(("charges", ("refunds",)), ("customers", ("cash_balance",)))),
    "github": Service("github/api.github.com.json", nullable_present=False, optional_depth=1),
}


@functools.cache
def load_spec(path: Path) -> dict[str, Any]:
    """A description, parsed once (Reader only reads it)."""
    text = path.read_text()
    if path.suffix == ".json":
        return dict(json.loads(text))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return dict(yaml.load(text, Loader=loader))  # noqa: S506 - a safe loader


class Reader:
    """Schemas of one description as field trees; remembers which component each came from."""

    def __init__(self, spec: dict[str, Any], service: Service) -> None:
        self.spec = spec
        self.service = service

    def resolve(self, node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        name = None
        while "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.spec["components"]["schemas"][name]
        return node, name

    def _merged(self, node: dict[str, Any]) -> dict[str, Any]:
        """allOf members folded into one object schema."""
        if "allOf" not in node:
            return node
        out: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in node["allOf"]:
            part = self._merged(self.resolve(part)[0])
            out["properties"].update(part.get("properties") or {})
            out["required"] += part.get("required") or []
            out["nullable"] = out.get("nullable") or part.get("nullable", False)
        return out

    def kind(self, node: dict[str, Any], path: tuple[str, ...], field: str = ""
             ) -> tuple[str | Tree | None, bool]:
        """(type name, tree or None to leave out; whether it is an object) of ``node``."""
        node, name = self.resolve(node)
        node = self._merged(node)
        variants = node.get("anyOf") or node.get("oneOf")
        if variants:
            parts = [self._merged(self.resolve(v)[0]) for v in variants]
            if any(p.get("type") == "string" for p in parts):
                return "string", False  # Stripe's expandable ids: the id unless expanded
            if len(parts) == 1:
                return self.kind(variants[0], path, field)
            return None, True  # several object shapes: left to the records
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        fmt = node.get("format")
        if kind == "string":
            if fmt in self.service.time_formats:
                return "timestamp", False
            return ("date" if fmt == "date" else "string"), False
        if kind == "integer":
            return ("timestamp" if fmt in self.service.epoch_formats else "integer"), False
        if kind == "number":
            return "number", False
        if kind == "boolean":
            return "boolean", False
        if kind == "array":
            return "list", False
        if kind == "object" or "properties" in node:
            if not node.get("properties") or len(path) >= MAX_DEPTH or (
                    name is not None and name in path):
                return None, True  # a map of free keys, or a cycle: left to the records
            tree = Named(self.tree(node, (*path, name or "")))
            tree.name = name or field
            return (tree or None), True
        if "enum" in node:
            return "string", False
        return None, False

    def tree(self, node: dict[str, Any], path: tuple[str, ...] = ()) -> Tree:
        """The fields a record of object schema ``node`` always carries."""
        node = self._merged(self.resolve(node)[0])
        required = set(node.get("required") or ())
        out: Tree = {}
        for field, sub in (node.get("properties") or {}).items():
            resolved = self._merged(self.resolve(sub)[0])
            kind, is_object = self.kind(sub, path, field)
            if kind is None:
                continue
            nullable = bool(resolved.get("nullable") or sub.get("nullable"))
            present = field in required or (self.service.nullable_present and nullable)
            if not present and (is_object or len(path) >= self.service.optional_depth):
                continue  # an optional object (its columns come with it), or a deep value
            out[field] = kind
        return out

    def records(self, path: str, records_path: str | None) -> Tree | None:
        """The record tree of the GET at ``path`` (its ``{name}`` s matched loosely)."""
        shape = re.sub(r"\{[^}]*\}", "{}", path)
        for candidate, item in self.spec["paths"].items():
            if re.sub(r"\{[^}]*\}", "{}", candidate) == shape and "get" in item:
                break
        else:
            return None
        content = item["get"]["responses"].get("200", {}).get("content", {})
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            return None
        node = self._merged(self.resolve(schema)[0])
        for part in (records_path or "").split(".") if records_path else ():
            node = self._merged(self.resolve(node["properties"][part])[0])
        if node.get("type") != "array":
            return None
        return self.tree(node["items"])


# -- writing ------------------------------------------------------------------------------------
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _key(name: str) -> str:
    return name if _PLAIN.match(name) else json.dumps(name)


def _digest(tree: Tree) -> str:
    return json.dumps(tree, sort_keys=False)


class Writer:
    """Field trees as YAML flow mappings, objects used more than once under anchors."""

    def __init__(self, trees: dict[str, Tree]) -> None:
        self.trees = trees
        self.count: dict[str, int] = {}
        for tree in trees.values():
            self._count(tree)
        self.anchors: dict[str, str] = {}  # digest -> anchor name
        self.order: list[tuple[str, Tree]] = []

    def _count(self, tree: Tree) -> None:
        for value in tree.values():
            if isinstance(value, dict):
                digest = _digest(value)
                self.count[digest] = self.count.get(digest, 0) + 1
                if self.count[digest] == 1:
                    self._count(value)

    def _shared(self, tree: Tree) -> None:
        """Anchor (post-order) every object used more than once with a few fields."""
        for value in tree.values():
            if isinstance(value, dict):
                self._shared(value)
                digest = _digest(value)
                if self.count[digest] > 1 and len(value) > 3 and digest not in self.anchors:
                    base = getattr(value, "name", "object").replace("-", "_")
                    name, n = base, 2
                    while name in self.anchors.values() or name in self.trees:
                        name, n = f"{base}_{n}", n + 1
                    self.anchors[digest] = name
                    self.order.append((name, value))

    def flow(self, tree: Tree, top: bool = False) -> str:
        digest = _digest(tree)
        if not top and digest in self.anchors:
            return "*" + self.anchors[digest]
        parts = [f"{_key(k)}: {self.flow(v) if isinstance(v, dict) else v}"
                 for k, v in tree.items()]
        return "{" + ", ".join(parts) + "}"

    def block(self) -> list[str]:
        for tree in self.trees.values():
            self._shared(tree)
        lines = ["x-schemas:"]
        for name, tree in self.order:
            lines += _wrap(f"  {name}: &{name} {self.flow(tree, top=True)}")
        first: dict[str, str] = {}
        for name, tree in self.trees.items():
            same = first.setdefault(_digest(tree), name)
            if same != name:  # the resource uses the anchor of the first with its shape
                lines.append(f"  # {name}: schema *{same}")
                continue
            lines += _wrap(f"  {name}: &{name} {self.flow(tree, top=True)}")
        return lines


def _wrap(line: str, width: int = 99, indent: str = "    ") -> list[str]:
    """A long flow mapping split after commas (YAML flow content may span lines)."""
    out: list[str] = []
    while len(line) > width:
        cut = line.rfind(", ", 0, width - 1)
        if cut <= len(indent):
            break
        out.append(line[: cut + 1])
        line = indent + line[cut + 2:]
    return [*out, line]


def generate(service: str, specs: Path, connectors: Path = ROOT / "connectors"
             ) -> tuple[list[str], dict[str, Tree]]:
    """The generated block for ``service`` and its resources' field trees."""
    config = SERVICES[service]
    text = (connectors / f"{service}.yaml").read_text()
    # Read without the references to the block being made (it may not hold them yet).
    definition = yaml.safe_load(re.sub(r",?[ \t]*schema:[ \t]*\*[\w-]+", "", text))
    reader = Reader(load_spec(specs / config.spec), config)
    trees: dict[str, Tree] = {}
    for name, spec in (definition.get("resources") or {}).items():
        spec = {"path": spec} if isinstance(spec, str) else spec
        tree = reader.records(spec["path"], spec.get("records_path")
                              or definition.get("records_path"))
        for field in dict(config.omit).get(name, ()):
            (tree or {}).pop(field, None)
        if tree:
            trees[name] = tree
    version = (reader.spec.get("info") or {}).get("version", "?")
    header = [f"{BEGIN}: generated by tools/openapi_schemas.py from {config.spec} ({version});",
              "# run it again to refresh them, never edit them by hand"]
    return [*header, *Writer(trees).block(), END], trees


def _replace(text: str, block: list[str]) -> str:
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
        end = next(i for i, line in enumerate(lines) if line.startswith(END))
    except StopIteration:
        raise SystemExit(f"no '{BEGIN}' ... '{END}' lines to replace") from None
    return "\n".join([*lines[:start], *block, *lines[end + 1:]]) + "\n"


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="+", choices=sorted(SERVICES))
    parser.add_argument("--specs", type=Path, default=ROOT.parent / "shared" / "specs")
    parser.add_argument("--connectors", type=Path, default=ROOT / "connectors")
    parser.add_argument("--check", action="store_true", help="only say which blocks are stale")
    args = parser.parse_args(argv)
    stale = []
    for service in args.services:
        path = args.connectors / f"{service}.yaml"
        block, _ = generate(service, args.specs, args.connectors)
        text = path.read_text()
        fresh = _replace(text, block)
        if fresh == text:
            continue
        stale.append(service)
        if not args.check:
            path.write_text(fresh)
            out(f"wrote {path}")
    if args.check and stale:
        out(f"stale: {', '.join(stale)} (run tools/openapi_schemas.py {' '.join(stale)})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
