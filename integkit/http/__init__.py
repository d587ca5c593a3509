"""The HTTP call pipeline: cross-cutting concerns as stacked httpx transports."""

from ._breaker import BreakerTransport, CircuitBreaker
from ._coalesce import CoalesceTransport
from ._context import CallTrace, trace_of
from ._failover import FailoverTransport
from ._hints import retry_after, should_retry_hint
from ._layer import Layer
from ._observe import ApiDeprecationWarning, AttemptTransport
from ._pipeline import PipelineOptions, build_transport
from ._retry import RetryPolicy, RetryTransport

__all__ = [
    "ApiDeprecationWarning",
    "AttemptTransport",
    "BreakerTransport",
    "CallTrace",
    "CircuitBreaker",
    "CoalesceTransport",
    "FailoverTransport",
    "Layer",
    "PipelineOptions",
    "RetryPolicy",
    "RetryTransport",
    "build_transport",
    "retry_after",
    "should_retry_hint",
    "trace_of",
]
