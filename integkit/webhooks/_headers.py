"""Request headers as one case-insensitive shape, whatever the web framework handed over."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias, cast

__all__ = ["HeadersLike", "normalize_headers"]

HeadersLike: TypeAlias = Mapping[str, str] | Iterable[tuple[Any, Any]]
"""A dict, ``httpx.Headers``, a Starlette/Flask/Django headers mapping, or raw ASGI pairs."""


def _text(value: Any) -> str:
    # ASGI scopes carry bytes; HTTP header bytes are latin-1 by definition.
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)


def normalize_headers(headers: HeadersLike | None) -> dict[str, str]:
    """``headers`` as a plain dict with lower-cased names; a repeated header is joined by ", ".

    >>> normalize_headers([(b"Stripe-Signature", b"t=1,v1=ab")])
    {'stripe-signature': 't=1,v1=ab'}
    """
    if headers is None:
        return {}
    items = getattr(headers, "items", None)
    # Anything with items() (Flask's and Django's headers are not Mapping subclasses), else pairs.
    pairs = cast(Iterable[tuple[Any, Any]], items() if callable(items) else headers)
    out: dict[str, str] = {}
    for key, value in pairs:
        name, text = _text(key).lower(), _text(value)
        out[name] = f"{out[name]}, {text}" if name in out else text
    return out
