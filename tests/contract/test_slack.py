"""The Slack connector against its emulator over HTTP: every record once, Slack's errors mapped,
transient ones retried, per-method limits met without a 429, messages sent and updated, and a
button press travelling back to a handler."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integkit as ik
from integkit.engine._services.slack import to_slack_ts
from integkit.engine._services.slack_errors import SlackWarning
from integkit.sandbox import SandboxServer
from integkit.sandbox.services.slack_world import ts_key

RECORDS = 600


@pytest.fixture(scope="module")
def sb():
    with ik.sandbox("slack", records=RECORDS, seed=3) as sandbox:
        yield sandbox


@pytest.fixture
def slack(sb, sleeps):
    sb.faults.clear()
    sb.emulator.clear_failures()
    conn = sb.connect(sleep=sleeps, retry={"initialDelay": 0.01, "maxDelay": 0.05})
    yield conn
    sb.faults.clear()
    sb.emulator.clear_failures()
    conn.close()


def world(sb):
    return sb.emulator.world


def general(sb):
    return world(sb).channels[0]


def test_every_listing_reaches_the_last_record_once(slack, sb) -> None:
    w = world(sb)
    expected = {c.id for c in w.channels if c.kind == "public_channel" or
                w.bot_user_id in c.members}
    result = slack.conversations(types=["public_channel", "private_channel", "mpim", "im"],
                                 limit=7)
    ids = [c["id"] for c in result]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert result.stats.pages == -(-len(ids) // 7)

    history = slack.history(general(sb).id, limit=97)
    ts = [m["ts"] for m in history]
    assert ts == [m["ts"] for m in w.messages(general(sb))] and len(ts) >= RECORDS
    assert history.stats.pages == -(-len(ts) // 97)

    members = slack.members(general(sb).id, limit=50).to_frame()
    assert list(members["id"]) == general(sb).members
    assert set(members["channel"]) == {general(sb).id}

    users = slack.users(limit=64).to_frame()
    assert list(users["id"]) == [u["id"] for u in w.users] and users["id"].is_unique
    assert str(users["updated"].dtype) == "datetime64[ms, UTC]"
    assert "profile.real_name" in users.columns

    files = slack.files(limit=128).to_frame()
    assert list(files["id"]) == [f["id"] for f in w.files]
    assert files["created"].is_monotonic_decreasing


def test_history_window_and_channel_types(slack, sb) -> None:
    msgs = world(sb).messages(general(sb))
    newest, oldest = msgs[10]["ts"], msgs[60]["ts"]
    inside = slack.history(general(sb).id, oldest=oldest, latest=newest).to_frame()
    assert list(inside["ts"]) == [m["ts"] for m in msgs[11:60]]
    both = slack.history(general(sb).id, oldest=oldest, latest=newest, inclusive=True)
    assert [m["ts"] for m in both] == [m["ts"] for m in msgs[10:61]]
    day = int(msgs[30]["ts"].split(".")[0])
    by_date = slack.history(general(sb).id, oldest=day, latest=f"{day + 86_400}").to_frame()
    assert all(day < ts_key(t) / 1e6 < day + 86_400 for t in by_date["ts"])
    private = slack.conversations(types="private_channel,mpim").to_frame()
    assert len(private) and private["is_private"].all()
    assert to_slack_ts("2024-01-02") == "1704153600.000000"
    with pytest.raises(ik.ConfigError, match="unknown conversation types"):
        slack.conversations(types="public")


def test_a_wrong_token_is_an_authentication_error(sb) -> None:
    bad = ik.connect("slack", token="xoxb-1-2-wrongwrongwrong", base_url=sb.url)
    with pytest.raises(ik.AuthenticationError, match="invalid_auth") as info:
        bad.users().head(1)
    assert "wrongwrongwrong" not in str(info.value) and info.value.request_id
    revoked = sb.emulator.add_token()
    conn = ik.connect("slack", token=revoked, base_url=sb.url)
    sb.emulator.revoke(revoked)
    with pytest.raises(ik.AuthenticationError, match="token_revoked"):
        conn.auth_test()


def test_missing_scope_names_the_scope_to_add(sb, sleeps) -> None:
    token = sb.emulator.add_token(scopes=["chat:write", "channels:read"])
    conn = ik.connect("slack", token=token, base_url=sb.url, sleep=sleeps)
    with pytest.raises(ik.PermissionDeniedError) as info:
        conn.users().to_frame()
    err = info.value
    assert err.code == "missing_scope" and "users:read" in str(err)
    assert "chat:write,channels:read" in str(err) and not err.transient and sleeps == []


def test_channel_not_found_is_permanent_and_not_retried(slack, sb, sleeps) -> None:
    before = sb.faults.hits
    with pytest.raises(ik.NotFoundError, match="channel_not_found") as info:
        slack.history("C0NOSUCHCHAN").head(1)
    assert sb.faults.hits - before == 1 and sleeps == []
    assert info.value.status == 200 and len(info.value.request_id or "") == 32
    outsider = next(c for c in world(sb).channels
                    if c.kind == "public_channel" and world(sb).bot_user_id not in c.members)
    with pytest.raises(ik.PermissionDeniedError, match="not_in_channel"):
        slack.history(outsider.id).head(1)


def test_transient_body_errors_are_retried_through_the_limiter(slack, sb, sleeps) -> None:
    sb.emulator.fail_with("internal_error", times=2, method="conversations.history")
    before = len(sb.emulator.request_log)
    result = slack.history(general(sb).id, limit=200)
    assert len(list(result)) == len(world(sb).messages(general(sb)))
    assert result.stats.retries == 2 and len(sleeps) == 2
    assert len(sb.emulator.request_log) - before == result.stats.pages + 2
    sb.emulator.fail_with("fatal_error", times=5, method="users.list")
    with pytest.raises(ik.ServerError, match="fatal_error.*after 4 retries") as info:
        slack.users().head(1)
    assert info.value.transient and info.value.code == "fatal_error"


def test_http_failures_mid_pagination_keep_every_record_once(slack, sb) -> None:
    expected = general(sb).members
    sb.faults.fail(503, times=2, after=1, path="/conversations.members")
    sb.faults.reset(times=1, after=3, path="/conversations.members")
    sb.faults.truncate(times=1, after=5, path="/conversations.members")
    sb.faults.fail(429, times=1, after=7, path="/conversations.members")
    result = slack.members(general(sb).id, limit=50)
    assert [u["id"] for u in result] == expected and result.stats.retries == 5


def test_server_429_carries_retry_after(sleeps) -> None:
    with ik.sandbox("slack", records=20, seed=9) as fresh:
        conn = fresh.connect(rate_limit=False, sleep=sleeps, retry={"maxAttempts": 3})
        for _ in range(20):  # Tier 2: 20 a minute, then Slack says 429 ratelimited
            conn.request("GET", "/conversations.list", params={"limit": 1},
                         endpoint="conversations.list")
        with pytest.raises(ik.RateLimitError, match="ratelimited") as info:
            conn.request("GET", "/conversations.list", params={"limit": 1},
                         endpoint="conversations.list")
        assert info.value.retry_after == 3 and sleeps == [3.0, 3.0]
        assert fresh.emulator.rate_limited == 3


def test_client_limits_meet_slack_tiers_without_a_429(sb) -> None:
    with ik.sandbox("slack", records=60, seed=5) as fresh:
        conn = fresh.connect()
        channel = fresh.emulator.world.channels[0].id
        sent = [conn.send_message(channel, text=f"update {i}") for i in range(5)]
        for _ in range(3):
            conn.history(channel, limit=5).head(5)
            conn.users(limit=10).to_frame()
        assert fresh.emulator.rate_limited == 0
        assert [m["ts"] for m in conn.history(channel).head(5).to_dict("records")] == \
            [s["ts"] for s in reversed(sent)]
        waited = ik.quota(conn)["seconds_waited"]
        assert waited >= 1.5  # chat.postMessage: one a second per channel after a burst


def test_send_and_update_message(slack, sb) -> None:
    channel = general(sb).id
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Revenue* is up 4%"}},
              {"type": "actions", "elements": [{"type": "button", "action_id": "approve",
                                                "text": {"type": "plain_text", "text": "OK"}}]}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the connector sends charset=utf-8: no warning
        sent = slack.send_message(channel, text="Revenue is up 4%", blocks=blocks)
    assert sent["ok"] and sent["channel"] == channel and sent["message"]["blocks"] == blocks
    newest = slack.history(channel).head(1).iloc[0]
    assert newest["ts"] == sent["ts"] and newest["text"] == "Revenue is up 4%"
    updated = slack.update_message(channel, sent["ts"], text="Revenue is up 5%")
    assert updated["text"] == "Revenue is up 5%" and updated["ts"] == sent["ts"]
    assert slack.history(channel).head(1).iloc[0]["text"] == "Revenue is up 5%"
    reply = slack.send_message(channel, text="details", thread_ts=sent["ts"])
    assert reply["message"]["thread_ts"] == sent["ts"]
    assert slack.history(channel).head(1).iloc[0]["reply_count"] == 1
    someone_elses = world(sb).messages(general(sb))[5]["ts"]
    with pytest.raises(ik.InvalidRequestError, match="cant_update_message"):
        slack.update_message(channel, someone_elses, text="nope")
    with pytest.raises(ik.NotFoundError, match="message_not_found"):
        slack.update_message(channel, "1000000000.000001", text="nope")
    with pytest.raises(ik.ConfigError):
        slack.send_message(channel)


def test_update_is_retried_but_a_post_is_not(slack, sb, sleeps) -> None:
    channel = general(sb).id
    sent = slack.send_message(channel, text="v1")
    sb.emulator.fail_with("internal_error", times=1, method="chat.update")
    assert slack.update_message(channel, sent["ts"], text="v2")["text"] == "v2"
    assert len(sleeps) == 1
    before = sb.emulator.objects["message"]
    sb.emulator.fail_with("internal_error", times=1, method="chat.postMessage")
    with pytest.raises(ik.ServerError, match="internal_error") as info:
        slack.send_message(channel, text="once")
    assert "Not retried" in str(info.value) and len(sleeps) == 1
    assert sb.emulator.objects["message"] == before


def test_warnings_surface_as_python_warnings(slack, sb) -> None:
    with pytest.warns(SlackWarning, match="missing_charset"):
        slack.request("POST", "/chat.postMessage", endpoint="chat.postMessage:general",
                      json={"channel": general(sb).id, "text": "raw JSON, no charset"})


# -- interactivity over HTTP ------------------------------------------------------------------


@pytest.fixture
def app_server(slack) -> Iterator[tuple[str, list]]:
    """The analyst's app: a Request URL on 127.0.0.1 handing interactions to the connection."""
    got: list = []

    async def actions(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            results = slack.dispatch(body, request.headers)
        except ik.SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        return JSONResponse({"results": results})

    app = Starlette(routes=[Route("/slack/actions", actions, methods=["POST"])])
    with SandboxServer(app) as server:
        yield server.url + "/slack/actions", got
    ik.webhooks.clear()


def test_button_press_round_trip(slack, sb, app_server) -> None:
    url, got = app_server
    sent = slack.send_message(general(sb).id, text="Approve the refund?", blocks=[
        {"type": "actions", "elements": [{"type": "button", "action_id": "approve_refund",
                                          "value": "re_42"}]}])

    @slack.on_action("approve_*")
    def approve(action: dict, payload: dict) -> str:
        got.append((action, payload))
        slack.update_message(payload["channel"]["id"], payload["container"]["message_ts"],
                             text=f"Approved by <@{payload['user']['id']}>")
        return action["value"]

    answer = sb.emulator.click(url, "approve_refund", value="re_42", channel=general(sb).id,
                               message_ts=sent["ts"])
    assert answer.status_code == 200 and answer.json() == {"results": ["re_42"]}
    (action, payload), = got
    assert action["action_id"] == "approve_refund" and payload["type"] == "block_actions"
    assert payload["message"]["ts"] == sent["ts"]
    assert slack.history(general(sb).id).head(1).iloc[0]["text"].startswith("Approved by")
    assert sb.emulator.click(url, "something_else").json() == {"results": []}
    wrong = ik.connect("slack", token=sb.api_key, base_url=sb.url, signing_secret="not-it")
    with pytest.raises(ik.SignatureError):
        wrong.dispatch(b"payload=%7B%7D", {"X-Slack-Signature": "v0=00",
                                            "X-Slack-Request-Timestamp": "1"})


def test_token_and_signing_secret_come_from_the_environment(sb, monkeypatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with pytest.raises(ik.ConfigError, match="SLACK_BOT_TOKEN"):
        ik.connect("slack", base_url=sb.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", sb.api_key)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", sb.emulator.signing_secret)
    conn = ik.connect("slack", base_url=sb.url)
    assert conn.auth_test()["user_id"] == world(sb).bot_user_id
    assert conn.signing_secret == sb.emulator.signing_secret
    assert sb.api_key not in repr(conn) and sb.emulator.signing_secret not in repr(conn)
