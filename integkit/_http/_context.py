"""What one logical call carries through the transport layers: ``request.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["CallTrace", "trace_of", "TRACE_KEY"]

TRACE_KEY = "integkit.trace"


@dataclass
class CallTrace:
    """Filled in by the layers as a logical call runs; read by Result.stats and the ledger."""

    service: str = "rest"
    endpoint: str = ""
    attempts: int = 0
    retries: int = 0
    waited: float = 0.0
    cached: bool = False
    coalesced: bool = False
    failovers: int = 0
    bytes: int = 0  # response bytes of every attempt
    base_url: str | None = None
    deadline: float | None = None  # time.monotonic() by which the whole call must be done
    allowed: float | None = None  # the seconds that deadline allowed (for messages)
    deadline_of: str = "call"  # whose deadline it is: the call's, or its listing's
    state: str | None = None  # the connection's own state backend (None: the configured one)
    write_in_doubt: bool = False  # a write failed once it may have been applied: not re-sent


def trace_of(request: httpx.Request) -> CallTrace:
    """The request's trace, created on first use for requests sent outside the engine."""
    trace = request.extensions.get(TRACE_KEY)
    if trace is None:
        trace = CallTrace(endpoint=f"{request.method} {request.url.path}")
        request.extensions[TRACE_KEY] = trace
    return trace
