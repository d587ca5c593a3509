"""Retry transient failures with exponential backoff and full jitter, honouring server hints.

The decision is a pure function of (request, outcome, attempt) in :class:`RetryPolicy`; the
transport only runs tenacity around the inner layer with an injected ``sleep``, so tests never
wait for real.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import httpx
import tenacity

from .._errors import CircuitOpenError, ConfigError
from .._events import logger
from .._spec import Key, Spec
from .._spec_schema import described
from .._validate import duration, whole
from .._validate import fraction as in_range
from ._classify import Classified, ResponseRule, classify
from ._content import malformed_json
from ._context import trace_of
from ._deadline import late, left
from ._feedback import check_feedback, read_feedback
from ._hints import retry_after

__all__ = ["REPLAYABLE_KEY", "RETRY", "RetryPolicy", "RetryTransport", "Verdict"]

#: The request extension that marks a write as safe to send again (True): applying it twice
#: gives the result of applying it once (it sets a value, say). Whoever builds the request
#: knows this (a definition's ``idempotent:`` operation); the retry layer only reads it.
REPLAYABLE_KEY = "integkit.replayable"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Errors raised before a byte of the request reached the server: safe to resend any method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


# Why a failed write is not sent again: it may have been applied, and nothing dedupes it.
IN_DOUBT = "write may have been applied; no idempotency key"


@dataclass(frozen=True, slots=True)
class Verdict:
    retry: bool
    delay: float = 0.0
    reason: str = ""


@described({"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}})
def _statuses(value: Any, where: str) -> frozenset[int]:
    if isinstance(value, str | int) or not isinstance(value, list | tuple | set | frozenset) \
            or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599
                       for s in value):
        raise ConfigError(f"{where} must be a list of HTTP statuses, not {value!r}")
    return frozenset(value)


@described({"type": "integer", "minimum": 0}, sets=("max_attempts",))
def _retries(value: Any, where: str) -> dict[str, Any]:
    """``max_retries: n`` (retries after the first attempt) -> ``max_attempts: n + 1``."""
    return {"max_attempts": whole(value, where, least=0) + 1}


#: The keys of a retry policy (``retry:`` in a definition, ``retry=`` on ``ik.connect``).
RETRY = Spec("retry", [
    Key("max_attempts", whole),
    Key("max_retries", aliases=("retries", "num_retries"), expand=_retries),
    Key("initial_delay", duration, aliases=("initial_backoff", "base_delay")),
    Key("backoff_multiplier", partial(in_range, low=1.0, high=100.0, include_high=True),
        aliases=("multiplier",)),
    Key("max_delay", duration, aliases=("max_backoff",)),
    Key("max_retry_after", duration),
    Key("retry_statuses", _statuses, aliases=("retryable_status_codes", "retry_on_status")),
])


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, and what counts as transient.

    ``from_config`` reads a definition's ``retry:`` section (and ``retry=`` overrides):
    ``{max_attempts: 5, backoff_multiplier: 2, initial_delay: "500ms", max_delay: "30s"}``;
    gateway spellings (``maxAttempts``, ``initialBackoff``, ``max_retries: 4``) map to these.
    Delays take any duration (``0.5``, ``"1s"``, ``"PT30S"``), built directly too.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    backoff_multiplier: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    retry_statuses: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})
    idempotency_header: str | None = None
    # the feedback parsers whose verdict (``retry_hints``) overrides the status; None: all
    feedback: tuple[str, ...] | None = field(default=None, repr=False)
    # the definition's response classifiers (``responses:``); None: the pipeline's
    responses: tuple[ResponseRule, ...] | None = field(default=None, repr=False)
    random: Callable[[], float] = field(default=random.random, compare=False)
    spec: ClassVar[Spec] = RETRY  # the keys from_config reads

    def __post_init__(self) -> None:
        RETRY.check_fields(self)
        object.__setattr__(self, "feedback", check_feedback(self.feedback))

    @classmethod
    def from_config(cls, *layers: Mapping[str, Any] | None, **overrides: Any) -> RetryPolicy:
        """A policy from ``retry:`` mappings, later ones winning (the definition's, then the
        caller's), then ``overrides`` (canonical keyword arguments)."""
        return cls(**{**RETRY.read(*layers), **overrides})

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, initial * multiplier ** (attempt-1))]."""
        cap = min(self.max_delay, self.initial_delay * self.backoff_multiplier ** (attempt - 1))
        return cap * self.random()

    def replayable(self, request: httpx.Request) -> bool:
        """Whether re-sending could not apply a write twice: a safe method, a request marked
        replayable (:data:`REPLAYABLE_KEY`), or one carrying an idempotency key."""
        if request.method in SAFE_METHODS or request.extensions.get(REPLAYABLE_KEY) is True:
            return True
        return bool(self.idempotency_header and self.idempotency_header in request.headers)

    def decide(
        self, request: httpx.Request, outcome: httpx.Response | BaseException, attempt: int
    ) -> Verdict:
        """Whether to try again after ``attempt`` ended with ``outcome``, and after how long."""
        if attempt >= self.max_attempts:
            return Verdict(False, reason="attempts exhausted")
        if isinstance(outcome, BaseException):
            if isinstance(outcome, CircuitOpenError) or not isinstance(
                outcome, httpx.TransportError
            ):
                return Verdict(False, reason=type(outcome).__name__)
            if isinstance(outcome, NOT_SENT) or self.replayable(request):
                return Verdict(True, self.backoff(attempt), type(outcome).__name__)
            return Verdict(False, reason=IN_DOUBT)
        found = classify(outcome, self.responses)
        if found is not None:
            return self._classified(request, found, attempt)
        status = outcome.status_code
        verdict = read_feedback(outcome, self.feedback, "retry")
        hint = None if verdict is None else verdict.retry
        transient = status in self.retry_statuses if hint is None else hint
        if status < 400:
            # A proxy's HTML page or a garbled body with a 200: another attempt usually
            # reaches the service (a write only when replaying it cannot apply it twice).
            why = malformed_json(request, outcome)
            if why is None or not self.replayable(request):
                return Verdict(False)
            return Verdict(True, self.backoff(attempt), f"{status} with {why}")
        if not transient:
            return Verdict(False)
        # A 429 is rejected before processing, so even a bare POST may go again.
        if not (self.replayable(request) or status == 429):
            return Verdict(False, reason=IN_DOUBT)
        wait = retry_after(outcome.headers)
        if wait is not None:
            if wait > self.max_retry_after:
                return Verdict(False, wait, "Retry-After beyond max_retry_after")
            return Verdict(True, wait, f"{status} Retry-After")
        return Verdict(True, self.backoff(attempt), str(status))

    def _classified(self, request: httpx.Request, found: Classified, attempt: int) -> Verdict:
        """The verdict on an answer a response rule classified: ``error`` is final, a
        ``retry`` goes again when replaying cannot apply a write twice, and ``rate_limited``
        (refused before processing, like a 429) goes again after its wait."""
        why = f"{found.outcome} ({found.rule.name or 'response rule'})"
        if found.outcome == "error":
            return Verdict(False, reason=why)
        if found.outcome == "retry" and not self.replayable(request):
            return Verdict(False, reason=IN_DOUBT)
        if found.wait is None:
            return Verdict(True, self.backoff(attempt), why)
        if found.wait > self.max_retry_after:
            return Verdict(False, found.wait, f"{why}: wait beyond max_retry_after")
        return Verdict(True, found.wait, why)


class _Attempts:
    """tenacity glue shared by the sync and async transports."""

    def __init__(self, policy: RetryPolicy, request: httpx.Request) -> None:
        self.policy = policy
        self.request = request
        self.trace = trace_of(request)
        self.verdict = Verdict(False)

    def should_retry(self, state: tenacity.RetryCallState) -> bool:
        assert state.outcome is not None
        outcome = state.outcome.exception() or state.outcome.result()
        self.verdict = self.policy.decide(self.request, outcome, state.attempt_number)
        if self.verdict.reason == IN_DOUBT:
            self.trace.write_in_doubt = True
        remaining = left(self.trace)
        if self.verdict.retry and remaining is not None and self.verdict.delay >= remaining:
            self.verdict = Verdict(False, self.verdict.delay, "deadline")
        if self.verdict.retry:
            logger.info(
                "integkit: retrying %s %s after %s (attempt %d, wait %.2fs)",
                self.request.method, self.request.url.path, self.verdict.reason,
                state.attempt_number, self.verdict.delay,
            )
        return self.verdict.retry

    def wait(self, state: tenacity.RetryCallState) -> float:
        self.trace.retries += 1
        self.trace.waited += self.verdict.delay
        return self.verdict.delay


def _past_deadline(attempts: _Attempts) -> bool:
    """Whether the call's deadline ended the retries (a timeout then is the deadline's)."""
    remaining = left(attempts.trace)
    return attempts.verdict.reason == "deadline" or (remaining is not None and remaining <= 0)


class RetryTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Re-send transient failures (the attempt layer below has read each body, so a truncated
    body arrives here as a transport error, retried like a reset connection).

    The call's total deadline starts here (``deadline`` seconds, or sooner if its listing's
    comes first): no retry is slept for past it, and a timeout then is the deadline's."""

    def __init__(
        self,
        inner: Any,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        deadline: float | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.sleep = sleep
        self.async_sleep = async_sleep
        self.deadline = deadline

    def _start(self, request: httpx.Request) -> _Attempts:
        attempts = _Attempts(self.policy, request)
        trace = attempts.trace
        if self.deadline is not None:
            own = time.monotonic() + self.deadline
            if trace.deadline is None or own < trace.deadline:
                trace.deadline, trace.allowed, trace.deadline_of = own, self.deadline, "call"
        return attempts

    def _kwargs(self, attempts: _Attempts) -> dict[str, Any]:
        return dict(
            retry=attempts.should_retry, wait=attempts.wait,
            stop=tenacity.stop_never, reraise=True,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempts = self._start(request)
        retrying = tenacity.Retrying(sleep=self.sleep, **self._kwargs(attempts))
        try:
            return retrying(self.inner.handle_request, request)  # type: ignore[no-any-return]
        except httpx.TimeoutException as exc:
            if _past_deadline(attempts):
                raise late(attempts.trace, f"waiting for the service ({type(exc).__name__})"
                           ) from exc
            raise

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempts = self._start(request)
        retrying = tenacity.AsyncRetrying(sleep=self.async_sleep, **self._kwargs(attempts))
        try:
            response: httpx.Response = await retrying(self.inner.handle_async_request, request)
        except httpx.TimeoutException as exc:
            if _past_deadline(attempts):
                raise late(attempts.trace, f"waiting for the service ({type(exc).__name__})"
                           ) from exc
            raise
        return response

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
