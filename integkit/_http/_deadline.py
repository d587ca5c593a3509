"""The total deadline of one call: every attempt, every wait and every byte of every body.

httpx's timeouts are per step (connect, each read): a body trickling one byte a second never
trips them. A call's trace carries a ``time.monotonic()`` deadline; the layers check it where
time goes: the limiter and the quota slots before waiting, the retry layer before sleeping,
and the attempt layer before sending (it lowers httpx's per-step timeouts to what is left) and
between the chunks of a body, so a call ends within its deadline plus at most one chunk's
wait, which is itself bounded by what was left when the attempt began.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from .._errors import TimeoutError as CallTimeout
from ._context import CallTrace

__all__ = ["DeadlineStream", "late", "left", "limit_timeouts"]


def left(trace: CallTrace) -> float | None:
    """Seconds left before the call's deadline (None: it has none)."""
    return None if trace.deadline is None else trace.deadline - time.monotonic()


def late(trace: CallTrace, doing: str) -> CallTimeout:
    """The error of a call whose deadline passed while ``doing`` something."""
    allowed = f" of {trace.allowed:g}s" if trace.allowed is not None else ""
    tried = f" after {trace.attempts} attempts" if trace.attempts > 1 else ""
    return CallTimeout(f"the {trace.deadline_of}'s deadline{allowed} passed {doing}{tried}",
                       service=trace.service, endpoint=trace.endpoint)


def limit_timeouts(request: httpx.Request, seconds: float) -> None:
    """Lower the request's per-step timeouts (connect, read, write, pool) to ``seconds``."""
    current: dict[str, Any] = dict(request.extensions.get("timeout") or {})
    for step in ("connect", "read", "write", "pool"):
        given = current.get(step)
        current[step] = seconds if given is None else min(float(given), seconds)
    request.extensions["timeout"] = current


class DeadlineStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that raises the call's TimeoutError once its deadline has passed,
    however slowly the bytes keep coming."""

    def __init__(self, inner: Any, trace: CallTrace) -> None:
        self.inner = inner
        self.trace = trace

    def _check(self) -> None:
        if self.trace.deadline is not None and time.monotonic() > self.trace.deadline:
            raise late(self.trace, "while the answer was still arriving")

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self._check()
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self._check()
            yield chunk

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
