"""Base for transport layers written once, as a flow, and run by sync and async clients alike.

A flow is a generator: it yields the request to send to the inner layer, receives the outcome
(a response, or the exception raised), and returns the final response or raises. This keeps
each concern's logic in one place (the httpx auth-flow idea applied to transports).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

__all__ = ["BufferedLayer", "Flow", "Layer", "settle", "Outcome"]

Outcome = httpx.Response | Exception
Flow = Generator[httpx.Request, Outcome, httpx.Response]


class Layer(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport wrapping ``inner``; subclasses implement :meth:`flow`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def flow(self, request: httpx.Request) -> Flow:
        raise NotImplementedError

    def send(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)  # type: ignore[no-any-return]

    async def asend(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.drive(self.flow(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.adrive(self.flow(request))

    def drive(self, flow: Flow) -> httpx.Response:
        """Run ``flow`` to its end, sending each request it yields with :meth:`send` (a flow
        may also answer without sending anything)."""
        try:
            target = next(flow)
            while True:
                outcome: Outcome
                try:
                    outcome = self.send(target)
                except Exception as exc:  # handed to the flow, which decides
                    outcome = exc
                target = flow.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def adrive(self, flow: Flow) -> httpx.Response:
        """:meth:`drive` for async clients."""
        try:
            target = next(flow)
            while True:
                outcome: Outcome
                try:
                    outcome = await self.asend(target)
                except Exception as exc:
                    outcome = exc
                target = flow.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


class BufferedLayer(Layer):
    """A layer whose flow needs whole bodies: each response is read (and its connection
    released) before the flow sees it."""

    def body(self, request: httpx.Request, response: httpx.Response) -> None:  # noqa: B027
        """Prepare ``response``'s body before it is read (e.g. wrap its stream); optional."""

    def send(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self.inner.handle_request(request)
        self.body(request, response)
        try:
            response.read()
        finally:
            response.close()
        return response

    async def asend(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self.inner.handle_async_request(request)
        self.body(request, response)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response


def settle(outcome: Outcome) -> httpx.Response:
    """The response, or raise the exception the inner layer raised."""
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
