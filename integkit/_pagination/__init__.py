"""Pagination strategies: small classes that turn one page's response into the next request."""

from ._base import PageRequest, Paginator, masked_state, more_without_cursor
from ._detect import (
    ALIASES,
    PAGE_SIZE_PARAMS,
    Detection,
    PaginationWarning,
    detect,
    detect_paginator,
    paginator_from_config,
    paginator_options,
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
    graphql_connection,
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
    "ALIASES",
    "Cursor",
    "DEFAULT_MAX_EMPTY_PAGES",
    "Detection",
    "GraphQLPageInfo",
    "LinkHeader",
    "NextUrl",
    "Offset",
    "PAGE_SIZE_PARAMS",
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
    "graphql_connection",
    "masked_state",
    "more_without_cursor",
    "paginator_from_config",
    "paginator_options",
    "request_identity",
    "resolved_url",
    "restored_request",
]
