"""Credentials as a pipeline layer, so every attempt is authorized afresh.

httpx runs a client's ``auth`` once per ``send``, outside the transport: a retried request
would go out with the first attempt's signature, timestamp and nonce, and a token refreshed
meanwhile would not be used. Here the same ``httpx.Auth`` flow runs below retry and the
limiter, once per attempt: HMAC and SigV4 signatures are fresh, OAuth and app tokens are
refreshed when due, and the requests a flow makes of its own (a token refresh, a retry with the
next key) go straight to the attempt layer.

Credentials go only to their own origin: a request to any origin not in the connection's
:class:`~integkit._http._origins.Origins` (a next-page link, a redirect, an absolute URL naming
another host) is refused here, before the flow signs it or anything is sent, whether or not
the connection has credentials (a header set on the client, or the body of a write, must not
travel there either). The flow's own requests (a token exchange) go to its own endpoint.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._origins import Origins

__all__ = ["AuthTransport"]


class AuthTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Runs ``auth``'s flow (if any) around each request sent to ``inner``, for requests to
    ``origins`` only (None: no restriction)."""

    def __init__(self, inner: Any, auth: httpx.Auth | None,
                 origins: Origins | None = None) -> None:
        self.inner = inner
        self.auth = auth
        self.origins = origins

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.origins is not None:
            self.origins.check(request)
        if self.auth is None:
            return self.inner.handle_request(request)  # type: ignore[no-any-return]
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
        if self.origins is not None:
            self.origins.check(request)
        if self.auth is None:
            return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]
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
