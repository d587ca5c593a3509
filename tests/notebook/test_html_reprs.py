"""Rich HTML for what analysts display in a notebook: ``ik.quota()``'s answer, a Result's
``stats`` and a running sandbox, shown through IPython's own display formatter (what Jupyter
and Voila call), built from live emulators over HTTP; secrets masked; and the lower layers
load the notebook layer only when a card is drawn."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.formatters import DisplayFormatter

import integkit as ik
from integkit._results import Stats


@pytest.fixture
def state(tmp_path: Path) -> Iterator[None]:
    before = ik.get_settings()
    ik.configure(state=f"sqlite:///{tmp_path / 'state.db'}")
    yield
    ik.configure(state=before.state)


def html_of(value: Any) -> str:
    """The HTML Jupyter would show for ``value`` (IPython's formatter, as a kernel does)."""
    bundle, _ = DisplayFormatter().format(value)
    assert "text/html" in bundle, sorted(bundle)
    return str(bundle["text/html"])


def test_quota_is_a_dict_shown_as_a_card_of_budgets_tiers_and_pauses(state, sleeps) -> None:
    with ik.sandbox("stripe", records=40) as sb:
        conn = sb.connect(quotas={"daily": 1000, "concurrent": 4}, retry={"maxAttempts": 1},
                          rate_limit={"limit": 25, "per": 1, "burst": 50}, sleep=sleeps)
        conn.list("charges").to_frame()
        status = ik.quota(conn)
        assert isinstance(status, dict) and status["budgets"]["daily"]["remaining"] == 999
        card = html_of(status)
        assert "integkit-quota" in card and "stripe &middot; not throttled" in card
        assert "<b>daily</b> 999 of 1,000 left &middot; resets " in card and "(in " in card
        assert "<b>concurrent</b> 0 of 4 in flight" in card
        assert re.search(r"<b>requests</b> \d+ of 50 in use, 25 per 1s", card)
        assert sb.api_key not in card
        # the server asks everyone to wait: the card says so, and how to lift it
        sb.faults.headers({"Retry-After": "30"}, times=1)
        sb.faults.fail(429, times=1)
        with pytest.raises(ik.RateLimitError):
            conn.list("charges").head(1)
        paused = html_of(ik.quota(conn))
        assert "throttled, resumes in " in paused and "<b>paused</b> until " in paused
        assert "server pauses" in paused and "clear_pause=True" in paused
        assert "throttled" not in html_of(ik.quota(conn, clear_pause=True)).replace(
            "not throttled", "")
        conn.close()


def test_stats_show_what_a_read_cost(state) -> None:
    with ik.sandbox("stripe", records=250) as sb:
        sb.faults.fail(503, times=2, path="/v1/charges*")
        conn = sb.connect(retry={"initialDelay": 0.01, "maxDelay": 0.02})
        charges = conn.list("charges")
        charges.to_frame()
        stats = charges.stats
        card = html_of(stats)
        assert "integkit-stats" in card
        assert f"Stats &middot; 250 records in {stats.pages} pages" in card
        assert f"{stats.calls} ({stats.retries} retries, 0 cache hits)" in card
        assert stats.retries == 2 and f"{stats.attempts:,} (every try" in card
        assert f"{stats.bytes:,}" in card and "time reading" in card
        assert str(stats).startswith("250 records in")  # the plain text stays as it was
        conn.close()


def test_stats_fields_added_later_still_show() -> None:
    @dataclasses.dataclass
    class Later(Stats):
        wall_seconds: float = 0.25

    card = html_of(Later(records=3, pages=1, calls=1))
    assert "wall seconds" in card and "0.25" in card


def test_a_running_sandbox_shows_where_what_and_how_it_fails(state) -> None:
    with ik.sandbox("stripe", records=20, rate_limit="25/50") as sb:
        sb.faults.fail(503, times=2, path="/v1/charges*")
        sb.connect(retry={"initialDelay": 0.01}).list("charges").to_frame()
        card = html_of(sb)
        assert "integkit-sandbox" in card and "Sandbox &middot; stripe &middot; running" in card
        assert sb.url in card and "2025-07-01 12:00 UTC" in card
        assert sb.api_key not in card and "api_key=<code>sk_t" in card
        assert "25 requests/s per key, burst 50" in card
        assert "fail 503 on /v1/charges* (2/2 fired)" in card
        assert "1 request, 0 answered 429" in card
    assert "Sandbox &middot; stripe &middot; stopped" in html_of(sb) and not sb.running
    with ik.sandbox("github", records=10) as gh, ik.sandbox("slack", records=10) as slack:
        github_card, slack_card = html_of(gh), html_of(slack)
        assert "core: 5,000 per 1h" in github_card and "search: 30 per 1min" in github_card
        assert gh.credentials["token"] not in github_card
        assert "method tiers 1-4" in slack_card
        assert slack.credentials["signing_secret"] not in slack_card


def test_cards_load_the_notebook_layer_only_when_drawn() -> None:
    code = textwrap.dedent("""\
        import sys
        import integkit as ik
        with ik.sandbox("stripe", records=5) as sb:
            conn = sb.connect()
            result = conn.list("charges")
            result.to_frame()
            status = ik.quota(conn)
            before = "integkit._notebook._html" in sys.modules
            html = (sb._repr_html_(), result.stats._repr_html_(), status._repr_html_())
            after = "integkit._notebook._html" in sys.modules
        print(before, after, "ipywidgets" in sys.modules, all(html))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "False", "True"]
