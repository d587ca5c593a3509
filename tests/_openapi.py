"""Helpers for checking emulator answers against official OpenAPI descriptions."""

from __future__ import annotations

from typing import Any


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
