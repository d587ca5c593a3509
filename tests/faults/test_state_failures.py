"""State backend failures are integkit errors: a damaged SQLite file, Redis down (a closed
port) or stalled (a real TCP listener that accepts and never answers, or a proxy to the real
Redis that stops forwarding mid-run) raise a StateError naming the backend, without its
password, and what to do, within a few seconds; ``ik.configure(state_fallback="local")`` goes
on with local limits and a warning. The real Redis is never stopped.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
import time
import uuid

import pytest
from starlette.responses import JSONResponse

import integkit as ik

from .._redis import redis_url

PASSWORD = "s3cret-state-pw"
TIER = {"limit": 100, "per": "1s", "burst": 100}


# -- real sockets standing for a broken Redis ---------------------------------------------------
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (Redis down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Silent:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers (Redis stalled)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.server.accept()
                self.held.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


class Proxy:
    """Forwards 127.0.0.1:<port> to the real Redis until :meth:`stall`, after which it keeps
    every connection open and forwards nothing more (Redis stalling mid-run)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stalled = threading.Event()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = int(self.server.getsockname()[1])
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.server.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self.sockets += [client, upstream]
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self.stalled.is_set():
                    return  # swallow it, keep the socket open: the client waits for ever
                sink.sendall(data)

    def stall(self) -> None:
        self.stalled.set()

    def close(self) -> None:
        self.server.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def silent():
    listener = Silent()
    yield listener
    listener.close()


@pytest.fixture(autouse=True)
def _let_broken_connections_go():
    """Connections made here point at broken backends: let them go (exceptions' tracebacks
    hold them in cycles), so later tests that list live connections do not meet them."""
    yield
    gc.collect()


@pytest.fixture
def settings():
    """Restore the state settings a test changes."""
    before = ik.get_settings()
    yield
    ik.configure(state_timeout=before.state_timeout, state_fallback=before.state_fallback)


def connect(home, state: str, **options) -> ik.Connection:
    home.route("/items", lambda request: JSONResponse({"data": [{"id": 1}]}))
    options.setdefault("rate_limit", TIER)
    return ik.rest(home.url, state=state, cache=False, account=uuid.uuid4().hex[:10],
                   retry={"maxAttempts": 2, "initialDelay": 0.01}, **options)


def failing(fn, *args) -> tuple[ik.StateError, float]:
    started = time.monotonic()
    with pytest.raises(ik.StateError) as info:
        fn(*args)
    return info.value, time.monotonic() - started


# -- SQLite -----------------------------------------------------------------------------------
def test_a_damaged_sqlite_file_raises_a_state_error_that_says_how_to_recover(
        home, tmp_path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, it was overwritten " * 200)
    error, _ = failing(connect, home, f"sqlite:///{path}")
    assert isinstance(error, ik.IntegkitError) and not error.transient
    assert error.backend == f"sqlite:///{path}"
    assert str(path) in str(error) and "damaged" in str(error)
    assert "mv " in str(error) and 'state_fallback="local"' in str(error)
    assert home.seen == []


def test_a_damaged_sqlite_file_falls_back_to_local_limits_when_allowed(
        home, tmp_path, settings) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00garbage" * 500)
    ik.configure(state_fallback="local")
    with pytest.warns(ik.StateFallbackWarning, match="damaged"):
        c = connect(home, f"sqlite:///{path}")
    assert c.request("GET", "/items") == {"data": [{"id": 1}]}
    assert c.limiter is not None and c.limiter.state.url == ik._state.local_state_url()
    assert ik.quota(c)["limits"]


# -- Redis down --------------------------------------------------------------------------------
def test_redis_down_raises_a_state_error_naming_it_without_its_password(home) -> None:
    port = closed_port()
    c = connect(home, f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    error, took = failing(c.request, "GET", "/items")
    assert took < 5, took
    assert error.backend == f"redis://:***@127.0.0.1:{port}/0"
    assert error.backend in str(error) and PASSWORD not in str(error)
    assert PASSWORD not in repr(error) and "cannot be reached" in str(error)
    assert 'state_fallback="local"' in str(error)
    assert home.seen == []  # nothing went out unlimited
    error, took = failing(c.request, "GET", "/items")  # and the next call fails at once
    assert took < 1, took
    failing(ik.quota, c)


def test_redis_down_goes_on_with_local_limits_and_a_warning(home, settings) -> None:
    ik.configure(state_fallback="local")
    port = closed_port()
    tier = {"limit": 1, "per": "1s", "burst": 1, "margin": 0}
    first = connect(home, f"redis://127.0.0.1:{port}/0", rate_limit=tier)
    with pytest.warns(ik.StateFallbackWarning, match="cannot be reached"):
        assert first.request("GET", "/items") == {"data": [{"id": 1}]}
    started = time.monotonic()
    first.request("GET", "/items")  # the local bucket still paces it: 1 a second
    assert time.monotonic() - started >= 0.6
    assert ik.quota(first)["limits"][0]["tier"] == "requests"


# -- Redis stalled -----------------------------------------------------------------------------
def test_a_stalled_redis_is_detected_within_the_configured_timeout(
        home, silent, settings) -> None:
    ik.configure(state_timeout=1)
    c = connect(home, f"redis://user:{PASSWORD}@127.0.0.1:{silent.port}/3")
    error, took = failing(c.request, "GET", "/items")
    assert took < 1 + 3, took
    assert "did not answer within 1s" in str(error) and "state_timeout" in str(error)
    assert error.backend == f"redis://user:***@127.0.0.1:{silent.port}/3"
    assert PASSWORD not in str(error)
    _, took = failing(c.request, "GET", "/items")
    assert took < 1, took  # known down: no second wait


def test_a_stalled_redis_is_detected_within_a_few_seconds_by_default(home, silent) -> None:
    assert ik.get_settings().state_timeout == 3
    c = connect(home, f"redis://127.0.0.1:{silent.port}/0")
    _, took = failing(c.request, "GET", "/items")
    assert took < 3 + 4, took


def test_a_socket_timeout_in_the_url_wins(home, silent) -> None:
    c = connect(home, f"redis://127.0.0.1:{silent.port}/0?socket_timeout=0.5")
    _, took = failing(c.request, "GET", "/items")
    assert took < 0.5 + 3, took


def test_redis_stalling_mid_run_raises_then_falls_back_when_allowed(home, settings) -> None:
    real = redis_url()
    port = int(real.rsplit(":", 1)[1].split("/")[0])
    db = real.rsplit("/", 1)[1]
    proxy = Proxy(port)
    try:
        ik.configure(state_timeout=1)
        c = connect(home, f"redis://127.0.0.1:{proxy.port}/{db}",
                    quotas={"daily": 1000})
        assert c.request("GET", "/items") == {"data": [{"id": 1}]}  # through the real Redis
        assert ik.quota(c)["budgets"]["daily"]["used"] == 1
        proxy.stall()
        error, took = failing(c.request, "GET", "/items")
        assert took < 1 + 3 and "did not answer" in str(error), (took, error)
        ik.configure(state_fallback="local")
        with pytest.warns(ik.StateFallbackWarning):
            assert c.request("GET", "/items") == {"data": [{"id": 1}]}
        assert ik.quota(c)["budgets"]["daily"]["used"] == 1  # counted locally from here
    finally:
        proxy.close()


def test_state_errors_do_not_open_the_services_circuit(home) -> None:
    c = connect(home, f"redis://127.0.0.1:{closed_port()}/0")
    for _ in range(8):  # more than the breaker's threshold of 5: still the state's error
        failing(c.request, "GET", "/items")
    assert home.seen == []


def test_the_dashboard_shows_a_connection_whose_backend_is_down_without_its_limits(
        home, caplog) -> None:
    from integkit._notebook._snapshot import read_snapshot

    c = connect(home, f"redis://127.0.0.1:{closed_port()}/0")
    snap = read_snapshot("rest", c, read_bill=False)
    assert snap.service == "rest" and not snap.tiers and not snap.throttled
    assert "rest limits not shown" in caplog.text and "cannot be reached" in caplog.text
