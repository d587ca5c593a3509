"""An emulator's admin routes under ``/__sandbox__/``, as a Starlette router: what a test or a
benchmark drives over HTTP when the emulator runs in another process.

    GET    /__sandbox__/stats      the emulator's counters (requests, objects, 429s, faults)
    GET    /__sandbox__/faults     fault rules, their counters and ``hits``
    POST   /__sandbox__/faults     add rules: {"kind": "fail", "status": 503} or {"faults": [...]}
    DELETE /__sandbox__/faults     clear every rule
    GET    /__sandbox__/webhooks   deliveries made so far
    POST   /__sandbox__/webhooks   subscribe: {"url": ..., "secret": ..., "events": [...]}

The routes sit in front of the fault rules: injected failures never hit the admin itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from .._errors import ConfigError
from ._faults import ASGIApp, Faults
from ._webhooks import WebhookSender

__all__ = ["ADMIN_PREFIX", "admin_router"]

ADMIN_PREFIX = "/__sandbox__/"


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _invalid(message: str) -> Response:
    return _json({"error": {"message": message, "type": "invalid_request"}}, 400)


async def _payload(request: Request) -> Any:
    raw = await request.body()
    return orjson.loads(raw) if raw.strip() else None


def admin_router(stats: Callable[[], dict[str, Any]], faults: Faults,
                 webhooks: WebhookSender) -> ASGIApp:
    """The admin routes of one emulator (its counters, faults and webhook sender), as an ASGI
    app in the emulators' own typing."""

    async def read_stats(request: Request) -> Response:
        return _json(stats())

    async def program_faults(request: Request) -> Response:
        try:
            if request.method == "DELETE":
                faults.clear()
            elif request.method == "POST":
                faults.program(await _payload(request))
        except (ConfigError, TypeError, ValueError) as exc:  # orjson's errors are ValueErrors
            return _invalid(str(exc))
        return _json(faults.state())

    async def subscribe(request: Request) -> Response:
        try:
            payload = await _payload(request) if request.method == "POST" else None
        except ValueError as exc:
            return _invalid(f"the body is not JSON ({exc})")
        status, answer = webhooks.admin(request.method, payload)
        return _json(answer, status)

    router = Router(routes=[
        Route(ADMIN_PREFIX + "stats", read_stats, methods=["GET"]),
        Route(ADMIN_PREFIX + "faults", program_faults, methods=["GET", "POST", "DELETE"]),
        Route(ADMIN_PREFIX + "webhooks", subscribe, methods=["GET", "POST"]),
    ])
    # Starlette types messages as MutableMapping, the emulators as dict: the same ASGI app.
    return cast(ASGIApp, router)
