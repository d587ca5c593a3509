"""The GitHub connector against its emulator over HTTP: every record once, filters, errors,
retries, GitHub's rate limits (403s included), conditional re-reads, and the writes."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

import integkit as ik
from integkit.engine._services.github_watch import RunWatch
from integkit.sandbox import SandboxServer
from integkit.sandbox.services.github import GitHubEmulator

RECORDS = 450
REPO = "octo-org/atlas"


@pytest.fixture(scope="module")
def sb():
    with ik.sandbox("github", records=RECORDS) as sandbox:
        yield sandbox


@pytest.fixture
def gh(sb, sleeps):
    sb.faults.clear()
    conn = sb.connect(sleep=sleeps, retry={"initialDelay": 0.01, "maxDelay": 0.05},
                      cache=False, rate_limit=False)
    yield conn
    sb.faults.clear()
    conn.close()


class Clock:
    """Epoch seconds that move only when told to (the emulator's and the watcher's sleep)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def served(emulator: GitHubEmulator, request: pytest.FixtureRequest) -> SandboxServer:
    server = SandboxServer(emulator).start()
    request.addfinalizer(server.stop)
    return server


def test_every_listing_reaches_its_last_record(gh, sb) -> None:
    issues = gh.issues(REPO, state="all")
    numbers = [r["number"] for r in issues]
    assert sorted(numbers) == list(range(1, RECORDS + 1))
    assert issues.complete and issues.stats.pages == math.ceil(RECORDS / 100)
    # later pages come from the Link header, as given (GitHub's /repositories/{id} form)
    repo_id = gh.repository(REPO)["id"]
    assert any(p.startswith(f"/repositories/{repo_id}/issues")
               for _, p, _, _ in sb.emulator.request_log)
    expected = {"commits": RECORDS, "workflow_runs": RECORDS, "releases": RECORDS // 25,
                "pulls": RECORDS // 4}
    reads = {"commits": gh.commits(REPO), "workflow_runs": gh.workflow_runs(REPO),
             "releases": gh.releases(REPO), "pulls": gh.pulls(REPO, state="all")}
    for name, result in reads.items():
        keys = [r.get("sha") or r["id"] for r in result]
        assert len(keys) == len(set(keys)) == expected[name], name
    prs = gh.search_issues(f"repo:{REPO} is:pr", per_page=50).to_frame()
    assert len(prs) == RECORDS // 4 and prs["number"].is_unique
    assert prs["pull_request.url"].notna().all()


def test_filters_agree_with_a_full_read(gh) -> None:
    everything = list(gh.issues(REPO, state="all"))
    since = "2025-06-01T00:00:00Z"
    wanted = sorted(i["number"] for i in everything if i["state"] == "open"
                    and i["updated_at"] >= since
                    and {"bug", "enhancement"} <= {label["name"] for label in i["labels"]})
    got = gh.issues(REPO, labels=["bug", "enhancement"], since="2025-06-01")
    assert sorted(r["number"] for r in got) == wanted
    by_name = gh.list("issues", repo=REPO, state="closed", sort="updated", direction="asc")
    stamps = [r["updated_at"] for r in by_name]
    assert stamps == sorted(stamps) and len(stamps) == sum(
        1 for i in everything if i["state"] == "closed")
    failed = gh.workflow_runs(REPO, workflow="ci.yml", status="failure").to_frame()
    assert len(failed) and (failed["conclusion"] == "failure").all()
    assert failed["path"].eq(".github/workflows/ci.yml").all()
    frame = gh.commits(REPO, since="2025-01-01", until="2025-03-01").to_frame()
    assert str(frame["commit.author.date"].dtype) == "datetime64[ms, UTC]"
    assert frame["commit.author.date"].between("2025-01-01", "2025-03-01").all()
    with pytest.raises(ik.ConfigError, match="which repository"):
        gh.issues()


def test_jobs_of_a_run_and_code_search(gh) -> None:
    run = next(iter(gh.workflow_runs(REPO, workflow="ci.yml")))
    jobs = gh.jobs(run).to_frame()
    assert list(jobs["name"]) == ["build", "test", "lint"]
    assert (jobs["run_id"] == run["id"]).all()
    assert len(gh.jobs(run["id"], repo=REPO).to_frame()) == 3
    code = gh.search_code(f"RateLimiter repo:{REPO}").to_frame()
    assert len(code) and code["path"].str.startswith("src/atlas/").all()
    assert gh.retrieve("pulls", 8, repo=REPO)["number"] == 8


def test_bad_token_is_an_authentication_error(sb) -> None:
    conn = ik.connect("github", token="ghp_wrongwrongwrongwrongwrongwrongwrong",
                      base_url=sb.url, cache=False)
    with pytest.raises(ik.AuthenticationError, match="Bad credentials") as info:
        conn.issues(REPO).head(1)
    assert "wrongwrong" not in str(info.value) and info.value.status == 401
    assert info.value.request_id and info.value.request_id.count(":") == 4


def test_invalid_parameter_is_permanent_and_not_retried(gh, sb, sleeps) -> None:
    before = sb.faults.hits
    with pytest.raises(ik.InvalidRequestError, match="Validation Failed") as info:
        gh.issues(REPO, state="bogus").head(1)
    assert sb.faults.hits - before == 1 and sleeps == []
    assert info.value.status == 422 and not info.value.transient


def test_5xx_and_resets_mid_pagination_keep_every_record_once(gh, sb) -> None:
    sb.faults.fail(502, times=2, after=1, path="/repositories/*")
    sb.faults.reset(times=1, after=3, path="/repositories/*")
    result = gh.issues(REPO, state="all")
    assert sorted(r["number"] for r in result) == list(range(1, RECORDS + 1))
    assert result.stats.retries == 3


def test_a_429_with_retry_after_is_waited_out(gh, sb, sleeps) -> None:
    sb.faults.fail(429, times=2, path="/repos/octo-org/atlas/releases*")
    assert len(gh.releases(REPO).to_frame()) == RECORDS // 25
    assert sleeps == [1.0, 1.0]  # GitHub's Retry-After, to the second


def test_a_secondary_limit_403_is_waited_out(request) -> None:
    emulator = GitHubEmulator(records=20, rate_limit=(2.0, 2))
    server = served(emulator, request)
    conn = ik.connect("github", token=emulator.api_key, base_url=server.url, cache=False,
                      rate_limit=False)
    started = time.monotonic()
    names = [conn.repository(REPO)["name"] for _ in range(3)]
    assert names == ["atlas"] * 3 and emulator.rate_limited == 1
    assert time.monotonic() - started >= 1.0  # the Retry-After: 1 of the 403, really waited
    refused = [s for _, _, s, _ in emulator.request_log]
    assert refused == [200, 200, 403, 200]


def test_a_spent_primary_limit_says_when_it_resets(request, sleeps) -> None:
    emulator = GitHubEmulator(records=20, limits={"core": (3, 3600)})
    server = served(emulator, request)
    conn = ik.connect("github", token=emulator.api_key, base_url=server.url, cache=False,
                      rate_limit=False, sleep=sleeps)
    for _ in range(3):
        conn.repository(REPO)
    with pytest.raises(ik.RateLimitError, match="API rate limit exceeded for user ID") as info:
        conn.repository(REPO)
    assert info.value.status == 403 and 3500 < (info.value.retry_after or 0) <= 3602
    assert emulator.windows.refused == 1 and sleeps == []  # an hour is beyond maxRetryAfter


def test_client_limits_match_the_server_and_nothing_is_refused(request) -> None:
    emulator = GitHubEmulator(records=120, limits={"search": (10, 1.0)})
    server = served(emulator, request)
    conn = ik.connect("github", **emulator.credentials(), base_url=server.url, cache=False)
    found = conn.search_issues(f"repo:{REPO} is:pr", per_page=5)
    numbers = [r["number"] for r in found]
    assert len(numbers) == len(set(numbers)) == 30 and found.stats.pages == 6 + 0
    more = conn.search_issues(f"repo:{REPO} is:issue", per_page=10)
    assert len(list(more)) == 90
    assert emulator.windows.refused == 0 and emulator.rate_limited == 0


def test_a_reread_costs_304s_and_no_rate_limit(sb) -> None:
    conn = sb.connect()  # the definition's cache: keep every answer, revalidate each read
    first = conn.issues(REPO, state="all").to_frame()
    window = sb.emulator.windows.window(f"user:{sb.api_key}", "core")
    used, not_modified = window.used, sb.emulator.not_modified
    again = conn.issues(REPO, state="all")
    frame = again.to_frame()
    assert frame.equals(first)
    assert sb.emulator.not_modified - not_modified == again.stats.pages == 5
    assert window.used == used  # GitHub does not count a 304
    conn.close()


def test_pull_request_auto_merges_once_its_checks_pass(request) -> None:
    clock = Clock()
    emulator = GitHubEmulator(records=30, clock=clock, run_seconds=(10, 30))
    server = served(emulator, request)
    conn = ik.connect("github", **emulator.credentials(), base_url=server.url, cache=False)
    pr = conn.create_pull_request(
        "octo-org", "atlas", "Fix parser", "fix/parser", "main", "Closes #12",
        auto_merge={"merge_method": "squash", "required_checks": ["build", "test"]})
    assert pr["state"] == "open" and pr["auto_merge"]["merge_method"] == "squash"
    assert pr["auto_merge"]["enabled_by"]["login"] == "octocat"
    statuses: list[str] = []
    finished: list[dict[str, Any]] = []
    waits: list[float] = []
    stats = RunWatch()

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    run = conn.watch_workflow("octo-org", "atlas", "ci.yml", branch="fix/parser",
                              on_update=lambda r: statuses.append(r["status"]),
                              on_complete=finished.append, sleep=sleep, stats=stats)
    assert statuses == ["queued", "in_progress", "completed"] and finished == [run]
    assert run["conclusion"] == "success" and run["pull_requests"][0]["number"] == pr["number"]
    # unchanged polls were 304s, which the emulator did not count against the Actions limit
    polls = [s for _, p, s, _ in emulator.request_log if p.endswith(f"/runs/{run['id']}")]
    assert stats.not_modified == polls.count(304) >= 2 and stats.polls == len(polls)
    actions = emulator.windows.window(f"user:{emulator.api_key}", "actions")
    assert actions.used == 1 + stats.polls - stats.not_modified  # the lookup and the changes
    # paced by the budget left: ~1000 remaining over the hour, half of it for this watch
    assert all(7.0 < w < 7.5 for w in waits)
    merged = conn.retrieve("pulls", pr["number"], repo=REPO)
    assert merged["merged"] and merged["state"] == "closed"
    assert merged["merged_by"]["login"] == "octocat"
    assert next(iter(conn.commits(REPO)))["sha"] == merged["merge_commit_sha"]


def test_failed_checks_keep_the_pull_request_open(request) -> None:
    clock = Clock()
    emulator = GitHubEmulator(records=30, clock=clock, run_seconds=(1, 2))
    server = served(emulator, request)
    conn = ik.connect("github", **emulator.credentials(), base_url=server.url, cache=False)
    pr = conn.create_pull_request("octo-org", "atlas", "Flaky", "fix/fail-flaky", "main",
                                  auto_merge={"merge_method": "merge",
                                              "required_checks": ["test"]})
    run = conn.watch_workflow("octo-org", "atlas", "ci.yml", branch="fix/fail-flaky",
                              sleep=clock.advance)
    assert run["conclusion"] == "failure"
    after = conn.retrieve("pulls", pr["number"], repo=REPO)
    assert after["state"] == "open" and not after["merged"] and after["auto_merge"]


def test_a_clean_pull_request_is_merged_at_once(gh) -> None:
    pr = gh.create_pull_request("octo-org", "borealis", "Docs", "docs/typo", "main",
                                auto_merge={"merge_method": "rebase"})
    assert pr["merged"] and pr["state"] == "closed" and pr["auto_merge"] is None


def test_create_pull_request_errors(gh, sb) -> None:
    with pytest.raises(ik.InvalidRequestError, match="No commits between main and main"):
        gh.create_pull_request("octo-org", "cirrus", "Nothing", "main", "main")
    before = len(list(gh.pulls("octo-org/cirrus", state="all")))
    sb.faults.fail(502, times=1, path="/repos/octo-org/cirrus/pulls", method="POST")
    with pytest.raises(ik.ServerError):  # a POST may have been applied: not resent
        gh.create_pull_request("octo-org", "cirrus", "Once", "feature/once", "main")
    assert len(list(gh.pulls("octo-org/cirrus", state="all"))) == before
    with pytest.raises(ik.NotFoundError, match="Could not resolve"):
        gh.enable_auto_merge("PR_kwDOnope")


def test_github_app_installation_end_to_end(sb) -> None:
    app = ik.auth.GitHubApp(**sb.emulator.app_credentials(), base_url=sb.url)
    conn = ik.connect("github", auth=app, base_url=sb.url, cache=False)
    assert len(conn.issues(REPO, state="all").to_frame()) == RECORDS
    assert sorted(conn.repositories().to_frame()["name"]) == ["atlas", "borealis", "cirrus"]
    posts = [s for m, p, s, _ in sb.emulator.request_log if p.endswith("/access_tokens")]
    assert posts == [201]  # one installation token for the whole listing
    installation = sb.emulator.app_credentials()["installation_id"]
    assert sb.emulator.windows.window(f"installation:{installation}", "core").used == 5
    assert conn.rate_seen["core"]["limit"] == 5000


def test_token_from_the_environment(sb, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", sb.api_key)
    conn = ik.connect("github", base_url=sb.url, cache=False)
    assert conn.repository(REPO)["full_name"] == REPO
    assert conn.rate_limit()["search"]["limit"] == 30


def test_estimate_counts_a_listing_with_one_call() -> None:
    with ik.sandbox("github") as sb:
        gh = sb.connect()
        repo = gh.repositories().to_frame()["full_name"].iloc[0]
        before = len(sb.emulator.request_log)
        estimate = gh.issues(repo, state="all").estimate()
        assert len(sb.emulator.request_log) == before + 1  # per_page=1, then the last link
        frame = gh.issues(repo, state="all").to_frame()
        assert estimate.records == len(frame)
        assert estimate.calls == -(-len(frame) // 100)
        assert "counted" in estimate.basis
