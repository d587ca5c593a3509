"""Services plug into listings as strategies, never by subclassing Connection: a connector
written as a YAML file alone, served on loopback, partitions by ``created`` time when its
definition names ``partition: created_time``; strategies registered for its service (or one
resource) count its records, cut it their own way and shape its rows."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit._results import Stats
from integkit.engine import Listing, Strategies, register_strategies
from integkit.sandbox import SandboxServer

SERVICE = "loopback_events"
EVENTS = 400
NOW = int(time.time()) - 60
KINDS = ("click", "view", "buy")

DEFINITION = f"""
service: {SERVICE}
base_url: https://events.example.com
auth: {{type: api_key, header: X-Key}}
body: form
paginator: {{type: starting_after, limit: 25}}
records_path: data
primary_key: id
resources:
  events: {{path: /v1/events, partition: created_time}}
  events_plain: {{path: /v1/events}}
  events_by_kind: {{path: /v1/events}}
  tags: {{path: /v1/tags, paginator: single_page}}
"""


class Events:
    """Events newest first (``created`` 10 minutes apart), filtered by a ``created`` range
    and ``kind``, paged by ``starting_after``; a count of the same filter; tags as bare
    names. Every request is noted."""

    def __init__(self) -> None:
        self.events = [{"id": f"ev_{n:04d}", "created": NOW - 600 * n,
                        "kind": KINDS[n % len(KINDS)]} for n in range(EVENTS)]
        self.paths: list[str] = []

    def matching(self, request: Request) -> list[dict[str, Any]]:
        query = request.query_params
        tests = {"gte": lambda c, b: c >= b, "gt": lambda c, b: c > b,
                 "lt": lambda c, b: c < b, "lte": lambda c, b: c <= b}
        rows = self.events
        for op, test in tests.items():
            bound = query.get(f"created[{op}]")
            if bound is not None:
                rows = [r for r in rows if test(r["created"], int(bound))]
        if "kind" in query:
            rows = [r for r in rows if r["kind"] == query["kind"]]
        return rows

    def app(self) -> Starlette:
        async def events(request: Request) -> JSONResponse:
            self.paths.append(request.url.path)
            rows = self.matching(request)
            after = request.query_params.get("starting_after")
            start = next(i for i, r in enumerate(rows) if r["id"] == after) + 1 if after else 0
            limit = int(request.query_params.get("limit", 10))
            return JSONResponse({"data": rows[start:start + limit],
                                 "has_more": start + limit < len(rows)})

        async def count(request: Request) -> JSONResponse:
            self.paths.append(request.url.path)
            return JSONResponse({"count": len(self.matching(request))})

        async def tags(request: Request) -> JSONResponse:
            self.paths.append(request.url.path)
            return JSONResponse({"data": ["alpha", "beta", "gamma"], "has_more": False})

        return Starlette(routes=[Route("/v1/events", events),
                                 Route("/v1/events/count", count),
                                 Route("/v1/tags", tags)])


class ByKind:
    """A partitioning of this test's own: one partition per ``kind`` (no time involved)."""

    def partition(self, listing: Listing, parts: int,
                  stats: Stats | None) -> Sequence[Listing] | None:
        return [listing.with_params(kind=kind) for kind in KINDS]

    def split_remaining(self, listing: Listing, last: dict[str, Any] | None,
                        read: int) -> tuple[dict[str, Any], Listing, Listing] | None:
        return None


def count_endpoint(listing: Listing) -> int | None:
    """``GET <path>/count`` with the listing's filters."""
    body = listing.conn.request("GET", f"{listing.path}/count", params=dict(listing.params))
    return int(body["count"])


register_strategies(SERVICE, Strategies(count=count_endpoint))
register_strategies(SERVICE, Strategies(partition=ByKind()), resource="events_by_kind")
register_strategies(SERVICE, Strategies(records=lambda listing, names: [
    {"id": name, "name": name} for name in names]), resource="tags")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Events, ik.Connection]]:
    service = Events()
    path = tmp_path / f"{SERVICE}.yaml"
    path.write_text(DEFINITION)
    with SandboxServer(service.app()) as server:
        conn = ik.connect(str(path), base_url=server.url, api_key="k_test", rate_limit=False,
                          state=f"sqlite:///{tmp_path}/state.db")
        try:
            yield service, conn
        finally:
            conn.close()


def test_a_yaml_connector_partitions_by_created_time_when_its_definition_names_it(api) -> None:
    service, conn = api
    assert type(conn) is ik.Connection  # no subclass, no module: the definition alone
    every = [r["id"] for r in conn.list("events_plain")]
    assert every == [e["id"] for e in service.events]
    result = conn.list("events", parallel=4)
    assert list(result.to_frame()["id"]) == every  # in order, each once
    assert result.partitions >= 4 and result.stats.records == EVENTS
    plain = conn.list("events_plain", parallel=4)
    assert list(plain.to_frame()["id"]) == every and plain.partitions == 1  # nothing named


def test_the_time_partitioning_remembers_the_oldest_record_for_the_next_read(api) -> None:
    _, conn = api
    first = conn.list("events", parallel=3)
    first.to_frame()
    assert first.stats.calls - first.stats.pages == 9  # probes for the oldest event
    again = conn.list("events", parallel=3)
    assert len(again.to_frame()) == EVENTS
    assert again.stats.calls - again.stats.pages == 1  # remembered, confirmed by one probe


def test_a_registered_partitioning_cuts_a_resource_without_subclassing(api) -> None:
    service, conn = api
    result = conn.list("events_by_kind", parallel=3)
    frame = result.to_frame()
    assert result.partitions == len(KINDS)
    expected = [e["id"] for kind in KINDS for e in service.events if e["kind"] == kind]
    assert list(frame["id"]) == expected


def test_a_registered_count_drives_the_estimate(api) -> None:
    service, conn = api
    since = NOW - 600 * 99  # the 100 newest events
    estimate = conn.list("events_plain", created={"gte": since}).estimate()
    assert estimate.records == 100 and estimate.calls == 4  # pages of 25
    assert "counted" in estimate.basis and service.paths == ["/v1/events/count"]
    assert conn.count(conn.list("events")._source) == EVENTS  # the Listing behind a Result


def test_a_records_strategy_shapes_one_resources_rows(api) -> None:
    _, conn = api
    assert list(conn.list("tags")) == [{"id": n, "name": n} for n in ("alpha", "beta", "gamma")]


def test_a_partitioning_nobody_registered_is_a_config_error_naming_it(api, tmp_path) -> None:
    _, conn = api
    path = tmp_path / "unknown.yaml"
    path.write_text(DEFINITION.replace("partition: created_time", "partition: by_moon"))
    # caught when the connection is made (the module that could register it is imported by
    # then), naming the file's line, not when list() runs
    with pytest.raises(ik.ConfigError, match="by_moon.*created_time") as caught:
        ik.connect(str(path), base_url=str(conn.base_url), api_key="k", rate_limit=False)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if "by_moon" in text)
    assert f"{path}:{line}: resource 'events' partition" in str(caught.value)
