"""GitHub: repository-scoped paths, friendly reads, rate limits answered with 403, the
pull-request writes (with auto-merge, a GraphQL mutation) and a workflow-run watcher.

>>> gh = ik.connect("github", token="ghp_...")                          # doctest: +SKIP
>>> gh.issues("octo-org/atlas", state="open", labels=["bug"], since="2024-01-01").to_frame()
>>> gh.search_issues("repo:octo-org/atlas is:pr is:merged").to_frame()
>>> pr = gh.create_pull_request("octo-org", "atlas", "Fix parser", "fix/parser", "main",
...                             "Closes #12", auto_merge={"merge_method": "squash",
...                                                       "required_checks": ["build", "test"]})
>>> gh.watch_workflow("octo-org", "atlas", "ci.yml", branch="fix/parser", on_complete=print)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from ..._errors import (
    ApiError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
)
from ..._http import RetryPolicy
from ..._results import Result
from ..._validate import duration
from .._definition import ConnectorDef
from .._listing import Strategies, register_strategies
from .._rest import Connection, Listing
from .github_watch import RunWatch, watch_run

__all__ = ["GitHubConnection"]

_ENABLE_AUTO_MERGE = """
mutation($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!,
         $commitHeadline: String, $commitBody: String) {
  enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId, mergeMethod: $mergeMethod,
                                     commitHeadline: $commitHeadline, commitBody: $commitBody}) {
    pullRequest { id number url autoMergeRequest { enabledAt mergeMethod enabledBy { login } } }
  }
}
""".strip()


def count_by_last_link(listing: Listing) -> int | None:
    """How many records ``listing`` holds, from one call asking for one record a page: the
    ``last`` page link then numbers them (what ``Result.estimate()`` uses). Search answers
    say it in ``total_count`` (GitHub serves at most 1,000 of them)."""
    request = listing.with_params(per_page=1).first_request()
    request.params["per_page"] = 1
    response, data, _ = listing.conn.send(request, endpoint=listing.endpoint,
                                          priority=listing.priority)
    if isinstance(data, dict) and isinstance(data.get("total_count"), int):
        return int(min(data["total_count"], 1000))
    last = response.links.get("last", {}).get("url")
    if last:
        page = httpx.URL(last).params.get("page")
        if page and page.isdigit():
            return int(page)
    return len(listing.page_records(data))


register_strategies("github", Strategies(count=count_by_last_link))


class GitHubConnection(Connection):
    """GitHub's REST API (and the one GraphQL mutation auto-merge needs).

    ``repo="owner/name"`` sets the repository friendly calls use when they are given none
    (the default of the ``owner`` and ``repo`` path parameters).
    """

    def __init__(self, definition: ConnectorDef, *, repo: str | None = None,
                 retry: dict[str, Any] | RetryPolicy | None = None,
                 quotas: dict[str, Any] | None = None, account: str = "default",
                 **options: Any) -> None:
        if quotas is not None:  # a 304 never spends a budget the caller sets
            quotas = {"not_modified_free": True, **quotas}
        app_id = getattr(options.get("auth"), "app_id", None)
        if account == "default" and app_id is not None:
            account = f"app-{app_id}"  # the installation's own limits, not a token's
        super().__init__(definition, retry=retry, quotas=quotas, account=account,
                         path_params={"repo": repo, **(options.pop("path_params", None) or {})},
                         **options)
        self.default_repo = repo
        self.rate_seen: dict[str, dict[str, int]] = {}
        hooks = self.client.event_hooks
        hooks["response"] = [*hooks.get("response", []), self._note_response]
        self.client.event_hooks = hooks

    # -- responses -------------------------------------------------------------------------
    def _note_response(self, response: httpx.Response) -> None:
        """Remember each resource's rate-limit window."""
        headers = response.headers
        resource = headers.get("x-ratelimit-resource")
        if resource:
            try:
                self.rate_seen[resource] = {
                    name: int(headers[f"x-ratelimit-{name}"])
                    for name in ("limit", "remaining", "used", "reset")}
            except (KeyError, ValueError):
                pass


    # -- paths -------------------------------------------------------------------------------
    # -- friendly reads ----------------------------------------------------------------------
    def repository(self, repo: str | None = None) -> dict[str, Any]:
        """One repository (``full-repository``)."""
        endpoint = "repositories.retrieve"
        path = self.fill_path("/repos/{owner}/{repo}", {"repo": repo}, endpoint=endpoint,
                              where="github.repository()", declared=self.definition.parameters)
        return self.request("GET", path, endpoint=endpoint)  # type: ignore[no-any-return]

    def repositories(self, owner: str | None = None, **params: Any) -> Result:
        """An organization's repositories; without ``owner``, the token's own (or, for a
        GitHub App, the installation's)."""
        if owner:
            return self.list("repositories", owner=owner, **params)
        if getattr(self._auth, "app_id", None) is not None:
            return self.list("installation_repositories", **params)
        return self.list("user_repositories", **params)

    def issues(self, repo: str | None = None, *, state: str = "open",
               labels: Sequence[str] | str | None = None, since: Any = None,
               **params: Any) -> Result:
        """A repository's issues, newest first. GitHub counts pull requests as issues: they
        carry a ``pull_request`` field (``pull_request.url`` in a frame)."""
        extra: dict[str, Any] = {k: v for k, v in (("labels", labels), ("since", since)) if v}
        return self.list("issues", repo=repo, state=state, **extra, **params)

    def pulls(self, repo: str | None = None, *, state: str = "open", **params: Any) -> Result:
        """A repository's pull requests (``head=``, ``base=``, ``sort=``, ``direction=``)."""
        return self.list("pulls", repo=repo, state=state, **params)

    def commits(self, repo: str | None = None, *, since: Any = None, until: Any = None,
                **params: Any) -> Result:
        """A branch's commits, newest first (``sha=``, ``path=``, ``author=``)."""
        extra = {k: v for k, v in (("since", since), ("until", until)) if v}
        return self.list("commits", repo=repo, **extra, **params)

    def workflows(self, repo: str | None = None, **params: Any) -> Result:
        """A repository's Actions workflows."""
        return self.list("workflows", repo=repo, **params)

    def workflow_runs(self, repo: str | None = None, *, workflow: str | int | None = None,
                      **params: Any) -> Result:
        """Actions runs, newest first; ``workflow`` (an id or a file name like ``ci.yml``)
        narrows to one workflow; ``status=``, ``branch=``, ``event=``, ``created=``."""
        if workflow is not None:
            return self.list("workflow_runs_for_workflow", repo=repo, workflow=workflow,
                             **params)
        return self.list("workflow_runs", repo=repo, **params)

    def jobs(self, run: int | Mapping[str, Any], repo: str | None = None,
             **params: Any) -> Result:
        """The jobs of a run, given its id (and ``repo``) or the run itself (a record of
        :meth:`workflow_runs`, whose repository it names)."""
        if isinstance(run, Mapping):
            repo = repo or (run.get("repository") or {}).get("full_name") \
                or run.get("repository.full_name")
            run = int(run["id"])
        return self.list("jobs", repo=repo, run_id=run, **params)

    def releases(self, repo: str | None = None, **params: Any) -> Result:
        """A repository's releases, newest first."""
        return self.list("releases", repo=repo, **params)

    def search_issues(self, q: str, **params: Any) -> Result:
        """Issues and pull requests matching GitHub's search syntax (the first 1,000)."""
        return self.list("search_issues", q=q, **params)

    def search_code(self, q: str, **params: Any) -> Result:
        """Files matching GitHub's code search syntax (the first 1,000)."""
        return self.list("search_code", q=q, **params)

    def rate_limit(self) -> dict[str, Any]:
        """GitHub's own account of every rate-limit window (this call costs none)."""
        body = self.request("GET", "/rate_limit", endpoint="rate_limit")
        return dict(body.get("resources", {}))

    # -- writes ------------------------------------------------------------------------------
    def create_pull_request(
        self, owner: str, repo: str, title: str, head: str, base: str, body: str | None = None,
        *, draft: bool = False, auto_merge: Mapping[str, Any] | None = None, **params: Any,
    ) -> dict[str, Any]:
        """Open a pull request from ``head`` into ``base``.

        ``auto_merge={"merge_method": "squash", "required_checks": ["build", "test"]}`` makes
        the named checks required on ``base`` (its branch protection), then enables
        auto-merge (GitHub's GraphQL mutation ``enablePullRequestAutoMerge``; REST has none):
        GitHub merges the pull request once every required check passes. If nothing is left
        to wait for, GitHub calls the pull request clean and it is merged now. Returns the
        pull request as it stands (``auto_merge`` set, or ``merged``).
        """
        payload = {"title": title, "head": head, "base": base, "draft": draft, **params}
        if body is not None:
            payload["body"] = body
        pr: dict[str, Any] = self.call_operation("create_pull_request",
                                                 {"owner": owner, "repo": repo, **payload})
        if not auto_merge:
            return pr
        unknown = set(auto_merge) - {"merge_method", "required_checks", "commit_title",
                                     "commit_message"}
        if unknown:
            raise ConfigError(f"auto_merge takes merge_method, required_checks, commit_title "
                              f"and commit_message, not {sorted(unknown)}")
        method = str(auto_merge.get("merge_method", "merge")).lower()
        checks = list(auto_merge.get("required_checks") or [])
        if checks:
            self.call_operation("add_required_checks", {"owner": owner, "repo": repo,
                                                        "branch": base, "contexts": checks})
        try:
            self.enable_auto_merge(pr["node_id"], merge_method=method,
                                   commit_headline=auto_merge.get("commit_title"),
                                   commit_body=auto_merge.get("commit_message"))
        except InvalidRequestError as err:
            if "clean status" not in err.message:
                raise
            self.call_operation("merge_pull_request", {
                "owner": owner, "repo": repo, "pull_number": pr["number"],
                "merge_method": method, "sha": pr["head"]["sha"]})
        return self.retrieve("pulls", pr["number"], owner=owner, repo=repo)

    def enable_auto_merge(self, pull_request_id: str, *, merge_method: str = "merge",
                          commit_headline: str | None = None,
                          commit_body: str | None = None) -> dict[str, Any]:
        """Let GitHub merge a pull request (its GraphQL ``node_id``) when its required checks
        pass; GitHub's ``autoMergeRequest``."""
        variables = {"pullRequestId": pull_request_id, "mergeMethod": merge_method.upper(),
                     "commitHeadline": commit_headline, "commitBody": commit_body}
        answer = self.call_operation("enable_pull_request_auto_merge",
                                     {"query": _ENABLE_AUTO_MERGE, "variables": variables})
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            first = errors[0]
            cls: type[ApiError] = NotFoundError if first.get("type") == "NOT_FOUND" \
                else InvalidRequestError
            raise cls(str(first.get("message")), service=self.service,
                      endpoint="enable_pull_request_auto_merge", status=200,
                      code=first.get("type"))
        result: dict[str, Any] = answer["data"]["enablePullRequestAutoMerge"]["pullRequest"][
            "autoMergeRequest"]
        return result

    # -- watching ----------------------------------------------------------------------------
    def watch_workflow(
        self, owner: str, repo: str, workflow: str | int, *, run_id: int | None = None,
        branch: str | None = None, head_sha: str | None = None,
        on_complete: Callable[[dict[str, Any]], Any] | None = None,
        on_update: Callable[[dict[str, Any]], Any] | None = None,
        timeout: float | str = 3600.0, share: float = 0.5, min_interval: float | str = 1.0,
        max_interval: float | str = 60.0,
        sleep: Callable[[float], None] = time.sleep, stats: RunWatch | None = None,
    ) -> dict[str, Any]:
        """Follow a run of ``workflow`` (id or file name) to its conclusion and return it.

        The run is ``run_id``, else the newest run of the workflow (on ``branch`` / for
        ``head_sha`` if given). Polls are conditional requests (an unchanged run costs a
        ``304``, which GitHub does not count) spaced by the Actions rate limit left: the
        requests remaining spread over the time to the reset, of which the watch takes
        ``share``, between ``min_interval`` and ``max_interval`` seconds. ``on_update`` sees
        each status change, ``on_complete`` the finished run. ``stats`` (a ``RunWatch``)
        collects polls, free 304s and seconds waited. ``timeout`` and the intervals take any
        duration (``"1h"``, ``"30s"``).
        """
        timeout = duration(timeout, "timeout", positive=True)
        min_interval = duration(min_interval, "min_interval", positive=True)
        max_interval = duration(max_interval, "max_interval", positive=True)
        if run_id is None:
            filters = {k: v for k, v in (("branch", branch), ("head_sha", head_sha)) if v}
            listing = self.workflow_runs(f"{owner}/{repo}", workflow=workflow, per_page=1,
                                         max_records=1, prefetch=False, **filters)
            found = list(listing)
            if not found:
                raise NotFoundError(f"no runs of workflow {workflow!r} in {owner}/{repo}"
                                    + (f" for {filters}" if filters else ""),
                                    service=self.service, endpoint="workflow_runs.list")
            run_id = int(found[0]["id"])
        run = watch_run(self, f"/repos/{owner}/{repo}/actions/runs/{run_id}",
                        endpoint="workflow_runs.retrieve", on_update=on_update,
                        timeout=timeout, share=share, min_interval=min_interval,
                        max_interval=max_interval, sleep=sleep, stats=stats)
        if on_complete is not None:
            on_complete(run)
        return run


CONNECTION = GitHubConnection
