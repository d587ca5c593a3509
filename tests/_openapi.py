"""Helpers for checking against official OpenAPI descriptions (../shared/specs): emulator
answers (``nullable_to_json_schema``, with jsonschema) and the requests a connector sends
(``RequestSpec``, with openapi-core).

The descriptions are data copied as published; what a check needs changed (Slack's Swagger
2.0 turned into OpenAPI 3.0, servers pointed at the wire) is derived here, at test time.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

from integkit.sandbox._openapi import base_path, openapi_config

SPECS = Path(__file__).resolve().parents[1].parent / "shared" / "specs"
#: Where requests are said to go: a request's host is the emulator's, never the vendor's.
WIRE = "http://wire.test"


def nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` as JSON Schema understands it."""
    if isinstance(node, list):
        return [nullable_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: nullable_to_json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def load_document(path: Path) -> dict[str, Any]:
    """A JSON or YAML description, parsed once per content: the parse is pickled in the temp
    dir (Stripe's 4 MB of YAML take seconds to read, its pickle a fraction of one)."""
    raw = path.read_bytes()
    cached = Path(tempfile.gettempdir()) / "integkit-specs" / \
        f"{path.stem}-{hashlib.sha256(raw).hexdigest()[:16]}.pickle"
    if cached.exists():
        with cached.open("rb") as fh:
            return pickle.load(fh)  # type: ignore[no-any-return]  # our own cache file
    if path.suffix == ".json":
        doc = json.loads(raw)
    else:
        doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{id(doc)}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(doc, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(cached)
    return doc  # type: ignore[no-any-return]


# -- Swagger 2.0 -> OpenAPI 3.0 (Slack) ------------------------------------------------------


def swagger2_to_openapi3(doc: Mapping[str, Any], paths: list[str], *,
                         drop_params: tuple[str, ...] = ()) -> dict[str, Any]:
    """The operations at ``paths`` of a Swagger 2.0 description, as OpenAPI 3.0.

    Query, header and path parameters keep their names, types and ``required``; ``formData``
    parameters become one object schema offered under every media type the operation
    ``consumes``; OAuth security becomes a bearer scheme (how the token travels). Parameters
    named in ``drop_params`` are left out (say why where it is called)."""
    out_paths: dict[str, Any] = {}
    for template in paths:
        item: dict[str, Any] = {}
        for method, op in doc["paths"][template].items():
            params, fields, required = [], {}, []
            for param in op.get("parameters", []):
                if param["name"] in drop_params:
                    continue
                schema = {k: param[k] for k in ("type", "items", "enum", "format")
                          if k in param}
                if param["in"] == "formData":
                    fields[param["name"]] = schema
                    if param.get("required"):
                        required.append(param["name"])
                    continue
                params.append({"name": param["name"], "in": param["in"],
                               "required": bool(param.get("required")), "schema": schema})
            operation: dict[str, Any] = {"parameters": params,
                                         "responses": {"default": {"description": "any"}}}
            if fields or method == "post":
                body: dict[str, Any] = {"type": "object", "properties": fields}
                if required:
                    body["required"] = required
                types = op.get("consumes") or doc.get("consumes") or \
                    ["application/x-www-form-urlencoded"]
                operation["requestBody"] = {"content": {t: {"schema": body} for t in types}}
            if op.get("security"):
                operation["security"] = [{"bearer": []}]
            item[method] = operation
        out_paths[template] = item
    return {"openapi": "3.0.3", "info": dict(doc["info"]), "servers": [{"url": "/"}],
            "paths": out_paths,
            "components": {"securitySchemes": {"bearer": {"type": "http",
                                                          "scheme": "bearer"}}}}


# -- requests against a description ----------------------------------------------------------


@dataclass(frozen=True)
class WireRequest:
    """One request as a server received it (headers lower-cased)."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k == "content-type"),
                    "application/octet-stream")

    def __str__(self) -> str:
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''}"


class _OpenAPIRequest:
    """A WireRequest as openapi-core's request protocol reads it."""

    def __init__(self, request: WireRequest, path: str) -> None:
        self.host_url = WIRE
        self.path = path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.query, keep_blank_values=True)),
            header=Headers(list(request.headers)), cookie=ImmutableMultiDict())
        self.body = request.body or None
        self.content_type = request.content_type


class RequestSpec:
    """A published description that judges the requests a connector sent.

    Each request goes through openapi-core (path, method, parameter and body types, required
    ones, security); on top, every query parameter and every top-level field of a body must be
    one the operation declares (OpenAPI leaves parameters open, so a misspelt one would pass).
    ``rewrite`` maps a wire path to the path the description documents it under (say why
    where it is given)."""

    def __init__(self, doc: dict[str, Any], *,
                 rewrite: Callable[[str], str] | None = None) -> None:
        doc = {**doc, "servers": [{"url": WIRE + base_path(doc)}]}
        self.api = OpenAPI.from_dict(doc, config=openapi_config())
        self.doc = doc
        self.finder = APICallPathFinder(self.api.spec)
        self.rewrite = rewrite or (lambda path: path)

    def problems(self, request: WireRequest) -> list[str]:
        """What is wrong with ``request`` by the description (empty: nothing)."""
        path = self.rewrite(request.path)
        try:
            self.api.validate_request(_OpenAPIRequest(request, path))
        except Exception as exc:  # openapi-core's errors: the message and their causes
            return [f"{request}: {_explain(exc)}"]
        found = self.finder.find(request.method.lower(), WIRE + path)
        operation = found.operation.read_value()
        declared = self._params(found.path.read_value(), operation)
        sent = {name.split("[", 1)[0] for name, _ in parse_qsl(request.query,
                                                               keep_blank_values=True)}
        wrong = [f"{request}: query parameter {name!r} is not declared"
                 for name in sorted(sent - declared)]
        fields = self._body_fields(request, operation)
        if fields is not None:
            wrong += [f"{request}: body field {name!r} is not declared"
                      for name in sorted(_body_names(request) - fields)]
        return wrong

    def _deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _params(self, item: Mapping[str, Any], operation: Mapping[str, Any]) -> set[str]:
        params = [self._deref(p) for p in (*item.get("parameters", ()),
                                           *operation.get("parameters", ()))]
        return {p["name"] for p in params if p.get("in") == "query"}

    def _body_fields(self, request: WireRequest,
                     operation: Mapping[str, Any]) -> set[str] | None:
        if not request.body:
            return None
        content = self._deref(operation.get("requestBody", {})).get("content", {})
        media = content.get(request.content_type.split(";")[0].strip())
        schema = self._deref((media or {}).get("schema", {}))
        if "properties" not in schema:
            return None
        return set(schema["properties"])


def _body_names(request: WireRequest) -> set[str]:
    if request.content_type.startswith("application/json"):
        body = json.loads(request.body)
        return set(body) if isinstance(body, dict) else set()
    return {k.split("[", 1)[0] for k, _ in parse_qsl(request.body.decode(),
                                                      keep_blank_values=True)}


def _explain(exc: BaseException) -> str:
    """An openapi-core error with what it wraps (the schema errors say which field)."""
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        errors = getattr(cause, "schema_errors", None)
        detail = "; ".join(e.message for e in errors) if errors else str(cause)
        parts.append(f"{type(cause).__name__}: {detail}")
        cause = cause.__cause__
    return " <- ".join(parts)
