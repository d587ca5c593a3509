"""Shared fixtures: a private data dir per test session, real HTTP test apps, a recorded sleep."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _integkit_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("integkit-home")
    os.environ["INTEGKIT_HOME"] = str(home)
    import integkit as ik

    ik.configure(data_dir=home)


@pytest.fixture(scope="session")
def test_server():
    """tests/apps.py served over real HTTP on 127.0.0.1."""
    from integkit.sandbox._server import SandboxServer

    from . import apps

    with SandboxServer(apps.app) as server:
        yield server


@pytest.fixture
def api(test_server):
    """A fresh test app state and its base URL."""
    from . import apps

    apps.reset()
    return test_server.url


class Sleeps(list):
    """An injected sleep: records how long integkit would have waited, waits not at all."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
