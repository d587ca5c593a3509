"""The Result cache never crosses callers (issue 9, item 3).

``list(..., cache="1h")`` keeps a whole answer as Parquet; the HTTP cache keeps single answers;
listing history tells ``estimate()`` how big a listing was. Each is keyed by whose credentials
asked (a digest, never the secret), the account or tenant (``Stripe-Account``...), the API
version and every other request header that may change the answer, while headers that cannot
(User-Agent, request ids, tracing) still let the same caller's re-run hit. The service is the
recording ``home`` server, answering each caller with its own records over real HTTP.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik
from integkit._config import get_settings
from integkit.auth import Bearer

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {"tok_alice_4f1c9e2b7d": "alice", "tok_bob_8a3e6c0f5d": "bob"}
KEYS = {"sk_test_alice_51Hc0d3e9f": "alice", "sk_test_bob_51Hc7a2b4c": "bob"}
ALICE_TOKEN, BOB_TOKEN = list(TOKENS)
ALICE_KEY, BOB_KEY = list(KEYS)


def _caller(request: Request) -> str:
    value = request.headers.get("authorization", "").removeprefix("Bearer ")
    return TOKENS.get(value) or KEYS.get(value) or "anonymous"


def _listing(request: Request) -> JSONResponse:
    """Stripe-shaped: three records naming who asked, for which account, version, tenant."""
    who = {"caller": _caller(request),
           "account": request.headers.get("stripe-account", "-"),
           "version": request.headers.get("stripe-version", "-"),
           "tenant": request.headers.get("x-tenant", "-")}
    data = [{"id": f"{who['caller']}-{i}", "created": 1_700_000_000 - i, **who}
            for i in range(3 if who["caller"] == "alice" else 5)]
    return JSONResponse({"object": "list", "data": data, "has_more": False})


@pytest.fixture
def service(home: Any) -> Any:
    for path in ("/v1/items", "/v1/charges"):
        home.route(path, _listing)
    return home


def _calls(home: Any, path: str) -> int:
    return sum(1 for seen in home.seen if seen.path == path)


def _read(conn: ik.Connection, resource: str, **options: Any) -> tuple[Any, ik.Result]:
    result = conn.list(resource, cache="1h", **options)
    return result.to_frame(), result


def test_a_second_token_never_gets_the_first_tokens_cached_result(service: Any) -> None:
    with ik.rest(service.url, auth=Bearer(ALICE_TOKEN), cache=False) as alice:
        frame, _ = _read(alice, "/v1/items", pattern="tokens")
        assert set(frame["caller"]) == {"alice"}
    with ik.rest(service.url, auth=Bearer(BOB_TOKEN), cache=False) as bob:
        frame, result = _read(bob, "/v1/items", pattern="tokens")
        assert set(frame["caller"]) == {"bob"} and len(frame) == 5  # today: Alice's 3 rows
        assert result.stats.pages == 1
    assert _calls(service, "/v1/items") == 2
    # The same caller again, in a new connection: the Parquet file answers, no call.
    with ik.rest(service.url, auth=Bearer(ALICE_TOKEN), cache=False) as again:
        frame, result = _read(again, "/v1/items", pattern="tokens")
        assert set(frame["caller"]) == {"alice"} and result.stats.pages == 0
    assert _calls(service, "/v1/items") == 2


def test_a_token_in_a_plain_header_counts_by_its_digest(service: Any) -> None:
    for token, caller in TOKENS.items():
        with ik.rest(service.url, headers={"Authorization": f"Bearer {token}"},
                     cache=False) as conn:
            frame, _ = _read(conn, "/v1/items", pattern="header")
            assert set(frame["caller"]) == {caller}
    assert _calls(service, "/v1/items") == 2
    results = get_settings().data_dir / "results"
    stored = b"".join(p.read_bytes() for p in results.glob("*.parquet"))
    assert stored and not any(token.encode() in stored for token in TOKENS)


def test_one_stripe_connect_account_never_gets_anothers_charges(service: Any) -> None:
    for account in ("acct_1Connected", "acct_2Connected"):
        with ik.connect("stripe", api_key=ALICE_KEY, base_url=service.url, cache=False,
                        headers={"Stripe-Account": account}) as stripe:
            frame, _ = _read(stripe, "charges")
            assert set(frame["account"]) == {account}  # today: acct_1's charges twice
    assert _calls(service, "/v1/charges") == 2
    with ik.connect("stripe", api_key=ALICE_KEY, base_url=service.url, cache=False,
                    headers={"Stripe-Account": "acct_1Connected"}) as stripe:
        frame, result = _read(stripe, "charges")
        assert set(frame["account"]) == {"acct_1Connected"} and result.stats.pages == 0


def test_one_api_version_never_gets_anothers_answer(service: Any) -> None:
    for version in ("2023-08-16", "2024-06-20"):
        with ik.connect("stripe", api_key=ALICE_KEY, base_url=service.url, cache=False,
                        api_version=version) as stripe:
            frame, _ = _read(stripe, "charges", limit=10)
            assert set(frame["version"]) == {version}
    assert _calls(service, "/v1/charges") == 2


def test_a_header_that_may_change_the_answer_separates_results_neutral_ones_do_not(
        service: Any) -> None:
    for tenant in ("north", "south"):
        with ik.rest(service.url, auth=Bearer(ALICE_TOKEN), cache=False,
                     headers={"X-Tenant": tenant}) as conn:
            frame, _ = _read(conn, "/v1/items", pattern="tenant")
            assert set(frame["tenant"]) == {tenant}
    assert _calls(service, "/v1/items") == 2
    neutral = {"X-Tenant": "north", "User-Agent": "report-bot/2", "X-Request-Id": "req-7",
               "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    with ik.rest(service.url, auth=Bearer(ALICE_TOKEN), cache=False, headers=neutral) as conn:
        frame, result = _read(conn, "/v1/items", pattern="tenant")
        assert set(frame["tenant"]) == {"north"} and result.stats.pages == 0
    assert _calls(service, "/v1/items") == 2


def test_the_http_cache_separates_callers_accounts_versions_and_tenants(
        service: Any, state_url: str) -> None:
    cache = {"defaultTtl": "1h"}

    def ask(token: str, **headers: str) -> dict[str, Any]:
        with ik.rest(service.url, auth=Bearer(token), state=state_url, cache=cache) as conn:
            body = conn.request("GET", "/v1/items", params={"case": "http"}, headers=headers)
        return dict(body["data"][0])

    asks = [(ALICE_TOKEN, {}), (BOB_TOKEN, {}),
            (ALICE_TOKEN, {"Stripe-Account": "acct_1"}),
            (ALICE_TOKEN, {"Stripe-Account": "acct_2"}),
            (ALICE_TOKEN, {"Stripe-Version": "2024-06-20"}), (ALICE_TOKEN, {"X-Tenant": "north"})]
    answers = [ask(token, **headers) for token, headers in asks]
    assert [(a["caller"], a["account"], a["version"], a["tenant"]) for a in answers] == [
        ("alice", "-", "-", "-"), ("bob", "-", "-", "-"), ("alice", "acct_1", "-", "-"),
        ("alice", "acct_2", "-", "-"), ("alice", "-", "2024-06-20", "-"),
        ("alice", "-", "-", "north")]
    assert _calls(service, "/v1/items") == 6
    # Asked again (new connections, a request id that differs): all six from the cache.
    again = [ask(token, **{**headers, "X-Request-Id": "r-2"}) for token, headers in asks]
    assert again == answers and _calls(service, "/v1/items") == 6


_HISTORY_RUN = """
import os, integkit as ik
with ik.rest(os.environ["IK_TEST_URL"], auth=ik.auth.Bearer(os.environ["IK_TEST_TOKEN"]),
             state=os.environ["IK_TEST_STATE"], cache=False) as conn:
    print(len(conn.list("/v1/items", pattern="history").to_frame()))
"""


def test_listing_history_behind_estimates_is_kept_per_caller(service: Any,
                                                            state_url: str) -> None:
    env = {**os.environ, "IK_TEST_URL": service.url, "IK_TEST_STATE": state_url,
           "IK_TEST_TOKEN": BOB_TOKEN}
    done = subprocess.run([sys.executable, "-c", _HISTORY_RUN], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "5"  # Bob read 5 records, elsewhere

    def estimate(token: str) -> Any:
        with ik.rest(service.url, auth=Bearer(token), state=state_url, cache=False) as conn:
            return conn.list("/v1/items", pattern="history").estimate()

    assert estimate(BOB_TOKEN).records == 5
    mine = estimate(ALICE_TOKEN)
    assert mine.records is None and "not been read in full" in mine.basis  # not Bob's size


def test_concurrent_reads_for_different_accounts_never_share_one_flight(home: Any) -> None:
    """Identical concurrent GETs share one answer (coalescing), but only when every header
    is the same: two Connect accounts asking at once each get their own."""

    async def slow(request: Request) -> JSONResponse:
        await asyncio.sleep(0.5)  # both requests are in flight together
        return _listing(request)

    home.route("/v1/slow", slow)
    with ik.rest(home.url, auth=Bearer(ALICE_TOKEN), cache=False) as conn:
        start = threading.Barrier(2)

        def ask(account: str) -> str:
            start.wait()
            body = conn.request("GET", "/v1/slow", headers={"Stripe-Account": account})
            return str(body["data"][0]["account"])

        with ThreadPoolExecutor(2) as pool:
            got = list(pool.map(ask, ["acct_1", "acct_2"]))
    assert got == ["acct_1", "acct_2"]
    assert _calls(home, "/v1/slow") == 2
