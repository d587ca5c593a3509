"""Operations declared once, in a definition: each becomes a typed method of the connection
(signature, docstring, dir()), fills its path with percent-encoded segments, sends its
arguments as the definition says (JSON, form, query), refuses a call missing a required
argument before sending anything, and is resent after a failure only when it is declared
``idempotent`` (or carries an idempotency key). A small API on 127.0.0.1 counts what it
applied."""

from __future__ import annotations

import inspect
import json
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik
from integkit.engine import ConnectorDef

DEFINITION = """
service: {service}
base_url: {base_url}
body: json
idempotency: {{header: Idempotency-Key}}
retry: {{max_attempts: 3, initial_delay: 0.01, max_delay: 0.01}}
operations:
  add_note:
    path: "/v1/boards/{{board}}/cards/{{card}}/notes"
    required: [text]
    params:
      board: the board's name.
      text: {{type: string, doc: "what the note says."}}
      pinned: {{type: boolean, doc: "keep it on top."}}
      color: {{type: string, positional: true, default: yellow, doc: "its color."}}
    doc: Add a note to a card.
  set_level:
    path: /v1/levels/set
    required: [item, level]
    params:
      item: {{type: string, doc: "the item."}}
      level: {{type: integer, doc: "its new level."}}
    idempotent: true
    unwrap: level.value
    endpoint: "levels.set:{{item}}"
    headers: {{X-Api-Flavor: plain}}
    doc: Set an item's level (an absolute value; safe to repeat).
  subscribe:
    path: /v1/subscriptions
    body: form
    params:
      email: {{doc: "who."}}
      phone: {{doc: "or a phone number."}}
    one_of: [[email, phone]]
    doc: Subscribe someone.
  search:
    method: GET
    path: /v1/search
    required: [q]
    doc: Search.
  archive:
    method: POST
    path: "/v1/cards/{{card}}/archive"
    body: query
    doc: Archive a card.
"""


class Api:
    """What the server applied, counted per path (a write is applied when it answers 2xx or
    when ``fail_after_applying`` lost its answer), and the raw requests it received."""

    def __init__(self) -> None:
        self.applied: dict[str, int] = {}
        self.received: list[dict[str, Any]] = []
        self.fail: list[int] = []  # statuses to answer before applying, one per request
        self.lock = threading.Lock()

    async def __call__(self, request: Request) -> Response:
        body = await request.body()
        raw = request.scope["raw_path"].decode()
        with self.lock:
            self.received.append({"method": request.method, "raw_path": raw,
                                  "query": request.url.query, "body": body,
                                  "headers": dict(request.headers)})
            if self.fail:
                return JSONResponse({"error": "unavailable"}, status_code=self.fail.pop(0))
            self.applied[raw] = self.applied.get(raw, 0) + 1
        if raw == "/v1/levels/set":
            sent = json.loads(body)
            return JSONResponse({"level": {"item": sent["item"], "value": sent["level"]}})
        return JSONResponse({"ok": True, "path": raw})


@pytest.fixture
def api(home) -> Api:
    served = Api()
    home.route("*", served)
    return served


def _connect(home, tmp_path: Path, sleeps, definition: str) -> ik.Connection:
    path = tmp_path / f"d{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(definition.format(service=f"notes{uuid.uuid4().hex[:8]}",
                                      base_url=home.url))
    return ik.connect(str(path), sleep=sleeps, rate_limit=False, cache=False)


@pytest.fixture
def conn(home, tmp_path: Path, sleeps) -> ik.Connection:
    """A connection to a service that takes an Idempotency-Key."""
    return _connect(home, tmp_path, sleeps, DEFINITION)


@pytest.fixture
def nokey(home, tmp_path: Path, sleeps) -> ik.Connection:
    """The same API, but it takes no idempotency key."""
    return _connect(home, tmp_path, sleeps,
                    DEFINITION.replace("idempotency: {{header: Idempotency-Key}}\n", ""))


# -- the methods ------------------------------------------------------------------------------
def test_each_operation_is_a_method_with_a_signature_and_a_docstring(conn) -> None:
    assert {"add_note", "set_level", "subscribe", "search", "archive"} <= set(dir(conn))
    assert str(inspect.signature(conn.add_note)) == (
        "(board, card, text: str, color: str = 'yellow', *, pinned: bool | None = None, "
        "idempotency_key: str | None = None, **params: Any) -> Any")
    assert str(inspect.signature(conn.search)) == "(q, **params: Any) -> Any"  # GET: no key
    method = type(conn).add_note
    assert method.__name__ == "add_note" and method.__qualname__ == "Connection.add_note"
    doc = conn.add_note.__doc__
    assert doc.startswith("Add a note to a card.\n\n``POST /v1/boards/{board}/cards/{card}/"
                          "notes``.")
    assert "    board: the board's name. Required." in doc
    assert "    card: path segment (percent-encoded). Required." in doc
    assert "    pinned: keep it on top." in doc and "    **params:" in doc
    assert "safe to repeat" in conn.set_level.__doc__
    assert "Needs a email or a phone." in conn.subscribe.__doc__


def test_one_class_per_definition_and_code_wins(conn, tmp_path, home) -> None:
    again = ik.Connection(conn.definition, rate_limit=False)
    assert type(again) is type(conn) and isinstance(conn, ik.Connection)
    plain = ik.rest(home.url)
    assert type(plain) is ik.Connection  # no operations: no subclass
    stripe = ik.connect("stripe", api_key="sk_test_x")
    assert stripe.create_payment_intent.__qualname__ == "StripeConnection.create_payment_intent"
    gh = ik.connect("github", token="ghp_x")
    assert "auto_merge" in inspect.signature(gh.create_pull_request).parameters  # its own code


# -- what is sent -----------------------------------------------------------------------------
def test_path_placeholders_are_one_encoded_segment_each(conn, api) -> None:
    assert conn.add_note("road map", "c1?x=2#y", text="hi")["ok"]
    sent = api.received[-1]
    assert sent["raw_path"] == "/v1/boards/road%20map/cards/c1%3Fx%3D2%23y/notes"
    assert json.loads(sent["body"]) == {"text": "hi", "color": "yellow"}
    for wrong in ("..", "a/b", ""):
        with pytest.raises(ik.InvalidRequestError, match="one path segment"):
            conn.add_note(wrong, "c1", text="hi")
    assert len(api.received) == 1


def test_body_encodings_json_form_and_query(conn, api) -> None:
    conn.add_note("b", "c", "hi", "red", pinned=True, labels=["x"])
    sent = api.received[-1]
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {"text": "hi", "color": "red", "pinned": True,
                                        "labels": ["x"]}
    conn.subscribe(email="ada@example.com", tags=["a", "b"], meta={"k": 1}, phone=None)
    sent = api.received[-1]
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(sent["body"].decode()) == [("email", "ada@example.com"), ("tags[]", "a"),
                                                ("tags[]", "b"), ("meta[k]", "1")]
    conn.search("a b", limit=5)
    sent = api.received[-1]
    assert sent["method"] == "GET" and sent["query"] == "q=a+b&limit=5" and sent["body"] == b""
    conn.archive("c9", reason="done")
    sent = api.received[-1]
    assert (sent["method"], sent["raw_path"], sent["query"], sent["body"]) == (
        "POST", "/v1/cards/c9/archive", "reason=done", b"")


def test_the_definitions_body_is_the_default_and_an_operation_may_choose(home, tmp_path, api,
                                                                        sleeps) -> None:
    form = _connect(home, tmp_path, sleeps, DEFINITION.replace("body: json", "body: form"))
    form.add_note("b", "c", text="hi", meta={"k": 1})
    assert parse_qsl(api.received[-1]["body"].decode()) == [
        ("text", "hi"), ("color", "yellow"), ("meta[k]", "1")]
    form.archive("c9", reason="done")  # body: query, even where the definition says form
    assert (api.received[-1]["query"], api.received[-1]["body"]) == ("reason=done", b"")


def test_headers_unwrap_and_endpoint_template(conn, api) -> None:
    events: list[ik.CallEvent] = []
    ik.on("call", events.append)
    try:
        assert conn.set_level("sku 1", 7) == 7
    finally:
        ik.off("call", events.append)
    assert api.received[-1]["headers"]["x-api-flavor"] == "plain"
    assert [e.endpoint for e in events] == ["levels.set:sku 1"]


def test_missing_arguments_are_named_before_anything_is_sent(conn, api) -> None:
    with pytest.raises(ik.ConfigError, match=r"add_note needs card=, text=; nothing was sent"):
        conn.add_note("b")
    with pytest.raises(ik.ConfigError, match=r"needs a email or a phone \(email=, phone=\)"):
        conn.subscribe(phone=None)
    with pytest.raises(ik.ConfigError, match="max_records= is integkit's"):
        conn.search("x", max_records=3)
    with pytest.raises(ik.ConfigError, match="idempotency_kye= looks like a slip"):
        conn.add_note("b", "c", text="t", idempotency_kye="k-1")
    with pytest.raises(ik.ConfigError, match="search takes no idempotency_key="):
        conn.search("x", idempotency_key="k-1")
    with pytest.raises(TypeError):
        conn.search("x", q="y")  # one argument given twice
    assert api.received == []


# -- resent only when it is safe --------------------------------------------------------------
def test_an_idempotent_operation_is_retried_and_applied_once(nokey, api, sleeps) -> None:
    api.fail = [503]
    assert nokey.set_level("sku", 3) == 3
    attempts = [r for r in api.received if r["raw_path"] == "/v1/levels/set"]
    assert len(attempts) == 2 and "idempotency-key" not in attempts[0]["headers"]
    assert api.applied == {"/v1/levels/set": 1} and len(sleeps) == 1


def test_a_write_with_no_key_and_not_idempotent_is_not_retried(nokey, api, sleeps) -> None:
    assert "idempotency_key" not in inspect.signature(nokey.add_note).parameters
    api.fail = [503]
    with pytest.raises(ik.ServerError):
        nokey.add_note("b", "c", text="once")
    assert len(api.received) == 1 and api.applied == {} and sleeps == []


def test_a_write_with_a_key_is_retried_with_the_same_key(conn, api, sleeps) -> None:
    api.fail = [503]
    conn.add_note("b", "c", text="hi", idempotency_key="k-1")
    assert [r["headers"]["idempotency-key"] for r in api.received] == ["k-1", "k-1"]


# -- validated at load ------------------------------------------------------------------------
@pytest.mark.parametrize(("operation", "problem"), [
    ({"path": "/x", "bodyy": "json"}, r"unknown key 'bodyy'; did you mean 'body'\?"),
    ({"path": "/x", "body": "xml"}, r"body must be one of 'json', 'form', 'query'"),
    ({"path": "/x", "idempotent": "yes"}, r"idempotent"),
    ({"path": "/x", "one_of": [["a"]]}, r"at least two parameters"),
    ({"path": "/x", "one_of": [["a", "b"]]}, r"one_of names 'a', 'b', which is no path"),
    ({"path": "/x", "endpoint": "x:{who}"}, r"endpoint names 'who'"),
    ({"path": "/x/{class}"}, r"'class' cannot be the name of a method's argument"),
    ({"path": "/x", "params": {"a": {"type": "decimal"}}}, r"params 'a' type must be one of"),
    ({"path": "/x", "headers": {"X-N": 1}}, r"'X-N' must be strings"),
])
def test_a_wrong_operation_is_refused_at_load_naming_the_key(operation, problem) -> None:
    raw = {"service": "s", "base_url": "https://api.example.com",
           "operations": {"op": operation}}
    with pytest.raises(ik.ConfigError, match=problem):
        ConnectorDef.from_mapping(raw)


def test_an_operation_may_not_hide_the_engines_own_methods(home) -> None:
    for name in ("list", "service"):
        definition = ConnectorDef.from_mapping({"service": "s", "base_url": home.url,
                                                "operations": {name: {"path": "/x"}}})
        with pytest.raises(ik.ConfigError, match=f"'{name}' would hide the connection's own"):
            ik.Connection(definition)


# -- the shipped connectors' operations -------------------------------------------------------
def test_shipped_operations_are_typed_methods() -> None:
    stripe = ik.connect("stripe", api_key="sk_test_x")
    assert str(inspect.signature(stripe.create_refund)) == (
        "(charge: str | None = None, *, payment_intent: str | None = None, "
        "amount: int | None = None, idempotency_key: str | None = None, **params: Any) -> Any")
    assert "Idempotency-Key" in stripe.create_customer.__doc__
    slack = ik.connect("slack", token="xoxb-x")
    assert str(inspect.signature(slack.send_message)).startswith(
        "(channel, text: str | None = None, *, blocks: list | None = None")
    assert "idempotency_key" not in inspect.signature(slack.update_message).parameters
    gh = ik.connect("github", token="ghp_x")
    assert list(inspect.signature(gh.dispatch_workflow).parameters) == [
        "owner", "repo", "workflow", "ref", "inputs", "params"]
    assert inspect.signature(gh.dispatch_workflow).parameters["ref"].default == "main"


def test_slack_update_is_resent_after_a_503_but_a_post_is_not(sleeps) -> None:
    with ik.sandbox("slack", records=30, seed=4) as sb:
        slack = sb.connect(sleep=sleeps, rate_limit=False)
        channel = sb.emulator.world.channels[0].id
        sent = slack.send_message(channel, "v1")
        sb.faults.fail(503, times=1, path="/chat.update", method="POST")
        assert slack.update_message(channel, sent["ts"], "v2")["text"] == "v2"  # idempotent
        assert len(sleeps) == 1
        before = sb.emulator.objects["message"]
        sb.faults.fail(503, times=1, path="/chat.postMessage", method="POST")
        with pytest.raises(ik.ServerError):
            slack.send_message(channel, "once")
        assert len(sleeps) == 1 and sb.emulator.objects["message"] == before
