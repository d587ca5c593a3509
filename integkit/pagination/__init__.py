"""Pagination strategies: small classes that turn one page's response into the next request."""

from ._base import PageRequest, Paginator, masked_state, more_without_cursor
from ._detect import (
    PAGE_SIZE_PARAMS,
    Detection,
    PaginationWarning,
    detect,
    detect_paginator,
    paginator_from_config,
)
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
from ._trail import (
    DEFAULT_MAX_EMPTY_PAGES,
    PageTrail,
    check_max_empty_pages,
    describe_request,
    request_identity,
    resolved_url,
)

__all__ = [
    "DEFAULT_MAX_EMPTY_PAGES",
    "PAGE_SIZE_PARAMS",
    "Cursor",
    "Detection",
    "GraphQLPageInfo",
    "LinkHeader",
    "NextUrl",
    "Offset",
    "PageNumber",
    "PageRequest",
    "PageToken",
    "PageTrail",
    "PaginationWarning",
    "Paginator",
    "SinglePage",
    "StartingAfter",
    "check_max_empty_pages",
    "describe_request",
    "detect",
    "detect_paginator",
    "masked_state",
    "more_without_cursor",
    "paginator_from_config",
    "request_identity",
    "resolved_url",
    "restored_request",
]
