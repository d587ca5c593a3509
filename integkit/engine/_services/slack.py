"""Slack: conversations, history, members, users and files as Results; messages sent and
updated; interactive block actions routed to handlers.

>>> slack = ik.connect("slack", token="xoxb-...")                       # doctest: +SKIP
>>> slack.conversations(types="public_channel,private_channel").to_frame()
>>> slack.history("C0123ABCDEF", oldest="2024-01-01").to_frame()
>>> slack.send_message("C0123ABCDEF", text="Daily numbers are in", blocks=[...])
>>> slack.on_action("approve", lambda action, payload: ...)

Slack answers failures with HTTP 200 and ``{"ok": false, "error": ...}``: the definition's
``responses:`` rules have the call pipeline retry the transient ones (``internal_error``,
``fatal_error``...) on reads and on ``chat.update``, each retry passing the rate limiter again,
and raise the others as the shared errors. ``chat.postMessage`` is not retried after those,
since Slack says part of the operation may have happened: the error says so. Each method has
its own rate-limit tier (the definition's ``rate_limits``); ``chat.postMessage`` is limited
per channel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ... import webhooks
from ..._errors import ConfigError
from ..._events import register_secret
from ..._params import ParamType, convert
from ..._results import Result
from .._definition import ConnectorDef
from .._listing import Strategies, register_strategies
from .._rest import Connection, Listing
from .slack_errors import SlackWarning

__all__ = ["SlackConnection", "SlackWarning", "to_slack_ts"]

_CHANNEL_TYPES = ("public_channel", "private_channel", "mpim", "im")


def to_slack_ts(value: Any) -> str:
    """A Slack timestamp (``"1712345678.000100"``) from a ts string, a number of seconds, a
    date, a datetime (naive = UTC) or an ISO-8601 string: the ``slack_ts`` parameter type
    (:mod:`integkit._params`), which the definition's ``oldest``/``latest`` go through."""
    return str(convert("ts", value, ParamType("slack_ts")))


def member_rows(listing: Listing, records: list[Any]) -> list[Any]:
    """conversations.members lists bare user ids: each made a row (``id``, ``channel``)."""
    channel = listing.params.get("channel")
    return [{"id": user, "channel": channel} if isinstance(user, str) else user
            for user in records]


register_strategies("slack", Strategies(records=member_rows), resource="members")


class SlackConnection(Connection):
    """Slack's Web API: cursor paging, ``ok: false`` errors, per-method tiers, block actions.

    ``signing_secret`` (default: ``SLACK_SIGNING_SECRET``) verifies the interaction payloads
    :meth:`dispatch` receives.
    """

    def __init__(self, definition: ConnectorDef, *, signing_secret: str | None = None,
                 **options: Any) -> None:
        super().__init__(definition, **options)
        self.signing_secret = signing_secret or os.environ.get("SLACK_SIGNING_SECRET")
        register_secret(self.signing_secret)

    # -- reads --------------------------------------------------------------------------------
    def conversations(self, types: str | Sequence[str] = "public_channel", *,
                      exclude_archived: bool = False, **params: Any) -> Result:
        """Channels of the workspace: ``types`` among public_channel, private_channel, mpim
        and im (a comma string or a list)."""
        wanted = [types] if isinstance(types, str) else list(types)
        names = [t.strip() for item in wanted for t in item.split(",") if t.strip()]
        unknown = sorted(set(names) - set(_CHANNEL_TYPES))
        if unknown:
            raise ConfigError(f"unknown conversation types {unknown}; use {_CHANNEL_TYPES}")
        return self.list("conversations", types=",".join(names),
                         exclude_archived=exclude_archived, **params)

    def history(self, channel: str, *, oldest: Any = None, latest: Any = None,
                inclusive: bool | None = None, **params: Any) -> Result:
        """A channel's messages, newest first, within ``oldest`` .. ``latest`` (exclusive
        unless ``inclusive=True``); times as dates, datetimes, ISO strings or Slack ts."""
        extra: dict[str, Any] = {k: v for k, v in {"oldest": oldest, "latest": latest,
                                                   "inclusive": inclusive}.items()
                                 if v is not None}
        return self.list("history", channel=channel, **extra, **params)

    def members(self, channel: str, **params: Any) -> Result:
        """The user ids in a channel, one row each (``id``, ``channel``)."""
        return self.list("members", channel=channel, **params)

    def users(self, **params: Any) -> Result:
        """Every user of the workspace, bots and deactivated users included."""
        return self.list("users", **params)

    def files(self, *, channel: str | None = None, user: str | None = None,
              types: str | Sequence[str] | None = None, **params: Any) -> Result:
        """Files shared in the workspace, newest first; filter by channel, user or types
        (``images``, ``pdfs``, ``snippets``...)."""
        extra: dict[str, Any] = {k: v for k, v in {"channel": channel, "user": user,
                                                   "types": types}.items() if v is not None}
        return self.list("files", **extra, **params)

    def auth_test(self) -> dict[str, Any]:
        """Who the token is: team, user and bot ids (``auth.test``)."""
        return self.request("GET", "/auth.test", endpoint="auth.test")  # type: ignore[no-any-return]

    # -- interactivity ----------------------------------------------------------------------------
    def on_action(self, action_id: str, handler: Callable[..., Any] | None = None) -> Any:
        """Call ``handler(action, payload)`` for each block action ``action_id`` (a glob, or
        "*") that :meth:`dispatch` (or ``ik.webhooks.dispatch("slack", ...)``) receives; a
        decorator without ``handler``."""
        if handler is None:
            return webhooks.on_action(action_id)
        return webhooks.on_action(action_id, handler)

    def dispatch(self, body: bytes | str, headers: Any) -> list[Any]:
        """Verify an interaction Slack POSTed to the app's Request URL (signing secret,
        5-minute replay window) and run its action handlers; returns what they returned."""
        if not self.signing_secret:
            raise ConfigError("dispatch needs the app's signing secret: set SLACK_SIGNING_SECRET "
                              "or pass ik.connect('slack', signing_secret=...)")
        return webhooks.dispatch("slack", body, headers, secret=self.signing_secret)


CONNECTION = SlackConnection
