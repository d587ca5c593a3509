"""Cut a vendor's published OpenAPI description down to what an emulator serves.

Run from a checkout, with the vendors' descriptions at hand (../shared/specs by default):

    python tools/trim_spec.py github stripe            # rewrite integkit/sandbox/specs/*.json
    python tools/trim_spec.py --check github stripe    # exit 1 when a shipped copy is stale

The emulator module names the operations it serves (``SPEC_OPERATIONS``: method and path
template as the description writes them). The trimmed copy keeps, of each of those, what a
request is judged by (its parameters, request body, security; the path item's parameters)
and every component they reach through ``$ref``; answers are left out (``responses`` becomes
one ``default``): the emulators' answers are checked against the full descriptions by the
tests. ``info.x-integkit-source`` says where the full description came from.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT.parent / "shared" / "specs"
OUT = ROOT / "integkit" / "sandbox" / "specs"

#: service -> (the full description under SPECS, where it comes from, the emulator module)
SOURCES: dict[str, tuple[str, str, str]] = {
    "github": ("github/api.github.com.json",
               "npm @octokit/openapi 23.0.2, generated/api.github.com.json (MIT)",
               "integkit.sandbox.services.github"),
    "stripe": ("stripe/spec3.yaml",
               "github.com/stripe/openapi openapi/spec3.yaml, commit "
               "63a674638635c68de26b9f3add13e58198f4df44 (MIT)",
               "integkit.sandbox.services.stripe"),
}
_KEPT = ("operationId", "summary", "parameters", "requestBody", "security")
_TRIMMED = {"default": {"description": "Left out: the emulator's answers are checked against "
                                       "the full description by integkit's tests."}}


def load(path: Path) -> dict[str, Any]:
    """A JSON or YAML description."""
    raw = path.read_bytes()
    if path.suffix == ".json":
        return json.loads(raw)  # type: ignore[no-any-return]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(raw, Loader=loader)  # type: ignore[no-any-return]  # noqa: S506


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def trim(doc: dict[str, Any], operations: Iterable[tuple[str, str]], *,
         source: str, digest: str) -> dict[str, Any]:
    """The part of ``doc`` that judges requests to ``operations`` ((method, template) pairs)."""
    paths: dict[str, Any] = {}
    for method, template in operations:
        item = doc["paths"][template]
        out = paths.setdefault(template, {k: item[k] for k in ("parameters",) if k in item})
        operation = item[method.lower()]
        out[method.lower()] = {**{k: operation[k] for k in _KEPT if k in operation},
                               "responses": _TRIMMED}
    components: dict[str, dict[str, Any]] = {}
    todo = list(_refs(paths))
    while todo:
        ref = todo.pop()
        kind, name = ref.removeprefix("#/components/").split("/", 1)
        if name in components.get(kind, {}):
            continue
        node = doc["components"][kind][name]
        components.setdefault(kind, {})[name] = node
        todo.extend(_refs(node))
    if "securitySchemes" in doc.get("components", {}):
        components["securitySchemes"] = doc["components"]["securitySchemes"]
    info = {**doc["info"], "x-integkit-source": {
        "upstream": source, "sha256": digest,
        "trimmed": "tools/trim_spec.py: the request side of the operations the emulator serves"}}
    out_doc: dict[str, Any] = {"openapi": doc["openapi"], "info": info}
    for key in ("servers", "security"):
        if key in doc:
            out_doc[key] = doc[key]
    out_doc["paths"] = dict(sorted(paths.items()))
    out_doc["components"] = {kind: dict(sorted(names.items()))
                             for kind, names in sorted(components.items())}
    return out_doc


def render(service: str, specs: Path = SPECS) -> str:
    """The shipped copy's text for ``service``, made from the full description."""
    relative, source, module = SOURCES[service]
    full = specs / relative
    operations = importlib.import_module(module).SPEC_OPERATIONS
    digest = hashlib.sha256(full.read_bytes()).hexdigest()
    return json.dumps(trim(load(full), operations, source=source, digest=digest),
                      indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", default=sorted(SOURCES))
    parser.add_argument("--check", action="store_true", help="exit 1 when a copy is stale")
    parser.add_argument("--specs", type=Path, default=SPECS)
    args = parser.parse_args(argv)
    stale = []
    for service in args.services:
        text = render(service, args.specs)
        target = OUT / f"{service}.json"
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(service)
            continue
        target.write_text(text, encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: {len(text):,} characters")
    if stale:
        print(f"stale: {', '.join(stale)} (run tools/trim_spec.py {' '.join(stale)})")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
