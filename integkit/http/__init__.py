"""The HTTP call pipeline: cross-cutting concerns as stacked httpx transports."""

from ._breaker import BreakerTransport, CircuitBreaker
from ._coalesce import CoalesceTransport
from ._content import json_body, malformed_json
from ._context import CallTrace, trace_of
from ._failover import FailoverTransport
from ._feedback import Feedback, FeedbackParser, feedback_names, register_feedback
from ._hints import ServerHintWarning, reset_after, retry_after, should_retry_hint
from ._layer import Layer
from ._limits import PRIORITY_KEY, RateLimiter, RateLimitTransport, RateTier
from ._observe import ApiDeprecationWarning, AttemptTransport
from ._origins import Origin, Origins, origin_of, refusal
from ._pipeline import PipelineOptions, build_transport
from ._quota import Quota, QuotaConfig, QuotaEvent, QuotaTransport
from ._retry import RetryPolicy, RetryTransport

__all__ = [
    "ApiDeprecationWarning",
    "AttemptTransport",
    "BreakerTransport",
    "CallTrace",
    "CircuitBreaker",
    "CoalesceTransport",
    "FailoverTransport",
    "Feedback",
    "FeedbackParser",
    "Layer",
    "Origin",
    "Origins",
    "PRIORITY_KEY",
    "PipelineOptions",
    "Quota",
    "QuotaConfig",
    "QuotaEvent",
    "QuotaTransport",
    "RateLimitTransport",
    "RateLimiter",
    "RateTier",
    "RetryPolicy",
    "RetryTransport",
    "ServerHintWarning",
    "build_transport",
    "feedback_names",
    "json_body",
    "malformed_json",
    "origin_of",
    "refusal",
    "register_feedback",
    "reset_after",
    "retry_after",
    "should_retry_hint",
    "trace_of",
]
