"""A real browser renders the dashboard: notebook 06 served by Voila on 127.0.0.1, opened in
headless Chromium (Debian's package, driven by Playwright's Python API).

Chromium is installed by .ci/run (Debian's ``chromium`` package, as the README's set-up says);
the test never installs it. Missing, it is skipped with the command that installs it, except
under ``CI=true``, where it fails. The page may reach nothing but 127.0.0.1: every other
request is aborted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._voila import LAUNCH_ARGS, loopback_only, require_chromium, serve_voila

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_dashboard.ipynb"


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The installed Chromium. Missing: a failure under CI=true (.ci/run installs it), else a
    skip naming the command that installs it. Tests never install anything themselves."""
    return require_chromium()


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[str]:
    """Voila serving notebook 06 on a free loopback port, with a private integkit home."""
    with serve_voila(NOTEBOOK, tmp_path) as url:
        yield url


def test_browser_renders_the_dashboard(
    chromium: Path, voila: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    out = tmp_path_factory.getbasetemp()
    shot, whole = out / "dashboard.png", out / "dashboard-page.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2400})
            page.route("**/*", loopback_only(blocked))
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
