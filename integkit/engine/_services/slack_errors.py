"""Slack's non-fatal advice as its own Python warning class.

What Slack's error codes mean, which are transient and what to do about them is declared in
``connectors/slack.yaml`` (``errors:``, ``responses:``); the advice a served answer carries
(``"warning": "missing_charset"``, ``response_metadata.warnings``: the definition's
``warnings:``) is raised as a :class:`SlackWarning`.
"""

from __future__ import annotations

from .._responses import ServiceWarning, register_warning

__all__ = ["SlackWarning"]


class SlackWarning(ServiceWarning):
    """Slack served the call but says something about it should change."""


register_warning("slack", SlackWarning)
