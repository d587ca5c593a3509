"""A connector module outside integkit, for the "definitions are data" tests: importing it
leaves a trace, so a test can tell whether a definition made integkit import it."""

from __future__ import annotations

from integkit import Connection

IMPORTED = True


class ThirdPartyConnection(Connection):
    """What a company's own connector module would provide."""


CONNECTION = ThirdPartyConnection
