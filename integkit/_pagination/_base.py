"""What every paginator is: four members acting on a mutable :class:`PageRequest`."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx

from .._errors import PaginationError
from .._events import (
    CREDENTIAL_FIELDS,
    MASK,
    SECRET_PARAMS,
    is_credential_header,
    redact,
    redact_registered,
)

__all__ = ["PageRequest", "Paginator", "masked_state", "more_without_cursor"]


def _masked_text(text: str) -> str:
    # A URL (a paginator's next link) also loses its credential parameters; any other text
    # (a record's field, an opaque cursor) only the registered secrets.
    return redact(text) if "://" in text or text.startswith("/") else redact_registered(text)


def masked_state(value: Any) -> Any:
    """``value`` (plain JSON-like data) with registered secrets masked in every string, and
    credential parameters in URLs and the values of credential fields (``"client_secret"``)
    replaced by the mask."""
    if isinstance(value, str):
        return _masked_text(value)
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and key.lower() in CREDENTIAL_FIELDS
                and val is not None else masked_state(val) for key, val in value.items()}
    if isinstance(value, list | tuple):
        return [masked_state(item) for item in value]
    return value


@dataclass(repr=False)
class PageRequest:
    """The request for one page; paginators edit it in place between pages.

    It is plain data (JSON-serialisable) so that the next page's request doubles as the resume
    point of an interrupted extraction. What it shows (``masked()``, its repr) has credentials
    masked: a next-page URL a server handed out may carry the key.
    """

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def copy(self) -> PageRequest:
        return copy.deepcopy(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "url": self.url, "params": self.params,
            "json": self.json, "data": self.data, "headers": self.headers,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PageRequest:
        return cls(**state)

    def masked(self) -> dict[str, Any]:
        """:meth:`as_dict` with credentials masked: query and URL parameters named like one
        (``access_token``, ``key``, ``sig``...), credential headers, credential fields of a
        body, and registered secrets anywhere."""
        params = {
            name: MASK if name.lower() in SECRET_PARAMS and value is not None
            else masked_state(value) for name, value in self.params.items()
        }
        headers = {name: MASK if is_credential_header(name) else redact_registered(str(value))
                   for name, value in self.headers.items()}
        return {
            "method": self.method, "url": redact(self.url), "params": params,
            "json": masked_state(self.json), "data": masked_state(self.data),
            "headers": headers,
        }

    def __repr__(self) -> str:
        shown = self.masked()
        fields = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v or k in ("method", "url"))
        return f"PageRequest({fields})"


def more_without_cursor(says: str, missing: str) -> NoReturn:
    """Raise for a page that says there is more (``says``) but lacks what the next request
    is made from (``missing``): ending there would pass a partial listing off as whole."""
    raise PaginationError(f"a page says there is more ({says}) but has no {missing} to "
                          "continue from")


class Paginator(ABC):
    """A strategy that turns one page's response into the next page's request.

    The engine calls ``init_request`` once, then after every page ``update_state`` and, while
    ``has_next_page``, ``update_request``. A fresh instance serves each listing.
    ``update_state`` raises PaginationError (see :func:`more_without_cursor`) when a page
    says there is more but gives nothing to continue from; the Result, not the paginator,
    refuses requests that repeat (see ``_trail``).
    """

    has_next_page: bool = True

    def init_request(self, request: PageRequest) -> None:  # noqa: B027 - optional hook
        """Prepare the first request (page size, first page number...)."""

    @abstractmethod
    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        """Read the cursor (or stop signal) from the page just received."""

    @abstractmethod
    def update_request(self, request: PageRequest) -> None:
        """Point ``request`` at the next page."""

    @property
    def can_split(self) -> bool:
        """Whether :meth:`split` can cut this listing (its first page will tell a total)."""
        return False

    def total(self, data: Any) -> int | None:
        """How many records (or pages) the listing holds, where the first page says; None for
        paginators that cannot split a listing."""
        return None

    def split(self, total: int, parts: int) -> list[Paginator]:
        """Paginators reading disjoint, consecutive slices of a listing of ``total`` (what
        :meth:`total` returned), in order; [] when this kind cannot be split."""
        return []

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"
