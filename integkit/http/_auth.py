"""Credentials as a pipeline layer, so every attempt is authorized afresh.

httpx runs a client's ``auth`` once per ``send``, outside the transport: a retried request
would go out with the first attempt's signature, timestamp and nonce, and a token refreshed
meanwhile would not be used. Here the same ``httpx.Auth`` flow runs below retry and the
limiter, once per attempt: HMAC and SigV4 signatures are fresh, OAuth and GitHub App tokens are
refreshed when due, and the requests a flow makes of its own (a token refresh, a retry with the
next key) go straight to the attempt layer.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["AuthTransport"]


class AuthTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Runs ``auth``'s flow around each request sent to ``inner``."""

    def __init__(self, inner: Any, auth: httpx.Auth) -> None:
        self.inner = inner
        self.auth = auth

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.auth.requires_request_body:
            request.read()
        flow = self.auth.sync_auth_flow(request)
        outgoing = next(flow)
        while True:
            response: httpx.Response = self.inner.handle_request(outgoing)
            if self.auth.requires_response_body:
                response.read()
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return response
            response.close()  # superseded by the flow's next request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.auth.requires_request_body:
            await request.aread()
        flow = self.auth.async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            response: httpx.Response = await self.inner.handle_async_request(outgoing)
            if self.auth.requires_response_body:
                await response.aread()
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return response
            await response.aclose()

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
