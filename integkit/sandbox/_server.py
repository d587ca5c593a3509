"""Serve an ASGI app over real HTTP on 127.0.0.1, in a background thread or a child process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from ._state import own_state

__all__ = ["SandboxServer", "SandboxProcess"]


def _loopback_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class SandboxServer:
    """An ASGI app served by uvicorn on a free loopback port, in a daemon thread.

    >>> with SandboxServer(app) as server:          # doctest: +SKIP
    ...     httpx.get(server.url + "/v1/charges")
    """

    def __init__(self, app: Any, *, port: int = 0) -> None:
        self.app = app
        self._sock = _loopback_socket(port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> SandboxServer:
        import uvicorn

        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off",
            timeout_keep_alive=30, backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # not the main thread
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]},
            name=f"integkit-sandbox-{self.port}", daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on {self.url} did not start")
            time.sleep(0.005)
        return self

    @property
    def running(self) -> bool:
        """Whether the server is up (started and not stopped)."""
        return self._server is not None and self._thread is not None and \
            self._thread.is_alive()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxProcess:
    """An emulator in its own process (``python -m integkit.sandbox``), so that benchmarks and
    load runs do not share the client's GIL. ``info`` holds what the child printed: url, api key;
    ``state`` is the state backend for its clients' connections, the sandbox's own (see
    :class:`~integkit.sandbox.Sandbox`) unless one is given.
    """

    def __init__(self, service: str, *, state: str | None = None, **options: Any) -> None:
        self.service = service
        self.options = options
        self.state = state or own_state()
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def start(self) -> SandboxProcess:
        args = [sys.executable, "-m", "integkit.sandbox", self.service, "--json"]
        for key, value in self.options.items():
            if value is None:  # "--api-key None" would be taken literally
                continue
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sandbox process for {self.service} exited: {self.proc.wait()}")
        self.info = json.loads(line)
        return self

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
