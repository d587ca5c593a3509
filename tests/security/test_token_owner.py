"""Tokens belong to their owner (issue 9, item 2).

Two users of one OAuth app share one state backend. A run given its own credentials (a refresh
token, by argument or env var; client credentials; a service account key) uses the tokens of
that grant only, never the login someone else stored; a run given none still finds its
profile's own login. Whoever a token belongs to also keys the HTTP cache, the Result cache and
per-user rate limits. Everything runs against the sandbox OAuth provider (or the Salesforce
emulator) over real HTTP on 127.0.0.1, on SQLite and on Redis, and across processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.fernet import Fernet

import integkit as ik
from integkit.auth import OAuth2, TokenId, TokenStore
from integkit.sandbox import SandboxServer
from integkit.sandbox._app import Emulator, Reply, Request
from integkit.sandbox._oauth import OAuthProvider, TokenRejected

ROOT = Path(__file__).resolve().parents[2]
SECRET = "owner-test-secret-0123456789"
ALICE, BOB = "alice@acme.test", "bob@acme.test"


class WhoApi(Emulator):
    """The provider, plus ``GET /v1/records``: three records of whoever the token belongs to,
    Stripe-shaped (``data``, ``has_more``); ``served`` counts the answers."""

    service = "who"

    def __init__(self, provider: OAuthProvider) -> None:
        super().__init__()
        self.oauth = provider
        self.served = 0

    def handle(self, request: Request) -> Reply:
        reply = self.oauth.handle_oauth(request)
        if reply is not None:
            return reply
        if request.path != "/v1/records":
            return Reply(404, b'{"error": "not_found"}')
        try:
            token = self.oauth.require_token(request, ["items.read"])
        except TokenRejected as exc:
            return exc.reply
        self.served += 1
        data = [{"id": f"{token.user}-{i}", "owner": token.user} for i in range(3)]
        return Reply(200, orjson.dumps({"data": data, "has_more": False}))


@pytest.fixture(autouse=True)
def token_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """One token key for this test and the processes it starts; never the OS keyring."""
    from integkit.auth import _keys

    monkeypatch.setattr(_keys, "_usable_keyring", lambda: None)
    monkeypatch.setenv("INTEGKIT_TOKEN_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("INTEGKIT_INTERACTIVE", raising=False)


@pytest.fixture
def who() -> Iterator[tuple[WhoApi, str]]:
    """The sandbox provider (rotating refresh tokens) and the API, served on 127.0.0.1."""
    provider = OAuthProvider(user=ALICE)
    provider.register_client("app", SECRET, scopes=["items.read", "profile"])
    api = WhoApi(provider)
    with SandboxServer(api) as server:
        yield api, server.url


@pytest.fixture
def service() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


def _oauth(url: str, service: str, store: TokenStore, **options: Any) -> OAuth2:
    endpoints = OAuthProvider().endpoints(url)
    options.setdefault("grant", "refresh_token")
    return OAuth2(**{**endpoints, "client_id": "app", "client_secret": SECRET,
                     "scopes": ["items.read"], "service": service, "store": store, **options})


def _login(url: str, service: str, store: TokenStore) -> OAuth2:
    """The profile's own login (what ik.login does): authorization code + PKCE."""
    auth = _oauth(url, service, store, grant="authorization_code")
    login_url, _ = auth.authorization_url()
    auth.finish(httpx.get(login_url).headers["location"])
    return auth


def _sub(url: str, auth: OAuth2) -> str:
    answer = httpx.get(url + "/oauth/userinfo", auth=auth)
    answer.raise_for_status()
    return str(answer.json()["sub"])


def test_a_run_given_its_own_refresh_token_queries_as_its_owner_not_as_the_stored_login(
        who: tuple[WhoApi, str], service: str, state_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, url = who
    store = TokenStore(state_url)
    _login(url, service, store)  # Alice logs in on the shared backend
    bob_refresh = api.oauth.issue("app", ["items.read"], user=BOB)["refresh_token"]

    bob = _oauth(url, service, TokenStore(state_url), refresh_token=bob_refresh)
    assert _sub(url, bob) == BOB  # today: Alice's stored token answered as Alice
    assert api.oauth.token_calls["refresh_token"] == 1  # Bob's own refresh token was used
    assert bob.token_id.owner.startswith("refresh.") and bob_refresh not in str(bob.token_id)

    # The same, seeded from the environment as a scheduled run would be.
    carol_refresh = api.oauth.issue("app", ["items.read"], user="carol@acme.test")[
        "refresh_token"]
    monkeypatch.setenv(f"{service.upper().replace('-', '_')}_REFRESH_TOKEN", carol_refresh)
    assert _sub(url, _oauth(url, service, TokenStore(state_url))) == "carol@acme.test"
    monkeypatch.delenv(f"{service.upper().replace('-', '_')}_REFRESH_TOKEN")

    # No credential given: the profile's own login, as before.
    plain = _oauth(url, service, TokenStore(state_url))
    assert plain.token_id == TokenId(service, "default", "app")
    assert _sub(url, plain) == ALICE

    # Three grants, three slots; none named after a secret; every stored set has an owner.
    slots = store.ids(service)
    assert len(slots) == 3 and sum(1 for s in slots if not s.owner) == 1
    assert not any(secret in str(slots) for secret in (bob_refresh, carol_refresh))
    owners = {store.get(s)["owner"] for s in slots}  # type: ignore[index]
    assert len(owners) == 3 and all(owners)


def test_a_rotated_grant_stays_its_owners_across_runs(who: tuple[WhoApi, str], service: str,
                                                      state_url: str) -> None:
    api, url = who
    _login(url, service, TokenStore(state_url))
    bob_refresh = api.oauth.issue("app", ["items.read"], user=BOB)["refresh_token"]
    first = _oauth(url, service, TokenStore(state_url), refresh_token=bob_refresh)
    assert _sub(url, first) == BOB
    assert api.oauth.tokens[bob_refresh].revoked  # rotated: the seed is dead now
    # A later run with the same (now dead) seed finds the rotated grant, not Alice's login.
    api.oauth.expire_access_tokens()
    later = _oauth(url, service, TokenStore(state_url), refresh_token=bob_refresh)
    assert _sub(url, later) == BOB
    assert api.oauth.token_errors["invalid_grant"] == 0


def test_client_credentials_with_another_secret_never_pick_up_the_stored_token(
        who: tuple[WhoApi, str], service: str, state_url: str) -> None:
    api, url = who
    good = _oauth(url, service, TokenStore(state_url), grant="client_credentials")
    assert _sub(url, good) == "app"
    wrong = _oauth(url, service, TokenStore(state_url), grant="client_credentials",
                   client_secret="not-the-app-secret-000")
    with pytest.raises(ik.AuthenticationError, match="invalid_client"):
        wrong.fetch_token()  # today: the stored token, no secret checked
    assert api.oauth.token_errors["invalid_client"] == 1
    assert good.token_id != wrong.token_id and good.token_id.account == "app"


def test_processes_with_different_grants_each_query_as_their_owner(
        who: tuple[WhoApi, str], service: str, state_url: str) -> None:
    api, url = who
    _login(url, service, TokenStore(state_url))
    bob_refresh = api.oauth.issue("app", ["items.read"], user=BOB)["refresh_token"]
    env_name = f"{service.upper().replace('-', '_')}_REFRESH_TOKEN"
    start_at = time.time() + 4.0
    procs = []
    for seed in (bob_refresh, bob_refresh, bob_refresh, None):
        env = {k: v for k, v in os.environ.items() if k != env_name}
        if seed is not None:
            env[env_name] = seed
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.security._owner_worker", url, state_url, service,
             str(start_at)], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    outs = []
    for proc in procs:
        out, err = proc.communicate(SECRET + "\n", timeout=120)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["status"] for o in outs] == [200] * 4
    assert [o["sub"] for o in outs] == [BOB, BOB, BOB, ALICE]
    # Bob's three processes share his grant: one refresh of the (rotating) seed, the others
    # reuse what it stored; Alice's process uses her login, untouched.
    assert api.oauth.token_calls["refresh_token"] == 1
    assert api.oauth.token_errors["invalid_grant"] == 0
    assert sum(o["stats"].get("refreshed", 0) for o in outs) == 1


def test_two_users_of_one_app_never_share_cached_answers(
        who: tuple[WhoApi, str], service: str, state_url: str) -> None:
    api, url = who
    cache = {"defaultTtl": "1h"}
    alice = _login(url, service, TokenStore(state_url))
    bob_refresh = api.oauth.issue("app", ["items.read"], user=BOB)["refresh_token"]
    bob = _oauth(url, service, TokenStore(state_url), refresh_token=bob_refresh)

    with ik.rest(url, auth=alice, state=state_url, cache=cache) as a:
        assert a.request("GET", "/v1/records")["data"][0]["owner"] == ALICE
    with ik.rest(url, auth=bob, state=state_url, cache=cache) as b:
        assert b.request("GET", "/v1/records")["data"][0]["owner"] == BOB  # HTTP cache
        frame = b.list("/v1/records", cache="1h").to_frame()  # Result cache
        assert set(frame["owner"]) == {BOB}
    served = api.served
    # Alice again, in a new connection: both caches answer her, with her records.
    plain = _oauth(url, service, TokenStore(state_url))
    with ik.rest(url, auth=plain, state=state_url, cache=cache) as a2:
        assert a2.request("GET", "/v1/records")["data"][0]["owner"] == ALICE
        assert api.served == served
        first = a2.list("/v1/records", cache="1h")
        assert set(first.to_frame()["owner"]) == {ALICE}  # not Bob's Parquet
        assert first.stats.pages == 1  # read (from her HTTP cache entry), not from Parquet
        again = a2.list("/v1/records", cache="1h")
        assert set(again.to_frame()["owner"]) == {ALICE}
        assert again.stats.pages == 0 and again.stats.cache_hits == 1  # her own Parquet
        assert api.served == served  # her answers came from her own cache entries


def test_a_new_login_by_someone_else_gets_none_of_the_previous_users_answers(
        state_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Salesforce names the user in its token response (``id``: .../id/<org>/<user>): a
    re-login by the same user keeps the cached answers, another user's login does not."""
    for name in ("SALESFORCE_REFRESH_TOKEN", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    store = TokenStore(state_url)
    soql = "SELECT Id, Name FROM Account"
    with ik.sandbox("salesforce", records=30) as sb:
        org = sb.emulator
        app = {"client_id": org.client_id, "client_secret": org.api_key}

        def login(user_id: str) -> None:
            org.user_id = user_id
            auth = OAuth2(token_url=sb.url + "/services/oauth2/token",
                          authorize_url=sb.url + "/services/oauth2/authorize",
                          service="salesforce", store=store, **app)
            login_url, _ = auth.authorization_url()
            auth.finish(httpx.get(login_url).headers["location"])

        def query() -> ik.Result:
            sf = ik.connect("salesforce", base_url=sb.url, token_store=store, **app)
            result = sf.query(soql, cache="1h")
            result.to_frame()
            sf.close()
            return result

        login("005000000000001AAA")
        assert query().stats.cache_hits == 0
        login("005000000000001AAA")  # the same user logs in again
        assert query().stats.cache_hits == 1
        login("005000000000002AAA")  # someone else takes the profile over
        assert query().stats.cache_hits == 0
        owners = {store.get(i)["owner"] for i in store.ids("salesforce")}  # type: ignore[index]
        assert len(owners) == 1 and next(iter(owners)).startswith("subject.")


def test_per_user_rate_limits_count_by_whose_credentials(
        who: tuple[WhoApi, str], service: str, state_url: str) -> None:
    api, url = who
    tier = {"name": "per_user", "limit": 50, "per": "1h", "scope": "user"}
    alice = _login(url, service, TokenStore(state_url))
    bob_refresh = api.oauth.issue("app", ["items.read"], user=BOB)["refresh_token"]
    bob = _oauth(url, service, TokenStore(state_url), refresh_token=bob_refresh)

    def used(conn: Any) -> int:
        return int(next(t["in_use"] for t in conn.limiter.status() if t["tier"] == "per_user"))

    with ik.rest(url, auth=alice, state=state_url, rate_limit=tier, name=service) as a, \
            ik.rest(url, auth=bob, state=state_url, rate_limit=tier, name=service) as b:
        for _ in range(3):
            a.request("GET", "/v1/records")
        b.request("GET", "/v1/records")
        assert (used(a), used(b)) == (3, 1)
    plain = _oauth(url, service, TokenStore(state_url))
    with ik.rest(url, auth=plain, state=state_url, rate_limit=tier, name=service) as a2:
        assert used(a2) == 3  # Alice's budget, whichever connection spends it


def test_a_store_written_before_tokens_had_owners_still_serves_its_logins(
        who: tuple[WhoApi, str], service: str, state_url: str) -> None:
    """Rows (SQLite) and keys (Redis) stored by the previous release are the profiles' logins:
    a plain run still uses them, a run with its own refresh token does not."""
    api, url = who
    issued = api.oauth.issue("app", ["items.read"], user=ALICE)
    old = {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
           "token_type": "Bearer", "scope": "items.read", "expires_at": time.time() + 3600}
    writer = TokenStore(state_url)
    login = TokenId(service, "default", "app")
    if state_url.startswith("sqlite"):
        import sqlite3

        path = state_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as db:  # the table as the previous release created it
            db.execute("CREATE TABLE ik_tokens (service TEXT NOT NULL, profile TEXT NOT NULL, "
                       "account TEXT NOT NULL, blob BLOB NOT NULL, key_id TEXT NOT NULL, "
                       "updated REAL NOT NULL, PRIMARY KEY (service, profile, account))")
            db.execute("INSERT INTO ik_tokens VALUES (?, ?, ?, ?, ?, ?)",
                       (*login[:3], writer._seal(login, old), writer.key.key_id, time.time()))
    else:
        writer.state.redis().hset(f"integkit:token:{service}:default:app",
                                  mapping={"blob": writer._seal(login, old),
                                           "key_id": writer.key.key_id, "updated": time.time()})
    store = TokenStore(state_url)
    assert store.ids(service) == [login]
    assert _sub(url, _oauth(url, service, store)) == ALICE
    bob_refresh = api.oauth.issue("app", ["items.read"], user=BOB)["refresh_token"]
    assert _sub(url, _oauth(url, service, store, refresh_token=bob_refresh)) == BOB
    kept = store.get(login)
    assert len(store.ids(service)) == 2 and kept is not None
    assert kept["access_token"] == old["access_token"]
