"""A local Slack Web API that answers like the real one.

Emulated, with Slack's wire format (checked against the official OpenAPI description in
``tests/sandbox/test_slack_spec.py``), at ``/api/<method>`` and at ``/<method>``:

- ``conversations.list`` (``types``, ``exclude_archived``), ``conversations.history``
  (``oldest``, ``latest``, ``inclusive``), ``conversations.members``, ``conversations.info``,
  ``users.list``, ``users.info``, ``files.list`` (cursor paging, or classic ``count``/``page``),
  ``auth.test``, ``apps.connections.open``; cursor pages (``limit``, ``cursor`` ->
  ``response_metadata.next_cursor``, ``""`` on the last page).
- ``chat.postMessage`` and ``chat.update`` (JSON or form bodies; ``text``, ``blocks``,
  ``thread_ts``); posted messages appear in ``conversations.history``.
- Bearer tokens (or ``token`` in a form body) with scopes: ``not_authed``, ``invalid_auth``,
  ``token_revoked``, ``missing_scope`` with ``needed``/``provided``; ``X-OAuth-Scopes``,
  ``X-Accepted-OAuth-Scopes`` and ``X-Slack-Req-Id`` on every answer.
- Errors as Slack gives them: HTTP 200 with ``{"ok": false, "error": ...}``; ``warning`` and
  ``response_metadata.warnings`` for a JSON body without ``charset=utf-8``.
- Rate limits per method tier and per channel for ``chat.postMessage`` (:mod:`.slack_tiers`):
  HTTP 429, ``Retry-After``, ``{"ok": false, "error": "ratelimited"}``.
- Interactivity: :meth:`SlackEmulator.click` POSTs a signed ``block_actions`` payload to an
  app's Request URL on 127.0.0.1, as Slack does when a user presses a button.

``fail_with("internal_error", times=2)`` answers the next calls with a body error (HTTP 200);
``faults`` injects HTTP-level failures as for every emulator.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import fnmatch
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import orjson

from ..._errors import ConfigError
from ...webhooks import sign
from .._app import Emulator, Reply, Request
from .._clock import Moment
from .._faults import Headers
from .._fixtures import Dice, mix64
from .slack_tiers import TierLimiter, client_tiers
from .slack_world import FILE_TYPE_GROUPS, Channel, SlackWorld, ts_key

__all__ = ["BOT_SCOPES", "SlackEmulator", "SlackError"]

BOT_SCOPES = ("channels:read", "groups:read", "im:read", "mpim:read", "channels:history",
              "groups:history", "im:history", "mpim:history", "users:read", "files:read",
              "chat:write")
"""The scopes the emulator's default bot token holds."""

_READ_SCOPE = {"public_channel": "channels:read", "private_channel": "groups:read",
               "mpim": "mpim:read", "im": "im:read"}
_HISTORY_SCOPE = {"public_channel": "channels:history", "private_channel": "groups:history",
                  "mpim": "mpim:history", "im": "im:history"}
_TS = re.compile(r"^\d{10}\.\d{6}$")
_MAX_TEXT = 40_000
_MAX_BLOCKS = 50
_DAY = 86_400


class SlackError(Exception):
    """An ``ok: false`` answer: its code, HTTP status and extra fields."""

    def __init__(self, code: str, *, status: int = 200, extra: dict[str, Any] | None = None,
                 headers: Headers | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.extra = extra or {}
        self.headers = headers or []

    def payload(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, **self.extra}


def _invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments",
                      extra={"response_metadata": {"messages": list(messages)}})


@dataclass
class _Token:
    kind: str  # "bot" or "app"
    scopes: tuple[str, ...]


@dataclass
class _BodyFault:
    code: str
    method: str | None
    times: int | None


def _new_token(prefix: str, seed: int) -> str:
    d = Dice(mix64(seed ^ int.from_bytes(os.urandom(8), "big")))
    return (f"{prefix}-{d.between(10**11, 10**12 - 1)}-{d.between(10**12, 10**13 - 1)}-"
            f"{d.token(24)}")


def _encode_cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _decode_cursor(raw: str | None, kind: str) -> str | None:
    if not raw:
        return None
    try:
        text = base64.b64decode(raw.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SlackError("invalid_cursor") from None
    prefix, _, value = text.partition(":")
    if prefix != kind or not value:
        raise SlackError("invalid_cursor")
    return value


def _limit(params: dict[str, Any], default: int, maximum: int) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise SlackError("invalid_limit") from None
    if value < 0:
        raise SlackError("invalid_limit")
    return min(value, maximum) if value else default


def _flag(params: dict[str, Any], name: str) -> bool:
    return str(params.get(name, "")).lower() in ("1", "true")


def _ts_param(params: dict[str, Any], name: str, code: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        text = f"{float(str(raw)):.6f}"
    except ValueError:
        raise SlackError(code) from None
    return ts_key(text)


class SlackEmulator(Emulator):
    """The Slack emulator: an ASGI app plus a seeded workspace.

    >>> emu = SlackEmulator(records=100, seed=1)            # doctest: +SKIP
    >>> emu.world.channels[0].obj["name"]                    # doctest: +SKIP
    'general'

    ``tiers=False`` turns Slack's per-method limits off; ``rate_limit=(rate, burst)`` adds a
    per-token limit over every method, as for every emulator.
    """

    service = "slack"
    key_prefix = "xoxb-"

    def __init__(self, *, records: int = 1000, seed: int = 0,
                 rate_limit: tuple[float, int] | None = None, latency: float = 0.0,
                 api_key: str | None = None, now: Moment = None, tiers: bool = True,
                 signing_secret: str | None = None) -> None:
        super().__init__(api_key=api_key or _new_token("xoxb", seed), rate_limit=rate_limit,
                         latency=latency, now=now)
        self.records = records
        self.seed = seed
        self.world = SlackWorld(records, seed, self.world_clock.midnight())
        self.tokens: dict[str, _Token] = {self.api_key: _Token("bot", BOT_SCOPES)}
        self.app_token = _new_token("xapp-1", seed)
        self.tokens[self.app_token] = _Token("app", ("connections:write",))
        self.revoked: set[str] = set()
        self.tiers = TierLimiter() if tiers else None
        self.signing_secret = signing_secret or Dice(mix64(seed + 17)).token(32).lower()
        self._body_faults: list[_BodyFault] = []
        self._last_ts = 0
        self._ts_lock = threading.Lock()

    # -- programming (tests) -------------------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        """``ik.connect("slack", ...)`` arguments for this emulator: the bot token, the signing
        secret, and client-side limits when this emulator's differ from Slack's (None: the
        definition's tiers, which should be Slack's; a wrong one meets this emulator's 429s):
        Slack's tiers (:func:`.slack_tiers.client_tiers`) and the ``rate_limit`` option's."""
        creds: dict[str, Any] = {"token": self.api_key, "signing_secret": self.signing_secret}
        if self.tiers is not None:
            creds["rate_limit"] = None
            if self.limiter is not None:
                creds["rate_limit"] = [*client_tiers(), {
                    "name": "sandbox", "limit": int(self.limiter.rate), "per": 1,
                    "burst": int(self.limiter.burst)}]
        return creds

    def limits_text(self) -> list[str]:
        tiers = ["Slack's method tiers 1-4, chat.postMessage per channel"] if self.tiers else []
        return [*tiers, *super().limits_text()]

    def add_token(self, token: str | None = None, *, scopes: tuple[str, ...] | list[str] =
                  BOT_SCOPES) -> str:
        """Accept another bot token with ``scopes`` (e.g. to meet ``missing_scope``)."""
        token = token or _new_token("xoxb", len(self.tokens))
        self.tokens[token] = _Token("bot", tuple(scopes))
        self.api_keys.add(token)
        return token

    def add_api_key(self, key: str) -> None:
        self.add_token(key)

    def revoke(self, token: str) -> None:
        """Answer ``token_revoked`` for ``token`` from now on (the app was uninstalled)."""
        self.revoked.add(token)

    def fail_with(self, code: str, *, times: int | None = 1, method: str | None = None) -> None:
        """Answer the next ``times`` calls (of ``method``, a glob) with HTTP 200 and
        ``{"ok": false, "error": code}``, after auth and limits, as Slack reports its own
        failures (``internal_error``, ``fatal_error``...)."""
        with self.lock:
            self._body_faults.append(_BodyFault(code, method, times))

    def clear_failures(self) -> None:
        """Forget every ``fail_with`` not yet used."""
        with self.lock:
            self._body_faults.clear()

    # -- HTTP --------------------------------------------------------------------------------------
    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        headers: Headers = [(b"content-type", b"application/json; charset=utf-8"),
                            (b"x-slack-req-id", os.urandom(16).hex().encode())]
        if status == 429:
            headers.append((b"retry-after", b"1"))
            code = "ratelimited"
        else:
            code = "service_unavailable" if status == 503 else "internal_error"
        return orjson.dumps({"ok": False, "error": code}), headers

    def handle(self, request: Request) -> Reply:
        method = request.path.removeprefix("/api/").lstrip("/")
        headers: Headers = [(b"x-slack-req-id", os.urandom(16).hex().encode()),
                            (b"access-control-allow-origin", b"*")]
        accepted = ""
        try:
            params, warnings = self._params(request)
            token = self._authenticate(request, params)
            headers.append((b"x-oauth-scopes", ",".join(self.tokens[token].scopes).encode()))
            route = _ROUTES.get(method)
            if route is None:
                raise SlackError("unknown_method", extra={"req_method": method})
            accepted = ",".join(route.scopes)
            self._limit(token, method, params)
            self._body_fault(method)
            body = route.handler(self, token, params)
            out: dict[str, Any] = {"ok": True, **body}
            if warnings:
                out["warning"] = ",".join(warnings)
                meta = out.setdefault("response_metadata", {})
                meta["warnings"] = warnings
            reply = Reply(200, orjson.dumps(out))
        except SlackError as err:
            reply = Reply(err.status, orjson.dumps(err.payload()))
            headers += err.headers
        headers.append((b"x-accepted-oauth-scopes", accepted.encode()))
        reply.headers = [(b"content-type", b"application/json; charset=utf-8"), *headers]
        return reply

    def _params(self, request: Request) -> tuple[dict[str, Any], list[str]]:
        """Query and body parameters, and the warnings Slack gives about the Content-Type."""
        params: dict[str, Any] = dict(parse_qsl(request.query, keep_blank_values=True))
        params.pop("token", None)  # tokens travel in the header or a form body, not the URL
        warnings: list[str] = []
        if request.method != "POST" or not request.body:
            return params, warnings
        ctype = request.headers.get("content-type", "").lower()
        has_charset = "charset=" in ctype
        if ctype.startswith("application/json"):
            try:
                body = json.loads(request.body)
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("json_not_object")
            if not has_charset:
                warnings.append("missing_charset")
            params.update(body)
        elif ctype.startswith("application/x-www-form-urlencoded") or not ctype:
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise SlackError("invalid_charset") from None
            params.update(parse_qsl(text, keep_blank_values=True))
            if has_charset:
                warnings.append("superfluous_charset")
        else:
            raise SlackError("invalid_post_type")
        return params, warnings

    def _authenticate(self, request: Request, params: dict[str, Any]) -> str:
        header = request.headers.get("authorization", "").strip()
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
        if not token and isinstance(params.get("token"), str):
            token = params["token"]
        params.pop("token", None)
        if not token:
            raise SlackError("not_authed")
        if token in self.revoked:
            raise SlackError("token_revoked")
        if token not in self.tokens:
            raise SlackError("invalid_auth")
        request.api_key = token
        return token

    def _limit(self, token: str, method: str, params: dict[str, Any]) -> None:
        if not self.allow(token):
            raise SlackError("ratelimited", status=429, headers=[(b"retry-after", b"1")])
        if self.tiers is None:
            return
        channel = None
        if method == "chat.postMessage":
            found = self.world.channel(str(params.get("channel") or ""))
            channel = found.id if found else str(params.get("channel"))
        wait = self.tiers.check(token, method, channel)
        if wait is not None:
            self.rate_limited += 1
            raise SlackError("ratelimited", status=429,
                             headers=[(b"retry-after", str(wait).encode())])

    def _body_fault(self, method: str) -> None:
        for fault in self._body_faults:
            if fault.method is not None and not fnmatch.fnmatchcase(method, fault.method):
                continue
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            raise SlackError(fault.code)

    def _require(self, token: str, *scopes: str) -> None:
        """``missing_scope`` naming the first scope of ``scopes`` the token lacks."""
        have = self.tokens[token].scopes
        for scope in scopes:
            if scope not in have:
                raise SlackError("missing_scope", extra={"needed": scope,
                                                         "provided": ",".join(have)})

    def _bot_only(self, token: str) -> None:
        if self.tokens[token].kind != "bot":
            raise SlackError("not_allowed_token_type")

    def _visible(self, channel: Channel) -> bool:
        """Whether the bot can see a conversation: public ones always, others as a member."""
        return channel.kind == "public_channel" or self.world.bot_user_id in channel.members

    def _channel(self, token: str, params: dict[str, Any], scopes: dict[str, str]) -> Channel:
        raw = params.get("channel")
        if not raw:
            raise _invalid_arguments("[ERROR] missing required field: channel")
        channel = self.world.channel(str(raw))
        if channel is None or not self._visible(channel):
            raise SlackError("channel_not_found")
        self._require(token, scopes[channel.kind])
        return channel

    # -- methods -----------------------------------------------------------------------------
    def auth_test(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        w = self.world
        return {"url": w.url, "team": w.team_name, "user": "integkit_bot", "team_id": w.team_id,
                "user_id": w.bot_user_id, "bot_id": w.bot_id, "is_enterprise_install": False}

    def apps_connections_open(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.tokens[token].kind != "app":
            raise SlackError("not_allowed_token_type")
        ticket = os.urandom(16).hex()
        return {"url": f"wss://wss-primary.slack.com/link/?ticket={ticket}&app_id="
                       f"{self.world.app_id}"}

    def conversations_list(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        kinds = [t.strip() for t in str(params.get("types") or "public_channel").split(",")
                 if t.strip()]
        if not kinds or any(k not in _READ_SCOPE for k in kinds):
            raise SlackError("invalid_types")
        self._require(token, *(_READ_SCOPE[k] for k in kinds))
        limit = _limit(params, 100, 1000)
        skip_archived = _flag(params, "exclude_archived")
        rows = [c for c in self.world.channels
                if c.kind in kinds and self._visible(c)
                and not (skip_archived and c.obj.get("is_archived"))]
        start = self._start(rows, _decode_cursor(params.get("cursor"), "team"), lambda c: c.id)
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        nxt = _encode_cursor("team", rows[start + limit].id) if more else ""
        return {"channels": [dict(c.obj) for c in page],
                "response_metadata": {"next_cursor": nxt}}

    @staticmethod
    def _start(rows: list[Any], cursor: str | None, key: Callable[[Any], str]) -> int:
        if cursor is None:
            return 0
        for i, row in enumerate(rows):
            if key(row) == cursor:
                return i
        raise SlackError("invalid_cursor")

    def conversations_info(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        channel = self._channel(token, params, _READ_SCOPE)
        return {"channel": dict(channel.obj)}

    def conversations_members(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        channel = self._channel(token, params, _READ_SCOPE)
        limit = _limit(params, 100, 1000)
        members = channel.members
        start = self._start(members, _decode_cursor(params.get("cursor"), "user"), str)
        more = start + limit < len(members)
        nxt = _encode_cursor("user", members[start + limit]) if more else ""
        return {"members": members[start:start + limit],
                "response_metadata": {"next_cursor": nxt}}

    def conversations_history(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        channel = self._channel(token, params, _HISTORY_SCOPE)
        if self.world.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        limit = _limit(params, 100, 999)
        latest = _ts_param(params, "latest", "invalid_ts_latest")
        oldest = _ts_param(params, "oldest", "invalid_ts_oldest")
        inclusive = _flag(params, "inclusive")
        msgs = self.world.messages(channel)
        keys = channel.keys
        start, end = 0, len(msgs)
        if latest is not None:
            start = bisect.bisect_left(keys, -latest) if inclusive else \
                bisect.bisect_right(keys, -latest)
        if oldest is not None:
            end = bisect.bisect_right(keys, -oldest) if inclusive else \
                bisect.bisect_left(keys, -oldest)
        cursor = _decode_cursor(params.get("cursor"), "next_ts")
        if cursor is not None:
            if not cursor.isdigit():
                raise SlackError("invalid_cursor")
            start = max(start, bisect.bisect_left(keys, -int(cursor)))
        stop = min(end, start + limit)
        page = msgs[start:stop] if start < end else []
        out: dict[str, Any] = {"messages": [dict(m) for m in page], "has_more": stop < end,
                               "pin_count": 0, "channel_actions_ts": None,
                               "channel_actions_count": 0}
        if stop < end:
            out["response_metadata"] = {
                "next_cursor": _encode_cursor("next_ts", str(ts_key(msgs[stop]["ts"])))}
        return out

    def users_list(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        self._require(token, "users:read")
        users = self.world.users
        limit = _limit(params, len(users), 1000)
        start = self._start(users, _decode_cursor(params.get("cursor"), "user"),
                            lambda u: str(u["id"]))
        more = start + limit < len(users)
        page = [dict(u) for u in users[start:start + limit]]
        if _flag(params, "include_locale"):
            for user in page:
                user["locale"] = "en-US"
        return {"members": page, "cache_ts": int(self.world_clock()),
                "response_metadata": {"next_cursor": _encode_cursor(
                    "user", str(users[start + limit]["id"])) if more else ""}}

    def users_info(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        self._require(token, "users:read")
        index = self.world.user_index.get(str(params.get("user") or ""))
        if index is None:
            raise SlackError("user_not_found")
        return {"user": dict(self.world.users[index])}

    def files_list(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        self._bot_only(token)
        self._require(token, "files:read")
        rows = self.world.files
        user = params.get("user")
        if user:
            if user not in self.world.user_index:
                raise SlackError("user_not_found")
            rows = [f for f in rows if f["user"] == user]
        channel = params.get("channel")
        if channel:
            rows = [f for f in rows if channel in f["channels"]]
        types = [t.strip() for t in str(params.get("types") or "all").split(",") if t.strip()]
        if any(t not in FILE_TYPE_GROUPS for t in types):
            raise SlackError("unknown_type")
        if "all" not in types:
            rows = [f for f in rows if self.world.file_group(f) in types]
        lo = _ts_param(params, "ts_from", "invalid_ts_from")
        hi = _ts_param(params, "ts_to", "invalid_ts_to")
        if lo is not None:
            rows = [f for f in rows if f["created"] * 1_000_000 >= lo]
        if hi is not None:
            rows = [f for f in rows if f["created"] * 1_000_000 <= hi]
        if "cursor" in params or "limit" in params:
            limit = _limit(params, 100, 1000)
            start = self._start(rows, _decode_cursor(params.get("cursor"), "file"),
                                lambda f: str(f["id"]))
            more = start + limit < len(rows)
            return {"files": [dict(f) for f in rows[start:start + limit]],
                    "response_metadata": {"next_cursor": _encode_cursor(
                        "file", str(rows[start + limit]["id"])) if more else ""}}
        try:
            count = max(1, min(1000, int(str(params.get("count") or 100))))
            page = max(1, int(str(params.get("page") or 1)))
        except ValueError:
            raise _invalid_arguments("[ERROR] count and page must be integers") from None
        pages = max(1, -(-len(rows) // count))
        chunk = rows[(page - 1) * count:page * count]
        return {"files": [dict(f) for f in chunk],
                "paging": {"count": count, "total": len(rows), "page": page, "pages": pages}}

    def _blocks(self, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        raw = params.get("blocks")
        if raw in (None, ""):
            return None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise SlackError("invalid_blocks_format") from None
        if not isinstance(raw, list) or not all(
                isinstance(b, dict) and isinstance(b.get("type"), str) for b in raw):
            raise _invalid_arguments("[ERROR] blocks must be an array of objects with a type")
        if len(raw) > _MAX_BLOCKS:
            raise SlackError("invalid_blocks")
        return raw

    def _writable(self, token: str, params: dict[str, Any]) -> Channel:
        self._bot_only(token)
        self._require(token, "chat:write")
        channel = self.world.channel(str(params.get("channel") or ""))
        if channel is None or not self._visible(channel):
            raise SlackError("channel_not_found")
        if channel.obj.get("is_archived"):
            raise SlackError("is_archived")
        if self.world.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def _text(self, params: dict[str, Any], blocks: list[dict[str, Any]] | None) -> str:
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        if text and len(text) > _MAX_TEXT:
            raise SlackError("msg_too_long")
        return text or ""

    def _next_ts(self) -> str:
        with self._ts_lock:
            now = int(self.world_clock() * 1_000_000)
            self._last_ts = max(now, self._last_ts + 1)
            value = self._last_ts
        return f"{value // 1_000_000}.{value % 1_000_000:06d}"

    def chat_post_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(token, params)
        blocks = self._blocks(params)
        text = self._text(params, blocks)
        w = self.world
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message", "user": w.bot_user_id, "bot_id": w.bot_id, "text": text,
            "ts": ts, "team": w.team_id,
            "bot_profile": {"id": w.bot_id, "deleted": False, "name": "integkit",
                            "updated": w.now - 30 * _DAY, "app_id": w.app_id,
                            "icons": {f"image_{n}": f"https://a.slack-edge.com/bot_{n}.png"
                                      for n in (36, 48, 72)},
                            "team_id": w.team_id},
        }
        if blocks is not None:
            message["blocks"] = blocks
        thread_ts = params.get("thread_ts")
        if thread_ts:
            if not isinstance(thread_ts, str) or not _TS.match(thread_ts):
                raise _invalid_arguments("[ERROR] invalid thread_ts")
            message["thread_ts"] = thread_ts
            parent = self._find(channel, thread_ts)
            if parent is not None:
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                parent["thread_ts"] = thread_ts
                parent["latest_reply"] = ts
        if not thread_ts or _flag(params, "reply_broadcast"):
            w.add_message(channel, message)
        self.objects["message"] += 1
        return {"channel": channel.id, "ts": ts, "message": dict(message)}

    def _find(self, channel: Channel, ts: str) -> dict[str, Any] | None:
        if not _TS.match(ts):
            return None
        pos = self.world.history_position(channel, ts)
        msgs = self.world.messages(channel)
        return msgs[pos] if pos < len(msgs) and msgs[pos]["ts"] == ts else None

    def chat_update(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(token, params)
        ts = params.get("ts")
        if not ts:
            raise _invalid_arguments("[ERROR] missing required field: ts")
        message = self._find(channel, str(ts))
        if message is None:
            raise SlackError("message_not_found")
        if message.get("bot_id") != self.world.bot_id or message.get("user") != \
                self.world.bot_user_id:
            raise SlackError("cant_update_message")
        blocks = self._blocks(params)
        text = self._text(params, blocks if blocks is not None else message.get("blocks"))
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        self.objects["message_update"] += 1
        return {"channel": channel.id, "ts": message["ts"], "text": text,
                "message": dict(message)}

    # -- interactivity -----------------------------------------------------------------------
    def click(self, url: str, action_id: str, *, value: str | None = None,
              channel: str | None = None, message_ts: str | None = None,
              user: str | None = None, block_id: str = "actions",
              timeout: float = 10.0) -> httpx.Response:
        """Press a button: POST a signed ``block_actions`` interaction to the app's Request URL
        (127.0.0.1 only), as Slack does; returns the app's answer."""
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"the sandbox only posts interactions to 127.0.0.1, not {host!r}")
        w = self.world
        chan = w.channel(channel) if channel else w.channels[0]
        if chan is None:
            raise ConfigError(f"no channel {channel!r} in the sandbox")
        msgs = w.messages(chan)
        message = self._find(chan, message_ts) if message_ts else (msgs[0] if msgs else None)
        who = w.users[w.user_index[user]] if user in w.user_index else \
            w.users[w.user_index[w.humans[0]]]
        now = self.world_clock()
        d = Dice(mix64(int(now * 1e6)))
        action = {"action_id": action_id, "block_id": block_id, "type": "button",
                  "text": {"type": "plain_text", "text": action_id, "emoji": True},
                  "action_ts": f"{now:.6f}"}
        if value is not None:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": who["id"], "username": who["name"], "name": who["name"],
                     "team_id": w.team_id},
            "api_app_id": w.app_id, "token": d.token(24),
            "container": {"type": "message", "message_ts": message["ts"] if message else "",
                          "channel_id": chan.id, "is_ephemeral": False},
            "trigger_id": f"{int(now)}.{d.between(10**11, 10**12 - 1)}.{d.token(32).lower()}",
            "team": {"id": w.team_id, "domain": w.domain}, "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": chan.id, "name": chan.obj.get("name", "directmessage")},
            "message": message, "state": {"values": {}},
            "response_url": f"https://hooks.slack.com/actions/{w.team_id}/"
                            f"{d.between(10**11, 10**12 - 1)}/{d.token(24)}",
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        # the signature's timestamp is checked against the receiver's own (real) clock
        headers = sign("slack", body, secret=self.signing_secret, timestamp=int(time.time()))
        headers["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
        return httpx.post(url, content=body, headers=headers, timeout=timeout)


@dataclass(frozen=True)
class _Route:
    handler: Callable[[SlackEmulator, str, dict[str, Any]], dict[str, Any]]
    scopes: tuple[str, ...]


_ROUTES: dict[str, _Route] = {
    "auth.test": _Route(SlackEmulator.auth_test, ()),
    "apps.connections.open": _Route(SlackEmulator.apps_connections_open, ("connections:write",)),
    "conversations.list": _Route(SlackEmulator.conversations_list,
                                 ("channels:read", "groups:read", "im:read", "mpim:read")),
    "conversations.info": _Route(SlackEmulator.conversations_info,
                                 ("channels:read", "groups:read", "im:read", "mpim:read")),
    "conversations.members": _Route(SlackEmulator.conversations_members,
                                    ("channels:read", "groups:read", "im:read", "mpim:read")),
    "conversations.history": _Route(SlackEmulator.conversations_history,
                                    ("channels:history", "groups:history", "im:history",
                                     "mpim:history")),
    "users.list": _Route(SlackEmulator.users_list, ("users:read",)),
    "users.info": _Route(SlackEmulator.users_info, ("users:read",)),
    "files.list": _Route(SlackEmulator.files_list, ("files:read",)),
    "chat.postMessage": _Route(SlackEmulator.chat_post_message, ("chat:write",)),
    "chat.update": _Route(SlackEmulator.chat_update, ("chat:write",)),
}
