"""Follow a GitHub Actions run to its conclusion within the rate budget.

Each poll is a conditional ``GET`` (``If-None-Match`` with the last ETag): while the run has not
changed GitHub answers ``304 Not Modified``, which costs no rate limit. The pause between polls
comes from the rate-limit headers of the last answer: the requests left in the window, spread
over the time until it resets, of which the watcher takes only ``share``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ..._http import reset_after
from ..._pagination import PageRequest

if TYPE_CHECKING:
    from .._rest import Connection

__all__ = ["RunWatch", "poll_interval", "watch_run"]


def poll_interval(headers: httpx.Headers, *, now: float, share: float = 0.5,
                  min_interval: float = 1.0, max_interval: float = 60.0) -> float:
    """Seconds until the next poll from ``X-RateLimit-Remaining`` / ``-Reset``.

    >>> poll_interval(httpx.Headers({"x-ratelimit-remaining": "1000",
    ...                              "x-ratelimit-reset": "3600"}), now=0, share=0.5)
    7.2
    """
    try:
        remaining = int(headers["x-ratelimit-remaining"])
    except (KeyError, ValueError):
        return min_interval
    reset = headers.get("x-ratelimit-reset")
    until = reset_after(reset, now=now) if reset else None  # epoch s or ms, or from now
    if until is None:
        return min_interval
    left = until
    if remaining <= 0:  # a poll before the reset would be refused: wait for it
        return max(min_interval, left + 1.0)
    interval = left / max(1.0, remaining * share)
    return min(max_interval, max(min_interval, interval))


@dataclass
class RunWatch:
    """What following a run cost: polls sent, how many were free 304s, seconds waited."""

    polls: int = 0
    not_modified: int = 0
    waited: float = 0.0


def watch_run(
    conn: Connection, path: str, *, endpoint: str,
    on_update: Callable[[dict[str, Any]], Any] | None, timeout: float, share: float,
    min_interval: float, max_interval: float,
    sleep: Callable[[float], None] = time.sleep, stats: RunWatch | None = None,
) -> dict[str, Any]:
    """Poll the run at ``path`` until its ``status`` is ``completed``; the run as it ended.

    ``on_update`` sees the run each time its status or conclusion changes. Raises TimeoutError
    when ``timeout`` seconds of waiting pass first.
    """
    stats = stats if stats is not None else RunWatch()
    etag: str | None = None
    run: dict[str, Any] = {}
    seen: tuple[Any, Any] | None = None
    while True:
        headers = {"If-None-Match": etag} if etag else {}
        response, body, _ = conn.send(PageRequest("GET", path, headers=headers),
                                      endpoint=endpoint)
        stats.polls += 1
        if response.status_code == 304:
            stats.not_modified += 1
        else:
            run, etag = body, response.headers.get("etag")
        state = (run.get("status"), run.get("conclusion"))
        if state != seen:
            seen = state
            if on_update is not None:
                on_update(run)
        if run.get("status") == "completed":
            return run
        wait = poll_interval(response.headers, now=time.time(), share=share,
                             min_interval=min_interval, max_interval=max_interval)
        if stats.waited + wait > timeout:
            raise TimeoutError(f"run {run.get('id')} still {run.get('status')} after "
                               f"{stats.waited:.0f}s of polling (timeout={timeout:.0f}s)")
        sleep(wait)
        stats.waited += wait
