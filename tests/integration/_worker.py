"""One worker process of the shared-budget tests: pulls charges until a deadline, then prints
the start times of the calls it made (JSON)."""

from __future__ import annotations

import json
import sys
import time

import integkit as ik


def main() -> None:
    url, key, state, start_at, seconds = sys.argv[1:6]
    stamps: list[float] = []
    statuses: list[int | None] = []

    def seen(event: ik.CallEvent) -> None:
        stamps.append(event.timestamp)
        statuses.append(event.status)

    ik.on("call", seen)
    conn = ik.connect("stripe", api_key=key, base_url=url, state=state,
                      rate_limit={"limit": 25, "per": 1, "burst": 50},
                      retry={"initialDelay": 0.05})
    time.sleep(max(0.0, float(start_at) - time.time()))
    deadline = float(start_at) + float(seconds)
    while time.time() < deadline:
        for _page in conn.list("charges", prefetch=False, limit=10).pages():
            if time.time() >= deadline:
                break
    print(json.dumps({"stamps": stamps, "statuses": statuses}))


if __name__ == "__main__":
    main()
