"""Fixtures for the auth scheme tests: serve a Starlette app on 127.0.0.1, a settable clock,
and the ``ik.on("auth", fn)`` events of one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integkit import _events
from integkit.sandbox import SandboxServer


@pytest.fixture()
def serve() -> Iterator[Callable[[Any], SandboxServer]]:
    """Start ASGI apps over real HTTP on loopback; all stopped after the test."""
    started: list[SandboxServer] = []

    def start(app: Any) -> SandboxServer:
        server = SandboxServer(app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class Clock:
    """Epoch seconds that move only when told to (shared by a client and an emulator)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def auth_events() -> Iterator[list[Any]]:
    """Every ``auth`` event emitted during the test."""
    seen: list[Any] = []
    _events.on("auth", seen.append)
    yield seen
    _events.off("auth", seen.append)
