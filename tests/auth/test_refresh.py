"""Refreshing: shortly before expiry, once after a 401, rotated refresh tokens persisted, and
exactly one refresh for 8 threads or several processes sharing a token; a paged listing that
outlives many access tokens completes with every record once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

import integkit as ik
from integkit.auth._tokens import Token, TokenId, TokenStore

from .conftest import TOTAL, Sandbox

ROOT = Path(__file__).resolve().parents[2]


def _expired_login(sb: Sandbox, store: TokenStore, service: str,
                   scopes: tuple[str, ...] = ("items.read",)) -> Token:
    """A stored login whose access token has expired but whose refresh token is good."""
    issued = sb.provider.issue("app", scopes)
    token = Token(access_token=issued["access_token"], refresh_token=issued["refresh_token"],
                  token_type="Bearer", scope=issued["scope"], expires_in=60.0,
                  expires_at=time.time() - 5)
    store.put(TokenId(service, "default", "app"), token)
    return token


def test_refreshes_shortly_before_expiry(start_sandbox: Callable[..., Sandbox]) -> None:
    sb = start_sandbox(access_token_ttl=1)
    auth = sb.oauth2(grant="refresh_token", store=False)
    auth.store.put(auth.token_id, Token(refresh_token=sb.provider.issue("app")["refresh_token"]))
    with httpx.Client(auth=auth) as client:
        client.get(sb.url + "/oauth/userinfo").raise_for_status()
        first = auth.token["access_token"]  # type: ignore[index]
        time.sleep(0.8)  # inside the last quarter of the 1 s lifetime: refresh first
        client.get(sb.url + "/oauth/userinfo").raise_for_status()
    assert auth.token["access_token"] != first  # type: ignore[index]
    assert sb.provider.rejections["expired"] == 0  # never sent an expired token
    assert sb.provider.token_calls["refresh_token"] == 2


def test_refreshes_once_on_401_and_retries(sb: Sandbox) -> None:
    auth = sb.oauth2(client_id="public-app", scopes=["items.read"])
    url, _ = auth.authorization_url()
    auth.finish(httpx.get(url).headers["location"])
    sb.provider.expire_access_tokens()  # the server revokes early; the client cannot know
    response = httpx.get(sb.url + "/v1/items", auth=auth)
    assert response.status_code == 200
    assert sb.provider.rejections["expired"] == 1
    assert auth.stats["retried_401"] == 1 and auth.stats["refreshed"] == 1
    # A 401 that a refresh does not cure is returned, not retried forever.
    sb.provider.access_token_ttl = -1  # every new token is born expired
    sb.provider.expire_access_tokens()
    response = httpx.get(sb.url + "/v1/items", auth=auth)
    assert response.status_code == 401 and auth.stats["retried_401"] == 2
    with ik.rest(sb.url, auth=auth) as api, pytest.raises(ik.AuthenticationError):
        api.request("GET", "/v1/items")


def test_rotation_is_persisted(sb: Sandbox, store: TokenStore) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    old = _expired_login(sb, store, service)
    auth = sb.oauth2(service=service, grant="refresh_token", store=store)
    assert httpx.get(sb.url + "/v1/items", auth=auth).status_code == 200
    stored = store.get(auth.token_id)
    assert stored is not None and stored["refresh_token"] != old["refresh_token"]
    assert sb.provider.tokens[old["refresh_token"]].revoked  # the old one is dead now
    # A new process (a new object, same store) refreshes with the rotated token.
    later = sb.oauth2(service=service, grant="refresh_token", store=TokenStore(store.state.url))
    later.refresh()
    assert sb.provider.token_errors["invalid_grant"] == 0
    assert sb.provider.token_calls["refresh_token"] == 2


def test_eight_threads_refresh_exactly_once(sb: Sandbox, store: TokenStore) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    _expired_login(sb, store, service)
    shared = sb.oauth2(service=service, grant="refresh_token", store=store)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def worker(index: int) -> None:
        # Half share one OAuth2 object, half have their own (as separate connections do).
        auth = shared if index % 2 else sb.oauth2(service=service, grant="refresh_token",
                                                  store=TokenStore(store.state.url))
        with httpx.Client(auth=auth) as client:
            barrier.wait()
            statuses.append(client.get(sb.url + "/v1/items").status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert sb.provider.token_calls["refresh_token"] == 1
    assert sb.provider.token_errors["invalid_grant"] == 0


def test_processes_refresh_exactly_once(sb: Sandbox, state_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("INTEGKIT_TOKEN_KEY", key)  # every process must read the same store
    store = TokenStore(state_url)
    service = f"svc-{uuid.uuid4().hex[:8]}"
    _expired_login(sb, store, service)
    start_at = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.auth._worker", sb.endpoints()["token_url"],
             sb.url + "/v1/items", state_url, service, str(start_at)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**__import__("os").environ, "INTEGKIT_HOME": str(tmp_path)},
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    runs = [json.loads(out) for out, _ in outputs]
    assert all(run["statuses"] == [200, 200, 200] for run in runs), runs
    assert sb.provider.token_calls["refresh_token"] == 1, runs
    assert sum(run["stats"].get("refreshed", 0) for run in runs) == 1
    assert sb.provider.token_errors["invalid_grant"] == 0
    store.delete(TokenId(service, "default", "app"))


def test_listing_outlives_many_access_tokens(start_sandbox: Callable[..., Sandbox]) -> None:
    sb = start_sandbox(access_token_ttl=1, latency=0.08)
    auth = sb.oauth2(grant="refresh_token", store=False, scopes=["items.read"])
    auth.store.put(auth.token_id, Token(refresh_token=sb.provider.issue(
        "app", ["items.read"])["refresh_token"]))
    api = ik.rest(sb.url, auth=auth, records_path="items", cache=False,
                  paginator={"type": "cursor", "cursor_path": "next_cursor",
                             "cursor_param": "cursor"})
    # Midway the server also expires tokens early: that page gets a 401, a refresh, a retry.
    timer = threading.Timer(1.2, sb.provider.expire_access_tokens)
    timer.start()
    started = time.monotonic()
    try:
        ids = [record["id"] for record in api.list("/v1/items")]
    finally:
        timer.cancel()
        api.close()
    elapsed = time.monotonic() - started
    assert sorted(ids) == list(range(TOTAL)) and len(ids) == len(set(ids))
    assert elapsed > 2.0  # the listing outlived at least two access tokens
    assert sb.provider.token_calls["refresh_token"] >= 3
    assert auth.stats["refreshed"] == sb.provider.token_calls["refresh_token"]
    assert sb.provider.rejections["expired"] <= 1  # only the early expiry, at most once


def test_async_client(sb: Sandbox) -> None:
    auth = sb.oauth2(scopes=["items.read"], grant="client_credentials")

    async def run() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as client:
            first = await client.get(sb.url + "/v1/items")
            sb.provider.expire_access_tokens()
            answers = await asyncio.gather(*(client.get(sb.url + "/v1/items")
                                             for _ in range(4)))
            return [first.status_code, *(a.status_code for a in answers)]

    assert asyncio.run(run()) == [200] * 5
    assert sb.provider.token_calls["client_credentials"] == 2  # once, and once after the 401s
