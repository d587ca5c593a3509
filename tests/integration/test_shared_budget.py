"""Four OS processes share one API key's limit through the state backend: no 429s, and together
they use at least 90% of what the server allows."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import integkit as ik

ROOT = Path(__file__).resolve().parents[2]
RATE, BURST, SECONDS, WORKERS = 25, 50, 4.0, 4


def test_four_processes_share_one_limit(state_url) -> None:
    with ik.sandbox("stripe", records=300, rate_limit=(RATE, BURST)) as sb:
        start_at = time.time() + 3.0  # after every worker has imported and connected
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.integration._worker", sb.url, sb.api_key,
                 state_url, str(start_at), str(SECONDS)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for _ in range(WORKERS)
        ]
        outputs = [p.communicate(timeout=60) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
        rejected = sb.emulator.rate_limited
    runs = [json.loads(out) for out, _ in outputs]
    statuses = [s for run in runs for s in run["statuses"]]
    in_window = [t for run in runs for t in run["stamps"] if start_at <= t < start_at + SECONDS]
    allowed = BURST + RATE * SECONDS
    kind = state_url.split(":", 1)[0]
    print(f"\n{kind}: {len(in_window)} calls in the window, {allowed} allowed, "
          f"{rejected} rejected by the server")
    assert rejected == 0 and 429 not in statuses
    assert all(run["stamps"] for run in runs)  # every worker got its share
    assert len(in_window) >= 0.9 * allowed, (len(in_window), allowed)
    assert len(in_window) <= allowed
