"""Pick a paginator: by alias from a definition, or by scored guesses from a first response."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .._errors import ConfigError
from .._jsonpath import find
from .._spec import Key, Spec, suggest
from ._base import Paginator
from ._paginators import (
    Cursor,
    GraphQLPageInfo,
    LinkHeader,
    NextUrl,
    Offset,
    PageNumber,
    PageToken,
    SinglePage,
    StartingAfter,
)

__all__ = ["ALIASES", "paginator_from_config", "detect_paginator"]

ALIASES: dict[str, type[Paginator]] = {
    "single_page": SinglePage,
    "starting_after": StartingAfter,
    "cursor": Cursor,
    "page_token": PageToken,
    "link_header": LinkHeader,
    "next_url": NextUrl,
    "offset": Offset,
    "page_number": PageNumber,
    "graphql": GraphQLPageInfo,
}

PaginatorSpec = str | dict[str, Any] | Paginator | None


def _options_of(cls: type[Paginator]) -> list[str]:
    """The keyword options a paginator class takes (through ``**kw`` to its bases)."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        names += [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                  and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def paginator_from_config(spec: PaginatorSpec) -> Paginator | None:
    """A fresh paginator for one listing from an alias, ``{"type": alias, **options}`` or a
    template instance (copied, so listings never share a cursor); None means "detect".
    Options are keys like any settings' (``cursor_path``, or ``cursorPath``); an unknown one
    is a ConfigError naming it and the closest."""
    if spec is None or spec == "auto":
        return None
    if isinstance(spec, Paginator):
        return copy.deepcopy(spec)
    if not isinstance(spec, str | Mapping):
        raise ConfigError(f"paginator must be an alias like 'cursor', {{'type': alias, ...}} "
                          f"or a Paginator, not {spec!r}")
    options = {"type": spec} if isinstance(spec, str) else dict(spec)
    alias = options.pop("type", None)
    cls = ALIASES.get(alias) if isinstance(alias, str) else None
    if cls is None:
        guess = suggest(str(alias), ALIASES)
        raise ConfigError(
            f"Unknown paginator {alias!r}"
            + (f" (did you mean {guess!r}?)" if guess else "")
            + f"; use one of {sorted(ALIASES)} or a Paginator instance."
        )
    keys = Spec(f"Bad options for paginator {alias!r}", [Key(name) for name in _options_of(cls)])
    try:
        return cls(**keys.read(options))
    except TypeError as exc:
        raise ConfigError(f"Bad options for paginator {alias!r}: {exc}") from None


# Detectors score a first response; the highest positive score wins. Pure functions.
def _link(resp: httpx.Response, data: Any) -> tuple[float, Paginator]:
    return (1.0 if "next" in resp.links else 0.0), LinkHeader()


def _has_more(data: Any, _: Any = None) -> tuple[float, Paginator]:
    ok = isinstance(data, dict) and "has_more" in data and isinstance(data.get("data"), list)
    return (0.9 if ok else 0.0), StartingAfter()


def _body_path(
    path: str, factory: Callable[[], Paginator], score: float
) -> Callable[[httpx.Response, Any], tuple[float, Paginator]]:
    def detect(resp: httpx.Response, data: Any) -> tuple[float, Paginator]:
        return (score if find(data, path) else 0.0), factory()
    return detect


_DETECTORS = (
    lambda r, d: _link(r, d),
    lambda r, d: _has_more(d),
    _body_path("nextRecordsUrl", lambda: NextUrl("nextRecordsUrl", done_path="done"), 0.95),
    _body_path("nextPageToken", PageToken, 0.9),
    _body_path("response_metadata.next_cursor",
               lambda: Cursor("response_metadata.next_cursor", "cursor"), 0.9),
    _body_path("next_cursor", lambda: Cursor("next_cursor", "cursor"), 0.8),
    _body_path("next", lambda: NextUrl("next"), 0.6),
    _body_path("links.next", lambda: NextUrl("links.next"), 0.6),
    _body_path("pageInfo.hasNextPage", lambda: GraphQLPageInfo("pageInfo"), 0.5),
)


def detect_paginator(response: httpx.Response, data: Any) -> Paginator:
    """Guess the paginator of an unknown API from its first page; single page if nothing fits."""
    best, choice = 0.0, None
    for detector in _DETECTORS:
        score, paginator = detector(response, data)
        if score > best:
            best, choice = score, paginator
    if choice is None and isinstance(data, dict) and "total_pages" in data:
        choice = PageNumber(total_pages_path="total_pages")
    if choice is None and isinstance(data, dict) and "total" in data and "offset" in data:
        choice = Offset(total_path="total", limit=int(data.get("limit") or 100))
    return choice or SinglePage()
