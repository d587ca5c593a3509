"""A worker for the kill test: a parallel extraction under a concurrency quota, printing the
request id of each call once the ledger has it (the ledger's hook runs before this one)."""

from __future__ import annotations

import sys
import threading

import integkit as ik

_out = threading.Lock()


def report(event: ik.CallEvent) -> None:
    with _out:  # one whole line per call, whichever thread finished it
        sys.stdout.write(f"{event.request_id}\n")
        sys.stdout.flush()


def main() -> None:
    url, key, state = sys.argv[1:4]
    ik.configure(state=state)
    ik.on("call", report)
    conn = ik.connect("stripe", api_key=key, base_url=url, state=state, rate_limit=False,
                      quotas={"daily": 100_000, "concurrent": 3, "lease_seconds": 3})
    conn.list("charges", parallel=3, limit=10).to_frame()


if __name__ == "__main__":
    main()
