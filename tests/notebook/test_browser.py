"""A real browser renders the dashboard: notebook 06 served by Voila on 127.0.0.1, opened in
headless Chromium (Debian's package, driven by Playwright's Python API).

Chromium is installed by .ci/run (Debian's ``chromium`` package, as the README's set-up says);
the test never installs it. Missing, it is skipped with the command that installs it, except
under ``CI=true``, where it fails. The page may reach nothing but 127.0.0.1: every other
request is aborted.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_dashboard.ipynb"
LOOPBACK = {"127.0.0.1", "localhost"}
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTALL = "sudo apt-get install -y chromium  (what .ci/run does; see README.md)"


def _find_chromium() -> Path | None:
    """Chromium where .ci/run or the README's set-up puts it (``INTEGKIT_CHROMIUM`` wins)."""
    named = os.environ.get("INTEGKIT_CHROMIUM")
    candidates = [named] if named else [*CHROMIUM_CANDIDATES, shutil.which("chromium")]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The installed Chromium. Missing: a failure under CI=true (.ci/run installs it), else a
    skip naming the command that installs it. Tests never install anything themselves."""
    pytest.importorskip("playwright.sync_api")
    found = _find_chromium()
    if found is None:
        reason = f"no Chromium found ({', '.join(CHROMIUM_CANDIDATES)}); install it: {INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[str]:
    """Voila serving notebook 06 on a free loopback port, with a private integkit home."""
    port = _free_port()
    script = Path(sys.executable).with_name("voila")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "voila"]
    env = {**os.environ, "INTEGKIT_HOME": str(tmp_path / "home")}
    env.pop("INTEGKIT_STATE", None)
    log = (tmp_path / "voila.log").open("w")
    proc = subprocess.Popen(
        [*command, str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--show_tracebacks=True", "--Voila.root_dir=" + str(NOTEBOOK.parent)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited: {(tmp_path / 'voila.log').read_text()[-2000:]}")
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


def test_browser_renders_the_dashboard(
    chromium: Path, voila: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import Route, sync_playwright

    blocked: list[str] = []

    def loopback_only(route: Route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in LOOPBACK or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    out = tmp_path_factory.getbasetemp()
    shot, whole = out / "dashboard.png", out / "dashboard-page.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2400})
            page.route("**/*", loopback_only)
            page.goto(voila, timeout=45_000)
            panel = page.locator(".integkit-dashboard")
            panel.wait_for(timeout=45_000)
            # the extraction's cell has run: the Result's card and its stats are on the page
            page.locator(".integkit-result").first.wait_for(timeout=45_000)
            page.get_by_text("records in", exact=False).first.wait_for(timeout=30_000)
            page.locator(".integkit-error").first.wait_for(timeout=30_000)  # the last cells
            page.wait_for_timeout(1_000)
            bars = panel.locator(".widget-hprogress, .widget-progress")
            assert bars.count() >= 4  # daily, monthly, concurrent, the limiter's tokens
            assert panel.locator(".progress-bar").count() >= 4
            charts = panel.locator("svg")
            assert charts.count() >= 3  # calls over time, latency, cost by endpoint
            text = panel.inner_text()
            for expected in ("daily", "monthly", "resets in", "latency p95", "cache hits",
                             "429s", "retries", "month projected", "stripe"):
                assert expected in text, expected
            html = panel.inner_html()
            assert "calls per minute" in html and "p95" in html
            assert "charges.list" in html  # the cost chart's bars
            calls = panel.locator(".integkit-metric-calls").inner_text()
            assert int(calls.split()[-1].replace(",", "")) > 50, calls
            header = panel.locator(".integkit-dashboard-header")
            before = header.inner_text()
            assert "live" in before
            page.wait_for_timeout(2_200)
            assert header.inner_text() != before  # the kernel's timer updates the page
            panel.screenshot(path=str(shot))
            page.screenshot(path=str(whole), full_page=True)
        finally:
            browser.close()
    print(f"dashboard screenshot: {shot} (whole page: {whole})")
    if blocked:
        print(f"requests aborted (not loopback): {sorted(set(blocked))}")
    assert shot.stat().st_size > 10_000
