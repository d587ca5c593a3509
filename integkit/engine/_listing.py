"""One flow for a listing: a plan, the pages it reads, and the one function that makes a Result.

A call such as ``conn.list("charges", created=..., parallel=4)`` becomes a
:class:`ListingPlan`: plain, immutable data (path, parameters, body, where the records are,
how pages follow, the reading options). :func:`read_listing` turns a plan into a Result
(sequential, parallel or served from the Parquet result cache); it is the only place a
listing's Result is wired, whatever built the plan (``Connection.list``, Salesforce's
queries, Shopify's GraphQL connections).

What differs between services plugs in as :class:`Strategies`, never as an override of a
Connection method: how a listing is cut for ``parallel=`` (a :class:`Partitioning`: Stripe's
``created`` ranges, offset and page-number slices), how many records it holds (GitHub's
``per_page=1`` last link, Shopify's ``count.json``), how a page's records are shaped
(Slack's member ids made rows), and what to remember after a complete read (Stripe's oldest
``created``). A connector module registers them for its service or for one resource
(:func:`register_strategies`); a partitioning registered by name
(:func:`register_partitioning`) is reused by any definition that names it
(``partition: created_time`` on a resource).

>>> register_strategies("helpdesk", Strategies(count=lambda listing: 120))  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import orjson

from .._config import get_settings
from .._errors import ConfigError, PaginationError
from .._errors import TimeoutError as CallTimeout
from .._events import logger
from .._jsonpath import find, find_records
from .._pagination import (
    DEFAULT_MAX_EMPTY_PAGES,
    PAGE_SIZE_PARAMS,
    PageRequest,
    Paginator,
    check_max_empty_pages,
    paginator_from_config,
    request_identity,
    resolved_url,
)
from .._results import Estimate, Fetched, ParallelResult, ParquetCache, Result, Stats, fingerprint
from .._validate import duration
from ._estimate import estimate_listing
from ._history import ListingRun, record_run

if TYPE_CHECKING:
    from ._rest import Connection

__all__ = ["Listing", "ListingClock", "ListingPlan", "PageSlices", "Partitioning",
           "Strategies", "cache_age", "listing_deadline", "partitioning", "read_listing",
           "register_partitioning", "register_strategies", "strategies_for"]

_ABSENT = object()

#: The deadline of the listing whose page is being sent, if it has one: (monotonic instant,
#: seconds allowed). A context variable, so that a connection's ``send`` needs no argument.
listing_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "integkit_listing_deadline", default=None)


@dataclass
class ListingClock:
    """A listing's ``deadline=``: it starts with the first page asked for and is shared by
    every partition of the listing."""

    seconds: float
    started: float | None = None

    def instant(self) -> float:
        """The ``time.monotonic()`` by which the listing must be read (starts the clock)."""
        if self.started is None:
            self.started = time.monotonic()
        return self.started + self.seconds


@dataclass(frozen=True)
class ListingPlan:
    """What one listing reads and how: built from a validated definition and a call, checked
    before any page is fetched, and never changed (a partition is a plan with other params).

    ``name`` names the listing in the result cache's key (the resource's name); ``body`` is
    the JSON body of a listing that pages by POST; ``cache`` is the result cache's maximum
    age in seconds (None: no result cache); ``deadline`` is in seconds from the first page.
    """

    name: str
    path: str
    endpoint: str
    params: dict[str, Any] = field(default_factory=dict)
    method: str = "GET"
    body: Any = None
    records_path: str | None = None
    paginator: Any = None
    primary_key: str | None = None
    schema: dict[str, str] | None = None
    timestamps: dict[str, Any] | None = None
    priority: str | None = None
    max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES
    # how it is read
    max_records: int | None = None
    parallel: int = 1
    checkpoint: Any = None
    cache: float | None = None
    deadline: float | None = None
    prefetch: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        check_max_empty_pages(self.max_empty_pages)
        if self.parallel > 1 and self.checkpoint is not None:
            raise ConfigError("checkpoint= and parallel= do not combine; choose one")

    def with_params(self, paginator: Any = None, **changes: Any) -> ListingPlan:
        """The same plan with some query parameters (or its paginator) changed."""
        return replace(self, params={**self.params, **changes},
                       paginator=paginator or self.paginator)

    def with_body(self, body: Any) -> ListingPlan:
        """The same plan with another JSON body (a GraphQL query's variables changed)."""
        return replace(self, body=body)

    def shape(self) -> str:
        """A digest of what turns the same pages into another frame: where the records are,
        which are kept, how the pages are followed, the columns and types declared."""
        return fingerprint({"records_path": self.records_path,
                            "primary_key": self.primary_key, "paginator": self.paginator,
                            "schema": self.schema, "timestamps": self.timestamps})


class Partitioning(Protocol):
    """How a service's listings are cut for ``parallel=`` (see :class:`Strategies`)."""

    def partition(self, listing: Listing, parts: int,
                  stats: Stats | None) -> Sequence[Listing] | None:
        """About ``parts`` disjoint listings covering ``listing`` in its order, or None when
        it cannot be cut (calls made to find out count in ``stats``)."""
        ...

    def split_remaining(self, listing: Listing, last: dict[str, Any] | None,
                        read: int) -> tuple[dict[str, Any], Listing, Listing] | None:
        """Cut what is left of ``listing`` being read, after its last record ``last``
        (``read`` records so far), for an idle worker: the parameter changes that narrow it,
        that narrowed listing (its ``keeps`` drops records past the cut) and a listing of the
        rest, which comes after it in order. None when it cannot or too little is left."""
        ...


class PageSlices:
    """The generic partitioning: an offset or page-number listing whose first page tells the
    total is cut into consecutive slices of whole pages (one call learns the total)."""

    def partition(self, listing: Listing, parts: int,
                  stats: Stats | None) -> Sequence[Listing] | None:
        paginator = listing.new_paginator()
        if paginator is None or not paginator.can_split:
            return None
        request = listing.first_request()
        paginator.init_request(request)
        fetched = listing.fetch(request)
        if stats is not None:
            stats.add(fetched.trace)
        total = paginator.total(fetched.data)
        if total is None:
            return None
        slices = paginator.split(total, parts)
        return [listing.with_params(paginator=p) for p in slices] or None

    def split_remaining(self, listing: Listing, last: dict[str, Any] | None,
                        read: int) -> tuple[dict[str, Any], Listing, Listing] | None:
        return None


@dataclass(frozen=True)
class Strategies:
    """What a service (or one resource) does its own way when listing; None: the default.

    ``partition`` cuts a listing for ``parallel=`` (default :class:`PageSlices`);
    ``count(listing)`` says how many records it holds without reading it (what
    ``Result.estimate()`` starts from); ``records(listing, records)`` shapes a page's records
    (plain ids into rows...); ``facts(listing, result)`` notes what a complete read taught,
    kept with its size for the next read of the same listing.
    """

    partition: Partitioning | None = None
    count: Callable[[Listing], int | None] | None = None
    records: Callable[[Listing, list[Any]], list[Any]] | None = None
    facts: Callable[[Listing, Result], dict[str, Any]] | None = None

    def over(self, base: Strategies) -> Strategies:
        """These strategies, with ``base``'s where these have none."""
        return Strategies(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                             else getattr(base, f.name) for f in fields(self)})


_SERVICES: dict[tuple[str, str | None], Strategies] = {}
_PARTITIONINGS: dict[str, Strategies] = {}
_DEFAULT = Strategies(partition=PageSlices())


def register_strategies(service: str, strategies: Strategies, *,
                        resource: str | None = None) -> None:
    """Use ``strategies`` for every listing of ``service``, or only for its ``resource``
    (which takes precedence); a connector module does this when it is imported."""
    _SERVICES[(service, resource)] = strategies


def register_partitioning(name: str, strategies: Strategies | Partitioning) -> None:
    """Make a partitioning (with the facts it remembers, given as Strategies) available to
    definitions by ``name`` (``partition: <name>`` on a resource)."""
    if not isinstance(strategies, Strategies):
        strategies = Strategies(partition=strategies)
    _PARTITIONINGS[name] = strategies


def partitioning(name: str, *, where: str = "partition") -> Strategies:
    """The partitioning registered as ``name``; a ConfigError naming the known ones."""
    found = _PARTITIONINGS.get(name)
    if found is None:
        raise ConfigError(f"{where}: no partitioning named {name!r}; known: "
                          f"{', '.join(sorted(_PARTITIONINGS)) or 'none'}")
    return found


def strategies_for(service: str, resource: str | None = None,
                   partition: str | None = None) -> Strategies:
    """The strategies a listing of ``service``'s ``resource`` uses: the resource's own, the
    partitioning it names, the service's, then the defaults, in that order."""
    found = _DEFAULT
    for layer in (_SERVICES.get((service, None)),
                  partitioning(partition, where=f"{service}.{resource}")
                  if partition else None,
                  _SERVICES.get((service, resource)) if resource is not None else None):
        if layer is not None:
            found = layer.over(found)
    return found


class Listing:
    """The pages of one planned listing, as a Result reads them (implements PageSource).

    It sends through its connection and reads records with its strategies; it never asks the
    connection what to do with them.
    """

    def __init__(self, conn: Connection, plan: ListingPlan,
                 strategies: Strategies | None = None, *,
                 clock: ListingClock | None = None) -> None:
        self.conn = conn
        self.plan = plan
        self.strategies = strategies or _DEFAULT
        self.clock = clock
        self.service = conn.service
        self.endpoint = plan.endpoint
        self.timestamps = plan.timestamps
        self.schema = plan.schema  # the columns and types of its frame, declared
        self.primary_key = plan.primary_key  # records repeating one already read are dropped
        self.max_empty_pages = plan.max_empty_pages
        # a record filter set when a split narrowed this listing (see Partitioning)
        self.keeps: Callable[[dict[str, Any]], bool] | None = None

    # -- the plan's parts, as partitionings and estimates read them -------------------------
    @property
    def path(self) -> str:
        return self.plan.path

    @property
    def params(self) -> dict[str, Any]:
        return self.plan.params

    @property
    def method(self) -> str:
        return self.plan.method

    @property
    def priority(self) -> str | None:
        return self.plan.priority

    @property
    def records_path(self) -> str | None:
        return self.plan.records_path

    def with_params(self, paginator: Any = None, **changes: Any) -> Listing:
        """The same listing with some query parameters (or its paginator) changed: a
        partition of it (same strategies, same deadline clock)."""
        return Listing(self.conn, self.plan.with_params(paginator, **changes),
                       self.strategies, clock=self.clock)

    # -- PageSource --------------------------------------------------------------------------
    def first_request(self) -> PageRequest:
        return PageRequest(self.plan.method, self.plan.path, params=dict(self.plan.params),
                           json=copy.deepcopy(self.plan.body))

    def new_paginator(self) -> Paginator | None:
        return paginator_from_config(self.plan.paginator)

    def fetch(self, request: PageRequest) -> Fetched:
        limit = None
        if self.clock is not None:
            limit = (self.clock.instant(), self.clock.seconds)
            if time.monotonic() >= limit[0]:
                raise CallTimeout(
                    f"the listing's deadline of {self.clock.seconds:g}s passed before the next "
                    "page", service=self.service, endpoint=self.endpoint,
                    hint="What was read is kept in the Result; list again with a longer "
                         "deadline= (or narrower parameters) to read the rest.")
        token = listing_deadline.set(limit)
        try:
            response, data, trace = self.conn.send(request, endpoint=self.endpoint,
                                                   priority=self.priority)
        finally:
            listing_deadline.reset(token)
        if data is None and response.status_code == 204:  # No Content: an empty page
            return Fetched(response, data, [], trace)
        return Fetched(response, data, self.page_records(data), trace)

    def page_records(self, data: Any) -> list[Any]:
        """The records of one page, shaped by the ``records`` strategy. A page without the
        records path is an error: read as zero records, it would end the listing early."""
        if self.records_path and find(data, self.records_path, _ABSENT) is _ABSENT:
            shape = f"keys {sorted(data)[:8]}" if isinstance(data, dict) else \
                type(data).__name__
            raise PaginationError(
                f"a page has no {self.records_path!r} (where this listing's records are; "
                f"it holds {shape})", service=self.service, endpoint=self.endpoint,
                hint="Stopped rather than read it as an empty page. Check records_path= "
                "(or the definition's), or report the answer to the API's owner.")
        records = find_records(data, self.records_path)
        shape_rows = self.strategies.records
        return shape_rows(self, records) if shape_rows is not None else records

    def request_identity(self, request: PageRequest) -> str:
        """What ``request`` asks for, resolved as it would be sent (base URL joined, query
        and body encoded; headers left out), so that a next-page URL pointing back at a page
        already read is recognised whatever form it takes."""
        conn = self.conn
        url = resolved_url(request.url, str(conn.client.base_url), conn._encode(request.params))
        if request.json is not None:
            body = orjson.dumps(request.json, option=orjson.OPT_SORT_KEYS, default=str)
        elif request.data is not None:
            body = urlencode(conn._encode(request.data)).encode()
        else:
            body = b""
        return request_identity(request, url, body)

    def split_remaining(self, last: dict[str, Any] | None, read: int
                        ) -> tuple[dict[str, Any], Listing, Listing] | None:
        """Cut what is left of this listing, being read, in two (see :class:`Partitioning`)."""
        cutter = self.strategies.partition
        return None if cutter is None else cutter.split_remaining(self, last, read)

    def partitions(self, parts: int, stats: Stats | None = None) -> Sequence[Listing]:
        """This listing cut in about ``parts`` for parallel workers (itself when it cannot
        be cut)."""
        cutter = self.strategies.partition
        found = None if cutter is None else cutter.partition(self, parts, stats)
        return found or [self]

    def history_key(self) -> str:
        """Who asked what, across processes (the Result cache and listing history key by it):
        the service, the account, and the first request as the HTTP cache keys it (URL,
        body, every request header that may change the answer: API version, tenant or
        account headers...) with the identity of the credentials (a digest)."""
        return fingerprint({"service": self.service, "account": self.conn.account,
                            "request": self.conn.answer_key(self.first_request())})

    def page_size(self) -> int | None:
        """Records a full page holds, where the request or the paginator says."""
        request = self.first_request()
        paginator = self.new_paginator()
        if paginator is not None:
            paginator.init_request(request)
        for name in PAGE_SIZE_PARAMS:
            value = request.params.get(name)
            if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                return int(value)
        return None

    def count(self) -> int | None:
        """How many records this listing holds, where the ``count`` strategy can say without
        reading it all; None otherwise."""
        counter = self.strategies.count
        return None if counter is None else counter(self)

    def estimate(self, *, workers: int = 1, max_records: int | None = None) -> Estimate:
        """See :meth:`Result.estimate`."""
        return estimate_listing(self, workers=workers, max_records=max_records)


def cache_age(cache: bool | str | float | None) -> float | None:
    """The result cache's maximum age in seconds that ``cache=`` asks for: None when off,
    a day for True, else the duration given (``"1h"``, seconds)."""
    if not cache:
        return None
    return 86_400.0 if cache is True else duration(cache, "cache")


def remember_read(listing: Listing, result: Result) -> None:
    """Keep what a complete read of ``listing`` took, and the facts its strategy noted, for
    later estimates and reads (never fails the read)."""
    stats = result.stats
    try:
        noted = listing.strategies.facts
        # The calls' own times added up (an estimate divides them among its workers).
        run = ListingRun(records=stats.records, pages=stats.pages, calls=stats.calls,
                         seconds=stats.call_seconds, bytes=stats.bytes,
                         finished_at=time.time(),
                         facts=noted(listing, result) if noted is not None else {})
        record_run(listing.conn.state, listing.history_key(), run)
    except Exception as exc:  # noqa: BLE001 - history is a nicety, the data is what counts
        logger.warning("integkit: could not record the size of %s (%s)", listing.endpoint, exc)


def read_listing(
    conn: Connection, plan: ListingPlan, strategies: Strategies | None = None, *,
    source: Listing | None = None, result_type: Callable[..., Result] = Result,
) -> Result:
    """The Result of ``plan``: the one place a listing's Result is wired.

    ``source`` is the Listing to read when a connector needs its own (Salesforce's SOQL
    pages, Shopify's GraphQL connections), else one is made from the plan; ``result_type``
    makes a sequential Result (Salesforce types its frames). ``parallel > 1`` reads the
    partitions the strategy cuts at once; ``cache`` serves the whole answer from Parquet.
    """
    clock = ListingClock(plan.deadline) if plan.deadline is not None else None
    listing = source or Listing(conn, plan, strategies, clock=clock)
    if listing.clock is None:
        listing.clock = clock

    def complete(result: Result) -> None:
        remember_read(listing, result)

    result: Result
    if plan.parallel > 1:
        result = ParallelResult(
            listing, lambda stats: listing.partitions(plan.parallel, stats),
            workers=plan.parallel, max_records=plan.max_records, on_complete=complete)
    else:
        result = result_type(listing, checkpoint=plan.checkpoint, prefetch=plan.prefetch,
                             max_records=plan.max_records, on_complete=complete)
    if plan.cache is not None:
        key = f"{conn.service}-{plan.name}-{listing.history_key()}-{plan.shape()}"
        result.cache_results(ParquetCache(get_settings().data_dir / "results"),
                             max_age=plan.cache, key=key)
    return result
