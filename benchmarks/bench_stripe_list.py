"""Stripe list -> DataFrame: integkit vs a plain httpx loop vs the official SDK's auto-paging.

All contenders read the same emulator (a child process on 127.0.0.1, no latency) in one run,
in rotating order, several rounds. Each timed run happens in a fresh Python process (imports
done before the clock starts), so no contender inherits another's heap or garbage collector
state. The median wall time of each is reported with its ratio to the plain httpx loop.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python benchmarks/bench_stripe_list.py --records 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import stripe

import integkit as ik
from integkit.sandbox import SandboxProcess

Contender = Callable[[str, str], pd.DataFrame]


def _httpx_records(url: str, key: str) -> list[dict]:
    """What one writes by hand: a keep-alive client and a starting_after loop."""
    records: list[dict] = []
    params: dict = {"limit": 100}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        while True:
            page = client.get("/v1/charges", params=params).raise_for_status().json()
            records.extend(page["data"])
            if not page["has_more"]:
                return records
            params["starting_after"] = page["data"][-1]["id"]


def plain_httpx(url: str, key: str) -> pd.DataFrame:
    """The hand-written loop, flattened like integkit's frame (json_normalize)."""
    return pd.json_normalize(_httpx_records(url, key))


def plain_httpx_unflattened(url: str, key: str) -> pd.DataFrame:
    """The hand-written loop into pd.DataFrame: nested objects stay dict cells."""
    return pd.DataFrame(_httpx_records(url, key))


def stripe_sdk(url: str, key: str) -> pd.DataFrame:
    """The official SDK's auto-paging iterator, then json_normalize of the plain dicts."""
    client = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=2)
    charges = client.v1.charges.list(params={"limit": 100})
    return pd.json_normalize([c.to_dict() for c in charges.auto_paging_iter()])


def integkit_list(url: str, key: str) -> pd.DataFrame:
    # The emulator has no rate limit in this benchmark, so neither has the client: it measures
    # the cost of integkit's layers and conversion, not a limit.
    with ik.connect("stripe", api_key=key, base_url=url, rate_limit=False) as stripe:
        return stripe.list("charges").to_frame()


CONTENDERS: dict[str, Contender] = {
    "plain httpx loop + json_normalize": plain_httpx,
    "plain httpx loop + pd.DataFrame (unflattened)": plain_httpx_unflattened,
    "official stripe SDK auto_paging_iter": stripe_sdk,
    "integkit list().to_frame()": integkit_list,
}
BASELINE = "plain httpx loop + json_normalize"


def _run_one(name: str, url: str, key: str, records: int) -> float:
    """Time one contender in a fresh interpreter; returns its wall time in seconds."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", name, "--url", url, "--key", key,
         "--records", str(records)], check=True, capture_output=True, text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def _one(name: str, url: str, key: str, records: int) -> None:
    started = time.perf_counter()
    frame = CONTENDERS[name](url, key)
    elapsed = time.perf_counter() - started
    assert len(frame) == records and frame["id"].is_unique, name
    print(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.one:
        return _one(args.one, args.url, args.key, args.records)

    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    with SandboxProcess("stripe", records=args.records) as server:
        url, key = server.url, server.info["api_key"]
        names = list(CONTENDERS)
        for name in names:  # warm-up, and a check that every contender reads every record
            _run_one(name, url, key, args.records)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[: round_ % len(names)]:
                times[name].append(_run_one(name, url, key, args.records))
                print(f"round {round_ + 1}: {name}: {times[name][-1]:.2f}s", flush=True)

    base = statistics.median(times[BASELINE])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append({"contender": name, "median_s": round(median, 3),
                     "min_s": round(min(samples), 3), "records_per_s": int(args.records / median),
                     "ratio_to_plain_httpx": round(median / base, 3)})
    print("\n| contender | median s | min s | records/s | ratio to plain httpx |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['contender']} | {row['median_s']} | {row['min_s']} | "
              f"{row['records_per_s']:,} | {row['ratio_to_plain_httpx']} |")
    args.out.mkdir(exist_ok=True)
    (args.out / "stripe_list.json").write_text(json.dumps({
        "records": args.records, "rounds": args.rounds, "python": platform.python_version(),
        "machine": platform.machine(), "rows": rows, "samples": times,
    }, indent=2))


if __name__ == "__main__":
    main()
