"""20,000 Stripe charges through a server that limits: 100 ms latency, 25 requests/s, burst 50.

The floor is set by the limit: after the burst of 50, 25 pages a second. integkit (parallel
time partitions inside its shared token bucket) is compared with the official SDK's
auto-paging on the same emulator in the same run; then the same integkit cell runs again with
its Parquet result cache, as a notebook re-run would.

    .venv/bin/pip install -q -e ".[bench]"
    .venv/bin/python benchmarks/bench_stripe_limited.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import stripe

import integkit as ik
from integkit.sandbox import SandboxProcess

RATE, BURST, LATENCY = 25, 50, 0.1
SINCE = "2024-11-01"  # the emulator's charges span the two years before today


def _server_stats(url: str) -> dict:
    return httpx.get(f"{url}/__sandbox__/stats").json()


def run_integkit(url: str, key: str, state: str, cache: str | None, parallel: int,
                 ranged: bool) -> dict:
    conn = ik.connect("stripe", api_key=key, base_url=url, state=state)
    params = {"created": {"gte": SINCE}} if ranged else {}
    started = time.perf_counter()
    result = conn.list("charges", parallel=parallel, cache=cache, **params)
    frame = result.to_frame()
    return {"seconds": time.perf_counter() - started, "rows": len(frame),
            "unique": bool(frame["id"].is_unique), "calls": result.stats.calls}


def run_sdk(url: str, key: str) -> dict:
    client = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=5)
    started = time.perf_counter()
    charges = client.v1.charges.list(params={"limit": 100})
    frame = pd.json_normalize([c.to_dict() for c in charges.auto_paging_iter()])
    return {"seconds": time.perf_counter() - started, "rows": len(frame),
            "unique": bool(frame["id"].is_unique), "calls": None}


def _child(args: argparse.Namespace) -> None:
    if args.one == "sdk":
        out = run_sdk(args.url, args.key)
    else:
        out = run_integkit(args.url, args.key, args.state, args.cache, args.parallel,
                           args.one == "integkit-ranged")
    print(json.dumps(out))


def _run(name: str, url: str, key: str, **extra: str) -> dict:
    """One contender in a fresh interpreter; server-side 429s and calls counted around it."""
    time.sleep(BURST / RATE + 0.5)  # let the server's bucket refill: every run starts even
    before = _server_stats(url)
    argv = [sys.executable, __file__, "--one", name, "--url", url, "--key", key]
    for flag, value in extra.items():
        argv += [f"--{flag}", value]
    out = json.loads(subprocess.run(argv, check=True, capture_output=True,
                                    text=True).stdout.splitlines()[-1])
    after = _server_stats(url)
    out["server_calls"] = after["requests"] - before["requests"]
    out["429s"] = after["rate_limited"] - before["rate_limited"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.one:
        return _child(args)

    rows = {}
    with tempfile.TemporaryDirectory() as tmp, SandboxProcess(
        "stripe", records=args.records, latency=LATENCY, rate_limit=f"{RATE}/{BURST}"
    ) as server:
        url, key = server.url, server.info["api_key"]
        state = f"sqlite:///{tmp}/state.db"
        common = {"state": state, "parallel": str(args.parallel)}
        rows["integkit, created range given"] = _run("integkit-ranged", url, key, **common)
        rows["integkit, no range (probes first)"] = _run(
            "integkit", url, key, **{**common, "state": f"sqlite:///{tmp}/state2.db"})
        rows["official stripe SDK auto_paging_iter"] = _run("sdk", url, key)
        cached = {**common, "state": f"sqlite:///{tmp}/state3.db", "cache": "1h"}
        rows["integkit cell, first run (fills the cache)"] = _run("integkit-ranged", url, key,
                                                                  **cached)
        rows["integkit cell, re-run (Parquet cache)"] = _run("integkit-ranged", url, key,
                                                            **cached)

    pages = -(-args.records // 100)
    floor = (pages - BURST) / RATE
    print(f"\nfloor: {pages} pages, burst {BURST}, then {RATE}/s -> {floor:.2f}s\n")
    print("| run | seconds | vs floor | server calls | 429s | rows |")
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        assert row["rows"] == args.records and row["unique"], name
        print(f"| {name} | {row['seconds']:.2f} | {row['seconds'] / floor:.2f}x | "
              f"{row['server_calls']} | {row['429s']} | {row['rows']:,} |")
    sdk = rows["official stripe SDK auto_paging_iter"]["seconds"]
    ours = rows["integkit, created range given"]["seconds"]
    first = rows["integkit cell, first run (fills the cache)"]["seconds"]
    again = rows["integkit cell, re-run (Parquet cache)"]["seconds"]
    print(f"\nintegkit vs SDK: {sdk / ours:.1f}x faster; cached re-run: {first / again:.0f}x "
          "faster than the first run")
    args.out.mkdir(exist_ok=True)
    (args.out / "stripe_limited.json").write_text(json.dumps(
        {"records": args.records, "floor_s": floor, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
