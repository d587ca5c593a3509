"""Bulk API 2.0 query jobs: create a job, wait for ``JobComplete``, read CSV result sets.

    POST /services/data/vXX.X/jobs/query            {"operation": "query", "query": "..."}
    GET  /services/data/vXX.X/jobs/query/{id}       state: UploadComplete, InProgress, JobComplete
    GET  /services/data/vXX.X/jobs/query/{id}/results?maxRecords=N[&locator=L]
         -> text/csv; Sforce-Locator (the next set, or "null"), Sforce-NumberOfRecords

Every result set is a complete CSV with its header row. Cells are text: they become the same
values the REST API gives (see :func:`.salesforce_types.convert_text`), so records look alike
whichever API fetched them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequestError, ServerError
from ..._pagination import PageRequest
from .salesforce_types import convert_text

if TYPE_CHECKING:
    from .salesforce import SalesforceConnection

__all__ = ["BulkQueryJob", "parse_csv", "results_request"]

_DONE = "JobComplete"
_FAILED = ("Failed", "Aborted")


def parse_csv(text: str, types: Mapping[str, str]) -> list[dict[str, Any]]:
    """Records of one CSV result set; ``Account.Name`` columns become nested objects (null
    when every cell of the relationship is empty), as in REST answers."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return []
    kinds = [types.get(name.lower()) for name in header]
    paths = [name.split(".") for name in header]
    nested = any(len(p) > 1 for p in paths)
    records: list[dict[str, Any]] = []
    for row in reader:
        if not row:
            continue
        record: dict[str, Any] = {}
        for path, kind, cell in zip(paths, kinds, row, strict=False):
            value = convert_text(cell, kind)
            node = record
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        if nested:
            _null_empty(record)
        records.append(record)
    return records


def _null_empty(record: dict[str, Any]) -> bool:
    """Replace relationship objects whose values are all null by null; True if all null."""
    empty = True
    for key, value in record.items():
        if isinstance(value, dict):
            if _null_empty(value):
                record[key] = None
            else:
                empty = False
        elif value is not None:
            empty = False
    return empty


def results_request(path: str, max_records: int, locator: str | None = None) -> PageRequest:
    """The request for one result set of a job (``path``: ``.../jobs/query/{id}/results``)."""
    params: dict[str, Any] = {"maxRecords": max_records}
    if locator:
        params["locator"] = locator
    return PageRequest("GET", path, params=params)


class BulkQueryJob:
    """One query job: created, then polled until complete, with growing pauses."""

    def __init__(self, conn: SalesforceConnection, *, sleep: Callable[[float], None],
                 poll_interval: float = 0.5, max_interval: float = 10.0,
                 timeout: float = 3600.0, priority: str | None = None) -> None:
        self.conn = conn
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        self.timeout = timeout
        self.priority = priority
        self.job: dict[str, Any] = {}
        self.calls = 0

    @property
    def id(self) -> str:
        return str(self.job.get("id", ""))

    def create(self, soql: str, *, all_rows: bool) -> dict[str, Any]:
        """Start the job (``queryAll`` includes deleted and archived records)."""
        body = {"operation": "queryAll" if all_rows else "query", "query": soql,
                "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"}
        self.job = self.conn.request("POST", self.conn.data_path("jobs", "query"), json=body,
                                     endpoint="jobs.query.create", priority=self.priority)
        self.calls += 1
        return self.job

    def wait(self) -> dict[str, Any]:
        """Poll the job until it completes; a failed or aborted job raises with its message."""
        waited, interval = 0.0, self.poll_interval
        path = self.conn.data_path("jobs", "query", self.id)
        while True:
            self.job = self.conn.request("GET", path, endpoint="jobs.query.get",
                                         priority=self.priority)
            self.calls += 1
            state = self.job.get("state")
            if state == _DONE:
                return self.job
            if state in _FAILED:
                message = self.job.get("errorMessage") or f"the job ended {state}"
                raise InvalidRequestError(
                    f"Bulk API query job {self.id} {state.lower()}: {message}",
                    service=self.conn.service, endpoint="jobs.query", code=state,
                    hint="Check the query; Bulk API 2.0 runs no COUNT(), OFFSET or "
                         "aggregate queries (bulk=False runs it through the REST API).")
            if waited >= self.timeout:
                raise ServerError(
                    f"Bulk API query job {self.id} is still {state} after {waited:.0f}s",
                    service=self.conn.service, endpoint="jobs.query",
                    hint="Re-run later; the job keeps running at Salesforce.")
            self.sleep(interval)
            waited += interval
            interval = min(self.max_interval, interval * 1.5)

    def results_path(self) -> str:
        return self.conn.data_path("jobs", "query", self.id, "results")
