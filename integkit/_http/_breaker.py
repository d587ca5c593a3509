"""A circuit breaker per endpoint: stop calling what keeps failing, probe it after a pause.

closed --(failure_threshold transient failures in a row)--> open
open   --(reset_timeout elapsed)--> half-open: one probe call goes through
probe succeeds --> closed;  probe fails --> open again
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .._errors import ApiError, CircuitOpenError, IntegkitError, RateLimitError
from .._spec import Key, Spec
from .._validate import positive_duration, whole
from ._context import trace_of
from ._layer import Flow, Layer, settle

__all__ = ["BREAKER", "BreakerTransport", "CircuitBreaker"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass
class _Circuit:
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False


#: The keys of a circuit breaker (``breaker:`` in a definition, ``breaker=`` on connect).
BREAKER = Spec("breaker", [
    Key("failure_threshold", whole, aliases=("consecutive_failures",)),
    Key("reset_timeout", positive_duration, aliases=("open_duration", "break_duration")),
])


class CircuitBreaker:
    """Tracks circuits by key; thread-safe, clock injected. ``reset_timeout`` takes any
    duration (``30``, ``"30s"``, ``"PT30S"``)."""

    spec = BREAKER  # the keys from_config reads

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float | str = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        checked = BREAKER.read({"failure_threshold": failure_threshold,
                                "reset_timeout": reset_timeout})
        self.failure_threshold: int = checked["failure_threshold"]
        self.reset_timeout: float = checked["reset_timeout"]
        self.clock = clock
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, *layers: Mapping[str, Any] | None) -> CircuitBreaker:
        """A breaker from ``breaker:`` mappings, later ones winning:
        ``{failure_threshold: 8, reset_timeout: 30s}`` (or ``failureThreshold`` /
        ``resetTimeout``)."""
        return cls(**BREAKER.read(*layers))

    def state(self, key: str) -> str:
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None:
                return CLOSED
            if circuit.state == OPEN and self.clock() - circuit.opened_at >= self.reset_timeout:
                return HALF_OPEN
            return circuit.state

    def acquire(self, key: str) -> None:
        """Let a call through, or raise CircuitOpenError saying when the probe will go."""
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            if circuit.state == CLOSED:
                return
            remaining = self.reset_timeout - (self.clock() - circuit.opened_at)
            if circuit.state == OPEN and remaining <= 0:
                circuit.state, circuit.probing = HALF_OPEN, False
            if circuit.state == HALF_OPEN and not circuit.probing:
                circuit.probing = True
                return
        raise CircuitOpenError(
            f"circuit for {key} is open after {circuit.failures} failures in a row",
            endpoint=key, retry_after=max(0.0, remaining),
        )

    def record(self, key: str, ok: bool) -> None:
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            circuit.probing = False
            if ok:
                circuit.state, circuit.failures = CLOSED, 0
                return
            circuit.failures += 1
            if circuit.state == HALF_OPEN or circuit.failures >= self.failure_threshold:
                circuit.state, circuit.opened_at = OPEN, self.clock()


def _breaker_key(request: httpx.Request) -> str:
    trace = trace_of(request)
    return f"{request.url.host}:{request.url.port or ''} {trace.endpoint}"


class BreakerTransport(Layer):
    """Guards each attempt with the endpoint's circuit; 5xx and transport errors count."""

    def __init__(self, inner: Any, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker

    def flow(self, request: httpx.Request) -> Flow:
        key = _breaker_key(request)
        self.breaker.acquire(key)
        outcome = yield request
        # the service failing counts; a refusal from our own layers (a missing scope, a spent
        # quota, a pause the limiter holds, the state backend failing) says nothing about its
        # health
        if isinstance(outcome, IntegkitError):
            failed = isinstance(outcome, ApiError) and outcome.transient and not isinstance(
                outcome, RateLimitError)
        else:
            failed = isinstance(outcome, Exception) or outcome.status_code >= 500
        self.breaker.record(key, ok=not failed)
        return settle(outcome)
