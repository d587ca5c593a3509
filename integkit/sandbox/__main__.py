"""``python -m integkit.sandbox stripe [--json] [--port 0] [--records N] ...``: serve an emulator.

With ``--json`` the first stdout line is ``{"service", "url", "api_key", "pid"}`` (what
``SandboxProcess`` reads); the server then runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from .._errors import ConfigError
from . import create_emulator, known_services
from ._limits import parse_rate_limit
from ._server import SandboxServer

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m integkit.sandbox",
                                description="Serve a local API emulator on 127.0.0.1.")
    p.add_argument("service", help=f"one of: {', '.join(known_services())}")
    p.add_argument("--json", action="store_true", help="print one JSON line, then serve")
    p.add_argument("--port", type=int, default=0, help="127.0.0.1 port (0: a free one)")
    p.add_argument("--records", type=int, default=1000, help="seeded objects per resource")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    p.add_argument("--rate-limit", default=None, help="RATE/BURST per API key, e.g. 25/50")
    p.add_argument("--api-key", default=None, help="the key to accept (default: a new one)")
    p.add_argument("--now", default=None,
                   help="where the emulated clock starts (ISO 8601, or 'wall' for the real "
                        "clock; default 2025-07-01T12:00:00Z)")
    p.add_argument("--prebuild", default=None,
                   help="comma-separated resources to serialise at startup ('' for none; "
                        "default: the emulator's choice, e.g. stripe's charges)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        emulator = create_emulator(args.service, records=args.records, seed=args.seed,
                                   rate_limit=parse_rate_limit(args.rate_limit),
                                   latency=args.latency, api_key=args.api_key, now=args.now,
                                   prebuild=None if args.prebuild is None else
                                   [r.strip() for r in args.prebuild.split(",") if r.strip()])
    except ConfigError as exc:
        parser.error(str(exc))
    server = SandboxServer(emulator, port=args.port).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    info = {"service": args.service, "url": server.url, "api_key": emulator.api_key,
            "pid": os.getpid(), "startup_seconds": round(time.perf_counter() - started, 3)}
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print(f"{args.service} emulator on {server.url}  (api key {emulator.api_key}; "
              "Ctrl-C stops it)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
