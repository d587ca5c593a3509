"""The ``integkit`` command: ``integkit demo`` runs an offline extraction end to end."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]

_DESCRIPTION = ("integkit: API integrations for notebooks. 'integkit demo' pulls charges from a "
                "local Stripe emulator, offline; 'integkit services' lists the connectors.")
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}


def _missing_sandbox() -> str | None:
    """What to install when the emulators' server or request validator is missing (a bare
    ``pip install integkit``)."""
    import importlib.util

    missing = [m for m in ("uvicorn", "starlette", "openapi_core")
               if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return (f"integkit demo needs the local emulators, which need {' and '.join(missing)}: "
            "pip install 'integkit[sandbox]'")


def _count(text: str) -> int:
    """A number of records for ``--records``: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} records: say 0 or more")
    return value


def _demo(records: int, chaos: bool) -> int:
    problem = _missing_sandbox()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2

    import integkit as ik
    from integkit.sandbox import SandboxProcess

    print(f"integkit {ik.__version__} demo: a local Stripe emulator on 127.0.0.1, no network, "
          "no credentials.")
    with SandboxProcess("stripe", records=records) as server:
        # The emulator runs without a rate limit here, so the client needs none either.
        # ... and its calls go to the sandbox's own state, not to the user's ledger and bill.
        stripe = ik.connect("stripe", api_key=server.info["api_key"], base_url=server.url,
                            rate_limit=False, state=server.state)
        if chaos:
            import httpx

            # Every 40th request fails with a 503 or a dropped connection: watch the retries.
            httpx.post(f"{server.url}/__sandbox__/faults", json={"kind": "fail", "status": 503,
                       "times": 3, "after": 40})
            httpx.post(f"{server.url}/__sandbox__/faults", json={"kind": "reset", "times": 2,
                       "after": 90})
        started = time.perf_counter()
        charges = stripe.list("charges")
        df = charges.to_frame()
        elapsed = time.perf_counter() - started
        stripe.close()

    print(f"\nPulled {len(df):,} charges into a DataFrame of {df.shape[1]} columns "
          f"in {elapsed:.2f}s.\n")
    if df.empty:
        # The frame keeps its columns and types (from the definition): the summary would
        # run as is, but a summary of nothing says nothing.
        typed = ", ".join(f"{c} ({df[c].dtype})" for c in ("amount", "currency", "created"))
        print(f"No charges to summarise; the frame still has its columns: {typed}, ...")
    else:
        print(df["status"].value_counts().rename("charges").to_frame().to_string())
        paid = df[df["status"] == "succeeded"]
        scale = paid["currency"].map(lambda c: 1 if c in _ZERO_DECIMAL else 100).astype(int)
        volume = (paid["amount"] / scale).groupby(paid["currency"]).sum()
        print("\nSucceeded volume by currency (major units):")
        print(volume.sort_values(ascending=False).round(2).head(5).to_string())
        print(f"\nFirst charge: {df['created'].min():%Y-%m-%d}, "
              f"last: {df['created'].max():%Y-%m-%d}")
    print(f"\nStats: {charges.stats}")
    if len(df) != records or df["id"].duplicated().any():
        print("ERROR: the extraction lost or duplicated records", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from integkit._version import __version__

    parser = argparse.ArgumentParser(prog="integkit", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"integkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="pull charges from the local Stripe emulator")
    demo.add_argument("--records", type=_count, default=20_000,
                      help="charges to pull (20000; 0 shows an empty listing)")
    demo.add_argument("--chaos", action="store_true",
                      help="inject 5xx bursts and dropped connections along the way")
    commands.add_parser("services", help="list the shipped connectors")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.records, args.chaos)
    from integkit import available_services

    print("\n".join(available_services()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
