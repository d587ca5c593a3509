"""The Slack emulator's answers against Slack's official OpenAPI (Swagger 2.0) description.

Each success body is validated with jsonschema against the method's ``200`` schema (the spec's
objects are closed: a field it does not declare fails), each error body against its
``default`` schema. Where the spec predates what Slack sends now, the difference is named in
``SPEC_GAPS`` and patched in, never silently ignored:

- ``response_metadata`` (cursor paging) on conversations.history and cursor-mode files.list,
  which answers without the classic ``paging`` object;
- ``message.blocks`` of chat.update is declared an object, Slack sends Block Kit's array;
- an empty page (``minItems: 1`` on history messages) is Slack's answer for an empty window;
  it is left out of the schema check;
- error codes outside a method's enum (``ratelimited``, ``invalid_arguments``...) are checked
  for shape, and the codes the spec lists for a method are the ones the emulator uses there.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from integkit._http import RateTier
from integkit.engine import load_definition
from integkit.sandbox import Sandbox, SandboxServer
from integkit.sandbox.services.slack import SlackEmulator
from integkit.sandbox.services.slack_tiers import METHOD_TIERS, PER_MINUTE, POST_MESSAGE

SPEC = Path(__file__).parents[2].parent / "shared" / "specs" / "slack" / \
    "slack_web_openapi_v2.json"
SPEC_GAPS = {
    ("/conversations.history", "response_metadata"): {"$ref": "#/definitions/"
                                                              "objs_response_metadata"},
    ("/files.list", "response_metadata"): {"$ref": "#/definitions/objs_response_metadata"},
}


class Spec:
    """The Swagger document, with ``$ref`` s inlined into Draft 4 JSON Schema."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.defs = doc["definitions"]

    def op(self, method: str) -> dict[str, Any]:
        path = self.doc["paths"][f"/{method}"]
        return path.get("get") or path["post"]

    def schema(self, method: str, status: str) -> dict[str, Any]:
        raw = copy.deepcopy(self.op(method)["responses"][status]["schema"])
        for (path, name), extra in SPEC_GAPS.items():
            if path == f"/{method}" and status == "200":
                raw["properties"][name] = extra
        if method == "files.list" and status == "200":  # cursor mode: no classic paging
            raw["required"] = [r for r in raw["required"] if r != "paging"]
        if method == "chat.update" and status == "200":
            raw["properties"]["message"]["properties"]["blocks"] = {"$ref": "#/definitions/blocks"}
        if status == "default":
            raw["properties"]["error"].pop("enum", None)
            raw["properties"]["response_metadata"] = {"$ref": "#/definitions/"
                                                              "objs_response_metadata"}
        return self.convert(raw)

    def error_codes(self, method: str) -> set[str]:
        return set(self.op(method)["responses"]["default"]["schema"]["properties"]["error"]
                   .get("enum", []))

    def convert(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.convert(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self.convert(self.defs[node["$ref"].rsplit("/", 1)[-1]])
        out = {k: self.convert(v) for k, v in node.items()
               if k not in ("description", "title", "example", "examples", "properties")}
        if isinstance(node.get("properties"), dict):  # field names are data, not keywords
            out["properties"] = {k: self.convert(v) for k, v in node["properties"].items()}
        # Swagger's "items: [a, b]" on a schema without a type means "one of these shapes".
        if isinstance(out.get("items"), list) and out.get("type") != "array":
            return {"anyOf": out.pop("items"), **out}
        return out


@pytest.fixture(scope="module")
def spec() -> Spec:
    if not SPEC.is_file():
        pytest.skip(f"Slack's OpenAPI spec is not checked out beside the repo ({SPEC})")
    return Spec(json.loads(SPEC.read_text()))


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    emulator = SlackEmulator(records=120, seed=21, tiers=False)
    with Sandbox("slack", emulator, SandboxServer(emulator).start()) as sandbox:
        yield sandbox


@pytest.fixture()
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    with httpx.Client(base_url=sb.url + "/api", headers=headers, timeout=10) as client:
        yield client


def check(spec: Spec, method: str, response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    status = "200" if body["ok"] else "default"
    validator = jsonschema.Draft4Validator(spec.schema(method, status))
    errors = list(validator.iter_errors(body))
    if errors:
        worst = jsonschema.exceptions.best_match(errors)
        where = "/".join(map(str, worst.absolute_path))
        pytest.fail(f"{method} ({status}): {len(errors)} schema errors; at {where}: "
                    f"{worst.message[:300]}")
    return body  # type: ignore[no-any-return]


def test_reads_match_the_spec(spec, api, sb) -> None:
    w = sb.emulator.world
    general = w.channels[0].id
    every = "public_channel,private_channel,mpim,im"
    channels = check(spec, "conversations.list", api.get("/conversations.list",
                                                         params={"types": every}))["channels"]
    assert {c["id"][0] for c in channels} >= {"C", "D", "G"}
    page = check(spec, "conversations.list", api.get("/conversations.list", params={"limit": 3}))
    assert page["response_metadata"]["next_cursor"]
    for channel in channels[::3]:
        found = w.channel(channel["id"])
        # the spec says messages has minItems 1: an empty history is checked apart
        if found and w.bot_user_id in found.members and w.messages(found):
            check(spec, "conversations.history", api.get(
                "/conversations.history", params={"channel": channel["id"], "limit": 50}))
        check(spec, "conversations.members", api.get("/conversations.members",
                                                     params={"channel": channel["id"]}))
    more = check(spec, "conversations.history", api.get(
        "/conversations.history", params={"channel": general, "limit": 5}))
    assert more["has_more"] and more["response_metadata"]["next_cursor"]
    users = check(spec, "users.list", api.get("/users.list", params={"limit": 200}))
    assert len(users["members"]) == 120
    check(spec, "users.list", api.get("/users.list", params={"limit": 7, "include_locale": 1}))
    check(spec, "files.list", api.get("/files.list", params={"count": 50, "page": 2}))
    check(spec, "files.list", api.get("/files.list", params={"limit": 50}))
    check(spec, "auth.test", api.get("/auth.test"))


def test_writes_match_the_spec(spec, api, sb) -> None:
    channel = sb.emulator.world.channels[0].id
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    sent = check(spec, "chat.postMessage", api.post(
        "/chat.postMessage", json={"channel": channel, "text": "hi", "blocks": blocks},
        headers={"Content-Type": "application/json; charset=utf-8"}))
    check(spec, "chat.postMessage", api.post("/chat.postMessage", data={
        "channel": channel, "text": "threaded", "thread_ts": sent["ts"]}))
    check(spec, "chat.update", api.post("/chat.update", data={
        "channel": channel, "ts": sent["ts"], "text": "edited", "blocks": json.dumps(blocks)}))


ERRORS = [
    ("conversations.history", {"channel": "CNOSUCH000"}, "channel_not_found"),
    ("conversations.history", {"channel": "C1", "oldest": "x"}, "invalid_ts_oldest"),
    ("conversations.members", {"channel": "CNOSUCH000"}, "channel_not_found"),
    ("conversations.members", {"channel": "{general}", "cursor": "eA=="}, "invalid_cursor"),
    ("users.list", {"cursor": "bm9wZQ=="}, "invalid_cursor"),
    ("files.list", {"types": "nope"}, "unknown_type"),
    ("files.list", {"user": "UNOSUCH00"}, "user_not_found"),
    ("chat.postMessage", {"channel": "CNOSUCH000", "text": "x"}, "channel_not_found"),
    ("chat.postMessage", {"channel": "{general}"}, "no_text"),
    ("chat.postMessage", {"channel": "{general}", "text": "x" * 40_001}, "msg_too_long"),
    ("chat.update", {"channel": "{general}", "ts": "1000000000.000001", "text": "x"},
     "message_not_found"),
    ("chat.update", {"channel": "{general}", "ts": "{someone}", "text": "x"},
     "cant_update_message"),
]


@pytest.mark.parametrize(("method", "params", "code"), ERRORS)
def test_errors_match_the_spec(spec, api, sb, method, params, code) -> None:
    w = sb.emulator.world
    names = {"{general}": w.channels[0].id,
             "{someone}": next(m["ts"] for m in w.messages(w.channels[0]) if "user" in m
                               and m["user"] != w.bot_user_id)}
    if method == "conversations.history" and params.get("channel") == "C1":
        params = {**params, "channel": w.channels[0].id}
    params = {k: names.get(v, v) for k, v in params.items()}
    if method.startswith("chat."):
        response = api.post(f"/{method}", data=params)
    else:
        response = api.get(f"/{method}", params=params)
    body = check(spec, method, response)
    assert response.status_code == 200 and body["error"] == code
    assert code in spec.error_codes(method), f"{code} is not a documented {method} error"


def test_auth_errors_match_the_spec(spec, sb) -> None:
    for method in ("conversations.list", "users.list", "auth.test"):
        got = httpx.get(f"{sb.url}/api/{method}")
        assert check(spec, method, got)["error"] == "not_authed"
        assert "not_authed" in spec.error_codes(method)
        bad = httpx.get(f"{sb.url}/api/{method}", headers={"Authorization": "Bearer xoxb-x"})
        assert check(spec, method, bad)["error"] == "invalid_auth"
    token = sb.emulator.add_token(scopes=["chat:write"])
    scoped = httpx.get(f"{sb.url}/api/users.list", headers={"Authorization": f"Bearer {token}"})
    body = check(spec, "conversations.list", scoped)
    assert body["error"] == "missing_scope" and body["needed"] == "users:read"


def test_definition_tiers_are_the_emulators() -> None:
    tiers = [RateTier.from_config(t) for t in load_definition("slack").rate_limits]
    for method, tier in METHOD_TIERS.items():
        (match,) = [t for t in tiers if t.applies_to(method)]
        assert (match.name, match.limit, match.per, match.scope) == \
            (f"tier{tier}", PER_MINUTE[tier], 60.0, "endpoint"), method
    (post,) = [t for t in tiers if t.applies_to("chat.postMessage:C0123ABCD")]
    assert (post.limit / post.per, post.burst) == POST_MESSAGE
