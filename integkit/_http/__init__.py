"""The HTTP call pipeline: cross-cutting concerns as stacked httpx transports."""

from ._breaker import BreakerTransport, CircuitBreaker
from ._classify import (
    RESPONSE_RULE,
    Classified,
    ResponseRule,
    classified_failure,
    classify,
    error_classes,
    response_rules,
)
from ._coalesce import CoalesceTransport
from ._content import json_body, malformed_json, peek_json
from ._context import TRACE_KEY, CallTrace, trace_of
from ._failover import FailoverTransport
from ._feedback import (
    Feedback,
    FeedbackParser,
    check_feedback,
    feedback_names,
    register_feedback,
)
from ._hints import ServerHintWarning, reset_after, retry_after, should_retry_hint
from ._layer import BufferedLayer, Layer, Outcome, settle
from ._limits import PRIORITY_KEY, RateLimiter, RateLimitTransport, RateTier
from ._observe import ApiDeprecationWarning, AttemptTransport
from ._origins import Origin, Origins, origin_of, refusal
from ._pipeline import CacheLayer, PipelineOptions, build_transport, register_cache_layer
from ._quota import Quota, QuotaConfig, QuotaEvent, QuotaTransport
from ._retry import REPLAYABLE_KEY, RetryPolicy, RetryTransport, Verdict

__all__ = [
    "ApiDeprecationWarning",
    "AttemptTransport",
    "BreakerTransport",
    "BufferedLayer",
    "CacheLayer",
    "CallTrace",
    "CircuitBreaker",
    "Classified",
    "CoalesceTransport",
    "FailoverTransport",
    "Feedback",
    "FeedbackParser",
    "Layer",
    "Origin",
    "Origins",
    "Outcome",
    "PRIORITY_KEY",
    "PipelineOptions",
    "Quota",
    "QuotaConfig",
    "QuotaEvent",
    "QuotaTransport",
    "REPLAYABLE_KEY",
    "RateLimitTransport",
    "RESPONSE_RULE",
    "RateLimiter",
    "RateTier",
    "ResponseRule",
    "RetryPolicy",
    "RetryTransport",
    "ServerHintWarning",
    "TRACE_KEY",
    "Verdict",
    "build_transport",
    "check_feedback",
    "classified_failure",
    "classify",
    "error_classes",
    "feedback_names",
    "json_body",
    "malformed_json",
    "origin_of",
    "peek_json",
    "refusal",
    "register_cache_layer",
    "register_feedback",
    "reset_after",
    "response_rules",
    "retry_after",
    "settle",
    "should_retry_hint",
    "trace_of",
]
