"""The one place that fixes the order of the call pipeline's layers.

Outermost first::

    origin gate -> cache -> coalesce -> failover -> retry -> circuit breaker -> quota
          -> rate limit -> auth -> attempt -> HTTP

A request for another origin is refused at the gate and costs nothing; a cache hit costs no
token, no quota and no attempt; identical concurrent reads share one
flight; failover swaps the base URL only once a base is
given up on; every retry passes the breaker, the budget and the limiter again (each real
attempt costs a token and a unit of quota; an open circuit costs neither); every attempt is
authorized afresh (new signature, refreshed token), and only for the connection's own
origins (anything else is refused there, before it is signed or sent); the attempt layer
reads, times and reports each one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

from .._errors import ConfigError
from ._auth import AuthTransport
from ._breaker import BreakerTransport, CircuitBreaker
from ._classify import ResponseRule
from ._coalesce import CoalesceTransport
from ._failover import FailoverTransport
from ._limits import RateLimiter, RateLimitTransport
from ._observe import AttemptTransport
from ._origins import OriginGate, Origins
from ._quota import Quota, QuotaTransport
from ._retry import RetryPolicy, RetryTransport

__all__ = ["CacheLayer", "PipelineOptions", "build_transport", "register_cache_layer"]


# Marks the options a caller may pass through ``ik.connect(**options)``; the connection sets
# the others itself.
CALLER = {"caller": True}


class CacheLayer(Protocol):
    """What wraps the inner layers in the HTTP cache (integkit.cache's CacheTransport)."""

    def __call__(self, inner: Any, settings: Any, storage: Any, *,
                 identity: str | Callable[[], str]) -> Any: ...


# integkit.cache is built on this package's layer kit (BufferedLayer, CallTrace), so it hands
# its layer down when imported (``import integkit`` imports it) rather than being imported here.
_cache_layers: list[CacheLayer] = []


def register_cache_layer(layer: CacheLayer) -> None:
    """Build the cache layer of pipelines with ``options.cache`` set with ``layer``."""
    _cache_layers[:] = [layer]


@dataclass
class PipelineOptions:
    """Everything the layers need, read from a connector definition and the call's options."""

    base_urls: list[str] = field(default_factory=list)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker | None = field(default_factory=CircuitBreaker)
    coalesce: bool = True
    limiter: RateLimiter | None = None
    quota: Quota | None = None
    priority: str = "interactive"
    request_id_header: str = "request-id"
    max_connections: int = field(default=20, metadata=CALLER)
    verify: Any = True
    cert: Any = None
    auth: httpx.Auth | None = None
    origins: Origins | None = None  # where requests may go; None: the base URLs' origins
    # whose credentials ``auth`` applies (read per call when callable): separates cached answers
    identity: str | Callable[[], str] = ""
    cache: Any = None  # CacheSettings, or None for no HTTP cache at all
    cache_storage: Any = None  # a mapping, a callable opening one, or None: the state's
    sleep: Callable[[float], None] = field(default=time.sleep, metadata=CALLER)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep,
                                                            metadata=CALLER)
    deadline: float | None = None  # seconds one call may take in all (None: no bound)
    # the feedback parsers the limiter and quota read (the definition's; None: every one)
    feedback: tuple[str, ...] | None = None
    # what answers mean beyond their status (the definition's ``responses:`` rules)
    responses: tuple[ResponseRule, ...] = ()


def build_transport(
    options: PipelineOptions, *, is_async: bool = False, network: Any = None
) -> Any:
    """Stack the layers over ``network`` (an httpx transport; default: pooled HTTP/1.1)."""
    if network is None:
        limits = httpx.Limits(
            max_connections=options.max_connections,
            max_keepalive_connections=options.max_connections,
        )
        cls = httpx.AsyncHTTPTransport if is_async else httpx.HTTPTransport
        network = cls(limits=limits, verify=options.verify, cert=options.cert)
    transport: Any = AttemptTransport(network, request_id_header=options.request_id_header)
    origins = options.origins
    if origins is None and options.base_urls:
        origins = Origins(options.base_urls)
    if options.auth is not None or origins is not None:
        transport = AuthTransport(transport, options.auth, origins)
    if options.limiter is not None:
        transport = RateLimitTransport(transport, options.limiter,
                                       default_priority=options.priority,
                                       feedback=options.feedback,
                                       responses=options.responses)
    if options.quota is not None:
        transport = QuotaTransport(transport, options.quota, default_priority=options.priority,
                                   feedback=options.feedback)
    if options.breaker is not None:
        transport = BreakerTransport(transport, options.breaker)
    policy = options.retry
    if policy.responses is None and options.responses:
        policy = replace(policy, responses=options.responses)
    transport = RetryTransport(
        transport, policy, sleep=options.sleep, async_sleep=options.async_sleep,
        deadline=options.deadline,
    )
    if len(options.base_urls) > 1:
        transport = FailoverTransport(transport, options.base_urls)
    if options.coalesce:
        transport = CoalesceTransport(transport)
    if options.cache is not None:
        if not _cache_layers:
            raise ConfigError("PipelineOptions(cache=...) needs the HTTP cache's layer: "
                              "import integkit (or integkit.cache) first")
        transport = _cache_layers[0](transport, options.cache, options.cache_storage,
                                     identity=options.identity)
    if origins is not None:
        transport = OriginGate(transport, origins)
    return transport
