"""Fixtures for the OAuth tests: a sandbox OAuth provider over real HTTP on 127.0.0.1, a small
protected paged API that mounts it, token stores on SQLite and on Redis (db 15)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from integkit.auth._tokens import TokenStore
from integkit.sandbox import SandboxServer
from integkit.sandbox._app import Emulator, Reply, Request
from integkit.sandbox._oauth import OAuthProvider, TokenRejected

from .._redis import redis_url

CLIENT_SECRET = "sandbox-secret-0123456789"
TOTAL = 600
PAGE = 20


class PagedApi(Emulator):
    """A protected API: ``GET /v1/items?cursor=N`` (scope ``items.read``), PAGE records a page,
    TOTAL in all; ``GET /v1/admin`` needs ``admin``. The OAuth endpoints are mounted."""

    service = "paged"

    def __init__(self, provider: OAuthProvider, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.oauth = provider
        self.served = 0

    def handle(self, request: Request) -> Reply:
        reply = self.oauth.handle_oauth(request)
        if reply is not None:
            return reply
        try:
            if request.path == "/v1/items":
                self.oauth.require_token(request, ["items.read"])
                params = dict(p.split("=", 1) for p in request.query.split("&") if "=" in p)
                start = int(params.get("cursor") or 0)
                end = min(start + PAGE, TOTAL)
                self.served += 1
                body = {"items": [{"id": i} for i in range(start, end)],
                        "next_cursor": str(end) if end < TOTAL else None}
                return Reply(200, orjson.dumps(body))
            if request.path == "/v1/admin":
                self.oauth.require_token(request, ["admin"])
                return Reply(200, b'{"ok": true}')
        except TokenRejected as exc:
            return exc.reply
        return Reply(404, b'{"error": "not_found"}')


@dataclass
class Sandbox:
    provider: OAuthProvider
    api: PagedApi
    url: str

    def endpoints(self) -> dict[str, str]:
        return self.provider.endpoints(self.url)

    def oauth2(self, **options: Any) -> Any:
        """An OAuth2 aimed at this sandbox (the confidential client, unless overridden)."""
        from integkit.auth._oauth import OAuth2

        options.setdefault("client_id", "app")
        if options["client_id"] == "app":
            options.setdefault("client_secret", CLIENT_SECRET)
        options.setdefault("service", f"svc-{uuid.uuid4().hex[:8]}")
        return OAuth2(**{**self.endpoints(), **options})


@pytest.fixture()
def start_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start a provider (+ the paged API) with the given provider options."""
    servers: list[SandboxServer] = []

    def start(latency: float = 0.0, **provider_options: Any) -> Sandbox:
        provider = OAuthProvider(**provider_options)
        provider.register_client("app", CLIENT_SECRET, scopes=["items.read", "admin", "profile"])
        provider.register_client("public-app", None, scopes=["items.read", "profile"])
        api = PagedApi(provider, latency=latency)
        server = SandboxServer(api).start()
        servers.append(server)
        return Sandbox(provider, api, server.url)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture()
def sb(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox(access_token_ttl=60)


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the developer's OS keyring, nor inherit a key or CI flags."""
    from integkit.auth import _keys

    monkeypatch.setattr(_keys, "_usable_keyring", lambda: None)
    monkeypatch.delenv("INTEGKIT_TOKEN_KEY", raising=False)
    monkeypatch.delenv("INTEGKIT_INTERACTIVE", raising=False)


@pytest.fixture(params=["sqlite", "redis"])
def state_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "redis":
        return redis_url()
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture()
def store(state_url: str) -> Iterator[TokenStore]:
    """A token store on SQLite or Redis; Redis keys this test made are removed after."""
    token_store = TokenStore(state_url)
    yield token_store
    if state_url.startswith("redis"):
        for token_id in token_store.ids():
            if token_id.service.startswith(("svc-", "t-")):
                token_store.delete(token_id)
