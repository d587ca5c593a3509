"""Request encodings: Stripe-style bracket form bodies and query strings, and path segments."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .._errors import InvalidRequestError

__all__ = ["bracket_pairs", "path_segment"]


def path_segment(value: Any, *, what: str = "id", service: str | None = None,
                 endpoint: str | None = None) -> str:
    """``value`` as exactly one URL path segment, percent-encoded.

    An id is data, not a path: ``"?limit=3"`` must not become a query that lists everything,
    ``"#x"`` a fragment that cuts the path, ``"%2F"`` a slash. ``""``, ``"."``, ``".."`` and
    values with a slash cannot be one segment at all (``..`` would climb to the listing), so
    they are an InvalidRequestError.

    >>> path_segment("ch_1?limit=3")
    'ch_1%3Flimit%3D3'
    """
    text = str(value)
    if text.strip() in ("", ".", "..") or "/" in text or "\\" in text:
        raise InvalidRequestError(
            f"{value!r} is not a valid {what}: an {what} is one path segment (no '/', not "
            "empty, '.' or '..')", service=service, endpoint=endpoint,
        )
    return quote(text, safe="")


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
