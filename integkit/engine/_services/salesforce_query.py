"""A SOQL query as pages: REST ``query``/``queryAll`` pages (``nextRecordsUrl``) or Bulk API
2.0 result sets (``Sforce-Locator``), chosen when the first page is asked for.

With ``bulk=None`` the listing asks ``SELECT COUNT()`` first (one call) and runs a Bulk API job
when at least the connection's ``bulk_threshold`` rows will come back; ``bulk=True``/``False``
decide without counting. Either way the pages commit like any listing's, so an interrupted read
resumes from its last page (a job's result sets stay readable for days).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx

from ..._pagination import PageRequest, Paginator, more_without_cursor
from ..._results import Fetched
from .._listing import ListingPlan, Strategies, register_strategies, strategies_for
from .._rest import Listing
from .salesforce_bulk import BulkQueryJob, parse_csv, results_request
from .salesforce_soql import count_soql, split_soql

if TYPE_CHECKING:
    from .salesforce import SalesforceConnection

__all__ = ["SoqlListing", "SoqlPaginator", "count_query", "strip_attributes"]

def strip_attributes(record: Any) -> Any:
    """A query record without Salesforce's ``attributes`` (type and URL) at any depth, so a
    frame holds the fields only (``Account.Name`` stays a nested field)."""
    if isinstance(record, dict):
        return {k: strip_attributes(v) for k, v in record.items() if k != "attributes"}
    if isinstance(record, list):
        return [strip_attributes(v) for v in record]
    return record


def count_query(listing: Listing) -> int | None:
    """The counting strategy of a SOQL listing: its ``SELECT COUNT()`` (one call, kept)."""
    return listing.row_count() if isinstance(listing, SoqlListing) else None


def query_rows(listing: Listing, records: list[Any]) -> list[Any]:
    """The records strategy of a SOQL listing's REST pages: rows without ``attributes``."""
    return [strip_attributes(r) for r in records]


class SoqlPaginator(Paginator):
    """REST: follow ``nextRecordsUrl`` until ``done``. Bulk: ask for the set the
    ``Sforce-Locator`` header names until it says ``null``."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self._next_url: str | None = None
        self._results_url: str | None = None
        self._locator: str | None = None

    def update_state(self, response: httpx.Response, data: Any, records: list[Any]) -> None:
        locator = response.headers.get("Sforce-Locator")
        if locator is not None:
            self._results_url = str(response.url.copy_with(query=None))
            self._locator = None if locator in ("", "null") else locator
            self._next_url = None
            self.has_next_page = self._locator is not None
            return
        nxt = data.get("nextRecordsUrl") if isinstance(data, dict) else None
        done = data.get("done", True) if isinstance(data, dict) else True
        self._next_url = urljoin(str(response.url), nxt) if nxt else None
        self._locator = None
        if done is False and self._next_url is None:
            more_without_cursor("done: false", "nextRecordsUrl")
        self.has_next_page = self._next_url is not None and not done

    def update_request(self, request: PageRequest) -> None:
        if self._locator is not None and self._results_url is not None:
            nxt = results_request(self._results_url, self.max_records, self._locator)
            request.method, request.url, request.params = nxt.method, nxt.url, nxt.params
            request.json, request.headers = None, {}
        elif self._next_url is not None:
            request.url, request.params = self._next_url, {}


class SoqlListing(Listing):
    """The pages of one SOQL query (see the module doc), read by ``read_listing`` like any
    plan's, with the strategies registered for ``query``/``queryAll`` (count, rows).

    Its own pages rather than a plan's because a SOQL query is not one REST listing: its
    first page decides between REST and a Bulk API job (counted, created, polled), whose
    result sets are CSV pages found by a header, typed by the object's describe.
    """

    conn: SalesforceConnection

    def __init__(self, conn: SalesforceConnection, plan: ListingPlan, *, all_rows: bool = False,
                 bulk: bool | None = None, batch_size: int | None = None) -> None:
        super().__init__(conn, plan, strategies_for(conn.service, plan.name))
        self.soql = str(plan.params["q"])
        self.all_rows = all_rows
        self.bulk = bulk
        self.batch_size = batch_size
        self.parts = split_soql(self.soql)
        self.object = self.parts.object if self.parts else None
        self._counted = False
        self._count: int | None = None

    def first_request(self) -> PageRequest:
        headers = {"Sforce-Query-Options": f"batchSize={self.batch_size}"} \
            if self.batch_size else {}
        return PageRequest("GET", self.path, params={"q": self.soql}, headers=headers)

    def new_paginator(self) -> Paginator:
        return SoqlPaginator(self.conn.bulk_page_size)

    def page_size(self) -> int | None:
        if self.bulk or (self.bulk is None and self._counted and self._uses_bulk()):
            return self.conn.bulk_page_size
        return self.batch_size or 2000

    # -- counting and choosing ----------------------------------------------------------------
    def row_count(self) -> int | None:
        """Rows the query returns (one ``SELECT COUNT()`` call, remembered), or None when a
        plain count cannot size it (GROUP BY, OFFSET...)."""
        if not self._counted:
            counted = count_soql(self.soql)
            if counted is not None:
                soql, limit = counted
                total = self.conn.count_rows(soql, all_rows=self.all_rows,
                                             priority=self.priority)
                self._count = total if limit is None else min(total, limit)
            self._counted = True
        return self._count

    def _uses_bulk(self) -> bool:
        if self.bulk is not None:
            return self.bulk
        count = self.row_count()
        return count is not None and count >= self.conn.bulk_threshold

    # -- fetching -------------------------------------------------------------------------
    def fetch(self, request: PageRequest) -> Fetched:
        if request.url.endswith("/results") or "/results?" in request.url:
            return self._bulk_page(request)
        if "q" in request.params and self._uses_bulk():
            return self._bulk_start()
        return super().fetch(request)

    def _bulk_start(self) -> Fetched:
        job = BulkQueryJob(self.conn, sleep=self.conn.sleep, priority=self.priority,
                           poll_interval=self.conn.bulk_poll_interval)
        job.create(self.soql, all_rows=self.all_rows)
        job.wait()
        return self._bulk_page(results_request(job.results_path(), self.conn.bulk_page_size))

    def _bulk_page(self, request: PageRequest) -> Fetched:
        response, text, trace = self.conn.send_csv(request, endpoint="jobs.query.results",
                                                   priority=self.priority)
        types = self.conn.column_types(self.object, _csv_header(text)) if self.object else {}
        return Fetched(response, None, parse_csv(text, types), trace)


def _csv_header(text: str) -> list[str]:
    first = text.split("\n", 1)[0]
    return [name.strip().strip('"') for name in first.split(",")]


for _name in ("query", "queryAll"):  # the listings of SOQL queries (see SoqlListing)
    register_strategies("salesforce", Strategies(count=count_query, records=query_rows),
                        resource=_name)
