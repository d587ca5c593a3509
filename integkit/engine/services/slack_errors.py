"""Slack's answers read into integkit's errors and Python warnings.

Slack says most failures in the body of an HTTP 200: ``{"ok": false, "error": "channel_not_found"}``
(a 429 ``ratelimited`` is the notable exception). The connector definition maps each code to a
class of the shared hierarchy (``errors.codes``); this module adds what the code means and what
to do, the scope a ``missing_scope`` answer names, and ``response_metadata.messages``.
Non-fatal advice (``"warning": "missing_charset"``, ``response_metadata.warnings``) becomes a
:class:`SlackWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import httpx

from ..._errors import (
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from ...http import retry_after

__all__ = ["SlackWarning", "TRANSIENT_CODES", "slack_error", "warn_about"]

_CLASSES: dict[str, type[ApiError]] = {
    cls.__name__: cls
    for cls in (AuthenticationError, InvalidRequestError, NotFoundError, PermissionDeniedError,
                RateLimitError, ServerError)
}

TRANSIENT_CODES = frozenset({"internal_error", "fatal_error", "service_unavailable",
                             "request_timeout", "ratelimited", "rate_limited"})
"""Codes after which the same call can succeed later."""

# What a code means, and what to do about it (Slack's own descriptions, shortened).
_MEANING: dict[str, tuple[str, str]] = {
    "not_authed": ("no token was sent",
                   "Set SLACK_BOT_TOKEN or pass ik.connect('slack', token='xoxb-...')."),
    "invalid_auth": ("the token is not valid (wrong, malformed, or from a disallowed IP)",
                     "Copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & "
                     "Permissions page."),
    "account_inactive": ("the token belongs to a deleted user or workspace",
                         "Reinstall the app and use its new token."),
    "token_revoked": ("the token was revoked, or the app was removed from the workspace",
                      "Reinstall the app and use its new token."),
    "token_expired": ("the token has expired (token rotation is on)",
                      "Refresh it with the app's refresh token, or turn token rotation off."),
    "not_in_channel": ("the app is not a member of the channel",
                       "Invite the app to the channel (/invite @app) first."),
    "no_permission": ("the token lacks a permission this call needs",
                      "Check the app's scopes and the workspace's admin settings."),
    "not_allowed_token_type": ("this method does not accept this kind of token",
                               "Use the token type the method's documentation names "
                               "(bot xoxb-, user xoxp-, app-level xapp-)."),
    "channel_not_found": ("no such channel, or the app cannot see it",
                          "Use a channel id (C0123...), and invite the app to private "
                          "channels."),
    "message_not_found": ("no message with that ts in the channel",
                          "Use the ts chat.postMessage returned, in the same channel."),
    "user_not_found": ("no such user", "Use a user id (U0123...)."),
    "invalid_cursor": ("the cursor is not one Slack gave out (or it expired)",
                       "Start the listing again without cursor=."),
    "internal_error": ("Slack failed, likely a transient issue; part of the operation may "
                       "have happened", "Try again shortly."),
    "fatal_error": ("Slack failed badly; part of the operation may have happened",
                    "Try again shortly."),
    "cant_update_message": ("only messages the app posted can be updated",
                            "Update a message this token posted."),
    "edit_window_closed": ("the message is too old to be edited", ""),
    "is_archived": ("the channel is archived", "Unarchive it, or post elsewhere."),
    "msg_too_long": ("the message text is too long", "Shorten it, or send it as a file."),
    "no_text": ("a message needs text, blocks or attachments", "Pass text= or blocks=."),
    "invalid_blocks": ("the blocks are not valid Block Kit", "Check them in Block Kit Builder."),
}


def _explain(code: str, data: Mapping[str, Any]) -> tuple[str, str | None]:
    """The message and hint for ``code``; ``missing_scope`` names the scope to add."""
    if code == "missing_scope":
        needed = data.get("needed") or "a scope"
        provided = data.get("provided")
        if isinstance(provided, list):
            provided = ",".join(map(str, provided))
        has = f" (the token has: {provided})" if provided else ""
        return (f"missing_scope: the token lacks the {needed} scope{has}",
                f"Add {needed} under OAuth & Permissions > Scopes in the app's settings, "
                "reinstall the app to the workspace and use the token it gives.")
    meaning, hint = _MEANING.get(code, ("", ""))
    message = f"{code}: {meaning}" if meaning else code
    details = (data.get("response_metadata") or {}).get("messages")
    if isinstance(details, list) and details:
        message += " — " + "; ".join(map(str, details))
    return message, hint or None


def slack_error(
    response: httpx.Response,
    data: Mapping[str, Any],
    *,
    service: str,
    endpoint: str,
    codes: Mapping[str, str],
    request_id_header: str,
    retries: int = 0,
) -> ApiError:
    """The error an ``{"ok": false}`` answer stands for, with Slack's code and request id."""
    code = str(data.get("error") or "unknown_error")
    cls = _CLASSES.get(str(codes.get(code, "")), InvalidRequestError)
    if response.status_code >= 500 and cls is InvalidRequestError:
        cls = ServerError
    message, hint = _explain(code, data)
    if retries:
        message += f" (still failing after {retries} retries)"
    fields: dict[str, Any] = dict(
        service=service, endpoint=endpoint, status=response.status_code, code=code,
        request_id=response.headers.get(request_id_header), body=response.text, hint=hint,
    )
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after(response.headers), **fields)
    return cls(message, **fields)


class SlackWarning(UserWarning):
    """Slack served the call but says something about it should change."""


_WARNINGS = {
    "missing_charset": "send Content-Type with charset=utf-8",
    "superfluous_charset": "this Content-Type takes no charset",
    "method_deprecated": "this method is deprecated; move to its replacement",
}


def warn_about(data: Any, endpoint: str) -> list[str]:
    """Raise a :class:`SlackWarning` for each warning in an answer; returns their codes."""
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    top = data.get("warning")
    if isinstance(top, str) and top:
        found += [w.strip() for w in top.split(",") if w.strip()]
    meta = data.get("response_metadata")
    extra = meta.get("warnings") if isinstance(meta, dict) else None
    if isinstance(extra, list):
        found += [str(w) for w in extra]
    codes = list(dict.fromkeys(found))
    for code in codes:
        advice = _WARNINGS.get(code)
        text = f"slack {endpoint}: {code}" + (f" ({advice})" if advice else "")
        warnings.warn(text, SlackWarning, stacklevel=4)
    return codes
