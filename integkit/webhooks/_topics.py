"""What a verified delivery is about, per service: its event type(s) and its delivery id.

    stripe    event["type"]                          id: event["id"]
    github    X-GitHub-Event[.action]                id: X-GitHub-Delivery
    slack     event.type / payload type[.callback]   id: event_id, else trigger_id
              / slash command; block action ids
    twilio    message.<MessageStatus> / call.<CallStatus>, and the bare status
                                                     id: I-Twilio-Idempotency-Token
    shopify   X-Shopify-Topic (orders/create)        id: X-Shopify-Webhook-Id
    sendgrid  each event of the array by "event"     id: each event's sg_event_id
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Unit", "units"]


@dataclass(frozen=True, slots=True)
class Unit:
    """One thing to hand to handlers: the event, the types it routes by, its id for dedupe."""

    event: dict[str, Any] | bytes
    keys: tuple[str, ...]
    id: str | None
    actions: tuple[dict[str, Any], ...] = ()  # Slack block actions, for on_action handlers


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _stripe(event: dict[str, Any], headers: Mapping[str, str]) -> list[Unit]:
    kind = _text(event.get("type"))
    return [Unit(event, (kind,) if kind else (), _text(event.get("id")))]


def _github(event: dict[str, Any], headers: Mapping[str, str]) -> list[Unit]:
    name = headers.get("x-github-event")
    action = _text(event.get("action"))
    keys = (f"{name}.{action}",) if name and action else (name,) if name else ()
    return [Unit(event, keys, headers.get("x-github-delivery"))]


def _slack(event: dict[str, Any], headers: Mapping[str, str]) -> list[Unit]:
    kind = _text(event.get("type"))
    actions: tuple[dict[str, Any], ...] = ()
    if kind == "event_callback" and isinstance(event.get("event"), dict):
        inner = _text(event["event"].get("type"))
        keys: tuple[str, ...] = (inner,) if inner else ("event_callback",)
    elif kind in ("view_submission", "view_closed"):
        view = event.get("view")
        callback = _text(view.get("callback_id")) if isinstance(view, dict) else None
        keys = (f"{kind}.{callback}",) if callback else (kind,)
    elif kind in ("shortcut", "message_action"):
        callback = _text(event.get("callback_id"))
        keys = (f"{kind}.{callback}",) if callback else (kind,)
    elif kind:
        keys = (kind,)
        if kind == "block_actions":
            actions = tuple(a for a in event.get("actions") or () if isinstance(a, dict))
    elif _text(event.get("command")):  # a slash command: route by its name, "/weather"
        keys = (event["command"],)
    else:
        keys = ()
    ident = _text(event.get("event_id")) or _text(event.get("trigger_id"))
    return [Unit(event, keys, ident, actions)]


def _twilio(event: dict[str, Any], headers: Mapping[str, str]) -> list[Unit]:
    keys: tuple[str, ...] = ()
    message = _text(event.get("MessageStatus")) or _text(event.get("SmsStatus"))
    call = _text(event.get("CallStatus"))
    if message:
        keys = (f"message.{message}", message)
    elif call:
        keys = (f"call.{call}", call)
    elif _text(event.get("type")):
        keys = (event["type"],)
    return [Unit(event, keys, headers.get("i-twilio-idempotency-token"))]


def _shopify(event: dict[str, Any], headers: Mapping[str, str]) -> list[Unit]:
    topic = headers.get("x-shopify-topic")
    return [Unit(event, (topic,) if topic else (), headers.get("x-shopify-webhook-id"))]


def _sendgrid(event: dict[str, Any], headers: Mapping[str, str]) -> list[Unit]:
    out = []
    for item in event.get("events") or ():
        if isinstance(item, dict):
            kind = _text(item.get("event"))
            out.append(Unit(item, (kind,) if kind else (), _text(item.get("sg_event_id"))))
    return out


_BY_SERVICE: dict[str, Callable[[dict[str, Any], Mapping[str, str]], list[Unit]]] = {
    "stripe": _stripe,
    "github": _github,
    "slack": _slack,
    "twilio": _twilio,
    "shopify": _shopify,
    "sendgrid": _sendgrid,
}


def units(service: str, event: dict[str, Any] | bytes,
          headers: Mapping[str, str]) -> list[Unit]:
    """The units of a verified delivery (one, or one per event of a SendGrid batch)."""
    if isinstance(event, bytes):  # a signed GitHub body that is no JSON object: by its header
        name = headers.get("x-github-event")
        return [Unit(event, (name,) if name else (), headers.get("x-github-delivery"))]
    return _BY_SERVICE[service](event, headers)
