"""Request encodings: Stripe-style bracket form bodies and query strings."""

from __future__ import annotations

from typing import Any

__all__ = ["bracket_pairs"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def bracket_pairs(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested params the way Stripe (and Rails/PHP) read them.

    >>> bracket_pairs({"created": {"gte": 1}, "expand": ["data.customer"], "metadata": {"a": 1}})
    [('created[gte]', '1'), ('expand[]', 'data.customer'), ('metadata[a]', '1')]
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs.extend(bracket_pairs(value, name))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    pairs.extend(bracket_pairs(item, f"{name}[{index}]"))
                else:
                    pairs.append((f"{name}[]", _scalar(item)))
        elif value is not None:
            pairs.append((name, _scalar(value)))
    return pairs
