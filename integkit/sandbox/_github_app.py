"""GitHub App authentication, emulated: app JWTs, installations and installation tokens.

``GitHubAppAuth`` is the reusable part (a full GitHub emulator delegates to its ``handle`` and
calls ``installation_for`` on its own endpoints); ``GitHubAppEmulator`` serves it alone. With
GitHub's wire format (checked against the official OpenAPI description):

- ``GET /app``, ``GET /app/installations``, ``GET /repos/{owner}/{repo}/installation``,
  ``GET /orgs/{org}/installation``, ``GET /users/{username}/installation`` and
  ``POST /app/installations/{installation_id}/access_tokens`` (``repositories`` /
  ``repository_ids`` / ``permissions`` narrow the token) take the app's RS256 JWT, checked like
  GitHub does: signature, ``iss``, ``iat`` not in the future, ``exp`` in the future and at most
  10 minutes ahead; refusals are 401 with GitHub's ``{"message", "documentation_url",
  "status"}`` body and GitHub's messages.
- ``GET /installation/repositories`` (``per_page`` up to 100, ``page``; RFC 8288 ``Link``
  header with prev/next/last/first) and ``DELETE /installation/token`` take an installation
  token (``ghs_`` + 36 characters), which expires after ``token_lifetime`` seconds (an hour at
  GitHub; shorter here to test refreshes). An unknown, revoked or expired token: 401
  ``Bad credentials``.

Every answer carries ``X-GitHub-Request-Id`` and a ``Date`` from the emulator's clock (so a
client can learn the clock skew, as from GitHub).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import string
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ._app import Emulator, Reply, Request, new_request_id
from ._faults import Headers

__all__ = [
    "GitHubAppAuth",
    "GitHubAppEmulator",
    "GitHubError",
    "Installation",
    "IssuedToken",
    "SandboxApp",
]

DOCS = "https://docs.github.com/rest"
API_VERSION = "2022-11-28"
JWT_MAX_AHEAD = 600  # GitHub: exp no more than 10 minutes into the future
TOKEN_CHARS = string.ascii_letters + string.digits
MSG_UNDECODABLE = "A JSON web token could not be decoded"
MSG_EXP = ("'Expiration time' claim ('exp') must be a numeric value representing the future "
           "time at which the assertion expires")
MSG_EXP_FAR = "'Expiration time' claim ('exp') is too far in the future"
MSG_IAT = ("'Issued at' claim ('iat') must be an Integer representing the time that the "
           "assertion was issued")
MSG_ISS = "'Issuer' claim ('iss') must be an Integer"
MSG_NO_APP = "Integration not found"
MSG_BAD_CREDENTIALS = "Bad credentials"


class GitHubError(Exception):
    """An answer in GitHub's error shape: ``{"message", "documentation_url", "status"}``."""

    def __init__(self, status: int, message: str, documentation_url: str = DOCS,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.errors = errors

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body["status"] = str(self.status)
        return body

    def reply(self) -> Reply:
        return Reply(self.status, orjson.dumps(self.payload()))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class SandboxApp:
    """A registered GitHub App: its id, client id, public key, and (if the sandbox made the key
    pair) the private key PEM to hand to the client."""

    id: int
    slug: str
    client_id: str
    public_key: rsa.RSAPublicKey
    private_key_pem: str | None = None
    owner: str = "octo-org"

    def as_json(self, created_at: str) -> dict[str, Any]:
        return {
            "id": self.id, "slug": self.slug, "client_id": self.client_id,
            "node_id": base64.b64encode(f"A_{self.id}".encode()).decode(),
            "owner": _account(self.owner, "Organization"), "name": self.slug.replace("-", " "),
            "description": "An integkit sandbox app", "external_url": "https://example.com",
            "html_url": f"https://github.com/apps/{self.slug}", "created_at": created_at,
            "updated_at": created_at, "permissions": {"metadata": "read", "contents": "read"},
            "events": [], "installations_count": 0,
        }


@dataclass
class Installation:
    """An app installed on an account, with the repositories it may reach."""

    id: int
    app: SandboxApp
    account: str
    account_type: str
    repositories: list[dict[str, Any]]
    permissions: dict[str, str]
    created_at: str
    repository_selection: str = "all"

    def as_json(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id, "account": _account(self.account, self.account_type),
            "repository_selection": self.repository_selection,
            "access_tokens_url": f"{base}/app/installations/{self.id}/access_tokens",
            "repositories_url": f"{base}/installation/repositories",
            "html_url": f"https://github.com/organizations/{self.account}/settings/"
                        f"installations/{self.id}",
            "app_id": self.app.id, "client_id": self.app.client_id, "app_slug": self.app.slug,
            "target_id": _account_id(self.account), "target_type": self.account_type,
            "permissions": dict(self.permissions), "events": [],
            "created_at": self.created_at, "updated_at": self.created_at,
            "single_file_name": None, "has_multiple_single_files": False,
            "single_file_paths": [], "suspended_by": None, "suspended_at": None,
        }


@dataclass
class IssuedToken:
    """An installation token the sandbox handed out."""

    token: str
    installation: Installation
    expires_at: float
    repositories: list[dict[str, Any]] | None = None
    permissions: dict[str, str] = field(default_factory=dict)
    revoked: bool = False
    calls: int = 0


def _account_id(login: str) -> int:
    return 1_000 + sum(ord(c) * (i + 1) for i, c in enumerate(login)) % 900_000


def _account(login: str, kind: str) -> dict[str, Any]:
    base = "https://api.github.com"
    plural = "orgs" if kind == "Organization" else "users"
    return {
        "login": login, "id": _account_id(login),
        "node_id": base64.b64encode(f"U_{login}".encode()).decode(),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{_account_id(login)}?v=4",
        "gravatar_id": "", "url": f"{base}/{plural}/{login}", "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/users/{login}/followers",
        "following_url": f"{base}/users/{login}/following{{/other_user}}",
        "gists_url": f"{base}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{base}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/users/{login}/subscriptions",
        "organizations_url": f"{base}/users/{login}/orgs",
        "repos_url": f"{base}/{plural}/{login}/repos",
        "events_url": f"{base}/{plural}/{login}/events{{/privacy}}",
        "received_events_url": f"{base}/users/{login}/received_events",
        "type": kind, "site_admin": False,
    }


_REPO_URLS = {
    "archive": "/{archive_format}{/ref}", "assignees": "/assignees{/user}",
    "blobs": "/git/blobs{/sha}", "branches": "/branches{/branch}",
    "collaborators": "/collaborators{/collaborator}", "comments": "/comments{/number}",
    "commits": "/commits{/sha}", "compare": "/compare/{base}...{head}",
    "contents": "/contents/{+path}", "contributors": "/contributors",
    "deployments": "/deployments", "downloads": "/downloads", "events": "/events",
    "forks": "/forks", "git_commits": "/git/commits{/sha}", "git_refs": "/git/refs{/sha}",
    "git_tags": "/git/tags{/sha}", "hooks": "/hooks",
    "issue_comment": "/issues/comments{/number}", "issue_events": "/issues/events{/number}",
    "issues": "/issues{/number}", "keys": "/keys{/key_id}", "labels": "/labels{/name}",
    "languages": "/languages", "merges": "/merges", "milestones": "/milestones{/number}",
    "notifications": "/notifications{?since,all,participating}", "pulls": "/pulls{/number}",
    "releases": "/releases{/id}", "stargazers": "/stargazers", "statuses": "/statuses/{sha}",
    "subscribers": "/subscribers", "subscription": "/subscription", "tags": "/tags",
    "teams": "/teams", "trees": "/git/trees{/sha}",
}


def _repository(owner: str, kind: str, name: str, index: int, created: float) -> dict[str, Any]:
    full = f"{owner}/{name}"
    api = f"https://api.github.com/repos/{full}"
    stamp = _iso(created - 86_400 * (index + 1))
    return {
        "id": 100_000 + _account_id(owner) * 1_000 + index,
        "node_id": base64.b64encode(f"R_{full}".encode()).decode(), "name": name,
        "full_name": full, "owner": _account(owner, kind), "private": index % 3 == 0,
        "html_url": f"https://github.com/{full}", "description": f"Sandbox repository {index}",
        "fork": False, "url": api, **{f"{k}_url": api + v for k, v in _REPO_URLS.items()},
        "clone_url": f"https://github.com/{full}.git",
        "git_url": f"git://github.com/{full}.git", "ssh_url": f"git@github.com:{full}.git",
        "svn_url": f"https://github.com/{full}", "homepage": None,
        "language": ("Python", "TypeScript", "Go", "Rust")[index % 4],
        "forks_count": index % 7, "forks": index % 7, "stargazers_count": (index * 37) % 500,
        "watchers_count": (index * 37) % 500, "watchers": (index * 37) % 500,
        "size": 100 + index * 13, "default_branch": "main", "open_issues_count": index % 11,
        "open_issues": index % 11, "is_template": False, "topics": [], "has_issues": True,
        "has_projects": True, "has_wiki": False, "has_pages": False, "has_downloads": True,
        "archived": False, "disabled": False, "visibility": "private" if index % 3 == 0
        else "public", "pushed_at": stamp, "created_at": stamp, "updated_at": stamp,
        "license": None, "mirror_url": None,
    }


_JWT_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/app"), "app"),
    ("GET", re.compile(r"/app/installations"), "installations"),
    ("GET", re.compile(r"/app/installations/(?P<id>\d+)"), "installation"),
    ("POST", re.compile(r"/app/installations/(?P<id>\d+)/access_tokens"), "access_token"),
    ("GET", re.compile(r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/installation"), "repo"),
    ("GET", re.compile(r"/orgs/(?P<org>[^/]+)/installation"), "org"),
    ("GET", re.compile(r"/users/(?P<user>[^/]+)/installation"), "user"),
]


class GitHubAppAuth:
    """The state and routes of GitHub App authentication, for any emulator to embed.

    ``handle(request)`` answers the app routes (None for any other path);
    ``installation_for(request)`` checks an installation token on the embedding emulator's own
    endpoints. Tests read ``token_requests`` (tokens issued, by installation id) and
    ``jwt_rejections`` (refused JWTs, by message).

    >>> auth = GitHubAppAuth(token_lifetime=60)
    >>> app = auth.create_app()
    >>> installation = auth.install(app.id, "octo-org", repositories=5)
    >>> len(installation.repositories)
    5
    """

    def __init__(self, *, token_lifetime: float = 3600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.token_lifetime = float(token_lifetime)
        self.clock = clock
        self.apps: dict[int, SandboxApp] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.token_requests: Counter[int] = Counter()
        self.jwt_rejections: Counter[str] = Counter()
        self._app_ids = itertools.count(100_001)
        self._installation_ids = itertools.count(40_000_001)

    # -- set-up ------------------------------------------------------------------------------
    def register_app(self, app_id: int, public_key: rsa.RSAPublicKey | str | bytes, *,
                     slug: str | None = None, owner: str = "octo-org") -> SandboxApp:
        """Accept JWTs from app ``app_id`` signed by the private half of ``public_key``."""
        if not isinstance(public_key, rsa.RSAPublicKey):
            data = public_key.encode() if isinstance(public_key, str) else public_key
            loaded = serialization.load_pem_public_key(data)
            if not isinstance(loaded, rsa.RSAPublicKey):
                raise ValueError("a GitHub App key is an RSA key")
            public_key = loaded
        app = SandboxApp(app_id, slug or f"integkit-sandbox-{app_id}", f"Iv1.{app_id:016x}",
                         public_key, owner=owner)
        self.apps[app_id] = app
        return app

    def create_app(self, *, slug: str | None = None, owner: str = "octo-org") -> SandboxApp:
        """A new app with a fresh RSA key pair; its ``private_key_pem`` is what a client needs."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        app = self.register_app(next(self._app_ids), key.public_key(), slug=slug, owner=owner)
        app.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        return app

    def install(self, app_id: int, account: str = "octo-org", *,
                account_type: str = "Organization", repositories: int | Sequence[str] = 3,
                permissions: Mapping[str, str] | None = None) -> Installation:
        """Install app ``app_id`` on ``account`` with ``repositories`` (a count or names)."""
        app = self.apps[app_id]
        names = [f"repo-{i:03d}" for i in range(repositories)] \
            if isinstance(repositories, int) else list(repositories)
        now = self.clock()
        repos = [_repository(account, account_type, n, i, now) for i, n in enumerate(names)]
        installation = Installation(
            next(self._installation_ids), app, account, account_type, repos,
            dict(permissions or {"metadata": "read", "contents": "read"}), _iso(now),
        )
        self.installations[installation.id] = installation
        return installation

    def revoke_tokens(self) -> int:
        """Revoke every token handed out (a client must get a new one); how many were live."""
        live = [t for t in self.tokens.values() if not t.revoked]
        for token in live:
            token.revoked = True
        return len(live)

    # -- checks ------------------------------------------------------------------------------
    def verify_jwt(self, authorization: str | None) -> SandboxApp:
        """The app whose JWT ``authorization`` carries; GitHubError(401) as GitHub words it."""
        try:
            return self._verify_jwt(authorization)
        except GitHubError as err:
            self.jwt_rejections[err.message] += 1
            raise

    def _verify_jwt(self, authorization: str | None) -> SandboxApp:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            raise GitHubError(401, MSG_UNDECODABLE)
        head_b64, claims_b64, sig_b64 = token.strip().split(".")
        try:
            header = json.loads(_unb64(head_b64))
            claims = json.loads(_unb64(claims_b64))
            signature = _unb64(sig_b64)
        except ValueError:
            raise GitHubError(401, MSG_UNDECODABLE) from None
        if not isinstance(header, dict) or header.get("alg") != "RS256" \
                or not isinstance(claims, dict):
            raise GitHubError(401, MSG_UNDECODABLE)
        app = self._issuer(claims.get("iss"))
        try:
            app.public_key.verify(signature, f"{head_b64}.{claims_b64}".encode(),
                                  padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise GitHubError(401, MSG_UNDECODABLE) from None
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now:
            raise GitHubError(401, MSG_IAT)
        if not isinstance(exp, int | float) or exp <= now:
            raise GitHubError(401, MSG_EXP)
        if exp > now + JWT_MAX_AHEAD:
            raise GitHubError(401, MSG_EXP_FAR)
        return app

    def _issuer(self, iss: Any) -> SandboxApp:
        if isinstance(iss, str) and not iss.isdigit():
            app = next((a for a in self.apps.values() if a.client_id == iss), None)
            if app is None:
                raise GitHubError(401, MSG_ISS)
            return app
        if not isinstance(iss, int | str):
            raise GitHubError(401, MSG_ISS)
        found = self.apps.get(int(iss))
        if found is None:
            raise GitHubError(401, MSG_NO_APP)
        return found

    def installation_for(self, authorization: str | None) -> IssuedToken:
        """The live token ``authorization`` carries (``token X`` or ``Bearer X``)."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        issued = self.tokens.get(value.strip()) if scheme.lower() in ("token", "bearer") \
            else None
        if issued is None or issued.revoked or self.clock() >= issued.expires_at:
            raise GitHubError(401, MSG_BAD_CREDENTIALS)
        issued.calls += 1
        return issued

    # -- routes ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply | None:
        """Answer an app-authentication route; None when ``request`` is for another path."""
        path = request.path.rstrip("/") or "/"
        try:
            if path == "/installation/repositories" and request.method == "GET":
                return self._repositories(request)
            if path == "/installation/token" and request.method == "DELETE":
                self.installation_for(request.headers.get("authorization")).revoked = True
                return Reply(204, b"")
            for method, pattern, name in _JWT_ROUTES:
                match = pattern.fullmatch(path)
                if match is None or method != request.method:
                    continue
                app = self.verify_jwt(request.headers.get("authorization"))
                return self._app_route(name, app, match.groupdict(), request)
        except GitHubError as err:
            return err.reply()
        return None

    def _app_route(self, name: str, app: SandboxApp, args: dict[str, str],
                   request: Request) -> Reply:
        base = _base_url(request)
        mine = [i for i in self.installations.values() if i.app is app]
        if name == "app":
            body = app.as_json(_iso(self.clock()))
            body["installations_count"] = len(mine)
            return Reply(200, orjson.dumps(body))
        if name == "installations":
            return Reply(200, orjson.dumps([i.as_json(base) for i in mine]))
        found: Installation | None
        if name in ("installation", "access_token"):
            found = self.installations.get(int(args["id"]))
            found = found if found is not None and found.app is app else None
        elif name == "repo":
            full = f"{args['owner']}/{args['repo']}".lower()
            found = next((i for i in mine if any(r["full_name"].lower() == full
                                                 for r in i.repositories)), None)
        else:
            login = (args.get("org") or args.get("user") or "").lower()
            kind = "Organization" if name == "org" else "User"
            found = next((i for i in mine if i.account.lower() == login
                          and i.account_type == kind), None)
        if found is None:
            raise GitHubError(404, "Not Found", _NOT_FOUND_DOCS.get(name, DOCS))
        if name != "access_token":
            return Reply(200, orjson.dumps(found.as_json(base)))
        return self._issue(found, request)

    def _issue(self, installation: Installation, request: Request) -> Reply:
        try:
            wanted = orjson.loads(request.body) if request.body.strip() else {}
        except orjson.JSONDecodeError:
            raise GitHubError(400, "Problems parsing JSON") from None
        if not isinstance(wanted, dict):
            raise GitHubError(400, "Problems parsing JSON")
        repos: list[dict[str, Any]] | None = None
        names, ids = wanted.get("repositories"), wanted.get("repository_ids")
        if names or ids:
            by_name = {r["name"]: r for r in installation.repositories}
            by_id = {r["id"]: r for r in installation.repositories}
            picked = [by_name.get(n) for n in names or []] + [by_id.get(i) for i in ids or []]
            if any(r is None for r in picked):
                raise GitHubError(
                    422, "There is at least one repository that does not exist or is not "
                         "accessible to the parent installation.",
                    "https://docs.github.com/rest/apps/apps"
                    "#create-an-installation-access-token-for-an-app")
            repos = [r for r in picked if r is not None]
        permissions = dict(installation.permissions)
        for scope, level in (wanted.get("permissions") or {}).items():
            if scope not in installation.permissions:
                raise GitHubError(422, "The permissions requested are not granted to this "
                                       "installation.")
            permissions[scope] = level
        token = "ghs_" + "".join(secrets.choice(TOKEN_CHARS) for _ in range(36))
        issued = IssuedToken(token, installation, self.clock() + self.token_lifetime, repos,
                             permissions)
        self.tokens[token] = issued
        self.token_requests[installation.id] += 1
        body: dict[str, Any] = {
            "token": token, "expires_at": _iso(issued.expires_at), "permissions": permissions,
            "repository_selection": "selected" if repos is not None
            else installation.repository_selection,
        }
        if repos is not None:
            body["repositories"] = repos
        return Reply(201, orjson.dumps(body))

    def _repositories(self, request: Request) -> Reply:
        issued = self.installation_for(request.headers.get("authorization"))
        query = parse_qs(request.query)
        try:
            per_page = min(100, max(1, int(query.get("per_page", ["30"])[0])))
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            per_page, page = 30, 1
        repos = issued.repositories if issued.repositories is not None \
            else issued.installation.repositories
        chunk = repos[(page - 1) * per_page: page * per_page]
        last = max(1, -(-len(repos) // per_page))
        selection = "selected" if issued.repositories is not None \
            else issued.installation.repository_selection
        body = {"total_count": len(repos), "repository_selection": selection,
                "repositories": chunk}
        reply = Reply(200, orjson.dumps(body))
        link = link_header(f"{_base_url(request)}{request.path}",
                           [("per_page", str(per_page))], page, last)
        if link:
            reply.headers.append((b"link", link.encode()))
        used = issued.calls
        reply.headers += [
            (b"x-ratelimit-limit", b"5000"), (b"x-ratelimit-remaining", str(5000 - used).encode()),
            (b"x-ratelimit-used", str(used).encode()), (b"x-ratelimit-resource", b"core"),
            (b"x-ratelimit-reset", str(int(self.clock()) + 3600).encode()),
        ]
        return reply


_NOT_FOUND_DOCS = {
    "access_token": "https://docs.github.com/rest/apps/apps"
                    "#create-an-installation-access-token-for-an-app",
    "installation": "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-"
                    "authenticated-app",
    "repo": "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-"
            "authenticated-app",
    "org": "https://docs.github.com/rest/apps/apps#get-an-organization-installation-for-the-"
           "authenticated-app",
    "user": "https://docs.github.com/rest/apps/apps#get-a-user-installation-for-the-"
            "authenticated-app",
}


def _base_url(request: Request) -> str:
    return f"http://{request.headers.get('host', '127.0.0.1')}"


def link_header(url: str, params: list[tuple[str, str]], page: int, last: int) -> str:
    """GitHub's ``Link`` for ``page`` of ``last``: prev, next, last, first, each present only
    when it applies; ``params`` (the query without ``page``) carry over to every link."""
    def ref(number: int, rel: str) -> str:
        query = urlencode([*params, ("page", str(number))], quote_via=quote)
        return f'<{url}?{query}>; rel="{rel}"'

    parts = []
    if page > 1:
        parts.append(ref(min(page - 1, last), "prev"))
    if page < last:
        parts += [ref(page + 1, "next"), ref(last, "last")]
    if page > 1:
        parts.append(ref(1, "first"))
    return ", ".join(parts)


class GitHubAppEmulator(Emulator):
    """``GitHubAppAuth`` served on its own, with one app installed on ``account``.

    ``app``, ``installation`` and ``credentials()`` (``app_id``, ``private_key``,
    ``installation_id``) are what a client needs; ``auth`` holds the state tests read.

    >>> emulator = GitHubAppEmulator(repositories=120, token_lifetime=600)  # doctest: +SKIP
    >>> with SandboxServer(emulator) as server:
    ...     app = ik.auth.GitHubApp(**emulator.credentials(), base_url=server.url)
    """

    service = "github_app"
    key_prefix = "ghs_sandbox_"

    def __init__(self, *, repositories: int | Sequence[str] | None = None,
                 account: str = "octo-org", token_lifetime: float = 3600.0,
                 clock: Callable[[], float] = time.time, latency: float = 0.0,
                 records: int = 3, seed: int = 0, rate_limit: tuple[float, int] | None = None,
                 api_key: str | None = None) -> None:
        # records/seed/rate_limit/api_key: what integkit.sandbox.create_emulator passes
        super().__init__(api_key=api_key, rate_limit=rate_limit, latency=latency)
        self.seed = seed
        self.auth = GitHubAppAuth(token_lifetime=token_lifetime, clock=clock)
        self.app = self.auth.create_app(owner=account)
        self.installation = self.auth.install(
            self.app.id, account, repositories=records if repositories is None else repositories)

    def credentials(self) -> dict[str, Any]:
        return {"app_id": self.app.id, "private_key": self.app.private_key_pem,
                "installation_id": self.installation.id}

    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        message = "API rate limit exceeded" if status == 429 else "Server Error"
        body = GitHubError(status, message).payload()
        return orjson.dumps(body), [(b"content-type", b"application/json; charset=utf-8")]

    def stats(self) -> dict[str, Any]:
        stats = super().stats()
        stats["token_requests"] = sum(self.auth.token_requests.values())
        stats["jwt_rejections"] = dict(self.auth.jwt_rejections)
        return stats

    def handle(self, request: Request) -> Reply:
        reply = self.auth.handle(request)
        if reply is None:
            reply = GitHubError(404, "Not Found").reply()
        reply.headers = [
            (b"x-github-request-id", new_request_id("", 16).upper().encode()),
            (b"x-github-api-version-selected", API_VERSION.encode()),
            (b"x-github-media-type", b"github.v3; format=json"),
            (b"date", formatdate(self.auth.clock(), usegmt=True).encode()),
            *reply.headers,
        ]
        return reply
