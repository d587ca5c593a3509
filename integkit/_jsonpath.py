"""Dotted paths into decoded JSON: ``"response_metadata.next_cursor"``, ``"data.0.id"``, and
with a ``*`` (or ``[*]``) for every item: ``"errors.*.extensions.code"``."""

from __future__ import annotations

from typing import Any

__all__ = ["find", "find_all", "find_records"]

_MISSING = object()
_COMMON_RECORD_KEYS = ("data", "records", "items", "results", "value", "entries", "elements")


def find(data: Any, path: str | None, default: Any = None) -> Any:
    """The value at ``path`` in ``data`` (``""``/None is ``data`` itself), or ``default``.
    A key that itself holds dots (OData's ``"@odata.nextLink"``) is found as it stands."""
    if not path:
        return data
    node, rest = data, path
    while rest:
        if isinstance(node, dict) and "." in rest and rest in node:
            return node[rest]
        part, _, rest = rest.partition(".")
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            index = int(part)
            node = node[index] if -len(node) <= index < len(node) else _MISSING
        else:
            return default
        if node is _MISSING:
            return default
    return node


def find_all(data: Any, path: str | None) -> list[Any]:
    """Every value at ``path``, a ``*`` segment (``[*]`` too) standing for each item of a list
    (or each value of a mapping): ``find_all(body, "errors.*.message")``. Without a ``*`` it
    is ``[find(data, path)]`` when found, else ``[]``."""
    path = (path or "").replace("[*]", ".*").replace("..", ".").strip(".")
    head, star, rest = path.partition("*")
    if not star:
        found = find(data, path, _MISSING)
        return [] if found is _MISSING else [found]
    node = find(data, head.rstrip("."), _MISSING) if head else data
    items = node if isinstance(node, list) else \
        list(node.values()) if isinstance(node, dict) else []
    rest = rest.lstrip(".")
    return [value for item in items for value in find_all(item, rest)]


def find_records(data: Any, path: str | None = None) -> list[Any]:
    """The list of records in a page: at ``path`` if given, else the body or its one list field."""
    if path:
        found = find(data, path)
        if found is None:
            return []
        if not isinstance(found, list):
            return [found]
        return found
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _COMMON_RECORD_KEYS:
            found = data.get(key)
            if isinstance(found, list):
                return found
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        embedded = data.get("_embedded")  # HAL: {"_embedded": {"orders": [...]}, "_links": ...}
        if not lists and isinstance(embedded, dict):
            inner = [v for v in embedded.values() if isinstance(v, list)]
            if len(inner) == 1:
                return inner[0]
        return [data]
    return []
