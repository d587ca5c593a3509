"""The GitHub emulator on the wire (raw httpx): rate-limit headers and refusals, conditional
requests, Link headers, anonymous access, search limits, GraphQL, live runs, App tokens."""

from __future__ import annotations

import re

import httpx
import pytest

from integkit.auth._github_app import app_jwt, load_rsa_private_key
from integkit.sandbox import SandboxServer
from integkit.sandbox.services.github import GitHubEmulator

REPO = "/repos/octo-org/atlas"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def github(request, clock):
    """A small emulator on a fake clock, and a client with its token."""
    def start(**options) -> tuple[GitHubEmulator, httpx.Client]:
        options.setdefault("records", 40)
        emulator = GitHubEmulator(clock=clock, **options)
        server = SandboxServer(emulator).start()
        client = httpx.Client(base_url=server.url, timeout=10,
                              headers={"Authorization": f"Bearer {emulator.api_key}"})
        request.addfinalizer(server.stop)
        request.addfinalizer(client.close)
        return emulator, client
    return start


def limits(response: httpx.Response) -> tuple[str, ...]:
    return tuple(response.headers[f"x-ratelimit-{k}"]
                 for k in ("limit", "remaining", "used", "reset", "resource"))


def test_every_answer_says_where_its_window_stands(github, clock) -> None:
    _, client = github()
    first, second = client.get(REPO), client.get(f"{REPO}/issues")
    reset = str(int(clock.now) + 3600)
    assert limits(first) == ("5000", "4999", "1", reset, "core")
    assert limits(second) == ("5000", "4998", "2", reset, "core")
    assert re.fullmatch(r"[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{6}:[0-9A-F]{7}:[0-9A-F]{8}",
                        first.headers["x-github-request-id"])
    assert first.headers["x-github-api-version-selected"] == "2022-11-28"
    assert limits(client.get("/search/issues", params={"q": "parser"}))[4] == "search"
    assert limits(client.get("/search/code", params={"q": "httpx"}))[::4] == ("10",
                                                                            "code_search")
    assert limits(client.get(f"{REPO}/actions/runs"))[::4] == ("1000", "actions")
    free = client.get("/rate_limit").json()
    assert "x-ratelimit-used" not in client.get("/rate_limit").headers
    assert free["rate"]["used"] == 2 and free["resources"]["search"]["used"] == 1


def test_a_spent_window_is_refused_in_githubs_words_until_it_resets(github, clock) -> None:
    emulator, client = github(limits={"core": (2, 60)})
    assert [client.get(REPO).status_code for _ in range(2)] == [200, 200]
    refused = client.get(REPO)
    assert refused.status_code == 403
    body = refused.json()
    assert re.fullmatch(r"API rate limit exceeded for user ID \d+\. If you reach out to GitHub "
                        r"Support for help, please include the request ID \S+ and timestamp "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.", body["message"])
    assert body["documentation_url"].endswith("rate-limits-for-the-rest-api")
    assert limits(refused)[:3] == ("2", "0", "2") and "retry-after" not in refused.headers
    clock.now += 60
    assert limits(client.get(REPO))[:3] == ("2", "1", "1")
    assert emulator.windows.refused == 1


def test_secondary_limit_is_a_403_with_retry_after(github) -> None:
    emulator, client = github(rate_limit=(0.5, 1))
    assert client.get(REPO).status_code == 200
    refused = client.get(REPO)
    assert refused.status_code == 403 and refused.headers["retry-after"] == "2"
    assert refused.json()["message"].startswith("You have exceeded a secondary rate limit.")
    assert emulator.rate_limited == 1


def test_conditional_requests_cost_nothing_while_unchanged(github) -> None:
    emulator, client = github()
    first = client.get(f"{REPO}/pulls/4")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and "private, max-age=60" in first.headers["cache-control"]
    for validator in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        again = client.get(f"{REPO}/pulls/4", headers={"If-None-Match": validator})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and limits(again)[2] == "1"
    changed = client.get(f"{REPO}/pulls/8", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and limits(changed)[2] == "2"
    assert emulator.not_modified == 4


def test_link_header_has_githubs_relations(github) -> None:
    _, client = github()
    middle = client.get(f"{REPO}/issues", params={"state": "all", "per_page": 10, "page": 2})
    repo_id = client.get(REPO).json()["id"]
    base = f"{client.base_url}/repositories/{repo_id}/issues?state=all&per_page=10&page="
    assert middle.headers["link"] == ", ".join(
        f'<{base}{page}>; rel="{rel}"' for page, rel in ((1, "prev"), (3, "next"),
                                                         (4, "last"), (1, "first")))
    last = client.get(middle.links["last"]["url"])
    assert [i["number"] for i in last.json()] == list(range(10, 0, -1))
    assert "next" not in last.links and "prev" in last.links


def test_anonymous_callers_read_with_60_an_hour_and_cannot_write(github) -> None:
    _, client = github()
    anonymous = httpx.get(f"{client.base_url}{REPO}")
    assert anonymous.status_code == 200 and limits(anonymous)[:3] == ("60", "59", "1")
    write = httpx.post(f"{client.base_url}{REPO}/pulls", json={"head": "a", "base": "main"})
    assert write.status_code == 401 and write.json()["message"] == "Requires authentication"


def test_search_needs_a_query_and_stops_at_1000(github) -> None:
    _, client = github(records=1200)
    missing = client.get("/search/issues")
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"resource": "Search", "field": "q", "code": "missing"}]
    found = client.get("/search/issues", params={"q": "repo:octo-org/atlas", "per_page": 100})
    assert found.json()["total_count"] == 1200 and found.links["last"]["url"].endswith("page=10")
    beyond = client.get("/search/issues", params={"q": "repo:octo-org/atlas", "per_page": 100,
                                                  "page": 11})
    assert beyond.status_code == 422 and "first 1000" in beyond.json()["message"]
    labelled = client.get("/search/issues", params={
        "q": 'repo:octo-org/atlas is:issue label:"good first issue" -label:bug'}).json()
    assert all(not i.get("pull_request") for i in labelled["items"])
    assert all({"good first issue"} <= {lb["name"] for lb in i["labels"]}
               and "bug" not in {lb["name"] for lb in i["labels"]} for i in labelled["items"])


def test_graphql_answers_only_the_auto_merge_mutation(github) -> None:
    _, client = github()
    unknown = client.post("/graphql", json={"query": "query { viewer { login } }"}).json()
    assert unknown["errors"][0]["extensions"] == {"code": "undefinedField",
                                                  "typeName": "Query", "fieldName": "viewer"}
    pr = client.post(f"{REPO}/pulls", json={"title": "t", "head": "x/y", "base": "main"}).json()
    client.post(f"{REPO}/branches/main/protection/required_status_checks/contexts",
                json=["build"])
    node = pr["node_id"]
    inline = (f'mutation {{ enablePullRequestAutoMerge(input: {{pullRequestId: "{node}", '
              "mergeMethod: REBASE}) { pullRequest { number } } }")
    answer = client.post("/graphql", json={"query": inline})
    assert limits(answer)[4] == "graphql"
    request = answer.json()["data"]["enablePullRequestAutoMerge"]["pullRequest"]
    assert request["autoMergeRequest"]["mergeMethod"] == "REBASE"
    assert client.get(f"{REPO}/pulls/{pr['number']}").json()["auto_merge"]["merge_method"] \
        == "rebase"


def test_a_started_run_moves_on_with_the_clock(github, clock) -> None:
    _, client = github(run_seconds=(5, 30))
    dispatched = client.post(f"{REPO}/actions/workflows/nightly.yml/dispatches",
                             json={"ref": "main"})
    assert dispatched.status_code == 204
    run = client.get(f"{REPO}/actions/workflows/nightly.yml/runs?per_page=1").json()[
        "workflow_runs"][0]
    path = f"{REPO}/actions/runs/{run['id']}"
    seen = []
    for step in (0, 10, 40):
        clock.now += step
        body = client.get(path).json()
        jobs = client.get(f"{path}/jobs").json()["jobs"]
        seen.append((body["status"], body["conclusion"], jobs[0]["status"]))
    assert seen == [("queued", None, "queued"), ("in_progress", None, "in_progress"),
                    ("completed", "success", "completed")]
    assert client.post(f"{REPO}/actions/workflows/nightly.yml/dispatches",
                       json={"ref": "nope"}).status_code == 422


def test_an_installation_token_reaches_only_its_repositories(github, clock) -> None:
    emulator, client = github()
    creds = emulator.app_credentials()
    jwt = app_jwt(creds["app_id"], load_rsa_private_key(creds["private_key"]), clock())
    issued = client.post(f"/app/installations/{creds['installation_id']}/access_tokens",
                         headers={"Authorization": f"Bearer {jwt}"},
                         json={"repositories": ["atlas"]})
    assert issued.status_code == 201
    token = {"Authorization": f"token {issued.json()['token']}"}
    assert client.get(REPO, headers=token).status_code == 200
    assert client.get("/repos/octo-org/borealis", headers=token).status_code == 404
    user_repos = client.get("/user/repos", headers=token)
    assert user_repos.status_code == 403
    assert user_repos.json()["message"] == "Resource not accessible by integration"


def test_injected_faults_answer_in_githubs_shape(github) -> None:
    emulator, client = github()
    emulator.faults.fail(503, times=1)
    emulator.faults.fail(429, times=1)
    unavailable = client.get(REPO)
    assert unavailable.status_code == 503
    assert unavailable.json() == {"message": "Service Unavailable",
                                  "documentation_url": "https://docs.github.com/rest",
                                  "status": "503"}
    limited = client.get(REPO)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
