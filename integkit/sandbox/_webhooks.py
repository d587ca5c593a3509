"""Emulators send webhooks as the real services do: signed, POSTed to subscribed endpoints.

An emulator calls :meth:`WebhookSender.deliver` when something happens (a payment succeeds,
an order is created); every endpoint subscribed to that event type gets the body, signed with
its own secret by :func:`integkit.webhooks.sign` (the scheme the service documents), from a
background thread so the API call that caused it is not slowed. Subscribe from Python
(``sb.emulator.webhooks.subscribe(url, secret)``) or, for an emulator in another process,
``POST /__sandbox__/webhooks {"url": ..., "secret": ..., "events": ["payment_intent.*"]}``.
"""

from __future__ import annotations

import fnmatch
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Delivery", "WebhookEndpoint", "WebhookSender"]


@dataclass
class WebhookEndpoint:
    """Where one subscriber wants events: its URL, signing secret and event-type globs."""

    url: str
    secret: str
    events: tuple[str, ...] = ("*",)

    def wants(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.events)


@dataclass
class Delivery:
    """One attempt to deliver an event: to whom, what, and what the endpoint answered."""

    url: str
    event_type: str
    status: int | None
    error: str | None = None
    at: float = field(default_factory=time.time)


class WebhookSender:
    """Signs and POSTs an emulator's events to its subscribers, in order, off the request path."""

    def __init__(self, service: str, *, timeout: float = 10.0) -> None:
        self.service = service
        self.timeout = timeout
        self.endpoints: list[WebhookEndpoint] = []
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[WebhookEndpoint, str, bytes, dict[str, str]]] = \
            queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def subscribe(self, url: str, secret: str, events: tuple[str, ...] | list[str] = ("*",)
                  ) -> WebhookEndpoint:
        """Send every event matching ``events`` (globs, e.g. ``"payment_intent.*"``) to ``url``."""
        endpoint = WebhookEndpoint(url, secret, tuple(events))
        with self._lock:
            self.endpoints.append(endpoint)
        return endpoint

    def deliver(self, event_type: str, body: bytes,
                headers: dict[str, str] | None = None) -> int:
        """Queue ``body`` for every endpoint that wants ``event_type``; how many were queued."""
        with self._lock:
            targets = [e for e in self.endpoints if e.wants(event_type)]
            if targets and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._run, daemon=True,
                                                name=f"sandbox-{self.service}-webhooks")
                self._worker.start()
        for endpoint in targets:
            self._queue.put((endpoint, event_type, body, dict(headers or {})))
        return len(targets)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued event has been delivered (or failed)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        from ..webhooks import sign

        with httpx.Client(timeout=self.timeout) as client:
            while True:
                endpoint, event_type, body, extra = self._queue.get()
                try:
                    headers = {**sign(self.service, body, secret=endpoint.secret,
                                      url=endpoint.url), **extra}
                    headers.setdefault("Content-Type", "application/json")
                    reply = client.post(endpoint.url, content=body, headers=headers)
                    self.deliveries.append(Delivery(endpoint.url, event_type,
                                                    reply.status_code))
                except Exception as exc:  # noqa: BLE001 - a dead subscriber is recorded
                    self.deliveries.append(Delivery(endpoint.url, event_type, None,
                                                    f"{type(exc).__name__}: {exc}"))
                finally:
                    self._queue.task_done()

    def admin(self, method: str, payload: Any) -> tuple[int, Any]:
        """The ``/__sandbox__/webhooks`` endpoint: POST subscribes, GET lists deliveries."""
        if method == "POST":
            if not isinstance(payload, dict) or not payload.get("url") or \
                    not payload.get("secret"):
                return 400, {"error": "POST {\"url\": ..., \"secret\": ..., \"events\": [...]}"}
            self.subscribe(payload["url"], payload["secret"], payload.get("events") or ("*",))
            return 201, {"subscribed": payload["url"]}
        return 200, {"deliveries": [vars(d) for d in self.deliveries]}
