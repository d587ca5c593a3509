"""Secrets are masked everywhere: in errors (message, body, traceback, repr), in log lines of
integkit, httpx and httpcore, in ``ik.on("call")`` events, in ``Result.cursor`` and in
checkpoint files, whether integkit was handed the secret or a server put it in a URL; short
secrets too, without masking ordinary words.

Every test talks to a real server on 127.0.0.1 (``home``, see tests/hostile.py) that echoes
what it receives the way careless or hostile services do.
"""

from __future__ import annotations

import json
import logging
import stat
import traceback
from urllib.parse import quote

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import integkit as ik
from integkit._events import redact

KEY = "sk_test_MaskMe4f9QhR2vXw7TzLp0Ye"
# A token a server hands out inside a next-page URL: integkit never registered it.
SERVER_TOKEN = "srvtok-9d8e7f6a5b4c3d2e1f0a"


def rest(base_url: str, **options) -> ik.Connection:
    options.setdefault("retry", {"maxAttempts": 1})
    return ik.rest(base_url, rate_limit=False, cache=False, **options)


def everything_shown(err: BaseException) -> str:
    """Every way an error reaches a person: str, repr, HTML repr, body, full traceback."""
    parts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    if isinstance(err, ik.IntegkitError):
        parts.append(err._repr_html_())
    body = getattr(err, "body", None)
    if body:
        parts.append(body)
    return "\n".join(parts)


def test_a_key_the_server_echoes_is_masked_in_the_error_its_body_and_its_traceback(home):
    def refuse(request: Request) -> Response:
        sent = request.headers["authorization"].removeprefix("Bearer ")
        # The key lands across the 500-character cut of the body excerpt.
        padding = "x" * (480 - len('{"error": {"message": "'))
        return JSONResponse({"error": {"message": f"{padding}invalid key {sent} (re-issue it)",
                                       "type": "invalid_request_error"}}, status_code=401)

    home.route("/v1/items", refuse)
    conn = rest(home.url, auth=ik.auth.Bearer(KEY))
    with pytest.raises(ik.AuthenticationError) as caught:
        conn.request("GET", "/v1/items")
    shown = everything_shown(caught.value)
    assert home.seen[0].carries(KEY)  # the server really had it to echo
    assert KEY not in shown and KEY[:12] not in shown
    assert "sk_t***" in str(caught.value)  # masked, not dropped: the person sees which key
    assert caught.value.status == 401 and "invalid key" in caught.value.message


def test_a_key_echoed_url_encoded_or_json_escaped_is_masked_too(home):
    key = "sk_live_Ab+/Cd=Ef\"Gh12345678"
    home.route("/v1/items", lambda request: Response(
        json.dumps({"message": f"no such key {key}", "hint": f"see /keys?k={quote(key, safe='')}"}),
        status_code=403, media_type="application/json"))
    with pytest.raises(ik.PermissionDeniedError) as caught:
        rest(home.url, auth=ik.auth.ApiKey(key, header="X-Key")).request("GET", "/v1/items")
    shown = everything_shown(caught.value)
    assert key not in shown and quote(key, safe="") not in shown
    assert json.dumps(key)[1:-1] not in shown


def test_token_query_parameters_are_masked_in_errors_logs_events_and_the_cursor(home, caplog):
    def first(request: Request) -> Response:
        nxt = f"{home.url}/v1/page2?limit=2&access_token={SERVER_TOKEN}&sig=abc123sig"
        return JSONResponse([{"id": 1}, {"id": 2}], headers={"Link": f'<{nxt}>; rel="next"'})

    def second(request: Request) -> Response:
        return JSONResponse({"error": {"message": f"cannot serve {request.url}"}},
                            status_code=400)

    home.route("/v1/page1", first)
    home.route("/v1/page2", second)
    events: list[ik.CallEvent] = []
    ik.on("call", events.append)
    try:
        with caplog.at_level(logging.DEBUG):
            result = rest(home.url).list("/v1/page1", paginator="link_header")
            with pytest.raises(ik.InvalidRequestError) as caught:
                result.to_frame()
    finally:
        ik.off("call", events.append)
    assert home.seen[-1].carries(SERVER_TOKEN)  # the next link was followed as given
    cursor = json.dumps(result.cursor)
    pages = repr(result._next)  # noqa: SLF001 - the PageRequest of the next page, shown
    for text in (everything_shown(caught.value), caplog.text, cursor, pages,
                 " ".join(e.url for e in events)):
        assert SERVER_TOKEN not in text and "abc123sig" not in text
    assert "access_token=***" in cursor and "sig=***" in cursor
    assert "access_token=***" in str(caught.value)
    assert "HTTP Request: GET" in caplog.text  # httpx's own line was there, and masked


def test_httpx_and_httpcore_log_lines_mask_urls_and_credential_headers(home, caplog):
    session = "sess-77d1c0ffee42aa"
    home.route("/v1/me", lambda request: JSONResponse(
        {"ok": True}, headers={"Set-Cookie": f"session={session}; HttpOnly",
                               "X-Api-Token": "echoed-token-value-1"}))
    conn = rest(home.url, auth=ik.auth.ApiKey(KEY, query="api_key"))
    with caplog.at_level(logging.DEBUG):
        conn.request("GET", "/v1/me", params={"password": "hunter2-not-registered"})
    assert home.seen[0].carries(KEY)
    httpcore_lines = [r for r in caplog.records if r.name.startswith("httpcore")]
    assert any("receive_response_headers" in r.getMessage() for r in httpcore_lines)
    assert any(r.name == "httpx" for r in caplog.records)
    for secret in (KEY, session, "echoed-token-value-1", "hunter2-not-registered"):
        assert secret not in caplog.text
    assert "api_key=***" in caplog.text and "password=***" in caplog.text


def test_a_traceback_logged_by_integkit_is_masked(home, caplog):
    home.route("/v1/me", lambda request: JSONResponse({"ok": True}))

    def careless_hook(event: ik.CallEvent) -> None:
        raise ValueError(f"could not forward the call made with {KEY}")

    ik.on("call", careless_hook)
    try:
        with caplog.at_level(logging.ERROR, logger="integkit"):
            rest(home.url, auth=ik.auth.Bearer(KEY)).request("GET", "/v1/me")
    finally:
        ik.off("call", careless_hook)
    assert "hook" in caplog.text and "ValueError" in caplog.text  # the traceback is kept
    assert KEY not in caplog.text
    handler = logging.StreamHandler()
    formatted = "\n".join(handler.format(r) for r in caplog.records)
    assert "Traceback" in formatted and KEY not in formatted


@pytest.mark.parametrize(("password", "stays"), [
    ("pw1", "Xpw1Y and pw12 stay"),                # short: masked only as a whole token
    ("admin", "admin rights are required"),        # an ordinary word: only as a credential
])
def test_short_secrets_are_masked_without_masking_ordinary_words(home, password, stays):
    def refuse(request: Request) -> Response:
        message = f"{stays}; you sent password={password} to http://user:{password}@x/"
        if not password.isalpha():
            message += f" and the bare token {password}."
        return JSONResponse({"message": message, "password": password}, status_code=401)

    home.route("/v1/me", refuse)
    with pytest.raises(ik.AuthenticationError) as caught:
        rest(home.url, auth=ik.auth.Basic("user", password)).request("GET", "/v1/me")
    err = caught.value
    assert stays in str(err)
    assert f"password={password}" not in str(err) and "password=***" in str(err)
    assert f"user:{password}" not in str(err)
    assert f'"password": "{password}"' not in err.body
    if not password.isalpha():
        assert f"token {password}." not in str(err) and "token ***." in str(err)


def test_redaction_of_plain_text_keeps_ordinary_words_and_codes():
    ik.auth.Basic("someone", "4821")  # a PIN-like password registers a short secret
    text = 'status 4821 of 48210: {"code": "card_declined", "key": "PROJ-1"}; pin=4821'
    assert redact(text) == ('status 4821 of 48210: {"code": "card_declined", "key": "PROJ-1"};'
                            ' pin=***')


def test_checkpoint_files_hold_no_secret_are_private_and_resume_with_the_real_values(
        home, tmp_path):
    records = [{"id": i, "note": f"row {i}"} for i in range(6)]
    failing = {"on": True}

    def pages(request: Request) -> Response:
        start = int(request.query_params.get("offset", 0))
        if start == 4 and failing["on"]:
            return JSONResponse({"error": "busy"}, status_code=503)
        chunk = records[start:start + 2]
        # Like many servers, the next link repeats every parameter received (the token too).
        nxt = str(request.url.include_query_params(offset=start + 2,
                                                   signature=f"srvsig-{start}-f00d"))
        headers = {"Link": f'<{nxt}>; rel="next"'} if start + 2 < len(records) else {}
        return JSONResponse(chunk, headers=headers)

    home.route("/v1/rows", pages)
    folder = tmp_path / "ckpt"
    first = rest(home.url).list("/v1/rows", paginator="link_header", checkpoint=str(folder),
                                token=KEY, key="PROJ")
    with pytest.raises(ik.ServerError):
        first.to_frame()
    assert len(first) == 4
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert files
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data and b"srvsig-" not in data, path.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "token" in json.loads((folder / "state.json").read_text())["next_request"]["url"]

    failing["on"] = False
    before = len(home.seen)
    again = rest(home.url).list("/v1/rows", paginator="link_header", checkpoint=str(folder),
                                token=KEY, key="PROJ")
    assert [r["id"] for r in again] == [r["id"] for r in records]
    resumed = home.seen[before:]
    assert len(resumed) == 1  # only the page that failed is fetched again
    assert resumed[0].carries(KEY) and "key=PROJ" in resumed[0].query
    assert "***" not in resumed[0].query and "%2A%2A%2A" not in resumed[0].query
