"""Pagination strategies: small classes that turn one page's response into the next request."""

from ._base import PageRequest, Paginator, masked_state
from ._detect import detect_paginator, paginator_from_config
from ._masking import restored_request
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

__all__ = [
    "Cursor",
    "GraphQLPageInfo",
    "LinkHeader",
    "NextUrl",
    "Offset",
    "PageNumber",
    "PageRequest",
    "PageToken",
    "Paginator",
    "SinglePage",
    "StartingAfter",
    "detect_paginator",
    "masked_state",
    "paginator_from_config",
    "restored_request",
]
