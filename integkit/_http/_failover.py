"""Fail over to backup base URLs when the primary is down (retries spent or circuit open)."""

from __future__ import annotations

from typing import Any

import httpx

from .._errors import CircuitOpenError
from .._events import logger
from ._context import trace_of
from ._layer import Flow, Layer, settle

__all__ = ["FailoverTransport"]


def _rebase(request: httpx.Request, primary: httpx.URL, target: httpx.URL) -> httpx.Request:
    """The same request sent to ``target`` instead of ``primary`` (path prefix swapped)."""
    path = request.url.raw_path.decode()
    prefix = primary.raw_path.decode().rstrip("/")
    if prefix and path.startswith(prefix):
        path = path[len(prefix):]
    base = str(target).rstrip("/")
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
    return httpx.Request(
        request.method, base + path, headers=headers, content=request.content,
        extensions=request.extensions,
    )


class FailoverTransport(Layer):
    """Tries ``base_urls`` in order for requests aimed at the first one."""

    def __init__(self, inner: Any, base_urls: list[str]) -> None:
        super().__init__(inner)
        self.base_urls = [httpx.URL(u) for u in base_urls]

    def _targets(self, request: httpx.Request) -> list[httpx.Request]:
        primary = self.base_urls[0]
        url = request.url
        if (url.scheme, url.host, url.port) != (primary.scheme, primary.host, primary.port):
            return [request]
        return [request] + [_rebase(request, primary, backup) for backup in self.base_urls[1:]]

    @staticmethod
    def _failed(outcome: httpx.Response | BaseException) -> bool:
        if isinstance(outcome, BaseException):
            return isinstance(outcome, httpx.TransportError | CircuitOpenError)
        return outcome.status_code >= 500

    def flow(self, request: httpx.Request) -> Flow:
        targets = self._targets(request)
        for index, target in enumerate(targets):
            outcome = yield target
            if index == len(targets) - 1 or not self._failed(outcome):
                return settle(outcome)
            self._note(target, targets[index + 1], outcome)
        raise AssertionError("unreachable")

    @staticmethod
    def _note(failed: httpx.Request, nxt: httpx.Request, why: object) -> None:
        trace = trace_of(failed)
        trace.failovers += 1
        trace.base_url = f"{nxt.url.scheme}://{nxt.url.netloc.decode()}"
        reason = why.status_code if isinstance(why, httpx.Response) else type(why).__name__
        logger.warning(
            "integkit: %s unavailable (%s); failing over to %s", failed.url.host, reason,
            trace.base_url,
        )
