"""Shared fixtures: a private data dir per test session, real HTTP test apps, a recorded sleep."""

from __future__ import annotations

import os

import pytest

from ._redis import redis_url


@pytest.fixture(params=["sqlite", "redis"])
def state_url(request, tmp_path) -> str:
    """A fresh state backend: an SQLite file, or the real Redis at 127.0.0.1:6379."""
    if request.param == "redis":
        url = redis_url()
        import redis

        redis.Redis.from_url(url).flushdb()
        return url
    return f"sqlite:///{tmp_path / 'state.db'}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The at-rest secret sweep runs after everything else."""
    items.sort(key=lambda item: item.path.name == "test_zz_no_secret_at_rest.py")


@pytest.fixture(scope="session", autouse=True)
def run_log(tmp_path_factory: pytest.TempPathFactory):
    """integkit's DEBUG log of the whole run, in a file (checked for secrets at the end)."""
    import logging

    from integkit._events import logger

    path = tmp_path_factory.getbasetemp() / "integkit-run.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield path
    logger.removeHandler(handler)
    logger.setLevel(level)
    handler.close()


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


@pytest.fixture(scope="session")
def cache_server():
    """tests/cache_app.py (answers with validators and Cache-Control) on 127.0.0.1."""
    from integkit.sandbox._server import SandboxServer

    from . import cache_app

    with SandboxServer(cache_app.app) as server:
        yield server


@pytest.fixture
def url(cache_server) -> str:
    """A fresh cache test app and its base URL."""
    from . import cache_app

    cache_app.reset()
    return cache_server.url


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


@pytest.fixture(autouse=True)
def _ledger_hook():
    """Every test starts and ends with the ledger recording to the configured state, as
    ``import integkit`` leaves it (some tests move or remove the hook)."""
    from integkit import ledger

    yield
    ledger.install(None)


@pytest.fixture(scope="session")
def _hostile_pair():
    from .hostile import HostileServer

    with HostileServer() as home, HostileServer() as elsewhere:
        yield home, elsewhere


@pytest.fixture
def home(_hostile_pair):
    """A scriptable, recording server standing for the service (see tests/hostile.py)."""
    server = _hostile_pair[0]
    server.reset()
    return server


@pytest.fixture
def elsewhere(_hostile_pair):
    """A second recording server on another port: an origin the credentials must never reach."""
    server = _hostile_pair[1]
    server.reset()
    return server
