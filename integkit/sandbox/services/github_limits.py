"""GitHub's primary rate limits, emulated: one fixed window per caller and resource.

GitHub counts each caller's requests per *resource* (``core``, ``search``, ``code_search``,
``graphql``...) in windows that reset at a fixed time, and says where a caller stands in every
answer's ``X-RateLimit-Limit / -Remaining / -Used / -Reset / -Resource`` headers. A ``304 Not
Modified`` to a conditional request is not counted. The ``actions`` resource here stands for
the 1,000 requests an hour GitHub allows a repository's ``GITHUB_TOKEN`` on the Actions API.
The numbers are GitHub's documented ones
(https://docs.github.com/rest/overview/rate-limits-for-the-rest-api), written here, never read
from integkit's connector definition: a wrong limit there meets this emulator's refusals.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._faults import Headers

__all__ = [
    "DEFAULT_LIMITS", "UNAUTHENTICATED_CORE", "RateWindows", "Window", "client_tiers",
    "resource_for",
]

# resource -> (requests, seconds)
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "core": (5000, 3600.0),
    "search": (30, 60.0),
    "code_search": (10, 60.0),
    "actions": (1000, 3600.0),
    "graphql": (5000, 3600.0),
}
UNAUTHENTICATED_CORE = (60, 3600.0)
# The endpoints of integkit's GitHub connector that count against each resource but ``core``
# (``rate_limit=`` tiers name the endpoints they apply to).
_CLIENT_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "search": ("search_issues*",),
    "code_search": ("search_code*",),
    "actions": ("workflow*", "jobs*", "dispatch_workflow"),
    "graphql": ("enable_pull_request_auto_merge",),
}


def client_tiers(limits: Mapping[str, tuple[int, float]]) -> list[dict[str, Any]]:
    """``limits`` (resource -> requests, seconds) as ``ik.connect(rate_limit=...)`` tiers.
    ``core`` applies to every call: the client counts a search against it too, one more
    caution than GitHub takes."""
    return [{"name": name, "algorithm": "sliding_window", "limit": limit, "per": period,
             **({"endpoints": list(_CLIENT_ENDPOINTS[name])} if name in _CLIENT_ENDPOINTS
                else {})}
            for name, (limit, period) in limits.items()]


def resource_for(method: str, path: str) -> str | None:
    """The rate-limit resource a request counts against (None: ``/rate_limit``, free)."""
    if path.rstrip("/") == "/rate_limit":
        return None
    if path.startswith("/search/code"):
        return "code_search"
    if path.startswith("/search/"):
        return "search"
    if path.startswith("/graphql"):
        return "graphql"
    parts = path.split("/")
    if len(parts) > 4 and parts[1] in ("repos", "repositories") and "actions" in parts[3:5]:
        return "actions"
    return "core"


@dataclass
class Window:
    """One caller's count for one resource, in the window that resets at ``reset``."""

    resource: str
    limit: int
    period: float
    start: float = 0.0
    used: int = 0

    @property
    def reset(self) -> int:
        return math.ceil(self.start + self.period)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> Headers:
        """GitHub's ``x-ratelimit-*`` headers for this window."""
        return [(b"x-ratelimit-limit", str(self.limit).encode()),
                (b"x-ratelimit-remaining", str(self.remaining).encode()),
                (b"x-ratelimit-reset", str(self.reset).encode()),
                (b"x-ratelimit-used", str(self.used).encode()),
                (b"x-ratelimit-resource", self.resource.encode())]

    def as_json(self) -> dict[str, int]:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining,
                "reset": self.reset}


class RateWindows:
    """Fixed windows per (caller, resource); a window opens with a caller's first request."""

    def __init__(self, limits: Mapping[str, tuple[int, float]] | None = None, *,
                 clock: Callable[[], float]) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.clock = clock
        self._windows: dict[tuple[str, str], Window] = {}
        self._lock = threading.Lock()
        self.refused = 0  # requests answered "rate limit exceeded"

    def window(self, caller: str, resource: str, *, anonymous: bool = False) -> Window:
        """The caller's current window for ``resource`` (a new one once the old has reset)."""
        limit, period = UNAUTHENTICATED_CORE if anonymous and resource == "core" \
            else self.limits[resource]
        now = self.clock()
        with self._lock:
            found = self._windows.get((caller, resource))
            if found is None or now >= found.start + found.period:
                found = Window(resource, limit, period, start=now)
                self._windows[(caller, resource)] = found
            return found

    def charge(self, window: Window) -> None:
        with self._lock:
            window.used += 1

    def overview(self, caller: str, *, anonymous: bool = False) -> dict[str, dict[str, int]]:
        """Every resource's window for ``GET /rate_limit``."""
        return {name: self.window(caller, name, anonymous=anonymous).as_json()
                for name in self.limits}
