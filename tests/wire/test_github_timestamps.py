"""GitHub's ``since`` / ``until`` are timestamps (``YYYY-MM-DDTHH:MM:SSZ``, format date-time in
GitHub's published description): a date given by the analyst goes out as midnight UTC, a time
with an offset as the same instant in UTC, and the emulator refuses a bare date as the
description says the API does."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import integkit as ik
from integkit.sandbox import SandboxServer
from integkit.sandbox.services.github import GitHubEmulator

from ._recorder import Recorder

SPEC = Path(__file__).parents[2].parent / "shared" / "specs" / "github" / "api.github.com.json"
REPO = "octo-org/atlas"


@pytest.fixture(scope="module")
def github() -> Iterator[tuple[Recorder, SandboxServer, GitHubEmulator]]:
    emulator = GitHubEmulator(records=120)
    recorder = Recorder(emulator)
    with SandboxServer(recorder) as server:
        yield recorder, server, emulator


@pytest.fixture
def gh(github) -> Iterator[ik.Connection]:
    recorder, server, emulator = github
    conn = ik.connect("github", base_url=server.url, token=emulator.api_key, cache=False,
                      rate_limit=False)
    yield conn
    conn.close()


def _date_time_params() -> dict[str, dict[str, str]]:
    """{path: {param: format}} for the query parameters of the listings read here."""
    if not SPEC.exists():
        pytest.skip(f"GitHub's OpenAPI description is not at {SPEC}")
    doc = json.loads(SPEC.read_text())
    out: dict[str, dict[str, str]] = {}
    for path in ("/repos/{owner}/{repo}/issues", "/repos/{owner}/{repo}/commits"):
        for param in doc["paths"][path]["get"]["parameters"]:
            if "$ref" in param:
                param = doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
            if param["in"] == "query" and param["name"] in ("since", "until"):
                out.setdefault(path, {})[param["name"]] = param["schema"].get("format", "")
    return out


def test_the_published_description_wants_date_times_for_since_and_until() -> None:
    assert _date_time_params() == {
        "/repos/{owner}/{repo}/issues": {"since": "date-time"},
        "/repos/{owner}/{repo}/commits": {"since": "date-time", "until": "date-time"},
    }


def test_dates_go_out_as_full_timestamps_that_the_description_accepts(gh, github) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    checker = jsonschema.FormatChecker()
    assert not checker.conforms("2025-01-01", "date-time")  # the check below can fail
    recorder = github[0]
    recorder.received.clear()
    gh.issues(REPO, state="all", since="2025-06-01").to_frame()
    gh.commits(REPO, since="2025-01-01", until=dt.date(2025, 3, 1)).to_frame()
    gh.commits(REPO, since="2025-06-01T02:00:00+02:00",
               until=dt.datetime(2025, 6, 30, 18, 30)).to_frame()
    issues, commits = recorder.to("/issues"), recorder.to("/commits")
    assert issues and len(commits) >= 2
    assert {r.params["since"][0] for r in issues} == {"2025-06-01T00:00:00Z"}
    sent = [(r.params["since"][0], r.params["until"][0]) for r in commits]
    assert ("2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z") in sent
    assert ("2025-06-01T00:00:00Z", "2025-06-30T18:30:00Z") in sent
    for request in issues + commits:
        for name in ("since", "until"):
            for value in request.params.get(name, []):
                assert checker.conforms(value, "date-time"), (request.path, name, value)


def test_the_filters_still_select_what_a_full_read_selects(gh) -> None:
    everything = gh.issues(REPO, state="all").to_frame()
    wanted = everything[everything["updated_at"] >= dt.datetime(2025, 5, 1, tzinfo=dt.UTC)]
    got = gh.issues(REPO, state="all", since="2025-05-01").to_frame()
    assert 0 < len(got) < len(everything)
    assert sorted(got["number"]) == sorted(wanted["number"])


def test_the_emulator_refuses_a_bare_date_as_the_description_does(github) -> None:
    _, server, emulator = github
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    base = f"{server.url}/repos/{REPO}"
    for path, name in (("/issues", "since"), ("/commits", "since"), ("/commits", "until")):
        refused = httpx.get(base + path, params={name: "2025-01-01"}, headers=headers)
        assert refused.status_code == 422, (path, name)
        assert refused.json()["errors"][0]["field"] == name
        taken = httpx.get(base + path, params={name: "2025-01-01T00:00:00Z"}, headers=headers)
        assert taken.status_code == 200, (path, name)
    assert httpx.get(base + "/issues", params={"since": "2025-01-01T00:00:00"},
                     headers=headers).status_code == 422  # no offset: not a date-time


def test_a_value_that_is_no_time_is_refused_before_any_call(gh, github) -> None:
    recorder = github[0]
    recorder.received.clear()
    with pytest.raises(ik.ConfigError, match=r"since='last tuesday' is not a date"):
        gh.issues(REPO, since="last tuesday").to_frame()
    assert recorder.received == []
