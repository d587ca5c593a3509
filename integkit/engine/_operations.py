"""A definition's operations as real methods of its connection, declared once in YAML.

Each operation of ``operations:`` becomes a method with a signature and a docstring built from
the definition: its path placeholders and required parameters first (by position or name),
documented parameters next (keyword-only unless ``positional: true``, default None: not
sent), ``idempotency_key=`` where the service takes one, and ``**params`` for the rest. The
methods live on a subclass of the connection's class made once per definition, so that
``dir(conn)``, ``help(conn.create_customer)`` and tab completion see them; a method the class
writes itself (one that truly needs code) wins over the operation of the same name.

>>> op = Operation(name="close_ticket", method="POST", path="/tickets/{id}/close",
...                required=("reason",), doc="Close a ticket.")
>>> operation_signature(op, key_header=None)
<Signature (self, id, reason, **params: Any) -> Any>
>>> fill_path("/tickets/{id}/close", {"id": "t 1?x=2"})
'/tickets/t%201%3Fx%3D2/close'
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._errors import ConfigError
from ._definition import ConnectorDef, Operation
from ._encoding import path_segment

__all__ = ["OperationCall", "fill_path", "operation_call", "operation_signature",
           "placeholders", "with_operations"]

_PLACEHOLDER = re.compile(r"(?<!\$){(\w+)}")  # ``${NAME}`` is text: nothing is interpolated
_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool,
                           "array": list, "object": dict}
_QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
C = TypeVar("C", bound=type)


def placeholders(template: str) -> list[str]:
    """The names of ``template``'s ``{name}`` placeholders, in order."""
    return _PLACEHOLDER.findall(template)


def fill_path(template: str, values: Mapping[str, Any], *, service: str | None = None,
              endpoint: str | None = None) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` as exactly one
    percent-encoded path segment (see :func:`path_segment`): a value is data, never a path."""
    def segment(match: re.Match[str]) -> str:
        name = match.group(1)
        if values.get(name) is None:
            raise ConfigError(f"{service or 'this'} path {template!r} needs {name}=")
        return path_segment(values[name], what=name, service=service, endpoint=endpoint)
    return _PLACEHOLDER.sub(segment, template)


@dataclass(frozen=True)
class OperationCall:
    """What one call of an operation sends: where, under which endpoint name, and how its
    arguments travel (query, JSON body or form body)."""

    method: str
    path: str
    endpoint: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    replayable: bool = False


def _needs(group: tuple[str, ...]) -> str:
    """``a charge or a payment_intent``: what a one_of group asks for, in words."""
    names = [f"a {name}" for name in group]
    return ", ".join(names[:-1]) + f" or {names[-1]}"


def operation_call(op: Operation, arguments: Mapping[str, Any], *, service: str,
                   body: str) -> OperationCall:
    """The request ``op`` makes with ``arguments`` (None values are not sent), once its
    required parameters and ``one_of`` groups are there: else a ConfigError naming what is
    missing, before anything is sent. ``body`` is the definition's body encoding."""
    given = {name: value for name, value in arguments.items() if value is not None}
    where = f"{service}.{op.name}"
    missing = [n for n in dict.fromkeys((*op.path_params, *op.required)) if n not in given]
    if missing:
        raise ConfigError(f"{where} needs {', '.join(f'{n}=' for n in missing)}; nothing was "
                          "sent")
    for group in op.one_of:
        if not any(name in given for name in group):
            raise ConfigError(f"{where} needs {_needs(group)} ({', '.join(f'{n}=' for n in group)}"
                              "); nothing was sent")
    endpoint = _PLACEHOLDER.sub(lambda m: str(given[m.group(1)]), op.endpoint or op.name)
    path = fill_path(op.path, given, service=service, endpoint=endpoint)
    rest = {k: v for k, v in given.items() if k not in op.path_params}
    encoding = op.body or ("query" if op.method in _QUERY_METHODS else body)
    sent: dict[str, Any] = {"query": {"params": rest}, "json": {"json": rest},
                            "form": {"data": rest}}[encoding]
    return OperationCall(op.method, path, endpoint, headers=dict(op.headers),
                         replayable=op.idempotent, **sent)


def operation_signature(op: Operation, *, key_header: str | None) -> inspect.Signature:
    """The method's signature: ``self``, the path placeholders and required parameters, the
    documented ones (by position where declared ``positional``), ``idempotency_key`` when the
    service takes one and the method is a POST, and ``**params``."""
    P = inspect.Parameter
    documented = {p.name: p for p in op.params}

    def annotation(name: str, optional: bool) -> Any:
        kind = documented[name].type if name in documented else None
        if kind is None:
            return P.empty
        return _TYPES[kind] | None if optional else _TYPES[kind]

    required = list(dict.fromkeys((*op.path_params, *op.required)))
    parameters = [P("self", P.POSITIONAL_OR_KEYWORD)]
    parameters += [P(n, P.POSITIONAL_OR_KEYWORD, annotation=annotation(n, False))
                   for n in required]
    optional = [p for p in op.params if p.name not in required]
    parameters += [P(p.name, P.POSITIONAL_OR_KEYWORD, default=p.default,
                     annotation=annotation(p.name, p.default is None))
                   for p in optional if p.positional]
    parameters += [P(p.name, P.KEYWORD_ONLY, default=p.default,
                     annotation=annotation(p.name, p.default is None))
                   for p in optional if not p.positional]
    if key_header and op.method == "POST":
        parameters.append(P("idempotency_key", P.KEYWORD_ONLY, default=None,
                            annotation=str | None))
    parameters.append(P("params", P.VAR_KEYWORD, annotation=Any))
    return inspect.Signature(parameters, return_annotation=Any)


def _docstring(op: Operation, signature: inspect.Signature, key_header: str | None) -> str:
    """Summary, the request it makes, and an Args section (Google style) for every argument."""
    documented = {p.name: p.doc for p in op.params}
    lines = [op.doc or f"The {op.name} operation.", "",
             f"``{op.method} {op.path}``" + (" (safe to repeat: retried after a failure)."
                                             if op.idempotent else "."), "", "Args:"]
    for name, parameter in signature.parameters.items():
        if name == "self":
            continue
        if parameter.kind is parameter.VAR_KEYWORD:
            doc = "other parameters of the API, sent as they are (None: not sent)."
            name = "**params"
        elif name == "idempotency_key":
            doc = (f"the {key_header} every attempt of this call sends, so that the service "
                   "applies it once (default: a new one per call).")
        else:
            doc = documented.get(name) or ("path segment (percent-encoded)." if name in
                                           op.path_params else "")
            if parameter.default is parameter.empty:
                doc = f"{doc} Required.".strip()
        lines.append(f"    {name}: {doc}".rstrip())
    for group in op.one_of:
        lines += ["", f"Needs {_needs(group)}."]
    lines += ["", "Returns:", "    The service's answer, decoded" +
              (f" (its ``{op.unwrap}``)." if op.unwrap else "."),
              "", "Raises:", "    ConfigError: a required argument is missing (nothing is sent)."]
    return "\n".join(lines)


def _method(owner: type, op: Operation, *, key_header: str | None) -> Callable[..., Any]:
    """The method that runs ``op``: its arguments bound by the declared signature, then
    ``call_operation`` (so a missing one is a ConfigError naming it, not a TypeError)."""
    signature = operation_signature(op, key_header=key_header)

    def operation(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        extra = arguments.pop("params", {})
        options = {"idempotency_key": arguments.pop("idempotency_key")} \
            if "idempotency_key" in arguments else {}
        return self.call_operation(op.name, {**arguments, **extra}, **options)

    operation.__name__ = op.name
    operation.__qualname__ = f"{owner.__qualname__}.{op.name}"
    operation.__module__ = owner.__module__
    operation.__doc__ = _docstring(op, signature, key_header)
    operation.__signature__ = signature  # type: ignore[attr-defined]
    return operation


@functools.lru_cache(maxsize=256)
def _subclass(cls: type, operations: tuple[Operation, ...], key_header: str | None) -> type:
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__doc__": cls.__doc__,
                                 "__qualname__": cls.__qualname__}
    namespace.update((op.name, _method(cls, op, key_header=key_header)) for op in operations)
    return type(cls.__name__, (cls,), namespace)


def with_operations(cls: C, definition: ConnectorDef, *, reserved: frozenset[str]) -> C:
    """``cls``, or its subclass (one per definition) that adds a method per operation of
    ``definition`` that ``cls`` does not define itself. An operation may not take a name in
    ``reserved`` (the engine's own methods, ``list``, ``request``...): a ConfigError."""
    taken = sorted(set(definition.operations) & reserved)
    if taken:
        raise ConfigError(f"{definition.source}: operations {', '.join(map(repr, taken))} would "
                          "hide the connection's own attribute of that name; name them as the "
                          "service's docs do (create_..., update_...)")
    operations = tuple(op for op in definition.operations.values() if not hasattr(cls, op.name))
    if not operations:
        return cls
    header = definition.idempotency.get("header")
    return _subclass(cls, operations, header or None)  # type: ignore[return-value]
