"""A worker killed (SIGKILL) mid-extraction: its concurrency slots come back within their lease,
its spent budget matches what reached the server, and every call it made is in the ledger."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import integkit as ik
from integkit._http import Quota, QuotaConfig
from integkit._state import open_state
from integkit.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3.0


def test_killed_worker_leaks_no_slot_past_its_lease_and_no_ledger_row(state_url) -> None:
    with ik.sandbox("stripe", records=3000, latency=0.3) as sb:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration._extract_worker", sb.url, sb.api_key,
             state_url], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen: list[str] = []
        assert worker.stdout is not None
        while len(seen) < 24:  # past the probes, well into the partitions: calls in flight
            line = worker.stdout.readline()
            assert line, worker.stderr.read() if worker.stderr else "worker died"
            seen.append(line.strip())
        time.sleep(0.1)
        worker.kill()
        worker.wait()
        killed_at = time.time()
        served = sb.emulator.stats()["requests"]
    seen += [line.strip() for line in worker.stdout.read().splitlines() if line.strip()]

    state = open_state(state_url)
    account = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url).account
    quota = Quota("stripe", QuotaConfig(daily=100_000, concurrent=3, lease_seconds=LEASE),
                  state, account=account)
    # budget: one unit per attempt, spent before sending; only a call killed between the two
    # is counted without reaching the server
    assert served <= quota.used("daily") <= served + 3
    # slots: whatever the dead worker held comes back once its lease runs out
    assert 1 <= quota.in_flight() <= 3  # the dead worker's calls still hold their slots
    while quota.in_flight():
        assert time.time() - killed_at <= LEASE + 0.5, "a slot outlived its lease"
        time.sleep(0.1)
    # ledger: every call the worker saw finish is a row
    recorded = {r["request_id"] for r in Ledger(state).rows("stripe")}
    assert set(seen) <= recorded
