"""A sandbox stays out of the user's books: its calls land in its own state backend (ledger,
budgets, bill, HTTP cache, tokens), never in the configured one, unless told otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import integkit as ik
from integkit.auth import TokenStore


@pytest.fixture
def mine(tmp_path: Path) -> Iterator[str]:
    """The user's own state backend, configured, empty."""
    before = ik.get_settings().state
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    ik.configure(state=url)
    yield url
    ik.configure(state=before)


def test_sandbox_calls_leave_the_users_ledger_budgets_and_bill_alone(mine: str) -> None:
    with ik.sandbox("stripe", records=30) as sb:
        conn = sb.connect(quotas={"daily": 1_000})
        assert len(conn.list("charges", limit=10).to_frame()) == 30
        # a connection of the user's own to the same key and budget, on the configured state
        own = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url, rate_limit=False,
                         quotas={"daily": 1_000})
        assert ik.quota(own)["budgets"]["daily"]["used"] == 0
        assert ik.quota(conn)["budgets"]["daily"]["used"] == 3

    assert ik.usage().empty and ik.costs().empty
    theirs = ik.usage(state=sb.state)
    assert list(theirs["endpoint"]) == ["charges.list"] * 3
    bill = ik.costs(service="stripe", state=sb.state)
    assert list(bill["calls"]) == [3]
    assert sb.state != mine and conn.state.url == sb.state


def test_the_dashboard_reads_a_sandbox_connection_from_its_own_ledger(mine: str) -> None:
    with ik.sandbox("stripe", records=5) as sb:
        conn = sb.connect()
        conn.list("charges").to_frame()
        panel = ik.dashboard(conn, widget=False)
        assert [s.calls for s in panel.snapshots] == [1]
        mine_only = ik.dashboard(conn, widget=False, state=mine)
        assert [s.calls for s in mine_only.snapshots] == [0]


def test_told_otherwise_a_sandbox_shares_the_configured_state(mine: str) -> None:
    with ik.sandbox("stripe", records=5, state=ik.get_settings().state_url) as sb:
        sb.connect().list("charges").to_frame()
        assert sb.state == mine
    assert list(ik.usage()["service"]) == ["stripe"]


def test_a_sandbox_keeps_the_tokens_its_token_endpoint_issued(mine: str) -> None:
    with ik.sandbox("salesforce", records=10) as sb:
        frame = sb.connect().query("SELECT Id, Name FROM Account").to_frame()
        assert len(frame) == 10
    assert TokenStore(mine).ids("salesforce") == []
    assert [i.service for i in TokenStore(sb.state).ids("salesforce")] == ["salesforce"]


def test_the_demo_adds_nothing_to_the_users_bill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "INTEGKIT_HOME": str(home)}
    env.pop("INTEGKIT_STATE", None)
    done = subprocess.run([sys.executable, "-m", "integkit", "demo", "--records", "200"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Pulled 200 charges" in done.stdout
    assert ik.usage(state=f"sqlite:///{home / 'integkit.db'}").empty
