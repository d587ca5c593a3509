"""The request side of a definition, done by the engine for a YAML file alone: path templates
with typed path parameters (one percent-encoded segment each, defaults from the connection),
typed query parameters, and the API version in a header, a path prefix or a query parameter.

The service is ``home`` (a recording server on 127.0.0.1): what it received is the proof."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.responses import JSONResponse

import integkit as ik

DEFINITION = """\
service: tracker
base_url: {url}
api_version: {version}
paginator: single_page
records_path: items
body: form
parameters:
  since: datetime
  day: date
  created: {{type: range, of: unix}}
  labels: list
  draft: boolean
  state: {{type: enum, values: [open, closed, all]}}
  repo: {{type: string, parts: [owner, repo], separator: /}}
resources:
  issues:
    path: "/repos/{{owner}}/{{repo}}/issues"
    retrieve_path: "/repos/{{owner}}/{{repo}}/issues/{{id}}"
  runs:
    path: "/runs/{{run_id}}/jobs"
    parameters: {{run_id: integer, created: {{type: range, of: date, form: text}}}}
  orgs:
    path: "/orgs/{{owner}}/repos"
    parameters: {{owner: {{type: string, hint: "which account? pass owner='octo-org'"}}}}
"""


@pytest.fixture
def tracker(home, tmp_path: Path):
    """``connect(version, **options)``: the tracker definition, its api_version section given."""
    home.route("*", lambda request: JSONResponse({"items": [{"id": 1}], "id": 1}))
    opened: list[ik.Connection] = []

    def connect(version: str = '{value: "2024-10", header: X-Api-Version}',
                **options: Any) -> ik.Connection:
        path = tmp_path / "tracker.yaml"
        path.write_text(DEFINITION.format(url=home.url, version=version))
        conn = ik.connect(str(path), cache=False, rate_limit=False, **options)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def query(seen: Any) -> dict[str, list[str]]:
    return parse_qs(seen.query, keep_blank_values=True)


def test_path_parameters_fill_the_template_and_leave_the_query(tracker, home) -> None:
    conn = tracker()
    conn.list("issues", owner="octo org", repo="at?las#1", state="open").to_frame()
    (seen,) = home.seen
    assert seen.path == "/repos/octo org/at%3Flas%231/issues"  # one segment each, no query
    assert query(seen) == {"state": ["open"]}
    conn.retrieve("issues", 7, repo="octo/atlas")
    assert home.seen[-1].path == "/repos/octo/atlas/issues/7" and home.seen[-1].query == ""


def test_a_path_value_is_one_segment_never_a_climb(tracker, home) -> None:
    conn = tracker()
    for bad in ("..", "a/b/c", ".", ""):
        with pytest.raises(ik.InvalidRequestError, match="is not a valid owner"):
            conn.list("issues", owner=bad, repo="atlas").to_frame()
    assert home.seen == []


def test_a_missing_path_parameter_is_named_with_its_resource(tracker, home) -> None:
    conn = tracker()
    with pytest.raises(ik.ConfigError, match=r"tracker.list\('issues'\): the path "
                       r"'/repos/\{owner\}/\{repo\}/issues' needs owner="):
        conn.list("issues")
    with pytest.raises(ik.ConfigError, match=r"tracker.list\('orgs'\): which account\? pass "
                                             r"owner='octo-org'"):
        conn.list("orgs")
    with pytest.raises(ik.ConfigError, match=r"retrieve\('issues', \.\.\.\).*needs repo="):
        conn.retrieve("issues", 1, owner="octo")
    assert home.seen == []


def test_the_connection_carries_defaults_that_a_call_overrides(tracker, home) -> None:
    conn = tracker(path_params={"repo": "octo/atlas"})
    conn.list("issues").to_frame()
    conn.list("issues", repo="other/place").to_frame()
    conn.list("issues", repo="solo").to_frame()  # a plain name keeps the default owner
    conn.list("orgs").to_frame()
    assert [s.path for s in home.seen] == ["/repos/octo/atlas/issues", "/repos/other/place/issues",
                                           "/repos/octo/solo/issues", "/orgs/octo/repos"]


def test_typed_path_parameters_are_converted(tracker, home) -> None:
    conn = tracker()
    conn.list("runs", run_id=7.0).to_frame()
    assert home.seen[-1].path == "/runs/7/jobs"
    with pytest.raises(ik.ConfigError, match=r"^run_id='x' is not a whole number"):
        conn.list("runs", run_id="x")


def test_declared_query_parameters_go_out_in_the_services_form(tracker, home) -> None:
    conn = tracker()
    conn.list("issues", repo="o/r", since=dt.date(2025, 1, 1), day="2025-02-03T10:00:00Z",
              created={"gte": "2024-01-01", "lt": dt.datetime(2024, 2, 1)},
              labels=["bug", "ui"], draft=False, state="all", other=[1, 2]).to_frame()
    sent = query(home.seen[-1])
    assert sent == {"since": ["2025-01-01T00:00:00Z"], "day": ["2025-02-03"],
                    "created[gte]": ["1704067200"], "created[lt]": ["1706745600"],
                    "labels": ["bug,ui"], "draft": ["false"], "state": ["all"],
                    "other[]": ["1", "2"]}
    # a resource's own declaration wins over the definition's
    conn.list("runs", run_id=1, created={"gte": "2024-01-01", "lte": "2024-01-31"}).to_frame()
    assert query(home.seen[-1]) == {"created": ["2024-01-01..2024-01-31"]}
    with pytest.raises(ik.ConfigError, match=r"^state='bogus' is not one of open, closed, all"):
        conn.list("issues", repo="o/r", state="bogus")
    with pytest.raises(ik.ConfigError, match=r"^since='last tuesday' is not a date"):
        conn.retrieve("issues", 1, repo="o/r", since="last tuesday")


def test_a_slip_of_an_option_is_known_from_a_declared_parameter(tracker, home, tmp_path) -> None:
    conn = tracker()
    with pytest.raises(ik.ConfigError, match="slip of integkit's max_records="):
        conn.list("issues", repo="o/r", max_record=3)
    text = DEFINITION.replace("  since: datetime", "  max_record: integer")
    path = tmp_path / "slip.yaml"
    path.write_text(text.format(url=home.url, version='{value: "1", header: X-V}'))
    with ik.connect(str(path), cache=False, rate_limit=False) as declared:
        declared.list("issues", repo="o/r", max_record=3).to_frame()
    assert query(home.seen[-1]) == {"max_record": ["3"]}


def test_the_api_version_in_a_header(tracker, home) -> None:
    tracker().list("issues", repo="o/r").to_frame()
    tracker(api_version="2025-01").list("issues", repo="o/r").to_frame()
    assert [s.headers.get("x-api-version") for s in home.seen] == ["2024-10", "2025-01"]


def test_the_api_version_as_a_path_prefix(tracker, home) -> None:
    version = '{value: "2024-10", path: "/api/{version}"}'
    conn = tracker(version)
    assert conn.base_url == f"{home.url}/api/2024-10" and conn.api_version == "2024-10"
    conn.list("issues", repo="o/r").to_frame()
    conn.request("GET", "/api/2023-01/legacy")  # a path from the host's root stays there
    tracker(version, api_version="2025-01").retrieve("issues", 3, repo="o/r")
    tracker(version, base_url=f"{home.url}/api/2022-07").list("issues", repo="o/r").to_frame()
    assert [s.path for s in home.seen] == [
        "/api/2024-10/repos/o/r/issues", "/api/2023-01/legacy",
        "/api/2025-01/repos/o/r/issues/3", "/api/2022-07/repos/o/r/issues"]


def test_the_api_version_as_a_query_parameter(tracker, home) -> None:
    conn = tracker('{value: "7.1", query: api-version}')
    conn.list("issues", repo="o/r", state="open").to_frame()
    conn.retrieve("issues", 1, repo="o/r")
    assert [query(s) for s in home.seen] == [{"api-version": ["7.1"], "state": ["open"]},
                                             {"api-version": ["7.1"]}]


def test_a_version_must_match_the_pattern(tracker, home) -> None:
    version = r'{value: "2024-10", header: X-V, pattern: "\\d{4}-\\d{2}|unstable"}'
    assert tracker(version, api_version="unstable").api_version == "unstable"
    with pytest.raises(ik.ConfigError, match=r"api_version '24-1' does not match the "
                       r"definition's pattern"):
        tracker(version, api_version="24-1")
    with pytest.raises(ik.ConfigError, match=r"tracker.yaml:\d+: .*pattern.*not a regular "
                       "expression"):
        tracker('{value: "1", header: X-V, pattern: "(["}')


def test_a_bad_parameter_declaration_is_located(home, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(DEFINITION.format(url=home.url, version='{value: "1", header: X-V}')
                    .replace("  day: date", "  day: {type: date, sep: ','}"))
    with pytest.raises(ik.ConfigError, match=r"bad.yaml:9: .*day.*unknown key 'sep'"):
        ik.connect(str(path))
    path.write_text(DEFINITION.format(url=home.url, version='{value: "1", header: X-V}')
                    .replace("run_id: integer", "run_id: whole"))
    with pytest.raises(ik.ConfigError, match=r"bad.yaml:\d+: resource 'runs'.*run_id.*'whole'"):
        ik.connect(str(path))


def test_github_takes_its_repository_from_the_connection_or_the_call(home) -> None:
    home.route("*", lambda request: JSONResponse(
        {"jobs": [], "workflow_runs": []} if "/actions/" in request.url.path else []))
    with ik.connect("github", token="ghp_PathTest00000000000000000000", base_url=home.url,
                    repo="octo-org/atlas", cache=False, rate_limit=False) as gh:
        gh.issues(labels=["bug", "ui"], since=dt.date(2025, 1, 1)).to_frame()
        gh.issues("other/place").to_frame()
        gh.jobs(5).to_frame()
        gh.workflow_runs(created={"gte": dt.date(2025, 1, 1), "lte": "2025-01-31"}).to_frame()
        home.route("*", lambda request: JSONResponse({"id": 1}))
        gh.repository()
    assert [(s.path, query(s)) for s in home.seen] == [
        ("/repos/octo-org/atlas/issues", {"state": ["open"], "labels": ["bug,ui"],
                                          "since": ["2025-01-01T00:00:00Z"], "per_page": ["100"]}),
        ("/repos/other/place/issues", {"state": ["open"], "per_page": ["100"]}),
        ("/repos/octo-org/atlas/actions/runs/5/jobs", {"per_page": ["100"]}),
        ("/repos/octo-org/atlas/actions/runs", {"created": ["2025-01-01..2025-01-31"],
                                                "per_page": ["100"]}),
        ("/repos/octo-org/atlas", {})]
