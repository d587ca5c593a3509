"""Client-side rate limits, shared by every process on one state backend, fed by the server.

A connector definition lists tiers; each call waits for a token from every tier that applies
to it, so the service never has to say 429. What the server says anyway (Retry-After,
``X-RateLimit-Remaining: 0`` with a reset time, Shopify's call-limit header) pauses the tier for
every process sharing it.

    rate_limits:
      - {name: requests, algorithm: token_bucket, limit: 25, per: 1s, burst: 50}   # Stripe
      - {name: search, algorithm: sliding_window, limit: 30, per: 1m, endpoints: ["search.*"]}
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pyrate_limiter import AbstractBucket, Rate, RateItem

from .._errors import ConfigError
from ..state import StateBackend
from ..state._buckets import Penalties, sliding_window, token_bucket
from ._context import trace_of
from ._hints import retry_after
from ._layer import Flow, Layer, settle

__all__ = ["RateLimiter", "RateLimitTransport", "RateTier", "parse_duration", "PRIORITY_KEY"]

PRIORITY_KEY = "integkit.priority"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$")
_SCOPES = ("key", "endpoint", "user", "global")


def parse_duration(value: str | float | int) -> float:
    """Seconds from ``30``, ``"1s"``, ``"15m"``, ``"1h"``, ``"1d"``."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"cannot read duration {value!r}; use e.g. '1s', '15m', '1h', '1d'")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@dataclass(frozen=True)
class RateTier:
    """One limit: ``limit`` calls per ``per`` seconds (``burst`` at once for token buckets)."""

    name: str
    limit: int
    per: float
    algorithm: str = "token_bucket"
    burst: int | None = None
    scope: str = "key"
    endpoints: tuple[str, ...] = ()
    for_keys: str | None = None
    margin: float = 0.015

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RateTier:
        config = dict(config)
        try:
            tier = cls(
                name=str(config.pop("name", "requests")), limit=int(config.pop("limit")),
                per=parse_duration(config.pop("per", 1)),
                algorithm=str(config.pop("algorithm", "token_bucket")),
                burst=config.pop("burst", None), scope=str(config.pop("scope", "key")),
                endpoints=tuple(config.pop("endpoints", ())),
                for_keys=config.pop("for_keys", None),
                margin=float(config.pop("margin", 0.015)),
            )
        except KeyError as exc:
            raise ConfigError(f"rate limit tier needs {exc.args[0]!r}") from None
        if config:
            raise ConfigError(f"rate limit tier {tier.name!r}: unknown keys {sorted(config)}")
        if tier.algorithm not in ("token_bucket", "sliding_window"):
            raise ConfigError(f"rate limit tier {tier.name!r}: algorithm must be token_bucket "
                              f"or sliding_window, not {tier.algorithm!r}")
        if tier.scope not in _SCOPES:
            raise ConfigError(f"rate limit tier {tier.name!r}: scope must be one of {_SCOPES}")
        return tier

    def applies_to_key(self, key_prefix: str | None) -> bool:
        """Whether the tier is for this kind of credential (e.g. Stripe test vs live keys)."""
        if not self.for_keys:
            return True
        return any(fnmatch.fnmatchcase(key_prefix or "", g) for g in self.for_keys.split("|"))

    def applies_to(self, endpoint: str) -> bool:
        return not self.endpoints or any(fnmatch.fnmatchcase(endpoint, p) for p in self.endpoints)

    @property
    def rate(self) -> Rate:
        """The pyrate-limiter rate, ``margin`` below the service's own: arrivals jitter on the
        way to the server, and a client at exactly the server's rate would meet its 429s."""
        interval = int(self.per * 1000 / (1 - self.margin))
        burst = self.burst or self.limit
        return Rate(self.limit, interval, burst=max(1, burst - math.ceil(burst * self.margin)))


# Interactive calls waiting for a token, per service and key, across this process's connections:
# bulk callers of the same key step aside while any wait.
_interactive_waiting: collections.Counter[str] = collections.Counter()
_interactive_lock = threading.Lock()


class RateLimiter:
    """The limits of one connection: tiers x scope keys -> shared buckets.

    ``acquire`` blocks until every applicable tier admits the call; interactive calls go
    before bulk ones waiting in the same process.
    """

    def __init__(
        self,
        service: str,
        tiers: list[RateTier],
        state: StateBackend,
        *,
        account: str = "default",
        user: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.tiers = tiers
        self.state = state
        self.account = account
        self.user = user or "anonymous"
        self.sleep = sleep
        self.penalties = Penalties(state)
        self._buckets: dict[str, AbstractBucket] = {}
        self._lock = threading.Lock()
        self._queue = f"{service}:{account}"  # interactive callers of this key, process-wide
        self.waited = 0.0

    def _scope_value(self, tier: RateTier, endpoint: str) -> str:
        return {"key": self.account, "endpoint": f"{self.account}:{endpoint}",
                "user": f"{self.account}:{self.user}", "global": "all"}[tier.scope]

    def bucket_keys(self, endpoint: str) -> list[tuple[RateTier, str]]:
        return [(tier, f"{self.service}:{tier.name}:{self._scope_value(tier, endpoint)}")
                for tier in self.tiers if tier.applies_to(endpoint)]

    def _bucket(self, tier: RateTier, key: str) -> AbstractBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                make = token_bucket if tier.algorithm == "token_bucket" else sliding_window
                bucket = self._buckets[key] = make(self.state, key, tier.rate)
            return bucket

    def _next_wait(self, endpoint: str, priority: str, taken: set[str]) -> float:
        """Take a token from every tier not yet ``taken`` (0.0 when all have given one), or
        say how long to wait before asking again."""
        if priority == "bulk" and _interactive_waiting[self._queue]:
            return 0.005
        now = time.time()
        keys = self.bucket_keys(endpoint)
        for _, key in keys:
            paused = self.penalties.until(key) - now
            if paused > 0:
                return paused
        for tier, key in keys:
            if key in taken:
                continue
            bucket = self._bucket(tier, key)
            item = RateItem(tier.name, int(time.time() * 1000), 1)  # wall clock: shared state
            if not bucket.put(item):
                wait = bucket.waiting(item)
                return max(0.001, float(wait if isinstance(wait, int) else 1) / 1000)
            taken.add(key)
        return 0.0

    def acquire(self, endpoint: str, *, priority: str = "interactive") -> float:
        """Block until the call may go; returns the seconds waited."""
        waited, taken = 0.0, set[str]()
        interactive = priority != "bulk"
        if interactive:
            with _interactive_lock:
                _interactive_waiting[self._queue] += 1
        try:
            while (wait := self._next_wait(endpoint, priority, taken)) > 0:
                self.sleep(wait)
                waited += wait
        finally:
            if interactive:
                with _interactive_lock:
                    _interactive_waiting[self._queue] -= 1
        self.waited += waited
        return waited

    async def aacquire(self, endpoint: str, *, priority: str = "interactive") -> float:
        """``acquire`` for async callers: waits without blocking the event loop."""
        waited, taken = 0.0, set[str]()
        while (wait := self._next_wait(endpoint, priority, taken)) > 0:
            await asyncio.sleep(wait)
            waited += wait
        self.waited += waited
        return waited

    def pause(self, endpoint: str, seconds: float) -> None:
        """Pause every tier of ``endpoint`` for all processes (the server asked for it)."""
        until = time.time() + max(0.0, seconds)
        for _, key in self.bucket_keys(endpoint):
            self.penalties.set(key, until)

    def status(self) -> list[dict[str, Any]]:
        """Per bucket: tier, limit, current use, paused-until (what ``ik.quota`` shows).
        Buckets shared by the whole key are shown even before this process used them."""
        keys = {f"{self.service}:{t.name}:{self._scope_value(t, '')}": t
                for t in self.tiers if t.scope != "endpoint"}
        with self._lock:
            keys.update({key: next(t for t in self.tiers
                                   if key.startswith(f"{self.service}:{t.name}:"))
                         for key in self._buckets})
        out = []
        for key, tier in keys.items():
            used = self._bucket(tier, key).count()
            out.append({
                "tier": tier.name, "key": key.split(":", 2)[-1], "limit": tier.limit,
                "per_seconds": tier.per, "burst": tier.burst or tier.limit,
                "in_use": used if isinstance(used, int) else None,
                "paused_until": self.penalties.until(key) or None,
            })
        return out


def _server_pause(response: httpx.Response) -> float | None:
    """Seconds the server asks every client of this key to stay away, if it says so."""
    headers = response.headers
    if response.status_code == 429 or (response.status_code == 403 and "retry-after" in headers):
        wait = retry_after(headers)
        return 1.0 if wait is None else wait
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    if remaining is not None and reset is not None and remaining.strip() == "0":
        try:
            value = float(reset)
        except ValueError:
            return None
        # Epoch seconds (GitHub) or seconds from now (others): epochs are large numbers.
        return max(0.0, value - time.time()) if value > 1e9 else value
    shopify = headers.get("x-shopify-shop-api-call-limit")
    if shopify and "/" in shopify:
        used, _, limit = shopify.partition("/")
        if used.strip().isdigit() and limit.strip().isdigit() and int(used) >= int(limit) - 1:
            return 1.0  # the leaky bucket drains about 2 calls a second
    return _graphql_pause(response)


_THROTTLE = re.compile(rb'"(requestedQueryCost|actualQueryCost|currentlyAvailable|restoreRate|'
                       rb'maximumAvailable)"\s*:\s*(\d+(?:\.\d+)?)')


def _graphql_pause(response: httpx.Response) -> float | None:
    """Shopify-style GraphQL cost extensions (``extensions.cost.throttleStatus``): wait until
    the bucket holds as many points as the query just asked for."""
    body = response.content
    if b'"throttleStatus"' not in body:
        return None
    found = {name.decode(): float(value) for name, value in _THROTTLE.findall(body)}
    available, rate = found.get("currentlyAvailable"), found.get("restoreRate")
    wanted = found.get("requestedQueryCost", found.get("actualQueryCost"))
    if available is None or not rate or wanted is None or available >= wanted:
        return None
    if wanted > found.get("maximumAvailable", float("inf")):
        return None  # over the bucket's size (MAX_COST_EXCEEDED): no wait would let it run
    return (wanted - available) / rate


class RateLimitTransport(Layer):
    """Waits for the limiter before each attempt; reports the server's pauses back to it."""

    def __init__(self, inner: Any, limiter: RateLimiter, *, default_priority: str = "interactive"):
        super().__init__(inner)
        self.limiter = limiter
        self.default_priority = default_priority

    def _priority(self, request: httpx.Request) -> str:
        return str(request.extensions.get(PRIORITY_KEY, self.default_priority))

    def send(self, request: httpx.Request) -> httpx.Response:
        trace = trace_of(request)
        trace.waited += self.limiter.acquire(trace.endpoint, priority=self._priority(request))
        return super().send(request)

    async def asend(self, request: httpx.Request) -> httpx.Response:
        trace = trace_of(request)
        trace.waited += await self.limiter.aacquire(trace.endpoint,
                                                   priority=self._priority(request))
        return await super().asend(request)

    def flow(self, request: httpx.Request) -> Flow:
        outcome = yield request
        if isinstance(outcome, httpx.Response):
            pause = _server_pause(outcome)
            if pause:
                self.limiter.pause(trace_of(request).endpoint, pause)
        return settle(outcome)
