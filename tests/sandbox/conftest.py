"""Fixtures for the emulator tests: running sandboxes and the official Stripe OpenAPI description.

The spec (4 MB of YAML) is parsed once and cached as a pickle under pytest's cache directory;
``$ref`` s are inlined here, with Stripe's expandable fields (``anyOf`` of an id string and
``$ref`` s, which form one large cycle) cut to "string or object" below the first expansion.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integkit.sandbox import Sandbox, sandbox

SPEC_DIR = Path(__file__).parents[2].parent / "shared" / "specs" / "stripe"


@pytest.fixture(scope="session")
def stripe_sb() -> Iterator[Sandbox]:
    """One Stripe emulator for the read-mostly tests of the session (300 records of each)."""
    with sandbox("stripe", records=300, seed=7) as sb:
        yield sb


@pytest.fixture()
def fresh() -> Iterator[Callable[..., Sandbox]]:
    """Start private sandboxes (for tests that create objects or set limits); all stopped after."""
    started: list[Sandbox] = []

    def start(service: str = "stripe", **options: Any) -> Sandbox:
        options.setdefault("records", 120)
        sb = sandbox(service, **options)
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


def http(sb: Sandbox, **kwargs: Any) -> httpx.Client:
    """An httpx client authenticated against ``sb`` (Bearer, like stripe-python)."""
    headers = {"Authorization": f"Bearer {sb.api_key}", **kwargs.pop("headers", {})}
    return httpx.Client(base_url=sb.url, headers=headers, timeout=10, **kwargs)


@pytest.fixture()
def client(stripe_sb: Sandbox) -> Iterator[httpx.Client]:
    """A raw httpx client authenticated against the session's Stripe emulator."""
    stripe_sb.faults.clear()
    with http(stripe_sb) as c:
        yield c
    stripe_sb.faults.clear()


# -- the official spec ------------------------------------------------------------------------


class StripeSpec:
    """The parsed OpenAPI document with a ``$ref``-inlining converter to JSON Schema."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.schemas: dict[str, Any] = doc["components"]["schemas"]
        self._memo: dict[tuple[str, int], Any] = {}
        self._busy: set[tuple[str, int]] = set()

    def operation(self, path: str, method: str) -> dict[str, Any]:
        return self.doc["paths"][path][method.lower()]

    def query_params(self, path: str, method: str = "get") -> set[str]:
        """Names of the query parameters the spec declares for an operation."""
        op = self.operation(path, method)
        return {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}

    def body_params(self, path: str, method: str = "post") -> set[str]:
        """Top-level names of the form body the spec declares for an operation."""
        op = self.operation(path, method)
        content = op.get("requestBody", {}).get("content", {})
        schema = content.get("application/x-www-form-urlencoded", {}).get("schema", {})
        return set(schema.get("properties", {}))

    def response_schema(self, path: str, method: str, status: str = "200") -> dict[str, Any]:
        """The JSON Schema (refs inlined) of one response of one operation."""
        responses = self.operation(path, method)["responses"]
        raw = responses.get(status, responses.get("default"))
        return self.convert(raw["content"]["application/json"]["schema"], 0)

    def component(self, name: str) -> dict[str, Any]:
        return self.convert({"$ref": f"#/components/schemas/{name}"}, 0)

    # OpenAPI 3.0 -> JSON Schema: inline refs, nullable -> null allowed, closed objects.
    def convert(self, node: Any, depth: int) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self._ref(node["$ref"].rsplit("/", 1)[-1], depth)
        if "anyOf" in node and _is_expandable(node):
            if depth >= 1:
                out: dict[str, Any] = {"type": ["string", "object"]}
            else:
                out = {"anyOf": [self.convert(alt, depth + 1) for alt in node["anyOf"]]}
            return _nullable(node, out)
        out = {}
        for key, value in node.items():
            if key.startswith("x-") or key in ("nullable", "description", "title", "format"):
                continue
            if key in ("anyOf", "oneOf", "allOf"):
                out[key] = [self.convert(v, depth) for v in value]
            elif key == "properties":
                out[key] = {k: self.convert(v, depth) for k, v in value.items()}
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self.convert(value, depth)
            else:
                out[key] = value
        # Stripe's objects are closed: a field the spec does not declare is a wire-format bug.
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return _nullable(node, out)

    def _ref(self, name: str, depth: int) -> Any:
        key = (name, depth)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:  # a non-expandable cycle: accept anything at the loop point
            return {}
        self._busy.add(key)
        try:
            result = self.convert(self.schemas[name], depth)
        finally:
            self._busy.discard(key)
        self._memo[key] = result
        return result


def _is_expandable(node: dict[str, Any]) -> bool:
    alts = node["anyOf"]
    return any(a.get("type") == "string" for a in alts) and any("$ref" in a for a in alts)


def _nullable(node: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _load_spec_doc(cache_dir: Path) -> dict[str, Any]:
    source = SPEC_DIR / "spec3.yaml"
    raw = source.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    cached = cache_dir / f"stripe-spec3-{digest}.pickle"
    if cached.exists():
        with cached.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache file
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(raw, Loader=loader)  # noqa: S506 - a safe loader
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(doc, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(cached)
    return doc


@pytest.fixture(scope="session")
def stripe_spec(request: pytest.FixtureRequest) -> StripeSpec:
    """The official Stripe OpenAPI description (skipped only when shared/specs is absent)."""
    if not (SPEC_DIR / "spec3.yaml").is_file():
        pytest.skip(f"Stripe's OpenAPI spec is not checked out beside the repo ({SPEC_DIR})")
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        cache_dir = Path(str(cache.mkdir("integkit-specs")))
    else:
        cache_dir = Path(tempfile.gettempdir()) / "integkit-specs"
    return StripeSpec(_load_spec_doc(cache_dir))
