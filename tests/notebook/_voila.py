"""What the browser tests share: Debian's Chromium (never installed by a test), Voila serving a
notebook on a free loopback port, and a page that may reach nothing but 127.0.0.1.

Chromium missing is a failure under ``CI=true`` (.ci/run installs it) and a skip naming the
install command elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

LOOPBACK = {"127.0.0.1", "localhost"}
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTALL = "sudo apt-get install -y chromium  (what .ci/run does; see README.md)"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu"]


def find_chromium() -> Path | None:
    """Chromium where .ci/run or the README's set-up puts it (``INTEGKIT_CHROMIUM`` wins)."""
    named = os.environ.get("INTEGKIT_CHROMIUM")
    candidates = [named] if named else [*CHROMIUM_CANDIDATES, shutil.which("chromium")]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def require_chromium() -> Path:
    """The installed Chromium, else a failure under CI=true or a skip naming the install."""
    pytest.importorskip("playwright.sync_api")
    found = find_chromium()
    if found is None:
        reason = f"no Chromium found ({', '.join(CHROMIUM_CANDIDATES)}); install it: {INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_voila(notebook: Path, workdir: Path,
                env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Voila serving ``notebook`` on a free loopback port, with a private integkit home in
    ``workdir``; yields the page's URL and stops Voila afterwards."""
    port = free_port()
    script = Path(sys.executable).with_name("voila")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "voila"]
    environment = {**os.environ, "INTEGKIT_HOME": str(workdir / "home"), **(env or {})}
    environment.pop("INTEGKIT_STATE", None)
    log_path = workdir / "voila.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [*command, str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--show_tracebacks=True", "--Voila.root_dir=" + str(notebook.parent)],
        cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited: {log_path.read_text()[-2000:]}")
            try:
                httpx.get(url + "api", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("voila did not start within 30 s")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def loopback_only(blocked: list[str]) -> Callable[[Any], None]:
    """A Playwright route handler: loopback (and data:/blob:) requests go on, every other one
    is aborted and remembered in ``blocked``."""

    def route(handle: Any) -> None:
        url = handle.request.url
        if (urlparse(url).hostname or "") in LOOPBACK or url.startswith(("data:", "blob:")):
            handle.continue_()
        else:
            blocked.append(url)
            handle.abort()

    return route
