"""Requests judged by the service's published OpenAPI description, before an emulator answers.

Each emulator that has a description ships the request side of the operations it serves in
``integkit/sandbox/specs/<service>.json`` (made by ``tools/trim_spec.py`` from the vendor's
file, whose source and digest ``info.x-integkit-source`` names). :class:`SpecValidator` reads
it once per emulator class and, with openapi-core, lists what is wrong with a request: a
missing required parameter or body field, a value of the wrong type or format (``since`` that
is a date, not a ``date-time``), a value outside an ``enum``, a body of a media type the
operation does not take or that does not parse. The emulator turns the list into the error its
service gives (its status and body shape); a request the description has no operation for is
left to the emulator (its own 404 or 405).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas import oas30_write_schema_casters_factory
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.deserializing.media_types import MediaTypeDeserializersFactory
from openapi_core.deserializing.styles import StyleDeserializersFactory, style_deserializers
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import (
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from starlette.datastructures import Headers, QueryParams

__all__ = [
    "Problem", "SpecValidator", "base_path", "deep_object", "openapi_config", "spec_document",
]

#: Where requests are said to go: paths are matched, never the vendor's host.
HOST = "http://sandbox.test"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, by the description.

    ``location``: ``query``, ``path``, ``header`` or ``body``; ``name``: the parameter or the
    body field (dotted below the top level; empty for the body as a whole); ``kind``:
    ``missing``, ``invalid`` (wrong type, format or value), ``unsupported`` (a media type the
    operation does not take) or ``malformed`` (a body that does not parse); ``value``: what was
    sent; ``wanted``: what the description asks for (``integer``, ``date-time``, ``one of
    open, closed, all``)."""

    location: str
    name: str
    kind: str
    value: Any = None
    wanted: str = ""


def spec_document(service: str) -> dict[str, Any]:
    """The trimmed description the package ships for ``service`` (a fresh copy)."""
    text = resources.files("integkit.sandbox").joinpath("specs", f"{service}.json")
    return json.loads(text.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# -- bracket notation (Stripe's deepObject) ----------------------------------------------------


def _items(location: Any) -> list[tuple[str, Any]]:
    """Every (key, value) of a query or form, repeated keys included."""
    for method in ("multi_items", "items"):
        found = getattr(location, method, None)
        if found is not None:
            try:
                return list(found(multi=True)) if method == "items" else list(found())
            except TypeError:  # a plain mapping's items() takes no ``multi``
                return list(found())
    return []


def deep_object(explode: bool, name: str, schema_type: str,
                location: Mapping[str, Any]) -> Any:
    """``style: deepObject`` as Stripe writes it, nested (``a[b][c]=v``) and for arrays
    (``a[]=x``, ``a[0]=x``) too; openapi-core's own reads one level of plain objects only.
    A KeyError when ``name`` is absent (openapi-core's "not sent")."""
    tree: dict[str, Any] = {}
    found = False
    for key, value in _items(location):
        if not key.startswith(name + "["):
            continue
        found = True
        parts = re.findall(r"\[([^\[\]]*)\]", key[len(name):])
        node = tree
        for i, part in enumerate(parts):
            if part == "":  # a[]=x: the next index
                part = str(sum(1 for k in node if k.isdigit()))
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    if not found:
        raise KeyError(name)
    return _lists(tree, as_list=schema_type == "array")


def _lists(node: Any, *, as_list: bool = False) -> Any:
    if not isinstance(node, dict):
        return node
    if node and (as_list or all(k.isdigit() for k in node)):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def openapi_config(**overrides: Any) -> Config:
    """openapi-core's settings for the vendors' files: their own shape is not checked (not
    ours to correct), and ``deepObject`` is read as Stripe writes it."""
    styles = {**style_deserializers, "deepObject": deep_object}
    return Config(
        spec_validator_cls=None,
        style_deserializers_factory=StyleDeserializersFactory(
            oas30_write_schema_casters_factory, style_deserializers=styles),
        media_type_deserializers_factory=MediaTypeDeserializersFactory
        .from_schema_casters_factory(oas30_write_schema_casters_factory,
                                     style_deserializers=styles),
        **overrides)


# -- requests against a description ----------------------------------------------------------


class _Request:
    """A request as openapi-core's request protocol reads it."""

    def __init__(self, method: str, path: str, query: str, content_type: str,
                 body: bytes) -> None:
        self.host_url = HOST
        self.path = path
        self.method = method.lower()
        self.parameters = RequestParameters(query=QueryParams(query),
                                            header=Headers({"content-type": content_type}),
                                            cookie=QueryParams(""))
        self.body = body or None
        self.content_type = content_type


class SpecValidator:
    """The shipped description of ``service`` (or one given as a dict), read once (an
    emulator class holds one), that lists what is wrong with a request (:meth:`problems`).

    ``body_type``: the media type bodies are read as, whatever the request says (GitHub
    parses every body as JSON); ``lenient``: query parameters the service reads leniently
    although its description types them (say why where it is given). Headers other than the
    content type are the emulator's to judge (auth, versions), and so is security."""

    def __init__(self, service: str | Mapping[str, Any], *, body_type: str | None = None,
                 lenient: Iterable[str] = ()) -> None:
        doc = spec_document(service) if isinstance(service, str) else copy.deepcopy(
            dict(service))  # a description of the user's own (``ik.sandbox(spec=...)``)
        doc["servers"] = [{"url": HOST + base_path(doc)}]
        doc.pop("security", None)
        for item in doc["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.pop("security", None)
        self.api = OpenAPI.from_dict(doc, config=openapi_config())
        self.body_type = body_type
        self.lenient = frozenset(lenient)

    def problems(self, method: str, path: str, query: str, headers: Mapping[str, str],
                 body: bytes) -> list[Problem]:
        """What is wrong with the request (empty: nothing, or no operation for it)."""
        content_type = self.body_type or headers.get("content-type") or \
            "application/octet-stream"
        if self.lenient and query:
            query = "&".join(part for part in query.split("&")
                             if part.split("=", 1)[0] not in self.lenient)
        return list(self._problems(method, path, query, content_type, body))

    @functools.lru_cache(maxsize=2048)  # noqa: B019  # one validator per emulator class
    def _problems(self, method: str, path: str, query: str, content_type: str,
                  body: bytes) -> tuple[Problem, ...]:
        """Requests repeat (re-reads, retries, pages fetched again): judged once each."""
        request = _Request(method, path, query, content_type, body)
        found: list[Problem] = []
        for error in self.api.request_validator.iter_errors(request):
            if isinstance(error, PathError | SecurityValidationError):
                return ()
            found.extend(_explain(error, request))
        return tuple(found)


def _explain(error: Exception, request: _Request) -> list[Problem]:
    """An openapi-core request error as Problems."""
    if isinstance(error, MissingRequiredParameter):
        return [Problem(error.location, error.name, "missing")]
    if isinstance(error, ParameterValidationError):
        sent = request.parameters[error.location].get(error.name)
        return _invalid(error.location, error.name, sent, error.__cause__)
    if isinstance(error, MissingRequiredRequestBody):
        return [Problem("body", "", "missing")]
    if isinstance(error, RequestBodyValidationError):
        cause = error.__cause__
        if isinstance(cause, MediaTypeNotFound):
            return [Problem("body", "", "unsupported", request.content_type,
                            ", ".join(cause.availableMimetypes))]
        if isinstance(cause, CastError):
            return [Problem("body", _form_field(request.body, cause.value), "invalid",
                            cause.value, str(cause.type))]
        if isinstance(cause, DeserializeError):
            return [Problem("body", "", "malformed", request.body)]
        return _invalid("body", "", None, cause)
    return [Problem("body", "", "invalid", None, str(error))]


def _invalid(location: str, name: str, sent: Any, cause: BaseException | None
             ) -> list[Problem]:
    """An openapi-core cast or schema error as Problems, naming the field at fault."""
    if isinstance(cause, CastError):
        return [Problem(location, name, "invalid", cause.value, str(cause.type))]
    if not isinstance(cause, InvalidSchemaValue):
        return [Problem(location, name, "invalid", sent, str(cause or ""))]
    out = []
    err: Any  # jsonschema's ValidationError
    for err in cause.schema_errors:
        where = ".".join([name, *map(str, err.absolute_path)]).strip(".")
        if err.validator == "required":
            instance = err.instance if isinstance(err.instance, dict) else {}
            for field in err.validator_value:
                if field not in instance:
                    out.append(Problem(location, f"{where}.{field}".strip("."), "missing"))
            continue
        if err.validator == "enum":
            wanted = "one of " + ", ".join(map(str, err.validator_value))
        elif err.validator in ("type", "format"):
            wanted = str(err.validator_value)
        else:
            wanted = err.message
        out.append(Problem(location, where, "invalid", err.instance, wanted))
    return out


def _form_field(body: bytes | None, value: Any) -> str:
    """Which form field holds ``value`` (openapi-core's cast errors do not say)."""
    for key, sent in QueryParams((body or b"").decode("utf-8", "replace")).multi_items():
        if sent == value:
            return key
    return ""


def base_path(doc: Mapping[str, Any]) -> str:
    """The path part of the description's first server (none for Stripe's and GitHub's)."""
    url = (doc.get("servers") or [{"url": "/"}])[0]["url"]
    return re.sub(r"^[a-z]+://[^/]*", "", url).rstrip("/")
