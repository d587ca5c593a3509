"""The Slack emulator's wire format over raw HTTP: cursors, errors in HTTP 200 bodies, scopes,
tiers with 429 + Retry-After, warnings, writes, determinism."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from integkit.sandbox import Sandbox, SandboxServer, sandbox
from integkit.sandbox.services.slack import SlackEmulator
from integkit.sandbox.services.slack_tiers import METHOD_TIERS, PER_MINUTE


@pytest.fixture(scope="module")
def slack_sb() -> Iterator[Sandbox]:
    """A workspace without Slack's tiers (they have their own test): wire format only."""
    emulator = SlackEmulator(records=250, seed=11, tiers=False)
    with Sandbox("slack", emulator, SandboxServer(emulator).start()) as sb:
        yield sb


@pytest.fixture()
def api(slack_sb: Sandbox) -> Iterator[httpx.Client]:
    slack_sb.faults.clear()
    headers = {"Authorization": f"Bearer {slack_sb.api_key}"}
    with httpx.Client(base_url=slack_sb.url + "/api", headers=headers, timeout=10) as client:
        yield client
    slack_sb.faults.clear()


def cursor(raw: str) -> str:
    return base64.b64decode(raw).decode()


def test_cursor_pages_end_with_an_empty_next_cursor(api, slack_sb) -> None:
    seen, nxt, pages = [], None, 0
    while True:
        body = api.get("/users.list", params={"limit": 40, **({"cursor": nxt} if nxt else {})})
        data = body.json()
        assert body.status_code == 200 and data["ok"] is True and "cache_ts" in data
        seen += [u["id"] for u in data["members"]]
        pages += 1
        nxt = data["response_metadata"]["next_cursor"]
        if not nxt:
            break
        assert cursor(nxt).startswith("user:U")
    assert len(seen) == len(set(seen)) == 250 and pages == 7
    page = api.get("/conversations.list", params={"limit": 2}).json()
    assert cursor(page["response_metadata"]["next_cursor"]).startswith("team:C")
    bad = api.get("/conversations.list", params={"cursor": "bm9wZQ=="}).json()
    assert bad == {"ok": False, "error": "invalid_cursor"}


def test_history_window_is_exclusive_unless_inclusive(api, slack_sb) -> None:
    channel = slack_sb.emulator.world.channels[0]
    msgs = slack_sb.emulator.world.messages(channel)
    lo, hi = msgs[20]["ts"], msgs[5]["ts"]
    got = api.get("/conversations.history", params={"channel": channel.id, "oldest": lo,
                                                    "latest": hi}).json()
    assert [m["ts"] for m in got["messages"]] == [m["ts"] for m in msgs[6:20]]
    assert got["has_more"] is False and "response_metadata" not in got
    both = api.get("/conversations.history", params={"channel": channel.id, "oldest": lo,
                                                     "latest": hi, "inclusive": "true",
                                                     "limit": 10}).json()
    assert [m["ts"] for m in both["messages"]] == [m["ts"] for m in msgs[5:15]]
    assert both["has_more"] and cursor(both["response_metadata"]["next_cursor"]) == \
        "next_ts:" + msgs[15]["ts"].replace(".", "")
    assert api.get("/conversations.history", params={"channel": channel.id,
                                                     "oldest": "soon"}).json()["error"] == \
        "invalid_ts_oldest"


def test_errors_come_in_http_200_bodies(slack_sb, api) -> None:
    plain = httpx.get(slack_sb.url + "/api/auth.test")
    assert plain.status_code == 200 and plain.json() == {"ok": False, "error": "not_authed"}
    wrong = httpx.get(slack_sb.url + "/api/auth.test",
                      headers={"Authorization": "Bearer xoxb-0-0-nope"})
    assert wrong.json() == {"ok": False, "error": "invalid_auth"}
    assert len(wrong.headers["x-slack-req-id"]) == 32
    assert api.get("/conversations.history", params={"channel": "CNOPE00000"}).json() == \
        {"ok": False, "error": "channel_not_found"}
    assert api.get("/no.such").json() == {"ok": False, "error": "unknown_method",
                                          "req_method": "no.such"}
    missing = api.get("/conversations.history").json()
    assert missing["error"] == "invalid_arguments"
    assert missing["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]


def test_scopes_are_checked_and_reported(slack_sb) -> None:
    token = slack_sb.emulator.add_token(scopes=["chat:write"])
    got = httpx.get(slack_sb.url + "/api/users.list",
                    headers={"Authorization": f"Bearer {token}"})
    assert got.json() == {"ok": False, "error": "missing_scope", "needed": "users:read",
                          "provided": "chat:write"}
    assert got.headers["x-oauth-scopes"] == "chat:write"
    assert got.headers["x-accepted-oauth-scopes"] == "users:read"
    private = httpx.get(slack_sb.url + "/api/conversations.list",
                        params={"types": "public_channel,private_channel"},
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert private["needed"] == "channels:read"


def test_tiers_answer_429_with_retry_after_per_method() -> None:
    with sandbox("slack", records=30, seed=2) as sb:
        bot = {"Authorization": f"Bearer {sb.api_key}"}
        app = {"Authorization": f"Bearer {sb.emulator.app_token}"}
        url = sb.url + "/api/"
        assert httpx.post(url + "apps.connections.open", headers=app).json()["ok"]
        limited = httpx.post(url + "apps.connections.open", headers=app)
        assert limited.status_code == 429 and limited.json() == {"ok": False,
                                                                 "error": "ratelimited"}
        assert 1 <= int(limited.headers["retry-after"]) <= 60  # Tier 1: one a minute
        assert httpx.post(url + "apps.connections.open", headers=bot).json()["error"] == \
            "not_allowed_token_type"
        tier2 = [httpx.get(url + "conversations.list", headers=bot).status_code
                 for _ in range(PER_MINUTE[METHOD_TIERS["conversations.list"]] + 1)]
        assert tier2.count(200) == 20 and tier2[-1] == 429
        assert httpx.get(url + "users.info", headers=bot,  # another method, another budget
                         params={"user": sb.emulator.world.humans[0]}).json()["ok"]
        general, random = sb.emulator.world.channels[0].id, sb.emulator.world.channels[1].id
        posts = [httpx.post(url + "chat.postMessage", headers=bot,
                            json={"channel": general, "text": f"n{i}"}).status_code
                 for i in range(4)]
        assert posts == [200, 200, 200, 429]  # a burst of 3, then one a second per channel
        assert httpx.post(url + "chat.postMessage", headers=bot,
                          json={"channel": random, "text": "other channel"}).json()["ok"]
        assert sb.emulator.rate_limited == 3


def test_charset_warnings(api, slack_sb) -> None:
    channel = slack_sb.emulator.world.channels[0].id
    body = json.dumps({"channel": channel, "text": "hi"})
    bare = api.post("/chat.postMessage", content=body,
                    headers={"Content-Type": "application/json"}).json()
    assert bare["ok"] and bare["warning"] == "missing_charset"
    assert bare["response_metadata"] == {"warnings": ["missing_charset"]}
    clean = api.post("/chat.postMessage", content=body,
                     headers={"Content-Type": "application/json; charset=utf-8"}).json()
    assert clean["ok"] and "warning" not in clean
    form = httpx.post(slack_sb.url + "/api/chat.postMessage",
                      content=f"token={slack_sb.api_key}&channel={channel}&text=form",
                      headers={"Content-Type": "application/x-www-form-urlencoded; "
                                               "charset=utf-8"}).json()
    assert form["ok"] and form["warning"] == "superfluous_charset"


def test_form_post_with_blocks_and_validation(api, slack_sb) -> None:
    channel = slack_sb.emulator.world.channels[1].id
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*bold*"}}]
    sent = api.post("/chat.postMessage", data={"channel": channel,
                                               "blocks": json.dumps(blocks)}).json()
    assert sent["ok"] and sent["message"]["blocks"] == blocks and sent["message"]["text"] == ""
    newest = api.get("/conversations.history", params={"channel": channel, "limit": 1}).json()
    assert newest["messages"][0]["ts"] == sent["ts"]
    assert api.post("/chat.postMessage", data={"channel": channel}).json()["error"] == "no_text"
    assert api.post("/chat.postMessage", data={"channel": channel, "text": "x" * 40_001}
                    ).json()["error"] == "msg_too_long"
    archived = slack_sb.emulator.world.channels[1]
    archived.obj["is_archived"] = True
    try:
        assert api.post("/chat.postMessage", json={"channel": archived.id, "text": "x"}
                        ).json()["error"] == "is_archived"
    finally:
        archived.obj["is_archived"] = False
    assert api.post("/chat.postMessage", content=b"{not json",
                    headers={"Content-Type": "application/json; charset=utf-8"}
                    ).json()["error"] == "invalid_json"


def test_files_list_classic_paging_and_filters(api, slack_sb) -> None:
    page = api.get("/files.list", params={"count": 100, "page": 3}).json()
    assert page["paging"] == {"count": 100, "total": 250, "page": 3, "pages": 3}
    assert len(page["files"]) == 50
    images = api.get("/files.list", params={"types": "images", "limit": 1000}).json()
    assert images["files"] and all(f["filetype"] == "png" for f in images["files"])
    assert api.get("/files.list", params={"types": "holograms"}).json()["error"] == \
        "unknown_type"


def test_faults_answer_in_slack_words(api, slack_sb) -> None:
    slack_sb.faults.fail(503)
    got = api.get("/auth.test")
    assert got.status_code == 503 and got.json() == {"ok": False, "error": "service_unavailable"}
    slack_sb.faults.fail(429)
    got = api.get("/auth.test")
    assert got.status_code == 429 and got.headers["retry-after"] == "1"
    slack_sb.emulator.fail_with("fatal_error", method="auth.*")
    assert api.get("/auth.test").json() == {"ok": False, "error": "fatal_error"}
    assert api.get("/auth.test").json()["ok"]


def test_seeded_data_is_deterministic() -> None:
    a, b = SlackEmulator(records=80, seed=4), SlackEmulator(records=80, seed=4)
    c = SlackEmulator(records=80, seed=5)
    assert [u["id"] for u in a.world.users] == [u["id"] for u in b.world.users]
    assert a.world.messages(a.world.channels[0]) == b.world.messages(b.world.channels[0])
    assert a.world.users[0]["id"] != c.world.users[0]["id"]
    assert a.api_key != b.api_key and a.api_key.startswith("xoxb-")
    creds = a.credentials()
    assert creds["token"] == a.api_key and creds["rate_limit"] is None
    assert SlackEmulator(records=5, rate_limit=(5, 10)).credentials()["rate_limit"][-1] == \
        {"name": "sandbox", "limit": 5, "per": 1, "burst": 10}
