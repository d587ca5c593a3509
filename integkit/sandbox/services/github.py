"""A local GitHub REST API (version 2022-11-28) that answers like the real one.

Emulated, with GitHub's wire format (checked against the official OpenAPI description in
``tests/sandbox/test_github_spec.py``):

- Reads: ``GET /repos/{owner}/{repo}`` and its ``issues`` (``state``, ``labels``, ``since``,
  ``creator``, ``assignee``, ``sort``, ``direction``; pull requests are issues too, with a
  ``pull_request`` link), ``pulls`` (``state``, ``head``, ``base``), ``commits`` (``sha``,
  ``path``, ``author``, ``since``, ``until``), ``actions/workflows``,
  ``actions/runs`` and ``actions/workflows/{id|file}/runs`` (``status``, ``branch``, ``event``,
  ``actor``, ``created``, ``head_sha``), ``actions/runs/{id}/jobs``, ``releases``; one object of
  each; ``/orgs/{org}/repos``, ``/user/repos``; ``/search/issues`` and ``/search/code`` (the
  query qualifiers in :mod:`.github_search`, the first 1,000 results); ``/rate_limit``.
  ``page``/``per_page`` (at most 100) with an RFC 8288 ``Link`` header (``next``, ``last``,
  ``prev``, ``first``) whose URLs take GitHub's ``/repositories/{id}/...`` form.
- Writes: ``POST /repos/{owner}/{repo}/pulls`` (starts the CI workflow on the head: a live run
  that goes queued -> in_progress -> completed on the emulator's clock),
  ``POST .../branches/{branch}/protection/required_status_checks/contexts``,
  ``POST .../actions/workflows/{id}/dispatches``, ``PUT .../pulls/{number}/merge`` and
  ``POST /graphql`` for the ``enablePullRequestAutoMerge`` mutation: an auto-merging pull
  request is merged (squash, merge or rebase) once every required check of its base branch has
  succeeded on its head.
- Validation: every request to a route is judged by GitHub's published description (the
  request side shipped in ``integkit/sandbox/specs/github.json``) before it is answered: a
  parameter or body field that is missing, of the wrong type or format (``since`` that is not
  a ``date-time``) or outside its ``enum`` is a ``422 Validation Failed`` naming it; a body
  that is not JSON (GitHub reads every body as JSON, whatever its Content-Type) a ``400``.
- Auth: a token (``Authorization: Bearer`` or ``token``), a GitHub App installation token from
  the embedded :class:`~integkit.sandbox._github_app.GitHubAppAuth` (which also answers the
  ``/app`` routes), or none (reads only, 60 an hour). Errors are GitHub's
  ``{"message", "documentation_url", "status"}`` (``errors`` on 422).
- Limits: fixed windows per caller and resource (:mod:`.github_limits`) with
  ``X-RateLimit-*`` headers; a spent window answers ``403 API rate limit exceeded``; the
  ``rate_limit=(per second, burst)`` option adds GitHub's secondary limit (``403`` with
  ``Retry-After``). Every ``200`` to a ``GET`` has an ``ETag``; ``If-None-Match`` with it gets a
  ``304`` that costs nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson

from .._app import Emulator, Reply, Request
from .._clock import Moment
from .._faults import Headers
from .._github_app import GitHubAppAuth, GitHubError, IssuedToken, SandboxApp, link_header
from .._openapi import SpecValidator
from .github_data import (
    WORKFLOWS,
    Commit,
    GitHubWorld,
    Issue,
    Repo,
    Run,
    iso,
    parse_time,
    user_json,
)
from .github_limits import DEFAULT_LIMITS, RateWindows, Window, client_tiers, resource_for
from .github_search import _date_matches, parse_query

__all__ = ["API_VERSION", "SPEC_OPERATIONS", "GitHubEmulator"]

API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = ("https://docs.github.com/free-pro-team@latest/rest/overview/"
                  "rate-limits-for-the-rest-api#about-secondary-rate-limits")
SEARCH_CAP = 1000
_TOKEN_CHARS = string.ascii_letters + string.digits
_MERGE_METHODS = ("MERGE", "SQUASH", "REBASE")
T = TypeVar("T")

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name) for m, p, name in (
        ("GET", r"/rate_limit", "rate_limit"),
        ("GET", r"/user/repos", "user_repos"),
        ("GET", r"/(?:orgs|users)/(?P<org>[^/]+)/repos", "org_repos"),
        ("GET", r"/search/issues", "search_issues"),
        ("GET", r"/search/code", "search_code"),
        ("POST", r"/graphql", "graphql"),
        ("GET", _REPO, "repo"),
        ("GET", _REPO + r"/issues", "issues"),
        ("GET", _REPO + r"/issues/(?P<number>\d+)", "issue"),
        ("GET", _REPO + r"/pulls", "pulls"),
        ("POST", _REPO + r"/pulls", "create_pull"),
        ("GET", _REPO + r"/pulls/(?P<number>\d+)", "pull"),
        ("PUT", _REPO + r"/pulls/(?P<number>\d+)/merge", "merge_pull"),
        ("GET", _REPO + r"/commits", "commits"),
        ("GET", _REPO + r"/commits/(?P<ref>[^/]+)", "commit"),
        ("GET", _REPO + r"/actions/workflows", "workflows"),
        ("GET", _REPO + r"/actions/workflows/(?P<workflow>[^/]+)", "workflow"),
        ("GET", _REPO + r"/actions/workflows/(?P<workflow>[^/]+)/runs", "runs"),
        ("POST", _REPO + r"/actions/workflows/(?P<workflow>[^/]+)/dispatches", "dispatch"),
        ("GET", _REPO + r"/actions/runs", "runs"),
        ("GET", _REPO + r"/actions/runs/(?P<run>\d+)", "run"),
        ("GET", _REPO + r"/actions/runs/(?P<run>\d+)/jobs", "jobs"),
        ("GET", _REPO + r"/actions/jobs/(?P<job>\d+)", "job"),
        ("GET", _REPO + r"/releases", "releases"),
        ("GET", _REPO + r"/releases/latest", "latest_release"),
        ("GET", _REPO + r"/releases/(?P<release>\d+)", "release"),
        ("GET", _REPO + r"/branches/(?P<branch>.+)/protection/required_status_checks",
         "required_checks"),
        ("POST", _REPO + r"/branches/(?P<branch>.+)/protection/required_status_checks/contexts",
         "add_required_checks"),
    )
]
#: The operations of GitHub's description the routes above serve (``POST /graphql`` is not in
#: it): integkit/sandbox/specs/github.json is their request side (tools/trim_spec.py).
SPEC_OPERATIONS: tuple[tuple[str, str], ...] = tuple(
    (method, template) for method, templates in (
        ("get", ("/rate_limit", "/user/repos", "/orgs/{org}/repos", "/users/{username}/repos",
                 "/search/issues", "/search/code")),
        ("get", tuple("/repos/{owner}/{repo}" + rest for rest in (
            "", "/issues", "/issues/{issue_number}", "/pulls", "/pulls/{pull_number}",
            "/commits", "/commits/{ref}", "/actions/workflows",
            "/actions/workflows/{workflow_id}", "/actions/workflows/{workflow_id}/runs",
            "/actions/runs", "/actions/runs/{run_id}", "/actions/runs/{run_id}/jobs",
            "/actions/jobs/{job_id}", "/releases", "/releases/latest",
            "/releases/{release_id}",
            "/branches/{branch}/protection/required_status_checks"))),
        ("post", tuple("/repos/{owner}/{repo}" + rest for rest in (
            "/pulls", "/actions/workflows/{workflow_id}/dispatches",
            "/branches/{branch}/protection/required_status_checks/contexts"))),
        ("put", ("/repos/{owner}/{repo}/pulls/{pull_number}/merge",)),
    ) for template in templates)
# GitHub reads a bad ``page``/``per_page`` as the default (see ``_int``) although its
# description types them as integers.
_SPEC = SpecValidator("github", body_type="application/json", lenient=("page", "per_page"))
# The ``resource`` a 422's errors name, per route.
_RESOURCE_NAMES = {
    "user_repos": "Repository", "org_repos": "Repository", "repo": "Repository",
    "search_issues": "Search", "search_code": "Search", "issues": "Issue", "issue": "Issue",
    "pulls": "PullRequest", "pull": "PullRequest", "create_pull": "PullRequest",
    "merge_pull": "PullRequest", "commits": "Commit", "commit": "Commit",
    "workflows": "Workflow", "workflow": "Workflow", "dispatch": "Workflow",
    "runs": "WorkflowRun", "run": "WorkflowRun", "jobs": "Job", "job": "Job",
    "releases": "Release", "latest_release": "Release", "release": "Release",
    "required_checks": "StatusCheck", "add_required_checks": "StatusCheck",
}
_REPOSITORIES_ALIAS = re.compile(r"/repositories/(?P<id>\d+)(?P<rest>/.*)?")


def _validation(resource: str, field: str, code: str = "invalid", *, value: Any = None,
                message: str | None = None, docs: str = DOCS) -> GitHubError:
    """GitHub's 422: ``{"message": "Validation Failed", "errors": [...]}``."""
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if value is not None:
        error["value"] = value
    if message is not None:
        error = {"resource": resource, "code": "custom", "message": message}
    return GitHubError(422, "Validation Failed", docs, [error])


def _not_found(docs: str = DOCS) -> GitHubError:
    return GitHubError(404, "Not Found", docs)


@dataclass
class Caller:
    """Who a request comes from: the rate-limit key, the login, and an installation token's
    repository restriction."""

    key: str
    login: str
    anonymous: bool = False
    token: IssuedToken | None = None

    def may_see(self, repo: Repo) -> bool:
        if self.token is None:
            return True
        if self.token.installation.account.lower() != repo.owner.lower():
            return False
        allowed = self.token.repositories
        return allowed is None or any(r["name"] == repo.name for r in allowed)


class GitHubEmulator(Emulator):
    """The GitHub emulator: seeded repositories (``records`` issues, commits and workflow runs
    each), GitHub's limits and conditional requests, and a GitHub App to authenticate as.

    Options beyond the common ones: ``limits`` (``{"search": (30, 60)}``: requests per window
    seconds, per resource), ``clock`` (the real clock, epoch seconds; tests advance a fake one:
    the emulated world, which starts at ``now``, runs with it), ``run_seconds``
    (how long a started workflow run stays queued, then in progress), ``repositories``,
    ``owner`` and ``token_lifetime`` (of installation tokens).

    >>> emulator = GitHubEmulator(records=50, limits={"search": (5, 60)})    # doctest: +SKIP
    >>> emulator.credentials()["token"].startswith("ghp_")                    # doctest: +SKIP
    True
    """

    service = "github"
    key_prefix = "ghp_"

    def __init__(self, *, records: int = 1000, seed: int = 0,
                 rate_limit: tuple[float, int] | None = None, latency: float = 0.0,
                 api_key: str | None = None,
                 limits: Mapping[str, tuple[int, float]] | None = None,
                 clock: Callable[[], float] = time.time,
                 run_seconds: tuple[float, float] = (2.0, 4.0),
                 repositories: Sequence[str] = ("atlas", "borealis", "cirrus"),
                 owner: str = "octo-org", token_lifetime: float = 3600.0,
                 now: Moment = None) -> None:
        token = api_key or "ghp_" + "".join(secrets.choice(_TOKEN_CHARS) for _ in range(36))
        super().__init__(api_key=token, rate_limit=rate_limit, latency=latency, now=now,
                         clock=clock)
        self.clock = clock
        self.records = records
        self.seed = seed
        self.world = GitHubWorld(records=records, seed=seed, now=self.world_clock.midnight(),
                                 owner=owner,
                                 repositories=tuple(repositories))
        self.windows = RateWindows(limits, clock=clock)
        self.apps = GitHubAppAuth(token_lifetime=token_lifetime, clock=clock)
        self.run_seconds = (float(run_seconds[0]), float(run_seconds[1]))
        self.logins: dict[str, str] = {token: "octocat"}
        self.not_modified = 0
        self._github_app: SandboxApp | None = None
        self._installation_id: int | None = None
        self._auto_merging: list[tuple[Repo, Issue]] = []

    # -- set-up ------------------------------------------------------------------------------
    def add_api_key(self, key: str, login: str = "hubot") -> None:
        """Accept another personal access token, belonging to ``login``."""
        super().add_api_key(key)
        self.logins[key] = login

    @property
    def app(self) -> SandboxApp:
        """The GitHub App installed on the owner's account (made on first use: an RSA key)."""
        if self._github_app is None:
            self._github_app = self.apps.create_app(owner=self.world.owner)
            installation = self.apps.install(
                self._github_app.id, self.world.owner,
                repositories=[r.name for r in self.world.repos.values()],
                permissions={"metadata": "read", "contents": "write", "issues": "write",
                             "pull_requests": "write", "actions": "read"})
            self._installation_id = installation.id
        return self._github_app

    def app_credentials(self) -> dict[str, Any]:
        """``app_id``, ``private_key`` and ``installation_id`` for ``ik.auth.GitHubApp``."""
        app = self.app
        return {"app_id": app.id, "private_key": app.private_key_pem,
                "installation_id": self._installation_id}

    def credentials(self) -> dict[str, Any]:
        """The token, and client-side limits matching this emulator's when they differ from
        GitHub's (None: the definition's own tiers, which should be GitHub's)."""
        return {"token": self.api_key, "rate_limit": self.client_rate_limits()}

    def limits_text(self) -> list[str]:
        windows = [f"{name}: {limit:,} per " + (f"{period / 3600:g}h" if period % 3600 == 0
                                                 else f"{period / 60:g}min")
                   for name, (limit, period) in self.windows.limits.items()]
        return [*windows, *super().limits_text()]

    def client_rate_limits(self) -> list[dict[str, Any]] | None:
        """This emulator's windows as client tiers (None if they are GitHub's)."""
        if self.windows.limits == DEFAULT_LIMITS and self.limiter is None:
            return None
        tiers = client_tiers(self.windows.limits)
        if self.limiter is not None:
            rate, burst = self.limiter.rate, self.limiter.burst
            tiers.append({"name": "secondary", "limit": max(1, int(rate)),
                          "per": max(1, int(rate)) / rate, "burst": burst})
        return tiers

    def now(self) -> float:
        return self.world_clock()

    def stats(self) -> dict[str, Any]:
        stats = super().stats()
        stats["not_modified"] = self.not_modified
        stats["rate_limit_refusals"] = self.windows.refused
        return stats

    # -- HTTP --------------------------------------------------------------------------------
    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        headers: Headers = [(b"content-type", b"application/json; charset=utf-8"),
                            (b"x-github-request-id", _request_id().encode())]
        if status in (403, 429):
            body = GitHubError(status, _secondary_message(), SECONDARY_DOCS).payload()
            headers.append((b"retry-after", b"1"))
        else:
            body = GitHubError(status, "Server Error" if status == 500
                               else "Service Unavailable").payload()
        return orjson.dumps(body), headers

    def handle(self, request: Request) -> Reply:
        request_id = _request_id()
        self._advance()
        try:
            reply = self._handle(request, request_id)
        except GitHubError as err:
            reply = err.reply()
        reply.headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"x-github-request-id", request_id.encode()),
            (b"x-github-api-version-selected", API_VERSION.encode()),
            (b"x-github-media-type", b"github.v3; format=json"),
            *reply.headers,
        ]
        return reply

    def _handle(self, request: Request, request_id: str) -> Reply:
        path = request.path.rstrip("/") or "/"
        if path.startswith(("/app", "/installation/")) or path.endswith("/installation"):
            answered = self.apps.handle(request)
            if answered is not None:
                return answered
        caller = self._authenticate(request)
        if not self.allow(caller.key):
            wait = math.ceil(1 / self.limiter.rate) if self.limiter else 60
            error = GitHubError(403, _secondary_message(request_id), SECONDARY_DOCS)
            return Reply(403, orjson.dumps(error.payload()), [(b"retry-after", str(wait).encode())])
        path = self._unalias(path)
        resource = resource_for(request.method, path)
        if resource is None:
            return Reply(200, orjson.dumps(self._rate_limit(caller)))
        window = self.windows.window(caller.key, resource, anonymous=caller.anonymous)
        if request.method == "GET":
            reply = self._route(request, path, caller)
            if reply.status == 200:
                etag = 'W/"' + hashlib.sha256(reply.body).hexdigest() + '"'
                if _etag_matches(request.headers.get("if-none-match"), etag):
                    self.not_modified += 1
                    return Reply(304, b"", [(b"etag", etag.encode()), *_cache_headers(),
                                            *window.headers()])
                reply.headers += [(b"etag", etag.encode()), *_cache_headers()]
            if window.remaining == 0:
                return self._exceeded(window, caller, request_id)
            self.windows.charge(window)
        else:
            if window.remaining == 0:
                return self._exceeded(window, caller, request_id)
            self.windows.charge(window)
            if caller.anonymous:
                raise GitHubError(401, "Requires authentication", DOCS)
            reply = self._route(request, path, caller)
        reply.headers += window.headers()
        return reply

    def _exceeded(self, window: Window, caller: Caller, request_id: str) -> Reply:
        self.windows.refused += 1
        if caller.anonymous:
            who = ("127.0.0.1. (But here's the good news: Authenticated requests get a higher "
                   "rate limit. Check out the documentation for more details.)")
        elif caller.token is not None:
            who = f"installation ID {caller.token.installation.id}."
        else:
            who = f"user ID {user_json('', caller.login)['id']}."
        message = (f"API rate limit exceeded for {who} If you reach out to GitHub Support for "
                   f"help, please include the request ID {request_id} and timestamp "
                   f"{iso(self.clock())[:-1].replace('T', ' ')} UTC.")  # type: ignore[index]
        error = GitHubError(403, message, RATE_DOCS)
        return Reply(403, orjson.dumps(error.payload()), window.headers())

    def _authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "").strip()
        if not header:
            return Caller("anonymous:127.0.0.1", "", anonymous=True)
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() in ("bearer", "token") and value in self.api_keys:
            request.api_key = value
            return Caller(f"user:{value}", self.logins.get(value, "octocat"))
        if value.startswith("ghs_"):
            issued = self.apps.installation_for(header)
            return Caller(f"installation:{issued.installation.id}",
                          f"{issued.installation.app.slug}[bot]", token=issued)
        raise GitHubError(401, "Bad credentials", DOCS)

    def _unalias(self, path: str) -> str:
        """``/repositories/{id}/...`` (the form of GitHub's Link URLs) -> ``/repos/o/r/...``."""
        match = _REPOSITORIES_ALIAS.fullmatch(path)
        if match is None:
            return path
        repo = self.world.repo_by_id(int(match.group("id")))
        if repo is None:
            raise _not_found()
        return f"/repos/{repo.full_name}{match.group('rest') or ''}"

    def _route(self, request: Request, path: str, caller: Caller) -> Reply:
        for method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != request.method:
                continue
            args = match.groupdict()
            repo = None
            if "owner" in args:
                repo = self.world.repo(args["owner"], args["repo"])
                if repo is None or not caller.may_see(repo):
                    raise _not_found(f"{DOCS}/repos/repos#get-a-repository")
            self._check(request, path, name)
            handler = getattr(self, f"_{name}")
            result: Reply = handler(request, repo, args, caller)
            return result
        raise _not_found()

    def _check(self, request: Request, path: str, route: str) -> None:
        """Refuse what GitHub's description refuses, as GitHub does: a body that is not JSON
        is a 400 (GitHub reads every body as JSON, whatever its Content-Type says), the rest
        a 422 ``Validation Failed`` naming each field (``missing``/``missing_field`` when
        absent, ``invalid`` with the value sent when wrong)."""
        body = request.body.strip() or (b"{}" if request.method in ("POST", "PUT") else b"")
        if route == "add_required_checks" and body.startswith(b"["):
            body = b'{"contexts": ' + body + b"}"  # GitHub also takes the bare list (as it did)
        problems = _SPEC.problems(request.method, path, request.query, request.headers, body)
        if not problems:
            return
        if any(p.kind == "malformed" for p in problems):
            raise GitHubError(400, "Problems parsing JSON", DOCS)
        resource = _RESOURCE_NAMES.get(route, "Resource")
        errors = []
        for problem in problems:
            if problem.kind == "missing":
                code = "missing_field" if problem.location == "body" else "missing"
                errors.append({"resource": resource, "field": problem.name, "code": code})
            else:
                errors.append({"resource": resource, "field": problem.name, "code": "invalid",
                               "value": problem.value})
        raise GitHubError(422, "Validation Failed", DOCS, errors)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _query(request: Request) -> dict[str, str]:
        return dict(parse_qsl(request.query, keep_blank_values=True))

    @staticmethod
    def _body(request: Request) -> Any:
        if not request.body.strip():
            return {}
        try:
            return orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise GitHubError(400, "Problems parsing JSON", DOCS) from None

    @staticmethod
    def _base(request: Request) -> str:
        return f"http://{request.headers.get('host', '127.0.0.1')}"

    def _page(self, request: Request, items: Sequence[T], *, link_path: str
              ) -> tuple[Sequence[T], Headers]:
        """One page of ``items`` and its ``Link`` header."""
        query = parse_qsl(request.query, keep_blank_values=True)
        params = dict(query)
        per_page = _int(params.get("per_page"), 30, 1, 100)
        page = _int(params.get("page"), 1, 1, None)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        kept = [(k, v) for k, v in query if k != "page"]
        links = link_header(f"{self._base(request)}{link_path}", kept, page, last)
        headers: Headers = [(b"link", links.encode())] if links else []
        return chunk, headers

    @staticmethod
    def _repo_link(repo: Repo, request: Request) -> str:
        """The listing's path as GitHub's Link headers give it: ``/repositories/{id}/...``."""
        if request.path.startswith("/repositories/"):
            return request.path
        parts = request.path.split("/", 4)  # "", "repos", owner, repo, rest
        return f"/repositories/{repo.id}" + (f"/{parts[4]}" if len(parts) > 4 else "")

    def _list_reply(self, request: Request, repo: Repo | None, items: Sequence[T],
                    render: Callable[[T], dict[str, Any]], *, key: str | None = None,
                    total: int | None = None, extra: dict[str, Any] | None = None) -> Reply:
        link_path = self._repo_link(repo, request) if repo is not None else request.path
        chunk, headers = self._page(request, items, link_path=link_path)
        records = [render(item) for item in chunk]
        body: Any = records
        if key is not None:
            body = {"total_count": len(items) if total is None else total, **(extra or {}),
                    key: records}
        return Reply(200, orjson.dumps(body), headers)

    def _checks(self, repo: Repo, sha: str | None, now: float) -> dict[str, tuple[str, float]]:
        """Completed check results on ``sha``: job name -> (conclusion, completed at)."""
        out: dict[str, tuple[str, float]] = {}
        for run in repo.runs:
            if run.head_sha != sha:
                continue
            for index, name in enumerate(run.job_names()):
                _, end = run.job_window(index)
                if end <= now and name not in out:
                    out[name] = (run.job_conclusion(index), end)
        return out

    def _advance(self) -> None:
        """Merge the auto-merging pull requests whose required checks have all succeeded."""
        if not self._auto_merging:
            return
        now = self.world_clock()
        still = []
        for repo, pr in self._auto_merging:
            if pr.state != "open" or not pr.auto_merge:
                continue
            required = repo.required_checks.get(pr.base_ref, [])
            checks = self._checks(repo, pr.head_sha, now)
            if required and all(checks.get(c, ("", 0))[0] in ("success", "neutral", "skipped")
                                for c in required):
                when = max(checks[c][1] for c in required)
                self._merge(repo, pr, when, pr.auto_merge["merge_method"],
                            pr.auto_merge["enabled_by"])
            else:
                still.append((repo, pr))
        self._auto_merging = still

    def _merge(self, repo: Repo, pr: Issue, when: float, method: str, by: str) -> str:
        sha = hashlib.sha1(f"merge {repo.full_name} {pr.number} {when}".encode()).hexdigest()  # noqa: S324
        pr.state, pr.closed, pr.merged_at = "closed", int(when), int(when)
        pr.updated, pr.merge_sha, pr.merged_by = int(when), sha, by
        parent = repo.commits[0].sha if repo.commits else None
        message = f"{pr.title} (#{pr.number})" if method != "rebase" else pr.title
        repo.commits.insert(0, Commit(sha, message, by, int(when), parent, "README.md"))
        self.objects["merges"] += 1
        return sha

    def _start_run(self, repo: Repo, workflow: int, *, branch: str, sha: str, event: str,
                   actor: str, title: str, pulls: list[int] | None = None) -> Run:
        number = 1 + max((r.number for r in repo.runs if r.workflow == workflow), default=0)
        run = Run(self.world.next_run_id(), workflow, number, event, branch, sha, actor,
                  self.world_clock(), self.run_seconds[0], self.run_seconds[1],
                  "failure" if "fail" in branch else "success", title, list(pulls or []))
        repo.runs.insert(0, run)
        self.objects["workflow_runs"] += 1
        return run

    # -- reads -------------------------------------------------------------------------------
    def _rate_limit(self, caller: Caller) -> dict[str, Any]:
        resources = self.windows.overview(caller.key, anonymous=caller.anonymous)
        return {"resources": resources, "rate": resources["core"]}

    def _user_repos(self, request: Request, repo: Repo | None, args: dict[str, str],
                    caller: Caller) -> Reply:
        if caller.token is not None:
            raise GitHubError(403, "Resource not accessible by integration",
                              f"{DOCS}/repos/repos#list-repositories-for-the-authenticated-user")
        return self._repo_list(request, list(self.world.repos.values()), "full_name")

    def _org_repos(self, request: Request, repo: Repo | None, args: dict[str, str],
                   caller: Caller) -> Reply:
        repos = [r for r in self.world.repos.values()
                 if r.owner.lower() == args["org"].lower() and caller.may_see(r)]
        if not repos and args["org"].lower() != self.world.owner.lower():
            raise _not_found(f"{DOCS}/repos/repos#list-organization-repositories")
        return self._repo_list(request, repos, "created")

    def _repo_list(self, request: Request, repos: list[Repo], default_sort: str) -> Reply:
        query = self._query(request)
        sort = query.get("sort", default_sort)
        keys: dict[str, Callable[[Repo], Any]] = {
            "full_name": lambda r: r.full_name.lower(), "created": lambda r: r.created,
            "updated": lambda r: r.commits[0].date, "pushed": lambda r: r.commits[0].date}
        direction = query.get("direction", "asc" if sort == "full_name" else "desc")
        repos = sorted(repos, key=keys[sort], reverse=direction == "desc")
        base = self._base(request)
        return self._list_reply(request, None, repos,
                                lambda r: self.world.repo_json(base, r))

    def _repo(self, request: Request, repo: Repo, args: dict[str, str], caller: Caller) -> Reply:
        return Reply(200, orjson.dumps(self.world.repo_json(self._base(request), repo,
                                                            full=True)))

    def _issues(self, request: Request, repo: Repo, args: dict[str, str],
                caller: Caller) -> Reply:
        query = self._query(request)
        state = query.get("state", "open")
        labels = [v.strip().lower() for v in query.get("labels", "").split(",") if v.strip()]
        since = _time_param(query, "since", "Issue")
        sort = query.get("sort", "created")
        creator, assignee = query.get("creator"), query.get("assignee")
        milestone = query.get("milestone")

        def wanted(issue: Issue) -> bool:
            if state != "all" and issue.state != state:
                return False
            if labels and not set(labels) <= {name.lower() for name in issue.labels}:
                return False
            if since is not None and issue.updated < since:
                return False
            if creator and issue.user.lower() != creator.lower():
                return False
            if assignee == "none" and issue.assignee is not None:
                return False
            if assignee == "*" and issue.assignee is None:
                return False
            if assignee not in (None, "none", "*") and (issue.assignee or "").lower() \
                    != assignee.lower():
                return False
            return milestone != "*"  # no seeded issue has a milestone

        found = [i for i in repo.issues if wanted(i)]
        key: Callable[[Issue], Any] = {"created": lambda i: i.number,
                                       "updated": lambda i: (i.updated, i.number),
                                       "comments": lambda i: (i.comments, i.number)}[sort]
        found.sort(key=key, reverse=query.get("direction", "desc") != "asc")
        base = self._base(request)
        return self._list_reply(request, repo, found,
                                lambda i: self.world.issue_json(base, repo, i))

    def _issue(self, request: Request, repo: Repo, args: dict[str, str],
               caller: Caller) -> Reply:
        issue = repo.issue(int(args["number"]))
        if issue is None:
            raise _not_found(f"{DOCS}/issues/issues#get-an-issue")
        return Reply(200, orjson.dumps(self.world.issue_json(self._base(request), repo, issue)))

    def _pulls(self, request: Request, repo: Repo, args: dict[str, str],
               caller: Caller) -> Reply:
        query = self._query(request)
        state = query.get("state", "open")
        head, base_ref = query.get("head"), query.get("base")
        sort = query.get("sort", "created")
        found = [p for p in repo.pulls()
                 if (state == "all" or p.state == state)
                 and (not head or f"{repo.owner}:{p.head_ref}".lower() == head.lower()
                      or p.head_ref == head)
                 and (not base_ref or p.base_ref == base_ref)]
        key: Callable[[Issue], Any] = {
            "created": lambda p: p.number, "updated": lambda p: (p.updated, p.number),
            "popularity": lambda p: (p.comments, p.number),
            "long-running": lambda p: (-(p.created), p.number)}[sort]
        default = "desc" if sort == "created" else "asc"
        found.sort(key=key, reverse=query.get("direction", default) == "desc")
        base = self._base(request)
        return self._list_reply(request, repo, found,
                                lambda p: self.world.pull_json(base, repo, p, full=False))

    def _pull(self, request: Request, repo: Repo, args: dict[str, str], caller: Caller) -> Reply:
        issue = repo.issue(int(args["number"]))
        if issue is None or not issue.is_pull:
            raise _not_found(f"{DOCS}/pulls/pulls#get-a-pull-request")
        body = self.world.pull_json(self._base(request), repo, issue, full=True)
        return Reply(200, orjson.dumps(body))

    def _commits(self, request: Request, repo: Repo, args: dict[str, str],
                 caller: Caller) -> Reply:
        query = self._query(request)
        commits = repo.commits
        ref = query.get("sha")
        if ref and ref not in ("main", "HEAD"):
            start = next((k for k, c in enumerate(commits) if c.sha.startswith(ref)), None)
            if start is None or len(ref) < 7:
                raise GitHubError(404, f"No commit found for SHA: {ref}",
                                  f"{DOCS}/commits/commits#list-commits")
            commits = commits[start:]
        since = _time_param(query, "since", "Commit")
        until = _time_param(query, "until", "Commit")
        path, author = query.get("path"), query.get("author")
        found = [c for c in commits
                 if (since is None or c.date >= since) and (until is None or c.date <= until)
                 and (not path or c.path.startswith(path.strip("/")))
                 and (not author or author.lower() in (c.author.lower(),
                                                       f"{c.author}@users.noreply.github.com"))]
        base = self._base(request)
        return self._list_reply(request, repo, found,
                                lambda c: self.world.commit_json(base, repo, c))

    def _commit(self, request: Request, repo: Repo, args: dict[str, str],
                caller: Caller) -> Reply:
        ref = args["ref"]
        commit = repo.commits[0] if ref in ("main", "HEAD") and repo.commits else next(
            (c for c in repo.commits if len(ref) >= 7 and c.sha.startswith(ref)), None)
        if commit is None:
            raise GitHubError(422, f"No commit found for SHA: {ref}",
                              f"{DOCS}/commits/commits#get-a-commit")
        body = self.world.commit_json(self._base(request), repo, commit)
        body["stats"] = {"total": 12, "additions": 9, "deletions": 3}
        body["files"] = [{"sha": commit.sha, "filename": commit.path, "status": "modified",
                          "additions": 9, "deletions": 3, "changes": 12,
                          "blob_url": f"https://github.com/{repo.full_name}/blob/{commit.sha}/"
                                      f"{commit.path}",
                          "raw_url": f"https://github.com/{repo.full_name}/raw/{commit.sha}/"
                                     f"{commit.path}",
                          "contents_url": f"{self._base(request)}/repos/{repo.full_name}/"
                                          f"contents/{commit.path}?ref={commit.sha}"}]
        return Reply(200, orjson.dumps(body))

    def _workflows(self, request: Request, repo: Repo, args: dict[str, str],
                   caller: Caller) -> Reply:
        base = self._base(request)
        return self._list_reply(request, repo, list(range(len(WORKFLOWS))),
                                lambda k: self.world.workflow_json(base, repo, k),
                                key="workflows")

    def _workflow_index(self, repo: Repo, ref: str) -> int:
        index = self.world.find_workflow(repo, ref)
        if index is None:
            raise _not_found(f"{DOCS}/actions/workflows#get-a-workflow")
        return index

    def _workflow(self, request: Request, repo: Repo, args: dict[str, str],
                  caller: Caller) -> Reply:
        index = self._workflow_index(repo, args["workflow"])
        return Reply(200, orjson.dumps(self.world.workflow_json(self._base(request), repo,
                                                                index)))

    def _runs(self, request: Request, repo: Repo, args: dict[str, str], caller: Caller) -> Reply:
        query = self._query(request)
        workflow = self._workflow_index(repo, args["workflow"]) if args.get("workflow") \
            else None
        status = query.get("status")
        now = self.world_clock()
        exclude = query.get("exclude_pull_requests", "false").lower() == "true"

        def wanted(run: Run) -> bool:
            if workflow is not None and run.workflow != workflow:
                return False
            for name, value in (("actor", run.actor), ("branch", run.branch),
                                ("event", run.event), ("head_sha", run.head_sha)):
                if query.get(name) and query[name].lower() != value.lower():
                    return False
            if status is not None:
                state, conclusion, _ = run.status(now)
                if status not in (state, conclusion):
                    return False
            created = query.get("created")
            if created and not _date_matches(created, run.created):
                return False
            suite = query.get("check_suite_id")
            return not suite or suite == str(run.id + 7_000_000_000)

        found = [r for r in repo.runs if wanted(r)]
        base = self._base(request)

        def render(run: Run) -> dict[str, Any]:
            body = self.world.run_json(base, repo, run, now)
            if exclude:
                body["pull_requests"] = []
            return body

        return self._list_reply(request, repo, found, render, key="workflow_runs")

    def _run_of(self, repo: Repo, run_id: str) -> Run:
        run = repo.run(int(run_id))
        if run is None:
            raise _not_found(f"{DOCS}/actions/workflow-runs#get-a-workflow-run")
        return run

    def _run(self, request: Request, repo: Repo, args: dict[str, str], caller: Caller) -> Reply:
        run = self._run_of(repo, args["run"])
        body = self.world.run_json(self._base(request), repo, run, self.world_clock())
        if self._query(request).get("exclude_pull_requests", "").lower() == "true":
            body["pull_requests"] = []
        return Reply(200, orjson.dumps(body))

    def _jobs(self, request: Request, repo: Repo, args: dict[str, str], caller: Caller) -> Reply:
        run = self._run_of(repo, args["run"])
        query = self._query(request)
        if query.get("filter", "latest") not in ("latest", "all"):
            raise _validation("Job", "filter", value=query["filter"])
        jobs = self.world.jobs_json(self._base(request), repo, run, self.world_clock())
        return self._list_reply(request, repo, jobs, lambda j: j, key="jobs")

    def _job(self, request: Request, repo: Repo, args: dict[str, str], caller: Caller) -> Reply:
        job_id = int(args["job"])
        run = repo.run(job_id // 10)
        now = self.world_clock()
        jobs = self.world.jobs_json(self._base(request), repo, run, now) if run else []
        job = next((j for j in jobs if j["id"] == job_id), None)
        if job is None:
            raise _not_found(f"{DOCS}/actions/workflow-jobs#get-a-job-for-a-workflow-run")
        return Reply(200, orjson.dumps(job))

    def _releases(self, request: Request, repo: Repo, args: dict[str, str],
                  caller: Caller) -> Reply:
        base = self._base(request)
        return self._list_reply(request, repo, repo.releases,
                                lambda r: self.world.release_json(base, repo, r))

    def _latest_release(self, request: Request, repo: Repo, args: dict[str, str],
                        caller: Caller) -> Reply:
        latest = next((r for r in repo.releases if not r.draft and not r.prerelease), None)
        if latest is None:
            raise _not_found(f"{DOCS}/releases/releases#get-the-latest-release")
        return Reply(200, orjson.dumps(self.world.release_json(self._base(request), repo,
                                                               latest)))

    def _release(self, request: Request, repo: Repo, args: dict[str, str],
                 caller: Caller) -> Reply:
        release = next((r for r in repo.releases if r.id == int(args["release"])), None)
        if release is None:
            raise _not_found(f"{DOCS}/releases/releases#get-a-release")
        return Reply(200, orjson.dumps(self.world.release_json(self._base(request), repo,
                                                               release)))

    def _search_args(self, request: Request) -> tuple[dict[str, str], str]:
        query = self._query(request)
        q = query.get("q", "").strip()
        if not q:
            raise _validation("Search", "q", "missing",
                              docs=f"{DOCS}/search/search")
        page = _int(query.get("page"), 1, 1, None)
        per_page = _int(query.get("per_page"), 30, 1, 100)
        if (page - 1) * per_page >= SEARCH_CAP:
            raise GitHubError(422, "Only the first 1000 search results are available",
                              f"{DOCS}/search/search")
        return query, q

    def _search_issues(self, request: Request, repo: Repo | None, args: dict[str, str],
                       caller: Caller) -> Reply:
        query, q = self._search_args(request)
        parsed = parse_query(q)
        hits: list[tuple[float, Repo, Issue]] = []
        for candidate in self.world.repos.values():
            if not parsed.wants_repo(candidate) or not caller.may_see(candidate):
                continue
            for issue in candidate.issues:
                score = parsed.match_issue(issue)
                if score is not None:
                    hits.append((score, candidate, issue))
        sort = query.get("sort")
        reverse = query.get("order", "desc") != "asc"
        if sort in ("created", "updated", "comments"):
            attr = {"created": "created", "updated": "updated", "comments": "comments"}[sort]
            hits.sort(key=lambda h: (getattr(h[2], attr), h[2].number), reverse=reverse)
        else:
            hits.sort(key=lambda h: (h[0], h[2].created), reverse=True)
        base = self._base(request)

        def render(hit: tuple[float, Repo, Issue]) -> dict[str, Any]:
            body = self.world.issue_json(base, hit[1], hit[2])
            body["score"] = hit[0]
            return body

        return self._list_reply(request, None, hits[:SEARCH_CAP], render, key="items",
                                total=len(hits), extra={"incomplete_results": False,
                                                        "search_type": "lexical"})

    def _search_code(self, request: Request, repo: Repo | None, args: dict[str, str],
                     caller: Caller) -> Reply:
        _, q = self._search_args(request)
        parsed = parse_query(q)
        hits = []
        for candidate in self.world.repos.values():
            if not parsed.wants_repo(candidate) or not caller.may_see(candidate):
                continue
            for source in candidate.files:
                score = parsed.match_code(source, candidate)
                if score is not None:
                    hits.append((score, candidate, source))
        hits.sort(key=lambda h: (-h[0], h[1].name, h[2].path))
        base = self._base(request)
        return self._list_reply(request, None, hits[:SEARCH_CAP],
                                lambda h: self.world.code_json(base, h[1], h[2], h[0]),
                                key="items", total=len(hits),
                                extra={"incomplete_results": False})

    def _required_checks(self, request: Request, repo: Repo, args: dict[str, str],
                         caller: Caller) -> Reply:
        contexts = self._protected(repo, args["branch"])
        api = (f"{self._base(request)}/repos/{repo.full_name}/branches/{args['branch']}/"
               "protection/required_status_checks")
        return Reply(200, orjson.dumps({
            "url": api, "strict": False, "contexts": contexts,
            "checks": [{"context": c, "app_id": None} for c in contexts],
            "contexts_url": f"{api}/contexts"}))

    def _protected(self, repo: Repo, branch: str) -> list[str]:
        docs = f"{DOCS}/branches/branch-protection"
        if branch not in repo.branches:
            raise GitHubError(404, "Branch not found", docs)
        if branch not in repo.required_checks:
            raise GitHubError(404, "Branch not protected", docs)
        return repo.required_checks[branch]

    # -- writes ------------------------------------------------------------------------------
    def _add_required_checks(self, request: Request, repo: Repo, args: dict[str, str],
                             caller: Caller) -> Reply:
        contexts = self._protected(repo, args["branch"])
        body = self._body(request)
        wanted = body.get("contexts") if isinstance(body, dict) else body
        if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
            raise _validation("StatusCheck", "contexts", "missing_field")
        for context in wanted:
            if context not in contexts:
                contexts.append(context)
        return Reply(200, orjson.dumps(contexts))

    def _create_pull(self, request: Request, repo: Repo, args: dict[str, str],
                     caller: Caller) -> Reply:
        body = self._body(request)
        if not isinstance(body, dict):
            raise GitHubError(400, "Problems parsing JSON", DOCS)
        docs = f"{DOCS}/pulls/pulls#create-a-pull-request"
        for name in ("head", "base"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise _validation("PullRequest", name, "missing_field", docs=docs)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _validation("PullRequest", "title", "missing_field", docs=docs)
        head = body["head"].split(":", 1)[-1]
        base_ref = body["base"]
        if base_ref not in repo.branches:
            raise _validation("PullRequest", "base", docs=docs)
        if head == base_ref:
            raise _validation("PullRequest", "", docs=docs,
                              message=f"No commits between {base_ref} and {head}")
        if any(p.state == "open" and p.head_ref == head and p.base_ref == base_ref
               for p in repo.pulls()):
            raise _validation("PullRequest", "", docs=docs, message=(
                f"A pull request already exists for {repo.owner}:{head}."))
        now = int(self.world_clock())
        number = len(repo.issues) + 1
        sha = hashlib.sha1(f"{repo.full_name} {head} {number} {now}".encode()).hexdigest()  # noqa: S324
        pr = Issue(number, title.strip(), str(body.get("body") or ""), caller.login, [], "open",
                   now, now, None, 0, head_ref=head, head_sha=sha, base_ref=base_ref,
                   draft=bool(body.get("draft", False)), additions=12, deletions=3)
        repo.issues.append(pr)
        repo.branches.add(head)
        self.objects["pull_requests"] += 1
        self._start_run(repo, 0, branch=head, sha=sha, event="pull_request", actor=caller.login,
                        title=pr.title, pulls=[number])
        base = self._base(request)
        location = f"{base}/repos/{repo.full_name}/pulls/{number}"
        return Reply(201, orjson.dumps(self.world.pull_json(base, repo, pr, full=True)),
                     [(b"location", location.encode())])

    def _merge_pull(self, request: Request, repo: Repo, args: dict[str, str],
                    caller: Caller) -> Reply:
        pr = repo.issue(int(args["number"]))
        if pr is None or not pr.is_pull:
            raise _not_found(f"{DOCS}/pulls/pulls#merge-a-pull-request")
        body = self._body(request)
        body = body if isinstance(body, dict) else {}
        docs = f"{DOCS}/pulls/pulls#merge-a-pull-request"
        if pr.state != "open":
            raise GitHubError(405, "Pull Request is not mergeable", docs)
        if body.get("sha") and body["sha"] != pr.head_sha:
            raise GitHubError(409, "Head branch was modified. Review and try the merge again.",
                              docs)
        method = str(body.get("merge_method", "merge"))
        checks = self._checks(repo, pr.head_sha, self.world_clock())
        for context in repo.required_checks.get(pr.base_ref, []):
            if checks.get(context, ("", 0))[0] not in ("success", "neutral", "skipped"):
                raise GitHubError(405, f'Required status check "{context}" is expected.', docs)
        sha = self._merge(repo, pr, self.world_clock(), method, caller.login)
        return Reply(200, orjson.dumps({"sha": sha, "merged": True,
                                        "message": "Pull Request successfully merged"}))

    def _dispatch(self, request: Request, repo: Repo, args: dict[str, str],
                  caller: Caller) -> Reply:
        index = self._workflow_index(repo, args["workflow"])
        body = self._body(request)
        ref = body.get("ref") if isinstance(body, dict) else None
        if not isinstance(ref, str) or not ref:
            raise _validation("Workflow", "ref", "missing_field")
        branch = ref.removeprefix("refs/heads/")
        if branch not in repo.branches:
            raise GitHubError(422, f"No ref found for: {ref}",
                              f"{DOCS}/actions/workflows#create-a-workflow-dispatch-event")
        head = repo.commits[0].sha if branch == "main" and repo.commits else next(
            (p.head_sha or "" for p in repo.pulls() if p.head_ref == branch), "")
        self._start_run(repo, index, branch=branch, sha=head, event="workflow_dispatch",
                        actor=caller.login, title=WORKFLOWS[index][0])
        return Reply(204, b"")

    def _graphql(self, request: Request, repo: Repo | None, args: dict[str, str],
                 caller: Caller) -> Reply:
        """The ``enablePullRequestAutoMerge`` mutation; any other field is refused the way
        GitHub refuses a field its schema lacks."""
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _graphql_errors([{"message": "A query attribute must be specified and must "
                                                "be a string."}], status=400)
        query = body["query"]
        variables = body.get("variables") or {}
        match = re.search(r"(?:mutation|query)\b[^{]*\{\s*(\w+)|^\s*\{\s*(\w+)", query)
        if match is None:
            return _graphql_errors([{"message": "Parse error on query", "locations": [
                {"line": 1, "column": 1}]}])
        field = match.group(1) or match.group(2)
        if field != "enablePullRequestAutoMerge" or not query.lstrip().startswith("mutation"):
            kind = "Mutation" if query.lstrip().startswith("mutation") else "Query"
            return _graphql_errors([{
                "path": [kind.lower(), field], "extensions": {
                    "code": "undefinedField", "typeName": kind, "fieldName": field},
                "locations": [{"line": 1, "column": match.start(1 if match.group(1) else 2) + 1}],
                "message": f"Field '{field}' doesn't exist on type '{kind}'"}])
        arguments = _graphql_input(query, variables)
        return self._enable_auto_merge(request, arguments, caller)

    def _enable_auto_merge(self, request: Request, arguments: dict[str, Any],
                           caller: Caller) -> Reply:
        path = ["enablePullRequestAutoMerge"]
        node_id = arguments.get("pullRequestId")
        method = str(arguments.get("mergeMethod") or "MERGE").upper()
        if method not in _MERGE_METHODS:
            return _graphql_errors([{"message": (
                f"Argument 'mergeMethod' on InputObject 'EnablePullRequestAutoMergeInput' has "
                f"an invalid value ({method}). Expected type 'PullRequestMergeMethod'.")}])
        found = self.world.find_pull_by_node(str(node_id)) if node_id else None
        if found is None or not caller.may_see(found[0]):
            return _graphql_errors([{"type": "NOT_FOUND", "path": path, "message": (
                f"Could not resolve to a node with the global id of '{node_id}'")}], data=True)
        repo, pr = found
        problem = None
        required = repo.required_checks.get(pr.base_ref, [])
        checks = self._checks(repo, pr.head_sha, self.world_clock())
        if not repo.allow_auto_merge:
            problem = "Pull request Auto merge is not allowed for this repository"
        elif pr.state != "open":
            problem = "Pull request is closed"
        elif not required or all(checks.get(c, ("", 0))[0] == "success" for c in required):
            problem = "Pull request is in clean status"
        if problem is not None:
            return _graphql_errors([{"type": "UNPROCESSABLE", "path": path,
                                     "message": problem}], data=True)
        title = arguments.get("commitHeadline") or f"{pr.title} (#{pr.number})"
        pr.auto_merge = {"enabled_by": caller.login, "merge_method": method.lower(),
                         "commit_title": title, "commit_message": arguments.get("commitBody")
                         or pr.body, "enabled_at": self.world_clock()}
        pr.updated = int(self.world_clock())
        self._auto_merging.append((repo, pr))
        self.objects["auto_merges"] += 1
        data = {"enablePullRequestAutoMerge": {
            "clientMutationId": arguments.get("clientMutationId"),
            "pullRequest": {
                "id": node_id, "number": pr.number,
                "url": f"https://github.com/{repo.full_name}/pull/{pr.number}",
                "autoMergeRequest": {
                    "enabledAt": iso(self.world_clock()), "mergeMethod": method,
                    "commitHeadline": title, "commitBody": pr.auto_merge["commit_message"],
                    "enabledBy": {"login": caller.login}}}}}
        return Reply(200, orjson.dumps({"data": data}))


def _graphql_errors(errors: list[dict[str, Any]], *, status: int = 200,
                    data: bool = False) -> Reply:
    body: dict[str, Any] = {"errors": errors}
    if data:
        body = {"data": {"enablePullRequestAutoMerge": None}, **body}
    return Reply(status, orjson.dumps(body))


_ARG = r"(?<![$\w]){name}\s*:\s*(?:\$(?P<var>\w+)|\"(?P<text>(?:[^\"\\]|\\.)*)\"|(?P<word>\w+))"


def _graphql_input(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The mutation's input fields, from ``input: $var`` or inline ``name: value`` pairs."""
    whole = re.search(r"input\s*:\s*\$(\w+)", query)
    if whole is not None and isinstance(variables.get(whole.group(1)), dict):
        return dict(variables[whole.group(1)])
    out: dict[str, Any] = {}
    for name in ("pullRequestId", "mergeMethod", "commitHeadline", "commitBody",
                 "clientMutationId", "authorEmail", "expectedHeadOid"):
        match = re.search(_ARG.format(name=name), query)
        if match is None:
            continue
        if match.group("var"):
            out[name] = variables.get(match.group("var"))
        elif match.group("text") is not None:
            out[name] = match.group("text").encode().decode("unicode_escape")
        else:
            out[name] = match.group("word")
    return out


def _request_id() -> str:
    """GitHub's ``X-GitHub-Request-Id`` shape: ``C3A2:1F0E:4B1D2E:9A3C41:65A0B1C2``."""
    raw = secrets.token_hex(15).upper()
    return f"{raw[:4]}:{raw[4:8]}:{raw[8:14]}:{raw[14:21]}:{raw[21:29]}"


def _secondary_message(request_id: str | None = None) -> str:
    text = "You have exceeded a secondary rate limit. Please wait a few minutes before you try " \
           "again."
    if request_id:
        text += (" If you reach out to GitHub Support for help, please include the request ID "
                 f"{request_id}.")
    return text


def _cache_headers() -> Headers:
    return [(b"cache-control", b"private, max-age=60, s-maxage=60"),
            (b"vary", b"Accept, Authorization, Cookie, X-GitHub-OTP")]


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    strip = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == strip for tag in header.split(","))


def _int(raw: str | None, default: int, lo: int, hi: int | None) -> int:
    """GitHub reads a bad ``page``/``per_page`` as the default and clamps the rest."""
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        value = default
    value = max(lo, value)
    return min(hi, value) if hi is not None else value


def _time_param(query: dict[str, str], name: str, resource: str) -> float | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError:
        raise _validation(resource, name, value=raw) from None
