"""A public REST API connected with a YAML file alone: no module, no code of its own.

Tally (tests/contract/_tally.py) is served on 127.0.0.1 and read with
``ik.connect("tally.yaml")``: a path template with a team name that needs encoding, typed
dates and a comma list, an API version in a header, failures said in the body of a 200, and
a request window announced in ``X-RateLimit-*`` headers. Everything integkit adds must work
for it as for a shipped connector: retries, the shared limits, the Result cache, the ledger
and its costs, and the notebook panels.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import integkit as ik
from integkit.sandbox import SandboxServer

from ._tally import KINDS, TEAMS, TOKEN, VERSION, Tally

DEFINITION = """\
service: tally
title: Tally
docs: https://tally.example.com/docs
base_url: https://api.tally.example.com
auth: {type: bearer, param: token, env: TALLY_TOKEN}
api_version: {header: Tally-Version, value: "2024-06", pattern: '\\d{4}-\\d{2}'}
body: json
paginator: {type: page_token, cursor_path: next_page_token, cursor_param: page_token,
            limit_param: page_size, limit: 20}
records_path: entries
primary_key: id
timestamps: {unit: s, fields: [created]}
parameters:
  since: date
  until: date
  kinds: {type: list, separator: ","}
  billable: boolean
errors: {code: error, message: error,
         codes: {team_not_found: NotFoundError, invalid_auth: AuthenticationError},
         hints: {team_not_found: "Use a team name from the Teams page."}}
responses:
  - {name: try_again, status: 2xx, body: {ok: false, error: try_again}, outcome: retry}
  - {name: failed, status: 2xx, body: {ok: false}, outcome: error}
retry: {max_attempts: 4, initial_delay: 0.2, max_delay: 2}
feedback: [retry_after, x_ratelimit]
rate_limits:
  - {name: requests, limit: 50, per: 1s, burst: 50}
pricing:
  currency: USD
  plans:
    standard: {model: per_call, price: 0.001}
resources:
  entries:
    path: /api/teams/{team}/entries
    schema: {id: string, team: string, kind: string, minutes: integer, billable: boolean,
             started_at: timestamp, created: timestamp}
operations:
  log_entry:
    method: POST
    path: /api/teams/{team}/entries
    required: [kind, minutes]
    params: {note: A line of text shown with the entry.}
    unwrap: entry
    doc: Log time spent on one kind of work.
"""


@pytest.fixture
def tally() -> Iterator[tuple[Tally, str]]:
    service = Tally()
    with SandboxServer(service.app()) as server:
        yield service, server.url


@pytest.fixture
def definition(tmp_path: Path) -> str:
    path = tmp_path / "tally.yaml"
    path.write_text(DEFINITION)
    return str(path)


@pytest.fixture
def books(tmp_path: Path) -> str:
    """A state backend of the test's own: limits, ledger and caches start empty."""
    return f"sqlite:///{tmp_path / 'books.db'}"


def connect(definition: str, url: str, books: str, **options: Any) -> Any:
    return ik.connect(definition, **{"token": TOKEN, "base_url": url, "state": books, **options})


def test_path_templates_and_typed_dates_reach_the_service_in_its_own_forms(
        tally, definition, books) -> None:
    service, url = tally
    conn = connect(definition, url, books)
    frame = conn.list("entries", team="data team", since=dt.date(2025, 1, 10),
                      until=pd.Timestamp("2025-01-20T05:00:00Z"), kinds=["focus", "review"]
                      ).to_frame()
    path, query = service.log[-1]
    assert path == "/api/teams/data team/entries"  # one segment, sent as %20
    assert "since=2025-01-10" in query and "until=2025-01-20" in query
    assert "kinds=focus%2Creview" in query or "kinds=focus,review" in query
    expected = [e for e in service.entries["data team"]
                if "2025-01-10" <= e["started_at"][:10] < "2025-01-20"
                and e["kind"] in ("focus", "review")]
    assert list(frame["id"]) == [e["id"] for e in expected] and expected
    assert str(frame["started_at"].dtype) == "datetime64[ms, UTC]"
    assert str(frame["created"].dtype) == "datetime64[ms, UTC]"
    with pytest.raises(ik.ConfigError, match="team"):
        conn.list("entries").to_frame()  # the path's parameter is missing: nothing sent
    with pytest.raises(ik.ConfigError, match="since"):
        conn.list("entries", team="ops", since="the tenth of never")


def test_failures_said_in_the_body_are_retried_or_raised_as_the_right_error(
        tally, definition, books, sleeps) -> None:
    service, url = tally
    conn = connect(definition, url, books, sleep=sleeps)
    service.transient = 2
    assert len(conn.list("entries", team="ops").to_frame()) == len(service.entries["ops"])
    assert len(sleeps) == 2  # each "try_again" retried after a backoff
    with pytest.raises(ik.NotFoundError, match="team_not_found") as info:
        conn.list("entries", team="nobody").to_frame()
    assert info.value.code == "team_not_found" and "Teams page" in str(info.value)
    with pytest.raises(ik.AuthenticationError):
        connect(definition, url, books, token="tally_wrong").list("entries", team="ops").head(1)
    with pytest.raises(ik.ConfigError, match="api_version"):
        connect(definition, url, books, api_version="June")


def test_the_rate_limit_headers_hold_back_every_connection_on_the_key(
        tally, definition, books) -> None:
    service, url = tally
    service.window, service.per = 4, 1.0
    first, second = connect(definition, url, books), connect(definition, url, books)
    read = [first.list("entries", team=TEAMS[0], page_size=30).to_frame(),
            second.list("entries", team=TEAMS[1], page_size=30).to_frame()]
    assert [len(f) for f in read] == [len(service.entries[t]) for t in TEAMS]
    assert service.too_many == 0  # the pause the headers asked for was kept by both
    assert first.quota_status()["seconds_waited"] + second.quota_status()["seconds_waited"] > 0


def test_the_result_cache_the_ledger_and_the_bill(tally, definition, books) -> None:
    service, url = tally
    conn = connect(definition, url, books)
    once = conn.list("entries", team="ops", cache="1h").to_frame()
    calls = len(service.log)
    again = conn.list("entries", team="ops", cache="1h").to_frame()
    assert len(service.log) == calls and again.equals(once)  # read back, no call
    usage = ik.usage(service="tally", state=books)
    assert set(usage["endpoint"]) == {"entries.list"} and len(usage) == calls
    bill = ik.costs(service="tally", state=books)
    assert list(bill["calls"]) == [calls]
    assert float(bill["total"].sum()) == pytest.approx(0.001 * calls)


def test_an_operation_is_a_typed_method_of_the_connection(tally, definition, books) -> None:
    service, url = tally
    conn = connect(definition, url, books)
    signature = inspect.signature(conn.log_entry)
    assert list(signature.parameters)[:3] == ["team", "kind", "minutes"]
    assert "Log time spent" in (conn.log_entry.__doc__ or "")
    entry = conn.log_entry("data team", KINDS[1], 45, note="pairing")
    assert entry["minutes"] == 45 and service.entries["data team"][-1] == entry
    with pytest.raises(ik.ConfigError, match="minutes"):
        conn.log_entry("ops", "focus")


def test_the_notebook_panels_show_it(tally, definition, books) -> None:
    service, url = tally
    conn = connect(definition, url, books)
    result = conn.list("entries", team="ops")
    result.to_frame()
    card = conn._repr_html_()
    assert "Tally" in card and VERSION in card and "requests: 50 per 1s" in card
    assert "entries" in result._repr_html_()
    panel = ik.dashboard(conn, widget=False)
    [snapshot] = panel.snapshots
    assert snapshot.calls == len(service.log)
    assert "tally" in str(panel)
