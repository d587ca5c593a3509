"""Small real HTTP apps for testing the engine's generic parts: one route per paging style
(the wire shapes of Stripe, Slack, GitHub, Salesforce, Google, GraphQL, offset and page APIs)
and routes that misbehave on demand for the call pipeline."""

from __future__ import annotations

import asyncio
import base64
import collections
import json
from email.utils import formatdate

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOTAL = 237
RECORDS = [
    {"id": f"r{i:04d}", "n": i, "created": 1_700_000_000 + i, "meta": {"even": i % 2 == 0}}
    for i in range(TOTAL)
]


def _int(request: Request, name: str, default: int) -> int:
    return int(request.query_params.get(name, default))


def _token(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode()


def _untoken(token: str | None) -> int:
    return int(base64.urlsafe_b64decode(token.encode()).decode()[2:]) if token else 0


async def starting_after(request: Request) -> Response:
    limit = _int(request, "limit", 10)
    after = request.query_params.get("starting_after")
    start = next(i for i, r in enumerate(RECORDS) if r["id"] == after) + 1 if after else 0
    chunk = RECORDS[start:start + limit]
    return JSONResponse({"object": "list", "data": chunk, "has_more": start + limit < TOTAL})


async def slack_cursor(request: Request) -> Response:
    limit = _int(request, "limit", 100)
    start = _untoken(request.query_params.get("cursor"))
    end = start + limit
    return JSONResponse({
        "ok": True, "channels": RECORDS[start:end],
        "response_metadata": {"next_cursor": _token(end) if end < TOTAL else ""},
    })


async def body_cursor(request: Request) -> Response:
    body = await request.json()
    start = _untoken(body.get("start_cursor"))
    end = start + int(body.get("page_size", 50))
    return JSONResponse({"results": RECORDS[start:end], "has_more": end < TOTAL,
                         "next_cursor": _token(end) if end < TOTAL else None})


async def link_header(request: Request) -> Response:
    per_page = _int(request, "per_page", 30)
    page = _int(request, "page", 1)
    chunk = RECORDS[(page - 1) * per_page: page * per_page]
    headers = {}
    last = (TOTAL + per_page - 1) // per_page
    if page < last:
        base = str(request.url.replace(query=""))
        headers["Link"] = (f'<{base}?page={page + 1}&per_page={per_page}>; rel="next", '
                           f'<{base}?page={last}&per_page={per_page}>; rel="last"')
    return JSONResponse(chunk, headers=headers)


async def next_records_url(request: Request) -> Response:
    start = int(request.path_params.get("locator", 0) or 0)
    end = start + 100
    body = {"totalSize": TOTAL, "done": end >= TOTAL, "records": RECORDS[start:end]}
    if end < TOTAL:
        body["nextRecordsUrl"] = f"/services/data/v60.0/query/01gD-{end}"
    return JSONResponse(body)


async def salesforce_more(request: Request) -> Response:
    locator = request.path_params["locator"].split("-")[-1]
    request.path_params["locator"] = locator
    return await next_records_url(request)


async def offset(request: Request) -> Response:
    off, limit = _int(request, "offset", 0), _int(request, "limit", 20)
    return JSONResponse({"items": RECORDS[off:off + limit], "total": TOTAL})


async def page_number(request: Request) -> Response:
    page, size = _int(request, "page", 1), _int(request, "per_page", 25)
    return JSONResponse({"data": RECORDS[(page - 1) * size: page * size],
                         "total_pages": (TOTAL + size - 1) // size})


async def page_token(request: Request) -> Response:
    size = _int(request, "pageSize", 40)
    start = _untoken(request.query_params.get("pageToken"))
    end = start + size
    body: dict = {"files": RECORDS[start:end]}
    if end < TOTAL:
        body["nextPageToken"] = _token(end)
    return JSONResponse(body)


async def graphql(request: Request) -> Response:
    body = await request.json()
    variables = body.get("variables") or {}
    start = _untoken(variables.get("after"))
    end = start + int(variables.get("first", 50))
    edges = [{"node": r, "cursor": _token(i + 1)} for i, r in enumerate(RECORDS[start:end], start)]
    return JSONResponse({"data": {"orders": {
        "edges": edges,
        "pageInfo": {"hasNextPage": end < TOTAL, "endCursor": _token(min(end, TOTAL))},
    }}})


# -- misbehaving routes for the pipeline ------------------------------------------------------
hits: collections.Counter[str] = collections.Counter()
written: list[str] = []


async def flaky(request: Request) -> Response:
    """Fails ``fail`` times per ``key`` with ``status`` (and optional Retry-After), then OK."""
    key = request.query_params.get("key", "k")
    hits[key] += 1
    if hits[key] <= _int(request, "fail", 2):
        headers = {"Request-Id": f"req_{key}_{hits[key]}"}
        after = request.query_params.get("retry_after")
        if after == "date":
            headers["Retry-After"] = formatdate(usegmt=True)
        elif after:
            headers["Retry-After"] = after
        if request.query_params.get("should_retry"):
            headers["Stripe-Should-Retry"] = request.query_params["should_retry"]
        status = _int(request, "status", 503)
        return JSONResponse({"error": {"message": f"boom {hits[key]}", "type": "api_error"}},
                            status_code=status, headers=headers)
    return JSONResponse({"ok": True, "hits": hits[key]})


async def write(request: Request) -> Response:
    """A POST that applies, then fails its answer the first time (as a lost response does)."""
    key = request.headers.get("Idempotency-Key", "")
    written.append(key)
    if len([k for k in written if k == key]) == 1 and key:
        return JSONResponse({"error": {"message": "lost"}}, status_code=503)
    return JSONResponse({"applied": len(written)})


async def slow(request: Request) -> Response:
    """Takes 0.2 s; ``hits["in_flight_max"]`` is the most calls it served at once."""
    hits["slow"] += 1
    hits["in_flight"] += 1
    hits["in_flight_max"] = max(hits["in_flight_max"], hits["in_flight"])
    try:
        await asyncio.sleep(0.2)
    finally:
        hits["in_flight"] -= 1
    return JSONResponse({"hits": hits["slow"]})


async def deprecated(request: Request) -> Response:
    return JSONResponse([], headers={"Deprecation": "@1700000000",
                                     "Sunset": "Wed, 11 Nov 2026 23:59:59 GMT"})


async def big(request: Request) -> Response:
    return JSONResponse({"data": RECORDS * 10})


async def not_json(request: Request) -> Response:
    return Response("<html>gateway hiccup</html>", media_type="text/html")


async def echo(request: Request) -> Response:
    return JSONResponse({"headers": dict(request.headers), "query": str(request.url.query),
                         "body": (await request.body()).decode()})


arrivals: list[float] = []


async def feedback(request: Request) -> Response:
    """Answers with the headers asked for (``h_<Name>=value``) and, for ``cost=available/wanted
    /restore``, a GraphQL body with Shopify's cost extension; records when each call arrived."""
    import time

    arrivals.append(time.time())
    headers = {k[2:]: v for k, v in request.query_params.items() if k.startswith("h_")}
    if "reset_in" in request.query_params:
        headers["X-RateLimit-Reset"] = str(int(time.time() + _int(request, "reset_in", 1)) + 1)
    body: dict = {"data": {"ok": True}}
    if "cost" in request.query_params:
        available, wanted, restore = request.query_params["cost"].split("/")
        body["extensions"] = {"cost": {
            "requestedQueryCost": int(wanted), "actualQueryCost": int(wanted),
            "throttleStatus": {"maximumAvailable": 1000.0,
                               "currentlyAvailable": int(available),
                               "restoreRate": float(restore)}}}
    return JSONResponse(body, status_code=_int(request, "status", 200), headers=headers)


routes = [
    Route("/feedback", feedback, methods=["GET", "POST"]),
    Route("/stripe/items", starting_after),
    Route("/slack/conversations.list", slack_cursor),
    Route("/notion/search", body_cursor, methods=["POST"]),
    Route("/github/items", link_header),
    Route("/services/data/v60.0/query", next_records_url),
    Route("/services/data/v60.0/query/{locator}", salesforce_more),
    Route("/offset/items", offset),
    Route("/page/items", page_number),
    Route("/google/files", page_token),
    Route("/graphql", graphql, methods=["POST"]),
    Route("/flaky", flaky, methods=["GET", "POST"]),
    Route("/write", write, methods=["POST"]),
    Route("/slow", slow),
    Route("/deprecated", deprecated),
    Route("/big", big),
    Route("/not-json", not_json),
    Route("/echo", echo, methods=["GET", "POST"]),
]
app = Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=500)])


def reset() -> None:
    hits.clear()
    written.clear()
    arrivals.clear()


__all__ = ["RECORDS", "TOTAL", "app", "reset", "json"]
