"""The GitHub emulator's world: seeded repositories with issues, pull requests, commits,
workflows and their runs and jobs, releases and source files, and their JSON in GitHub's shapes.

Everything seeded is a pure function of ``(seed, records)``; times are spread over the two years
before the emulator started. Workflow runs started through the API (a pull request's checks, a
``workflow_dispatch``) are *live*: their status moves from ``queued`` to ``in_progress`` to
``completed`` as the emulator's clock advances, and their jobs become check results that
auto-merge waits for. URLs in bodies point at the emulator itself (as GitHub Enterprise's point
at its host), so a client that follows one stays on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .._fixtures import Dice, Weights, salt
from .._github_app import _REPO_URLS, _account_id

__all__ = [
    "Commit",
    "GitHubWorld",
    "Issue",
    "Release",
    "Repo",
    "Run",
    "SourceFile",
    "WEB",
    "iso",
    "parse_time",
    "user_json",
]

WEB = "https://github.com"
DAY = 86_400
USERS = ("octocat", "hubot", "monalisa", "mojombo", "defunkt", "pjhyett", "wycats", "ezmobius",
         "ivey", "evanphx", "vmg", "dependabot[bot]")
LABELS: dict[str, tuple[str, str]] = {
    "bug": ("d73a4a", "Something isn't working"),
    "enhancement": ("a2eeef", "New feature or request"),
    "documentation": ("0075ca", "Improvements or additions to documentation"),
    "good first issue": ("7057ff", "Good for newcomers"),
    "question": ("d876e3", "Further information is requested"),
    "wontfix": ("ffffff", "This will not be worked on"),
    "dependencies": ("0366d6", "Pull requests that update a dependency file"),
}
# name, file, jobs (the check names a pull request's CI reports)
WORKFLOWS = (("CI", "ci.yml", ("build", "test", "lint")),
             ("Release", "release.yml", ("build", "publish")),
             ("Nightly", "nightly.yml", ("test",)))
_VERBS = ("Fix", "Add", "Support", "Improve", "Document", "Refactor", "Speed up", "Remove")
_THINGS = ("config parser", "rate limiter", "retry backoff", "CSV export", "login flow",
           "webhook signatures", "pagination", "cache invalidation", "CLI help", "dark mode",
           "timezone handling", "release notes", "error messages", "Parquet writer")
_WHEN = ("on Windows", "for empty input", "under load", "with proxies", "in the notebook UI",
         "after upgrade", "for large files", "", "", "")
_CONCLUSIONS = Weights((("success", 75), ("failure", 15), ("cancelled", 5), ("skipped", 5)))
_LANGS = ("Python", "TypeScript", "Go", "Rust")
_MODULES = ("config", "limiter", "retry", "export", "auth", "webhooks", "paging", "cache", "cli",
            "timezones", "release", "errors", "parquet", "http", "models")


def iso(epoch: float | None) -> str | None:
    """GitHub's timestamp format: ``2024-01-31T12:00:00Z``."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    """Epoch seconds from an ISO 8601 date or time (naive = UTC); ValueError if unreadable."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _sha(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()  # noqa: S324 - ids


def _node(prefix: str, number: int) -> str:
    return prefix + base64.b64encode(number.to_bytes(8, "big")).decode().rstrip("=")


def user_json(base: str, login: str) -> dict[str, Any]:
    """A ``simple-user``; logins ending in ``[bot]`` are bots, as at GitHub."""
    api = f"{base}/users/{login}"
    return {
        "login": login, "id": _account_id(login), "node_id": _node("U_kgDO", _account_id(login)),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{_account_id(login)}?v=4",
        "gravatar_id": "", "url": api, "html_url": f"{WEB}/{login}",
        "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}", "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User", "user_view_type": "public",
        "site_admin": False,
    }


def _org_json(base: str, login: str) -> dict[str, Any]:
    out = user_json(base, login)
    out["type"] = "Organization"
    out["url"] = f"{base}/orgs/{login}"
    out["repos_url"] = f"{base}/orgs/{login}/repos"
    return out


def _label_json(base: str, full: str, name: str) -> dict[str, Any]:
    color, description = LABELS[name]
    number = int(_sha(full, name)[:8], 16)
    return {"id": number, "node_id": _node("LA_kwDO", number),
            "url": f"{base}/repos/{full}/labels/{name.replace(' ', '%20')}", "name": name,
            "description": description, "color": color, "default": name in ("bug", "question")}


@dataclass
class Commit:
    sha: str
    message: str
    author: str
    date: int
    parent: str | None
    path: str


@dataclass
class Issue:
    """An issue or, with ``head_ref`` set, a pull request (GitHub numbers them together)."""

    number: int
    title: str
    body: str
    user: str
    labels: list[str]
    state: str
    created: int
    updated: int
    closed: int | None
    comments: int
    assignee: str | None = None
    head_ref: str | None = None
    head_sha: str | None = None
    base_ref: str = "main"
    draft: bool = False
    merged_at: int | None = None
    merge_sha: str | None = None
    merged_by: str | None = None
    auto_merge: dict[str, Any] | None = None
    additions: int = 0
    deletions: int = 0

    @property
    def is_pull(self) -> bool:
        return self.head_ref is not None


@dataclass
class Run:
    """A workflow run; ``queue_s``/``run_s`` say when it starts and ends after ``created``."""

    id: int
    workflow: int  # index into WORKFLOWS
    number: int
    event: str
    branch: str
    head_sha: str
    actor: str
    created: float
    queue_s: float
    run_s: float
    conclusion: str
    title: str
    pulls: list[int] = field(default_factory=list)

    def status(self, now: float) -> tuple[str, str | None, float]:
        """(status, conclusion, updated_at) at ``now``."""
        started = self.created + self.queue_s
        if now < started:
            return "queued", None, self.created
        if now < started + self.run_s:
            return "in_progress", None, started
        return "completed", self.conclusion, started + self.run_s

    def finished_at(self) -> float:
        return self.created + self.queue_s + self.run_s

    def job_names(self) -> tuple[str, ...]:
        return WORKFLOWS[self.workflow][2]

    def job_window(self, index: int) -> tuple[float, float]:
        """When job ``index`` starts and completes (jobs share the run's time in turn)."""
        names = self.job_names()
        start = self.created + self.queue_s
        step = self.run_s / len(names)
        return start + index * step, start + (index + 1) * step

    def job_conclusion(self, index: int) -> str:
        """A failed or cancelled run fails at its second job (``test`` in CI) and skips the
        jobs after it; a skipped run skips them all."""
        if self.conclusion in ("success", "skipped"):
            return self.conclusion
        failing = min(1, len(self.job_names()) - 1)
        if index < failing:
            return "success"
        return self.conclusion if index == failing else "skipped"


@dataclass
class Release:
    id: int
    tag: str
    name: str
    body: str
    author: str
    created: int
    published: int | None
    draft: bool
    prerelease: bool


@dataclass
class SourceFile:
    path: str
    text: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(f"blob {len(self.text)}\0{self.text}".encode()).hexdigest()  # noqa: S324


@dataclass
class Repo:
    """One repository and everything in it."""

    index: int
    owner: str
    name: str
    created: int
    language: str
    issues: list[Issue] = field(default_factory=list)  # by number - 1
    commits: list[Commit] = field(default_factory=list)  # newest first
    runs: list[Run] = field(default_factory=list)  # newest first
    releases: list[Release] = field(default_factory=list)  # newest first
    files: list[SourceFile] = field(default_factory=list)
    branches: set[str] = field(default_factory=lambda: {"main", "develop"})
    required_checks: dict[str, list[str]] = field(default_factory=lambda: {"main": []})
    allow_auto_merge: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def id(self) -> int:
        # GitHubAppAuth.install gives the same ids to the same names: one repository, one id.
        return 100_000 + _account_id(self.owner) * 1_000 + self.index

    def pulls(self) -> list[Issue]:
        return [i for i in self.issues if i.is_pull]

    def issue(self, number: int) -> Issue | None:
        return self.issues[number - 1] if 0 < number <= len(self.issues) else None

    def run(self, run_id: int) -> Run | None:
        return next((r for r in self.runs if r.id == run_id), None)


class GitHubWorld:
    """The seeded repositories of one emulator (``records`` issues, commits and runs each)."""

    def __init__(self, *, records: int, seed: int, now: float, owner: str = "octo-org",
                 repositories: tuple[str, ...] = ("atlas", "borealis", "cirrus")) -> None:
        self.seed = seed
        self.now = int(now)
        self.owner = owner
        self.repos: dict[str, Repo] = {}
        self._run_ids = 0
        for index, name in enumerate(repositories):
            repo = Repo(index, owner, name, self.now - 3 * 365 * DAY + index * 40 * DAY,
                        _LANGS[index % len(_LANGS)])
            self._seed_repo(repo, max(1, records))
            self.repos[repo.full_name.lower()] = repo

    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    def next_run_id(self) -> int:
        self._run_ids += 1
        return 9_000_000_000 + self._run_ids

    # -- seeding -----------------------------------------------------------------------------
    def _seed_repo(self, repo: Repo, n: int) -> None:
        span = 2 * 365 * DAY
        start = self.now - span
        self._seed_commits(repo, n, start, span)
        self._seed_issues(repo, n, start, span)
        self._seed_runs(repo, n, start, span)
        self._seed_releases(repo, max(3, n // 25), start, span)
        self._seed_files(repo)

    def _dice(self, repo: Repo, kind: str) -> Dice:
        return Dice(salt(self.seed, "github", repo.name, kind))

    def _seed_commits(self, repo: Repo, n: int, start: int, span: int) -> None:
        d = self._dice(repo, "commits")
        commits: list[Commit] = []
        parent: str | None = None
        for k in range(n):  # oldest first, then reversed: GitHub lists newest first
            sha = _sha(self.seed, repo.full_name, "commit", k)
            date = start + span * k // n + d.below(max(1, span // n))
            module = d.pick(_MODULES)
            message = f"{d.pick(_VERBS)} {d.pick(_THINGS)}".strip()
            commits.append(Commit(sha, message, d.pick(USERS[:-1]), date, parent,
                                  f"src/{repo.name}/{module}.py"))
            parent = sha
        repo.commits = commits[::-1]

    def _seed_issues(self, repo: Repo, n: int, start: int, span: int) -> None:
        d = self._dice(repo, "issues")
        for number in range(1, n + 1):
            created = start + span * (number - 1) // n + d.below(max(1, span // n))
            title = f"{d.pick(_VERBS)} {d.pick(_THINGS)} {d.pick(_WHEN)}".strip()
            pull = number % 4 == 0
            labels = sorted({d.pick(tuple(LABELS)) for _ in range(d.below(3))})
            if pull and d.chance(0.3):
                labels = sorted({*labels, "dependencies"})
            closed_p = 0.85 if created < self.now - 90 * DAY else 0.4
            closed = None
            if d.chance(closed_p):
                closed = min(self.now - 60, created + d.between(600, 40 * DAY))
            comments = d.below(12)
            updated = min(self.now - 30, max(created, closed or 0) + d.below(3 * DAY))
            issue = Issue(number, title, f"{title}.\n\nSeen in {repo.name} {number}.",
                          d.pick(USERS), labels, "closed" if closed else "open", created,
                          updated, closed, comments,
                          assignee=d.pick(USERS[:6]) if d.chance(0.4) else None)
            if pull:
                slug = title.lower().replace(" ", "-")[:30].strip("-")
                issue.head_ref = f"feature/{number}-{slug}"
                issue.head_sha = _sha(self.seed, repo.full_name, "head", number)
                issue.additions, issue.deletions = d.below(400) + 1, d.below(200)
                issue.draft = closed is None and d.chance(0.15)
                if closed is not None and d.chance(0.8):
                    issue.merged_at = closed
                    issue.merge_sha = _sha(self.seed, repo.full_name, "merge", number)
                    issue.merged_by = d.pick(USERS[:6])
                repo.branches.add(issue.head_ref)
            repo.issues.append(issue)

    def _seed_runs(self, repo: Repo, n: int, start: int, span: int) -> None:
        d = self._dice(repo, "runs")
        numbers = [0] * len(WORKFLOWS)
        runs: list[Run] = []
        for k in range(n):
            workflow = 0 if d.chance(0.7) else d.between(1, len(WORKFLOWS) - 1)
            numbers[workflow] += 1
            created = start + span * k // n + d.below(max(1, span // n))
            commit = repo.commits[min(len(repo.commits) - 1, d.below(len(repo.commits)))]
            event = ("push", "pull_request", "schedule", "workflow_dispatch")[
                2 if workflow == 2 else (d.below(2) if workflow == 0 else 3)]
            conclusion = d.weighted(_CONCLUSIONS)
            runs.append(Run(
                id=1_000_000_000 + repo.index * 10_000_000 + k, workflow=workflow,
                number=numbers[workflow], event=event, branch="main", head_sha=commit.sha,
                actor=d.pick(USERS[:6]), created=created, queue_s=d.between(2, 60),
                run_s=d.between(60, 1800), conclusion=conclusion, title=commit.message))
        repo.runs = runs[::-1]

    def _seed_releases(self, repo: Repo, m: int, start: int, span: int) -> None:
        d = self._dice(repo, "releases")
        releases = []
        for k in range(m):
            created = start + span * (k + 1) // (m + 1)
            major, minor = divmod(k, 10)
            tag = f"v{major + 1}.{minor}.0"
            pre = d.chance(0.1)
            releases.append(Release(
                id=200_000_000 + repo.index * 1_000_000 + k, tag=tag,
                name=f"{repo.name} {tag}" + (" (preview)" if pre else ""),
                body=f"## What's changed\n\n* {d.pick(_VERBS)} {d.pick(_THINGS)}",
                author=d.pick(USERS[:6]), created=created, published=created + d.below(3600),
                draft=False, prerelease=pre))
        repo.releases = releases[::-1]

    def _seed_files(self, repo: Repo) -> None:
        for k, module in enumerate(_MODULES):
            cls = "".join(part.capitalize() for part in module.split("_"))
            text = (f'"""{module} for {repo.name}."""\n\nimport httpx\n\n\n'
                    f"class {cls}Client:\n    def fetch_{module}(self, url):\n"
                    f"        return httpx.get(url).json()\n")
            if k % 3 == 0:
                text += "\n\nclass RateLimiter:\n    pass\n"
            repo.files.append(SourceFile(f"src/{repo.name}/{module}.py", text))
        repo.files.append(SourceFile("README.md", f"# {repo.name}\n\nSee the docs.\n"))

    # -- JSON --------------------------------------------------------------------------------
    def repo_json(self, base: str, repo: Repo, *, full: bool = False) -> dict[str, Any]:
        """``repository`` (``full``: ``full-repository``, as ``GET /repos/{owner}/{repo}``)."""
        api = f"{base}/repos/{repo.full_name}"
        pushed = repo.commits[0].date if repo.commits else repo.created
        open_issues = sum(1 for i in repo.issues if i.state == "open")
        out: dict[str, Any] = {
            "id": repo.id, "node_id": _node("R_kgDO", repo.id), "name": repo.name,
            "full_name": repo.full_name, "private": False, "owner": _org_json(base, repo.owner),
            "html_url": f"{WEB}/{repo.full_name}", "description": f"The {repo.name} project",
            "fork": False, "url": api, **{f"{k}_url": api + v for k, v in _REPO_URLS.items()},
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{WEB}/{repo.full_name}.git", "svn_url": f"{WEB}/{repo.full_name}",
            "homepage": None, "size": 1000 + len(repo.commits) * 7,
            "stargazers_count": 40 + repo.index * 17, "watchers_count": 40 + repo.index * 17,
            "language": repo.language, "has_issues": True, "has_projects": True,
            "has_downloads": True, "has_wiki": False, "has_pages": False,
            "has_discussions": False, "forks_count": 3 + repo.index, "mirror_url": None,
            "archived": False, "disabled": False, "open_issues_count": open_issues,
            "license": None, "allow_forking": True, "is_template": False,
            "web_commit_signoff_required": False, "topics": ["sandbox", repo.language.lower()],
            "visibility": "public", "forks": 3 + repo.index, "open_issues": open_issues,
            "watchers": 40 + repo.index * 17, "default_branch": "main",
            "pushed_at": iso(pushed), "created_at": iso(repo.created),
            "updated_at": iso(pushed),
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True,
                            "pull": True},
        }
        if full:
            out.update({
                "allow_auto_merge": repo.allow_auto_merge, "allow_squash_merge": True,
                "allow_merge_commit": True, "allow_rebase_merge": True,
                "delete_branch_on_merge": False, "network_count": 3 + repo.index,
                "subscribers_count": 5 + repo.index, "organization": _org_json(base, repo.owner),
            })
        return out

    def issue_json(self, base: str, repo: Repo, issue: Issue) -> dict[str, Any]:
        """An ``issue`` (a pull request's issue carries a ``pull_request`` link, as at GitHub)."""
        api = f"{base}/repos/{repo.full_name}/issues/{issue.number}"
        kind = "pull" if issue.is_pull else "issues"
        out: dict[str, Any] = {
            "url": api, "repository_url": f"{base}/repos/{repo.full_name}",
            "labels_url": f"{api}/labels{{/name}}", "comments_url": f"{api}/comments",
            "events_url": f"{api}/events", "html_url": f"{WEB}/{repo.full_name}/{kind}/"
                                                       f"{issue.number}",
            "id": self.issue_id(repo, issue),
            "node_id": _node("I_kwDO", self.issue_id(repo, issue)),
            "number": issue.number, "title": issue.title, "user": user_json(base, issue.user),
            "labels": [_label_json(base, repo.full_name, name) for name in issue.labels],
            "state": issue.state, "locked": False,
            "assignee": user_json(base, issue.assignee) if issue.assignee else None,
            "assignees": [user_json(base, issue.assignee)] if issue.assignee else [],
            "milestone": None, "comments": issue.comments, "created_at": iso(issue.created),
            "updated_at": iso(issue.updated), "closed_at": iso(issue.closed),
            "author_association": "MEMBER" if issue.user in USERS[:6] else "CONTRIBUTOR",
            "active_lock_reason": None, "body": issue.body,
            "timeline_url": f"{api}/timeline", "performed_via_github_app": None,
            "state_reason": ("completed" if issue.state == "closed" else None),
        }
        if issue.is_pull:
            pull = f"{base}/repos/{repo.full_name}/pulls/{issue.number}"
            out["draft"] = issue.draft
            out["pull_request"] = {"url": pull, "html_url": out["html_url"],
                                   "diff_url": out["html_url"] + ".diff",
                                   "patch_url": out["html_url"] + ".patch",
                                   "merged_at": iso(issue.merged_at)}
        return out

    def issue_id(self, repo: Repo, issue: Issue) -> int:
        return 1_000_000_000 + repo.index * 10_000_000 + issue.number

    def pull_id(self, repo: Repo, issue: Issue) -> int:
        return 2_000_000_000 + repo.index * 10_000_000 + issue.number

    def pull_node_id(self, repo: Repo, issue: Issue) -> str:
        return _node("PR_kwDO", self.pull_id(repo, issue))

    def find_pull_by_node(self, node_id: str) -> tuple[Repo, Issue] | None:
        for repo in self.repos.values():
            for issue in repo.pulls():
                if self.pull_node_id(repo, issue) == node_id:
                    return repo, issue
        return None

    def pull_json(self, base: str, repo: Repo, issue: Issue, *, full: bool) -> dict[str, Any]:
        """``pull-request-simple`` (lists) or ``pull-request`` (``full``: one pull)."""
        api = f"{base}/repos/{repo.full_name}/pulls/{issue.number}"
        html = f"{WEB}/{repo.full_name}/pull/{issue.number}"
        issue_api = f"{base}/repos/{repo.full_name}/issues/{issue.number}"
        head_sha = issue.head_sha or ""
        repo_json = self.repo_json(base, repo)
        owner = user_json(base, repo.owner)

        def ref(name: str, sha: str) -> dict[str, Any]:
            return {"label": f"{repo.owner}:{name}", "ref": name, "sha": sha, "user": owner,
                    "repo": repo_json}

        base_sha = repo.commits[0].sha if repo.commits else head_sha
        links = {name: {"href": href} for name, href in (
            ("self", api), ("html", html), ("issue", issue_api),
            ("comments", f"{issue_api}/comments"), ("review_comments", f"{api}/comments"),
            ("review_comment", f"{base}/repos/{repo.full_name}/pulls/comments{{/number}}"),
            ("commits", f"{api}/commits"),
            ("statuses", f"{base}/repos/{repo.full_name}/statuses/{head_sha}"))}
        out: dict[str, Any] = {
            "url": api, "id": self.pull_id(repo, issue),
            "node_id": self.pull_node_id(repo, issue), "html_url": html,
            "diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue_api,
            "number": issue.number, "state": issue.state, "locked": False,
            "title": issue.title, "user": user_json(base, issue.user), "body": issue.body,
            "created_at": iso(issue.created), "updated_at": iso(issue.updated),
            "closed_at": iso(issue.closed), "merged_at": iso(issue.merged_at),
            "merge_commit_sha": issue.merge_sha,
            "assignee": user_json(base, issue.assignee) if issue.assignee else None,
            "assignees": [user_json(base, issue.assignee)] if issue.assignee else [],
            "requested_reviewers": [], "requested_teams": [],
            "labels": [_label_json(base, repo.full_name, name) for name in issue.labels],
            "milestone": None, "draft": issue.draft, "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{base}/repos/{repo.full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{base}/repos/{repo.full_name}/statuses/{head_sha}",
            "head": ref(issue.head_ref or "", head_sha), "base": ref(issue.base_ref, base_sha),
            "_links": links,
            "author_association": "MEMBER" if issue.user in USERS[:6] else "CONTRIBUTOR",
            "auto_merge": self._auto_merge_json(base, issue), "active_lock_reason": None,
        }
        if full:
            merged = issue.merged_at is not None
            out.update({
                "merged": merged, "mergeable": None if issue.state == "closed" else True,
                "rebaseable": None if issue.state == "closed" else True,
                "mergeable_state": "unknown" if issue.state == "closed" else (
                    "blocked" if issue.auto_merge else "clean"),
                "merged_by": user_json(base, issue.merged_by) if issue.merged_by else None,
                "comments": issue.comments, "review_comments": 0,
                "maintainer_can_modify": False, "commits": 1 + issue.number % 5,
                "additions": issue.additions, "deletions": issue.deletions,
                "changed_files": 1 + issue.number % 7,
            })
        return out

    @staticmethod
    def _auto_merge_json(base: str, issue: Issue) -> dict[str, Any] | None:
        if not issue.auto_merge:
            return None
        return {"enabled_by": user_json(base, issue.auto_merge["enabled_by"]),
                "merge_method": issue.auto_merge["merge_method"],
                "commit_title": issue.auto_merge["commit_title"],
                "commit_message": issue.auto_merge["commit_message"]}

    def commit_json(self, base: str, repo: Repo, commit: Commit) -> dict[str, Any]:
        """A ``commit`` as ``GET /repos/{owner}/{repo}/commits`` lists it."""
        api = f"{base}/repos/{repo.full_name}"
        person = {"name": commit.author, "email": f"{commit.author}@users.noreply.github.com",
                  "date": iso(commit.date)}
        tree = _sha("tree", commit.sha)
        return {
            "sha": commit.sha, "node_id": "C_kwDO" + commit.sha[:20],
            "commit": {
                "author": person, "committer": dict(person), "message": commit.message,
                "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
                "url": f"{api}/git/commits/{commit.sha}", "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                 "payload": None, "verified_at": None},
            },
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{WEB}/{repo.full_name}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "author": user_json(base, commit.author), "committer": user_json(base, "web-flow"),
            "parents": [] if commit.parent is None else [{
                "sha": commit.parent, "url": f"{api}/commits/{commit.parent}",
                "html_url": f"{WEB}/{repo.full_name}/commit/{commit.parent}"}],
        }

    def workflow_json(self, base: str, repo: Repo, index: int) -> dict[str, Any]:
        name, path, _ = WORKFLOWS[index]
        wid = self.workflow_id(repo, index)
        stamp = iso(repo.created + index * DAY)
        return {"id": wid, "node_id": _node("W_kwDO", wid), "name": name,
                "path": f".github/workflows/{path}", "state": "active", "created_at": stamp,
                "updated_at": stamp,
                "url": f"{base}/repos/{repo.full_name}/actions/workflows/{wid}",
                "html_url": f"{WEB}/{repo.full_name}/blob/main/.github/workflows/{path}",
                "badge_url": f"{WEB}/{repo.full_name}/workflows/{name}/badge.svg"}

    def workflow_id(self, repo: Repo, index: int) -> int:
        return 50_000_000 + repo.index * 100 + index

    def find_workflow(self, repo: Repo, ref: str) -> int | None:
        """A workflow's index from its id or file name (``ci.yml``), as GitHub accepts both."""
        for index, (_, path, _) in enumerate(WORKFLOWS):
            if ref in (path, str(self.workflow_id(repo, index))):
                return index
        return None

    def run_json(self, base: str, repo: Repo, run: Run, now: float) -> dict[str, Any]:
        """A ``workflow-run`` as it stands at ``now``."""
        api = f"{base}/repos/{repo.full_name}/actions/runs/{run.id}"
        status, conclusion, updated = run.status(now)
        name, path, _ = WORKFLOWS[run.workflow]
        commit = next((c for c in repo.commits if c.sha == run.head_sha), None)
        repo_json = self.repo_json(base, repo)
        head_commit = None
        if commit is not None or run.pulls:
            who = commit.author if commit else run.actor
            person = {"name": who, "email": f"{who}@users.noreply.github.com"}
            head_commit = {"id": run.head_sha, "tree_id": _sha("tree", run.head_sha),
                           "message": commit.message if commit else run.title,
                           "timestamp": iso(commit.date if commit else run.created),
                           "author": person, "committer": dict(person)}
        pulls = []
        for number in run.pulls:
            pr = repo.issue(number)
            if pr is None:
                continue
            pulls.append({
                "id": self.pull_id(repo, pr), "number": number,
                "url": f"{base}/repos/{repo.full_name}/pulls/{number}",
                "head": {"ref": pr.head_ref, "sha": pr.head_sha,
                         "repo": {"id": repo.id, "url": repo_json["url"], "name": repo.name}},
                "base": {"ref": pr.base_ref, "sha": repo.commits[0].sha if repo.commits else "",
                         "repo": {"id": repo.id, "url": repo_json["url"], "name": repo.name}},
            })
        return {
            "id": run.id, "name": name, "node_id": _node("WFR_kwLO", run.id),
            "head_branch": run.branch, "head_sha": run.head_sha,
            "path": f".github/workflows/{path}",
            "display_title": run.title, "run_number": run.number, "event": run.event,
            "status": status, "conclusion": conclusion,
            "workflow_id": self.workflow_id(repo, run.workflow),
            "check_suite_id": run.id + 7_000_000_000,
            "check_suite_node_id": _node("CS_kwDO", run.id + 7_000_000_000),
            "url": api, "html_url": f"{WEB}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": pulls, "created_at": iso(run.created), "updated_at": iso(updated),
            "actor": user_json(base, run.actor), "triggering_actor": user_json(base, run.actor),
            "run_attempt": 1, "referenced_workflows": [],
            "run_started_at": iso(run.created + run.queue_s),
            "jobs_url": f"{api}/jobs", "logs_url": f"{api}/logs",
            "check_suite_url": f"{base}/repos/{repo.full_name}/check-suites/"
                               f"{run.id + 7_000_000_000}",
            "artifacts_url": f"{api}/artifacts", "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun", "previous_attempt_url": None,
            "workflow_url": f"{base}/repos/{repo.full_name}/actions/workflows/"
                            f"{self.workflow_id(repo, run.workflow)}",
            "head_commit": head_commit, "repository": repo_json, "head_repository": repo_json,
        }

    def jobs_json(self, base: str, repo: Repo, run: Run, now: float) -> list[dict[str, Any]]:
        """The ``job`` s of a run at ``now`` (each runs in its turn within the run's time)."""
        out = []
        run_status, _, _ = run.status(now)
        name = WORKFLOWS[run.workflow][0]
        for index, job_name in enumerate(run.job_names()):
            start, end = run.job_window(index)
            if run_status == "queued" or now < start:
                status, conclusion, started, completed = "queued", None, run.created, None
            elif now < end:
                status, conclusion, started, completed = "in_progress", None, start, None
            else:
                status, conclusion = "completed", run.job_conclusion(index)
                started, completed = start, end
            job_id = run.id * 10 + index
            api = f"{base}/repos/{repo.full_name}/actions/jobs/{job_id}"
            steps = [{"name": step, "status": status,
                      "conclusion": conclusion if status == "completed" else None,
                      "number": k + 1, "started_at": iso(started) if status != "queued" else None,
                      "completed_at": iso(completed)}
                     for k, step in enumerate(("Set up job", f"Run {job_name}", "Complete job"))]
            out.append({
                "id": job_id, "run_id": run.id, "workflow_name": name,
                "head_branch": run.branch, "run_url": f"{base}/repos/{repo.full_name}/actions/"
                                                      f"runs/{run.id}",
                "run_attempt": 1, "node_id": _node("CR_kwDO", job_id), "head_sha": run.head_sha,
                "url": api, "html_url": f"{WEB}/{repo.full_name}/actions/runs/{run.id}/job/"
                                        f"{job_id}",
                "status": status, "conclusion": conclusion, "created_at": iso(run.created),
                "started_at": iso(started), "completed_at": iso(completed), "name": job_name,
                "steps": steps, "check_run_url": f"{base}/repos/{repo.full_name}/check-runs/"
                                                 f"{job_id}",
                "labels": ["ubuntu-latest"],
                "runner_id": None if status == "queued" else 10 + index,
                "runner_name": None if status == "queued" else f"GitHub Actions {10 + index}",
                "runner_group_id": None if status == "queued" else 2,
                "runner_group_name": None if status == "queued" else "GitHub Actions",
            })
        return out

    def release_json(self, base: str, repo: Repo, release: Release) -> dict[str, Any]:
        api = f"{base}/repos/{repo.full_name}/releases/{release.id}"
        return {
            "url": api, "html_url": f"{WEB}/{repo.full_name}/releases/tag/{release.tag}",
            "assets_url": f"{api}/assets",
            "upload_url": f"https://uploads.github.com/repos/{repo.full_name}/releases/"
                          f"{release.id}/assets{{?name,label}}",
            "tarball_url": f"{base}/repos/{repo.full_name}/tarball/{release.tag}",
            "zipball_url": f"{base}/repos/{repo.full_name}/zipball/{release.tag}",
            "id": release.id, "node_id": _node("RE_kwDO", release.id),
            "tag_name": release.tag, "target_commitish": "main", "name": release.name,
            "body": release.body, "draft": release.draft, "prerelease": release.prerelease,
            "immutable": False, "created_at": iso(release.created),
            "published_at": iso(release.published), "updated_at": iso(release.published),
            "author": user_json(base, release.author), "assets": [],
        }

    def code_json(self, base: str, repo: Repo, source: SourceFile, score: float
                  ) -> dict[str, Any]:
        """A ``code-search-result-item``."""
        sha = source.sha
        return {
            "name": source.path.rsplit("/", 1)[-1], "path": source.path, "sha": sha,
            "url": f"{base}/repos/{repo.full_name}/contents/{source.path}?ref={sha}",
            "git_url": f"{base}/repos/{repo.full_name}/git/blobs/{sha}",
            "html_url": f"{WEB}/{repo.full_name}/blob/{sha}/{source.path}",
            "repository": self.repo_json(base, repo), "score": score,
        }
