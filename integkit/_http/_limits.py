"""Client-side rate limits, shared by every process on one state backend, fed by the server.

A connector definition lists tiers; each call waits for a token from every tier that applies
to it, so the service never has to say 429. What the server says anyway (Retry-After,
``X-RateLimit-Remaining: 0`` with a reset time, a service's own headers: the feedback parsers
its definition names, see ``_feedback``) pauses the tier for every process sharing it.

    rate_limits:
      - {name: requests, algorithm: token_bucket, limit: 25, per: 1s, burst: 50}
      - {name: search, algorithm: sliding_window, limit: 30, per: 1m, endpoints: ["search.*"]}
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import fnmatch
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, ClassVar

import httpx
from pyrate_limiter import AbstractBucket, Rate, RateItem

from .._errors import ConfigError, RateLimitError
from .._errors import TimeoutError as CallTimeout
from .._events import logger
from .._spec import Key, Spec
from .._spec_schema import described
from .._state import Penalties, StateBackend, guarded, sliding_window, token_bucket
from .._validate import choice, fraction, positive_duration, text, texts, whole
from ._classify import ResponseRule, classify
from ._context import trace_of
from ._feedback import check_feedback, read_feedback
from ._hints import PLAUSIBLE
from ._layer import Flow, Layer, settle

__all__ = ["TIER", "RateLimiter", "RateLimitTransport", "RateTier", "PRIORITY_KEY"]

PRIORITY_KEY = "integkit.priority"
_SCOPES = ("key", "endpoint", "user", "global")
_ALGORITHMS = ("token_bucket", "sliding_window")


def _per(unit: float) -> Callable[[Any, str], dict[str, Any]]:
    """``requests_per_<unit>: n`` -> ``limit`` and ``per``, exactly (2.5 a second is 5 per
    2 seconds: a limit counts whole calls)."""
    def expand(value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{where} must be a number above 0, not {value!r}")
        rate = Fraction(value).limit_denominator(1000)
        return {"limit": rate.numerator, "per": unit * rate.denominator}
    return described({"type": "number", "exclusiveMinimum": 0}, sets=("limit", "per"))(expand)


#: The keys of a rate-limit tier (``rate_limits:`` in a definition, ``rate_limit=``).
TIER = Spec("rate limit tier", [
    Key("name", text),
    Key("limit", whole, required=True),
    Key("per", positive_duration, aliases=("period", "window")),
    Key("requests_per_second", expand=_per(1.0)),
    Key("requests_per_minute", expand=_per(60.0)),
    Key("requests_per_hour", expand=_per(3600.0)),
    Key("algorithm", choice(*_ALGORITHMS)),
    Key("burst", whole, optional=True, aliases=("burst_size", "burst_limit", "max_burst")),
    Key("scope", choice(*_SCOPES)),
    Key("endpoints", texts),
    Key("for_keys", text, optional=True),
    Key("margin", partial(fraction, high=0.5)),
])


@dataclass(frozen=True)
class RateTier:
    """One limit: ``limit`` calls per ``per`` seconds (``burst`` at once for token buckets).

    ``per`` takes any duration (``1``, ``"1s"``, ``"1m"``, ``"PT1H"``); gateway spellings
    map too: ``{"requestsPerSecond": 25, "burstSize": 50}`` is ``limit 25 per 1s, burst 50``.
    """

    name: str
    limit: int
    per: float
    algorithm: str = "token_bucket"
    burst: int | None = None
    scope: str = "key"
    endpoints: tuple[str, ...] = ()
    for_keys: str | None = None
    margin: float = 0.015
    spec: ClassVar[Spec] = TIER  # the keys from_config reads

    def __post_init__(self) -> None:
        TIER.check_fields(self, f"rate limit tier {self.name!r}")

    @classmethod
    def from_config(cls, config: Any) -> RateTier:
        """A tier from a definition's (or ``rate_limit=``'s) mapping; every value is checked,
        so ``{"limit": 0}`` or ``{"per": "-1s"}`` fail here, naming the key."""
        if not isinstance(config, Mapping):
            raise ConfigError(f"a rate limit tier is a mapping like {{'limit': 25, 'per': '1s'}}"
                              f", not {config!r}")
        name = config.get("name", "requests")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"rate limit tier name must be a non-empty string, not {name!r}")
        values = TIER.read(config, what=f"rate limit tier {name!r}")
        values.setdefault("name", name)
        values.setdefault("per", 1.0)
        return cls(**values)

    def applies_to_key(self, key_prefix: str | None) -> bool:
        """Whether the tier is for this kind of credential (e.g. test vs live keys)."""
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
    before bulk ones waiting in the same process. A pause the server asks for is stored for
    at most ``max_pause`` seconds; when it asked for longer, calls raise RateLimitError with
    the server's time at once rather than sleep through it.
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
        max_pause: float = 120.0,
    ) -> None:
        self.service = service
        self.tiers = tiers
        self.account = account
        self.user = user or "anonymous"
        self.sleep = sleep
        self.max_pause = max_pause
        self._buckets: dict[str, AbstractBucket] = {}
        self._lock = threading.Lock()
        self._queue = f"{service}:{account}"  # interactive callers of this key, process-wide
        self.waited = 0.0
        self.state = state
        self.penalties = Penalties(state)

    def use_state(self, state: StateBackend) -> None:
        """Keep the limits in ``state`` from now on (the configured one failed)."""
        with self._lock:
            self.state, self._buckets = state, {}
        self.penalties = Penalties(state)

    def _scope_value(self, tier: RateTier, endpoint: str) -> str:
        return {"key": self.account, "endpoint": f"{self.account}:{endpoint}",
                "user": f"{self.account}:{self.user}", "global": "all"}[tier.scope]

    def bucket_keys(self, endpoint: str) -> list[tuple[RateTier, str]]:
        return [(tier, f"{self.service}:{tier.name}:{self._scope_value(tier, endpoint)}")
                for tier in self.tiers if tier.applies_to(endpoint)]

    def _scopes(self) -> list[str]:
        """Every bucket key of this connection is one of these or under one."""
        return sorted({f"{self.service}:{t.name}:"
                       f"{'all' if t.scope == 'global' else self.account}" for t in self.tiers})

    def _bucket(self, tier: RateTier, key: str) -> AbstractBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                make = token_bucket if tier.algorithm == "token_bucket" else sliding_window
                bucket = self._buckets[key] = make(self.state, key, tier.rate)
            return bucket

    def _too_long(self, endpoint: str, until: float, asked: float, now: float) -> RateLimitError:
        when = dt.datetime.fromtimestamp(asked, dt.UTC)
        return RateLimitError(
            f"the service asked every client of this key to wait {asked - now:,.0f}s (until "
            f"{when:%Y-%m-%d %H:%M:%S} UTC), longer than integkit holds calls "
            f"({self.max_pause:g}s); no call goes until {until - now:,.0f}s from now",
            retry_after=asked - now, service=self.service, endpoint=endpoint,
            hint=f"Try again after {when:%H:%M:%S} UTC. ik.quota({self.service!r}) shows the "
                 f"pause and ik.quota({self.service!r}, clear_pause=True) lifts it (if the "
                 "hint was wrong); a connection made with retry={'maxRetryAfter': seconds} "
                 "waits out longer pauses.")

    def _next_wait(self, endpoint: str, priority: str, taken: set[str]) -> float:
        """Take a token from every tier not yet ``taken`` (0.0 when all have given one), or
        say how long to wait before asking again."""
        if priority == "bulk" and _interactive_waiting[self._queue]:
            return 0.005
        now = time.time()
        keys = self.bucket_keys(endpoint)
        for _, key in keys:
            until, asked = self.penalties.get(key)
            if until > now:
                if asked > until:  # the server wanted longer than we hold calls
                    raise self._too_long(endpoint, until, asked, now)
                return until - now
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

    def _wait(self, endpoint: str, priority: str, taken: set[str],
              deadline: float | None) -> float:
        wait = guarded(self, lambda: self._next_wait(endpoint, priority, taken))
        if wait > 0 and deadline is not None and time.monotonic() + wait > deadline:
            raise CallTimeout(
                f"the rate limits hold this call {wait:.1f}s more, past its deadline",
                service=self.service, endpoint=endpoint)
        return wait

    def acquire(self, endpoint: str, *, priority: str = "interactive",
                deadline: float | None = None) -> float:
        """Block until the call may go (or raise once that would pass ``deadline``, a
        ``time.monotonic()`` instant); returns the seconds waited."""
        waited, taken = 0.0, set[str]()
        interactive = priority != "bulk"
        if interactive:
            with _interactive_lock:
                _interactive_waiting[self._queue] += 1
        try:
            while (wait := self._wait(endpoint, priority, taken, deadline)) > 0:
                self.sleep(wait)
                waited += wait
        finally:
            if interactive:
                with _interactive_lock:
                    _interactive_waiting[self._queue] -= 1
        self.waited += waited
        return waited

    async def aacquire(self, endpoint: str, *, priority: str = "interactive",
                       deadline: float | None = None) -> float:
        """``acquire`` for async callers: waits without blocking the event loop."""
        waited, taken = 0.0, set[str]()
        while (wait := self._wait(endpoint, priority, taken, deadline)) > 0:
            await asyncio.sleep(wait)
            waited += wait
        self.waited += waited
        return waited

    def pause(self, endpoint: str, seconds: float) -> None:
        """Pause every tier of ``endpoint`` for all processes (the server asked for it), for
        at most ``max_pause`` seconds: what it asked for is kept beside, for the error."""
        if not math.isfinite(seconds):  # the parsers never give one; a connector might
            logger.warning("integkit: %s: ignored a pause of %r seconds", self.service, seconds)
            return
        now = time.time()
        asked = now + min(max(0.0, seconds), PLAUSIBLE)
        until = min(asked, now + self.max_pause)

        def store() -> None:
            for _, key in self.bucket_keys(endpoint):
                self.penalties.set(key, until, asked)

        guarded(self, store)

    def pauses(self) -> dict[str, tuple[float, float]]:
        """Pauses in force on this connection's buckets: key -> (until, asked)."""
        return guarded(self, lambda: self.penalties.active(self._scopes()))

    def clear_pauses(self) -> int:
        """Lift every server-asked pause on this connection's buckets, for every process
        (when a hint was wrong); how many there were."""
        return guarded(self, lambda: self.penalties.clear(self._scopes()))

    def status(self) -> list[dict[str, Any]]:
        """Per bucket: tier, limit, current use, paused-until (what ``ik.quota`` shows).
        Buckets shared by the whole key are shown even before this process used them, and
        so is every bucket another process paused."""
        return guarded(self, self._status)

    def _tier_of(self, key: str) -> RateTier | None:
        return next((t for t in self.tiers if key.startswith(f"{self.service}:{t.name}:")), None)

    def _status(self) -> list[dict[str, Any]]:
        pauses = self.penalties.active(self._scopes())
        keys = {f"{self.service}:{t.name}:{self._scope_value(t, '')}": t
                for t in self.tiers if t.scope != "endpoint"}
        with self._lock:
            known = [*self._buckets, *pauses]
        for key in known:
            tier = self._tier_of(key)
            if tier is not None:
                keys.setdefault(key, tier)
        out = []
        for key, tier in keys.items():
            used = self._bucket(tier, key).count()
            until, asked = pauses.get(key, (0.0, 0.0))
            out.append({
                "tier": tier.name, "key": key.split(":", 2)[-1], "limit": tier.limit,
                "per_seconds": tier.per, "burst": tier.burst or tier.limit,
                "in_use": used if isinstance(used, int) else None,
                "paused_until": until or None,
                "server_asked_until": asked if asked > until else None,
            })
        return out


class RateLimitTransport(Layer):
    """Waits for the limiter before each attempt; reports the server's pauses back to it."""

    def __init__(self, inner: Any, limiter: RateLimiter, *, default_priority: str = "interactive",
                 feedback: Iterable[str] | None = None,
                 responses: tuple[ResponseRule, ...] = ()):
        super().__init__(inner)
        self.responses = responses  # an answer they call rate_limited pauses like a 429
        self.limiter = limiter
        self.default_priority = default_priority
        self.feedback = check_feedback(feedback)  # the parsers read (None: every one)

    def _priority(self, request: httpx.Request) -> str:
        return str(request.extensions.get(PRIORITY_KEY, self.default_priority))

    def send(self, request: httpx.Request) -> httpx.Response:
        trace = trace_of(request)
        trace.waited += self.limiter.acquire(trace.endpoint, priority=self._priority(request),
                                             deadline=trace.deadline)
        return super().send(request)

    async def asend(self, request: httpx.Request) -> httpx.Response:
        trace = trace_of(request)
        trace.waited += await self.limiter.aacquire(
            trace.endpoint, priority=self._priority(request), deadline=trace.deadline)
        return await super().asend(request)

    def flow(self, request: httpx.Request) -> Flow:
        outcome = yield request
        if isinstance(outcome, httpx.Response):
            found = read_feedback(outcome, self.feedback, "pause")
            if found is not None and found.pause:
                self.limiter.pause(trace_of(request).endpoint, found.pause)
            classified = classify(outcome, self.responses)
            if classified is not None and classified.outcome == "rate_limited" and \
                    classified.wait:
                self.limiter.pause(trace_of(request).endpoint, classified.wait)
        return settle(outcome)
